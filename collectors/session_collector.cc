// SessionCollector ("sessions"): what users do within a session after a
// prediction. A quick repeat of substantially the same query is a sign the
// first answer was wrong; a switch from voice to typing is a sign speech
// recognition failed them.
//
//   ml_session_requests_total            records with a session id and text
//   ml_session_repeat_requests_total     of those, quick repeats
//   ml_session_events_total{type}        configured event types in a known
//                                        session (e.g. switch_to_typing)
//   ml_session_unmatched_events_total{type}  same, with no recent prediction
//
// Params: text_field ("query"), repeat_window_seconds (30),
// max_distance (0.3: normalised edit distance of the normalised texts),
// event_types (["switch_to_typing"]), session_ttl_seconds (1800),
// max_sessions (100000).
#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/join_table.h"
#include "core/model_shard.h"
#include "core/per_thread.h"
#include "core/text_similarity.h"
#include "ml_exporter/collector.h"
#include "ml_exporter/collector_params.h"
#include "ml_exporter/metric_builder.h"

namespace ml_exporter {
namespace {

using internal::OwnedCounter;

double NowSeconds() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The last query one model saw in a session.
struct QueryState {
  ModelId model = 0;
  std::string last_text;  // normalised
  double last_time = 0;
};

// A session can pass through several models (pipeline stages, a voice
// activity detector before a recogniser): each keeps its own last query, so
// one model's records never hide another's repeats.
struct SessionState {
  static constexpr size_t kMaxModels = 8;  // the oldest query state goes
  std::vector<QueryState> queries;
  // Where events that name no model are counted: the last model that saw
  // the session's text, or else the last model that saw the session.
  ModelId model = 0;
  bool has_text = false;
};

class SessionCollector : public Collector {
 public:
  struct Cells {
    explicit Cells(size_t types) : events(types), unmatched(types) {}
    OwnedCounter requests;
    OwnedCounter repeats;
    std::vector<OwnedCounter> events;
    std::vector<OwnedCounter> unmatched;
  };

  SessionCollector(CollectorParams& p)
      : text_field_(p.String("text_field", "query")),
        window_(p.Number("repeat_window_seconds", 30, 0, 86400)),
        max_distance_(p.Number("max_distance", 0.3, 0, 1)),
        event_types_(p.StringList("event_types", {"switch_to_typing"})),
        sessions_(static_cast<size_t>(p.Number("max_sessions", 100000, 1, 1e8)),
                  p.Number("session_ttl_seconds", 1800, 1, 86400 * 30)) {}

  void Observe(const Record& record, const ObserveContext& context) override {
    if (record.session_id.empty()) return;
    const FieldValue* text = nullptr;
    for (const Field& f : record.inputs) {
      if (f.name == text_field_ && f.value.kind == FieldValue::Kind::kString) {
        text = &f.value;
      }
    }
    const double time =
        std::isnan(record.time_seconds) ? NowSeconds() : record.time_seconds;
    Cells& cells = shards_.Local().At(context.model_id, event_types_.size());
    if (text == nullptr) {
      // Still a prediction in this session, for the event join.
      sessions_.Upsert(
          record.session_id, time,
          [&](SessionState& s, bool) {
            if (!s.has_text) s.model = context.model_id;
          },
          [](const std::string&, SessionState&) {});
      return;
    }
    cells.requests.Add(1);
    std::string normalized = internal::NormalizeText(text->text);
    bool repeat = false;
    sessions_.Upsert(
        record.session_id, time,
        [&](SessionState& s, bool) {
          s.model = context.model_id;
          s.has_text = true;
          auto q = std::find_if(
              s.queries.begin(), s.queries.end(),
              [&](const QueryState& q) { return q.model == context.model_id; });
          if (q == s.queries.end()) {
            if (s.queries.size() == SessionState::kMaxModels) {
              s.queries.erase(std::min_element(
                  s.queries.begin(), s.queries.end(),
                  [](const QueryState& a, const QueryState& b) {
                    return a.last_time < b.last_time;
                  }));
            }
            s.queries.push_back(
                {context.model_id, std::move(normalized), time});
            return;
          }
          if (!q->last_text.empty() &&
              std::fabs(time - q->last_time) <= window_ &&
              internal::NormalizedEditDistance(q->last_text, normalized) <=
                  max_distance_) {
            repeat = true;
          }
          if (time >= q->last_time) {
            q->last_text = std::move(normalized);
            q->last_time = time;
          }
        },
        [](const std::string&, SessionState&) {});
    if (repeat) cells.repeats.Add(1);
  }

