#include "media/wav.h"

namespace ml_exporter::media {
namespace {

uint16_t U16(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>(b[0] | (b[1] << 8));
}

uint32_t U32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(b[0]) | (static_cast<uint32_t>(b[1]) << 8) |
         (static_cast<uint32_t>(b[2]) << 16) |
         (static_cast<uint32_t>(b[3]) << 24);
}

constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatExtensible = 0xFFFE;
// The KSDATAFORMAT_SUBTYPE_PCM GUID after its first two bytes (which hold
// the format tag, 1).
constexpr std::string_view kPcmGuidTail(
    "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71", 14);

bool Fail(DecodeError reason, DecodeError* error) {
  *error = reason;
  return false;
}

}  // namespace

bool ParseWav(std::string_view bytes, Pcm16* out, DecodeError* error) {
  if (SniffBytes(bytes) != MediaType::kWav) {
    return Fail(DecodeError::kNotWav, error);
  }
  // The RIFF size is ignored: writers get it wrong, and the chunk walk
  // below is bounded by the bytes present.
  const size_t size = bytes.size();
  size_t pos = 12;
  bool have_format = false;
  uint16_t channels = 0;
  uint32_t rate = 0;
  std::string_view data;
  bool have_data = false;
  while (!(have_format && have_data)) {
    if (size - pos < 8) return Fail(DecodeError::kTruncated, error);
    const std::string_view id = bytes.substr(pos, 4);
    const uint32_t chunk_size = U32(bytes.data() + pos + 4);
    pos += 8;
    const size_t available = size - pos;
    if (id == "data") {
      size_t n = chunk_size;
      if (chunk_size > available) {
        if (chunk_size < 0x7FFFF000u) {
          return Fail(DecodeError::kTruncated, error);
        }
        n = available;  // a streaming writer's placeholder: to the end
      }
      data = bytes.substr(pos, n);
      have_data = true;
      pos += n;
    } else {
      if (chunk_size > available) return Fail(DecodeError::kTruncated, error);
      if (id == "fmt ") {
        if (chunk_size < 16) {
          return Fail(DecodeError::kUnsupportedWavFormat, error);
        }
        const char* f = bytes.data() + pos;
        uint16_t tag = U16(f);
        channels = U16(f + 2);
        rate = U32(f + 4);
        const uint16_t block_align = U16(f + 12);
        const uint16_t bits = U16(f + 14);
        if (tag == kFormatExtensible) {
          // cbSize (2), valid bits (2), channel mask (4), subformat GUID.
          if (chunk_size < 40) {
            return Fail(DecodeError::kUnsupportedWavFormat, error);
          }
          if (std::string_view(f + 26, 14) != kPcmGuidTail) {
            return Fail(DecodeError::kUnsupportedWavFormat, error);
          }
          tag = U16(f + 24);
        }
        if (tag != kFormatPcm || bits != 16 || channels == 0 ||
            channels > kMaxChannels || rate == 0 ||
            block_align != 2u * channels) {
          return Fail(DecodeError::kUnsupportedWavFormat, error);
        }
        have_format = true;
      }
      pos += chunk_size;
    }
    if ((pos & 1) != 0 && pos < size) ++pos;  // chunks are word aligned
  }
  out->sample_rate = rate;
  out->channels = channels;
  const size_t frame = 2u * channels;
  out->data = data.substr(0, data.size() / frame * frame);
  return true;
}

Pcm16 RawPcm16(std::string_view bytes, uint32_t sample_rate,
               uint16_t channels) {
  Pcm16 pcm;
  pcm.sample_rate = sample_rate;
  pcm.channels = channels;
  const size_t frame = 2u * channels;
  pcm.data = bytes.substr(0, frame == 0 ? 0 : bytes.size() / frame * frame);
  return pcm;
}

}  // namespace ml_exporter::media
