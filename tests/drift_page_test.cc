#include "exporter/drift_page.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "ml_exporter/metric_builder.h"

namespace ml_exporter::internal {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;
using std::chrono::seconds;

ModelLabels Model(const std::string& name) { return {name, "v1", "main"}; }

// Families as the pipeline would export them for one numeric feature.
struct Exposition {
  std::vector<MetricFamily> families;
  MetricFamily value = NewFamily("ml_feature_value", "", MetricType::Histogram);
  MetricFamily missing =
      NewFamily("ml_feature_missing_total", "", MetricType::Counter);
  MetricFamily observations =
      NewFamily("ml_feature_observations_total", "", MetricType::Counter);
  MetricFamily categories =
      NewFamily("ml_feature_category_total", "", MetricType::Counter);
  MetricFamily reference =
      NewFamily("ml_reference_feature_value", "", MetricType::Histogram);
  MetricFamily ref_categories =
      NewFamily("ml_reference_feature_category_ratio", "", MetricType::Gauge);
  MetricFamily drift = NewFamily("ml_feature_drift", "", MetricType::Gauge);
  MetricFamily thresholds =
      NewFamily("ml_alert_threshold", "", MetricType::Gauge);

  void Numeric(const std::string& model, const std::string& feature,
               std::vector<uint64_t> counts, double missing_count) {
    uint64_t n = 0;
    for (uint64_t c : counts) n += c;
    AddHistogram(&value, ModelLabelList(Model(model), {{"feature", feature}}),
                 {1, 2, 3}, counts, 0);
    AddCounter(&missing, ModelLabelList(Model(model), {{"feature", feature}}),
               missing_count);
    AddCounter(&observations,
               ModelLabelList(Model(model), {{"feature", feature}}),
               static_cast<double>(n) + missing_count);
  }
  void Category(const std::string& model, const std::string& feature,
                const std::string& v, double count) {
    AddCounter(
        &categories,
        ModelLabelList(Model(model), {{"feature", feature}, {"value", v}}),
        count);
  }
  void Drift(const std::string& model, const std::string& feature,
             const std::string& method, double score) {
    AddGauge(&drift,
             ModelLabelList(Model(model),
                            {{"feature", feature}, {"method", method}}),
             score);
  }
  std::vector<MetricFamily> Families() const {
    return {value,     missing,        observations, categories,
            reference, ref_categories, drift,        thresholds};
  }
};

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos;
       p = text.find(what, p + 1)) {
    ++n;
  }
  return n;
}

TEST(DriftPageQueryTest, ParsesAndDecodes) {
  const DriftPageQuery q =
      DriftPageQuery::Parse("model=my%20model&feature=a+b&window=300&x=1");
  EXPECT_EQ(q.model, "my model");
  EXPECT_EQ(q.feature, "a b");
  EXPECT_EQ(q.window_seconds, 300);
  EXPECT_EQ(DriftPageQuery::Parse("window=-5").window_seconds, 0);
  EXPECT_EQ(DriftPageQuery::Parse("window=abc").window_seconds, 0);
  EXPECT_EQ(DriftPageQuery::Parse("").model, "");
}

TEST(DriftPageTest, WithoutDriftCollectorShowsLiveAndMissing) {
  Exposition e;
  e.Numeric("churn", "age", {10, 20, 30, 40}, 150);
  e.Category("churn", "country", "DE", 30);
  e.Category("churn", "country", "FR", 10);
  DriftPage page;
  const std::string html = page.Render(e.Families(), {});
  EXPECT_NE(html.find("id=\"no-reference\""), std::string::npos);
  EXPECT_EQ(Count(html, "<svg"), 2);  // histogram and categories
  EXPECT_EQ(Count(html, "class=\"live\""), 4 + 2);
  EXPECT_EQ(Count(html, "class=\"reference\""), 0);
  // 150 missing of 250 observations.
  EXPECT_NE(html.find("missing 60.0%"), std::string::npos);
  // Over the alert rules' default missing_ratio threshold (50%): flagged.
  EXPECT_NE(html.find("<td class=\"bad\">60.0%</td>"), std::string::npos);
  EXPECT_NE(html.find("alert above 50.0%"), std::string::npos);
  EXPECT_EQ(html.find("NaN"), std::string::npos);
  EXPECT_EQ(html.find("nan"), std::string::npos);
}

