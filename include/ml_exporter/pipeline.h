// Pipeline: the ml_exporter library. Records and events go in, Prometheus
// metric families come out.
//
// A C++ model server can link this library, build records with
// RecordBuilder, call Observe, and serve the metrics itself (register
// AsCollectable() with a prometheus::Registry or Exposer); the ml_exporter
// program is a thin HTTP and file front end on top of it.
#ifndef ML_EXPORTER_PIPELINE_H_
#define ML_EXPORTER_PIPELINE_H_

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ml_exporter/cardinality_stats.h"
#include "ml_exporter/collector.h"
#include "ml_exporter/ingest_stats.h"
#include "ml_exporter/model_table.h"
#include "ml_exporter/options.h"
#include "ml_exporter/record.h"
#include "ml_exporter/status.h"

namespace ml_exporter {
namespace internal {
template <typename T>
class PerThread;
}  // namespace internal

class Pipeline {
 public:
  // Builds the collectors named in options.collectors (or every
  // default-enabled one), or those of options.default_collectors and
  // options.routes. Fails with the list of known names when a name is
  // unknown, or when an option is out of range.
  static Status Create(const PipelineOptions& options,
                       std::unique_ptr<Pipeline>* pipeline);

  // Applies new options while records keep flowing. A collector whose spec
  // and effective settings are unchanged is kept with its counters; others
  // start afresh. max_models and max_label_length keep their values from
  // Create (they size shared tables). On error nothing changes. Thread-safe.
  Status Reconfigure(const PipelineOptions& options);

  // Adds families to every Collect() (e.g. the server's reload status).
  // Call before serving; `source` must be thread-safe.
  void AddMetricsSource(
      std::function<void(std::vector<prometheus::MetricFamily>*)> source);

  // The options in force (after Reconfigure, the new ones).
  PipelineOptions current_options() const;

  // For status pages: each model seen and the collectors that watch it.
  struct ModelStatus {
    ModelLabels labels;
    std::vector<std::string> collectors;
  };
  std::vector<ModelStatus> model_status();

  // For status pages and logs: each loaded plugin (options.plugins).
  struct PluginStatus {
    std::string path;
    std::string name;
    std::string version;
    std::string abi;  // "<major>.<minor>" it was built for
    std::vector<std::string> collectors;
  };
  std::vector<PluginStatus> plugin_status() const;
  ~Pipeline();

  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Checks the record (a model name is required; latency must be a finite,
  // non-negative number or NaN for absent) and, when it is valid, hands it
  // to every collector. Thread-safe. An invalid record changes no metric
  // and yields InvalidArgument naming the field; counting the rejection is
  // the caller's job (see IngestStats).
  Status Observe(const Record& record);
  // Same for events: a type is required.
  Status ObserveEvent(const Event& event);

  // Every metric family: each collector's, the collectors' own duration and
  // success gauges, ingest and cardinality self-metrics and build info.
  // Process metrics are not included (see ProcessMetrics). Thread-safe.
  std::vector<prometheus::MetricFamily> Collect();

  // A view of Collect() for a prometheus::Registry-style host. The pipeline
  // must outlive it.
  std::shared_ptr<prometheus::Collectable> AsCollectable();

  // Counters of accepted and rejected input, by source and reason.
  IngestStats& ingest_stats() { return ingest_stats_; }
  const CardinalityStats& cardinality_stats() const { return cardinality_; }
  const ModelTable& models() const { return models_; }
  // Names of the running collectors (distinct instances), in run order.
  std::vector<std::string> collector_names() const;

 private:
  explicit Pipeline(const PipelineOptions& options);

  struct Instance;
  struct Routing;
  Status BuildRouting(const PipelineOptions& options, const Routing* previous,
                      std::unique_ptr<Routing>* out);
  const std::vector<Instance*>& InstancesFor(const Routing& routing,
                                             ModelId id);

  ModelTable models_;
  IngestStats ingest_stats_;
  CardinalityStats cardinality_;
  struct ModelCache;
  std::unique_ptr<internal::PerThread<ModelCache>> model_cache_;
  ModelId ResolveModel(std::string_view model, std::string_view version,
                       std::string_view stage);
  mutable std::mutex reconfigure_mu_;  // serialises Reconfigure
  std::atomic<const Routing*> routing_{nullptr};
  // The published routing, and replaced ones kept for a grace period
  // (an ingest thread holds a routing only for one record) instead of
  // making every Observe announce itself.
  struct Retired {
    std::unique_ptr<const Routing> routing;
    std::chrono::steady_clock::time_point since;
  };
  std::unique_ptr<const Routing> current_;
  std::vector<Retired> retired_;
  std::vector<std::function<void(std::vector<prometheus::MetricFamily>*)>>
      metrics_sources_;
};

}  // namespace ml_exporter

#endif  // ML_EXPORTER_PIPELINE_H_
