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

#include <memory>
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
  // default-enabled one). Fails with the list of known names when a name is
  // unknown, or when an option is out of range.
  static Status Create(const PipelineOptions& options,
                       std::unique_ptr<Pipeline>* pipeline);
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
  const PipelineOptions& options() const { return options_; }
  // Names of the running collectors, in run order.
  std::vector<std::string> collector_names() const;

 private:
  explicit Pipeline(const PipelineOptions& options);

  struct NamedCollector {
    std::string name;
    std::unique_ptr<Collector> collector;
  };

  const PipelineOptions options_;
  ModelTable models_;
  IngestStats ingest_stats_;
  CardinalityStats cardinality_;
  struct ModelCache;
  std::unique_ptr<internal::PerThread<ModelCache>> model_cache_;
  ModelId ResolveModel(std::string_view model, std::string_view version,
                       std::string_view stage);
  std::vector<NamedCollector> collectors_;
};

}  // namespace ml_exporter

#endif  // ML_EXPORTER_PIPELINE_H_