TEST(DriftPageTest, SortsByDriftRelativeToThresholdAndDrawsReference) {
  Exposition e;
  e.Numeric("asr", "snr_db", {25, 25, 25, 25}, 0);
  e.Numeric("asr", "audio_seconds", {70, 10, 10, 10}, 0);
  e.Numeric("vision", "brightness", {25, 25, 25, 25}, 0);
  AddHistogram(&e.reference,
               ModelLabelList(Model("asr"), {{"feature", "audio_seconds"}}),
               {1, 2, 3}, {25, 25, 25, 25}, 0);
  e.Drift("asr", "audio_seconds", "psi", 0.5);   // 2x the default 0.25
  e.Drift("asr", "snr_db", "psi", 0.1);          // 0.4x
  e.Drift("asr", "snr_db", "ks", 0.9);           // no threshold: not ranked
  e.Drift("vision", "brightness", "psi", 0.15);  // 3x a configured 0.05
  AddGauge(&e.thresholds,
           ModelLabelList(Model("vision"), {{"feature", "brightness"},
                                            {"metric", "drift_psi"},
                                            {"bound", "upper"}}),
           0.05);
  DriftPage page;
  const std::string html = page.Render(e.Families(), {});
  const size_t brightness = html.find("id=\"f0\"");
  ASSERT_NE(brightness, std::string::npos);
  EXPECT_LT(html.find(">brightness</a>"), html.find(">audio_seconds</a>"));
  EXPECT_LT(html.find(">audio_seconds</a>"), html.find(">snr_db</a>"));
  EXPECT_NE(html.find("3.0&times; psi"), std::string::npos);
  EXPECT_NE(html.find("2.0&times; psi"), std::string::npos);
  EXPECT_NE(html.find("0.40&times; psi"), std::string::npos);
  EXPECT_NE(html.find("alert above 0.05"), std::string::npos);
  // Only audio_seconds has a reference: four outlined buckets.
  EXPECT_EQ(Count(html, "class=\"reference\""), 4);
  EXPECT_EQ(html.find("id=\"no-reference\""), std::string::npos);
  EXPECT_NE(html.find("No reference for this feature"), std::string::npos);
}

TEST(DriftPageTest, ReferenceOnOtherEdgesIsRebinned) {
  Exposition e;
  e.Numeric("asr", "snr_db", {25, 25, 25, 25}, 0);  // edges 1, 2, 3
  // Reference on edges 0, 4: all of it in (0, 4], spread evenly by the
  // page over the live buckets (0, 1], (1, 2], (2, 3] and (3, 4].
  AddHistogram(&e.reference,
               ModelLabelList(Model("asr"), {{"feature", "snr_db"}}), {0, 4},
               {0, 100, 0}, 0);
  DriftPage page;
  const std::string html = page.Render(e.Families(), {});
  EXPECT_EQ(Count(html, "class=\"reference\""), 4);
  EXPECT_NE(html.find("(1, 2]: live 25.0%, reference 25.0%"),
            std::string::npos);
  EXPECT_NE(html.find("(&minus;&infin;, 1]: live 25.0%, reference 25.0%"),
            std::string::npos);
}

TEST(DriftPageTest, FiltersByModelAndFeature) {
  Exposition e;
  e.Numeric("asr", "snr_db", {1, 1, 1, 1}, 0);
  e.Numeric("vision", "brightness", {1, 1, 1, 1}, 0);
  DriftPage page;
  DriftPageQuery q;
  q.model = "vision";
  const std::string html = page.Render(e.Families(), q);
  EXPECT_EQ(html.find("snr_db"), std::string::npos);
  EXPECT_NE(html.find("brightness"), std::string::npos);
}

TEST(DriftPageTest, LiveWindowIsTheChangeSinceAnOldEnoughView) {
  const auto t0 = std::chrono::system_clock::time_point(seconds(1'000'000));
  DriftPage page;
  DriftPageQuery q;
  q.window_seconds = 60;
  {
    Exposition e;
    e.Numeric("churn", "age", {100, 0, 0, 0}, 0);
    const std::string html = page.Render(e.Families(), q, t0);
    EXPECT_NE(html.find("since the counters started"), std::string::npos);
    EXPECT_NE(html.find("live (100 values)"), std::string::npos);
  }
  {
    // 30 s later: no view is a window old yet.
    Exposition e;
    e.Numeric("churn", "age", {100, 10, 0, 0}, 0);
    const std::string html = page.Render(e.Families(), q, t0 + seconds(30));
    EXPECT_NE(html.find("live (110 values)"), std::string::npos);
  }
  {
    // 90 s after the first view: the change since the newest view at
    // least 60 s old (the one at 30 s).
    Exposition e;
    e.Numeric("churn", "age", {100, 10, 0, 40}, 10);
    const std::string html = page.Render(e.Families(), q, t0 + seconds(90));
    EXPECT_NE(html.find("live (40 values)"), std::string::npos);
    EXPECT_NE(html.find("over the last 60 s"), std::string::npos);
    // 10 missing of 50 observations in the window.
    EXPECT_NE(html.find("missing 20.0%"), std::string::npos);
  }
  {
    // A restarted series (counts went down) is shown since its restart.
    Exposition e;
    e.Numeric("churn", "age", {5, 0, 0, 0}, 0);
    const std::string html = page.Render(e.Families(), q, t0 + seconds(200));
    EXPECT_NE(html.find("live (5 values)"), std::string::npos);
  }
}