  void ObserveEvent(const Event& event,
                    const ObserveContext& context) override {
    if (event.session_id.empty()) return;
    size_t type = event_types_.size();
    for (size_t i = 0; i < event_types_.size(); ++i) {
      if (event_types_[i] == event.type) type = i;
    }
    if (type == event_types_.size()) return;
    const double time =
        std::isnan(event.time_seconds) ? NowSeconds() : event.time_seconds;
    ModelId model = context.model_id;
    bool matched = false;
    sessions_.Find(event.session_id, time, [&](SessionState* s, double) {
      if (s != nullptr) {
        matched = true;
        if (model == ObserveContext::kNoModel) model = s->model;
      }
      return false;
    });
    if (model == ObserveContext::kNoModel) {
      unmatched_no_model_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    Cells& cells = shards_.Local().At(model, event_types_.size());
    (matched ? cells.events : cells.unmatched)[type].Add(1);
  }

  Status Collect(const ModelTable& models,
                 std::vector<prometheus::MetricFamily>* out) override {
    const size_t n = models.size();
    const size_t t = event_types_.size();
    std::vector<uint64_t> requests(n), repeats(n), events(n * t),
        unmatched(n * t);
    std::vector<bool> seen(n);
    shards_.ForEach([&](internal::ModelShard<Cells>& shard) {
      std::lock_guard<std::mutex> lock(shard.mu);
      for (ModelId m = 0; m < shard.size() && m < n; ++m) {
        const Cells& c = shard.at(m);
        seen[m] = true;
        requests[m] += c.requests.Get();
        repeats[m] += c.repeats.Get();
        for (size_t k = 0; k < t; ++k) {
          events[m * t + k] += c.events[k].Get();
          unmatched[m * t + k] += c.unmatched[k].Get();
        }
      }
    });
    auto f_requests =
        NewFamily("ml_session_requests_total",
                  "Records with a session id and the configured text field.",
                  prometheus::MetricType::Counter);
    auto f_repeats = NewFamily(
        "ml_session_repeat_requests_total",
        "Requests that repeat the session's previous text (normalised edit "
        "distance within the limit) within the repeat window.",
        prometheus::MetricType::Counter);
    auto f_events =
        NewFamily("ml_session_events_total",
                  "Events of the configured types in a session with a recent "
                  "prediction, by type.",
                  prometheus::MetricType::Counter);
    auto f_unmatched =
        NewFamily("ml_session_unmatched_events_total",
                  "Events of the configured types whose session had no recent "
                  "prediction (unknown or expired).",
                  prometheus::MetricType::Counter);
    for (ModelId m = 0; m < n; ++m) {
      if (!seen[m]) continue;
      const ModelLabels& l = models.labels(m);
      AddCounter(&f_requests, ModelLabelList(l), requests[m]);
      AddCounter(&f_repeats, ModelLabelList(l), repeats[m]);
      for (size_t k = 0; k < t; ++k) {
        AddCounter(&f_events, ModelLabelList(l, {{"type", event_types_[k]}}),
                   events[m * t + k]);
        AddCounter(&f_unmatched, ModelLabelList(l, {{"type", event_types_[k]}}),
                   unmatched[m * t + k]);
      }
    }
    AppendIfNotEmpty(std::move(f_requests), out);
    AppendIfNotEmpty(std::move(f_repeats), out);
    AppendIfNotEmpty(std::move(f_events), out);
    AppendIfNotEmpty(std::move(f_unmatched), out);
    auto sessions = NewFamily("ml_exporter_join_table_entries",
                              "Entries held in the collectors' bounded join "
                              "tables (sessions, requests).",
                              prometheus::MetricType::Gauge);
    AddGauge(&sessions, {{"collector", "sessions"}},
             static_cast<double>(sessions_.size()));
    out->push_back(std::move(sessions));
    auto evicted =
        NewFamily("ml_exporter_join_table_evictions_total",
                  "Entries evicted from a full join table before they expired.",
                  prometheus::MetricType::Counter);
    AddCounter(&evicted, {{"collector", "sessions"}},
               static_cast<double>(sessions_.evicted()));
    out->push_back(std::move(evicted));
    auto unattributed = NewFamily(
        "ml_exporter_unattributed_events_total",
        "Events that named no model and matched no known request or session.",
        prometheus::MetricType::Counter);
    AddCounter(&unattributed, {{"collector", "sessions"}},
               static_cast<double>(unmatched_no_model_.load()));
    out->push_back(std::move(unattributed));
    return Status::Ok();
  }

 private:
  const std::string text_field_;
  const double window_;
  const double max_distance_;
  const std::vector<std::string> event_types_;
  internal::JoinTable<SessionState> sessions_;
  internal::PerThread<internal::ModelShard<Cells>> shards_;
  std::atomic<uint64_t> unmatched_no_model_{0};
};

}  // namespace

ML_EXPORTER_REGISTER_COLLECTOR(
    sessions, "sessions",
    "Quick repeated queries and events (e.g. switch_to_typing) within a "
    "session: ml_session_*",
    false, [](const CollectorContext& context) -> std::unique_ptr<Collector> {
      std::unique_ptr<CollectorParams> p;
      Status s = CollectorParams::Parse(
          context.params,
          {"text_field", "repeat_window_seconds", "max_distance", "event_types",
           "session_ttl_seconds", "max_sessions"},
          &p);
      std::unique_ptr<Collector> c;
      if (s.ok()) {
        c = std::make_unique<SessionCollector>(*p);
        s = p->status();
      }
      if (!s.ok()) {
        if (context.error) *context.error = s.message();
        return nullptr;
      }
      if (p->StringList("event_types", {"switch_to_typing"}).size() > 32) {
        if (context.error) *context.error = "at most 32 event_types";
        return nullptr;
      }
      return c;
    });

}  // namespace ml_exporter
