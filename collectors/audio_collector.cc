// AudioCollector ("audio"): duration, level, clipping and silence of the
// audio a speech model hears, per model and blob (or field).
//
// With no configuration it measures every blob whose content is a WAV
// file (RIFF/WAVE magic bytes), so a record with "blobs": {"audio": <wav>}
// needs nothing else; records without blobs cost one branch. params:
//   sample_rate, channels, format: raw PCM (s16le) in blobs that are not
//     WAV (all of them, or those in `include`)
//   silence_dbfs (-50), clip_level (0.99), window_seconds (0.02)
//   fields: {duration_seconds: audio_seconds, rms_dbfs: rms, ...}: values
//     the model server computed, observed as they are
//   buckets: {rms_dbfs: [...], ...}: histogram edges
// See docs/collectors/audio.md.
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "collectors/media_collectors.h"
#include "media/audio_stats.h"
#include "media/blob_content.h"
#include "media/collector_params.h"
#include "media/feature_metrics.h"
#include "media/name_filter.h"
#include "media/record_fields.h"
#include "media/wav.h"

namespace ml_exporter {
namespace {

using media::DecodeError;
using media::FeatureMetrics;
using media::MediaType;

enum Histogram : size_t {
  kDuration,
  kRms,
  kPeak,
  kClipped,
  kSilence,
  kSampleRate,
  kHistogramCount
};

// Keys of `fields` and `buckets`: the metric names without "ml_audio_".
constexpr const char* kKeys[kHistogramCount] = {
    "duration_seconds", "rms_dbfs",      "peak_dbfs",
    "clipped_ratio",    "silence_ratio", "sample_rate_hertz"};

constexpr size_t kErrors = 0;  // the one counter family
constexpr DecodeError kReasons[] = {
    DecodeError::kNotBase64, DecodeError::kNotWav,
    DecodeError::kUnsupportedWavFormat, DecodeError::kTruncated};

size_t ReasonIndex(DecodeError e) {
  for (size_t i = 0; i < std::size(kReasons); ++i) {
    if (kReasons[i] == e) return i;
  }
  return 0;
}

std::vector<double> DefaultEdges(size_t h) {
  switch (h) {
    case kDuration:
      return {0.5, 1, 2, 3, 5, 10, 15, 20, 30, 60, 120, 300};
    case kRms:
    case kPeak:
      return {-80, -60, -50, -40, -35, -30, -25, -20, -15, -10, -6, -3, -1};
    case kClipped:
      return {0, 0.0001, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5};
    case kSilence:
      return {0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99};
    case kSampleRate:
      return {8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 96000};
  }
  return {};
}

const char* const kHelp[kHistogramCount] = {
    "Duration of the audio in seconds.",
    "RMS level of the audio in dBFS (full scale 32768; a full-scale sine is "
    "-3.01): the average volume. Digital silence is -120.",
    "Peak sample level of the audio in dBFS (full scale 32768).",
    "Share of the audio's samples at or above the clip level (params "
    "clip_level, default 0.99 of full scale).",
    "Share of the audio's duration in windows (params window_seconds, "
    "default 0.02) whose RMS level is below params silence_dbfs (default "
    "-50).",
    "Sample rate of the audio in hertz.",
};

struct AudioConfig {
  media::AudioStatsOptions stats;
  uint32_t raw_sample_rate = 0;  // 0: no raw PCM
  uint16_t raw_channels = 1;
  // (histogram, field name), from params.fields.
  std::vector<std::pair<size_t, std::string>> fields;
  std::map<std::string, std::vector<double>> buckets;
};

Status ParseConfig(const CollectorContext& context, AudioConfig* config) {
  media::MediaParams params;
  const std::vector<std::string> keys(std::begin(kKeys), std::end(kKeys));
  std::vector<std::string> field_keys = keys;
  field_keys.push_back("duration");  // short for duration_seconds
  double rate = 0, channels = 1;
  std::string format = "s16le";
  std::map<std::string, std::string> fields;
  media::AudioStatsOptions& stats = config->stats;
  Status s = media::MediaParams::Parse(
      context.params,
      {"sample_rate", "channels", "format", "silence_dbfs", "clip_level",
       "window_seconds", "fields", "buckets"},
      &params);
  if (s.ok()) s = params.GetNumber("sample_rate", 1, 1e6, &rate);
  if (s.ok()) {
    s = params.GetNumber("channels", 1, media::kMaxChannels, &channels);
  }
  if (s.ok()) s = params.GetString("format", &format);
  if (s.ok()) {
    s = params.GetNumber("silence_dbfs", -200, 0, &stats.silence_dbfs);
  }
  if (s.ok()) s = params.GetNumber("clip_level", 1e-6, 1, &stats.clip_level);
  if (s.ok()) {
    s = params.GetNumber("window_seconds", 1e-4, 10, &stats.window_seconds);
  }
  if (s.ok()) s = params.GetStringMap("fields", field_keys, &fields);
  if (s.ok()) s = params.GetEdgesMap("buckets", keys, &config->buckets);
  if (!s.ok()) return s;
  if (rate != std::floor(rate)) {
    return media::ParamError("sample_rate", "must be a whole number of hertz");
  }
  if (channels != std::floor(channels)) {
    return media::ParamError("channels", "must be a whole number");
  }
  if (format != "s16le") {
    return media::ParamError("format",
                             "is \"" + format +
                                 "\"; raw PCM must be \"s16le\" (signed "
                                 "16-bit little-endian)");
  }
  if ((params.Has("channels") || params.Has("format")) && rate == 0) {
    return media::ParamError("sample_rate",
                             "is needed for raw PCM (channels, format)");
  }
  config->raw_sample_rate = static_cast<uint32_t>(rate);
  config->raw_channels = static_cast<uint16_t>(channels);
  for (const auto& [key, field] : fields) {
    const std::string canonical = key == "duration" ? kKeys[kDuration] : key;
    for (size_t h = 0; h < kHistogramCount; ++h) {
      if (canonical == kKeys[h]) config->fields.emplace_back(h, field);
    }
  }
  return Status::Ok();
}

class AudioCollector : public Collector {
 public:
  AudioCollector(const CollectorContext& context, AudioConfig config)
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
      const AudioConfig& config) {
    std::vector<media::HistogramDef> defs;
    for (size_t h = 0; h < kHistogramCount; ++h) {
      auto it = config.buckets.find(kKeys[h]);
      defs.push_back(
          {std::string("ml_audio_") + kKeys[h], kHelp[h],
           it != config.buckets.end() ? it->second : DefaultEdges(h)});
    }
    return defs;
  }

