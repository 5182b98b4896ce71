// The drift collector: its scores against SciPy's (tests/drift/fixtures.json,
// written by tests/drift/make_fixtures.py), the window, and the edge cases.
//
// Tolerances (see docs/drift.md, "Accuracy"):
//   psi, jensen_shannon       1e-9 relative: computed on the same bins as
//                             the fixture, only rounding differs.
//   chi2 statistic, p-value   1e-9 relative (p-value also 1e-300 absolute).
//   ks                        never above SciPy's (the binned statistic is
//                             the exact one evaluated at the bin edges), at
//                             most 1/quantiles = 0.01 below it.
//   wasserstein               within 0.005 reference standard deviations
//                             plus 1% of SciPy's value (linear CDFs inside
//                             the quantile bins; exact outside the
//                             reference range).
#include <google/protobuf/struct.pb.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>
#include <simdjson.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "collectors/drift_collector.h"
#include "ml_exporter/pipeline.h"
#include "profile/drift_math.h"
#include "profile/profile_builder.h"
#include "profile/reference.h"
#include "tests/metric_test_util.h"

namespace ml_exporter {
namespace {

using profile::v1::FieldProfile;
using profile::v1::ReferenceProfile;
using testing::Families;
using testing::FindSeries;
using testing::GaugeValue;
using testing::Histogram;
using testing::Labels;
using testing::ModelSeries;
using testing::SeriesLabels;

constexpr double kPsiTolerance = 1e-9;
constexpr double kKsBelow = 0.01;
constexpr double kWassersteinStd = 0.005;
constexpr double kWassersteinRelative = 0.01;

std::atomic<double> g_now{1000};
double FakeNow() { return g_now.load(); }

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/ml_exporter_drift_XXXXXX";
    path_ = mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes `profile` to a new file and returns its path.
std::string WriteProfile(const TempDir& dir, const ReferenceProfile& profile) {
  static int n = 0;
  const std::string path = dir.file("p" + std::to_string(n++) + ".profile");
  std::ofstream out(path, std::ios::binary);
  out << profile.SerializeAsString();
  return path;
}

FieldProfile NumericField(const std::string& name,
                          const std::vector<double>& values) {
  profile::FieldAccumulator acc;
  for (double v : values) {
    acc.AddPresent();
    acc.AddNumber(v);
  }
  return acc.Finish(name, values.size(), profile::BuildOptions{});
}

FieldProfile CategoricalField(
    const std::string& name,
    const std::vector<std::pair<std::string, uint64_t>>& counts,
    uint64_t other = 0, uint64_t other_distinct = 0) {
  FieldProfile f;
  f.set_name(name);
  f.set_kind(FieldProfile::CATEGORICAL);
  uint64_t total = other;
  for (const auto& [value, count] : counts) {
    auto* c = f.mutable_categorical()->add_categories();
    c->set_value(value);
    c->set_count(count);
    total += count;
  }
  f.set_count(total);
  f.mutable_categorical()->set_count(total);
  f.mutable_categorical()->set_other_count(other);
  f.mutable_categorical()->set_other_distinct(other_distinct);
  return f;
}

DriftOptions TestDrift(size_t min_count = 1, double window = 100) {
  DriftOptions d;
  d.min_count = min_count;
  d.window_seconds = window;
  return d;
}

// A drift collector outside a pipeline, on the fake clock.
class Harness {
 public:
  explicit Harness(std::vector<ReferenceSpec> references,
                   DriftOptions drift = TestDrift(), std::string params = "") {
    options_.references = std::move(references);
    options_.drift = drift;
    CollectorContext context;
    context.options = &options_;
    context.cardinality = &cardinality_;
    context.params = std::move(params);
    collector_ = NewDriftCollector(context, &FakeNow);
  }

  Collector* collector() { return collector_.get(); }

  void Observe(const Record& record) {
    ObserveContext context{
        models_.Intern(record.model, record.version, record.stage)};
    collector_->Observe(record, context);
  }
  // One record of model "m" with the input `field` = `value`.
  void ObserveInput(const std::string& field, FieldValue value,
                    const std::string& model = "m") {
    Record r;
    r.model = model;
    r.inputs.push_back({field, value});
    Observe(r);
  }
  void ObserveNumbers(const std::string& field,
                      const std::vector<double>& values) {
    for (double v : values) ObserveInput(field, FieldValue::Number(v));
  }

  Families Collect(Status* status = nullptr) {
    Families families;
    Status s = collector_->Collect(models_, &families);
    if (status != nullptr) *status = s;
    return families;
  }

 private:
  PipelineOptions options_;
  CardinalityStats cardinality_;
  ModelTable models_{100, 128};
  std::unique_ptr<Collector> collector_;
};

double Drift(const Families& f, const std::string& feature,
             const std::string& method, const std::string& model = "m") {
  return GaugeValue(
      f, "ml_feature_drift",
      ModelSeries(model, {{"feature", feature}, {"method", method}}));
}

double WindowCount(const Families& f, const std::string& feature) {
  return GaugeValue(f, "ml_feature_window_values",
                    ModelSeries("m", {{"feature", feature}}));
}

double Excluded(const Families& f, const std::string& feature,
                const std::string& reason) {
  return GaugeValue(
      f, "ml_feature_window_excluded_values",
      ModelSeries("m", {{"feature", feature}, {"reason", reason}}));
}

// --- fixtures ----------------------------------------------------------------

class Fixtures {
 public:
  static const Fixtures& Get() {
    static const Fixtures* fixtures = new Fixtures;
    return *fixtures;
  }
  simdjson::dom::element root;

