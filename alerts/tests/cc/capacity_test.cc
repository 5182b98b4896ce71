// `capacity` of a models[] entry: loaded from the configuration, checked,
// and exported as ml_model_capacity for the load ratio alert
// (alerts/ml_exporter.rules.yml, model:ml_load:ratio_rate5m).
#include <gtest/gtest.h>

#include <cmath>

#include "config/config_loader.h"
#include "ml_exporter/pipeline.h"
#include "ml_exporter/record_builder.h"

namespace ml_exporter {
namespace {

const std::vector<std::string> kKnown = {"inputs", "outputs", "software"};

// The gauge value of `family` for `model`; NaN when absent.
double Gauge(const std::vector<prometheus::MetricFamily>& families,
             const std::string& family, const std::string& model) {
  for (const auto& f : families) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      for (const auto& l : m.label) {
        if (l.name == "model" && l.value == model) return m.gauge.value;
      }
    }
  }
  return NAN;
}

void Send(Pipeline* p, const std::string& model) {
  RecordBuilder b;
  b.Model(model, "v1", "main").Latency(0.2);
  ASSERT_TRUE(p->Observe(b.record()).ok());
}

TEST(CapacityTest, LoadedPerModelEntry) {
  config::LoadedConfig loaded;
  ASSERT_TRUE(config::LoadConfigText("models:\n"
                                     "  - model: asr\n"
                                     "    capacity: 8\n"
                                     "  - model: vision\n",
                                     "c.yaml", PipelineOptions{}, kKnown,
                                     &loaded)
                  .ok());
  ASSERT_EQ(loaded.options.routes.size(), 2u);
  EXPECT_EQ(loaded.options.routes[0].capacity, 8.0);
  EXPECT_FALSE(loaded.options.routes[1].capacity.has_value());
}

TEST(CapacityTest, ZeroIsAnErrorWithItsPosition) {
  config::LoadedConfig loaded;
  Status s =
      config::LoadConfigText("models:\n  - model: asr\n    capacity: 0\n",
                             "c.yaml", PipelineOptions{}, kKnown, &loaded);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("c.yaml:3:"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("capacity"), std::string::npos) << s.message();
}

TEST(CapacityTest, ExportedForSeenModelsAndChangedByReconfigure) {
  PipelineOptions o;
  ModelRoute asr;
  asr.model = "asr*";
  asr.capacity = 8;
  o.routes.push_back(asr);
  std::unique_ptr<Pipeline> p;
  ASSERT_TRUE(Pipeline::Create(o, &p).ok());
  EXPECT_TRUE(std::isnan(Gauge(p->Collect(), "ml_model_capacity", "asr-de")));

  Send(p.get(), "asr-de");
  Send(p.get(), "vision");
  auto f = p->Collect();
  EXPECT_EQ(Gauge(f, "ml_model_capacity", "asr-de"), 8);
  EXPECT_TRUE(std::isnan(Gauge(f, "ml_model_capacity", "vision")));

  o.routes[0].capacity = 12;
  ASSERT_TRUE(p->Reconfigure(o).ok());
  EXPECT_EQ(Gauge(p->Collect(), "ml_model_capacity", "asr-de"), 12);

  o.routes[0].capacity.reset();
  ASSERT_TRUE(p->Reconfigure(o).ok());
  EXPECT_TRUE(std::isnan(Gauge(p->Collect(), "ml_model_capacity", "asr-de")));
}

}  // namespace
}  // namespace ml_exporter
