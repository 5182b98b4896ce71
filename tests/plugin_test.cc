// Collector plugins: loading (and refusing) shared libraries, driving their
// collectors the way the pipeline does, reload, every failure mode, and the
// example plugins end to end through a Pipeline.
#include <dlfcn.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/build_info.h"
#include "core/plugin_host.h"
#include "ml_exporter/ingest.h"
#include "ml_exporter/pipeline.h"
#include "ml_exporter/record_builder.h"

namespace ml_exporter {
namespace {

using internal::AppendPluginInfo;
using internal::PluginLibrary;
using Families = std::vector<prometheus::MetricFamily>;

std::shared_ptr<PluginLibrary> MustLoad(const std::string& path) {
  std::shared_ptr<PluginLibrary> lib;
  Status s = PluginLibrary::Load(path, &lib);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return lib;
}

std::string LoadError(const std::string& path) {
  std::shared_ptr<PluginLibrary> lib;
  Status s = PluginLibrary::Load(path, &lib);
  EXPECT_EQ(lib, nullptr);
  return s.ToString();
}

std::string Render(const Families& families) {
  return prometheus::TextSerializer().Serialize(families);
}

// A google.protobuf.Struct, serialized, from JSON: what the configuration
// loader puts in CollectorContext::params.
std::string ParamsFromJson(const std::string& json) {
  google::protobuf::Struct params;
  auto status = google::protobuf::util::JsonStringToMessage(json, &params);
  EXPECT_TRUE(status.ok()) << json;
  return params.SerializeAsString();
}

// The parts of a pipeline a collector touches: the model table, the
// options and the cardinality counters.
struct Host {
  explicit Host(size_t max_models = 100, size_t max_label_length = 128)
      : models(max_models, max_label_length) {
    options.max_models = max_models;
    options.max_label_length = max_label_length;
  }

  CollectorContext Context(std::string params_json = "{}") {
    CollectorContext context;
    context.options = &options;
    context.cardinality = &cardinality;
    context.params = ParamsFromJson(params_json);
    return context;
  }

  std::unique_ptr<Collector> New(const std::shared_ptr<PluginLibrary>& lib,
                                 const std::string& name,
                                 const std::string& params_json = "{}") {
    std::unique_ptr<Collector> c;
    Status s = lib->NewCollector(name, Context(params_json), &c);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return c;
  }

  void Observe(Collector* c, const Record& r) {
    c->Observe(r, {models.Intern(r.model, r.version, r.stage)});
  }

  Status Collect(Collector* c, Families* out) {
    return c->Collect(models, out);
  }