 private:
  Fixtures() {
    json_ = simdjson::padded_string::load(DRIFT_FIXTURES).value();
    root = parser_.parse(json_).value();
  }
  simdjson::padded_string json_;
  simdjson::dom::parser parser_;
};

std::vector<double> Numbers(simdjson::dom::array a) {
  std::vector<double> out;
  for (simdjson::dom::element e : a) out.push_back(e.get_double().value());
  return out;
}

TEST(DriftFixtures, WereMadeWithTheDocumentedSettings) {
  const auto& root = Fixtures::Get().root;
  EXPECT_EQ(root["bins"].get_int64().value(), 10);
  EXPECT_EQ(root["psi_epsilon"].get_double().value(), profile::kPsiEpsilon);
  EXPECT_EQ(root["chi2_pseudo_count"].get_double().value(),
            profile::kChiSquarePseudoCount);
}

TEST(DriftFixtures, NumericScoresMatchScipy) {
  const auto& root = Fixtures::Get().root;
  TempDir dir;
  size_t cases = 0;
  for (simdjson::dom::object c : root["numeric"].get_array()) {
    const std::string name(c["name"].get_string().value());
    SCOPED_TRACE(name);
    const std::string ref_name(c["reference"].get_string().value());
    const std::vector<double> ref =
        Numbers(root["references"][ref_name].get_array().value());
    std::vector<double> live;
    if (c["live"].is_string()) {
      live = ref;
    } else {
      live = Numbers(c["live"].get_array().value());
    }
    ReferenceProfile p;
    p.set_model("m");
    *p.add_features() = NumericField("x", ref);
    // The edges follow the documented rule, as the fixture recomputed it.
    const std::vector<double> edges = Numbers(c["edges"].get_array().value());
    ASSERT_EQ(std::vector<double>(p.features(0).numeric().edges().begin(),
                                  p.features(0).numeric().edges().end()),
              edges);
    Harness h({{"m", "", "", WriteProfile(dir, p)}});
    h.ObserveNumbers("x", live);
    const Families f = h.Collect();
    EXPECT_EQ(WindowCount(f, "x"), static_cast<double>(live.size()));
    simdjson::dom::object expected = c["expected"].get_object().value();
    for (const std::string method : {"psi", "jensen_shannon"}) {
      const double want = expected[method].get_double().value();
      EXPECT_NEAR(Drift(f, "x", method), want,
                  kPsiTolerance * (1 + std::fabs(want)))
          << method;
    }
    const double ks = expected["ks"].get_double().value();
    EXPECT_LE(Drift(f, "x", "ks"), ks + 1e-12);
    EXPECT_GE(Drift(f, "x", "ks"), ks - kKsBelow);
    const double w = expected["wasserstein"].get_double().value();
    const double stddev = p.features(0).numeric().stddev();
    const double tolerance =
        kWassersteinStd * stddev + kWassersteinRelative * w;
    EXPECT_NEAR(Drift(f, "x", "wasserstein"), w, tolerance + 1e-12);
    if (std::getenv("DRIFT_FIXTURE_REPORT") != nullptr) {
      std::printf(
          "%-20s ks %.4f (scipy %.4f)  wasserstein %.5f (scipy %.5f, "
          "%+.3f%%, %+.4f sd)\n",
          name.c_str(), Drift(f, "x", "ks"), ks, Drift(f, "x", "wasserstein"),
          w, w > 0 ? 100 * (Drift(f, "x", "wasserstein") - w) / w : 0.0,
          stddev > 0 ? (Drift(f, "x", "wasserstein") - w) / stddev : 0.0);
    }
    double wn;
    if (expected["wasserstein_normalized"].get_double().get(wn) ==
        simdjson::SUCCESS) {
      EXPECT_NEAR(Drift(f, "x", "wasserstein_normalized"), wn,
                  tolerance / stddev + 1e-12);
    } else {
      EXPECT_TRUE(std::isnan(Drift(f, "x", "wasserstein_normalized")))
          << "no normalised Wasserstein for a single-valued reference";
    }
    // Numeric features have no chi-squared or unseen ratio.
    EXPECT_TRUE(std::isnan(Drift(f, "x", "chi2_p_value")));
    ++cases;
  }
  EXPECT_EQ(cases, 10u);
}

TEST(DriftFixtures, CategoricalScoresMatchScipy) {
  const auto& root = Fixtures::Get().root;
  TempDir dir;
  size_t cases = 0;
  for (simdjson::dom::object c : root["categorical"].get_array()) {
    const std::string name(c["name"].get_string().value());
    SCOPED_TRACE(name);
    std::vector<std::pair<std::string, uint64_t>> counts;
    for (simdjson::dom::array kv : c["reference"]["categories"].get_array()) {
      counts.emplace_back(std::string(kv.at(0).get_string().value()),
                          kv.at(1).get_uint64().value());
    }
    ReferenceProfile p;
    p.set_model("m");
    *p.add_features() = CategoricalField(
        "c", counts, c["reference"]["other_count"].get_uint64().value(),
        c["reference"]["other_distinct"].get_uint64().value());
    Harness h({{"m", "", "", WriteProfile(dir, p)}});
    uint64_t n = 0;
    for (simdjson::dom::array kv : c["live"].get_array()) {
      const std::string value(kv.at(0).get_string().value());
      const uint64_t count = kv.at(1).get_uint64().value();
      for (uint64_t i = 0; i < count; ++i) {
        // Booleans arrive as JSON booleans, the rest as strings.
        if (name == "booleans") {
          h.ObserveInput("c", FieldValue::Bool(value == "true"));
        } else {
          h.ObserveInput("c", FieldValue::String(value));
        }
      }
      n += count;
    }
    const Families f = h.Collect();
    EXPECT_EQ(WindowCount(f, "c"), static_cast<double>(n));
    simdjson::dom::object expected = c["expected"].get_object().value();
    for (const std::string method : {"psi", "jensen_shannon"}) {
      const double want = expected[method].get_double().value();
      EXPECT_NEAR(Drift(f, "c", method), want,
                  kPsiTolerance * (1 + std::fabs(want)))
          << method;
    }
    const double p_value = expected["chi2_p_value"].get_double().value();
    EXPECT_NEAR(Drift(f, "c", "chi2_p_value"), p_value,
                1e-300 + 1e-9 * p_value);
    EXPECT_NEAR(GaugeValue(f, "ml_feature_unseen_category_ratio",
                           ModelSeries("m", {{"feature", "c"}})),
                expected["unseen_category_ratio"].get_double().value(), 1e-12);
    // Numeric methods do not apply.
    EXPECT_TRUE(std::isnan(Drift(f, "c", "ks")));
    EXPECT_TRUE(std::isnan(Drift(f, "c", "wasserstein")));
    ++cases;
  }
  EXPECT_EQ(cases, 8u);
}

TEST(DriftFixtures, ChiSquareStatisticMatchesScipy) {
  const auto& root = Fixtures::Get().root;
  for (simdjson::dom::object c : root["categorical"].get_array()) {
    SCOPED_TRACE(std::string(c["name"].get_string().value()));
    std::vector<std::string> names;
    std::vector<double> reference;
    for (simdjson::dom::array kv : c["reference"]["categories"].get_array()) {
      names.emplace_back(kv.at(0).get_string().value());
      reference.push_back(kv.at(1).get_double().value());
    }
    reference.push_back(c["reference"]["other_count"].get_double().value());
    std::vector<double> live(reference.size(), 0);
    for (simdjson::dom::array kv : c["live"].get_array()) {
      const std::string value(kv.at(0).get_string().value());
      const auto it = std::find(names.begin(), names.end(), value);
      live[it - names.begin()] += kv.at(1).get_double().value();
    }
    const profile::ChiSquareResult r = profile::ChiSquareTest(reference, live);
    const double want = c["expected"]["chi2_statistic"].get_double().value();
    EXPECT_NEAR(r.statistic, want, 1e-9 * want);
    EXPECT_EQ(r.dof, static_cast<double>(reference.size() - 1));
  }
}

TEST(DriftFixtures, ChiSquareSurvivalMatchesScipy) {
  const auto& root = Fixtures::Get().root;
  for (simdjson::dom::array row : root["chi2_survival"].get_array()) {
    const double x = row.at(0).get_double().value();
    const double dof = row.at(1).get_double().value();
    const double want = row.at(2).get_double().value();
    EXPECT_NEAR(profile::ChiSquareSurvival(x, dof), want, 1e-300 + 1e-9 * want)
        << "x=" << x << " dof=" << dof;
  }
}

// --- math edge cases ---------------------------------------------------------

TEST(DriftMath, EmptySidesGiveNoScore) {
  EXPECT_TRUE(std::isnan(profile::PopulationStabilityIndex({1, 2}, {0, 0})));
  EXPECT_TRUE(std::isnan(profile::JensenShannonDistance({0, 0}, {1, 2})));
  EXPECT_TRUE(std::isnan(profile::ChiSquareTest({5, 5}, {0, 0}).p_value));
  EXPECT_TRUE(std::isnan(profile::ChiSquareTest({5}, {3}).p_value))
      << "one bin: no degrees of freedom";
}

TEST(DriftMath, PsiSmoothingKeepsEmptyBinsFinite) {
  // All live values in a bin the reference never had.
  const double psi = profile::PopulationStabilityIndex({10, 0}, {0, 10});
  const double e = profile::kPsiEpsilon;
  const double hi = (1 + e) / (1 + 2 * e), lo = e / (1 + 2 * e);
  EXPECT_NEAR(psi, 2 * (hi - lo) * std::log(hi / lo), 1e-12);
  EXPECT_TRUE(std::isfinite(psi));
}

TEST(DriftMath, WassersteinOfPointMassesIsTheirDistance) {
  // Reference: a point at 2 (edges {2}); live: a point at 5, all above.
  const profile::BinnedCdf ref{{1}, {0}};
  EXPECT_DOUBLE_EQ(profile::Wasserstein1({2}, ref, {{0}, {0}}, 0, 0, 0, 3), 3);
  // Live at -1, all below.
  EXPECT_DOUBLE_EQ(profile::Wasserstein1({2}, ref, {{1}, {1}}, 0, 0, 3, 0), 3);
}

TEST(DriftMath, KsSeesBothSidesOfAPointMass) {
  // Reference: everything at 5. Live: everything just below 5, in the same
  // bin: equal at 5, apart just below it.
  const profile::BinnedCdf ref{{1}, {0}};
  const profile::BinnedCdf live{{1}, {1}};
  EXPECT_EQ(profile::KolmogorovSmirnov(ref, live), 1);
}

// --- collector behaviour -----------------------------------------------------

class DriftCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_now = 1000;
    std::vector<double> normal;
    for (int i = 0; i < 1000; ++i) normal.push_back((i % 100) / 10.0);
    profile_.set_model("m");
    *profile_.add_features() = NumericField("x", normal);
    *profile_.add_features() = CategoricalField("c", {{"a", 60}, {"b", 40}});
    *profile_.add_features() = NumericField("never_sent", normal);
    FieldProfile always_missing;
    always_missing.set_name("always_missing");
    always_missing.set_count(1000);
    always_missing.set_missing(1000);
    *profile_.add_features() = always_missing;
    *profile_.add_outputs() = NumericField("score", normal);
    path_ = WriteProfile(dir_, profile_);
  }
  std::vector<ReferenceSpec> Refs() const { return {{"m", "", "", path_}}; }

