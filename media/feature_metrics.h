// FeatureMetrics: the per (model, feature) histograms and counters of the
// audio, image and text collectors, kept in per-thread cells and turned
// into metric families at scrape.
//
// Every series carries model, version, stage and feature. Histograms have
// fixed edges (the quantities have known ranges, so there is no warm-up);
// counters may have one more label with a closed set of values (reasons).
// Features are capped at max_features per model: later ones are counted
// under feature="__other__" and in ml_exporter_cardinality_overflow_total.
#ifndef ML_EXPORTER_MEDIA_FEATURE_METRICS_H_
#define ML_EXPORTER_MEDIA_FEATURE_METRICS_H_

#include <prometheus/metric_family.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/histogram.h"
#include "core/label_value.h"
#include "core/model_shard.h"
#include "core/per_thread.h"
#include "ml_exporter/collector.h"

namespace ml_exporter::media {

struct HistogramDef {
  std::string name;
  std::string help;
  std::vector<double> edges;  // strictly increasing, finite
};

// A counter family. With an empty `label`, one series per feature;
// otherwise one per value of `label` (all exported, zeros included, once
// the feature's counter is activated, so rate() sees the first increment).
struct CounterDef {
  std::string name;
  std::string help;
  std::vector<std::pair<std::string, std::string>> fixed_labels;
  std::string label;
  std::vector<std::string> values;  // ignored when `label` is empty
};

class FeatureMetrics {
 public:
  FeatureMetrics(const CollectorContext& context,
                 std::vector<HistogramDef> histograms,
                 std::vector<CounterDef> counters);
  FeatureMetrics(const FeatureMetrics&) = delete;
  FeatureMetrics& operator=(const FeatureMetrics&) = delete;

  // One thread's cells of one feature of one model. Only that thread
  // writes them.
  class Cells {
   public:
    explicit Cells(const FeatureMetrics& metrics);

    // Non-finite values are ignored.
    void Observe(size_t histogram, double value) {
      if (!std::isfinite(value)) return;
      histograms_[histogram].Observe(metrics_.edges_[histogram].BucketOf(value),
                                     value);
    }
    // Adds to the `value`-th series of counter `counter` (0 without a
    // label), and activates it.
    void Add(size_t counter, size_t value, uint64_t n = 1) {
      Activate(counter);
      counters_[metrics_.counter_offset_[counter] + value].Add(n);
    }
    // Makes the counter's series exported (as zeros until added to).
    void Activate(size_t counter) {
      if (!active_[counter].load(std::memory_order_relaxed)) {
        active_[counter].store(true, std::memory_order_relaxed);
      }
    }

   private:
    friend class FeatureMetrics;
    const FeatureMetrics& metrics_;
    std::deque<internal::HistogramCells> histograms_;
    std::vector<internal::OwnedCounter> counters_;
    std::unique_ptr<std::atomic<bool>[]> active_;
  };

  // This thread's cells for `feature` of `model`; the name is interned on
  // first sight in this thread (no lock, no allocation afterwards).
  Cells& Local(ModelId model, std::string_view feature);

  // Appends one family per histogram and counter def (empty ones left out).
  void Collect(const ModelTable& models,
               std::vector<prometheus::MetricFamily>* out) const;

 private:
  struct ModelFeatures {
    std::deque<Cells> features;         // by feature id
    internal::StringMap<uint32_t> ids;  // admitted names only: bounded
  };
  using Shard = internal::ModelShard<ModelFeatures>;

  internal::CappedInterner& Names(ModelId model);
  const internal::CappedInterner* NamesIfAny(ModelId model) const;

  const size_t max_features_;
  const size_t max_label_length_;
  CardinalityStats* const cardinality_;
  const std::vector<HistogramDef> histogram_defs_;
  const std::vector<CounterDef> counter_defs_;
  std::vector<internal::BucketEdges> edges_;
  std::vector<size_t> counter_offset_;  // into Cells::counters_
  size_t counter_cells_ = 0;

  const size_t model_slots_;
  std::unique_ptr<std::atomic<internal::CappedInterner*>[]> names_;
  std::mutex names_mu_;
  std::vector<std::unique_ptr<internal::CappedInterner>> owned_names_;
  internal::PerThread<Shard> shards_;
};

}  // namespace ml_exporter::media

#endif  // ML_EXPORTER_MEDIA_FEATURE_METRICS_H_