  ModelTable models;
  PipelineOptions options;
  CardinalityStats cardinality;
};

// Captures what plugin collectors log, for one test.
class LogCapture {
 public:
  LogCapture() {
    internal::SetPluginLogSink(
        [this](std::string_view m) { lines.emplace_back(m); });
  }
  ~LogCapture() {
    internal::SetPluginLogSink([](std::string_view) {});
  }
  std::vector<std::string> lines;
};

// --- loading ---------------------------------------------------------------

TEST(PluginLoadTest, ReportsNameVersionAbiCollectorsAndInfoMetric) {
  auto lib = MustLoad(TEST_COUNTER_PLUGIN_PATH);
  ASSERT_NE(lib, nullptr);
  EXPECT_EQ(lib->name(), "test_counter");
  EXPECT_EQ(lib->version(), "0.3.1");
  EXPECT_EQ(lib->abi(), "1.0");
  EXPECT_EQ(lib->path(), TEST_COUNTER_PLUGIN_PATH);
  EXPECT_EQ(lib->collector_names(),
            (std::vector<std::string>{"test_counter", "test_counter_lambda"}));
  EXPECT_EQ(lib->collectors()[0].description, "Counts everything it sees.");
  auto raw = MustLoad(TEST_RAW_OK_PLUGIN_PATH);

  Families out;
  AppendPluginInfo({lib, raw, lib}, &out);
  EXPECT_EQ(Render(out),
            "# HELP ml_exporter_plugin_info Always 1; one series per loaded "
            "plugin: its name, version and the plugin ABI it was built for.\n"
            "# TYPE ml_exporter_plugin_info gauge\n"
            "ml_exporter_plugin_info{plugin=\"test_counter\",version=\"0.3.1\","
            "abi=\"1.0\"} 1\n"
            "ml_exporter_plugin_info{plugin=\"raw\",version=\"0.0.1\","
            "abi=\"1.0\"} 1\n");
  out.clear();
  AppendPluginInfo({}, &out);
  EXPECT_TRUE(out.empty());
}

TEST(PluginLoadTest, MissingFile) {
  EXPECT_EQ(LoadError("/nonexistent/libnope.so"),
            "invalid argument: plugin /nonexistent/libnope.so: cannot load: "
            "/nonexistent/libnope.so: cannot open shared object file: No such "
            "file or directory");
  EXPECT_EQ(LoadError(""), "invalid argument: plugin path is empty");
}

TEST(PluginLoadTest, NotASharedLibrary) {
  const std::string path = ::testing::TempDir() + "/not_a_plugin_" +
                           std::to_string(getpid()) + ".so";
  std::ofstream(path) << "this is text, not ELF\n";
  const std::string error = LoadError(path);
  EXPECT_EQ(error.rfind("invalid argument: plugin " + path +
                            ": cannot load: " + path + ": ",
                        0),
            0u)
      << error;
  std::remove(path.c_str());
}

TEST(PluginLoadTest, MissingEntrySymbol) {
  EXPECT_EQ(LoadError(TEST_NO_ENTRY_PLUGIN_PATH),
            std::string("invalid argument: plugin ") +
                TEST_NO_ENTRY_PLUGIN_PATH +
                ": missing symbol ml_exporter_plugin_entry (not an "
                "ml_exporter plugin, or built without the ML_EXPORTER_PLUGIN "
                "macro)");
}

TEST(PluginLoadTest, WrongAbiMajorIsRefusedWithBothVersions) {
  EXPECT_EQ(LoadError(TEST_RAW_WRONG_MAJOR_PLUGIN_PATH),
            std::string("invalid argument: plugin ") +
                TEST_RAW_WRONG_MAJOR_PLUGIN_PATH +
                ": incompatible plugin ABI 2.0; this ml_exporter (" +
                internal::kBuildVersion +
                ") supports plugin ABI 1.0 (the majors must be equal and the "
                "plugin's minor at most the host's): rebuild the plugin "
                "against this version's headers");
}

TEST(PluginLoadTest, NewerMinorIsRefused) {
  EXPECT_EQ(LoadError(TEST_RAW_NEWER_MINOR_PLUGIN_PATH),
            std::string("invalid argument: plugin ") +
                TEST_RAW_NEWER_MINOR_PLUGIN_PATH +
                ": incompatible plugin ABI 1.1; this ml_exporter (" +
                internal::kBuildVersion +
                ") supports plugin ABI 1.0 (the majors must be equal and the "
                "plugin's minor at most the host's): rebuild the plugin "
                "against this version's headers");
}

TEST(PluginLoadTest, BadDescriptors) {
  EXPECT_EQ(LoadError(TEST_RAW_MISSING_FUNCTION_PLUGIN_PATH),
            std::string("invalid argument: plugin ") +
                TEST_RAW_MISSING_FUNCTION_PLUGIN_PATH +
                ": bad descriptor: collect is not set");
  EXPECT_EQ(LoadError(TEST_RAW_NULL_DESCRIPTOR_PLUGIN_PATH),
            std::string("invalid argument: plugin ") +
                TEST_RAW_NULL_DESCRIPTOR_PLUGIN_PATH +
                ": the plugin declined plugin ABI 1.0 (its entry point "
                "returned no descriptor)");
}

TEST(PluginLoadTest, APluginWrittenInCWithoutTheSdkWorks) {
  auto lib = MustLoad(TEST_RAW_OK_PLUGIN_PATH);
  void* handle = dlopen(TEST_RAW_OK_PLUGIN_PATH, RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(handle, nullptr);
  auto live = reinterpret_cast<int (*)()>(dlsym(handle, "raw_live_collectors"));
  ASSERT_NE(live, nullptr);
  Host host;
  auto c = host.New(lib, "raw");
  EXPECT_EQ(live(), 1);
  RecordBuilder b;
  b.Model("m");
  host.Observe(c.get(), b.record());
  Families out;
  EXPECT_TRUE(host.Collect(c.get(), &out).ok());
  EXPECT_TRUE(out.empty());
  c.reset();
  EXPECT_EQ(live(), 0);
  dlclose(handle);
}

// --- collectors ------------------------------------------------------------

TEST(PluginCollectorTest, UnknownCollectorIsNotFound) {
  auto lib = MustLoad(TEST_COUNTER_PLUGIN_PATH);
  Host host;
  std::unique_ptr<Collector> c;
  std::string error;
  CollectorContext context = host.Context();
  context.error = &error;  // as when NewCollector backs a CollectorFactory
  const std::string message =
      std::string("plugin \"test_counter\" (") + TEST_COUNTER_PLUGIN_PATH +
      ") has no collector \"nope\"; it provides: test_counter, "
      "test_counter_lambda";
  EXPECT_EQ(lib->NewCollector("nope", context, &c).ToString(),
            "not found: " + message);
  EXPECT_EQ(error, message);
  EXPECT_EQ(c, nullptr);
}

TEST(PluginCollectorTest, ObservesRecordsAndEventsAndExportsExactValues) {
  auto lib = MustLoad(TEST_COUNTER_PLUGIN_PATH);
  Host host;
  host.options.max_label_values = 7;
  host.options.explicit_buckets["score"] = {1, 2, 3};
  CollectorContext context = host.Context(R"({"label": "from params"})");
  context.include = {"a", "b"};
  context.exclude = {"c"};
  std::unique_ptr<Collector> c;
  ASSERT_TRUE(lib->NewCollector("test_counter", context, &c).ok());

  RecordBuilder b;
  b.Model("asr", "v3", "decoder")
      .RequestId("r-1")
      .Time(1700000000.5)
      .Latency(0.25)
      .Input("age", 41.0)
      .Input("country", "DE")
      .InputList("embedding", {1, 2, 3})
      .Output("transcript", "hallo \xC3\xBC")  // 8 bytes
      .Blob("audio", std::string(5, '\0'));
  host.Observe(c.get(), b.record());
  b.Reset();
  b.Model("asr", "v3", "decoder").Error().Latency(0.5).Output("x", "");
  host.Observe(c.get(), b.record());
  b.Reset();
  b.Model("churn");
  host.Observe(c.get(), b.record());

  Event click;
  click.type = "click";
  click.model = "asr";
  c->ObserveEvent(click, {0});
  c->ObserveEvent(click, {0});
  click.model = {};
  c->ObserveEvent(click, {ObserveContext::kNoModel});

  Families out;
  ASSERT_TRUE(host.Collect(c.get(), &out).ok());
  const std::string asr = "model=\"asr\",version=\"v3\",stage=\"decoder\"";
  const std::string churn = "model=\"churn\",version=\"none\",stage=\"none\"";
  EXPECT_EQ(Render(out),
            "# HELP ml_test_records_total Records.\n"
            "# TYPE ml_test_records_total counter\n"
            "ml_test_records_total{" +
                asr +
                "} 2\n"
                "ml_test_records_total{" +
                churn +
                "} 1\n"
                "# HELP ml_test_fields_total Fields by kind.\n"
                "# TYPE ml_test_fields_total counter\n"
                "ml_test_fields_total{" +
                asr +
                ",kind=\"input\"} 3\n"
                "ml_test_fields_total{" +
                asr +
                ",kind=\"output\"} 2\n"
                "ml_test_fields_total{" +
                asr +
                ",kind=\"list_item\"} 3\n"
                "ml_test_fields_total{" +
                asr +
                ",kind=\"error\"} 1\n"
                "ml_test_fields_total{" +
                asr +
                ",kind=\"request_id\"} 1\n"
                "ml_test_fields_total{" +
                churn +
                ",kind=\"input\"} 0\n"
                "ml_test_fields_total{" +
                churn +
                ",kind=\"output\"} 0\n"
                "ml_test_fields_total{" +
                churn +
                ",kind=\"list_item\"} 0\n"
                "ml_test_fields_total{" +
                churn +
                ",kind=\"error\"} 0\n"
                "ml_test_fields_total{" +
                churn +
                ",kind=\"request_id\"} 0\n"
                "# HELP ml_test_bytes_total Bytes by kind.\n"
                "# TYPE ml_test_bytes_total counter\n"
                "ml_test_bytes_total{" +
                asr +
                ",kind=\"blob\"} 5\n"
                "ml_test_bytes_total{" +
                asr +
                ",kind=\"text\"} 8\n"
                "ml_test_bytes_total{" +
                churn +
                ",kind=\"blob\"} 0\n"
                "ml_test_bytes_total{" +
                churn +
                ",kind=\"text\"} 0\n"
                "# HELP ml_test_latency_seconds Latency, two buckets.\n"
                "# TYPE ml_test_latency_seconds histogram\n"
                "ml_test_latency_seconds_count{" +
                asr +
                "} 2\n"
                "ml_test_latency_seconds_sum{" +
                asr +
                "} 0.75\n"
                "ml_test_latency_seconds_bucket{" +
                asr +
                ",le=\"1\"} 2\n"
                "ml_test_latency_seconds_bucket{" +
                asr +
                ",le=\"2\"} 2\n"
                "ml_test_latency_seconds_bucket{" +
                asr +
                ",le=\"+Inf\"} 2\n"
                "ml_test_latency_seconds_count{" +
                churn +
                "} 1\n"
                "ml_test_latency_seconds_sum{" +
                churn +
                "} 0\n"
                "ml_test_latency_seconds_bucket{" +
                churn +
                ",le=\"1\"} 1\n"
                "ml_test_latency_seconds_bucket{" +
                churn +
                ",le=\"2\"} 1\n"
                "ml_test_latency_seconds_bucket{" +
                churn +
                ",le=\"+Inf\"} 1\n"
                "# HELP ml_test_last_time_seconds Last record time.\n"
                "# TYPE ml_test_last_time_seconds gauge\n"
                "ml_test_last_time_seconds{" +
                asr +
                "} 1700000000.5\n"
                "ml_test_last_time_seconds{" +
                churn +
                "} 0\n"
                "# HELP ml_test_events_total Events by type.\n"
                "# TYPE ml_test_events_total counter\n"
                "ml_test_events_total{type=\"click\",has_model=\"0\"} 1\n"
                "ml_test_events_total{type=\"click\",has_model=\"1\"} 2\n"
                "# HELP ml_test_config The configuration seen.\n"
                "# TYPE ml_test_config gauge\n"
                "ml_test_config{label=\"from "
                "params\",include=\"a,b,\",exclude=\"c,\","
                "max_label_values=\"7\",latency_buckets=\"13\",score_edges="
                "\"3\"} 1\n");
}

TEST(PluginCollectorTest, ModelLabelsAreTheHostsCappedValues) {
  auto lib = MustLoad(TEST_COUNTER_PLUGIN_PATH);
  Host host(/*max_models=*/1, /*max_label_length=*/8);
  auto c = host.New(lib, "test_counter");
  RecordBuilder b;
  b.Model("a-very-long-model-name", "v1");
  host.Observe(c.get(), b.record());
  b.Reset();
  b.Model("second");  // beyond max_models: the overflow id
  host.Observe(c.get(), b.record());
  host.Observe(c.get(), b.record());
  Families out;
  ASSERT_TRUE(host.Collect(c.get(), &out).ok());
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(Render({out[0]}),
            "# HELP ml_test_records_total Records.\n"
            "# TYPE ml_test_records_total counter\n"
            "ml_test_records_total{model=\"a-very-l\",version=\"v1\","
            "stage=\"none\"} 1\n"
            "ml_test_records_total{model=\"__other__\",version=\"__other__\","
            "stage=\"__other__\"} 2\n");
}

TEST(PluginCollectorTest, CardinalityOverflowReachesTheHostsCounters) {
  auto lib = MustLoad(TEST_COUNTER_PLUGIN_PATH);
  Host host;
  auto c = host.New(lib, "test_counter");
  RecordBuilder b;
  b.Model("m").OutputBool("overflow", true);
  for (int i = 0; i < 3; ++i) host.Observe(c.get(), b.record());
  Families out;
  ASSERT_TRUE(host.Collect(c.get(), &out).ok());
  EXPECT_EQ(host.cardinality.overflow(CardinalityLimit::kLabelValues), 3u);
  out.clear();
  ASSERT_TRUE(host.Collect(c.get(), &out).ok());
  EXPECT_EQ(host.cardinality.overflow(CardinalityLimit::kLabelValues), 3u);
  for (int i = 0; i < 2; ++i) host.Observe(c.get(), b.record());
  out.clear();
  ASSERT_TRUE(host.Collect(c.get(), &out).ok());
  EXPECT_EQ(host.cardinality.overflow(CardinalityLimit::kLabelValues), 5u);
  EXPECT_EQ(host.cardinality.overflow(CardinalityLimit::kOutputs), 0u);
}

double RecordsOf(const Families& families, const std::string& model) {
  for (const auto& f : families) {
    if (f.name != "ml_test_records_total") continue;
    for (const auto& m : f.metric) {
      if (m.label[0].value == model) return m.counter.value;
    }
  }
  return -1;
}

TEST(PluginCollectorTest, ReloadDestroysAndRecreatesCollectors) {
  Host host;
  RecordBuilder b;
  b.Model("m");
  {
    auto lib = MustLoad(TEST_COUNTER_PLUGIN_PATH);
    auto first = host.New(lib, "test_counter");
    auto second = host.New(lib, "test_counter_lambda");  // independent
    host.Observe(first.get(), b.record());
    host.Observe(first.get(), b.record());
    host.Observe(second.get(), b.record());
    Families out;
    ASSERT_TRUE(host.Collect(first.get(), &out).ok());
    EXPECT_EQ(RecordsOf(out, "m"), 2);
    out.clear();
    ASSERT_TRUE(host.Collect(second.get(), &out).ok());
    EXPECT_EQ(RecordsOf(out, "m"), 1);
  }  // collectors destroyed, then the library released

  // A reload: the library is loaded again and new collectors start afresh.
  auto lib = MustLoad(TEST_COUNTER_PLUGIN_PATH);
  auto again = host.New(lib, "test_counter");
  Families out;
  ASSERT_TRUE(host.Collect(again.get(), &out).ok());
  EXPECT_EQ(RecordsOf(out, "m"), -1);  // no series yet
  host.Observe(again.get(), b.record());
  out.clear();
  ASSERT_TRUE(host.Collect(again.get(), &out).ok());
  EXPECT_EQ(RecordsOf(out, "m"), 1);

  // The collector keeps its library loaded after the caller drops it.
  lib.reset();
  host.Observe(again.get(), b.record());
  out.clear();
  ASSERT_TRUE(host.Collect(again.get(), &out).ok());
  EXPECT_EQ(RecordsOf(out, "m"), 2);
}

TEST(PluginCollectorTest, ConcurrentObserveAndCollect) {
  auto lib = MustLoad(TEST_COUNTER_PLUGIN_PATH);
  Host host;
  auto c = host.New(lib, "test_counter");
  constexpr int kThreads = 4, kRecords = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      RecordBuilder b;
      for (int i = 0; i < kRecords; ++i) {
        b.Reset();
        b.Model(t % 2 ? "odd" : "even").Output("text", "some words here");
        host.Observe(c.get(), b.record());
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    Families out;
    EXPECT_TRUE(host.Collect(c.get(), &out).ok());
  }
  for (auto& t : threads) t.join();
  Families out;
  ASSERT_TRUE(host.Collect(c.get(), &out).ok());
  EXPECT_EQ(RecordsOf(out, "even"), kThreads / 2 * kRecords);
  EXPECT_EQ(RecordsOf(out, "odd"), kThreads / 2 * kRecords);
}

// --- failures --------------------------------------------------------------

std::string Where(const char* plugin, const char* path, const char* collector) {
  return std::string("plugin \"") + plugin + "\" (" + path + ") collector \"" +
         collector + "\"";
}

TEST(PluginFailureTest, ThrowingFactoryFailsTheCreation) {
  auto lib = MustLoad(TEST_THROWING_PLUGIN_PATH);
  Host host;
  std::unique_ptr<Collector> c;
  Status s = lib->NewCollector(
      "thrower", host.Context(R"({"throw_in_factory": true})"), &c);
  EXPECT_EQ(s.ToString(),
            "internal: " +
                Where("test_throwing", TEST_THROWING_PLUGIN_PATH, "thrower") +
                ": the factory threw: factory exploded");
  EXPECT_EQ(c, nullptr);
}

TEST(PluginFailureTest, ThrowingObserveFailsTheScrapeButNotTheHost) {
  LogCapture log;
  auto lib = MustLoad(TEST_THROWING_PLUGIN_PATH);
  Host host;
  auto c = host.New(lib, "thrower");
  RecordBuilder b;
  b.Model("m").RequestId("r-1");
  host.Observe(c.get(), b.record());
  host.Observe(c.get(), b.record());
  b.Reset();
  b.Model("m").RequestId("r-3").Output("boom", 1.0);
  host.Observe(c.get(), b.record());  // throws inside the plugin
  host.Observe(c.get(), b.record());

  Families out;
  Status s = host.Collect(c.get(), &out);
  const std::string where =
      Where("test_throwing", TEST_THROWING_PLUGIN_PATH, "thrower");
  const std::string failure =
      where +
      ": Observe failed 2 times since the previous scrape, first: observe "
      "exploded on request r-3; 2 observe calls failed since the previous "
      "scrape";
  EXPECT_EQ(s.ToString(), "internal: " + failure);
  EXPECT_EQ(Render(out),
            "# HELP ml_test_survivor_records_total Records observed without "
            "throwing.\n"
            "# TYPE ml_test_survivor_records_total counter\n"
            "ml_test_survivor_records_total 2\n");

  // Failures are per scrape: the next one is clean again.
  out.clear();
  EXPECT_TRUE(host.Collect(c.get(), &out).ok());
  EXPECT_EQ(log.lines,
            (std::vector<std::string>{failure, where + ": recovered"}));
}

TEST(PluginFailureTest, NonStandardExceptionsAreCaughtToo) {
  auto lib = MustLoad(TEST_THROWING_PLUGIN_PATH);
  Host host;
  auto c = host.New(lib, "thrower", R"({"throw_int": true})");
  RecordBuilder b;
  b.Model("m").Output("boom", 1.0);
  host.Observe(c.get(), b.record());
  Families out;
  EXPECT_EQ(host.Collect(c.get(), &out).ToString(),
            "internal: " +
                Where("test_throwing", TEST_THROWING_PLUGIN_PATH, "thrower") +
                ": Observe failed 1 times since the previous scrape, first: "
                "unknown exception; 1 observe calls failed since the previous "
                "scrape");
}

TEST(PluginFailureTest, ThrowingCollectKeepsWhatWasAppended) {
  auto lib = MustLoad(TEST_THROWING_PLUGIN_PATH);
  Host host;
  auto c = host.New(lib, "thrower", R"({"throw_in_collect": true})");
  Families out;
  EXPECT_EQ(host.Collect(c.get(), &out).ToString(),
            "internal: " +
                Where("test_throwing", TEST_THROWING_PLUGIN_PATH, "thrower") +
                ": Collect threw: collect exploded");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "ml_test_survivor_records_total");
}

TEST(PluginFailureTest, InvalidMetricFamiliesAreDroppedAndReported) {
  auto lib = MustLoad(TEST_BAD_NAMES_PLUGIN_PATH);
  Host host;
  auto c = host.New(lib, "bad_names");
  Families out(1);
  out[0].name = "ml_records_total";  // exported by a collector before it
  Status s = host.Collect(c.get(), &out);
  EXPECT_EQ(
      s.ToString(),
      "invalid argument: " +
          Where("test_bad_names", TEST_BAD_NAMES_PLUGIN_PATH, "bad_names") +
          ": dropped 7 of 8 metric families: metric family "
          "\"9starts_with_digit\": invalid metric name; metric family "
          "\"ml_exporter_sneaky_total\": names starting with "
          "\"ml_exporter_\" are reserved for the exporter's own "
          "metrics; metric family \"ml_test_bad_label_total\": series "
          "0: invalid label name \"bad-label\"; and 4 more");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].name, "ml_test_good_total");
}