  TempDir dir_;
  ReferenceProfile profile_;
  std::string path_;
};

TEST_F(DriftCollectorTest, NoScoreWithoutEnoughValues) {
  Harness h(Refs(), TestDrift(/*min_count=*/50));
  h.ObserveNumbers("x", std::vector<double>(49, 1.0));
  Families f = h.Collect();
  EXPECT_EQ(WindowCount(f, "x"), 49);
  EXPECT_TRUE(std::isnan(Drift(f, "x", "psi")));
  h.ObserveNumbers("x", {1.0});
  f = h.Collect();
  EXPECT_EQ(WindowCount(f, "x"), 50);
  EXPECT_FALSE(std::isnan(Drift(f, "x", "psi")));
}

TEST_F(DriftCollectorTest, EmptyWindowHasCountsButNoScores) {
  Harness h(Refs());
  Record r;
  r.model = "m";
  h.Observe(r);  // a record without any field
  const Families f = h.Collect();
  EXPECT_EQ(WindowCount(f, "x"), 0);
  EXPECT_EQ(Excluded(f, "x", "absent"), 1);
  EXPECT_TRUE(SeriesLabels(f, "ml_feature_drift").empty());
  EXPECT_TRUE(SeriesLabels(f, "ml_output_drift").empty());
}

