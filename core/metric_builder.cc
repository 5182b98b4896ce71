#include "ml_exporter/metric_builder.h"

#include <limits>

namespace ml_exporter {

LabelList ModelLabelList(
    const ModelLabels& model,
    std::initializer_list<std::pair<std::string_view, std::string_view>>
        extra) {
  LabelList labels;
  labels.reserve(3 + extra.size());
  labels.push_back({"model", model.model});
  labels.push_back({"version", model.version});
  labels.push_back({"stage", model.stage});
  for (const auto& [name, value] : extra) {
    labels.push_back({std::string(name), std::string(value)});
  }
  return labels;
}

prometheus::MetricFamily NewFamily(std::string name, std::string help,
                                   prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

void AddCounter(prometheus::MetricFamily* family, LabelList labels,
                double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = value;
  family->metric.push_back(std::move(m));
}

void AddGauge(prometheus::MetricFamily* family, LabelList labels,
              double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  family->metric.push_back(std::move(m));
}

void AddHistogram(prometheus::MetricFamily* family, LabelList labels,
                  const std::vector<double>& edges,
                  const std::vector<uint64_t>& counts, double sum) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  uint64_t cumulative = 0;
  m.histogram.bucket.reserve(edges.size() + 1);
  for (size_t i = 0; i <= edges.size(); ++i) {
    cumulative += i < counts.size() ? counts[i] : 0;
    prometheus::ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound =
        i < edges.size() ? edges[i] : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(b);
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = sum;
  family->metric.push_back(std::move(m));
}

void AppendIfNotEmpty(prometheus::MetricFamily family,
                      std::vector<prometheus::MetricFamily>* out) {
  if (!family.metric.empty()) out->push_back(std::move(family));
}

}  // namespace ml_exporter