  static std::vector<media::CounterDef> CounterDefs() {
    media::CounterDef errors;
    errors.name = "ml_blob_decode_errors_total";
    errors.help = media::kDecodeErrorsHelp;
    errors.fixed_labels = {{"media", "audio"}};
    errors.label = "reason";
    for (DecodeError e : kReasons) {
      errors.values.emplace_back(media::DecodeErrorName(e));
    }
    return {errors};
  }

  void ObserveBlob(const Blob& blob, ModelId model) {
    const MediaType type = media::SniffBlob(blob);
    const bool named = filter_.Named(blob.name);
    const bool raw = config_.raw_sample_rate != 0;
    // Blobs that are not audio by their content belong to someone else,
    // unless the configuration says this one is audio.
    if (type != MediaType::kWav && !named &&
        !(raw && type == MediaType::kUnknown)) {
      return;
    }
    FeatureMetrics::Cells& cells = metrics_.Local(model, blob.name);
    cells.Activate(kErrors);
    const media::TrimBlobScratchOnExit trim;
    std::string_view bytes;
    if (!media::BlobBytes(blob, media::ThreadBlobScratch(), &bytes)) {
      cells.Add(kErrors, ReasonIndex(DecodeError::kNotBase64));
      return;
    }
    media::Pcm16 pcm;
    if (type == MediaType::kWav) {
      DecodeError error;
      if (!media::ParseWav(bytes, &pcm, &error)) {
        cells.Add(kErrors, ReasonIndex(error));
        return;
      }
    } else if (raw && type == MediaType::kUnknown) {
      pcm =
          media::RawPcm16(bytes, config_.raw_sample_rate, config_.raw_channels);
    } else {
      cells.Add(kErrors, ReasonIndex(DecodeError::kNotWav));
      return;
    }
    const media::AudioStats stats = media::AnalyzePcm16(pcm, config_.stats);
    cells.Observe(kDuration, stats.duration_seconds);
    cells.Observe(kSampleRate, pcm.sample_rate);
    if (stats.frames == 0) return;  // no level of nothing
    cells.Observe(kRms, stats.rms_dbfs);
    cells.Observe(kPeak, stats.peak_dbfs);
    cells.Observe(kClipped, stats.clipped_ratio);
    cells.Observe(kSilence, stats.silence_ratio);
  }

  const AudioConfig config_;
  const media::NameFilter filter_;
  FeatureMetrics metrics_;
};

}  // namespace

Status NewAudioCollector(const CollectorContext& context,
                         std::unique_ptr<Collector>* out) {
  AudioConfig config;
  if (Status s = ParseConfig(context, &config); !s.ok()) return s;
  *out = std::make_unique<AudioCollector>(context, std::move(config));
  return Status::Ok();
}

ML_EXPORTER_REGISTER_COLLECTOR(
    audio, "audio",
    "Audio blobs (WAV by content, raw PCM when configured) and fields: "
    "ml_audio_duration_seconds, ml_audio_rms_dbfs, ml_audio_peak_dbfs, "
    "ml_audio_clipped_ratio, ml_audio_silence_ratio, "
    "ml_audio_sample_rate_hertz, ml_blob_decode_errors_total",
    true, [](const CollectorContext& context) {
      return CollectorOrError(context, NewAudioCollector);
    });

}  // namespace ml_exporter
