// Sessions, feedback and pipeline collectors: joins across records and
// events, out of order, duplicated, expired and capped.
#include <google/protobuf/struct.pb.h>
#include <gtest/gtest.h>

#include <cmath>

#include "ml_exporter/ingest.h"
#include "ml_exporter/pipeline.h"

namespace ml_exporter {
namespace {

// Value of the one series of `family` with all of `labels`; NaN if none.
double Value(const std::vector<prometheus::MetricFamily>& families,
             const std::string& family,
             const std::map<std::string, std::string>& labels,
             const std::string& histogram_part = "") {
  for (const auto& f : families) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      size_t hit = 0;
      for (const auto& l : m.label) {
        auto it = labels.find(l.name);
        if (it != labels.end() && it->second == l.value) ++hit;
      }
      if (hit != labels.size()) continue;
      if (f.type == prometheus::MetricType::Histogram) {
        return histogram_part == "sum"
                   ? m.histogram.sample_sum
                   : static_cast<double>(m.histogram.sample_count);
      }
      return f.type == prometheus::MetricType::Counter ? m.counter.value
                                                       : m.gauge.value;
    }
  }
  return NAN;
}

std::string Params(const std::string& json_like_yaml_free) {
  // Tiny builder: "key=value;key=[a,b]" with numbers where they parse.
  google::protobuf::Struct s;
  std::string spec = json_like_yaml_free;
  size_t pos = 0;
  while (pos < spec.size()) {
    size_t end = spec.find(';', pos);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(pos, end - pos);
    pos = end + 1;
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    google::protobuf::Value& v = (*s.mutable_fields())[key];
    if (!value.empty() && value[0] == '[') {
      std::string inner = value.substr(1, value.size() - 2);
      size_t p = 0;
      auto* list = v.mutable_list_value();
      while (p <= inner.size() && !inner.empty()) {
        size_t e = inner.find(',', p);
        if (e == std::string::npos) e = inner.size();
        list->add_values()->set_string_value(inner.substr(p, e - p));
        p = e + 1;
      }
    } else {
      char* stop = nullptr;
      const double d = std::strtod(value.c_str(), &stop);
      if (*stop == '\0' && !value.empty()) {
        v.set_number_value(d);
      } else {
        v.set_string_value(value);
      }
    }
  }
  return s.SerializeAsString();
}

std::unique_ptr<Pipeline> Make(const std::string& name,
                               const std::string& params) {
  PipelineOptions o;
  CollectorSpec spec;
  spec.name = name;
  spec.params = Params(params);
  o.default_collectors = std::vector<CollectorSpec>{{"software"}, spec};
  o.max_label_values = 3;
  std::unique_ptr<Pipeline> p;
  Status s = Pipeline::Create(o, &p);
  EXPECT_TRUE(s.ok()) << s.message();
  return p;
}

void Ingest(Pipeline* p, const std::string& ndjson) {
  Ingestor in(p, IngestSource::kLibrary);
  IngestResult r = in.IngestNdjson(ndjson);
  ASSERT_EQ(r.rejected, 0u) << (r.errors.empty() ? "" : r.errors[0].message);
}

std::string Query(const std::string& session, double t, const std::string& q) {
  return R"({"model":"asr","session_id":")" + session + R"(","time":)" +
         std::to_string(t) + R"(,"inputs":{"query":")" + q + "\"}}\n";
}

const std::map<std::string, std::string> kAsr = {{"model", "asr"}};

TEST(SessionCollectorTest, QuickRepeatsOfTheSameQuery) {
  auto p = Make("sessions", "repeat_window_seconds=30;max_distance=0.3");
  Ingest(p.get(), Query("s1", 100, "Weather in Berlin") +
                      Query("s1", 110, "weather in berlin?") +  // repeat
                      Query("s1", 200, "weather in berlin") +   // too late
                      Query("s1", 205, "play some music") +     // different
                      Query("s2", 206, "play some music") +     // other session
                      Query("s1", 204, "play some musik"));     // out of order
  auto f = p->Collect();
  EXPECT_EQ(Value(f, "ml_session_requests_total", kAsr), 6);
  EXPECT_EQ(Value(f, "ml_session_repeat_requests_total", kAsr), 2);
}