TEST_F(DriftCollectorTest, NonFiniteValuesAreCountedNotScored) {
  Harness h(Refs());
  std::vector<double> values;
  for (int i = 0; i < 1000; ++i) values.push_back((i % 100) / 10.0);
  h.ObserveNumbers("x", values);
  h.ObserveNumbers("x", {NAN, INFINITY, -INFINITY});
  h.ObserveInput("x", FieldValue::String("oops"));
  h.ObserveInput("x", FieldValue::Null());
  const Families f = h.Collect();
  EXPECT_EQ(WindowCount(f, "x"), 1000);
  EXPECT_EQ(Excluded(f, "x", "nonfinite"), 3);
  EXPECT_EQ(Excluded(f, "x", "wrong_type"), 1);
  EXPECT_EQ(Excluded(f, "x", "null"), 1);
  // The same values as the reference: every score 0 (up to rounding).
  for (const std::string m : {"psi", "jensen_shannon", "ks", "wasserstein"}) {
    EXPECT_NEAR(Drift(f, "x", m), 0, 1e-12) << m;
  }
}

TEST_F(DriftCollectorTest, AllMissingFeatureHasNoScore) {
  Harness h(Refs());
  for (int i = 0; i < 10; ++i) h.ObserveInput("x", FieldValue::Null());
  const Families f = h.Collect();
  EXPECT_EQ(WindowCount(f, "x"), 0);
  EXPECT_EQ(Excluded(f, "x", "null"), 10);
  EXPECT_TRUE(std::isnan(Drift(f, "x", "psi")));
  // Present but null is not "only in the reference".
  EXPECT_TRUE(std::isnan(
      GaugeValue(f, "ml_reference_feature_unmatched",
                 ModelSeries("m", {{"feature", "x"}, {"side", "reference"}}))));
}

