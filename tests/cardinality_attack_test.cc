// Cardinality attacks: a million records, each with a value never seen
// before where label values, table keys or model names come from data
// (feature and output names, category values, models, session ids, request
// ids). Once the caps are full, the attack must add no series and hold
// memory flat, and every value sent to "__other__" or evicted must be
// counted. Figures are printed for docs/reliability.md.
#include <google/protobuf/struct.pb.h>
#include <gtest/gtest.h>
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ml_exporter/pipeline.h"
#include "ml_exporter/record_builder.h"
#include "tests/metric_test_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define ML_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ML_ASAN 1
#endif
#endif
#ifdef ML_ASAN
// From the ASan runtime (GCC ships no header for it).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace ml_exporter {
namespace {

using testing::Families;
using testing::FindFamily;
using testing::GaugeValue;

constexpr size_t kAttack = 1'000'000;
// Enough distinct values to fill every cap and table before measuring.
constexpr size_t kWarmup = 30'000;
constexpr size_t kTableCap = 10'000;  // max_sessions, max_requests
// Live heap the attack may add after warm-up. Keeping any per-value state
// would cost at least 1M x 32 bytes; this allows 8 bytes per value.
constexpr double kMaxHeapGrowthBytes = 8.0 * kAttack;

// Bytes the allocator has handed out and not had back.
size_t HeapBytesInUse() {
#ifdef ML_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
#endif
}

// Record and event times: from now on, 10 microseconds apart, so that the
// join windows (30 s and more) hold far more ids than the tables' room and
// a scrape (which expires by the wall clock) finds them still in flight.
double TimeOf(size_t i) {
  static const double start =
      std::chrono::duration<double>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  return start + static_cast<double>(i) * 1e-5;
}

size_t ResidentBytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<size_t>(resident) * 4096;
}

std::string Params(std::initializer_list<std::pair<const char*, double>> n,
                   std::vector<std::string> stages = {}) {
  google::protobuf::Struct s;
  for (const auto& [key, value] : n) {
    (*s.mutable_fields())[key].set_number_value(value);
  }
  if (!stages.empty()) {
    auto* list = (*s.mutable_fields())["stages"].mutable_list_value();
    for (const auto& stage : stages)
      list->add_values()->set_string_value(stage);
  }
  return s.SerializeAsString();
}

CollectorSpec Spec(const char* name, std::string params = "") {
  CollectorSpec spec;
  spec.name = name;
  spec.params = std::move(params);
  return spec;
}

// Every built-in collector, the join tables at kTableCap, default caps.
std::unique_ptr<Pipeline> NewPipeline() {
  PipelineOptions o;
  std::vector<CollectorSpec> specs;
  for (const char* name :
       {"software", "inputs", "outputs", "audio", "image", "text", "drift"}) {
    specs.push_back(Spec(name));
  }
  specs.push_back(Spec("sessions", Params({{"max_sessions", kTableCap}})));
  specs.push_back(Spec("feedback", Params({{"max_requests", kTableCap}})));
  // The pipeline's default join window (60 s) is shorter than a slow
  // sanitized run; the scrape must still find the ids in flight.
  specs.push_back(Spec("pipeline", Params({{"max_requests", kTableCap},
                                           {"join_window_seconds", 3600}},
                                          {"first", "second"})));
  o.default_collectors = std::move(specs);
  o.drift.baseline_from_traffic = true;
  // Histograms of the capped names (one value each) would freeze after
  // histogram_warmup_seconds of wall time and export their buckets then:
  // series that come from the clock, not from the attack. Under the
  // sanitizers the test runs past the default 60 s, so freezing by time is
  // pushed out of its reach.
  o.histogram_warmup_seconds = 24 * 3600;
  std::unique_ptr<Pipeline> p;
  const Status s = Pipeline::Create(o, &p);
  EXPECT_TRUE(s.ok()) << s.message();
  return p;
}

size_t SeriesCount(const Families& families) {
  size_t n = 0;
  for (const auto& f : families) n += f.metric.size();
  return n;
}

// Distinct values of `label` in `family` (0 when the family is absent).
size_t DistinctLabelValues(const Families& families, const std::string& family,
                           const std::string& label) {
  std::set<std::string> values;
  if (const auto* f = FindFamily(families, family)) {
    for (const auto& m : f->metric) {
      for (const auto& l : m.label) {
        if (l.name == label) values.insert(l.value);
      }
    }
  }
  return values.size();
}

double Overflow(const Families& families, const char* limit) {
  return testing::CounterValue(
      families, "ml_exporter_cardinality_overflow_total", {{"limit", limit}});
}

double JoinEntries(const Families& families, const char* collector) {
  return GaugeValue(families, "ml_exporter_join_table_entries",
                    {{"collector", collector}});
}

double Evictions(const Families& families, const char* collector) {
  return testing::CounterValue(families,
                               "ml_exporter_join_table_evictions_total",
                               {{"collector", collector}});
}

// Runs `record(i)` for i in [0, kWarmup) and then [kWarmup, kWarmup +
// kAttack), scraping after each phase; checks that the attack phase added
// no series and (almost) no memory.
class CardinalityAttackTest : public ::testing::Test {
 protected:
  template <typename Feed>
  void Attack(const char* what, Feed feed) {
    pipeline_ = NewPipeline();
    for (size_t i = 0; i < kWarmup; ++i) feed(*pipeline_, i);
    before_ = pipeline_->Collect();
    malloc_trim(0);
    const size_t heap_before = HeapBytesInUse();
    const size_t rss_before = ResidentBytes();
    for (size_t i = kWarmup; i < kWarmup + kAttack; ++i) feed(*pipeline_, i);
    after_ = pipeline_->Collect();
    malloc_trim(0);
    const size_t heap_after = HeapBytesInUse();
    const size_t rss_after = ResidentBytes();
    const double heap_growth =
        static_cast<double>(heap_after) - static_cast<double>(heap_before);
    std::printf(
        "[attack] %s: %zu records after %zu warm-up: series %zu -> %zu, "
        "heap %.1f -> %.1f MiB, RSS %.1f -> %.1f MiB\n",
        what, kAttack, kWarmup, SeriesCount(before_), SeriesCount(after_),
        heap_before / 1048576.0, heap_after / 1048576.0, rss_before / 1048576.0,
        rss_after / 1048576.0);
    EXPECT_EQ(SeriesCount(after_), SeriesCount(before_))
        << "the attack added series after every cap was full";
    EXPECT_LT(heap_growth, kMaxHeapGrowthBytes)
        << "live heap grew by " << heap_growth << " bytes";
  }

