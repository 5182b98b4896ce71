// Fuzz target: the PNG and JPEG measurements of the image collector
// (media/image_stats.h), stb_image underneath. Statistics of a decoded
// image must be ratios, and its size within the pixel limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "media/image_stats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ml_exporter::media::ImageStatsOptions options;
  // Small enough that decoding stays fast; the limit itself is checked.
  options.max_pixels = 1 << 20;
  ml_exporter::media::ImageStats stats;
  ml_exporter::media::DecodeError error{};
  if (ml_exporter::media::AnalyzeImage(bytes, options, &stats, &error)) {
    const auto ratio = [](double v) { return v >= 0 && v <= 1; };
    if (stats.width == 0 || stats.height == 0 ||
        uint64_t{stats.width} * stats.height > options.max_pixels ||
        !ratio(stats.brightness_ratio) || !ratio(stats.contrast_ratio) ||
        !ratio(stats.overexposed_ratio) || !ratio(stats.underexposed_ratio)) {
      std::abort();
    }
  } else if (error >= ml_exporter::media::DecodeError::kCount) {
    std::abort();
  }
  return 0;
}
