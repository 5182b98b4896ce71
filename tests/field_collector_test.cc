// The "inputs" and "outputs" collectors, observed through a Pipeline.
#include "collectors/field_collector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "ml_exporter/ingest.h"
#include "ml_exporter/pipeline.h"
#include "ml_exporter/record_builder.h"
#include "tests/metric_test_util.h"

namespace ml_exporter {
namespace {

using testing::CounterValue;
using testing::CountFamilies;
using testing::Families;
using testing::FindFamily;
using testing::FindSeries;
using testing::Histogram;
using testing::HistogramData;
using testing::Labels;
using testing::ModelSeries;
using testing::SeriesLabels;

constexpr double kInf = INFINITY;

PipelineOptions Options() {
  PipelineOptions options;
  options.histogram_warmup_seconds = 3600;  // never by time in a test
  return options;
}

std::unique_ptr<Pipeline> MakePipeline(const PipelineOptions& options) {
  std::unique_ptr<Pipeline> pipeline;
  Status s = Pipeline::Create(options, &pipeline);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return pipeline;
}

Labels Feature(const std::string& name, const std::string& model = "m") {
  return ModelSeries(model, {{"feature", name}});
}
Labels Category(const std::string& feature, const std::string& value,
                const std::string& model = "m") {
  return ModelSeries(model, {{"feature", feature}, {"value", value}});
}
Labels Output(const std::string& name) {
  return ModelSeries("m", {{"output", name}});
}
Labels OutputCategory(const std::string& output, const std::string& value) {
  return ModelSeries("m", {{"output", output}, {"value", value}});
}

double Observations(const Families& f, const Labels& l) {
  return CounterValue(f, "ml_feature_observations_total", l);
}
double Missing(const Families& f, const Labels& l) {
  return CounterValue(f, "ml_feature_missing_total", l);
}

// Observes every record of a JSON body; all must be accepted.
void IngestJson(Pipeline* pipeline, std::string_view body) {
  Ingestor ingestor(pipeline, IngestSource::kLibrary);
  const IngestResult r = ingestor.IngestJson(body);
  ASSERT_TRUE(r.body_status.ok()) << r.body_status.message();
  ASSERT_EQ(r.rejected, 0u) << (r.errors.empty() ? "" : r.errors[0].message);
}

void Observe(Pipeline* pipeline, const RecordBuilder& b) {
  Status s = pipeline->Observe(b.record());
  ASSERT_TRUE(s.ok()) << s.ToString();
}

using Counts = std::vector<uint64_t>;
using Edges = std::vector<double>;

TEST(FieldCollectorTest, ObservationsAndMissing) {
  auto pipeline = MakePipeline(Options());
  RecordBuilder b;
  b.Model("m").Input("a", 1).Input("b", "x");
  Observe(pipeline.get(), b);
  b.Reset();
  b.Model("m").MissingInput("a");  // null: observed and missing
  Observe(pipeline.get(), b);
  b.Reset();
  b.Model("m").Input("b", "y").InputBool("c", true);  // a absent
  Observe(pipeline.get(), b);
  b.Reset();
  b.Model("m");  // every known feature absent
  Observe(pipeline.get(), b);

  Families f = pipeline->Collect();
  EXPECT_EQ(Observations(f, Feature("a")), 4);
  EXPECT_EQ(Missing(f, Feature("a")), 3);
  EXPECT_EQ(Observations(f, Feature("b")), 4);
  EXPECT_EQ(Missing(f, Feature("b")), 2);
  // c is counted only from the record where it was first seen.
  EXPECT_EQ(Observations(f, Feature("c")), 2);
  EXPECT_EQ(Missing(f, Feature("c")), 1);
  EXPECT_EQ(SeriesLabels(f, "ml_feature_observations_total"),
            (std::vector<Labels>{Feature("a"), Feature("b"), Feature("c")}));

  // A name twice in one record counts twice (null once as missing); the
  // features the record lacks count once each.
  b.Reset();
  b.Model("m").Input("a", 1).MissingInput("a");
  Observe(pipeline.get(), b);
  f = pipeline->Collect();
  EXPECT_EQ(Observations(f, Feature("a")), 6);
  EXPECT_EQ(Missing(f, Feature("a")), 4);
  EXPECT_EQ(Observations(f, Feature("b")), 5);
  EXPECT_EQ(Missing(f, Feature("b")), 3);
  EXPECT_EQ(Observations(f, Feature("c")), 3);
  EXPECT_EQ(Missing(f, Feature("c")), 2);
}

TEST(FieldCollectorTest, FeaturesArePerModel) {
  auto pipeline = MakePipeline(Options());
  RecordBuilder b;
  b.Model("m").Input("a", 1);
  Observe(pipeline.get(), b);
  b.Reset();
  b.Model("other").Input("z", 1);
  Observe(pipeline.get(), b);
  b.Reset();
  b.Model("m", "v2").Input("z", 1);  // another version is another model
  Observe(pipeline.get(), b);
  const Families f = pipeline->Collect();
  EXPECT_EQ(Observations(f, Feature("a")), 1);
  EXPECT_EQ(Missing(f, Feature("a")), 0);
  EXPECT_EQ(Observations(f, Feature("z", "other")), 1);
  EXPECT_EQ(Observations(f, ModelSeries("m", {{"feature", "z"}}, "v2")), 1);
  EXPECT_EQ(FindSeries(f, "ml_feature_observations_total", Feature("z")),
            nullptr);
  EXPECT_EQ(
      FindSeries(f, "ml_feature_observations_total", Feature("a", "other")),
      nullptr);
}

TEST(FieldCollectorTest, NumbersLearnQuantileEdgesAfterWarmup) {
  PipelineOptions options = Options();
  options.histogram_warmup_values = 5;
  options.histogram_quantile_buckets = 4;
  auto pipeline = MakePipeline(options);
  RecordBuilder b;
  for (double v : {3, 1, 4, 2}) {
    b.Reset();
    b.Model("m").Input("x", v);
    Observe(pipeline.get(), b);
  }
  Families f = pipeline->Collect();
  // Still warming up: counted as observed, but no histogram yet.
  EXPECT_EQ(Observations(f, Feature("x")), 4);
  EXPECT_FALSE(Histogram(f, "ml_feature_value", Feature("x")).found);

  b.Reset();
  b.Model("m").Input("x", 5);
  Observe(pipeline.get(), b);
  f = pipeline->Collect();
  HistogramData h = Histogram(f, "ml_feature_value", Feature("x"));
  ASSERT_TRUE(h.found);
  EXPECT_EQ(h.bounds, (Edges{1, 2, 3, 4, 5, kInf}));
  EXPECT_EQ(h.cumulative, (Counts{1, 2, 3, 4, 5, 5}));
  EXPECT_EQ(h.count, 5u);
  EXPECT_EQ(h.sum, 15);

  // Frozen: later values use the same edges, le inclusive.
  for (double v : {0.0, 2.5, 100.0, 5.0, -3.0}) {
    b.Reset();
    b.Model("m").Input("x", v);
    Observe(pipeline.get(), b);
  }
  f = pipeline->Collect();
  h = Histogram(f, "ml_feature_value", Feature("x"));
  EXPECT_EQ(h.bounds, (Edges{1, 2, 3, 4, 5, kInf}));
  EXPECT_EQ(h.cumulative, (Counts{3, 4, 6, 7, 9, 10}));
  EXPECT_EQ(h.count, 10u);
  EXPECT_EQ(h.sum, 119.5);
  EXPECT_EQ(Observations(f, Feature("x")), 10);
  EXPECT_EQ(Missing(f, Feature("x")), 0);
}

TEST(FieldCollectorTest, LearnedEdgesAreRoundedToThreeDigits) {
  PipelineOptions options = Options();
  options.histogram_warmup_values = 5;
  options.histogram_quantile_buckets = 4;
  auto pipeline = MakePipeline(options);
  RecordBuilder b;
  for (double v : {1234.56, 0.123456, 123.456, 1.23456, 12.3456}) {
    b.Reset();
    b.Model("m").Input("x", v);
    Observe(pipeline.get(), b);
  }
  const Families f = pipeline->Collect();
  const HistogramData h = Histogram(f, "ml_feature_value", Feature("x"));
  ASSERT_TRUE(h.found);
  EXPECT_EQ(h.bounds, (Edges{0.123, 1.23, 12.3, 123, 1230, kInf}));
  // Each value is just above its rounded edge.
  EXPECT_EQ(h.cumulative, (Counts{0, 1, 2, 3, 4, 5}));
  EXPECT_DOUBLE_EQ(h.sum, 1234.56 + 0.123456 + 123.456 + 1.23456 + 12.3456);
}

TEST(FieldCollectorTest, ExplicitBucketsSkipWarmup) {
  PipelineOptions options = Options();
  options.explicit_buckets["ms"] = {100, 10, 50};  // sorted by the collector
  options.explicit_buckets["score"] = {0.5, 1};
  auto pipeline = MakePipeline(options);
  RecordBuilder b;
  b.Model("m").Input("ms", 10).Input("other", 1).Output("score", 0.7);
  Observe(pipeline.get(), b);
  const Families f = pipeline->Collect();
  const HistogramData h = Histogram(f, "ml_feature_value", Feature("ms"));
  ASSERT_TRUE(h.found);
  EXPECT_EQ(h.bounds, (Edges{10, 50, 100, kInf}));
  EXPECT_EQ(h.cumulative, (Counts{1, 1, 1, 1}));
  EXPECT_EQ(h.sum, 10);
  const HistogramData score =
      Histogram(f, "ml_output_value", ModelSeries("m", {{"output", "score"}}));
  ASSERT_TRUE(score.found);
  EXPECT_EQ(score.bounds, (Edges{0.5, 1, kInf}));
  EXPECT_EQ(score.cumulative, (Counts{0, 1, 1}));
  // Without explicit edges a single value is still warming up.
  EXPECT_FALSE(Histogram(f, "ml_feature_value", Feature("other")).found);
}

TEST(FieldCollectorTest, WarmupSecondsFreezeAtScrape) {
  PipelineOptions options = Options();
  options.histogram_warmup_seconds = 0;
  options.histogram_quantile_buckets = 4;
  auto pipeline = MakePipeline(options);
  RecordBuilder b;
  for (double v : {3, 1, 2}) {
    b.Reset();
    b.Model("m").Input("x", v);
    Observe(pipeline.get(), b);
  }
  Families f = pipeline->Collect();
  HistogramData h = Histogram(f, "ml_feature_value", Feature("x"));
  ASSERT_TRUE(h.found);
  EXPECT_EQ(h.bounds, (Edges{1, 2, 3, kInf}));
  EXPECT_EQ(h.cumulative, (Counts{1, 2, 3, 3}));
  EXPECT_EQ(h.sum, 6);
  b.Reset();
  b.Model("m").Input("x", 9);
  Observe(pipeline.get(), b);
  f = pipeline->Collect();
  h = Histogram(f, "ml_feature_value", Feature("x"));
  EXPECT_EQ(h.cumulative, (Counts{1, 2, 3, 4}));
}

TEST(FieldCollectorTest, LongWarmupSecondsNeverFreezeEarly) {
  for (double seconds : {1e12, 1e300, kInf}) {
    PipelineOptions options = Options();
    options.histogram_warmup_seconds = seconds;
    auto pipeline = MakePipeline(options);
    RecordBuilder b;
    b.Model("m").Input("x", 1);
    Observe(pipeline.get(), b);
    const Families f = pipeline->Collect();
    EXPECT_EQ(Observations(f, Feature("x")), 1) << seconds;
    EXPECT_FALSE(Histogram(f, "ml_feature_value", Feature("x")).found)
        << seconds;
  }
}

TEST(FieldCollectorTest, NonFiniteNumbersAreObservedButNotBucketed) {
  PipelineOptions options = Options();
  options.explicit_buckets["x"] = {1};
  auto pipeline = MakePipeline(options);
  RecordBuilder b;
  for (double v : {static_cast<double>(NAN), kInf, -kInf, 0.5}) {
    b.Reset();
    b.Model("m").Input("x", v);
    Observe(pipeline.get(), b);
  }
  const Families f = pipeline->Collect();
  EXPECT_EQ(Observations(f, Feature("x")), 4);
  EXPECT_EQ(Missing(f, Feature("x")), 0);
  const HistogramData h = Histogram(f, "ml_feature_value", Feature("x"));
  EXPECT_EQ(h.cumulative, (Counts{1, 1}));
  EXPECT_EQ(h.sum, 0.5);
}

TEST(FieldCollectorTest, StringsCountCategoriesAndLengthInCodePoints) {
  auto pipeline = MakePipeline(Options());
  IngestJson(pipeline.get(),
             R"([{"model":"m","inputs":{"q":"h\u00e9llo"}},)"
             R"({"model":"m","inputs":{"q":""}},)"
             R"({"model":"m","inputs":{"q":"abc"}},)"
             R"({"model":"m","inputs":{"q":"h\u00e9llo"}},)"
             R"({"model":"m","inputs":{"q":"\u65e5\u672c\ud83d\ude00"}}])");
  const Families f = pipeline->Collect();
  EXPECT_EQ(Observations(f, Feature("q")), 5);
  EXPECT_EQ(Missing(f, Feature("q")), 0);  // "" is a value for inputs
  EXPECT_EQ(CounterValue(f, "ml_feature_category_total",
                         Category("q", "h\xC3\xA9llo")),
            2);
  EXPECT_EQ(CounterValue(f, "ml_feature_category_total", Category("q", "")), 1);
  EXPECT_EQ(CounterValue(f, "ml_feature_category_total", Category("q", "abc")),
            1);
  EXPECT_EQ(
      CounterValue(f, "ml_feature_category_total",
                   Category("q", "\xE6\x97\xA5\xE6\x9C\xAC\xF0\x9F\x98\x80")),
      1);
  const HistogramData h = Histogram(f, "ml_feature_length", Feature("q"));
  ASSERT_TRUE(h.found);
  EXPECT_EQ(h.bounds, (Edges{0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024,
                             4096, kInf}));
  // Lengths 5, 0, 3, 5, 3.
  EXPECT_EQ(h.cumulative, (Counts{1, 1, 1, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5}));
  EXPECT_EQ(h.count, 5u);
  EXPECT_EQ(h.sum, 16);
  // Strings have no numeric histogram.
  EXPECT_FALSE(Histogram(f, "ml_feature_value", Feature("q")).found);
}

TEST(FieldCollectorTest, CustomLengthBuckets) {
  PipelineOptions options = Options();
  options.length_buckets = {3, 10};
  auto pipeline = MakePipeline(options);
  RecordBuilder b;
  for (const char* s : {"abc", "abcd", "0123456789a"}) {
    b.Reset();
    b.Model("m").Input("q", s);
    Observe(pipeline.get(), b);
  }
  const Families f = pipeline->Collect();
  const HistogramData h = Histogram(f, "ml_feature_length", Feature("q"));
  EXPECT_EQ(h.bounds, (Edges{3, 10, kInf}));
  EXPECT_EQ(h.cumulative, (Counts{1, 2, 3}));
  EXPECT_EQ(h.sum, 18);
}

TEST(FieldCollectorTest, BooleansAreCategories) {
  auto pipeline = MakePipeline(Options());
  RecordBuilder b;
  for (bool v : {true, true, false}) {
    b.Reset();
    b.Model("m").InputBool("flag", v).OutputBool("ok", !v);
    Observe(pipeline.get(), b);
  }
  const Families f = pipeline->Collect();
  EXPECT_EQ(
      CounterValue(f, "ml_feature_category_total", Category("flag", "true")),
      2);
  EXPECT_EQ(
      CounterValue(f, "ml_feature_category_total", Category("flag", "false")),
      1);
  EXPECT_EQ(CounterValue(f, "ml_output_category_total",
                         OutputCategory("ok", "false")),
            2);
  EXPECT_EQ(
      CounterValue(f, "ml_output_category_total", OutputCategory("ok", "true")),
      1);
  EXPECT_EQ(SeriesLabels(f, "ml_feature_category_total"),
            (std::vector<Labels>{Category("flag", "true"),
                                 Category("flag", "false")}));
  EXPECT_FALSE(Histogram(f, "ml_feature_length", Feature("flag")).found);
  EXPECT_FALSE(Histogram(f, "ml_feature_value", Feature("flag")).found);
}

TEST(FieldCollectorTest, ListsAreObservedElementWise) {
  PipelineOptions options = Options();
  options.explicit_buckets["emb"] = {1.5, 2.5};
  options.explicit_buckets["mixed"] = {10};
  auto pipeline = MakePipeline(options);
  RecordBuilder b;
  b.Model("m").InputList("emb", {1, 2, 3});
  Observe(pipeline.get(), b);
  IngestJson(pipeline.get(),
             R"({"model":"m","inputs":{"emb":[0.5],"tags":["a","b","a"],)"
             R"("mixed":[1,"x",true,null],"empty":[]}})");
  const Families f = pipeline->Collect();
  EXPECT_EQ(Observations(f, Feature("emb")), 2);  // one per record
  const HistogramData emb = Histogram(f, "ml_feature_value", Feature("emb"));
  EXPECT_EQ(emb.cumulative, (Counts{2, 3, 4}));
  EXPECT_EQ(emb.count, 4u);
  EXPECT_EQ(emb.sum, 6.5);

  EXPECT_EQ(Observations(f, Feature("tags")), 1);
  EXPECT_EQ(CounterValue(f, "ml_feature_category_total", Category("tags", "a")),
            2);
  EXPECT_EQ(CounterValue(f, "ml_feature_category_total", Category("tags", "b")),
            1);
  const HistogramData tags = Histogram(f, "ml_feature_length", Feature("tags"));
  EXPECT_EQ(tags.count, 3u);
  EXPECT_EQ(tags.sum, 3);

  const HistogramData mixed =
      Histogram(f, "ml_feature_value", Feature("mixed"));
  EXPECT_EQ(mixed.cumulative, (Counts{1, 1}));
  EXPECT_EQ(
      CounterValue(f, "ml_feature_category_total", Category("mixed", "x")), 1);
  EXPECT_EQ(
      CounterValue(f, "ml_feature_category_total", Category("mixed", "true")),
      1);
  EXPECT_EQ(Missing(f, Feature("mixed")), 0);  // a null element is not
  EXPECT_EQ(Observations(f, Feature("empty")), 1);
  EXPECT_EQ(Missing(f, Feature("empty")), 0);  // [] is a value for inputs
}

TEST(FieldCollectorTest, OutputNullCountsNullEmptyAndAbsent) {
  PipelineOptions options = Options();
  options.explicit_buckets["score"] = {0.5, 1};
  auto pipeline = MakePipeline(options);
  IngestJson(pipeline.get(), R"([
    {"model":"m","outputs":{"t":"x","label":"cat","score":0.9}},
    {"model":"m","outputs":{"t":null}},
    {"model":"m","outputs":{"t":""}},
    {"model":"m","outputs":{"t":[]}},
    {"model":"m"},
    {"model":"m","outputs":{"t":["a"],"label":"dog","score":0.2}}])");
  const Families f = pipeline->Collect();
  EXPECT_EQ(CounterValue(f, "ml_output_observations_total", Output("t")), 6);
  EXPECT_EQ(CounterValue(f, "ml_output_null_total", Output("t")), 4);
  EXPECT_EQ(CounterValue(f, "ml_output_observations_total", Output("label")),
            6);
  EXPECT_EQ(CounterValue(f, "ml_output_null_total", Output("label")), 4);
  EXPECT_EQ(CounterValue(f, "ml_output_null_total", Output("score")), 4);
  EXPECT_EQ(
      CounterValue(f, "ml_output_category_total", OutputCategory("t", "x")), 1);
  EXPECT_EQ(
      CounterValue(f, "ml_output_category_total", OutputCategory("t", "")), 1);
  EXPECT_EQ(
      CounterValue(f, "ml_output_category_total", OutputCategory("t", "a")), 1);
  EXPECT_EQ(CounterValue(f, "ml_output_category_total",
                         OutputCategory("label", "cat")),
            1);
  EXPECT_EQ(CounterValue(f, "ml_output_category_total",
                         OutputCategory("label", "dog")),
            1);
  const HistogramData score = Histogram(f, "ml_output_value", Output("score"));
  EXPECT_EQ(score.cumulative, (Counts{1, 2, 2}));
  EXPECT_DOUBLE_EQ(score.sum, 1.1);
  // Outputs have no length histogram, and inputs saw nothing.
  EXPECT_EQ(CountFamilies(f, "ml_feature_length"), 0u);
  EXPECT_EQ(CountFamilies(f, ""), 0u);
  EXPECT_EQ(CountFamilies(f, "ml_feature_observations_total"), 0u);
  // Each family appears once.
  for (const char* name :
       {"ml_output_observations_total", "ml_output_null_total",
        "ml_output_value", "ml_output_category_total"}) {
    EXPECT_EQ(CountFamilies(f, name), 1u) << name;
  }
  const prometheus::MetricFamily* null_family =
      FindFamily(f, "ml_output_null_total");
  ASSERT_NE(null_family, nullptr);
  EXPECT_EQ(null_family->type, prometheus::MetricType::Counter);
  EXPECT_EQ(FindFamily(f, "ml_output_value")->type,
            prometheus::MetricType::Histogram);
}

TEST(FieldCollectorTest, MaxLabelValuesOverflowToOther) {
  PipelineOptions options = Options();
  options.max_label_values = 2;
  auto pipeline = MakePipeline(options);
  RecordBuilder b;
  for (const char* country : {"DE", "FR", "US", "IT", "DE", "US"}) {
    b.Reset();
    b.Model("m").Input("country", country);
    Observe(pipeline.get(), b);
  }
  const Families f = pipeline->Collect();
  EXPECT_EQ(
      SeriesLabels(f, "ml_feature_category_total"),
      (std::vector<Labels>{Category("country", "DE"), Category("country", "FR"),
                           Category("country", "__other__")}));
  EXPECT_EQ(
      CounterValue(f, "ml_feature_category_total", Category("country", "DE")),
      2);
  EXPECT_EQ(
      CounterValue(f, "ml_feature_category_total", Category("country", "FR")),
      1);
  EXPECT_EQ(CounterValue(f, "ml_feature_category_total",
                         Category("country", "__other__")),
            3);
  EXPECT_EQ(CounterValue(f, "ml_exporter_cardinality_overflow_total",
                         {{"limit", "max_label_values"}}),
            3);
  EXPECT_EQ(CounterValue(f, "ml_exporter_cardinality_overflow_total",
                         {{"limit", "max_features"}}),
            0);
  EXPECT_EQ(
      pipeline->cardinality_stats().overflow(CardinalityLimit::kLabelValues),
      3u);
  // Every string still has a length.
  EXPECT_EQ(Histogram(f, "ml_feature_length", Feature("country")).count, 6u);
}

TEST(FieldCollectorTest, MaxFeaturesOverflowToOther) {
  PipelineOptions options = Options();
  options.max_features = 2;
  auto pipeline = MakePipeline(options);
  RecordBuilder b;
  b.Model("m").Input("a", 1).Input("b", 1).Input("c", 1).Input("d", "x");
  Observe(pipeline.get(), b);
  b.Reset();
  b.Model("m").Input("a", 1);
  Observe(pipeline.get(), b);
  b.Reset();
  b.Model("m").MissingInput("c");
  Observe(pipeline.get(), b);
  const Families f = pipeline->Collect();
  EXPECT_EQ(
      SeriesLabels(f, "ml_feature_observations_total"),
      (std::vector<Labels>{Feature("a"), Feature("b"), Feature("__other__")}));
  EXPECT_EQ(Observations(f, Feature("a")), 3);
  EXPECT_EQ(Missing(f, Feature("a")), 1);
  EXPECT_EQ(Observations(f, Feature("b")), 3);
  EXPECT_EQ(Missing(f, Feature("b")), 2);
  // c, d in the first record, c (null) in the third; "__other__" is never
  // counted as absent.
  EXPECT_EQ(Observations(f, Feature("__other__")), 3);
  EXPECT_EQ(Missing(f, Feature("__other__")), 1);
  EXPECT_EQ(
      CounterValue(f, "ml_feature_category_total", Category("__other__", "x")),
      1);
  EXPECT_EQ(CounterValue(f, "ml_exporter_cardinality_overflow_total",
                         {{"limit", "max_features"}}),
            3);
}

TEST(FieldCollectorTest, MaxOutputsOverflowToOther) {
  PipelineOptions options = Options();
  options.max_outputs = 1;
  auto pipeline = MakePipeline(options);
  RecordBuilder b;
  b.Model("m").Output("x", "a").Output("y", "b").Input("i", 1).Input("j", 2);
  Observe(pipeline.get(), b);
  const Families f = pipeline->Collect();
  EXPECT_EQ(SeriesLabels(f, "ml_output_observations_total"),
            (std::vector<Labels>{Output("x"), Output("__other__")}));
  EXPECT_EQ(CounterValue(f, "ml_output_category_total",
                         OutputCategory("__other__", "b")),
            1);
  EXPECT_EQ(CounterValue(f, "ml_exporter_cardinality_overflow_total",
                         {{"limit", "max_outputs"}}),
            1);
  // max_outputs does not limit inputs.
  EXPECT_EQ(Observations(f, Feature("j")), 1);
  EXPECT_EQ(CounterValue(f, "ml_exporter_cardinality_overflow_total",
                         {{"limit", "max_features"}}),
            0);
}

TEST(FieldCollectorTest, MaxModelsOverflowToOther) {
  PipelineOptions options = Options();
  options.max_models = 2;
  auto pipeline = MakePipeline(options);
  RecordBuilder b;
  for (auto [model, version] :
       std::vector<std::pair<const char*, const char*>>{{"a", ""},
                                                        {"b", ""},
                                                        {"c", ""},
                                                        {"d", "v2"},
                                                        {"a", ""},
                                                        {"c", ""}}) {
    b.Reset();
    b.Model(model, version).Input("f", "x");
    Observe(pipeline.get(), b);
  }
  const Families f = pipeline->Collect();
  const Labels other = ModelSeries("__other__", {}, "__other__", "__other__");
  EXPECT_EQ(SeriesLabels(f, "ml_records_total"),
            (std::vector<Labels>{ModelSeries("a"), ModelSeries("b"), other}));
  EXPECT_EQ(CounterValue(f, "ml_records_total", ModelSeries("a")), 2);
  EXPECT_EQ(CounterValue(f, "ml_records_total", ModelSeries("b")), 1);
  EXPECT_EQ(CounterValue(f, "ml_records_total", other), 3);
  EXPECT_EQ(CounterValue(f, "ml_feature_observations_total",
                         ModelSeries("__other__", {{"feature", "f"}},
                                     "__other__", "__other__")),
            3);
  EXPECT_EQ(CounterValue(f, "ml_exporter_cardinality_overflow_total",
                         {{"limit", "max_models"}}),
            3);
  EXPECT_EQ(testing::GaugeValue(f, "ml_exporter_models", {}), 3);
}

TEST(FieldCollectorTest, LongAndInvalidLabelValuesAreSanitised) {
  PipelineOptions options = Options();
  options.max_label_length = 8;
  auto pipeline = MakePipeline(options);
  RecordBuilder b;
  b.Model("very_long_model_name", "version_123456", "m\xFF")
      .Input("abcdefghX", "0123456789")
      .Input("abcdefghY",
             "a\xFF"
             "b")
      .Input("q", "ab\xFF\xFF\xFF")
      .Input("h\xC3\xA9llo_world", "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9");
  Observe(pipeline.get(), b);
  const Families f = pipeline->Collect();
  const std::string fffd = "\xEF\xBF\xBD";
  const std::string model = "very_lon", version = "version_",
                    stage = "m" + fffd;
  auto series = [&](Labels extra) {
    return ModelSeries(model, std::move(extra), version, stage);
  };
  EXPECT_EQ(CounterValue(f, "ml_records_total", series({})), 1);
  // Both names cut to "abcdefgh" and share its series.
  EXPECT_EQ(Observations(f, series({{"feature", "abcdefgh"}})), 2);
  EXPECT_EQ(
      CounterValue(f, "ml_feature_category_total",
                   series({{"feature", "abcdefgh"}, {"value", "01234567"}})),
      1);
  EXPECT_EQ(CounterValue(
                f, "ml_feature_category_total",
                series({{"feature", "abcdefgh"}, {"value", "a" + fffd + "b"}})),
            1);
  EXPECT_EQ(
      CounterValue(f, "ml_feature_category_total",
                   series({{"feature", "q"}, {"value", "ab" + fffd + fffd}})),
      1);
  // Cut at a character boundary (eight bytes).
  EXPECT_EQ(
      CounterValue(f, "ml_feature_category_total",
                   series({{"feature", "h\xC3\xA9llo_w"},
                           {"value", "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"}})),
      1);
  // Length counts characters of the raw value, not the label.
  EXPECT_EQ(Histogram(f, "ml_feature_length", series({{"feature", "q"}})).sum,
            5);
}

TEST(FieldCollectorTest, ConcurrentObserversGiveExactTotals) {
  PipelineOptions options = Options();
  options.histogram_warmup_values = 100;
  auto pipeline = MakePipeline(options);
  constexpr int kThreads = 4;
  constexpr int kRecords = 10000;
  const char* kCategories[] = {"red", "green", "blue"};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      RecordBuilder b;
      for (int i = 0; i < kRecords; ++i) {
        b.Reset();
        b.Model("m", "v1", "s").Latency(0.001 * (i % 3));
        if (i % 10 == 0) {
          b.MissingInput("x");
        } else {
          b.Input("x", i % 100);
        }
        b.Input("c", kCategories[i % 3]);
        if (i % 5 != 1) b.Input("y", 1.0);
        b.Output("label", i % 2 ? "odd" : "even");
        if (i % 4 == 0) b.Error();
        ASSERT_TRUE(pipeline->Observe(b.record()).ok());
      }
    });
  }
  for (auto& th : threads) th.join();

  uint64_t values = 0, y_missing = 0, errors = 0;
  double sum = 0;
  std::map<std::string, uint64_t> categories;
  uint64_t odd = 0;
  for (int i = 0; i < kRecords; ++i) {
    if (i % 10 != 0) {
      ++values;
      sum += i % 100;
    }
    if (i % 5 == 1) ++y_missing;
    if (i % 4 == 0) ++errors;
    if (i % 2) ++odd;
    ++categories[kCategories[i % 3]];
  }
  const Families f = pipeline->Collect();
  auto series = [](Labels extra) {
    return ModelSeries("m", std::move(extra), "v1", "s");
  };
  const double n = kThreads * kRecords;
  EXPECT_EQ(CounterValue(f, "ml_records_total", series({})), n);
  EXPECT_EQ(CounterValue(f, "ml_prediction_errors_total", series({})),
            kThreads * errors);
  EXPECT_EQ(Observations(f, series({{"feature", "x"}})), n);
  EXPECT_EQ(Missing(f, series({{"feature", "x"}})), n / 10);
  EXPECT_EQ(Observations(f, series({{"feature", "y"}})), n);
  EXPECT_EQ(Missing(f, series({{"feature", "y"}})), kThreads * y_missing);
  EXPECT_EQ(Observations(f, series({{"feature", "c"}})), n);
  EXPECT_EQ(Missing(f, series({{"feature", "c"}})), 0);
  const HistogramData x =
      Histogram(f, "ml_feature_value", series({{"feature", "x"}}));
  ASSERT_TRUE(x.found);
  EXPECT_EQ(x.count, kThreads * values);
  EXPECT_EQ(x.cumulative.back(), kThreads * values);
  EXPECT_EQ(x.sum, kThreads * sum);
  for (size_t i = 1; i < x.cumulative.size(); ++i) {
    EXPECT_LE(x.cumulative[i - 1], x.cumulative[i]);
  }
  for (const auto& [value, count] : categories) {
    EXPECT_EQ(CounterValue(f, "ml_feature_category_total",
                           series({{"feature", "c"}, {"value", value}})),
              kThreads * count)
        << value;
  }
  EXPECT_EQ(CounterValue(f, "ml_output_category_total",
                         series({{"output", "label"}, {"value", "odd"}})),
            kThreads * odd);
  EXPECT_EQ(CounterValue(f, "ml_output_category_total",
                         series({{"output", "label"}, {"value", "even"}})),
            kThreads * (kRecords - odd));
  EXPECT_EQ(Histogram(f, "ml_latency_seconds", series({})).count, n);
  EXPECT_EQ(Histogram(f, "ml_feature_length", series({{"feature", "c"}})).count,
            n);
}

TEST(FieldCollectorTest, ScrapesDuringObserveAreMonotonic) {
  auto pipeline = MakePipeline(Options());
  constexpr int kRecords = 20000;
  std::thread writer([&] {
    RecordBuilder b;
    for (int i = 0; i < kRecords; ++i) {
      b.Reset();
      b.Model("m").Input("f" + std::to_string(i % 50), i).Input("c", "v");
      ASSERT_TRUE(pipeline->Observe(b.record()).ok());
    }
  });
  double last = 0;
  for (int k = 0; k < 50; ++k) {
    const Families f = pipeline->Collect();
    const double c = Observations(f, Feature("c"));
    if (!std::isnan(c)) {
      EXPECT_GE(c, last);
      last = c;
    }
  }
  writer.join();
  const Families f = pipeline->Collect();
  EXPECT_EQ(Observations(f, Feature("c")), kRecords);
  EXPECT_EQ(SeriesLabels(f, "ml_feature_observations_total").size(), 51u);
}

}  // namespace
}  // namespace ml_exporter