TEST(PluginFailureTest, ErrorReturningCollectorStillExports) {
  auto lib = MustLoad(TEST_FAILING_PLUGIN_PATH);
  Host host;
  auto c = host.New(lib, "failing");
  for (int scrape = 1; scrape <= 2; ++scrape) {
    Families out;
    EXPECT_EQ(host.Collect(c.get(), &out).ToString(),
              "internal: " +
                  Where("test_failing", TEST_FAILING_PLUGIN_PATH, "failing") +
                  ": backend unreachable");
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].metric[0].counter.value, scrape);
  }
}

TEST(PluginFailureTest, FactoryStatusErrorsNameTheParam) {
  auto lib = MustLoad(TEST_FAILING_PLUGIN_PATH);
  Host host;
  const std::string where =
      Where("test_failing", TEST_FAILING_PLUGIN_PATH, "failing");
  std::unique_ptr<Collector> c;
  EXPECT_EQ(
      lib->NewCollector("failing", host.Context(R"({"reject": true})"), &c)
          .ToString(),
      "invalid argument: " + where + ": parameter \"reject\": told to refuse");
  EXPECT_EQ(
      lib->NewCollector("failing", host.Context(R"({"threshold": "high"})"), &c)
          .ToString(),
      "invalid argument: " + where +
          ": parameter \"threshold\" must be a number");
  EXPECT_EQ(lib->NewCollector("failing", host.Context(R"({"thresold": 1})"), &c)
                .ToString(),
            "invalid argument: " + where +
                ": unknown parameter \"thresold\"; did you mean "
                "\"threshold\"?");
  EXPECT_EQ(c, nullptr);
}

