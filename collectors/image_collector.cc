// ImageCollector ("image"): exposure and size of the images a vision model
// sees, per model and blob (or field).
//
// With no configuration it measures every blob whose content is PNG or
// JPEG (magic bytes), so a record with "blobs": {"image": <jpeg>} needs
// nothing else; records without blobs cost one branch. params:
//   max_pixels (25000000): larger images are refused unread
//   sample_ratio (1): decode this share of the image blobs (decoding costs
//     about 45 ns a pixel on the ingest thread)
//   overexposed_level (0.98), underexposed_level (0.02): of full-scale luma
//   fields: {brightness_ratio: brightness, ...}: values the model server
//     computed, observed as they are
//   buckets: {brightness_ratio: [...], ...}: histogram edges
// See docs/collectors/image.md.
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "collectors/media_collectors.h"
#include "core/per_thread.h"
#include "media/blob_content.h"
#include "media/collector_params.h"
#include "media/feature_metrics.h"
#include "media/image_stats.h"
#include "media/name_filter.h"
#include "media/record_fields.h"

namespace ml_exporter {
namespace {

using media::DecodeError;
using media::FeatureMetrics;
using media::MediaType;

enum Histogram : size_t {
  kBrightness,
  kContrast,
  kWidth,
  kHeight,
  kOverexposed,
  kUnderexposed,
  kHistogramCount
};

// Keys of `fields` and `buckets`: the metric names without "ml_image_".
constexpr const char* kKeys[kHistogramCount] = {
    "brightness_ratio", "contrast_ratio",    "width_pixels",
    "height_pixels",    "overexposed_ratio", "underexposed_ratio"};

constexpr size_t kErrors = 0;
constexpr DecodeError kReasons[] = {
    DecodeError::kNotBase64, DecodeError::kNotImage,
    DecodeError::kImageTooLarge, DecodeError::kDecodeFailed};

size_t ReasonIndex(DecodeError e) {
  for (size_t i = 0; i < std::size(kReasons); ++i) {
    if (kReasons[i] == e) return i;
  }
  return std::size(kReasons) - 1;  // decode_failed
}

std::vector<double> DefaultEdges(size_t h) {
  switch (h) {
    case kBrightness:
      return {0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95};
    case kContrast:
      return {0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5};
    case kWidth:
    case kHeight:
      return {64, 128, 224, 256, 480, 512, 720, 1024, 1080, 1920, 2160, 4096};
    case kOverexposed:
    case kUnderexposed:
      return {0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9};
  }
  return {};
}

const char* const kHelp[kHistogramCount] = {
    "Mean BT.601 luma of the image, 0 (black) to 1 (white).",
    "Standard deviation of the image's BT.601 luma, 0 to 1 (0.5 at most).",
    "Width of the image in pixels.",
    "Height of the image in pixels.",
    "Share of the image's pixels with luma at or above params "
    "overexposed_level (default 0.98, i.e. 250 of 255).",
    "Share of the image's pixels with luma at or below params "
    "underexposed_level (default 0.02, i.e. 5 of 255).",
};

struct ImageConfig {
  media::ImageStatsOptions stats;
  double sample_ratio = 1;
  std::vector<std::pair<size_t, std::string>> fields;
  std::map<std::string, std::vector<double>> buckets;
};

Status ParseConfig(const CollectorContext& context, ImageConfig* config) {
  media::MediaParams params;
  const std::vector<std::string> keys(std::begin(kKeys), std::end(kKeys));
  double max_pixels = static_cast<double>(config->stats.max_pixels);
  std::map<std::string, std::string> fields;
  media::ImageStatsOptions& stats = config->stats;
  Status s = media::MediaParams::Parse(
      context.params,
      {"max_pixels", "sample_ratio", "overexposed_level", "underexposed_level",
       "fields", "buckets"},
      &params);
  // stb_image refuses dimensions above 2^24 anyway; 2^31 pixels bounds the
  // decoded buffer below 8 GiB even with four channels.
  if (s.ok()) s = params.GetNumber("max_pixels", 1, 2147483648.0, &max_pixels);
  if (s.ok()) {
    s = params.GetNumber("sample_ratio", 1e-6, 1, &config->sample_ratio);
  }
  if (s.ok()) {
    s = params.GetNumber("overexposed_level", 1e-6, 1,
                         &stats.overexposed_level);
  }
  if (s.ok()) {
    s = params.GetNumber("underexposed_level", 0, 0.999999,
                         &stats.underexposed_level);
  }
  if (s.ok()) s = params.GetStringMap("fields", keys, &fields);
  if (s.ok()) s = params.GetEdgesMap("buckets", keys, &config->buckets);
  if (!s.ok()) return s;
  if (max_pixels != std::floor(max_pixels)) {
    return media::ParamError("max_pixels", "must be a whole number");
  }
  if (!(stats.underexposed_level < stats.overexposed_level)) {
    return media::ParamError("underexposed_level",
                             "must be below overexposed_level");
  }
  stats.max_pixels = static_cast<uint64_t>(max_pixels);
  for (const auto& [key, field] : fields) {
    for (size_t h = 0; h < kHistogramCount; ++h) {
      if (key == kKeys[h]) config->fields.emplace_back(h, field);
    }
  }
  return Status::Ok();
}

class ImageCollector : public Collector {
 public:
  ImageCollector(const CollectorContext& context, ImageConfig config)
      : config_(std::move(config)),
        filter_(context.include, context.exclude),
        metrics_(context, HistogramDefs(config_), CounterDefs()) {}

