#include "media/image_stats.h"

#include <stb/stb_image.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <memory>

namespace ml_exporter::media {
namespace {

struct StbFree {
  void operator()(stbi_uc* p) const { stbi_image_free(p); }
};

bool Fail(DecodeError reason, DecodeError* error) {
  *error = reason;
  return false;
}

// False when a JPEG defines a Huffman table of more than 256 codes. The
// stb_image Debian ships (2.27) writes such a table's code lengths and
// values past its fixed arrays (the check came in 2.28), so these files
// must not reach it. The markers are walked as stbi__decode_jpeg_header
// and stbi__decode_jpeg_image walk them: segments skipped by their length,
// any other byte scanned for the next 0xFF, up to EOI; a DHT segment's
// tables read as stbi__process_marker reads them (bytes past the end count
// as 0, as stbi__get8 returns them).
bool JpegHuffmanTablesFit(std::string_view bytes) {
  const auto at = [&](size_t i) -> uint32_t {
    return i < bytes.size() ? static_cast<unsigned char>(bytes[i]) : 0;
  };
  size_t pos = 2;  // after SOI
  while (pos + 1 < bytes.size()) {
    if (at(pos) != 0xFF) {
      ++pos;
      continue;
    }
    const uint32_t marker = at(pos + 1);
    if (marker == 0xFF) {
      ++pos;  // fill byte
      continue;
    }
    if (marker == 0xD9) break;  // EOI
    // Stuffed zero, restart markers, TEM, SOI: no length follows.
    if (marker == 0x00 || marker == 0x01 ||
        (marker >= 0xD0 && marker <= 0xD8)) {
      pos += 2;
      continue;
    }
    const size_t length = at(pos + 2) << 8 | at(pos + 3);
    if (marker == 0xC4) {
      int64_t left = static_cast<int64_t>(length) - 2;
      size_t p = pos + 4;
      while (left > 0) {
        uint32_t codes = 0;
        for (size_t i = 0; i < 16; ++i) codes += at(p + 1 + i);
        if (codes > 256) return false;
        p += 17 + codes;
        left -= 17 + static_cast<int64_t>(codes);
      }
    }
    if (length < 2) break;  // stb_image refuses the file here
    pos += 2 + length;
  }
  return true;
}

}  // namespace

void StatsFromLuma(const LumaHistogram& luma, const ImageStatsOptions& options,
                   ImageStats* stats) {
  const double over = std::clamp(options.overexposed_level, 0.0, 1.0) * 255;
  const double under = std::clamp(options.underexposed_level, 0.0, 1.0) * 255;
  uint64_t n = 0, sum = 0, sum2 = 0, overexposed = 0, underexposed = 0;
  for (uint32_t v = 0; v < 256; ++v) {
    const uint64_t c = luma.count[v];
    n += c;
    sum += c * v;
    sum2 += c * v * v;
    if (v >= over) overexposed += c;
    if (v <= under) underexposed += c;
  }
  if (n == 0) return;
  const auto count = static_cast<double>(n);
  const double mean = static_cast<double>(sum) / count;
  const double variance =
      std::max(0.0, static_cast<double>(sum2) / count - mean * mean);
  stats->brightness_ratio = mean / 255;
  stats->contrast_ratio = std::sqrt(variance) / 255;
  stats->overexposed_ratio = static_cast<double>(overexposed) / count;
  stats->underexposed_ratio = static_cast<double>(underexposed) / count;
}

bool AnalyzeImage(std::string_view bytes, const ImageStatsOptions& options,
                  ImageStats* stats, DecodeError* error) {
  const MediaType type = SniffBytes(bytes);
  if (type != MediaType::kPng && type != MediaType::kJpeg) {
    return Fail(DecodeError::kNotImage, error);
  }
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    return Fail(DecodeError::kImageTooLarge, error);
  }
  if (type == MediaType::kJpeg && !JpegHuffmanTablesFit(bytes)) {
    return Fail(DecodeError::kDecodeFailed, error);
  }
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int size = static_cast<int>(bytes.size());
  int width = 0, height = 0, components = 0;
  // Reads the header only: the size check comes before any allocation.
  if (stbi_info_from_memory(data, size, &width, &height, &components) == 0 ||
      width <= 0 || height <= 0) {
    return Fail(DecodeError::kDecodeFailed, error);
  }
  const uint64_t pixels =
      static_cast<uint64_t>(width) * static_cast<uint64_t>(height);
  if (pixels > options.max_pixels) {
    return Fail(DecodeError::kImageTooLarge, error);
  }
  // As stored (grey, grey + alpha, RGB, RGBA); a colour JPEG as RGB. Its
  // stored Y plane would be cheaper, but differs from the luma of the RGB
  // a viewer shows where colours clip (bright saturated areas), by up to
  // 1% of the overexposed share on real photographs.
  int w = 0, h = 0, n = 0;
  std::unique_ptr<stbi_uc, StbFree> pixels_data(
      stbi_load_from_memory(data, size, &w, &h, &n, 0));
  if (!pixels_data || w != width || h != height) {
    return Fail(DecodeError::kDecodeFailed, error);
  }
  const int channels = n;
  LumaHistogram luma;
  const stbi_uc* p = pixels_data.get();
  switch (channels) {
    case 1:
    case 2:  // grey, grey + alpha
      for (uint64_t i = 0; i < pixels; ++i) ++luma.count[p[i * channels]];
      break;
    case 3:
    case 4:  // R'G'B', R'G'B' + alpha
      for (uint64_t i = 0; i < pixels; ++i, p += channels) {
        ++luma.count[Luma601(p[0], p[1], p[2])];
      }
      break;
    default:
      return Fail(DecodeError::kDecodeFailed, error);
  }
  stats->width = static_cast<uint32_t>(width);
  stats->height = static_cast<uint32_t>(height);
  StatsFromLuma(luma, options, stats);
  return true;
}

}  // namespace ml_exporter::media
