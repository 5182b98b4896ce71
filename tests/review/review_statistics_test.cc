// Unit tests of mltool review's statistics and suggestions
// (mltool/review/statistics.h, config_suggestions.h, selector.h,
// time_range.h, prometheus_client.h's reply parsing).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "mltool/review/config_suggestions.h"
#include "mltool/review/findings.h"
#include "mltool/review/prometheus_client.h"
#include "mltool/review/selector.h"
#include "mltool/review/statistics.h"
#include "mltool/review/time_range.h"

namespace ml_exporter::mltool::review {
namespace {

std::vector<Sample> Values(const std::vector<double>& values,
                           double start = 1000, double step = 60) {
  std::vector<Sample> out;
  for (size_t i = 0; i < values.size(); ++i) {
    out.push_back({start + step * static_cast<double>(i), values[i]});
  }
  return out;
}

TEST(Flatness, CounterWithoutIncreaseIsFlat) {
  EXPECT_TRUE(IsFlatCounter(Values({7, 7, 7, 7})));
  EXPECT_FALSE(IsFlatCounter(Values({7, 7, 8, 8})));
}

TEST(Flatness, CounterResetCountsAsIncreaseSinceTheReset) {
  // 10 -> 3 is a restart after which 3 were counted; then +2.
  EXPECT_DOUBLE_EQ(CounterIncrease(Values({10, 10, 3, 5})), 5);
  EXPECT_FALSE(IsFlatCounter(Values({10, 10, 3, 3})));
  // A reset to zero with nothing counted after it did not move.
  EXPECT_TRUE(IsFlatCounter(Values({10, 10, 0, 0})));
}

TEST(Flatness, OneSampleIsNotJudged) {
  EXPECT_FALSE(IsFlatCounter(Values({3})));
  EXPECT_FALSE(IsFlatGauge(Values({3}), 0.01));
  EXPECT_FALSE(IsFlatGauge({}, 0.01));
}

TEST(Flatness, GaugeRelativeVariationAgainstTheLevel) {
  // Mean 100, spread 0.5: 0.5% varies less than 1%.
  EXPECT_TRUE(IsFlatGauge(Values({100, 100.25, 99.75, 100}), 0.01));
  // Spread 4 around a mean of 100: 4% is movement at a 1% level.
  EXPECT_FALSE(IsFlatGauge(Values({98, 102, 100, 100}), 0.01));
  EXPECT_TRUE(IsFlatGauge(Values({98, 102, 100, 100}), 0.05));
  const Variation v = GaugeVariation(Values({98, 102, 100, 100}));
  EXPECT_DOUBLE_EQ(v.min, 98);
  EXPECT_DOUBLE_EQ(v.max, 102);
  EXPECT_DOUBLE_EQ(v.mean, 100);
  EXPECT_DOUBLE_EQ(v.relative, 0.04);
}

TEST(Flatness, ConstantZeroIsFlatButZeroMeanWithSpreadIsNot) {
  EXPECT_TRUE(IsFlatGauge(Values({0, 0, 0}), 0.01));
  EXPECT_FALSE(IsFlatGauge(Values({-1, 1, -1, 1}), 0.01));
  EXPECT_TRUE(std::isinf(GaugeVariation(Values({-1, 1})).relative));
}

TEST(Flatness, NaNSamplesAreIgnored) {
  const double nan = std::nan("");
  EXPECT_TRUE(IsFlatGauge(Values({5, nan, 5, 5}), 0.01));
  EXPECT_TRUE(IsFlatCounter(Values({5, nan, 5})));
  EXPECT_FALSE(IsFlatCounter(Values({5, nan, 6})));
}

TEST(Quantiles, InterpolateBetweenClosestRanksLikeNumpy) {
  // numpy.quantile([1, 2, 3, 4], q) for q = 0, 0.5, 0.9, 1.
  const std::vector<double> v = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(*Quantile(v, 0), 1);
  EXPECT_DOUBLE_EQ(*Quantile(v, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(*Quantile(v, 0.9), 3.7);
  EXPECT_DOUBLE_EQ(*Quantile(v, 1), 4);
  EXPECT_FALSE(Quantile({}, 0.5).has_value());
  EXPECT_FALSE(Quantile({std::nan("")}, 0.5).has_value());
}

TEST(Quantiles, DistributionOfSamples) {
  std::vector<double> v;
  for (int i = 0; i <= 100; ++i) v.push_back(i);
  const Distribution d = Distribute(Values(v));
  EXPECT_EQ(d.samples, 101u);
  EXPECT_DOUBLE_EQ(d.min, 0);
  EXPECT_DOUBLE_EQ(d.p50, 50);
  EXPECT_DOUBLE_EQ(d.p90, 90);
  EXPECT_DOUBLE_EQ(d.p99, 99);
  EXPECT_DOUBLE_EQ(d.max, 100);
  EXPECT_EQ(Distribute({}).samples, 0u);
}

TEST(AlertActivity, FiringRatioEpisodesAndMedianOnTheGrid) {
  // Grid 0..540 at 60 s: 10 points. Firing at 60, 120 (one episode of 2),
  // 300 (one of 1), 420, 480, 540 (one of 3).
  std::vector<Sample> firing = {{60, 1},  {120, 1}, {300, 1},
                                {420, 1}, {480, 1}, {540, 1}};
  const AlertActivity a = ActivityOnGrid(firing, 0, 540, 60);
  EXPECT_EQ(a.steps, 10u);
  EXPECT_EQ(a.firing_steps, 6u);
  EXPECT_DOUBLE_EQ(a.firing_ratio, 0.6);
  EXPECT_EQ(a.episodes, 3u);
  EXPECT_DOUBLE_EQ(a.median_episode_seconds, 120);
}

TEST(AlertActivity, NeverFiringAndSamplesOffTheRange) {
  const AlertActivity none = ActivityOnGrid({}, 0, 540, 60);
  EXPECT_EQ(none.steps, 10u);
  EXPECT_EQ(none.firing_steps, 0u);
  EXPECT_EQ(none.episodes, 0u);
  const AlertActivity outside =
      ActivityOnGrid({{-600, 1}, {6000, 1}}, 0, 540, 60);
  EXPECT_EQ(outside.firing_steps, 0u);
}

TEST(AlertActivity, FlappingNeedsManyShortEpisodes) {
  AlertActivity a;
  a.episodes = 5;
  a.median_episode_seconds = 600;
  EXPECT_TRUE(IsFlapping(a, 3, 3600));
  a.median_episode_seconds = 7200;  // long alarms: not flapping
  EXPECT_FALSE(IsFlapping(a, 3, 3600));
  a.median_episode_seconds = 600;
  a.episodes = 2;  // too few
  EXPECT_FALSE(IsFlapping(a, 3, 3600));
}

TEST(SuggestedThreshold, UpperBoundCrossedOnTheWorstPercent) {
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.2, 0.05);
  std::vector<double> v;
  for (int i = 0; i < 2000; ++i) v.push_back(noise(rng));
  const auto samples = Values(v);
  for (double percent : {1.0, 5.0, 20.0}) {
    const auto t = SuggestThreshold(samples, /*upper_bound=*/true, percent);
    ASSERT_TRUE(t.has_value());
    // The share of samples beyond the suggestion is the percent asked for
    // (up to one sample of interpolation).
    EXPECT_NEAR(FractionBeyond(samples, *t, true), percent / 100, 1.0 / 2000)
        << percent;
  }
}

TEST(SuggestedThreshold, LowerBoundUsesTheLowTail) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  const auto samples = Values(v);
  const auto lower = SuggestThreshold(samples, /*upper_bound=*/false, 5);
  const auto upper = SuggestThreshold(samples, /*upper_bound=*/true, 5);
  ASSERT_TRUE(lower && upper);
  EXPECT_DOUBLE_EQ(*lower, *Quantile(v, 0.05));
  EXPECT_DOUBLE_EQ(*upper, *Quantile(v, 0.95));
  EXPECT_LT(*lower, *upper);
  EXPECT_NEAR(FractionBeyond(samples, *lower, false), 0.05, 0.01);
  EXPECT_FALSE(SuggestThreshold({}, true, 5).has_value());
}

TEST(SuggestedThreshold, FractionBeyondAndCoverage) {
  const auto samples = Values({0.1, 0.2, 0.3, 0.4});
  EXPECT_DOUBLE_EQ(FractionBeyond(samples, 0.25, true), 0.5);
  EXPECT_DOUBLE_EQ(FractionBeyond(samples, 0.25, false), 0.5);
  EXPECT_DOUBLE_EQ(FractionBeyond(samples, 0.4, true), 0);
  // 4 samples on a grid of 1000..1540 at 60 s (10 points).
  EXPECT_DOUBLE_EQ(Coverage(samples, 1000, 1540, 60), 0.4);
}

TEST(ConfigSuggestions, GlobsAsTheConfigurationUsesThem) {
  EXPECT_TRUE(GlobMatches("", "anything"));
  EXPECT_TRUE(GlobMatches("asr-*", "asr-en"));
  EXPECT_TRUE(GlobMatches("*", ""));
  EXPECT_TRUE(GlobMatches("a*b*c", "axxbyyc"));
  EXPECT_FALSE(GlobMatches("asr-*", "asr"));
  EXPECT_FALSE(GlobMatches("asr", "asr-en"));
}

TEST(ConfigSuggestions, WithoutConfigurationExcludeFromTheDefaults) {
  const std::string yaml = SuggestCollectorConfig(
      {"churn", "v2", "main"},
      {{"inputs", {"legacy_code", "old score"}, false}, {"sessions", {}, true}},
      nullptr, "", {"inputs", "outputs", "software"});
  EXPECT_NE(yaml.find("  - model: churn\n    stage: main\n"), std::string::npos)
      << yaml;
  EXPECT_NE(yaml.find("      - name: inputs\n        exclude: [legacy_code, "
                      "\"old score\"]"),
            std::string::npos)
      << yaml;
  EXPECT_NE(yaml.find("      - name: outputs\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("# - name: sessions"), std::string::npos) << yaml;
  EXPECT_EQ(SuggestCollectorConfig({"m", "", "s"}, {}, nullptr, "", {}), "");
}

TEST(ConfigSuggestions, FirstMatchingEntryIsEditedKeepingItsLists) {
  config::v1::Config config;
  auto* other = config.add_models();
  other->set_model("asr-*");
  auto* entry = config.add_models();
  entry->set_model("churn");
  entry->set_stage("main");
  auto* inputs = entry->add_collectors();
  inputs->set_name("inputs");
  inputs->add_exclude("ssn");
  auto* outputs = entry->add_collectors();
  outputs->set_name("outputs");
  outputs->add_include("score");
  outputs->add_include("label");
  auto* catch_all = config.add_models();
  catch_all->set_model("*");
  ASSERT_EQ(FirstMatchingEntry(config, {"churn", "v2", "main"}), 1);
  ASSERT_EQ(FirstMatchingEntry(config, {"asr-en", "v1", "x"}), 0);
  const std::string yaml = SuggestCollectorConfig(
      {"churn", "v2", "main"},
      {{"inputs", {"legacy_code"}, false}, {"outputs", {"label"}, false}},
      &config, "prod.yaml", {});
  EXPECT_NE(yaml.find("models[1] of prod.yaml"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("exclude: [ssn, legacy_code]"), std::string::npos)
      << yaml;
  // An include list loses the field instead of gaining an exclude.
  EXPECT_NE(yaml.find("include: [score]"), std::string::npos) << yaml;
  EXPECT_EQ(yaml.find("exclude: [label]"), std::string::npos) << yaml;
}

TEST(ConfigSuggestions, EntryWithoutCollectorsGetsTheDefaultCollectors) {
  config::v1::Config config;
  config.add_default_collectors()->set_name("software");
  config.add_default_collectors()->set_name("inputs");
  auto* entry = config.add_models();
  entry->set_model("churn");
  const std::string yaml = SuggestCollectorConfig(
      {"churn", "v2", "main"}, {{"inputs", {"x"}, false}}, &config, "c.yaml",
      {"ignored_builtin"});
  EXPECT_NE(yaml.find("- name: software"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("exclude: [x]"), std::string::npos) << yaml;
  EXPECT_EQ(yaml.find("ignored_builtin"), std::string::npos) << yaml;
}

TEST(ConfigSuggestions, LimitsInForceAndSuggested) {
  EXPECT_EQ(LimitInForce(nullptr, "max_label_values"), 50);
  EXPECT_EQ(LimitInForce(nullptr, "max_features"), 1000);
  config::v1::Config config;
  config.mutable_global()->mutable_limits()->set_max_label_values(20);
  EXPECT_EQ(LimitInForce(&config, "max_label_values"), 20);
  EXPECT_EQ(LimitInForce(&config, "max_outputs"), 100);
  EXPECT_EQ(SuggestLimit(20), 40);
  const std::string yaml = SuggestLimitConfig("max_label_values", 20, 40, 300);
  EXPECT_NE(yaml.find("global:\n  limits:\n    max_label_values: 40"),
            std::string::npos)
      << yaml;
}

TEST(Selector, ParsesAndAppliesMatchers) {
  Selector s;
  ASSERT_TRUE(
      Selector::Parse(R"({model="asr", stage=~"dec.*", job!='x'})", &s).ok());
  ASSERT_EQ(s.matchers().size(), 3u);
  EXPECT_EQ(s.Apply("ml_records_total"),
            R"(ml_records_total{model="asr", stage=~"dec.*", job!="x"})");
  EXPECT_EQ(
      s.Apply("ALERTS", R"(alertstate="firing")"),
      R"(ALERTS{alertstate="firing", model="asr", stage=~"dec.*", job!="x"})");
  // The exporter's own metrics have no model labels: only job stays.
  EXPECT_EQ(s.Apply("ml_exporter_collector_success", "", false),
            R"(ml_exporter_collector_success{job!="x"})");
  Selector empty;
  ASSERT_TRUE(Selector::Parse("", &empty).ok());
  EXPECT_EQ(empty.Apply("up"), "up{}");
  EXPECT_FALSE(Selector::Parse("model=\"x\"", &s).ok());
  EXPECT_FALSE(Selector::Parse("{model=\"x\"", &s).ok());
  EXPECT_FALSE(Selector::Parse("{model:\"x\"}", &s).ok());
}

TEST(TimeRange, DurationsTimesAndStep) {
  double v = 0;
  ASSERT_TRUE(ParseDuration("14d", &v).ok());
  EXPECT_EQ(v, 14 * 86400);
  ASSERT_TRUE(ParseDuration("1h30m", &v).ok());
  EXPECT_EQ(v, 5400);
  ASSERT_TRUE(ParseDuration("90", &v).ok());
  EXPECT_EQ(v, 90);
  EXPECT_FALSE(ParseDuration("14x", &v).ok());
  EXPECT_FALSE(ParseDuration("", &v).ok());
  ASSERT_TRUE(ParseTime("2026-11-28T10:00:00Z", &v).ok());
  EXPECT_EQ(v, 1795860000);
  ASSERT_TRUE(ParseTime("2026-11-28T11:00:00.5+01:00", &v).ok());
  EXPECT_EQ(v, 1795860000.5);
  ASSERT_TRUE(ParseTime("1795860000", &v).ok());
  EXPECT_EQ(FormatTime(v), "2026-11-28T10:00:00Z");
  EXPECT_FALSE(ParseTime("yesterday", &v).ok());
  // 14 days in at most 1000 points: 20.2 minutes, rounded up to 21.
  EXPECT_EQ(ChooseStep(14 * 86400.0), 21 * 60);
  EXPECT_EQ(ChooseStep(3600), 60);  // never below a minute
  EXPECT_EQ(FormatDuration(1209600), "14d");
  EXPECT_EQ(FormatDuration(5400), "90m");
}

TEST(PrometheusReply, ParsesAMatrix) {
  std::vector<Series> series;
  ASSERT_TRUE(
      ParseMatrixReply(
          R"({"status":"success","data":{"resultType":"matrix","result":[
      {"metric":{"__name__":"up","job":"x"},"values":[[1700000000,"1"],[1700000060.5,"NaN"],[1700000120,"+Inf"]]}]}})",
          &series)
          .ok());
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0].labels.at("job"), "x");
  ASSERT_EQ(series[0].samples.size(), 3u);
  EXPECT_EQ(series[0].samples[1].time, 1700000060.5);
  EXPECT_TRUE(std::isnan(series[0].samples[1].value));
  EXPECT_TRUE(std::isinf(series[0].samples[2].value));
  EXPECT_FALSE(
      ParseMatrixReply(
          R"({"status":"success","data":{"resultType":"vector","result":[]}})",
          &series)
          .ok());
  EXPECT_FALSE(ParseMatrixReply("not json", &series).ok());
}

