// A C++ model server that links the ml_exporter library: it builds records
// in-process (no JSON), observes them, and renders the metrics itself. A real
// server would register pipeline->AsCollectable() with its own
// prometheus::Exposer or serve the text from its own HTTP handler.
#include <prometheus/text_serializer.h>

#include <cstdio>
#include <iostream>
#include <random>

#include "ml_exporter/pipeline.h"
#include "ml_exporter/record_builder.h"

int main() {
  ml_exporter::PipelineOptions options;
  options.histogram_warmup_values = 100;
  std::unique_ptr<ml_exporter::Pipeline> pipeline;
  if (auto s = ml_exporter::Pipeline::Create(options, &pipeline); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  std::mt19937 rng(42);
  std::normal_distribution<double> age(40, 12);
  std::uniform_real_distribution<double> unit(0, 1);
  const char* countries[] = {"DE", "FR", "US"};
  ml_exporter::RecordBuilder record;
  for (int i = 0; i < 1000; ++i) {
    record.Reset();
    record.Model("churn", "v2", "main").Latency(0.002 + 0.01 * unit(rng));
    if (unit(rng) < 0.1) {
      record.MissingInput("age");
    } else {
      record.Input("age", age(rng));
    }
    record.Input("country", countries[i % 3]);
    const double score = unit(rng);
    record.Output("score", score)
        .Output("label", score > 0.5 ? "churn" : "stay");
    if (auto s = pipeline->Observe(record.record()); !s.ok()) {
      std::fprintf(stderr, "rejected: %s\n", s.message().c_str());
    }
  }
  prometheus::TextSerializer().Serialize(std::cout, pipeline->Collect());
  return 0;
}