TEST_F(DriftCollectorTest, ReferenceWithoutValuesGivesNoScore) {
  Harness h(Refs());
  h.ObserveNumbers("always_missing", {1, 2, 3});
  const Families f = h.Collect();
  EXPECT_EQ(Excluded(f, "always_missing", "wrong_type"), 3);
  EXPECT_TRUE(std::isnan(Drift(f, "always_missing", "psi")));
}

TEST_F(DriftCollectorTest, UnmatchedFeaturesAreReportedOnBothSides) {
  Harness h(Refs());
  Record r;
  r.model = "m";
  r.inputs = {{"x", FieldValue::Number(1)},
              {"c", FieldValue::String("a")},
              {"surprise", FieldValue::Number(3)}};
  r.outputs = {{"extra_output", FieldValue::String("y")}};
  h.Observe(r);
  h.Observe(r);
  const Families f = h.Collect();
  const auto unmatched = [&](const std::string& family, const char* label,
                             const std::string& name, const std::string& side) {
    return GaugeValue(f, family,
                      ModelSeries("m", {{label, name}, {"side", side}}));
  };
  EXPECT_EQ(unmatched("ml_reference_feature_unmatched", "feature", "never_sent",
                      "reference"),
            1);
  EXPECT_EQ(unmatched("ml_reference_feature_unmatched", "feature",
                      "always_missing", "reference"),
            1);
  EXPECT_EQ(unmatched("ml_reference_output_unmatched", "output", "score",
                      "reference"),
            1);
  EXPECT_EQ(unmatched("ml_reference_feature_unmatched", "feature", "surprise",
                      "traffic"),
            1);
  EXPECT_EQ(unmatched("ml_reference_output_unmatched", "output", "extra_output",
                      "traffic"),
            1);
  EXPECT_EQ(SeriesLabels(f, "ml_reference_feature_unmatched").size(), 3u);
  // The unprofiled feature gets no drift series at all.
  EXPECT_TRUE(std::isnan(WindowCount(f, "surprise")));
  EXPECT_EQ(WindowCount(f, "never_sent"), 0);
}

TEST_F(DriftCollectorTest, WindowSlidesAndForgetsOldValues) {
  // Window 100 s: ten slots of 10 s.
  Harness h(Refs(), TestDrift(1, 100));
  h.ObserveNumbers("x", std::vector<double>(30, 9.9));  // shifted to the top
  g_now = 1050;
  h.ObserveNumbers("x", {0.0, 5.0});
  Families f = h.Collect();
  EXPECT_EQ(WindowCount(f, "x"), 32);
  const double ks_both = Drift(f, "x", "ks");
  g_now = 1105;  // the first values' slot (1000..1010) has left the window
  f = h.Collect();
  EXPECT_EQ(WindowCount(f, "x"), 2);
  EXPECT_LT(Drift(f, "x", "ks"), ks_both);
  g_now = 1200;  // everything has left
  f = h.Collect();
  EXPECT_EQ(WindowCount(f, "x"), 0);
  EXPECT_TRUE(std::isnan(Drift(f, "x", "ks")));
  // New traffic after a long pause lands in a fresh window.
  h.ObserveNumbers("x", {5.0});
  f = h.Collect();
  EXPECT_EQ(WindowCount(f, "x"), 1);
}

TEST_F(DriftCollectorTest, ThreadsAreMergedAtScrape) {
  Harness h(Refs(), TestDrift(1, 100));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 500; ++i) {
        h.ObserveInput("x", FieldValue::Number(((i + t) % 100) / 10.0));
      }
    });
  }
  for (auto& t : threads) t.join();
  g_now = 1015;  // the next slot: threads' cells have not been rotated
  Families f = h.Collect();
  EXPECT_EQ(WindowCount(f, "x"), 2000);
  h.ObserveNumbers("x", {1.0});  // this thread rotates into the ring
  f = h.Collect();
  EXPECT_EQ(WindowCount(f, "x"), 2001);
}

TEST_F(DriftCollectorTest, ConcurrentObserveCollectAndRotate) {
  // Window 1000 s in slots of 100 s; the clock crosses five slots while
  // four threads observe and the scrape runs: nothing lost or counted twice.
  Harness h(Refs(), TestDrift(1, 1000));
  constexpr int kThreads = 4, kValues = 20000;
  std::atomic<int> running{kThreads};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&h, &running, t] {
      for (int i = 0; i < kValues; ++i) {
        h.ObserveInput("x", FieldValue::Number(((i + t) % 100) / 10.0));
      }
      --running;
    });
  }
  while (running > 0) {
    h.Collect();
    g_now = std::min(g_now.load() + 1.0, 1499.0);
  }
  for (auto& t : threads) t.join();
  g_now = 1500;
  h.ObserveInput("c", FieldValue::String("a"));  // this thread rotates too
  const Families f = h.Collect();
  EXPECT_EQ(WindowCount(f, "x"), kThreads * kValues);
}

