// FeedbackCollector ("feedback"): what happens after a prediction, joined
// to it by request_id within a bounded join window.
//
//   ml_feedback_events_total{type}            impressions, clicks, ... (CTR
//                                             is a ratio of their rates)
//   ml_feedback_unmatched_events_total{type}  of those, with no prediction
//                                             in the window
//   ml_labels_total                           labels joined to a prediction
//   ml_label_matches_total                    ... equal to the prediction
//   ml_label_confusion_total{predicted,actual}  per class pair (capped)
//   ml_label_absolute_error, ml_label_squared_error   numeric predictions
//   ml_labels_unmatched_total{reason}         no_prediction | duplicate
//
// Params: event_types (["impression", "click"]), label_event ("label"),
// output ("label": the output a label is compared with),
// join_window_seconds (3600), max_requests (100000). Error histograms use
// edges 0.01 ... 100.
#include <chrono>
#include <cmath>
#include <cstring>

#include "core/histogram.h"
#include "core/join_table.h"
#include "core/label_value.h"
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

double NowSeconds() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Prediction {
  ModelId model = 0;
  bool labelled = false;
  bool numeric = false;
  double number = 0;
  char text[48] = {0};  // predicted class, cut to fit
  uint8_t text_size = 0;
};

class FeedbackCollector : public Collector {
 public:
  struct Cells {
    Cells(size_t types, size_t error_buckets)
        : events(types),
          unmatched(types),
          abs_error(error_buckets),
          sq_error(error_buckets) {}
    std::vector<OwnedCounter> events;
    std::vector<OwnedCounter> unmatched;
    OwnedCounter labels;
    OwnedCounter matches;
    OwnedCounter no_prediction;
    OwnedCounter duplicate;
    std::deque<OwnedCounter> confusion;  // predicted * stride + actual
    HistogramCells abs_error;
    HistogramCells sq_error;
  };

  FeedbackCollector(CollectorParams& p, const PipelineOptions& options,
                    CardinalityStats* cardinality)
      : event_types_(p.StringList("event_types", {"impression", "click"})),
        label_event_(p.String("label_event", "label")),
        output_(p.String("output", "label")),
        error_edges_(std::vector<double>{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2,
                                         5, 10, 20, 50, 100}),
        classes_(options.max_label_values, options.max_label_length),
        stride_(options.max_label_values + 1),
        cardinality_(cardinality),
        requests_(static_cast<size_t>(p.Number("max_requests", 100000, 1, 1e8)),
                  p.Number("join_window_seconds", 3600, 1, 86400 * 30)) {}

  void Observe(const Record& record, const ObserveContext& context) override {
    if (record.request_id.empty()) return;
    Prediction prediction;
    prediction.model = context.model_id;
    for (const Field& f : record.outputs) {
      if (f.name != output_) continue;
      if (f.value.kind == FieldValue::Kind::kNumber) {
        prediction.numeric = true;
        prediction.number = f.value.number;
      } else if (f.value.kind == FieldValue::Kind::kString ||
                 f.value.kind == FieldValue::Kind::kBool) {
        std::string_view t = f.value.kind == FieldValue::Kind::kBool
                                 ? (f.value.boolean ? "true" : "false")
                                 : f.value.text;
        prediction.text_size =
            static_cast<uint8_t>(std::min(t.size(), sizeof prediction.text));
        std::memcpy(prediction.text, t.data(), prediction.text_size);
      }
    }
    const double time =
        std::isnan(record.time_seconds) ? NowSeconds() : record.time_seconds;
    requests_.Upsert(
        record.request_id, time, [&](Prediction& p, bool) { p = prediction; },
        [](const std::string&, Prediction&) {});
  }

