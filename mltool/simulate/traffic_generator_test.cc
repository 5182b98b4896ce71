// The simulated stream: deterministic for a seed, valid for the exporter's
// decoder, and changed by each fault as mltool simulate --help says.
#include "mltool/simulate/traffic_generator.h"

#include <gtest/gtest.h>
#include <prometheus/metric_family.h>
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "exporter/config_reloader.h"
#include "ml_exporter/ingest.h"
#include "ml_exporter/pipeline.h"

namespace ml_exporter::simulate {
namespace {

constexpr double kStart = 1.8e9;

double Now() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<Emission> Generate(TrafficOptions options, uint64_t requests) {
  std::unique_ptr<TrafficGenerator> g;
  const Status s = TrafficGenerator::Create(options, &g);
  EXPECT_TRUE(s.ok()) << s.message();
  std::vector<Emission> out;
  if (!s.ok()) return out;
  while (g->requests() < requests) g->Next(&out);
  g->Flush(&out);
  return out;
}

TrafficOptions Options(std::vector<std::string> scenarios,
                       std::vector<std::string> faults = {},
                       uint64_t seed = 7) {
  TrafficOptions o;
  o.scenarios = std::move(scenarios);
  o.rate = 50;
  o.seed = seed;
  o.start_unix_time = kStart;
  for (const std::string& spec : faults) {
    Fault f;
    const Status s = ParseFault(spec, &f);
    EXPECT_TRUE(s.ok()) << s.message();
    o.faults.push_back(f);
  }
  return o;
}

std::string Body(const std::vector<Emission>& lines) {
  std::string body;
  for (const Emission& e : lines) body += e.line + "\n";
  return body;
}

// A pipeline configured as examples/configs/demo.yaml.
std::unique_ptr<Pipeline> DemoPipeline() {
  config::LoadedConfig loaded;
  const Status s = config::LoadConfigFile(
      DEMO_CONFIG, PipelineOptions{},
      internal::KnownCollectorNames(config::PluginPathsIn(DEMO_CONFIG)),
      &loaded);
  EXPECT_TRUE(s.ok()) << s.message();
  std::unique_ptr<Pipeline> pipeline;
  const Status c = Pipeline::Create(loaded.options, &pipeline);
  EXPECT_TRUE(c.ok()) << c.message();
  return pipeline;
}

using Labels = std::map<std::string, std::string>;

bool Matches(const prometheus::ClientMetric& m, const Labels& want) {
  size_t found = 0;
  for (const auto& l : m.label) {
    auto it = want.find(l.name);
    if (it != want.end()) {
      if (it->second != l.value) return false;
      ++found;
    }
  }
  return found == want.size();
}

// Sum over the series of `family` that carry `labels`: counter and gauge
// values, or histogram sums when `histogram_sum`, histogram counts else.
double Sum(const std::vector<prometheus::MetricFamily>& families,
           const std::string& family, const Labels& labels,
           bool histogram_sum = false) {
  double total = 0;
  for (const auto& f : families) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      if (!Matches(m, labels)) continue;
      switch (f.type) {
        case prometheus::MetricType::Counter:
          total += m.counter.value;
          break;
        case prometheus::MetricType::Gauge:
          total += m.gauge.value;
          break;
        case prometheus::MetricType::Histogram:
          total += histogram_sum
                       ? m.histogram.sample_sum
                       : static_cast<double>(m.histogram.sample_count);
          break;
        default:
          break;
      }
    }
  }
  return total;
}

double Mean(const std::vector<prometheus::MetricFamily>& families,
            const std::string& histogram, const Labels& labels) {
  const double n = Sum(families, histogram, labels);
  return n > 0 ? Sum(families, histogram, labels, true) / n : NAN;
}

