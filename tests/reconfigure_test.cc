// Pipeline routing by model and Reconfigure.
#include <gtest/gtest.h>

#include <cmath>

#include "ml_exporter/pipeline.h"
#include "ml_exporter/record_builder.h"

namespace ml_exporter {
namespace {

// Value of the series of `family` whose labels include all of `labels`;
// NaN when absent, -1 when more than one matches.
double Value(const std::vector<prometheus::MetricFamily>& families,
             const std::string& family,
             const std::map<std::string, std::string>& labels) {
  double found = NAN;
  int matches = 0;
  for (const auto& f : families) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      size_t hit = 0;
      for (const auto& l : m.label) {
        auto it = labels.find(l.name);
        if (it != labels.end() && it->second == l.value) ++hit;
      }
      if (hit != labels.size()) continue;
      ++matches;
      found = f.type == prometheus::MetricType::Counter ? m.counter.value
                                                        : m.gauge.value;
    }
  }
  return matches > 1 ? -1 : found;
}

void Send(Pipeline* p, const std::string& model, int n, bool with_age = true) {
  RecordBuilder b;
  for (int i = 0; i < n; ++i) {
    b.Reset();
    b.Model(model, "v1", "main").Input("country", "DE");
    if (with_age) b.Input("age", 30.0);
    b.Output("label", "x");
    ASSERT_TRUE(p->Observe(b.record()).ok());
  }
}

PipelineOptions Routed() {
  PipelineOptions o;
  ModelRoute asr;
  asr.model = "asr-*";
  asr.collectors = std::vector<CollectorSpec>{
      {"software"}, {.name = "inputs", .include = {"age"}}};
  asr.thresholds = {{"missing_ratio", "age", 0.1, std::nullopt}};
  o.routes.push_back(asr);
  return o;
}

TEST(RoutingTest, RoutesSelectCollectorsByModelPattern) {
  std::unique_ptr<Pipeline> p;
  ASSERT_TRUE(Pipeline::Create(Routed(), &p).ok());
  Send(p.get(), "asr-en", 3);
  Send(p.get(), "vision", 2);
  const auto f = p->Collect();
  EXPECT_EQ(Value(f, "ml_records_total", {{"model", "asr-en"}}), 3);
  EXPECT_EQ(Value(f, "ml_records_total", {{"model", "vision"}}), 2);
  // asr-en watches only "age"; vision gets all default collectors.
  EXPECT_EQ(Value(f, "ml_feature_observations_total",
                  {{"model", "asr-en"}, {"feature", "age"}}),
            3);
  EXPECT_TRUE(std::isnan(Value(f, "ml_feature_observations_total",
                               {{"model", "asr-en"}, {"feature", "country"}})));
  EXPECT_EQ(Value(f, "ml_feature_observations_total",
                  {{"model", "vision"}, {"feature", "country"}}),
            2);
  EXPECT_TRUE(std::isnan(
      Value(f, "ml_output_observations_total", {{"model", "asr-en"}})));
  EXPECT_EQ(Value(f, "ml_output_observations_total", {{"model", "vision"}}), 2);
  EXPECT_EQ(Value(f, "ml_alert_threshold",
                  {{"model", "asr-en"},
                   {"feature", "age"},
                   {"metric", "missing_ratio"},
                   {"bound", "upper"}}),
            0.1);
  EXPECT_TRUE(
      std::isnan(Value(f, "ml_alert_threshold", {{"model", "vision"}})));
}