TEST(DriftPageTest, SnapshotsThinOutAndStillReachBack) {
  const auto t0 = std::chrono::system_clock::time_point(seconds(1'000'000));
  DriftPage page;
  DriftPageQuery q;
  q.window_seconds = 3000;
  // A view every 10 s for 1 h: far more than kMaxSnapshots.
  for (int s = 0; s <= 3600; s += 10) {
    Exposition e;
    e.Numeric("churn", "age", {static_cast<uint64_t>(s), 0, 0, 0}, 0);
    const std::string html = page.Render(e.Families(), q, t0 + seconds(s));
    if (s == 3600) {
      // Some kept snapshot is 3000 s old or a little more.
      const std::smatch m = [&] {
        std::smatch r;
        std::regex_search(html, r, std::regex("over the last ([0-9]+) min"));
        return r;
      }();
      ASSERT_FALSE(m.empty()) << html.substr(html.find("Live:"), 200);
      const int minutes = std::stoi(m[1]);
      EXPECT_GE(minutes, 50);
      EXPECT_LE(minutes, 60);
    }
  }
}

// A configured upper bound of a p-value is not what the page judges by.
TEST(DriftPageTest, ThresholdBoundsByMetric) {
  Exposition e;
  e.Category("asr", "language", "en", 50);
  e.Drift("asr", "language", "chi2_p_value", 0.5);
  AddGauge(&e.thresholds,
           ModelLabelList(Model("asr"), {{"feature", "language"},
                                         {"metric", "drift_chi2_p_value"},
                                         {"bound", "upper"}}),
           0.9);
  DriftPage page;
  EXPECT_EQ(page.Render(e.Families(), {}).find("&times; chi2_p_value"),
            std::string::npos);
}

TEST(DriftPageTest, CategoricalReferenceAndEscaping) {
  Exposition e;
  e.Category("asr", "language", "en", 50);
  e.Category("asr", "language", "<de>", 50);
  AddGauge(
      &e.ref_categories,
      ModelLabelList(Model("asr"), {{"feature", "language"}, {"value", "en"}}),
      0.9);
  AddGauge(&e.ref_categories,
           ModelLabelList(Model("asr"),
                          {{"feature", "language"}, {"value", "<de>"}}),
           0.1);
  e.Drift("asr", "language", "chi2_p_value", 1e-9);
  DriftPage page;
  // No default for the p-value: without a configured threshold it does
  // not rank the feature.
  EXPECT_EQ(page.Render(e.Families(), {}).find("&times; chi2_p_value"),
            std::string::npos);
  AddGauge(&e.thresholds,
           ModelLabelList(Model("asr"), {{"feature", "language"},
                                         {"metric", "drift_chi2_p_value"},
                                         {"bound", "lower"}}),
           0.01);
  const std::string html = page.Render(e.Families(), {});
  EXPECT_EQ(html.find("<de>"), std::string::npos);
  EXPECT_NE(html.find("&lt;de&gt;"), std::string::npos);
  EXPECT_EQ(Count(html, "class=\"reference\""), 2);
  // A p-value far below 0.01 is capped at 100x.
  EXPECT_NE(html.find("100.0&times; chi2_p_value"), std::string::npos);
}

// The page judges features as the alert rules do: its defaults are theirs.
TEST(DriftPageTest, DefaultThresholdsAreTheAlertRules) {
  std::ifstream in(ALERTS_FILE);
  if (!in) GTEST_SKIP() << ALERTS_FILE << " not found";
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& [metric, value] : DriftPage::DefaultThresholds()) {
    char number[32];
    std::snprintf(number, sizeof number, "%g", value);
    const std::regex rule("ml_alert_value:current\\{metric=\"" + metric +
                          "\"[^}]*\\} \\+ " + std::string(number) + "\\b");
    EXPECT_TRUE(std::regex_search(text.str(), rule))
        << metric << " default " << number << " is not in " << ALERTS_FILE;
  }
}

TEST(DriftPageTest, EmptyPipeline) {
  DriftPage page;
  const std::string html = page.Render({}, {});
  EXPECT_NE(html.find("id=\"empty\""), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
}

}  // namespace
}  // namespace ml_exporter::internal