TEST(PrometheusReply, ParsesAlertingRules) {
  // As Prometheus 2.x answers /api/v1/rules (a recording rule included, as
  // a server ignoring ?type=alert would send it).
  std::vector<AlertingRule> rules;
  ASSERT_TRUE(ParseRulesReply(R"json({"status":"success","data":{"groups":[
      {"name":"ml_exporter","file":"/etc/prometheus/ml_exporter.rules.yml",
       "interval":60,"rules":[
        {"state":"inactive","name":"MLExporterDown",
         "query":"up{job=\"ml_exporter\"} == 0","duration":300,
         "labels":{"severity":"critical"},"annotations":{"summary":"down"},
         "alerts":[],"health":"ok","type":"alerting"},
        {"name":"model_feature:ml_alert_value:current","query":"x",
         "labels":{},"health":"ok","type":"recording"}]},
      {"name":"other","file":"/etc/prometheus/other.yml","rules":[
        {"name":"Always","query":"vector(1)","duration":0,
         "type":"alerting"}]}]}})json",
                              &rules)
                  .ok());
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].file, "/etc/prometheus/ml_exporter.rules.yml");
  EXPECT_EQ(rules[0].group, "ml_exporter");
  EXPECT_EQ(rules[0].name, "MLExporterDown");
  EXPECT_EQ(rules[0].query, "up{job=\"ml_exporter\"} == 0");
  EXPECT_EQ(rules[0].for_seconds, 300);
  EXPECT_EQ(rules[0].labels, (Labels{{"severity", "critical"}}));
  EXPECT_EQ(rules[1].group, "other");
  EXPECT_EQ(rules[1].name, "Always");
  EXPECT_EQ(rules[1].for_seconds, 0);
  EXPECT_TRUE(rules[1].labels.empty());

  EXPECT_TRUE(
      ParseRulesReply(R"({"status":"success","data":{"groups":[]}})", &rules)
          .ok());
  EXPECT_TRUE(rules.empty());
  EXPECT_FALSE(
      ParseRulesReply(R"({"status":"success","data":{}})", &rules).ok());
  EXPECT_FALSE(ParseRulesReply("404 page not found", &rules).ok());
}

TEST(Report, NeverFiredRulesAreFindings) {
  Report r;
  EXPECT_EQ(r.FindingCount(), 0u);
  r.never_fired_rules.push_back(
      {"f.yml", "g", "MLReviewTestNeverFires", "vector(1) > 2", 300, {}});
  EXPECT_EQ(r.FindingCount(), 1u);
}

}  // namespace
}  // namespace ml_exporter::mltool::review
