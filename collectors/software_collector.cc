// SoftwareCollector ("software"): request count, prediction errors and
// latency per model, version and stage.
#include <cmath>

#include "core/histogram.h"
#include "core/model_shard.h"
#include "core/per_thread.h"
#include "ml_exporter/collector.h"
#include "ml_exporter/metric_builder.h"

namespace ml_exporter {
namespace {

using internal::BucketEdges;
using internal::HistogramCells;
using internal::HistogramSnapshot;
using internal::OwnedCounter;

struct ModelCells {
  explicit ModelCells(size_t latency_buckets) : latency(latency_buckets) {}
  OwnedCounter records;
  OwnedCounter errors;
  HistogramCells latency;
};

class SoftwareCollector : public Collector {
 public:
  explicit SoftwareCollector(const CollectorContext& context)
      : latency_edges_(context.options->latency_buckets) {}

  void Observe(const Record& record, const ObserveContext& context) override {
    ModelCells& cells =
        shards_.Local().At(context.model_id, latency_edges_.bucket_count());
    cells.records.Add(1);
    if (record.error) cells.errors.Add(1);
    if (!std::isnan(record.latency_seconds)) {
      cells.latency.Observe(latency_edges_.BucketOf(record.latency_seconds),
                            record.latency_seconds);
    }
  }

  Status Collect(const ModelTable& models,
                 std::vector<prometheus::MetricFamily>* out) override {
    const size_t n = models.size();
    std::vector<uint64_t> records(n), errors(n);
    std::vector<HistogramSnapshot> latency(n);
    shards_.ForEach([&](internal::ModelShard<ModelCells>& shard) {
      std::lock_guard<std::mutex> lock(shard.mu);
      for (ModelId id = 0; id < shard.size() && id < n; ++id) {
        const ModelCells& c = shard.at(id);
        records[id] += c.records.Get();
        errors[id] += c.errors.Get();
        latency[id].Add(c.latency);
      }
    });
    auto records_family =
        NewFamily("ml_records_total", "Prediction records observed.",
                  prometheus::MetricType::Counter);
    auto errors_family = NewFamily(
        "ml_prediction_errors_total",
        "Prediction records with error=true (the model failed to predict).",
        prometheus::MetricType::Counter);
    auto latency_family = NewFamily(
        "ml_latency_seconds",
        "Prediction latency in seconds, from the records' latency_seconds.",
        prometheus::MetricType::Histogram);
    for (ModelId id = 0; id < n; ++id) {
      if (records[id] == 0) continue;  // a model seen only in events
      const ModelLabels& labels = models.labels(id);
      AddCounter(&records_family, ModelLabelList(labels),
                 static_cast<double>(records[id]));
      AddCounter(&errors_family, ModelLabelList(labels),
                 static_cast<double>(errors[id]));
      AddHistogram(&latency_family, ModelLabelList(labels),
                   latency_edges_.edges(), latency[id].counts, latency[id].sum);
    }
    AppendIfNotEmpty(std::move(records_family), out);
    AppendIfNotEmpty(std::move(errors_family), out);
    AppendIfNotEmpty(std::move(latency_family), out);
    return Status::Ok();
  }

 private:
  const BucketEdges latency_edges_;
  internal::PerThread<internal::ModelShard<ModelCells>> shards_;
};

}  // namespace

ML_EXPORTER_REGISTER_COLLECTOR(
    software, "software",
    "ml_records_total, ml_prediction_errors_total, ml_latency_seconds", true,
    [](const CollectorContext& context) -> std::unique_ptr<Collector> {
      return std::make_unique<SoftwareCollector>(context);
    });

}  // namespace ml_exporter
