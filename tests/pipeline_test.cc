#include "ml_exporter/pipeline.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/build_info.h"
#include "ml_exporter/ingest.h"
#include "ml_exporter/metric_builder.h"
#include "ml_exporter/model_table.h"
#include "ml_exporter/record_builder.h"
#include "tests/metric_test_util.h"

namespace ml_exporter {
namespace {

using testing::CounterValue;
using testing::CountFamilies;
using testing::Families;
using testing::FindFamily;
using testing::GaugeValue;
using testing::Labels;
using testing::ModelSeries;
using testing::SeriesLabels;

// A plugin whose scrape fails after exporting one family.
class FailingCollector : public Collector {
 public:
  void Observe(const Record&, const ObserveContext&) override {}
  Status Collect(const ModelTable&,
                 std::vector<prometheus::MetricFamily>* out) override {
    auto family = NewFamily("ml_test_partial", "Exported before failing.",
                            prometheus::MetricType::Gauge);
    AddGauge(&family, {}, 7);
    out->push_back(std::move(family));
    return Status::Internal("scrape failed");
  }
};

ML_EXPORTER_REGISTER_COLLECTOR(test_failing, "test_failing",
                               "Test only: fails every scrape.", false,
                               [](const CollectorContext&) {
                                 return std::make_unique<FailingCollector>();
                               });

// Every registered name, sorted and comma-separated: the built-in
// collectors, plus the test_capture plugin of ingest_test.cc and test_failing
// above (both off by default).
std::string KnownCollectors() {
  std::string known;
  for (const auto* e : CollectorRegistry::Global().Entries()) {
    known += (known.empty() ? "" : ", ") + e->name;
  }
  return known;
}

Status Create(const PipelineOptions& options,
              std::unique_ptr<Pipeline>* pipeline) {
  return Pipeline::Create(options, pipeline);
}

std::unique_ptr<Pipeline> MakePipeline(const PipelineOptions& options = {}) {
  std::unique_ptr<Pipeline> pipeline;
  Status s = Pipeline::Create(options, &pipeline);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return pipeline;
}

std::set<std::string> FamilyNames(const Families& families) {
  std::set<std::string> names;
  for (const auto& f : families) names.insert(f.name);
  return names;
}

// --- Create
// ---------------------------------------------------------------------

TEST(PipelineCreateTest, RejectsOutOfRangeOptions) {
  struct Case {
    std::function<void(PipelineOptions*)> change;
    std::string message;
  };
  const std::string at_least_one =
      "max_models, max_features, max_outputs and max_label_values must be at "
      "least 1";
  const std::vector<Case> cases = {
      {[](PipelineOptions* o) { o->max_models = 0; }, at_least_one},
      {[](PipelineOptions* o) { o->max_features = 0; }, at_least_one},
      {[](PipelineOptions* o) { o->max_outputs = 0; }, at_least_one},
      {[](PipelineOptions* o) { o->max_label_values = 0; }, at_least_one},
      {[](PipelineOptions* o) { o->max_label_length = 7; },
       "max_label_length must be at least 8"},
      {[](PipelineOptions* o) { o->max_label_length = 0; },
       "max_label_length must be at least 8"},
      {[](PipelineOptions* o) { o->histogram_quantile_buckets = 0; },
       "histogram_quantile_buckets must be between 1 and 100"},
      {[](PipelineOptions* o) { o->histogram_quantile_buckets = 101; },
       "histogram_quantile_buckets must be between 1 and 100"},
      {[](PipelineOptions* o) { o->histogram_warmup_seconds = -1; },
       "histogram_warmup_seconds must be a number >= 0"},
      {[](PipelineOptions* o) { o->histogram_warmup_seconds = NAN; },
       "histogram_warmup_seconds must be a number >= 0"},
      {[](PipelineOptions* o) {
         o->max_models = std::numeric_limits<size_t>::max();
       },
       "max_models must be at most 1000000"},
      {[](PipelineOptions* o) { o->max_models = 1000001; },
       "max_models must be at most 1000000"},
      {[](PipelineOptions* o) { o->histogram_warmup_values = 0; },
       "histogram_warmup_values must be at least 1"},
      {[](PipelineOptions* o) {
         o->collectors = {"software", "nope"};
       },
       std::string("default collectors: unknown collector \"nope\"; known "
                   "collectors: ") +
           KnownCollectors()},
      {[](PipelineOptions* o) { o->collectors = {""}; },
       std::string("default collectors: unknown collector \"\"; known "
                   "collectors: ") +
           KnownCollectors()},
      {[](PipelineOptions* o) {
         o->collectors = {"software", "inputs", "software"};
       },
       "default collectors: collector \"software\" is listed twice"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    PipelineOptions options;
    cases[i].change(&options);
    std::unique_ptr<Pipeline> pipeline;
    const Status s = Create(options, &pipeline);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << "case " << i;
    EXPECT_EQ(s.message(), cases[i].message) << "case " << i;
    EXPECT_EQ(pipeline, nullptr) << "case " << i;
  }
}

TEST(PipelineCreateTest, AcceptsBoundaryOptions) {
  std::vector<std::function<void(PipelineOptions*)>> changes = {
      [](PipelineOptions* o) {
        o->max_models = o->max_features = o->max_outputs = o->max_label_values =
            1;
      },
      [](PipelineOptions* o) { o->max_label_length = 8; },
      [](PipelineOptions* o) { o->histogram_quantile_buckets = 1; },
      [](PipelineOptions* o) { o->histogram_quantile_buckets = 100; },
      [](PipelineOptions* o) { o->histogram_warmup_seconds = 0; },
      [](PipelineOptions* o) { o->histogram_warmup_seconds = INFINITY; },
      [](PipelineOptions* o) { o->histogram_warmup_values = 1; },
      [](PipelineOptions* o) { o->max_models = 1000000; },
      [](PipelineOptions* o) { o->latency_buckets.clear(); },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    PipelineOptions options;
    changes[i](&options);
    std::unique_ptr<Pipeline> pipeline;
    const Status s = Create(options, &pipeline);
    EXPECT_TRUE(s.ok()) << "case " << i << ": " << s.ToString();
    EXPECT_NE(pipeline, nullptr) << "case " << i;
  }
}

TEST(PipelineCreateTest, StatusToString) {
  std::unique_ptr<Pipeline> pipeline;
  PipelineOptions options;
  options.max_label_length = 1;
  EXPECT_EQ(Create(options, &pipeline).ToString(),
            "invalid argument: max_label_length must be at least 8");
  EXPECT_EQ(Status::Ok().ToString(), "OK");
}

TEST(PipelineCreateTest, DefaultCollectorsAreTheEnabledBuiltIns) {
  auto pipeline = MakePipeline();
  std::vector<std::string> enabled;
  for (const auto* e : CollectorRegistry::Global().Entries()) {
    if (e->enabled_by_default) enabled.push_back(e->name);
  }
  EXPECT_EQ(pipeline->collector_names(), enabled);
  for (const char* core : {"inputs", "outputs", "software"}) {
    EXPECT_NE(std::find(enabled.begin(), enabled.end(), core), enabled.end())
        << core;
  }
  // The registry lists more, but those are off by default.
  EXPECT_GT(CollectorRegistry::Global().Entries().size(), enabled.size());
}

TEST(PipelineCreateTest, SubsetOfCollectorsInGivenOrder) {
  PipelineOptions options;
  options.collectors = {"software"};
  auto pipeline = MakePipeline(options);
  EXPECT_EQ(pipeline->collector_names(), std::vector<std::string>{"software"});
  RecordBuilder b;
  b.Model("m").Input("a", "x").Output("o", "y").Latency(0.1);
  ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  Families f = pipeline->Collect();
  EXPECT_EQ(CounterValue(f, "ml_records_total", ModelSeries("m")), 1);
  for (const std::string& name : FamilyNames(f)) {
    EXPECT_FALSE(name.starts_with("ml_feature_")) << name;
    EXPECT_FALSE(name.starts_with("ml_output_")) << name;
  }
  EXPECT_EQ(SeriesLabels(f, "ml_exporter_collector_success"),
            (std::vector<Labels>{{{"collector", "software"}}}));

  options.collectors = {"outputs", "inputs"};
  pipeline = MakePipeline(options);
  EXPECT_EQ(pipeline->collector_names(),
            (std::vector<std::string>{"outputs", "inputs"}));
  ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  f = pipeline->Collect();
  EXPECT_EQ(FindFamily(f, "ml_records_total"), nullptr);
  EXPECT_EQ(CounterValue(f, "ml_feature_observations_total",
                         ModelSeries("m", {{"feature", "a"}})),
            1);
  EXPECT_EQ(CounterValue(f, "ml_output_observations_total",
                         ModelSeries("m", {{"output", "o"}})),
            1);
  std::vector<Labels> durations =
      SeriesLabels(f, "ml_exporter_collector_duration_seconds");
  std::sort(durations.begin(), durations.end());
  EXPECT_EQ(durations, (std::vector<Labels>{{{"collector", "inputs"}},
                                            {{"collector", "outputs"}}}));
}

// --- registry
// -------------------------------------------------------------------

TEST(CollectorRegistryTest, FindsRegisteredCollectors) {
  CollectorRegistry& registry = CollectorRegistry::Global();
  std::vector<std::string> names;
  for (const auto* e : registry.Entries()) {
    names.push_back(e->name);
    EXPECT_FALSE(e->description.empty()) << e->name;
    EXPECT_TRUE(e->factory) << e->name;
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  for (const char* name :
       {"inputs", "outputs", "software", "test_capture", "test_failing"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  EXPECT_NE(KnownCollectors().find("inputs, outputs, "), std::string::npos)
      << KnownCollectors();
  ASSERT_NE(registry.Find("software"), nullptr);
  EXPECT_TRUE(registry.Find("software")->enabled_by_default);
  EXPECT_FALSE(registry.Find("test_failing")->enabled_by_default);
  EXPECT_EQ(registry.Find("nope"), nullptr);
  // A taken name is refused and changes nothing.
  EXPECT_FALSE(registry.Register({"software", "duplicate", false, nullptr}));
  EXPECT_EQ(registry.Find("software")->description,
            "ml_records_total, ml_prediction_errors_total, ml_latency_seconds");
}

TEST(CollectorRegistryTest, FailingCollectorIsVisible) {
  PipelineOptions options;
  options.collectors = {"software", "test_failing"};
  auto pipeline = MakePipeline(options);
  const Families f = pipeline->Collect();
  EXPECT_EQ(GaugeValue(f, "ml_exporter_collector_success",
                       {{"collector", "software"}}),
            1);
  EXPECT_EQ(GaugeValue(f, "ml_exporter_collector_success",
                       {{"collector", "test_failing"}}),
            0);
  // What it appended before failing is still served.
  EXPECT_EQ(GaugeValue(f, "ml_test_partial", {}), 7);
}

// --- self-metrics
// ---------------------------------------------------------------

TEST(PipelineSelfMetricsTest, FamiliesAndSeries) {
  auto pipeline = MakePipeline();
  Ingestor http(pipeline.get(), IngestSource::kHttp);
  ASSERT_EQ(http.IngestJson(R"([{"model":"a"},{"model":"b"},{}])").accepted,
            2u);
  Ingestor file(pipeline.get(), IngestSource::kFile);
  ASSERT_EQ(file.IngestNdjson("{\"model\":\"a\"}\n{\"events\":[{\"type\":"
                              "\"x\"}]}\nnot json\n")
                .accepted,
            2u);
  const Families f = pipeline->Collect();

  const std::vector<std::string> sources = {"http", "file", "stdin", "library"};
  const std::vector<std::string> reasons = {
      "invalid_json", "invalid_protobuf",  "not_an_object", "missing_field",
      "wrong_type",   "unsupported_value", "invalid_value", "too_large"};
  std::vector<Labels> want_sources, want_rejected;
  for (const auto& s : sources) {
    want_sources.push_back({{"source", s}});
    for (const auto& r : reasons)
      want_rejected.push_back({{"source", s}, {"reason", r}});
  }
  EXPECT_EQ(SeriesLabels(f, "ml_exporter_ingested_records_total"),
            want_sources);
  EXPECT_EQ(SeriesLabels(f, "ml_exporter_ingested_events_total"), want_sources);
  EXPECT_EQ(SeriesLabels(f, "ml_exporter_rejected_records_total"),
            want_rejected);
  EXPECT_EQ(CounterValue(f, "ml_exporter_ingested_records_total",
                         {{"source", "http"}}),
            2);
  EXPECT_EQ(CounterValue(f, "ml_exporter_ingested_records_total",
                         {{"source", "file"}}),
            1);
  EXPECT_EQ(CounterValue(f, "ml_exporter_ingested_records_total",
                         {{"source", "library"}}),
            0);
  EXPECT_EQ(CounterValue(f, "ml_exporter_ingested_events_total",
                         {{"source", "file"}}),
            1);
  EXPECT_EQ(CounterValue(f, "ml_exporter_rejected_records_total",
                         {{"source", "http"}, {"reason", "missing_field"}}),
            1);
  EXPECT_EQ(CounterValue(f, "ml_exporter_rejected_records_total",
                         {{"source", "file"}, {"reason", "invalid_json"}}),
            1);
  double rejected_total = 0;
  for (const auto& m :
       FindFamily(f, "ml_exporter_rejected_records_total")->metric) {
    rejected_total += m.counter.value;
  }
  EXPECT_EQ(rejected_total, 2);

  for (const std::string c : {"inputs", "outputs", "software"}) {
    EXPECT_EQ(
        GaugeValue(f, "ml_exporter_collector_success", {{"collector", c}}), 1)
        << c;
    const double took = GaugeValue(f, "ml_exporter_collector_duration_seconds",
                                   {{"collector", c}});
    EXPECT_GE(took, 0) << c;
    EXPECT_LT(took, 10) << c;
  }
  EXPECT_EQ(SeriesLabels(f, "ml_exporter_build_info"),
            (std::vector<Labels>{{{"version", internal::kBuildVersion},
                                  {"revision", internal::kBuildRevision}}}));
  EXPECT_EQ(GaugeValue(f, "ml_exporter_build_info",
                       {{"version", internal::kBuildVersion},
                        {"revision", internal::kBuildRevision}}),
            1);
  EXPECT_FALSE(std::string(internal::kBuildVersion).empty());
  EXPECT_EQ(SeriesLabels(f, "ml_exporter_cardinality_overflow_total"),
            (std::vector<Labels>{{{"limit", "max_models"}},
                                 {{"limit", "max_features"}},
                                 {{"limit", "max_outputs"}},
                                 {{"limit", "max_label_values"}}}));
  for (const auto& m :
       FindFamily(f, "ml_exporter_cardinality_overflow_total")->metric) {
    EXPECT_EQ(m.counter.value, 0);
  }
  EXPECT_EQ(GaugeValue(f, "ml_exporter_models", {}), 2);

  const std::map<std::string, prometheus::MetricType> types = {
      {"ml_exporter_ingested_records_total", prometheus::MetricType::Counter},
      {"ml_exporter_ingested_events_total", prometheus::MetricType::Counter},
      {"ml_exporter_rejected_records_total", prometheus::MetricType::Counter},
      {"ml_exporter_cardinality_overflow_total",
       prometheus::MetricType::Counter},
      {"ml_exporter_collector_success", prometheus::MetricType::Gauge},
      {"ml_exporter_collector_duration_seconds", prometheus::MetricType::Gauge},
      {"ml_exporter_build_info", prometheus::MetricType::Gauge},
      {"ml_exporter_models", prometheus::MetricType::Gauge},
  };
  for (const auto& [name, type] : types) {
    const prometheus::MetricFamily* family = FindFamily(f, name);
    ASSERT_NE(family, nullptr) << name;
    EXPECT_EQ(family->type, type) << name;
  }
  // Every family once, named in the ml_ namespace, with help text.
  for (const auto& family : f) {
    EXPECT_EQ(CountFamilies(f, family.name), 1u) << family.name;
    EXPECT_TRUE(family.name.starts_with("ml_")) << family.name;
    EXPECT_FALSE(family.help.empty()) << family.name;
    EXPECT_FALSE(family.metric.empty()) << family.name;
  }
}

TEST(PipelineSelfMetricsTest, ObserveDoesNotCountIngestStats) {
  auto pipeline = MakePipeline();
  RecordBuilder b;
  b.Model("m");
  ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  b.Reset();
  EXPECT_FALSE(pipeline->Observe(b.record()).ok());
  const Families f = pipeline->Collect();
  EXPECT_EQ(CounterValue(f, "ml_records_total", ModelSeries("m")), 1);
  for (const auto& m :
       FindFamily(f, "ml_exporter_ingested_records_total")->metric) {
    EXPECT_EQ(m.counter.value, 0);
  }
  for (const auto& m :
       FindFamily(f, "ml_exporter_rejected_records_total")->metric) {
    EXPECT_EQ(m.counter.value, 0);
  }
}

TEST(PipelineTest, ObserveEventRequiresType) {
  auto pipeline = MakePipeline();
  Event event;
  event.model = "m";
  Status s = pipeline->ObserveEvent(event);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "field \"type\" is required in an event");
  EXPECT_EQ(pipeline->models().size(), 0u);
  event.type = "click";
  EXPECT_TRUE(pipeline->ObserveEvent(event).ok());
  EXPECT_EQ(pipeline->models().size(), 1u);
  event.model = {};
  EXPECT_TRUE(pipeline->ObserveEvent(event).ok());  // no model is fine
  EXPECT_EQ(pipeline->models().size(), 1u);
}

// --- AsCollectable
// --------------------------------------------------------------

std::string Serialize(Families families) {
  for (auto& family : families) {
    if (family.name == "ml_exporter_collector_duration_seconds") {
      for (auto& m : family.metric) m.gauge.value = 0;  // timing varies
    }
  }
  return prometheus::TextSerializer().Serialize(families);
}

TEST(PipelineTest, AsCollectableReturnsTheSameFamilies) {
  auto pipeline = MakePipeline();
  RecordBuilder b;
  b.Model("m", "v", "s")
      .Latency(0.2)
      .Input("a", 1)
      .Input("c", "x")
      .Output("o", "y");
  ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  std::shared_ptr<prometheus::Collectable> collectable =
      pipeline->AsCollectable();
  const Families direct = pipeline->Collect();
  const Families via = collectable->Collect();
  ASSERT_EQ(via.size(), direct.size());
  for (size_t i = 0; i < via.size(); ++i) {
    EXPECT_EQ(via[i].name, direct[i].name);
    EXPECT_EQ(via[i].metric.size(), direct[i].metric.size()) << via[i].name;
  }
  EXPECT_EQ(Serialize(via), Serialize(direct));
  // It is a live view, not a snapshot.
  ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  EXPECT_EQ(CounterValue(collectable->Collect(), "ml_records_total",
                         ModelSeries("m", {}, "v", "s")),
            2);
}

// --- RecordBuilder
// --------------------------------------------------------------

TEST(RecordBuilderTest, BuildsEveryField) {
  RecordBuilder b;
  b.Model(std::string("asr"), std::string("v3"), std::string("dec"))
      .RequestId(std::string("r-1"))
      .SessionId(std::string("s-1"))
      .Time(100.5)
      .Latency(0.25)
      .Error()
      .Input(std::string("n"), 1.5)
      .Input(std::string("s"), std::string("temporary"))
      .InputBool("t", true)
      .MissingInput("m")
      .InputList("l", {1, 2})
      .Output("o", "x")
      .Output("on", 2)
      .OutputBool("ob", false)
      .NullOutput("no")
      .Blob("audio", std::string("\0\1", 2));
  const Record& r = b.record();
  EXPECT_EQ(r.model, "asr");
  EXPECT_EQ(r.version, "v3");
  EXPECT_EQ(r.stage, "dec");
  EXPECT_EQ(r.request_id, "r-1");
  EXPECT_EQ(r.session_id, "s-1");
  EXPECT_EQ(r.time_seconds, 100.5);
  EXPECT_EQ(r.latency_seconds, 0.25);
  EXPECT_TRUE(r.error);
  ASSERT_EQ(r.inputs.size(), 5u);
  EXPECT_EQ(r.inputs[0].name, "n");
  EXPECT_EQ(r.inputs[0].value.kind, FieldValue::Kind::kNumber);
  EXPECT_EQ(r.inputs[0].value.number, 1.5);
  EXPECT_EQ(r.inputs[1].name, "s");
  EXPECT_EQ(r.inputs[1].value.kind, FieldValue::Kind::kString);
  EXPECT_EQ(r.inputs[1].value.text, "temporary");
  EXPECT_EQ(r.inputs[2].value.kind, FieldValue::Kind::kBool);
  EXPECT_TRUE(r.inputs[2].value.boolean);
  EXPECT_EQ(r.inputs[3].value.kind, FieldValue::Kind::kNull);
  EXPECT_EQ(r.inputs[4].value.kind, FieldValue::Kind::kList);
  EXPECT_EQ(r.inputs[4].value.list_begin, 0u);
  EXPECT_EQ(r.inputs[4].value.list_size, 2u);
  ASSERT_EQ(r.list_items.size(), 2u);
  EXPECT_EQ(r.list_items[1].number, 2);
  ASSERT_EQ(r.outputs.size(), 4u);
  EXPECT_EQ(r.outputs[0].value.text, "x");
  EXPECT_EQ(r.outputs[1].value.number, 2);
  EXPECT_FALSE(r.outputs[2].value.boolean);
  EXPECT_EQ(r.outputs[2].value.kind, FieldValue::Kind::kBool);
  EXPECT_EQ(r.outputs[3].value.kind, FieldValue::Kind::kNull);
  ASSERT_EQ(r.blobs.size(), 1u);
  EXPECT_EQ(r.blobs[0].name, "audio");
  EXPECT_EQ(r.blobs[0].data, std::string_view("\0\1", 2));
  EXPECT_FALSE(r.blobs[0].base64);
}

TEST(RecordBuilderTest, ReuseAfterReset) {
  auto pipeline = MakePipeline();
  RecordBuilder b;
  b.Model("first", "v1", "s1")
      .RequestId("r1")
      .Time(5)
      .Latency(0.5)
      .Error()
      .Input("a", 1)
      .Input("country", "DE")
      .InputList("l", {1, 2, 3})
      .Output("o", "x")
      .Blob("b", "bytes");
  ASSERT_TRUE(pipeline->Observe(b.record()).ok());

  b.Reset();
  const Record& empty = b.record();
  EXPECT_TRUE(empty.model.empty());
  EXPECT_TRUE(empty.version.empty());
  EXPECT_TRUE(empty.request_id.empty());
  EXPECT_TRUE(std::isnan(empty.time_seconds));
  EXPECT_TRUE(std::isnan(empty.latency_seconds));
  EXPECT_FALSE(empty.error);
  EXPECT_TRUE(empty.inputs.empty());
  EXPECT_TRUE(empty.outputs.empty());
  EXPECT_TRUE(empty.list_items.empty());
  EXPECT_TRUE(empty.blobs.empty());

  // Slots are reused: a longer and a shorter string than before.
  b.Model("second_model_with_a_longer_name")
      .Input("z", "zz")
      .InputList("k", {7});
  const Record& r = b.record();
  EXPECT_EQ(r.model, "second_model_with_a_longer_name");
  EXPECT_EQ(r.version, "");
  EXPECT_EQ(r.stage, "");
  ASSERT_EQ(r.inputs.size(), 2u);
  EXPECT_EQ(r.inputs[0].name, "z");
  EXPECT_EQ(r.inputs[0].value.text, "zz");
  EXPECT_EQ(r.inputs[1].value.list_begin, 0u);
  EXPECT_EQ(r.list_items.size(), 1u);
  ASSERT_TRUE(pipeline->Observe(r).ok());

  const Families f = pipeline->Collect();
  EXPECT_EQ(
      CounterValue(f, "ml_records_total", ModelSeries("first", {}, "v1", "s1")),
      1);
  EXPECT_EQ(CounterValue(f, "ml_prediction_errors_total",
                         ModelSeries("first", {}, "v1", "s1")),
            1);
  const Labels second = ModelSeries("second_model_with_a_longer_name");
  EXPECT_EQ(CounterValue(f, "ml_records_total", second), 1);
  EXPECT_EQ(CounterValue(f, "ml_prediction_errors_total", second), 0);
  // Nothing of the first record leaks into the second.
  EXPECT_EQ(
      SeriesLabels(f, "ml_feature_observations_total"),
      (std::vector<Labels>{
          ModelSeries("first", {{"feature", "a"}}, "v1", "s1"),
          ModelSeries("first", {{"feature", "country"}}, "v1", "s1"),
          ModelSeries("first", {{"feature", "l"}}, "v1", "s1"),
          ModelSeries("second_model_with_a_longer_name", {{"feature", "z"}}),
          ModelSeries("second_model_with_a_longer_name", {{"feature", "k"}}),
      }));
  EXPECT_EQ(testing::Histogram(f, "ml_latency_seconds", second).count, 0u);
}

TEST(RecordBuilderTest, ManyStringsStayValid) {
  RecordBuilder b;
  for (int round = 0; round < 3; ++round) {
    b.Reset();
    b.Model("m");
    for (int i = 0; i < 500; ++i) {
      b.Input("f" + std::to_string(i), "value-" + std::to_string(i * round));
    }
    const Record& r = b.record();
    ASSERT_EQ(r.inputs.size(), 500u);
    EXPECT_EQ(r.model, "m");
    for (int i = 0; i < 500; ++i) {
      ASSERT_EQ(r.inputs[i].name, "f" + std::to_string(i));
      ASSERT_EQ(r.inputs[i].value.text, "value-" + std::to_string(i * round));
    }
  }
}

// --- ModelTable
// -----------------------------------------------------------------

TEST(ModelTableTest, InternsWithNoneDefaultsAndOverflow) {
  ModelTable table(3, 8);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.Intern("a", "", ""), 0u);
  EXPECT_EQ(table.Intern("a", "none", "none"), 0u);
  EXPECT_EQ(table.labels(0).model, "a");
  EXPECT_EQ(table.labels(0).version, "none");
  EXPECT_EQ(table.labels(0).stage, "none");
  // Sanitised alike: one id.
  EXPECT_EQ(table.Intern("model_name_1", "v", "s"), 1u);
  EXPECT_EQ(table.Intern("model_name_2", "v", "s"), 1u);
  EXPECT_EQ(table.labels(1).model, "model_na");
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.Intern("b", "\xFF", ""), 2u);
  EXPECT_EQ(table.labels(2).version, "\xEF\xBF\xBD");
  EXPECT_EQ(table.overflowed(), 0u);
  bool overflowed = true;
  EXPECT_EQ(table.Intern("a", "", "", &overflowed), 0u);
  EXPECT_FALSE(overflowed);
  EXPECT_EQ(table.Intern("c", "", "", &overflowed), 3u);
  EXPECT_TRUE(overflowed);
  EXPECT_EQ(table.Intern("d", "", ""), 3u);
  EXPECT_EQ(table.Intern("c", "", ""), 3u);
  EXPECT_EQ(table.overflowed(), 3u);
  EXPECT_EQ(table.size(), 4u);
  EXPECT_EQ(table.labels(3).model, "__other__");
  EXPECT_EQ(table.labels(3).version, "__other__");
  EXPECT_EQ(table.labels(3).stage, "__other__");
  EXPECT_EQ(table.Intern("b", "\xFF", "", &overflowed), 2u);
  EXPECT_FALSE(overflowed);
  EXPECT_EQ(table.overflowed(), 3u);
}

TEST(PipelineTest, ModelOverflowIsCountedExactlyUnderConcurrency) {
  PipelineOptions options;
  options.max_models = 2;
  options.collectors = {"software"};
  auto pipeline = MakePipeline(options);
  RecordBuilder b;
  for (const char* m : {"a", "b"}) {
    b.Reset();
    b.Model(m);
    ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  }
  constexpr int kRecords = 50000;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      RecordBuilder rb;
      for (int i = 0; i < kRecords; ++i) {
        rb.Reset();
        if (t < 2) {
          // Alternating admitted models: the per-thread cache always misses.
          rb.Model(i % 2 ? "a" : "b");
        } else {
          rb.Model("c" + std::to_string(i % 100));
        }
        ASSERT_TRUE(pipeline->Observe(rb.record()).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  const Families f = pipeline->Collect();
  EXPECT_EQ(CounterValue(f, "ml_records_total", ModelSeries("a")),
            1 + kRecords);
  EXPECT_EQ(CounterValue(f, "ml_records_total", ModelSeries("b")),
            1 + kRecords);
  EXPECT_EQ(
      CounterValue(f, "ml_records_total",
                   ModelSeries("__other__", {}, "__other__", "__other__")),
      2 * kRecords);
  EXPECT_EQ(CounterValue(f, "ml_exporter_cardinality_overflow_total",
                         {{"limit", "max_models"}}),
            2 * kRecords);
}

}  // namespace
}  // namespace ml_exporter