// The metrics of demo.yaml's pipeline after ingesting `lines` as the HTTP
// endpoint does; fails the test on any rejection.
std::vector<prometheus::MetricFamily> Ingest(
    const std::vector<Emission>& lines) {
  std::unique_ptr<Pipeline> pipeline = DemoPipeline();
  if (pipeline == nullptr) return {};
  Ingestor ingestor(pipeline.get(), IngestSource::kHttp);
  const IngestResult r = ingestor.IngestNdjson(Body(lines));
  EXPECT_TRUE(r.body_status.ok()) << r.body_status.message();
  EXPECT_EQ(r.rejected, 0u) << (r.errors.empty() ? "" : r.errors[0].message);
  EXPECT_GE(r.accepted, lines.size());
  return pipeline->Collect();
}

TEST(TrafficGeneratorTest, RejectsBadOptions) {
  std::unique_ptr<TrafficGenerator> g;
  Status s = TrafficGenerator::Create(Options({"speech"}), &g);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("unknown scenario \"speech\""), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("speech_recognizer"), std::string::npos);

  TrafficOptions o = Options({"web_search"});
  o.rate = 0;
  EXPECT_FALSE(TrafficGenerator::Create(o, &g).ok());
  o = Options({"web_search"});
  o.invalid_fraction = 1.5;
  EXPECT_FALSE(TrafficGenerator::Create(o, &g).ok());

  s = TrafficGenerator::Create(
      Options({"structured_data"}, {"darker_images@10"}), &g);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("darker_images changes none"), std::string::npos)
      << s.message();
  EXPECT_TRUE(
      TrafficGenerator::Create(Options({"structured_data", "visual_inspection"},
                                       {"darker_images@10"}),
                               &g)
          .ok());
}

TEST(TrafficGeneratorTest, SameSeedSameLinesOtherSeedOtherLines) {
  const auto a = Generate(Options(ScenarioNames(), {"shift@2+2"}, 11), 400);
  const auto b = Generate(Options(ScenarioNames(), {"shift@2+2"}, 11), 400);
  const auto c = Generate(Options(ScenarioNames(), {"shift@2+2"}, 12), 400);
  ASSERT_GT(a.size(), 400u);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].line, b[i].line) << "line " << i;
    ASSERT_EQ(a[i].route, b[i].route);
    ASSERT_EQ(a[i].time_seconds, b[i].time_seconds);
  }
  EXPECT_NE(Body(a), Body(c));
}

TEST(TrafficGeneratorTest, RateSetsTheSimulatedClockAndLinesAreInOrder) {
  TrafficOptions o = Options(ScenarioNames());
  o.rate = 20;
  const auto lines = Generate(o, 200);  // 10 simulated seconds
  double last = 0;
  simdjson::dom::parser parser;
  for (const Emission& e : lines) {
    EXPECT_GE(e.time_seconds, last);
    last = e.time_seconds;
    EXPECT_FALSE(e.route.empty());
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(e.line).get(doc), simdjson::SUCCESS) << e.line;
    double time = 0;
    if (doc["time"].get(time) == simdjson::SUCCESS) {
      EXPECT_NEAR(time, kStart + e.time_seconds, 1e-3) << e.line;
    }
  }
  EXPECT_GE(last, 9.9);
  EXPECT_LT(last, 10 + 20.0 + 1e-9);  // late labels come at most 20 s later
}

// Every scenario's lines pass the exporter's decoder and reach the
// collectors of demo.yaml, media blobs included.
TEST(TrafficGeneratorTest, EveryScenarioIsAcceptedByTheExporter) {
  for (const std::string& name : ScenarioNames()) {
    SCOPED_TRACE(name);
    TrafficOptions o = Options({name});
    o.start_unix_time = Now();
    const auto lines = Generate(o, 300);
    const auto families = Ingest(lines);
    EXPECT_GE(Sum(families, "ml_records_total", {}), 300 * 0.9) << name;
    EXPECT_EQ(Sum(families, "ml_blob_decode_errors_total", {}), 0);
  }
  TrafficOptions o = Options({"speech_recognizer", "visual_inspection"});
  o.start_unix_time = Now();
  const auto families = Ingest(Generate(o, 400));
  // WAV and PNG blobs decoded and measured.
  EXPECT_GT(Sum(families, "ml_audio_duration_seconds", {{"model", "asr"}}), 10);
  EXPECT_GT(Sum(families, "ml_image_brightness_ratio", {{"model", "vision"}}),
            50);
  EXPECT_NEAR(
      Mean(families, "ml_image_brightness_ratio", {{"model", "vision"}}), 0.55,
      0.05);
  // Pipeline stages, sessions and feedback joined.
  EXPECT_GT(Sum(families, "ml_pipeline_requests_total", {{"model", "asr"}}),
            100);
  EXPECT_GT(Sum(families, "ml_session_requests_total", {{"model", "asr"}}),
            100);
  EXPECT_GT(Sum(families, "ml_feedback_events_total",
                {{"model", "asr"}, {"type", "click"}}),
            5);
  EXPECT_GT(Sum(families, "ml_labels_total", {{"model", "vision"}}), 50);
}