TEST(DriftText, FreeTextDriftsByItsLength) {
  TempDir dir;
  profile::FieldAccumulator acc;
  for (int i = 0; i < 2000; ++i) {
    acc.AddPresent();
    acc.AddString("query " + std::to_string(i));  // 7 to 10 characters
  }
  profile::BuildOptions options;
  options.max_categories = 100;
  ReferenceProfile p;
  *p.add_features() = acc.Finish("q", 2000, options);
  ASSERT_EQ(p.features(0).kind(), FieldProfile::TEXT);
  Harness h({{"m", "", "", WriteProfile(dir, p)}});
  for (int i = 0; i < 500; ++i) {
    h.ObserveInput(
        "q", FieldValue::String("a much longer query " + std::to_string(i)));
  }
  const Families f = h.Collect();
  EXPECT_EQ(WindowCount(f, "q"), 500);
  EXPECT_EQ(Drift(f, "q", "ks"), 1);  // every length above the reference's
  EXPECT_GT(Drift(f, "q", "wasserstein"), 10);
  EXPECT_TRUE(std::isnan(Drift(f, "q", "chi2_p_value")));
  EXPECT_TRUE(std::isnan(GaugeValue(f, "ml_feature_unseen_category_ratio",
                                    ModelSeries("m", {{"feature", "q"}}))));
}

TEST_F(DriftCollectorTest, ListElementsAreValues) {
  Harness h(Refs());
  Record r;
  r.model = "m";
  r.list_items = {FieldValue::Number(1), FieldValue::Number(2),
                  FieldValue::Number(3)};
  FieldValue list;
  list.kind = FieldValue::Kind::kList;
  list.list_begin = 0;
  list.list_size = 3;
  r.inputs = {{"x", list}};
  h.Observe(r);
  FieldValue empty;
  empty.kind = FieldValue::Kind::kList;
  r.inputs = {{"x", empty}};
  h.Observe(r);
  const Families f = h.Collect();
  EXPECT_EQ(WindowCount(f, "x"), 3);
  EXPECT_EQ(Excluded(f, "x", "null"), 1);  // the empty list
}

TEST_F(DriftCollectorTest, ExportsTheReferenceDistribution) {
  Harness h(Refs());
  h.ObserveNumbers("x", {1});
  h.ObserveInput("c", FieldValue::String("a"));
  const Families f = h.Collect();
  const auto ref = Histogram(f, "ml_reference_feature_value",
                             ModelSeries("m", {{"feature", "x"}}));
  ASSERT_TRUE(ref.found);
  EXPECT_EQ(ref.count, 1000u);
  const auto& edges = profile_.features(0).numeric().edges();
  EXPECT_EQ(ref.edges(), std::vector<double>(edges.begin(), edges.end()));
  EXPECT_EQ(GaugeValue(f, "ml_reference_feature_category_ratio",
                       ModelSeries("m", {{"feature", "c"}, {"value", "a"}})),
            0.6);
  // Bin ratios carry `lower` and `upper` exactly as the text format prints
  // le.
  prometheus::TextSerializer serializer;
  const std::string text = serializer.Serialize(f);
  std::set<std::string> le_printed;
  std::regex le_re(
      "ml_reference_feature_value_bucket\\{[^}]*feature=\"x\","
      "le=\"([^\"]+)\"");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), le_re);
       it != std::sregex_iterator(); ++it) {
    le_printed.insert((*it)[1]);
  }
  double total = 0;
  std::string previous = "-Inf";
  for (const Labels& l : SeriesLabels(f, "ml_reference_feature_bin_ratio")) {
    if (l.at("feature") != "x") continue;
    EXPECT_EQ(l.at("lower"), previous);
    EXPECT_TRUE(le_printed.count(l.at("upper"))) << l.at("upper");
    previous = l.at("upper");
    total += GaugeValue(f, "ml_reference_feature_bin_ratio", l);
  }
  EXPECT_EQ(previous, "+Inf");
  EXPECT_NEAR(total, 1, 1e-12);
  EXPECT_EQ(
      GaugeValue(f, "ml_drift_reference_info",
                 ModelSeries("m", {{"source", "profile"}, {"path", path_}})),
      1);
  EXPECT_EQ(GaugeValue(f, "ml_drift_window_seconds", ModelSeries("m")), 100);
}

TEST_F(DriftCollectorTest, ModelsWithoutReferenceGetNothingByDefault) {
  Harness h(Refs());
  h.ObserveInput("x", FieldValue::Number(1), "other_model");
  const Families f = h.Collect();
  EXPECT_TRUE(SeriesLabels(f, "ml_feature_window_values").empty());
  EXPECT_TRUE(SeriesLabels(f, "ml_drift_reference_info").empty());
}

TEST_F(DriftCollectorTest, MethodsParamSelectsMethods) {
  google::protobuf::Struct params;
  auto* list = (*params.mutable_fields())["methods"].mutable_list_value();
  list->add_values()->set_string_value("ks");
  Harness h(Refs(), TestDrift(), params.SerializeAsString());
  h.ObserveNumbers("x", {1, 2, 3});
  const Families f = h.Collect();
  EXPECT_FALSE(std::isnan(Drift(f, "x", "ks")));
  EXPECT_TRUE(std::isnan(Drift(f, "x", "psi")));
  EXPECT_EQ(SeriesLabels(f, "ml_feature_drift").size(), 1u);
}