  void Observe(const Record& record, const ObserveContext& context) override {
    for (const auto& [h, name] : config_.fields) {
      const FieldValue* v = media::FindField(record, name);
      if (v != nullptr && v->kind == FieldValue::Kind::kNumber) {
        metrics_.Local(context.model_id, name).Observe(h, v->number);
      }
    }
    for (const Blob& blob : record.blobs) {
      if (filter_.Watched(blob.name)) ObserveBlob(blob, context.model_id);
    }
  }

  Status Collect(const ModelTable& models,
                 std::vector<prometheus::MetricFamily>* out) override {
    metrics_.Collect(models, out);
    return Status::Ok();
  }

 private:
  static std::vector<media::HistogramDef> HistogramDefs(
      const ImageConfig& config) {
    std::vector<media::HistogramDef> defs;
    for (size_t h = 0; h < kHistogramCount; ++h) {
      auto it = config.buckets.find(kKeys[h]);
      defs.push_back(
          {std::string("ml_image_") + kKeys[h], kHelp[h],
           it != config.buckets.end() ? it->second : DefaultEdges(h)});
    }
    return defs;
  }

  static std::vector<media::CounterDef> CounterDefs() {
    media::CounterDef errors;
    errors.name = "ml_blob_decode_errors_total";
    errors.help = media::kDecodeErrorsHelp;
    errors.fixed_labels = {{"media", "image"}};
    errors.label = "reason";
    for (DecodeError e : kReasons) {
      errors.values.emplace_back(media::DecodeErrorName(e));
    }
    return {errors};
  }

  void ObserveBlob(const Blob& blob, ModelId model) {
    const MediaType type = media::SniffBlob(blob);
    const bool image = type == MediaType::kPng || type == MediaType::kJpeg;
    // Blobs that are not images by their content belong to someone else,
    // unless the configuration says this one is an image.
    if (!image && !filter_.Named(blob.name)) return;
    if (!Sampled()) return;
    FeatureMetrics::Cells& cells = metrics_.Local(model, blob.name);
    cells.Activate(kErrors);
    const media::TrimBlobScratchOnExit trim;
    std::string_view bytes;
    if (!media::BlobBytes(blob, media::ThreadBlobScratch(), &bytes)) {
      cells.Add(kErrors, ReasonIndex(DecodeError::kNotBase64));
      return;
    }
    media::ImageStats stats;
    DecodeError error;
    if (!media::AnalyzeImage(bytes, config_.stats, &stats, &error)) {
      cells.Add(kErrors, ReasonIndex(error));
      return;
    }
    cells.Observe(kBrightness, stats.brightness_ratio);
    cells.Observe(kContrast, stats.contrast_ratio);
    cells.Observe(kWidth, stats.width);
    cells.Observe(kHeight, stats.height);
    cells.Observe(kOverexposed, stats.overexposed_ratio);
    cells.Observe(kUnderexposed, stats.underexposed_ratio);
  }

  // Spreads the decoded blobs evenly: every 1 / sample_ratio-th blob of
  // each thread.
  bool Sampled() {
    if (config_.sample_ratio >= 1) return true;
    double& credit = credit_.Local();
    credit += config_.sample_ratio;
    if (credit < 1) return false;
    credit -= 1;
    return true;
  }

  const ImageConfig config_;
  const media::NameFilter filter_;
  FeatureMetrics metrics_;
  internal::PerThread<double> credit_;
};

}  // namespace

Status NewImageCollector(const CollectorContext& context,
                         std::unique_ptr<Collector>* out) {
  ImageConfig config;
  if (Status s = ParseConfig(context, &config); !s.ok()) return s;
  *out = std::make_unique<ImageCollector>(context, std::move(config));
  return Status::Ok();
}

ML_EXPORTER_REGISTER_COLLECTOR(
    image, "image",
    "Image blobs (PNG, JPEG by content) and fields: "
    "ml_image_brightness_ratio, ml_image_contrast_ratio, "
    "ml_image_width_pixels, ml_image_height_pixels, "
    "ml_image_overexposed_ratio, ml_image_underexposed_ratio, "
    "ml_blob_decode_errors_total",
    true, [](const CollectorContext& context) {
      return CollectorOrError(context, NewImageCollector);
    });

}  // namespace ml_exporter