TEST(TrafficGeneratorTest, InvalidFractionMakesTheClientBugsAnExporterSees) {
  TrafficOptions o = Options(ScenarioNames());
  o.invalid_fraction = 0.05;
  o.start_unix_time = Now();
  const auto lines = Generate(o, 4000);
  std::unique_ptr<Pipeline> pipeline = DemoPipeline();
  ASSERT_NE(pipeline, nullptr);
  Ingestor ingestor(pipeline.get(), IngestSource::kHttp);
  const IngestResult r = ingestor.IngestNdjson(Body(lines));
  // A fifth of the bugs are records without a model: 4000 * 0.05 / 5.
  EXPECT_GT(r.rejected, 20u);
  EXPECT_LT(r.rejected, 70u);
  for (const IngestError& e : r.errors) {
    EXPECT_EQ(e.reason, RejectReason::kMissingField) << e.message;
  }
  const auto families = pipeline->Collect();
  EXPECT_GT(Sum(families, "ml_blob_decode_errors_total", {{"media", "audio"}}),
            0);
  EXPECT_GT(Sum(families, "ml_blob_decode_errors_total", {{"media", "image"}}),
            0);
  EXPECT_GT(Sum(families, "ml_labels_unmatched_total", {{"model", "vision"}}),
            0);
  EXPECT_GT(Sum(families, "ml_feedback_unmatched_events_total",
                {{"model", "asr"}, {"type", "click"}}),
            0);
  EXPECT_GT(
      Sum(families, "ml_session_unmatched_events_total", {{"model", "asr"}}),
      0);
  EXPECT_GT(Sum(families, "ml_exporter_unattributed_events_total", {}), 0);
}

// --- faults -----------------------------------------------------------------

// Per (model, stage): values of an input or output inside and outside
// the fault window [from, to) of simulated time.
struct Split {
  double in_count = 0, in_hits = 0, in_sum = 0;
  double out_count = 0, out_hits = 0, out_sum = 0;
  double in_ratio() const { return in_hits / in_count; }
  double out_ratio() const { return out_hits / out_count; }
  double in_mean() const { return in_sum / in_count; }
  double out_mean() const { return out_sum / out_count; }
};

// `hit` says whether a record counts as hit and `value` gives its number.
template <typename Hit, typename Value>
Split SplitRecords(const std::vector<Emission>& lines, std::string_view model,
                   std::string_view stage, double from, double to, Hit hit,
                   Value value) {
  Split s;
  simdjson::dom::parser parser;
  for (const Emission& e : lines) {
    simdjson::dom::element doc;
    if (parser.parse(e.line).get(doc) != simdjson::SUCCESS) {
      ADD_FAILURE() << e.line;
      continue;
    }
    std::string_view m, st;
    if (doc["model"].get(m) != simdjson::SUCCESS || m != model) continue;
    if (doc["stage"].get(st) != simdjson::SUCCESS || st != stage) continue;
    const bool in = e.time_seconds >= from && e.time_seconds < to;
    const bool h = hit(doc);
    const double v = value(doc);
    (in ? s.in_count : s.out_count) += 1;
    (in ? s.in_hits : s.out_hits) += h;
    (in ? s.in_sum : s.out_sum) += v;
  }
  return s;
}

