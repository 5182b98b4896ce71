#include "media/image_stats.h"

// A private copy of stb_image (PNG and JPEG only), from Debian's header with
// the bounds checks of stb_image 2.28 added (cmake/StbImageChecked.cmake).
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "stb_image_checked.h"
#pragma GCC diagnostic pop

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