// --- the example plugins, end to end ----------------------------------------

CollectorSpec Spec(const std::string& name, const std::string& params_json) {
  CollectorSpec spec;
  spec.name = name;
  spec.params = ParamsFromJson(params_json);
  return spec;
}

bool Contains(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(PluginEndToEndTest, ExamplePluginsThroughAPipeline) {
  LogCapture log;
  PipelineOptions options;
  options.plugins = {BLOCKLIST_WORDS_PATH, CLICK_RANK_PATH,
                     TEST_THROWING_PLUGIN_PATH};
  options.default_collectors = std::vector<CollectorSpec>{
      Spec("software", "{}"),
      Spec("blocklist_words",
           R"({"words": ["damn", "Idiot"], "outputs": ["reply"]})"),
      Spec("click_rank", "{}"), Spec("thrower", "{}")};
  std::unique_ptr<Pipeline> pipeline;
  Status s = Pipeline::Create(options, &pipeline);
  ASSERT_TRUE(s.ok()) << s.ToString();

  Ingestor ingestor(pipeline.get(), IngestSource::kHttp);
  IngestResult result = ingestor.IngestNdjson(
      R"({"model":"chat","version":"v1","outputs":{"reply":"You are an IDIOT, honestly."}}
{"model":"chat","version":"v1","outputs":{"reply":"Have a nice day"}}
{"model":"chat","version":"v1","outputs":{"reply":"damn, you idiot"}}
{"model":"chat","version":"v1","outputs":{"reply":["fine","damn it"],"other":"idiot"}}
{"model":"chat","version":"v1","request_id":"x","outputs":{"boom":1}}
{"model":"search","request_id":"r-1","outputs":{"items":["a","b","c"]}}
{"model":"search","request_id":"r-2","outputs":{"items":[10,20,30]}}
{"model":"search","request_id":"r-3","outputs":{"top":"a"}}
{"events":[{"type":"click","request_id":"r-1","value":"b"},{"type":"click","request_id":"r-2","value":30},{"type":"click","request_id":"r-1","value":"z"},{"type":"click","model":"search","request_id":"r-404","value":"a"},{"type":"click","request_id":"r-405","value":"a"}]}
)");
  EXPECT_EQ(result.accepted, 13u);
  EXPECT_EQ(result.rejected, 0u);

  const std::string text = Render(pipeline->Collect());
  const std::string chat = "model=\"chat\",version=\"v1\",stage=\"none\"";
  const std::string search = "model=\"search\",version=\"none\",stage=\"none\"";
  for (const std::string& line : std::vector<std::string>{
           "ml_blocklist_checked_total{" + chat + ",output=\"reply\"} 5",
           "ml_blocklist_matched_total{" + chat + ",output=\"reply\"} 3",
           "ml_blocklist_word_matches_total{" + chat + ",word=\"damn\"} 2",
           "ml_blocklist_word_matches_total{" + chat + ",word=\"idiot\"} 2",
           "ml_ranked_lists_total{" + search + "} 2",
           "ml_click_rank_count{" + search + "} 2",
           "ml_click_rank_sum{" + search + "} 5",
           "ml_click_rank_bucket{" + search + ",le=\"1\"} 0",
           "ml_click_rank_bucket{" + search + ",le=\"2\"} 1",
           "ml_click_rank_bucket{" + search + ",le=\"3\"} 2",
           "ml_click_rank_bucket{" + search + ",le=\"+Inf\"} 2",
           "ml_click_reciprocal_rank_total{" + search + "} 0.8333333333333333",
           "ml_click_unmatched_total{" + search +
               ",reason=\"unknown_request\"} 1",
           "ml_click_unmatched_total{" + search + ",reason=\"not_in_list\"} 1",
           "ml_records_total{" + chat + "} 5",
           "ml_exporter_collector_success{collector=\"software\"} 1",
           "ml_exporter_collector_success{collector=\"blocklist_words\"} 1",
           "ml_exporter_collector_success{collector=\"click_rank\"} 1",
           "ml_exporter_collector_success{collector=\"thrower\"} 0",
           "ml_test_survivor_records_total 7",
           std::string("ml_exporter_plugin_info{plugin=\"blocklist_words\","
                       "version=\"1.0.0\",abi=\"1.0\"} 1"),
           std::string("ml_exporter_plugin_info{plugin=\"click_rank\","
                       "version=\"1.0.0\",abi=\"1.0\"} 1"),
       }) {
    EXPECT_TRUE(Contains(text, line)) << line << "\n--- in:\n" << text;
  }
  ASSERT_EQ(log.lines.size(), 1u);
  EXPECT_NE(log.lines[0].find("observe exploded on request x"),
            std::string::npos);

#ifdef PROMTOOL
  const std::string path = ::testing::TempDir() + "/plugin_metrics_" +
                           std::to_string(getpid()) + ".prom";
  std::ofstream(path) << text;
  const std::string command =
      std::string(PROMTOOL) + " check metrics < " + path + " 2>&1";
  FILE* p = popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buffer[512];
  while (fgets(buffer, sizeof buffer, p)) output += buffer;
  const int status = pclose(p);
  // promtool exits 3 for lint findings (e.g. counters without _total from
  // other collectors); 1 means the exposition does not parse.
  EXPECT_NE(WEXITSTATUS(status), 1) << output;
  EXPECT_EQ(output.find("error"), std::string::npos) << output;
  std::remove(path.c_str());
#endif
}

TEST(PluginEndToEndTest, ExamplePluginsRejectBadParams) {
  auto blocklist = MustLoad(BLOCKLIST_WORDS_PATH);
  auto click_rank = MustLoad(CLICK_RANK_PATH);
  Host host;
  std::unique_ptr<Collector> c;
  EXPECT_EQ(blocklist->NewCollector("blocklist_words", host.Context("{}"), &c)
                .ToString(),
            std::string("invalid argument: plugin \"blocklist_words\" (") +
                BLOCKLIST_WORDS_PATH +
                ") collector \"blocklist_words\": parameter \"words\" is "
                "required: a non-empty list of words");
  EXPECT_EQ(blocklist
                ->NewCollector("blocklist_words",
                               host.Context(R"({"words": ["two words"]})"), &c)
                .ToString(),
            std::string("invalid argument: plugin \"blocklist_words\" (") +
                BLOCKLIST_WORDS_PATH +
                ") collector \"blocklist_words\": parameter \"words\": \"two "
                "words\" is not a single word (letters, digits, apostrophes)");
  EXPECT_EQ(
      click_rank
          ->NewCollector("click_rank", host.Context(R"({"max_rank": 0})"), &c)
          .ToString(),
      std::string("invalid argument: plugin \"click_rank\" (") +
          CLICK_RANK_PATH +
          ") collector \"click_rank\": parameter \"max_rank\" is 0, "
          "must be between 1 and 10000");
}

TEST(PluginEndToEndTest, BlocklistWordsCapsUnlistedOutputs) {
  auto lib = MustLoad(BLOCKLIST_WORDS_PATH);
  Host host;
  host.options.max_outputs = 2;
  auto c = host.New(lib, "blocklist_words", R"({"words": ["bad"]})");
  RecordBuilder b;
  b.Model("m")
      .Output("a", "bad")
      .Output("b", "good")
      .Output("c", "bad bad")
      .Output("d", "BAD");
  host.Observe(c.get(), b.record());
  Families out;
  ASSERT_TRUE(host.Collect(c.get(), &out).ok());
  const std::string text = Render(out);
  const std::string m = "model=\"m\",version=\"none\",stage=\"none\"";
  for (const std::string& line : std::vector<std::string>{
           "ml_blocklist_checked_total{" + m + ",output=\"a\"} 1",
           "ml_blocklist_checked_total{" + m + ",output=\"b\"} 1",
           "ml_blocklist_checked_total{" + m + ",output=\"__other__\"} 2",
           "ml_blocklist_matched_total{" + m + ",output=\"__other__\"} 2",
           "ml_blocklist_word_matches_total{" + m + ",word=\"bad\"} 3",
       }) {
    EXPECT_TRUE(Contains(text, line)) << line << "\n--- in:\n" << text;
  }
  EXPECT_EQ(host.cardinality.overflow(CardinalityLimit::kOutputs), 2u);
}

// --- plugins named in PipelineOptions::plugins (the config's `plugins:`) -----

TEST(ConfiguredPluginsTest, ReloadKeepsCountersAndRemovingThePluginUnloadsIt) {
  PipelineOptions options;
  options.plugins = {TEST_COUNTER_PLUGIN_PATH};
  options.collectors = {"software", "test_counter"};
  std::unique_ptr<Pipeline> pipeline;
  ASSERT_TRUE(Pipeline::Create(options, &pipeline).ok());
  ASSERT_EQ(pipeline->plugin_status().size(), 1u);
  EXPECT_EQ(pipeline->plugin_status()[0].name, "test_counter");
  EXPECT_EQ(pipeline->plugin_status()[0].path, TEST_COUNTER_PLUGIN_PATH);
  RecordBuilder b;
  b.Model("m").Input("x", 1.0);
  ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  const std::string m = "model=\"m\",version=\"none\",stage=\"none\"";
  std::string text = Render(pipeline->Collect());
  EXPECT_TRUE(Contains(text, "ml_test_records_total{" + m + "} 2")) << text;
  EXPECT_TRUE(Contains(text,
                       "ml_exporter_plugin_info{plugin=\"test_counter\","
                       "version=\"0.3.1\",abi=\"1.0\"} 1"))
      << text;

  // The same configuration again: the plugin collector keeps its counts.
  ASSERT_TRUE(pipeline->Reconfigure(options).ok());
  ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  text = Render(pipeline->Collect());
  EXPECT_TRUE(Contains(text, "ml_test_records_total{" + m + "} 3")) << text;

  // An unloadable plugin is refused and the running configuration kept.
  PipelineOptions broken = options;
  broken.plugins.push_back(TEST_RAW_WRONG_MAJOR_PLUGIN_PATH);
  Status s = pipeline->Reconfigure(broken);
  EXPECT_NE(s.message().find("incompatible plugin ABI 2.0"), std::string::npos)
      << s.ToString();
  ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  text = Render(pipeline->Collect());
  EXPECT_TRUE(Contains(text, "ml_test_records_total{" + m + "} 4")) << text;

  // Without the plugin: its metrics and its info series are gone.
  PipelineOptions without;
  without.collectors = {"software"};
  ASSERT_TRUE(pipeline->Reconfigure(without).ok());
  text = Render(pipeline->Collect());
  EXPECT_EQ(text.find("ml_test_records_total"), std::string::npos) << text;
  EXPECT_EQ(text.find("ml_exporter_plugin_info"), std::string::npos) << text;
  EXPECT_TRUE(Contains(text, "ml_records_total{" + m + "} 4")) << text;
  EXPECT_TRUE(pipeline->plugin_status().empty());
}

TEST(ConfiguredPluginsTest, ErrorsNameThePluginAndTheKnownCollectors) {
  std::unique_ptr<Pipeline> pipeline;
  PipelineOptions options;
  options.plugins = {TEST_NO_ENTRY_PLUGIN_PATH};
  Status s = Pipeline::Create(options, &pipeline);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(TEST_NO_ENTRY_PLUGIN_PATH), std::string::npos)
      << s.ToString();

  options.plugins = {TEST_COUNTER_PLUGIN_PATH};
  options.collectors = {"test_countr"};
  s = Pipeline::Create(options, &pipeline);
  EXPECT_NE(s.message().find("unknown collector \"test_countr\""),
            std::string::npos)
      << s.ToString();
  EXPECT_NE(s.message().find(", test_counter, test_counter_lambda"),
            std::string::npos)
      << s.ToString();

  // Two providers of one collector name: refused, naming both.
  options.plugins = {TEST_COUNTER_PLUGIN_PATH, TEST_COUNTER_PLUGIN_PATH};
  options.collectors = {"software"};
  s = Pipeline::Create(options, &pipeline);
  EXPECT_EQ(s.ToString(), std::string("invalid argument: plugin \"") +
                              TEST_COUNTER_PLUGIN_PATH +
                              "\" provides collector \"test_counter\", which "
                              "plugin \"" +
                              TEST_COUNTER_PLUGIN_PATH + "\" provides too");

  // A plugin collector's own parameter error reaches the user.
  options.plugins = {BLOCKLIST_WORDS_PATH};
  options.collectors.clear();
  options.default_collectors =
      std::vector<CollectorSpec>{Spec("blocklist_words", "{}")};
  s = Pipeline::Create(options, &pipeline);
  EXPECT_NE(s.message().find("parameter \"words\" is required"),
            std::string::npos)
      << s.ToString();
}

}  // namespace
}  // namespace ml_exporter