TEST(SessionCollectorTest, ModelsSharingASessionKeepTheirOwnRepeats) {
  auto p = Make("sessions", "repeat_window_seconds=30");
  auto record = [](const std::string& model, double t, const std::string& q) {
    return R"({"model":")" + model + R"(","session_id":"s1","time":)" +
           std::to_string(t) +
           (q.empty() ? std::string(R"(,"inputs":{"audio_seconds":2}})")
                      : R"(,"inputs":{"query":")" + q + "\"}}") +
           "\n";
  };
  // A voice activity detector (no text) and two stages that both see the
  // query, interleaved in one session: each stage counts its own repeat.
  Ingest(p.get(), record("vad", 100, "") + record("asr", 101, "lights on") +
                      record("ranker", 101, "lights on") +
                      record("vad", 105, "") + record("asr", 106, "lights on") +
                      record("ranker", 106, "lights on"));
  auto f = p->Collect();
  EXPECT_EQ(Value(f, "ml_session_requests_total", kAsr), 2);
  EXPECT_EQ(Value(f, "ml_session_repeat_requests_total", kAsr), 1);
  EXPECT_EQ(Value(f, "ml_session_repeat_requests_total", {{"model", "ranker"}}),
            1);
  // An event naming no model goes to the last model that saw the text.
  Ingest(
      p.get(),
      R"({"events":[{"type":"switch_to_typing","session_id":"s1","time":107}]})"
      "\n");
  f = p->Collect();
  EXPECT_EQ(Value(f, "ml_session_events_total",
                  {{"model", "ranker"}, {"type", "switch_to_typing"}}),
            1);
}

TEST(SessionCollectorTest, SwitchToTypingEventsJoinBySession) {
  auto p = Make("sessions", "event_types=[switch_to_typing]");
  Ingest(
      p.get(),
      Query("s1", 100, "call mum") +
          R"({"events":[{"type":"switch_to_typing","session_id":"s1","time":105},)"
          R"({"type":"switch_to_typing","session_id":"nope","model":"asr","time":105},)"
          R"({"type":"switch_to_typing","session_id":"s1","time":5000},)"
          R"({"type":"other","session_id":"s1","time":106}]})"
          "\n");
  auto f = p->Collect();
  EXPECT_EQ(Value(f, "ml_session_events_total",
                  {{"model", "asr"}, {"type", "switch_to_typing"}}),
            1);
  // One unknown session (model given), one after the session expired.
  EXPECT_EQ(Value(f, "ml_session_unmatched_events_total",
                  {{"model", "asr"}, {"type", "switch_to_typing"}}),
            1);
  EXPECT_EQ(Value(f, "ml_exporter_unattributed_events_total",
                  {{"collector", "sessions"}}),
            1);
}

TEST(SessionCollectorTest, TableIsBoundedAndEvictionsCounted) {
  auto p = Make("sessions", "max_sessions=16");
  std::string body;
  for (int i = 0; i < 1000; ++i) body += Query("s" + std::to_string(i), i, "q");
  Ingest(p.get(), body);
  auto f = p->Collect();
  EXPECT_LE(
      Value(f, "ml_exporter_join_table_entries", {{"collector", "sessions"}}),
      16);
  EXPECT_GE(Value(f, "ml_exporter_join_table_evictions_total",
                  {{"collector", "sessions"}}),
            984);
}

TEST(SessionCollectorTest, BadParamsAreRejectedWithTheirName) {
  PipelineOptions o;
  o.default_collectors = std::vector<CollectorSpec>{
      {.name = "sessions", .params = Params("windw=3")}};
  std::unique_ptr<Pipeline> p;
  EXPECT_EQ(Pipeline::Create(o, &p).message(),
            "default collectors: collector \"sessions\": unknown parameter "
            "\"windw\"; known parameters: event_types, max_distance, "
            "max_sessions, repeat_window_seconds, session_ttl_seconds, "
            "text_field");
  o.default_collectors = std::vector<CollectorSpec>{
      {.name = "sessions", .params = Params("max_distance=2")}};
  EXPECT_EQ(Pipeline::Create(o, &p).message(),
            "default collectors: collector \"sessions\": parameter "
            "\"max_distance\" is 2, must be between 0 and 1");
}

