// PipelineCollector ("pipeline"): what only a view across the stages of a
// multi-model system shows. Each stage reports its own records with the
// same request_id and its own `stage`; route every stage of the model to
// this collector (a models[] entry without `stage`) and list the stages in
// order.
//
//   ml_pipeline_requests_total                requests that entered the
//                                             first stage (label: that stage)
//   ml_pipeline_stage_reached_total           requests that reached each
//                                             stage (reach fraction = this /
//                                             requests)
//   ml_pipeline_latency_seconds               first stage's start to the last
//                                             stage's end, per request
//   ml_pipeline_first_empty_stage_total       the first stage whose outputs
//                                             were all null or empty
//
// A request is complete when its last stage reports, or when the join
// window passes without it (then it counts as reaching the stages seen).
// Params: stages (required, in order), join_window_seconds (60),
// max_requests (100000).
#include <chrono>
#include <cmath>

#include "core/histogram.h"
#include "core/join_table.h"
#include "core/model_shard.h"
#include "core/per_thread.h"
#include "ml_exporter/collector.h"
#include "ml_exporter/collector_params.h"
#include "ml_exporter/metric_builder.h"

namespace ml_exporter {
namespace {

using internal::BucketEdges;
using internal::HistogramCells;
using internal::HistogramSnapshot;
using internal::OwnedCounter;

constexpr size_t kMaxStages = 16;

double NowSeconds() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A request in flight through the stages.
struct Journey {
  ModelId stage_model[kMaxStages];  // model id of each stage's record
  uint32_t seen = 0;                // bit per stage
  uint32_t empty = 0;               // bit per stage: all outputs empty
  double start = NAN;               // earliest record time
  double end = NAN;                 // latest time + latency
};

bool IsEmpty(const FieldValue& v) {
  return v.kind == FieldValue::Kind::kNull ||
         (v.kind == FieldValue::Kind::kString && v.text.empty()) ||
         (v.kind == FieldValue::Kind::kList && v.list_size == 0);
}

class PipelineCollector : public Collector {
 public:
  struct Cells {
    explicit Cells(size_t latency_buckets) : latency(latency_buckets) {}
    OwnedCounter requests;     // on the first stage's model id
    OwnedCounter reached;      // on each stage's model id
    OwnedCounter first_empty;  // on the stage's model id
    HistogramCells latency;    // on the first stage's model id
  };

  PipelineCollector(std::vector<std::string> stages, CollectorParams& p,
                    const PipelineOptions& options)
      : stages_(std::move(stages)),
        latency_edges_(options.latency_buckets),
        journeys_(static_cast<size_t>(p.Number("max_requests", 100000, 1, 1e8)),
                  p.Number("join_window_seconds", 60, 0.001, 86400)) {}

  void Observe(const Record& record, const ObserveContext& context) override {
    if (record.request_id.empty()) return;
    size_t stage = stages_.size();
    for (size_t i = 0; i < stages_.size(); ++i) {
      if (stages_[i] == record.stage) stage = i;
    }
    if (stage == stages_.size()) return;
    bool empty = !record.outputs.empty() || record.error;
    for (const Field& f : record.outputs) empty = empty && IsEmpty(f.value);
    const double time =
        std::isnan(record.time_seconds) ? NowSeconds() : record.time_seconds;
    const double end =
        time +
        (std::isnan(record.latency_seconds) ? 0 : record.latency_seconds);
    Journey done;
    bool complete = false;
    // The key includes the model name: two pipelines may share request ids.
    thread_local std::string key;
    key.assign(record.model).push_back('\0');
    key.append(record.request_id);
    journeys_.Upsert(
        key, time,
        [&](Journey& j, bool) {
          j.stage_model[stage] = context.model_id;
          j.seen |= 1u << stage;
          if (empty) j.empty |= 1u << stage;
          if (std::isnan(j.start) || time < j.start) j.start = time;
          if (std::isnan(j.end) || end > j.end) j.end = end;
          if (stage + 1 == stages_.size()) {
            done = j;
            complete = true;
          }
        },
        [this](const std::string&, Journey& j) { Finish(j); });
    if (complete) {
      journeys_.Find(key, time, [](Journey*, double) { return true; });
      Finish(done);
    }
  }

