// PipelineOptions: limits and defaults that shape every collector.
#ifndef ML_EXPORTER_OPTIONS_H_
#define ML_EXPORTER_OPTIONS_H_

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ml_exporter {

// One collector to run, with its settings from the configuration.
struct CollectorSpec {
  std::string name;                  // built-in or plugin collector
  std::vector<std::string> include;  // fields to watch; empty: all
  std::vector<std::string> exclude;  // fields to ignore
  // Explicit histogram edges by field name (override the pipeline's).
  std::map<std::string, std::vector<double>> buckets;
  // Overrides of the pipeline-wide settings for this collector.
  std::optional<size_t> max_features;
  std::optional<size_t> max_outputs;
  std::optional<size_t> max_label_values;
  std::optional<size_t> histogram_warmup_values;
  std::optional<double> histogram_warmup_seconds;
  std::optional<size_t> histogram_quantile_buckets;
  // Collector-specific parameters: a serialized google.protobuf.Struct.
  std::string params;

  bool operator==(const CollectorSpec&) const = default;
};

// An alert threshold for one model, exported as ml_alert_threshold.
struct ThresholdSpec {
  std::string metric;   // e.g. "missing_ratio"
  std::string feature;  // feature or output; empty for model-wide metrics
  std::optional<double> upper;
  std::optional<double> lower;

  bool operator==(const ThresholdSpec&) const = default;
};

// Settings for the models that match the patterns (`*` matches any run of
// characters; an empty version or stage pattern matches any).
struct ModelRoute {
  std::string model;
  std::string version;
  std::string stage;
  // Absent: the pipeline's default collectors.
  std::optional<std::vector<CollectorSpec>> collectors;
  std::vector<ThresholdSpec> thresholds;
  // Requests the models' servers process at once, exported as
  // ml_model_capacity for the load ratio alert.
  std::optional<double> capacity;

  bool operator==(const ModelRoute&) const = default;
};

// A reference profile (`mltool profile`) for the models that match the
// patterns, as in ModelRoute; the first match applies. See docs/drift.md.
struct ReferenceSpec {
  std::string model;
  std::string version;
  std::string stage;
  std::string path;  // a profile file, binary or protobuf text form

  bool operator==(const ReferenceSpec&) const = default;
};

// Settings of the drift collector; its `params` in the configuration
// override them per collector (docs/drift.md).
struct DriftOptions {
  // Length of the sliding window the scores are computed over.
  double window_seconds = 3600;
  // Fewer values than this in the window: no score (the number of values,
  // ml_feature_window_values, is still exported).
  size_t min_count = 1000;
  // Models without a reference profile take the first window of their
  // traffic as the reference; false: they get no drift metrics.
  bool baseline_from_traffic = false;

  bool operator==(const DriftOptions&) const = default;
};

struct PipelineOptions {
  // Distinct (model, version, stage) triples. Records of further triples are
  // still counted, under model="__other__", version="__other__",
  // stage="__other__".
  size_t max_models = 100;
  // Distinct input features per model; further ones share
  // feature="__other__".
  size_t max_features = 1000;
  // Distinct outputs per model; further ones share output="__other__".
  size_t max_outputs = 100;
  // Distinct label values (categories) per feature or output; further ones
  // are counted as value="__other__".
  size_t max_label_values = 50;
  // Longer label values taken from data are cut to this many bytes (at a
  // UTF-8 character boundary).
  size_t max_label_length = 128;

  // A numeric histogram with no explicit edges buffers this many values,
  // then freezes quantile-based edges for the life of the series.
  size_t histogram_warmup_values = 1000;
  // A histogram still warming up this long after its first value freezes
  // with the values it has, so rare features get a histogram too.
  double histogram_warmup_seconds = 60;
  // Number of quantile-based bucket edges chosen after warm-up.
  size_t histogram_quantile_buckets = 10;
  // Explicit bucket edges by feature or output name; these skip warm-up.
  std::map<std::string, std::vector<double>> explicit_buckets;
  // Edges of ml_latency_seconds.
  std::vector<double> latency_buckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  // Edges of ml_feature_length (characters).
  std::vector<double> length_buckets = {0,  1,   2,   4,   8,    16,  32,
                                        64, 128, 256, 512, 1024, 4096};

  // Names of the collectors to run on every model, from the
  // CollectorRegistry. Empty means every registered collector that is
  // enabled by default. Ignored when default_collectors is set.
  std::vector<std::string> collectors;
  // Collectors, with settings, for models that no route matches.
  std::optional<std::vector<CollectorSpec>> default_collectors;
  // Per-model settings; the first route that matches a model applies.
  std::vector<ModelRoute> routes;
  // Shared libraries that provide more collectors (see docs/plugins.md).
  std::vector<std::string> plugins;

  // Reference profiles by model (drift scores, and the bucket edges of the
  // model's numeric histograms); the first match applies.
  std::vector<ReferenceSpec> references;
  DriftOptions drift;
};

}  // namespace ml_exporter

#endif  // ML_EXPORTER_OPTIONS_H_