auto IsNull(const char* section, const char* field) {
  return [=](simdjson::dom::element doc) {
    simdjson::dom::element v;
    return doc[section][field].get(v) == simdjson::SUCCESS && v.is_null();
  };
}
auto NumberOf(const char* section, const char* field) {
  return [=](simdjson::dom::element doc) {
    double v = 0;
    return doc[section][field].get(v) == simdjson::SUCCESS ? v : 0.0;
  };
}
auto Latency() {
  return [](simdjson::dom::element doc) {
    double v = 0;
    return doc["latency_seconds"].get(v) == simdjson::SUCCESS ? v : 0.0;
  };
}
auto Never() {
  return [](simdjson::dom::element) { return false; };
}
auto Zero() {
  return [](simdjson::dom::element) { return 0.0; };
}

// Lines before a fault starts are the lines of the same seed without it.
TEST(FaultTest, NothingChangesBeforeTheFaultStarts) {
  for (FaultKind kind : AllFaultKinds()) {
    const std::string spec = std::string(FaultName(kind)) + "@10+10";
    const auto with = Generate(Options(ScenarioNames(), {spec}), 1500);
    const auto without = Generate(Options(ScenarioNames()), 1500);
    size_t same = 0;
    while (same < with.size() && same < without.size() &&
           with[same].line == without[same].line) {
      ++same;
    }
    ASSERT_LT(same, with.size()) << spec << " changed nothing";
    EXPECT_GE(with[same].time_seconds, 10) << spec;
  }
}

// Faults run from 20 s to 40 s of a 60 s stream at 50 requests/s.
constexpr double kFrom = 20, kTo = 40;
constexpr uint64_t kRequests = 3000;

std::vector<Emission> WithFault(const std::string& kind) {
  return Generate(Options(ScenarioNames(), {kind + "@20+20"}), kRequests);
}

TEST(FaultTest, EmptyFeature) {
  const auto lines = WithFault("empty_feature");
  const Split age = SplitRecords(lines, "churn", "main", kFrom, kTo,
                                 IsNull("inputs", "age"), Zero());
  EXPECT_GT(age.in_ratio(), 0.8);
  EXPECT_LT(age.out_ratio(), 0.15);
  EXPECT_GT(age.out_ratio(), 0.02);  // the normal missing values
  const Split audio = SplitRecords(lines, "asr", "decoder", kFrom, kTo,
                                   IsNull("inputs", "audio_seconds"), Zero());
  EXPECT_GT(audio.in_ratio(), 0.8);
  EXPECT_EQ(audio.out_hits, 0);
  const Split camera = SplitRecords(lines, "vision", "classifier", kFrom, kTo,
                                    IsNull("inputs", "camera"), Zero());
  EXPECT_GT(camera.in_ratio(), 0.8);
  EXPECT_EQ(camera.out_hits, 0);
}

TEST(FaultTest, NullOutputs) {
  const auto lines = WithFault("null_outputs");
  auto empty_transcript = [](simdjson::dom::element doc) {
    std::string_view t;
    return doc["outputs"]["transcript"].get(t) == simdjson::SUCCESS &&
           t.empty();
  };
  const Split asr = SplitRecords(lines, "asr", "decoder", kFrom, kTo,
                                 empty_transcript, Zero());
  EXPECT_GT(asr.in_ratio(), 0.45);
  EXPECT_LT(asr.out_ratio(), 0.1);
  const Split churn = SplitRecords(lines, "churn", "main", kFrom, kTo,
                                   IsNull("outputs", "score"), Zero());
  EXPECT_GT(churn.in_ratio(), 0.45);
  EXPECT_EQ(churn.out_hits, 0);
}

TEST(FaultTest, Latency) {
  const auto lines = WithFault("latency");
  for (auto [model, stage] : {std::pair{"asr", "decoder"},
                              {"vision", "classifier"},
                              {"churn", "main"},
                              {"search", "ranker"},
                              {"assistant", "ranker"}}) {
    const Split s =
        SplitRecords(lines, model, stage, kFrom, kTo, Never(), Latency());
    EXPECT_GT(s.in_mean(), 5 * s.out_mean()) << model;
    EXPECT_GT(s.in_mean(), 0.3) << model;
  }
}

