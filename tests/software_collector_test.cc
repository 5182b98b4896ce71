// The "software" collector: ml_records_total, ml_prediction_errors_total and
// ml_latency_seconds, observed through a Pipeline.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "ml_exporter/ingest.h"
#include "ml_exporter/pipeline.h"
#include "ml_exporter/record_builder.h"
#include "tests/metric_test_util.h"

namespace ml_exporter {
namespace {

using testing::CounterValue;
using testing::Families;
using testing::FindFamily;
using testing::Histogram;
using testing::HistogramData;
using testing::Labels;
using testing::ModelSeries;
using testing::SeriesLabels;

using Counts = std::vector<uint64_t>;
using Edges = std::vector<double>;
constexpr double kInf = INFINITY;

std::unique_ptr<Pipeline> MakePipeline(PipelineOptions options = {}) {
  options.collectors = {"software"};
  std::unique_ptr<Pipeline> pipeline;
  Status s = Pipeline::Create(options, &pipeline);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return pipeline;
}

TEST(SoftwareCollectorTest, RecordsErrorsAndDefaultLatencyBuckets) {
  auto pipeline = MakePipeline();
  RecordBuilder b;
  const std::vector<double> latencies = {0.001, 0.0011, 0.0025, 0.3,
                                         10,    11,     0,      NAN};
  double sum = 0;
  for (size_t i = 0; i < latencies.size(); ++i) {
    b.Reset();
    b.Model("m").Latency(latencies[i]);
    if (i % 3 == 0) b.Error();  // 0, 3, 6
    ASSERT_TRUE(pipeline->Observe(b.record()).ok());
    if (!std::isnan(latencies[i])) sum += latencies[i];
  }
  const Families f = pipeline->Collect();
  EXPECT_EQ(CounterValue(f, "ml_records_total", ModelSeries("m")), 8);
  EXPECT_EQ(CounterValue(f, "ml_prediction_errors_total", ModelSeries("m")), 3);
  const HistogramData h = Histogram(f, "ml_latency_seconds", ModelSeries("m"));
  ASSERT_TRUE(h.found);
  EXPECT_EQ(h.bounds, (Edges{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                             0.5, 1, 2.5, 5, 10, kInf}));
  // le is inclusive: 0.001 and 0.0025 and 10 count in their own bucket.
  EXPECT_EQ(h.cumulative, (Counts{2, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 6, 7}));
  EXPECT_EQ(h.count, 7u);  // the record without latency is not observed
  EXPECT_DOUBLE_EQ(h.sum, sum);
  EXPECT_EQ(FindFamily(f, "ml_records_total")->type,
            prometheus::MetricType::Counter);
  EXPECT_EQ(FindFamily(f, "ml_prediction_errors_total")->type,
            prometheus::MetricType::Counter);
  EXPECT_EQ(FindFamily(f, "ml_latency_seconds")->type,
            prometheus::MetricType::Histogram);
}

TEST(SoftwareCollectorTest, CustomLatencyBuckets) {
  PipelineOptions options;
  options.latency_buckets = {0.5, 0.1, 1, 0.1};  // sorted and deduplicated
  auto pipeline = MakePipeline(options);
  RecordBuilder b;
  for (double v : {0.1, 0.2, 0.5, 2.0, 0.05}) {
    b.Reset();
    b.Model("m").Latency(v);
    ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  }
  const Families f = pipeline->Collect();
  const HistogramData h = Histogram(f, "ml_latency_seconds", ModelSeries("m"));
  EXPECT_EQ(h.bounds, (Edges{0.1, 0.5, 1, kInf}));
  EXPECT_EQ(h.cumulative, (Counts{2, 4, 4, 5}));
  EXPECT_DOUBLE_EQ(h.sum, 2.85);
}

TEST(SoftwareCollectorTest, NoLatencyBucketsLeavesOnlyInf) {
  PipelineOptions options;
  options.latency_buckets = {};
  auto pipeline = MakePipeline(options);
  RecordBuilder b;
  b.Model("m").Latency(3);
  ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  const HistogramData h =
      Histogram(pipeline->Collect(), "ml_latency_seconds", ModelSeries("m"));
  EXPECT_EQ(h.bounds, (Edges{kInf}));
  EXPECT_EQ(h.cumulative, (Counts{1}));
  EXPECT_EQ(h.sum, 3);
}

TEST(SoftwareCollectorTest, EmptyVersionAndStageAreNone) {
  auto pipeline = MakePipeline();
  RecordBuilder b;
  for (auto [version, stage] : std::vector<std::pair<const char*, const char*>>{
           {"", ""}, {"v3", ""}, {"", "enc"}, {"v3", "enc"}, {"none", ""}}) {
    b.Reset();
    b.Model("m", version, stage);
    ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  }
  const Families f = pipeline->Collect();
  EXPECT_EQ(SeriesLabels(f, "ml_records_total"),
            (std::vector<Labels>{ModelSeries("m"), ModelSeries("m", {}, "v3"),
                                 ModelSeries("m", {}, "none", "enc"),
                                 ModelSeries("m", {}, "v3", "enc")}));
  // An explicit "none" is the same series as an empty version.
  EXPECT_EQ(CounterValue(f, "ml_records_total", ModelSeries("m")), 2);
  EXPECT_EQ(CounterValue(f, "ml_records_total", ModelSeries("m", {}, "v3")), 1);
  EXPECT_EQ(CounterValue(f, "ml_prediction_errors_total",
                         ModelSeries("m", {}, "v3", "enc")),
            0);
}

TEST(SoftwareCollectorTest, JsonRecordsWithoutVersionOrStage) {
  auto pipeline = MakePipeline();
  Ingestor ingestor(pipeline.get(), IngestSource::kHttp);
  const IngestResult r = ingestor.IngestJson(
      R"([{"model":"asr","latency_seconds":0.01,"error":true},)"
      R"({"model":"asr","version":"","stage":null,"latency_seconds":0.02}])");
  ASSERT_EQ(r.accepted, 2u);
  const Families f = pipeline->Collect();
  EXPECT_EQ(CounterValue(f, "ml_records_total", ModelSeries("asr")), 2);
  EXPECT_EQ(CounterValue(f, "ml_prediction_errors_total", ModelSeries("asr")),
            1);
  const HistogramData h =
      Histogram(f, "ml_latency_seconds", ModelSeries("asr"));
  EXPECT_EQ(h.cumulative[3], 1u);  // le=0.01
  EXPECT_EQ(h.cumulative[4], 2u);  // le=0.025
}

TEST(SoftwareCollectorTest, ModelSeenOnlyInEventsHasNoSeries) {
  auto pipeline = MakePipeline();
  Event event;
  event.type = "click";
  event.model = "ev";
  ASSERT_TRUE(pipeline->ObserveEvent(event).ok());
  Families f = pipeline->Collect();
  EXPECT_EQ(FindFamily(f, "ml_records_total"), nullptr);
  EXPECT_EQ(FindFamily(f, "ml_latency_seconds"), nullptr);
  EXPECT_EQ(testing::GaugeValue(f, "ml_exporter_models", {}), 1);

  RecordBuilder b;
  b.Model("m");
  ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  f = pipeline->Collect();
  EXPECT_EQ(SeriesLabels(f, "ml_records_total"),
            (std::vector<Labels>{ModelSeries("m")}));
  // A record without latency still gets an (empty) latency series.
  const HistogramData h = Histogram(f, "ml_latency_seconds", ModelSeries("m"));
  ASSERT_TRUE(h.found);
  EXPECT_EQ(h.count, 0u);
}

TEST(SoftwareCollectorTest, InvalidRecordsChangeNothing) {
  auto pipeline = MakePipeline();
  RecordBuilder b;
  b.Model("m").Latency(-1);
  Status s = pipeline->Observe(b.record());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "field \"latency_seconds\" must be a finite number >= 0");
  b.Reset();
  b.Model("m").Latency(kInf);
  EXPECT_FALSE(pipeline->Observe(b.record()).ok());
  b.Reset();
  b.Latency(1);  // no model
  s = pipeline->Observe(b.record());
  EXPECT_EQ(s.message(), "field \"model\" is required");
  const Families f = pipeline->Collect();
  EXPECT_EQ(FindFamily(f, "ml_records_total"), nullptr);
  EXPECT_EQ(testing::GaugeValue(f, "ml_exporter_models", {}), 0);
}

TEST(SoftwareCollectorTest, SeveralModels) {
  auto pipeline = MakePipeline();
  RecordBuilder b;
  for (int i = 0; i < 30; ++i) {
    b.Reset();
    b.Model(i % 3 == 0 ? "a" : "b", "v1").Latency(i % 2 ? 0.002 : 0.2);
    if (i % 5 == 0) b.Error();
    ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  }
  const Families f = pipeline->Collect();
  EXPECT_EQ(CounterValue(f, "ml_records_total", ModelSeries("a", {}, "v1")),
            10);
  EXPECT_EQ(CounterValue(f, "ml_records_total", ModelSeries("b", {}, "v1")),
            20);
  // Errors at 0, 5, 10, 15, 20, 25: a gets 0 and 15.
  EXPECT_EQ(
      CounterValue(f, "ml_prediction_errors_total", ModelSeries("a", {}, "v1")),
      2);
  EXPECT_EQ(
      CounterValue(f, "ml_prediction_errors_total", ModelSeries("b", {}, "v1")),
      4);
  // a: i = 0, 3, ..., 27: odd ones (5 of them) are 0.002.
  const HistogramData a =
      Histogram(f, "ml_latency_seconds", ModelSeries("a", {}, "v1"));
  EXPECT_EQ(a.cumulative[1], 5u);   // le=0.0025
  EXPECT_EQ(a.cumulative[7], 10u);  // le=0.25
}

}  // namespace
}  // namespace ml_exporter