TEST(DriftParams, RejectsUnknownKeysAndBadValues) {
  const auto parse = [](const std::string& key, google::protobuf::Value v) {
    google::protobuf::Struct s;
    (*s.mutable_fields())[key] = v;
    DriftSettings settings;
    return ParseDriftParams(s.SerializeAsString(), &settings);
  };
  google::protobuf::Value number;
  number.set_number_value(-1);
  EXPECT_FALSE(parse("window_seconds", number).ok());
  EXPECT_FALSE(parse("min_count", number).ok());
  EXPECT_NE(parse("windows", number).message().find("unknown drift param"),
            std::string::npos);
  google::protobuf::Value methods;
  methods.mutable_list_value()->add_values()->set_string_value("kl");
  EXPECT_NE(parse("methods", methods).message().find("unknown drift method"),
            std::string::npos);
  google::protobuf::Value yes;
  yes.set_bool_value(true);
  DriftSettings settings;
  google::protobuf::Struct s;
  (*s.mutable_fields())["baseline"] = yes;
  number.set_number_value(600);
  (*s.mutable_fields())["window_seconds"] = number;
  ASSERT_TRUE(ParseDriftParams(s.SerializeAsString(), &settings).ok());
  EXPECT_TRUE(settings.drift.baseline_from_traffic);
  EXPECT_EQ(settings.drift.window_seconds, 600);
}

TEST(DriftBaseline, FirstWindowOfTrafficBecomesTheReference) {
  g_now = 1000;
  DriftOptions drift = TestDrift(/*min_count=*/100, /*window=*/100);
  drift.baseline_from_traffic = true;
  Harness h({}, drift);
  // Multiples of the 64 values a thread buffers before handing them over.
  std::vector<double> values;
  for (int i = 0; i < 1600; ++i) values.push_back((i % 100) / 10.0);
  h.ObserveNumbers("x", values);
  for (int i = 0; i < 384; ++i) {
    h.ObserveInput("c", FieldValue::String(i % 3 ? "a" : "b"));
  }
  Families f = h.Collect();
  EXPECT_EQ(WindowCount(f, "x"), 0) << "still collecting the baseline";
  EXPECT_TRUE(std::isnan(Drift(f, "x", "psi")));
  g_now = 1105;  // the first window is over: the baseline is complete
  f = h.Collect();
  EXPECT_EQ(GaugeValue(f, "ml_drift_reference_info",
                       ModelSeries("m", {{"source", "traffic"}, {"path", ""}})),
            1);
  // The same distribution again: small scores; then a shifted one.
  h.ObserveNumbers("x", values);
  for (int i = 0; i < 384; ++i) {
    h.ObserveInput("c", FieldValue::String(i % 3 ? "a" : "b"));
  }
  f = h.Collect();
  EXPECT_EQ(WindowCount(f, "x"), 1600);
  EXPECT_LT(Drift(f, "x", "psi"), 0.01);
  EXPECT_LT(Drift(f, "x", "ks"), 0.02);
  EXPECT_LT(Drift(f, "c", "psi"), 0.01);
  EXPECT_GT(Drift(f, "c", "chi2_p_value"), 0.5);
  g_now = 1300;
  std::vector<double> shifted;
  for (double v : values) shifted.push_back(v + 3);
  h.ObserveNumbers("x", shifted);
  f = h.Collect();
  EXPECT_GT(Drift(f, "x", "psi"), 1);
  EXPECT_NEAR(Drift(f, "x", "wasserstein"), 3, 0.05);
  // No reference distribution is exported for a traffic baseline.
  EXPECT_TRUE(SeriesLabels(f, "ml_reference_feature_value").empty());
}

TEST(DriftReference, LoadErrorsAreReportedNotFatal) {
  TempDir dir;
  const std::string bad = dir.file("bad.profile");
  std::ofstream(bad)
      << "features { name: \"x\" kind: NUMERIC numeric { count: 3"
         " edges: 2 edges: 1 counts: 1 counts: 1 counts: 1 } }";
  Status s;
  EXPECT_FALSE(profile::LoadReference(bad, &s));
  EXPECT_NE(s.message().find("features[0] \"x\": numeric.edges must be "
                             "strictly increasing (2 then 1)"),
            std::string::npos)
      << s.message();
  Harness h({{"m", "", "", bad}});
  h.ObserveNumbers("x", {1});
  Status collect;
  const Families f = h.Collect(&collect);
  EXPECT_FALSE(collect.ok());
  EXPECT_NE(collect.message().find("model \"m\""), std::string::npos);
  EXPECT_TRUE(SeriesLabels(f, "ml_feature_window_values").empty());
  EXPECT_FALSE(profile::LoadReference(dir.file("missing.profile"), &s));
  EXPECT_NE(s.message().find("cannot read reference profile"),
            std::string::npos);
}

TEST(DriftReference, TextFormIsAccepted) {
  TempDir dir;
  ReferenceProfile p;
  *p.add_features() = CategoricalField("c", {{"a", 2}, {"b", 1}});
  const std::string path = dir.file("p.txt");
  std::ofstream(path) << p.DebugString();
  Status s;
  auto loaded = profile::LoadReference(path, &s);
  ASSERT_TRUE(loaded) << s.message();
  ASSERT_NE(loaded->Feature("c"), nullptr);
  EXPECT_EQ(loaded->Feature("c")->category_names.size(), 2u);
}