  Status Collect(const ModelTable& models,
                 std::vector<prometheus::MetricFamily>* out) override {
    // Requests whose last stage never came are finished by the window.
    journeys_.ExpireAll(NowSeconds(),
                        [this](const std::string&, Journey& j) { Finish(j); });
    const size_t n = models.size();
    std::vector<uint64_t> requests(n), reached(n), first_empty(n);
    std::vector<HistogramSnapshot> latency(n);
    std::vector<bool> seen(n);
    shards_.ForEach([&](internal::ModelShard<Cells>& shard) {
      std::lock_guard<std::mutex> lock(shard.mu);
      for (ModelId m = 0; m < shard.size() && m < n; ++m) {
        const Cells& c = shard.at(m);
        seen[m] = true;
        requests[m] += c.requests.Get();
        reached[m] += c.reached.Get();
        first_empty[m] += c.first_empty.Get();
        latency[m].Add(c.latency);
      }
    });
    auto f_requests = NewFamily(
        "ml_pipeline_requests_total",
        "Completed requests that entered the pipeline (labelled with its "
        "first stage).",
        prometheus::MetricType::Counter);
    auto f_reached = NewFamily("ml_pipeline_stage_reached_total",
                               "Completed requests that reached this stage.",
                               prometheus::MetricType::Counter);
    auto f_empty = NewFamily(
        "ml_pipeline_first_empty_stage_total",
        "Completed requests whose first stage with all outputs empty (or an "
        "error) was this stage.",
        prometheus::MetricType::Counter);
    auto f_latency = NewFamily(
        "ml_pipeline_latency_seconds",
        "End-to-end latency per request: the first stage's time to the last "
        "stage's time plus latency (labelled with the first stage).",
        prometheus::MetricType::Histogram);
    for (ModelId m = 0; m < n; ++m) {
      if (!seen[m]) continue;
      const ModelLabels& l = models.labels(m);
      if (l.stage == stages_.front()) {
        AddCounter(&f_requests, ModelLabelList(l), requests[m]);
        if (!latency[m].counts.empty()) {
          AddHistogram(&f_latency, ModelLabelList(l), latency_edges_.edges(),
                       latency[m].counts, latency[m].sum);
        }
      }
      AddCounter(&f_reached, ModelLabelList(l), reached[m]);
      AddCounter(&f_empty, ModelLabelList(l), first_empty[m]);
    }
    for (auto* f : {&f_requests, &f_reached, &f_empty, &f_latency}) {
      AppendIfNotEmpty(std::move(*f), out);
    }
    auto entries = NewFamily("ml_exporter_join_table_entries",
                             "Entries held in the collectors' bounded join "
                             "tables (sessions, requests).",
                             prometheus::MetricType::Gauge);
    AddGauge(&entries, {{"collector", "pipeline"}},
             static_cast<double>(journeys_.size()));
    out->push_back(std::move(entries));
    auto evicted =
        NewFamily("ml_exporter_join_table_evictions_total",
                  "Entries evicted from a full join table before they expired.",
                  prometheus::MetricType::Counter);
    AddCounter(&evicted, {{"collector", "pipeline"}},
               static_cast<double>(journeys_.evicted()));
    out->push_back(std::move(evicted));
    return Status::Ok();
  }

 private:
  // Counts a finished request. Runs on whichever thread finished it.
  void Finish(const Journey& j) {
    if ((j.seen & 1u) == 0) {
      orphans_.fetch_add(1, std::memory_order_relaxed);
      return;  // never entered the first stage: not a pipeline request
    }
    internal::ModelShard<Cells>& shard = shards_.Local();
    const size_t buckets = latency_edges_.bucket_count();
    Cells& first = shard.At(j.stage_model[0], buckets);
    first.requests.Add(1);
    if (std::isfinite(j.end - j.start) &&
        j.seen == (1u << stages_.size()) - 1) {
      const double took = j.end - j.start;
      first.latency.Observe(latency_edges_.BucketOf(took), took);
    }
    bool empty_found = false;
    for (size_t s = 0; s < stages_.size(); ++s) {
      if ((j.seen & (1u << s)) == 0) continue;
      shard.At(j.stage_model[s], buckets).reached.Add(1);
      if (!empty_found && (j.empty & (1u << s))) {
        shard.At(j.stage_model[s], buckets).first_empty.Add(1);
        empty_found = true;
      }
    }
  }

  const std::vector<std::string> stages_;
  const BucketEdges latency_edges_;
  internal::JoinTable<Journey> journeys_;
  internal::PerThread<internal::ModelShard<Cells>> shards_;
  std::atomic<uint64_t> orphans_{0};
};

}  // namespace

ML_EXPORTER_REGISTER_COLLECTOR(
    pipeline, "pipeline",
    "Reach fraction, end-to-end latency and first empty stage across the "
    "stages of a multi-model pipeline: ml_pipeline_*",
    false, [](const CollectorContext& context) -> std::unique_ptr<Collector> {
      std::unique_ptr<CollectorParams> p;
      Status s = CollectorParams::Parse(
          context.params, {"stages", "join_window_seconds", "max_requests"},
          &p);
      std::unique_ptr<Collector> c;
      if (s.ok()) {
        std::vector<std::string> stages = p->StringList("stages", {});
        if (!p->status().ok()) {
          s = p->status();
        } else if (stages.empty()) {
          s = Status::InvalidArgument(
              "parameter \"stages\" is required: the stage names in order");
        } else if (stages.size() > kMaxStages) {
          s = Status::InvalidArgument("at most 16 stages");
        } else {
          c = std::make_unique<PipelineCollector>(std::move(stages), *p,
                                                  *context.options);
          s = p->status();
        }
      }
      if (!s.ok()) {
        if (context.error) *context.error = s.message();
        return nullptr;
      }
      return c;
    });

}  // namespace ml_exporter
