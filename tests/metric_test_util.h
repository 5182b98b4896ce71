// Test helpers that look up families and series in Pipeline::Collect()
// output.
#ifndef ML_EXPORTER_TESTS_METRIC_TEST_UTIL_H_
#define ML_EXPORTER_TESTS_METRIC_TEST_UTIL_H_

#include <prometheus/metric_family.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ml_exporter::testing {

using Families = std::vector<prometheus::MetricFamily>;
using Labels = std::map<std::string, std::string>;

// model, version and stage labels (version and stage default to "none"),
// plus `extra`.
inline Labels ModelSeries(std::string model, Labels extra = {},
                          std::string version = "none",
                          std::string stage = "none") {
  extra["model"] = std::move(model);
  extra["version"] = std::move(version);
  extra["stage"] = std::move(stage);
  return extra;
}

inline Labels LabelsOf(const prometheus::ClientMetric& metric) {
  Labels labels;
  for (const auto& l : metric.label) labels[l.name] = l.value;
  return labels;
}

inline const prometheus::MetricFamily* FindFamily(const Families& families,
                                                  std::string_view name) {
  for (const auto& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// How many families are called `name` (each name must appear once).
inline size_t CountFamilies(const Families& families, std::string_view name) {
  size_t n = 0;
  for (const auto& f : families) n += f.name == name;
  return n;
}

// The series of family `name` whose label set is exactly `labels`.
inline const prometheus::ClientMetric* FindSeries(const Families& families,
                                                  std::string_view name,
                                                  const Labels& labels) {
  const prometheus::MetricFamily* family = FindFamily(families, name);
  if (family == nullptr) return nullptr;
  for (const auto& m : family->metric) {
    if (LabelsOf(m) == labels) return &m;
  }
  return nullptr;
}

// Counter value of one series; NaN when the series does not exist.
inline double CounterValue(const Families& families, std::string_view name,
                           const Labels& labels) {
  const prometheus::ClientMetric* m = FindSeries(families, name, labels);
  return m == nullptr ? NAN : m->counter.value;
}

// Gauge value of one series; NaN when the series does not exist.
inline double GaugeValue(const Families& families, std::string_view name,
                         const Labels& labels) {
  const prometheus::ClientMetric* m = FindSeries(families, name, labels);
  return m == nullptr ? NAN : m->gauge.value;
}

// One histogram series: upper bounds (the last is +Inf) and cumulative
// counts.
struct HistogramData {
  bool found = false;
  std::vector<double> bounds;
  std::vector<uint64_t> cumulative;
  uint64_t count = 0;
  double sum = 0;

  // Finite upper bounds only.
  std::vector<double> edges() const {
    std::vector<double> e;
    for (double b : bounds) {
      if (std::isfinite(b)) e.push_back(b);
    }
    return e;
  }
};

inline HistogramData Histogram(const Families& families, std::string_view name,
                               const Labels& labels) {
  HistogramData h;
  const prometheus::ClientMetric* m = FindSeries(families, name, labels);
  if (m == nullptr) return h;
  h.found = true;
  for (const auto& b : m->histogram.bucket) {
    h.bounds.push_back(b.upper_bound);
    h.cumulative.push_back(b.cumulative_count);
  }
  h.count = m->histogram.sample_count;
  h.sum = m->histogram.sample_sum;
  return h;
}

// Every label set of family `name`, in exposition order.
inline std::vector<Labels> SeriesLabels(const Families& families,
                                        std::string_view name) {
  std::vector<Labels> out;
  const prometheus::MetricFamily* family = FindFamily(families, name);
  if (family == nullptr) return out;
  for (const auto& m : family->metric) out.push_back(LabelsOf(m));
  return out;
}

}  // namespace ml_exporter::testing

#endif  // ML_EXPORTER_TESTS_METRIC_TEST_UTIL_H_