TEST(FaultTest, QuieterAudioAndDarkerImagesAsTheExporterMeasuresThem) {
  // The whole stream with the fault against the same stream without.
  auto whole = [](const std::string& kind, const std::string& scenario) {
    TrafficOptions o = Options({scenario}, {kind + "@0"});
    o.start_unix_time = Now();
    return Ingest(Generate(o, 600));
  };
  TrafficOptions plain_asr = Options({"speech_recognizer"});
  plain_asr.start_unix_time = Now();
  const auto normal_asr = Ingest(Generate(plain_asr, 600));
  const auto quiet_asr = whole("quieter_audio", "speech_recognizer");
  const Labels asr = {{"model", "asr"}};
  EXPECT_LT(Mean(quiet_asr, "ml_audio_rms_dbfs", asr),
            Mean(normal_asr, "ml_audio_rms_dbfs", asr) - 15);
  const Labels snr = {{"model", "asr"}, {"feature", "snr_db"}};
  EXPECT_LT(Mean(quiet_asr, "ml_feature_value", snr),
            Mean(normal_asr, "ml_feature_value", snr) - 8);

  TrafficOptions plain_vision = Options({"visual_inspection"});
  plain_vision.start_unix_time = Now();
  const auto normal_vision = Ingest(Generate(plain_vision, 600));
  const auto dark_vision = whole("darker_images", "visual_inspection");
  const Labels vision = {{"model", "vision"}};
  const double ratio = Mean(dark_vision, "ml_image_brightness_ratio", vision) /
                       Mean(normal_vision, "ml_image_brightness_ratio", vision);
  EXPECT_GT(ratio, 0.4);
  EXPECT_LT(ratio, 0.6);
}

TEST(FaultTest, RepeatQueriesAsTheSessionsCollectorCountsThem) {
  TrafficOptions normal = Options({"speech_recognizer"});
  normal.start_unix_time = Now();
  TrafficOptions repeats = Options({"speech_recognizer"}, {"repeat_queries@0"});
  repeats.start_unix_time = Now();
  const Labels asr = {{"model", "asr"}};
  auto ratio = [&](const std::vector<prometheus::MetricFamily>& f) {
    return Sum(f, "ml_session_repeat_requests_total", asr) /
           Sum(f, "ml_session_requests_total", asr);
  };
  const double before = ratio(Ingest(Generate(normal, 1000)));
  const double during = ratio(Ingest(Generate(repeats, 1000)));
  EXPECT_LT(before, 0.2);  // demo.yaml alerts above 0.2
  EXPECT_GT(during, 0.4);
}

TEST(FaultTest, Shift) {
  const auto lines = WithFault("shift");
  auto country_cn = [](simdjson::dom::element doc) {
    std::string_view c;
    return doc["inputs"]["country"].get(c) == simdjson::SUCCESS && c == "CN";
  };
  const Split cn = SplitRecords(lines, "churn", "main", kFrom, kTo, country_cn,
                                NumberOf("inputs", "age"));
  EXPECT_GT(cn.in_ratio(), 0.1);  // a country the normal stream never has
  EXPECT_EQ(cn.out_hits, 0);
  EXPECT_GT(cn.in_mean(), cn.out_mean() + 8);  // older customers
  auto query_words = [](simdjson::dom::element doc) {
    std::string_view q;
    if (doc["inputs"]["query"].get(q) != simdjson::SUCCESS) return 0.0;
    double words = 1;
    for (char c : q) words += c == ' ';
    return words;
  };
  const Split search =
      SplitRecords(lines, "search", "ranker", kFrom, kTo, Never(), query_words);
  EXPECT_GT(search.in_mean(), search.out_mean() + 2);
}

}  // namespace
}  // namespace ml_exporter::simulate