TEST(RoutingTest, ReconfigureKeepsCountersOfUnchangedCollectors) {
  std::unique_ptr<Pipeline> p;
  ASSERT_TRUE(Pipeline::Create(Routed(), &p).ok());
  Send(p.get(), "asr-en", 3);
  Send(p.get(), "vision", 2);

  PipelineOptions next = Routed();
  next.routes[0].thresholds[0].upper = 0.3;  // thresholds only: all kept
  ASSERT_TRUE(p->Reconfigure(next).ok());
  Send(p.get(), "asr-en", 1);
  auto f = p->Collect();
  EXPECT_EQ(Value(f, "ml_records_total", {{"model", "asr-en"}}), 4);
  EXPECT_EQ(Value(f, "ml_records_total", {{"model", "vision"}}), 2);
  EXPECT_EQ(Value(f, "ml_alert_threshold", {{"model", "asr-en"}}), 0.3);

  // Changing the asr inputs collector restarts only its series.
  (*next.routes[0].collectors)[1].include = {"age", "country"};
  ASSERT_TRUE(p->Reconfigure(next).ok());
  Send(p.get(), "asr-en", 1);
  f = p->Collect();
  EXPECT_EQ(Value(f, "ml_records_total", {{"model", "asr-en"}}), 5);
  EXPECT_EQ(Value(f, "ml_feature_observations_total",
                  {{"model", "asr-en"}, {"feature", "age"}}),
            1);
  EXPECT_EQ(Value(f, "ml_feature_observations_total",
                  {{"model", "asr-en"}, {"feature", "country"}}),
            1);
}

TEST(RoutingTest, ModelMovedToAnotherRouteIsNotExportedTwice) {
  std::unique_ptr<Pipeline> p;
  ASSERT_TRUE(Pipeline::Create(PipelineOptions{}, &p).ok());
  Send(p.get(), "vision", 2);
  PipelineOptions next;
  ModelRoute vision;
  vision.model = "vision";
  vision.collectors = std::vector<CollectorSpec>{{"software"}};
  next.routes.push_back(vision);
  ASSERT_TRUE(p->Reconfigure(next).ok());
  Send(p.get(), "vision", 1);
  auto f = p->Collect();
  // The default instances still hold vision's old counts but no longer
  // export them; the software collector is shared and kept.
  EXPECT_EQ(Value(f, "ml_records_total", {{"model", "vision"}}), 3);
  EXPECT_TRUE(std::isnan(
      Value(f, "ml_feature_observations_total", {{"model", "vision"}})));
}

TEST(RoutingTest, InvalidReconfigureChangesNothing) {
  std::unique_ptr<Pipeline> p;
  ASSERT_TRUE(Pipeline::Create(Routed(), &p).ok());
  Send(p.get(), "asr-en", 2);
  PipelineOptions bad = Routed();
  (*bad.routes[0].collectors)[0].name = "nonesuch";
  Status s = p->Reconfigure(bad);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind(
                "model \"asr-*\": unknown collector \"nonesuch\"; known "
                "collectors: ",
                0),
            0u)
      << s.message();
  EXPECT_NE(s.message().find("inputs, outputs"), std::string::npos);
  Send(p.get(), "asr-en", 1);
  auto f = p->Collect();
  EXPECT_EQ(Value(f, "ml_records_total", {{"model", "asr-en"}}), 3);
  EXPECT_EQ(p->current_options().routes, Routed().routes);
}

TEST(RoutingTest, DuplicateCollectorInARouteIsRejected) {
  PipelineOptions o;
  o.default_collectors = std::vector<CollectorSpec>{{"inputs"}, {"inputs"}};
  std::unique_ptr<Pipeline> p;
  Status s = Pipeline::Create(o, &p);
  EXPECT_EQ(s.message(),
            "default collectors: collector \"inputs\" is listed twice");
}

TEST(RoutingTest, ConcurrentObserveDuringReconfigure) {
  std::unique_ptr<Pipeline> p;
  ASSERT_TRUE(Pipeline::Create(Routed(), &p).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> running{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      Send(p.get(), "asr-en", 10);
      ++running;
      while (!stop) Send(p.get(), "asr-en", 10);
    });
  }
  while (running < 3) std::this_thread::yield();  // reloads overlap ingest
  PipelineOptions next = Routed();
  for (int i = 0; i < 50; ++i) {
    next.routes[0].thresholds[0].upper = 0.01 * i;
    ASSERT_TRUE(p->Reconfigure(next).ok());
    (void)p->Collect();
  }
  stop = true;
  for (auto& t : threads) t.join();
  // Counters survived every reload: records == feature observations.
  auto f = p->Collect();
  EXPECT_EQ(Value(f, "ml_records_total", {{"model", "asr-en"}}),
            Value(f, "ml_feature_observations_total",
                  {{"model", "asr-en"}, {"feature", "age"}}));
  EXPECT_GT(Value(f, "ml_records_total", {{"model", "asr-en"}}), 0);
}

}  // namespace
}  // namespace ml_exporter