  // Overflow added by the attack phase.
  double OverflowDelta(const char* limit) const {
    return Overflow(after_, limit) - Overflow(before_, limit);
  }

  std::unique_ptr<Pipeline> pipeline_;
  Families before_, after_;
};

TEST_F(CardinalityAttackTest, MillionFeatureAndOutputNames) {
  Attack("feature and output names", [](Pipeline& p, size_t i) {
    const std::string n = std::to_string(i);
    RecordBuilder b;
    b.Model("m").Input("f" + n, 1.0).Input("s" + n, "text").Output("o" + n, 1);
    ASSERT_TRUE(p.Observe(b.record()).ok());
  });
  const PipelineOptions defaults;
  EXPECT_EQ(
      DistinctLabelValues(after_, "ml_feature_observations_total", "feature"),
      defaults.max_features + 1);  // + "__other__"
  EXPECT_EQ(
      DistinctLabelValues(after_, "ml_output_observations_total", "output"),
      defaults.max_outputs + 1);
  // Two new feature names and one new output per record, each counted.
  EXPECT_GE(OverflowDelta("max_features"), 2.0 * kAttack);
  EXPECT_GE(OverflowDelta("max_outputs"), 1.0 * kAttack);
}

TEST_F(CardinalityAttackTest, MillionCategoryValues) {
  Attack("category values", [](Pipeline& p, size_t i) {
    const std::string n = std::to_string(i);
    RecordBuilder b;
    b.Model("m").Input("country", "c" + n).Output("label", "l" + n);
    ASSERT_TRUE(p.Observe(b.record()).ok());
  });
  const PipelineOptions defaults;
  EXPECT_EQ(DistinctLabelValues(after_, "ml_feature_category_total", "value"),
            defaults.max_label_values + 1);
  EXPECT_EQ(DistinctLabelValues(after_, "ml_output_category_total", "value"),
            defaults.max_label_values + 1);
  EXPECT_GE(OverflowDelta("max_label_values"), 2.0 * kAttack);
}

TEST_F(CardinalityAttackTest, MillionModels) {
  Attack("models", [](Pipeline& p, size_t i) {
    const std::string n = std::to_string(i);
    RecordBuilder b;
    b.Model("m" + n, "v" + n, "s" + n).Input("x", 1.0).Output("y", "a");
    ASSERT_TRUE(p.Observe(b.record()).ok());
  });
  const PipelineOptions defaults;
  EXPECT_EQ(DistinctLabelValues(after_, "ml_records_total", "model"),
            defaults.max_models + 1);
  EXPECT_EQ(GaugeValue(after_, "ml_exporter_models", {}),
            defaults.max_models + 1);
  EXPECT_EQ(OverflowDelta("max_models"), 1.0 * kAttack);
}

TEST_F(CardinalityAttackTest, MillionSessionIds) {
  Attack("session ids", [](Pipeline& p, size_t i) {
    const std::string n = std::to_string(i);
    RecordBuilder b;
    b.Model("asr").SessionId("s" + n).Time(TimeOf(i)).Input("query",
                                                            "weather " + n);
    ASSERT_TRUE(p.Observe(b.record()).ok());
    Event e;
    const std::string session = "unknown" + n;
    e.type = "switch_to_typing";
    e.model = "asr";
    e.session_id = session;
    e.time_seconds = TimeOf(i);
    ASSERT_TRUE(p.ObserveEvent(e).ok());
  });
  EXPECT_LE(JoinEntries(after_, "sessions"), kTableCap);
  EXPECT_GE(JoinEntries(after_, "sessions"), kTableCap * 0.9);
  // Every session beyond the table's room pushed an older one out.
  EXPECT_GE(Evictions(after_, "sessions") - Evictions(before_, "sessions"),
            1.0 * kAttack);
}

TEST_F(CardinalityAttackTest, MillionRequestIds) {
  Attack("request ids", [](Pipeline& p, size_t i) {
    const std::string n = std::to_string(i);
    RecordBuilder b;
    // Stage "first" of a two-stage pipeline whose second stage never comes.
    b.Model("search", "v1", "first")
        .RequestId("r" + n)
        .Time(TimeOf(i))
        .Output("label", "a");
    ASSERT_TRUE(p.Observe(b.record()).ok());
    Event e;
    const std::string unknown = "x" + n;
    e.type = "label";
    e.model = "search";
    e.request_id = unknown;
    e.time_seconds = TimeOf(i);
    ASSERT_TRUE(p.ObserveEvent(e).ok());
  });
  for (const char* collector : {"feedback", "pipeline"}) {
    SCOPED_TRACE(collector);
    EXPECT_LE(JoinEntries(after_, collector), kTableCap);
    EXPECT_GE(JoinEntries(after_, collector), kTableCap * 0.9);
    EXPECT_GE(Evictions(after_, collector) - Evictions(before_, collector),
              1.0 * kAttack);
  }
}

}  // namespace
}  // namespace ml_exporter