std::string Prediction(const std::string& id, double t,
                       const std::string& label) {
  return R"({"model":"asr","request_id":")" + id + R"(","time":)" +
         std::to_string(t) + R"(,"outputs":{"label":")" + label + "\"}}\n";
}

std::string Event(const std::string& type, const std::string& id, double t,
                  const std::string& value = "") {
  return R"({"events":[{"type":")" + type + R"(","request_id":")" + id +
         R"(","time":)" + std::to_string(t) +
         (value.empty() ? "" : R"(,"value":)" + value) + "}]}\n";
}

TEST(FeedbackCollectorTest, ClickThroughFromImpressionsAndClicks) {
  auto p = Make("feedback", "join_window_seconds=60");
  std::string body;
  for (int i = 0; i < 10; ++i) {
    body += Prediction("r" + std::to_string(i), 100, "cat");
    body += Event("impression", "r" + std::to_string(i), 101);
  }
  body += Event("click", "r1", 102) + Event("click", "r2", 103) +
          Event("click", "r3", 500) /* expired */ +
          Event("click", "zz", 103) /* unknown, no model */;
  Ingest(p.get(), body);
  auto f = p->Collect();
  EXPECT_EQ(Value(f, "ml_feedback_events_total",
                  {{"model", "asr"}, {"type", "impression"}}),
            10);
  EXPECT_EQ(Value(f, "ml_feedback_events_total",
                  {{"model", "asr"}, {"type", "click"}}),
            2);
  EXPECT_EQ(Value(f, "ml_exporter_unattributed_events_total",
                  {{"collector", "feedback"}}),
            2);
}

TEST(FeedbackCollectorTest, DelayedLabelsAccuracyConfusionAndDuplicates) {
  auto p = Make("feedback", "join_window_seconds=60");
  Ingest(p.get(),
         Event("label", "r0", 99, "\"cat\"") +  // before its prediction
             Prediction("r1", 100, "cat") + Prediction("r2", 100, "dog") +
             Prediction("r3", 100, "cat") + Prediction("r4", 100, "bird") +
             Event("label", "r1", 110, "\"cat\"") +
             Event("label", "r2", 110, "\"cat\"") +
             Event("label", "r2", 111, "\"dog\"") +   // duplicate
             Event("label", "r3", 400, "\"cat\"") +   // expired
             Event("label", "r4", 110, "\"fish\""));  // new class
  auto f = p->Collect();
  EXPECT_EQ(Value(f, "ml_labels_total", kAsr), 3);
  EXPECT_EQ(Value(f, "ml_label_matches_total", kAsr), 1);
  EXPECT_EQ(Value(f, "ml_labels_unmatched_total",
                  {{"model", "asr"}, {"reason", "duplicate"}}),
            1);
  EXPECT_EQ(Value(f, "ml_labels_unmatched_total",
                  {{"model", "asr"}, {"reason", "no_prediction"}}),
            0);
  // r0 and r3 name no model and match nothing in the window.
  EXPECT_EQ(Value(f, "ml_exporter_unattributed_events_total",
                  {{"collector", "feedback"}}),
            2);
  EXPECT_EQ(Value(f, "ml_label_confusion_total",
                  {{"model", "asr"}, {"predicted", "dog"}, {"actual", "cat"}}),
            1);
  EXPECT_EQ(Value(f, "ml_label_confusion_total",
                  {{"model", "asr"}, {"predicted", "cat"}, {"actual", "cat"}}),
            1);
  // max_label_values=3: cat, dog, bird; fish overflows.
  EXPECT_EQ(
      Value(f, "ml_label_confusion_total",
            {{"model", "asr"}, {"predicted", "bird"}, {"actual", "__other__"}}),
      1);
}