TEST(DriftReference, FirstMatchingSpecApplies) {
  const std::vector<ReferenceSpec> specs = {{"asr", "v2", "", "a"},
                                            {"asr*", "", "", "b"}};
  EXPECT_EQ(profile::FindReference(specs, "asr", "v2", "none")->path, "a");
  EXPECT_EQ(profile::FindReference(specs, "asr", "v3", "none")->path, "b");
  EXPECT_EQ(profile::FindReference(specs, "asr-large", "v2", "x")->path, "b");
  EXPECT_EQ(profile::FindReference(specs, "tts", "v2", "none"), nullptr);
}

TEST(DriftFieldCollector, NumericHistogramsUseTheProfileEdges) {
  TempDir dir;
  ReferenceProfile p;
  std::vector<double> values;
  for (int i = 0; i < 1000; ++i) values.push_back(i / 10.0);
  *p.add_features() = NumericField("age", values);
  *p.add_outputs() = NumericField("score", values);
  PipelineOptions options;
  options.references = {{"m", "", "", WriteProfile(dir, p)}};
  options.explicit_buckets["score"] = {1, 2};  // explicit edges still win
  std::unique_ptr<Pipeline> pipeline;
  ASSERT_TRUE(Pipeline::Create(options, &pipeline).ok());
  Record r;
  r.model = "m";
  r.inputs = {{"age", FieldValue::Number(42)}};
  r.outputs = {{"score", FieldValue::Number(1.5)}};
  ASSERT_TRUE(pipeline->Observe(r).ok());
  const Families f = pipeline->Collect();
  const auto age =
      Histogram(f, "ml_feature_value", ModelSeries("m", {{"feature", "age"}}));
  ASSERT_TRUE(age.found) << "no warm-up with a profile";
  const auto& edges = p.features(0).numeric().edges();
  EXPECT_EQ(age.edges(), std::vector<double>(edges.begin(), edges.end()));
  const auto score =
      Histogram(f, "ml_output_value", ModelSeries("m", {{"output", "score"}}));
  EXPECT_EQ(score.edges(), (std::vector<double>{1, 2}));
  // The drift collector runs by default and scores the model.
  EXPECT_EQ(WindowCount(f, "age"), 1);
}

TEST(DriftFieldCollector, ReconfigureAppliesAChangedProfile) {
  TempDir dir;
  ReferenceProfile narrow, wide;
  std::vector<double> small, large;
  for (int i = 0; i < 1000; ++i) {
    small.push_back(i / 100.0);
    large.push_back(i * 10.0);
  }
  *narrow.add_features() = NumericField("age", small);
  *wide.add_features() = NumericField("age", large);
  PipelineOptions options;
  options.references = {{"m", "", "", WriteProfile(dir, narrow)}};
  std::unique_ptr<Pipeline> pipeline;
  ASSERT_TRUE(Pipeline::Create(options, &pipeline).ok());
  Record r;
  r.model = "m";
  r.inputs = {{"age", FieldValue::Number(5)}};
  ASSERT_TRUE(pipeline->Observe(r).ok());
  auto edges_now = [&] {
    return Histogram(pipeline->Collect(), "ml_feature_value",
                     ModelSeries("m", {{"feature", "age"}}))
        .edges();
  };
  const auto& narrow_edges = narrow.features(0).numeric().edges();
  const auto& wide_edges = wide.features(0).numeric().edges();
  ASSERT_EQ(edges_now(),
            std::vector<double>(narrow_edges.begin(), narrow_edges.end()));

  // The same options again: nothing is rebuilt.
  ASSERT_TRUE(pipeline->Reconfigure(options).ok());
  EXPECT_EQ(WindowCount(pipeline->Collect(), "age"), 1);

  // Another profile file: the collectors start afresh with its edges.
  options.references[0].path = WriteProfile(dir, wide);
  ASSERT_TRUE(pipeline->Reconfigure(options).ok());
  ASSERT_TRUE(pipeline->Observe(r).ok());
  EXPECT_EQ(edges_now(),
            std::vector<double>(wide_edges.begin(), wide_edges.end()));
  EXPECT_EQ(WindowCount(pipeline->Collect(), "age"), 1);

  // The same path rewritten in place (re-profiled): applied too.
  {
    std::ofstream out(options.references[0].path,
                      std::ios::binary | std::ios::trunc);
    out << narrow.SerializeAsString();
  }
  // A later modification time than the first write, whatever the clock's
  // resolution.
  std::filesystem::last_write_time(
      options.references[0].path,
      std::filesystem::last_write_time(options.references[0].path) +
          std::chrono::seconds(2));
  ASSERT_TRUE(pipeline->Reconfigure(options).ok());
  ASSERT_TRUE(pipeline->Observe(r).ok());
  EXPECT_EQ(edges_now(),
            std::vector<double>(narrow_edges.begin(), narrow_edges.end()));
}

}  // namespace
}  // namespace ml_exporter
