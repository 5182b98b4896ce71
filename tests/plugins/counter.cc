// Test plugin "test_counter": counts what it is given, so that the tests can
// check every part of a record, an event and the configuration crossed the
// boundary intact.
#include <map>
#include <mutex>
#include <string>

#include "ml_exporter/plugin_sdk.h"

namespace {

using namespace ml_exporter;

class CounterCollector : public Collector {
 public:
  explicit CounterCollector(const CollectorContext& context)
      : cardinality_(context.cardinality) {
    std::unique_ptr<CollectorParams> params;
    if (CollectorParams::Parse(context.params, {"label"}, &params).ok()) {
      label_ = params->String("label", "");
    }
    for (const std::string& s : context.include) include_ += s + ",";
    for (const std::string& s : context.exclude) exclude_ += s + ",";
    max_label_values_ = context.options->max_label_values;
    latency_buckets_ = context.options->latency_buckets.size();
    auto it = context.options->explicit_buckets.find("score");
    if (it != context.options->explicit_buckets.end()) {
      score_edges_ = it->second.size();
    }
  }

  void Observe(const Record& r, const ObserveContext& context) override {
    std::lock_guard<std::mutex> lock(mu_);
    Counts& c = counts_[context.model_id];
    ++c.records;
    c.inputs += r.inputs.size();
    c.outputs += r.outputs.size();
    c.list_items += r.list_items.size();
    for (const Blob& b : r.blobs) c.blob_bytes += b.data.size();
    if (r.error) ++c.errors;
    if (!std::isnan(r.latency_seconds)) c.latency_sum += r.latency_seconds;
    if (!std::isnan(r.time_seconds)) c.last_time = r.time_seconds;
    for (const Field& f : r.outputs) {
      if (f.value.kind == FieldValue::Kind::kString) {
        c.text_bytes += f.value.text.size();
      }
      if (f.name == "overflow" && f.value.kind == FieldValue::Kind::kBool &&
          f.value.boolean) {
        cardinality_->AddOverflow(CardinalityLimit::kLabelValues);
      }
    }
    c.request_ids += r.request_id.empty() ? 0 : 1;
  }

  void ObserveEvent(const Event& e, const ObserveContext& context) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++events_[{std::string(e.type),
               context.model_id != ObserveContext::kNoModel}];
  }

  Status Collect(const ModelTable& models,
                 std::vector<prometheus::MetricFamily>* out) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto records = NewFamily("ml_test_records_total", "Records.",
                             prometheus::MetricType::Counter);
    auto fields = NewFamily("ml_test_fields_total", "Fields by kind.",
                            prometheus::MetricType::Counter);
    auto bytes = NewFamily("ml_test_bytes_total", "Bytes by kind.",
                           prometheus::MetricType::Counter);
    auto latency = NewFamily("ml_test_latency_seconds", "Latency, two buckets.",
                             prometheus::MetricType::Histogram);
    auto time = NewFamily("ml_test_last_time_seconds", "Last record time.",
                          prometheus::MetricType::Gauge);
    for (const auto& [id, c] : counts_) {
      if (id >= models.size()) continue;
      const ModelLabels& l = models.labels(id);
      AddCounter(&records, ModelLabelList(l), c.records);
      AddCounter(&fields, ModelLabelList(l, {{"kind", "input"}}), c.inputs);
      AddCounter(&fields, ModelLabelList(l, {{"kind", "output"}}), c.outputs);
      AddCounter(&fields, ModelLabelList(l, {{"kind", "list_item"}}),
                 c.list_items);
      AddCounter(&fields, ModelLabelList(l, {{"kind", "error"}}), c.errors);
      AddCounter(&fields, ModelLabelList(l, {{"kind", "request_id"}}),
                 c.request_ids);
      AddCounter(&bytes, ModelLabelList(l, {{"kind", "blob"}}), c.blob_bytes);
      AddCounter(&bytes, ModelLabelList(l, {{"kind", "text"}}), c.text_bytes);
      AddHistogram(&latency, ModelLabelList(l), {1, 2}, {c.records, 0, 0},
                   c.latency_sum);
      AddGauge(&time, ModelLabelList(l), c.last_time);
    }
    auto events = NewFamily("ml_test_events_total", "Events by type.",
                            prometheus::MetricType::Counter);
    for (const auto& [key, n] : events_) {
      AddCounter(&events,
                 {{"type", key.first}, {"has_model", key.second ? "1" : "0"}},
                 n);
    }
    auto config = NewFamily("ml_test_config", "The configuration seen.",
                            prometheus::MetricType::Gauge);
    AddGauge(&config,
             {{"label", label_},
              {"include", include_},
              {"exclude", exclude_},
              {"max_label_values", std::to_string(max_label_values_)},
              {"latency_buckets", std::to_string(latency_buckets_)},
              {"score_edges", std::to_string(score_edges_)}},
             1);
    AppendIfNotEmpty(std::move(records), out);
    AppendIfNotEmpty(std::move(fields), out);
    AppendIfNotEmpty(std::move(bytes), out);
    AppendIfNotEmpty(std::move(latency), out);
    AppendIfNotEmpty(std::move(time), out);
    AppendIfNotEmpty(std::move(events), out);
    out->push_back(std::move(config));
    return Status::Ok();
  }

 private:
  struct Counts {
    uint64_t records = 0, inputs = 0, outputs = 0, list_items = 0, errors = 0,
             blob_bytes = 0, text_bytes = 0, request_ids = 0;
    double latency_sum = 0;
    double last_time = 0;
  };
  CardinalityStats* cardinality_;
  std::string label_, include_, exclude_;
  size_t max_label_values_ = 0, latency_buckets_ = 0, score_edges_ = 0;
  std::mutex mu_;
  std::map<ModelId, Counts> counts_;
  std::map<std::pair<std::string, bool>, uint64_t> events_;
};

}  // namespace

ML_EXPORTER_PLUGIN(
    "test_counter", "0.3.1",
    ML_EXPORTER_PLUGIN_COLLECTOR("test_counter", "Counts everything it sees.",
                                 plugin::Construct<CounterCollector>),
    ML_EXPORTER_PLUGIN_COLLECTOR("test_counter_lambda", "",
                                 [](const CollectorContext& c) {
                                   return std::make_unique<CounterCollector>(c);
                                 }))