  void ObserveEvent(const Event& event,
                    const ObserveContext& context) override {
    const double time =
        std::isnan(event.time_seconds) ? NowSeconds() : event.time_seconds;
    size_t type = event_types_.size();
    for (size_t i = 0; i < event_types_.size(); ++i) {
      if (event_types_[i] == event.type) type = i;
    }
    const bool is_label = event.type == label_event_;
    if (type == event_types_.size() && !is_label) return;

    ModelId model = context.model_id;
    bool found = false, duplicate = false;
    Prediction prediction;
    if (!event.request_id.empty()) {
      requests_.Find(event.request_id, time, [&](Prediction* p, double) {
        if (p == nullptr) return false;
        found = true;
        if (model == ObserveContext::kNoModel) model = p->model;
        if (is_label) {
          duplicate = p->labelled;
          p->labelled = true;
          prediction = *p;
        }
        return false;
      });
    }
    if (model == ObserveContext::kNoModel) {
      unattributed_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    Cells& c = Local(model);
    if (!is_label) {
      c.events[type].Add(1);  // counted whether or not it matched
      if (!found) c.unmatched[type].Add(1);
      return;
    }
    if (!found) {
      c.no_prediction.Add(1);
      return;
    }
    if (duplicate) {
      c.duplicate.Add(1);
      return;
    }
    c.labels.Add(1);
    const FieldValue& v = event.value;
    if (prediction.numeric && v.kind == FieldValue::Kind::kNumber) {
      const double err = std::fabs(prediction.number - v.number);
      if (std::isfinite(err)) {
        c.abs_error.Observe(error_edges_.BucketOf(err), err);
        c.sq_error.Observe(error_edges_.BucketOf(err * err), err * err);
        if (err == 0) c.matches.Add(1);
      }
      return;
    }
    std::string_view actual;
    if (v.kind == FieldValue::Kind::kString) actual = v.text;
    if (v.kind == FieldValue::Kind::kBool)
      actual = v.boolean ? "true" : "false";
    const std::string_view predicted(prediction.text, prediction.text_size);
    if (actual.substr(0, sizeof prediction.text) == predicted &&
        v.kind != FieldValue::Kind::kNull) {
      c.matches.Add(1);
    }
    const uint32_t p = Class(predicted);
    const uint32_t a = Class(actual);
    const size_t cell = p * stride_ + a;
    if (c.confusion.size() <= cell) {
      std::lock_guard<std::mutex> lock(shards_.Local().mu);
      while (c.confusion.size() <= cell) c.confusion.emplace_back();
    }
    c.confusion[cell].Add(1);
  }

  Status Collect(const ModelTable& models,
                 std::vector<prometheus::MetricFamily>* out) override {
    const size_t n = models.size();
    const size_t t = event_types_.size();
    struct Merged {
      std::vector<uint64_t> events, unmatched, confusion;
      uint64_t labels = 0, matches = 0, no_prediction = 0, duplicate = 0;
      HistogramSnapshot abs_error, sq_error;
      bool seen = false;
    };
    std::vector<Merged> merged(n);
    shards_.ForEach([&](internal::ModelShard<Cells>& shard) {
      std::lock_guard<std::mutex> lock(shard.mu);
      for (ModelId m = 0; m < shard.size() && m < n; ++m) {
        const Cells& c = shard.at(m);
        Merged& g = merged[m];
        g.seen = true;
        g.events.resize(t);
        g.unmatched.resize(t);
        for (size_t k = 0; k < t; ++k) {
          g.events[k] += c.events[k].Get();
          g.unmatched[k] += c.unmatched[k].Get();
        }
        g.labels += c.labels.Get();
        g.matches += c.matches.Get();
        g.no_prediction += c.no_prediction.Get();
        g.duplicate += c.duplicate.Get();
        if (g.confusion.size() < c.confusion.size()) {
          g.confusion.resize(c.confusion.size());
        }
        for (size_t k = 0; k < c.confusion.size(); ++k) {
          g.confusion[k] += c.confusion[k].Get();
        }
        g.abs_error.Add(c.abs_error);
        g.sq_error.Add(c.sq_error);
      }
    });
    const std::vector<std::string> classes = classes_.Names();
    auto f_events = NewFamily("ml_feedback_events_total",
                              "Feedback events (impressions, clicks, ...) by "
                              "type, matched to a prediction or not.",
                              prometheus::MetricType::Counter);
    auto f_unmatched = NewFamily(
        "ml_feedback_unmatched_events_total",
        "Feedback events with no prediction of that request_id in the join "
        "window (unknown or expired).",
        prometheus::MetricType::Counter);
    auto f_labels = NewFamily("ml_labels_total",
                              "Ground-truth labels joined to a prediction.",
                              prometheus::MetricType::Counter);
    auto f_matches = NewFamily(
        "ml_label_matches_total",
        "Labels equal to the prediction (accuracy = matches / labels).",
        prometheus::MetricType::Counter);
    auto f_confusion = NewFamily(
        "ml_label_confusion_total",
        "Labels by predicted and actual class (classes past the limit are "
        "\"__other__\").",
        prometheus::MetricType::Counter);
    auto f_unmatched_labels = NewFamily(
        "ml_labels_unmatched_total",
        "Labels not joined: no_prediction (unknown or expired request) or "
        "duplicate (the request was already labelled).",
        prometheus::MetricType::Counter);
    auto f_abs = NewFamily("ml_label_absolute_error",
                           "Absolute error of numeric predictions against "
                           "their labels.",
                           prometheus::MetricType::Histogram);
    auto f_sq = NewFamily("ml_label_squared_error",
                          "Squared error of numeric predictions against "
                          "their labels.",
                          prometheus::MetricType::Histogram);
    for (ModelId m = 0; m < n; ++m) {
      const Merged& g = merged[m];
      if (!g.seen) continue;
      const ModelLabels& l = models.labels(m);
      for (size_t k = 0; k < t; ++k) {
        AddCounter(&f_events, ModelLabelList(l, {{"type", event_types_[k]}}),
                   g.events[k]);
        AddCounter(&f_unmatched, ModelLabelList(l, {{"type", event_types_[k]}}),
                   g.unmatched[k]);
      }
      AddCounter(&f_labels, ModelLabelList(l), g.labels);
      AddCounter(&f_matches, ModelLabelList(l), g.matches);
      AddCounter(&f_unmatched_labels,
                 ModelLabelList(l, {{"reason", "no_prediction"}}),
                 g.no_prediction);
      AddCounter(&f_unmatched_labels,
                 ModelLabelList(l, {{"reason", "duplicate"}}), g.duplicate);
      for (size_t k = 0; k < g.confusion.size(); ++k) {
        if (g.confusion[k] == 0) continue;
        const size_t p = k / stride_, a = k % stride_;
        if (p >= classes.size() || a >= classes.size()) continue;
        AddCounter(&f_confusion,
                   ModelLabelList(
                       l, {{"predicted", classes[p]}, {"actual", classes[a]}}),
                   g.confusion[k]);
      }
      if (!g.abs_error.counts.empty() &&
          g.abs_error.counts.size() == error_edges_.bucket_count()) {
        uint64_t total = 0;
        for (uint64_t c : g.abs_error.counts) total += c;
        if (total > 0) {
          AddHistogram(&f_abs, ModelLabelList(l), error_edges_.edges(),
                       g.abs_error.counts, g.abs_error.sum);
          AddHistogram(&f_sq, ModelLabelList(l), error_edges_.edges(),
                       g.sq_error.counts, g.sq_error.sum);
        }
      }
    }
    for (auto* f : {&f_events, &f_unmatched, &f_labels, &f_matches,
                    &f_confusion, &f_unmatched_labels, &f_abs, &f_sq}) {
      AppendIfNotEmpty(std::move(*f), out);
    }
    auto entries = NewFamily("ml_exporter_join_table_entries",
                             "Entries held in the collectors' bounded join "
                             "tables (sessions, requests).",
                             prometheus::MetricType::Gauge);
    AddGauge(&entries, {{"collector", "feedback"}},
             static_cast<double>(requests_.size()));
    out->push_back(std::move(entries));
    auto evicted =
        NewFamily("ml_exporter_join_table_evictions_total",
                  "Entries evicted from a full join table before they expired.",
                  prometheus::MetricType::Counter);
    AddCounter(&evicted, {{"collector", "feedback"}},
               static_cast<double>(requests_.evicted()));
    out->push_back(std::move(evicted));
    auto unattributed = NewFamily(
        "ml_exporter_unattributed_events_total",
        "Events that named no model and matched no known request or session.",
        prometheus::MetricType::Counter);
    AddCounter(&unattributed, {{"collector", "feedback"}},
               static_cast<double>(unattributed_.load()));
    out->push_back(std::move(unattributed));
    return Status::Ok();
  }

 private:
  Cells& Local(ModelId model) {
    return shards_.Local().At(model, event_types_.size(),
                              error_edges_.bucket_count());
  }

  uint32_t Class(std::string_view name) {
    const auto r = classes_.Intern(name);
    if (r.overflow) cardinality_->AddOverflow(CardinalityLimit::kLabelValues);
    return r.id;
  }

  const std::vector<std::string> event_types_;
  const std::string label_event_;
  const std::string output_;
  const BucketEdges error_edges_;
  internal::CappedInterner classes_;
  const size_t stride_;
  CardinalityStats* const cardinality_;
  internal::JoinTable<Prediction> requests_;
  internal::PerThread<internal::ModelShard<Cells>> shards_;
  std::atomic<uint64_t> unattributed_{0};
};

}  // namespace

ML_EXPORTER_REGISTER_COLLECTOR(
    feedback, "feedback",
    "Impressions, clicks and delayed labels joined to predictions by "
    "request_id: ml_feedback_*, ml_label*",
    false, [](const CollectorContext& context) -> std::unique_ptr<Collector> {
      std::unique_ptr<CollectorParams> p;
      Status s = CollectorParams::Parse(context.params,
                                        {"event_types", "label_event", "output",
                                         "join_window_seconds", "max_requests"},
                                        &p);
      std::unique_ptr<Collector> c;
      if (s.ok()) {
        if (p->StringList("event_types", {}).size() > 32) {
          s = Status::InvalidArgument("at most 32 event_types");
        } else {
          c = std::make_unique<FeedbackCollector>(*p, *context.options,
                                                  context.cardinality);
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
