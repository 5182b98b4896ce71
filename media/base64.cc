#include "media/base64.h"

#include <array>

namespace ml_exporter::media {
namespace {

constexpr uint8_t kPad = 64;
constexpr uint8_t kSpace = 65;
constexpr uint8_t kBad = 66;

constexpr std::array<uint8_t, 256> MakeTable() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = kBad;
  for (int i = 0; i < 26; ++i) {
    t['A' + i] = static_cast<uint8_t>(i);
    t['a' + i] = static_cast<uint8_t>(26 + i);
  }
  for (int i = 0; i < 10; ++i) t['0' + i] = static_cast<uint8_t>(52 + i);
  t['+'] = t['-'] = 62;
  t['/'] = t['_'] = 63;
  t['='] = kPad;
  t[' '] = t['\t'] = t['\n'] = t['\r'] = t['\f'] = t['\v'] = kSpace;
  return t;
}

constexpr std::array<uint8_t, 256> kTable = MakeTable();

std::string_view SkipDataUrl(std::string_view text) {
  if (!text.starts_with("data:")) return text;
  constexpr std::string_view kMarker = ";base64,";
  // Media types are short; a marker far in is not a data URL header.
  const size_t at = text.substr(0, 256).find(kMarker);
  return at == std::string_view::npos ? text : text.substr(at + kMarker.size());
}

// Streaming state shared by both entry points.
class Decoder {
 public:
  explicit Decoder(uint8_t* out) : out_(out) {}

  // Feeds `text`, writing at most `limit` bytes. False on invalid input.
  bool Feed(std::string_view text, size_t limit) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end && n_ + 3 <= limit) {
      // Fast path: four alphabet characters in a row, no padding yet.
      if (k_ == 0 && pads_ == 0 && end - p >= 4) {
        const uint8_t a = kTable[p[0]], b = kTable[p[1]], c = kTable[p[2]],
                      d = kTable[p[3]];
        if ((a | b | c | d) < 64) {
          const uint32_t v = (uint32_t{a} << 18) | (uint32_t{b} << 12) |
                             (uint32_t{c} << 6) | d;
          out_[n_++] = static_cast<uint8_t>(v >> 16);
          out_[n_++] = static_cast<uint8_t>(v >> 8);
          out_[n_++] = static_cast<uint8_t>(v);
          p += 4;
          continue;
        }
      }
      if (!Step(*p++)) return false;
    }
    // Near the limit (prefix decoding): one character at a time.
    while (p < end && n_ < limit) {
      if (!Step(*p++)) return false;
    }
    return true;
  }

  // Completes a trailing group. False when it cannot be completed.
  bool Finish() {
    if (k_ == 1) return false;
    if (pads_ > 0 && (k_ == 0 || pads_ != 4 - k_)) return false;
    if (k_ == 2) {
      out_[n_++] = static_cast<uint8_t>(acc_ >> 4);
    } else if (k_ == 3) {
      out_[n_++] = static_cast<uint8_t>(acc_ >> 10);
      out_[n_++] = static_cast<uint8_t>(acc_ >> 2);
    }
    k_ = 0;
    return true;
  }

  // Bytes of a partial group that are already determined.
  size_t PartialBytes(uint8_t* tail) const {
    if (k_ == 2) {
      tail[0] = static_cast<uint8_t>(acc_ >> 4);
      return 1;
    }
    if (k_ == 3) {
      tail[0] = static_cast<uint8_t>(acc_ >> 10);
      tail[1] = static_cast<uint8_t>(acc_ >> 2);
      return 2;
    }
    return 0;
  }

  size_t size() const { return n_; }

 private:
  bool Step(unsigned char ch) {
    const uint8_t v = kTable[ch];
    if (v < 64) {
      if (pads_ != 0) return false;  // data after padding
      acc_ = (acc_ << 6) | v;
      if (++k_ == 4) {
        out_[n_++] = static_cast<uint8_t>(acc_ >> 16);
        out_[n_++] = static_cast<uint8_t>(acc_ >> 8);
        out_[n_++] = static_cast<uint8_t>(acc_);
        k_ = 0;
        acc_ = 0;
      }
      return true;
    }
    if (v == kSpace) return true;
    if (v == kPad) return ++pads_ <= 2;
    return false;
  }

  uint8_t* out_;
  size_t n_ = 0;
  uint32_t acc_ = 0;
  int k_ = 0;
  int pads_ = 0;
};

}  // namespace

bool DecodeBase64(std::string_view text, std::string* scratch,
                  std::string_view* out) {
  text = SkipDataUrl(text);
  const size_t max_out = text.size() / 4 * 3 + 3;
  if (scratch->size() < max_out) scratch->resize(max_out);
  auto* dst = reinterpret_cast<uint8_t*>(scratch->data());
  Decoder decoder(dst);
  if (!decoder.Feed(text, max_out) || !decoder.Finish()) return false;
  *out = std::string_view(scratch->data(), decoder.size());
  return true;
}

size_t DecodeBase64Prefix(std::string_view text, uint8_t* out,
                          size_t max_bytes) {
  text = SkipDataUrl(text);
  // Room for a whole group past the limit; only max_bytes are copied out.
  uint8_t buffer[64 + 3];
  if (max_bytes > 64) max_bytes = 64;
  Decoder decoder(buffer);
  const bool valid = decoder.Feed(text, max_bytes);
  size_t n = decoder.size();
  uint8_t tail[2];
  const size_t extra = valid ? decoder.PartialBytes(tail) : 0;
  for (size_t i = 0; i < extra && n < max_bytes; ++i) buffer[n++] = tail[i];
  if (n > max_bytes) n = max_bytes;
  for (size_t i = 0; i < n; ++i) out[i] = buffer[i];
  return n;
}

}  // namespace ml_exporter::media