TEST(FeedbackCollectorTest, RegressionErrors) {
  auto p = Make("feedback", "output=eta");
  Ingest(p.get(),
         R"({"model":"asr","request_id":"a","time":1,"outputs":{"eta":10}})"
         "\n"
         R"({"model":"asr","request_id":"b","time":1,"outputs":{"eta":4}})"
         "\n" +
             Event("label", "a", 2, "12.5") + Event("label", "b", 2, "4"));
  auto f = p->Collect();
  EXPECT_EQ(Value(f, "ml_label_absolute_error", kAsr), 2);
  EXPECT_DOUBLE_EQ(Value(f, "ml_label_absolute_error", kAsr, "sum"), 2.5);
  EXPECT_DOUBLE_EQ(Value(f, "ml_label_squared_error", kAsr, "sum"), 6.25);
  EXPECT_EQ(Value(f, "ml_label_matches_total", kAsr), 1);
}

std::string Stage(const std::string& stage, const std::string& id, double t,
                  double latency, const std::string& output) {
  return R"({"model":"assistant","stage":")" + stage + R"(","request_id":")" +
         id + R"(","time":)" + std::to_string(t) + R"(,"latency_seconds":)" +
         std::to_string(latency) + R"(,"outputs":{"out":)" + output + "}}\n";
}

TEST(PipelineCollectorTest, ReachLatencyAndFirstEmptyStage) {
  auto p = Make("pipeline", "stages=[vad,asr,ranker];join_window_seconds=10");
  const double now = std::chrono::duration<double>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  Ingest(p.get(),
         // r1: all three stages, out of order; 0.05 + ... ends at now+0.45
         Stage("asr", "r1", now + 0.1, 0.2, "\"hi\"") +
             Stage("vad", "r1", now, 0.05, "[1]") +
             Stage("ranker", "r1", now + 0.4, 0.05, "\"x\"") +
             // r2: empty transcript, never ranked (expires)
             Stage("vad", "r2", now - 100, 0.05, "[1]") +
             Stage("asr", "r2", now - 99.9, 0.2, "\"\"") +
             // r3: vad found nothing; stops there
             Stage("vad", "r3", now - 100, 0.05, "[]"));
  auto f = p->Collect();
  const std::map<std::string, std::string> vad = {{"model", "assistant"},
                                                  {"stage", "vad"}};
  const std::map<std::string, std::string> asr = {{"model", "assistant"},
                                                  {"stage", "asr"}};
  const std::map<std::string, std::string> ranker = {{"model", "assistant"},
                                                     {"stage", "ranker"}};
  EXPECT_EQ(Value(f, "ml_pipeline_requests_total", vad), 3);
  EXPECT_EQ(Value(f, "ml_pipeline_stage_reached_total", vad), 3);
  EXPECT_EQ(Value(f, "ml_pipeline_stage_reached_total", asr), 2);
  EXPECT_EQ(Value(f, "ml_pipeline_stage_reached_total", ranker), 1);
  EXPECT_EQ(Value(f, "ml_pipeline_first_empty_stage_total", vad), 1);
  EXPECT_EQ(Value(f, "ml_pipeline_first_empty_stage_total", asr), 1);
  EXPECT_EQ(Value(f, "ml_pipeline_latency_seconds", vad), 1);
  EXPECT_NEAR(Value(f, "ml_pipeline_latency_seconds", vad, "sum"), 0.45, 1e-3);
}

TEST(PipelineCollectorTest, StagesAreRequired) {
  PipelineOptions o;
  o.default_collectors = std::vector<CollectorSpec>{{"pipeline"}};
  std::unique_ptr<Pipeline> p;
  EXPECT_EQ(Pipeline::Create(o, &p).message(),
            "default collectors: collector \"pipeline\": parameter \"stages\" "
            "is required: the stage names in order");
}

}  // namespace
}  // namespace ml_exporter
