// Exposure statistics of PNG and JPEG images, the numbers a visual
// inspection team watches to catch a new camera, a lamp that burnt out or
// a changed resolution.
//
// Luma is BT.601 (Y' = 0.299 R' + 0.587 G' + 0.114 B' on the gamma-encoded
// 8-bit values), the luma JPEG's YCbCr is built on and the one PIL's
// Image.convert("L") computes, with PIL's integer rounding: on PNGs the
// values equal PIL's exactly; on JPEGs they differ only by the decoders
// (stb_image vs libjpeg), by about 3e-5 on real photographs. Grey images
// are used as they are; alpha is ignored; 16-bit PNGs are reduced to 8
// bits.
#ifndef ML_EXPORTER_MEDIA_IMAGE_STATS_H_
#define ML_EXPORTER_MEDIA_IMAGE_STATS_H_

#include <cstdint>
#include <string_view>

#include "media/blob_content.h"

namespace ml_exporter::media {

struct ImageStatsOptions {
  // Larger images (by their header) are refused before decoding, so a
  // small file cannot make the exporter allocate gigabytes.
  uint64_t max_pixels = 25'000'000;
  // A pixel with luma >= overexposed_level (of full scale) is overexposed;
  // one with luma <= underexposed_level is underexposed. On 8-bit luma the
  // defaults are >= 250 and <= 5.
  double overexposed_level = 0.98;
  double underexposed_level = 0.02;
};

struct ImageStats {
  uint32_t width = 0;
  uint32_t height = 0;
  double brightness_ratio = 0;  // mean luma / 255
  double contrast_ratio = 0;    // population standard deviation of luma / 255
  double overexposed_ratio = 0;
  double underexposed_ratio = 0;
};

// Luma counts of one image, and what the statistics make of them.
struct LumaHistogram {
  uint64_t count[256] = {};
};
void StatsFromLuma(const LumaHistogram& luma, const ImageStatsOptions& options,
                   ImageStats* stats);

// PIL's rounding of BT.601 luma for 8-bit R'G'B'.
inline uint8_t Luma601(uint32_t r, uint32_t g, uint32_t b) {
  return static_cast<uint8_t>((r * 19595 + g * 38470 + b * 7471 + 0x8000) >>
                              16);
}

// Decodes a PNG or JPEG and measures it. Errors: kNotImage (neither format
// by its magic bytes), kImageTooLarge, kDecodeFailed (the decoder refused
// the header or the data, including a truncated file). Thread-safe.
bool AnalyzeImage(std::string_view bytes, const ImageStatsOptions& options,
                  ImageStats* stats, DecodeError* error);

}  // namespace ml_exporter::media

#endif  // ML_EXPORTER_MEDIA_IMAGE_STATS_H_
