#include "core/plugin_families.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/label_value.h"

namespace ml_exporter::internal {
namespace {

namespace wire = pluginhost::v1;

bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reserved for the series a type adds itself.
std::string_view ReservedLabel(wire::MetricType type) {
  if (type == wire::METRIC_TYPE_HISTOGRAM) return "le";
  if (type == wire::METRIC_TYPE_SUMMARY) return "quantile";
  return {};
}

bool ConvertType(wire::MetricType in, prometheus::MetricType* out) {
  switch (in) {
    case wire::METRIC_TYPE_COUNTER:
      *out = prometheus::MetricType::Counter;
      return true;
    case wire::METRIC_TYPE_GAUGE:
      *out = prometheus::MetricType::Gauge;
      return true;
    case wire::METRIC_TYPE_HISTOGRAM:
      *out = prometheus::MetricType::Histogram;
      return true;
    case wire::METRIC_TYPE_SUMMARY:
      *out = prometheus::MetricType::Summary;
      return true;
    case wire::METRIC_TYPE_UNTYPED:
      *out = prometheus::MetricType::Untyped;
      return true;
    default:
      return false;
  }
}

// Empty when `in` is a valid series of `type`; converts it into `out`.
std::string ConvertMetric(
    const wire::Metric& in, wire::MetricType type,
    prometheus::ClientMetric* out,
    std::vector<prometheus::ClientMetric::Label>* sorted_labels) {
  const std::string_view reserved = ReservedLabel(type);
  out->label.reserve(in.labels_size());
  for (const wire::Label& l : in.labels()) {
    if (!IsValidLabelName(l.name())) {
      return "invalid label name \"" + SanitizeLabelValue(l.name(), 200) + "\"";
    }
    if (l.name() == reserved) {
      return "label \"" + l.name() + "\" is reserved in this metric type";
    }
    if (!IsValidUtf8(l.value())) {
      return "label \"" + l.name() + "\" has a value that is not UTF-8";
    }
    out->label.push_back({l.name(), l.value()});
  }
  // The plugin's label order is kept for the exposition; checks use a
  // sorted copy.
  *sorted_labels = out->label;
  std::sort(sorted_labels->begin(), sorted_labels->end());
  for (size_t i = 1; i < sorted_labels->size(); ++i) {
    if ((*sorted_labels)[i].name == (*sorted_labels)[i - 1].name) {
      return "label \"" + (*sorted_labels)[i].name +
             "\" appears twice in a series";
    }
  }
  out->timestamp_ms = in.timestamp_ms();
  switch (type) {
    case wire::METRIC_TYPE_COUNTER:
      if (in.value() < 0) return "counter value is negative";
      out->counter.value = in.value();
      break;
    case wire::METRIC_TYPE_GAUGE:
      out->gauge.value = in.value();
      break;
    case wire::METRIC_TYPE_UNTYPED:
      out->untyped.value = in.value();
      break;
    case wire::METRIC_TYPE_HISTOGRAM: {
      if (in.buckets_size() == 0) return "histogram has no buckets";
      double previous_bound = -INFINITY;
      uint64_t previous_count = 0;
      for (const wire::Bucket& b : in.buckets()) {
        if (!(b.upper_bound() > previous_bound)) {
          return "histogram bucket bounds are not strictly increasing";
        }
        if (b.cumulative_count() < previous_count) {
          return "histogram bucket counts are not cumulative";
        }
        previous_bound = b.upper_bound();
        previous_count = b.cumulative_count();
        out->histogram.bucket.push_back(
            {b.cumulative_count(), b.upper_bound()});
      }
      if (previous_bound != INFINITY) {
        return "histogram's last bucket is not +Inf";
      }
      if (in.sample_count() != previous_count) {
        return "histogram sample_count differs from its +Inf bucket";
      }
      out->histogram.sample_count = in.sample_count();
      out->histogram.sample_sum = in.sample_sum();
      break;
    }
    case wire::METRIC_TYPE_SUMMARY:
      for (const wire::Quantile& q : in.quantiles()) {
        if (!(q.quantile() >= 0 && q.quantile() <= 1)) {
          return "summary quantile outside [0, 1]";
        }
        out->summary.quantile.push_back({q.quantile(), q.value()});
      }
      out->summary.sample_count = in.sample_count();
      out->summary.sample_sum = in.sample_sum();
      break;
    default:
      break;
  }
  return {};
}

// Empty when `in` is valid; converts it into `out`.
std::string ConvertFamily(const wire::MetricFamily& in,
                          const std::unordered_set<std::string>& taken,
                          prometheus::MetricFamily* out) {
  if (!IsValidMetricName(in.name())) return "invalid metric name";
  if (std::string_view(in.name()).starts_with(kReservedMetricPrefix)) {
    return "names starting with \"" + std::string(kReservedMetricPrefix) +
           "\" are reserved for the exporter's own metrics";
  }
  if (taken.count(in.name()) != 0) {
    return "already exported by another collector or earlier in this output";
  }
  if (!ConvertType(in.type(), &out->type)) {
    return "unknown metric type " + std::to_string(in.type());
  }
  if (!IsValidUtf8(in.help())) return "help text is not UTF-8";
  out->name = in.name();
  out->help = in.help();
  out->metric.reserve(in.metrics_size());
  std::set<std::vector<prometheus::ClientMetric::Label>> label_sets;
  for (int i = 0; i < in.metrics_size(); ++i) {
    prometheus::ClientMetric metric;
    std::vector<prometheus::ClientMetric::Label> sorted;
    std::string problem =
        ConvertMetric(in.metrics(i), in.type(), &metric, &sorted);
    if (!problem.empty()) {
      return "series " + std::to_string(i) + ": " + problem;
    }
    if (!label_sets.insert(std::move(sorted)).second) {
      return "series " + std::to_string(i) +
             " repeats the label set of an "
             "earlier series";
    }
    out->metric.push_back(std::move(metric));
  }
  return {};
}

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(IsAlpha(c) || c == '_' || c == ':' || (i > 0 && IsDigit(c)))) {
      return false;
    }
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(IsAlpha(c) || c == '_' || (i > 0 && IsDigit(c)))) return false;
  }
  return true;
}

bool IsValidUtf8(std::string_view text) {
  // Sanitising is the identity exactly on valid UTF-8.
  for (unsigned char c : text) {
    if (c >= 0x80) return SanitizeLabelValue(text, text.size()) == text;
  }
  return true;
}

FamilyConversion ConvertPluginFamilies(
    const wire::MetricFamilies& in, std::unordered_set<std::string>* taken,
    std::vector<prometheus::MetricFamily>* out) {
  FamilyConversion result;
  for (const wire::MetricFamily& f : in.families()) {
    prometheus::MetricFamily family;
    std::string problem = ConvertFamily(f, *taken, &family);
    if (!problem.empty()) {
      ++result.dropped;
      result.problems.push_back("metric family \"" +
                                SanitizeLabelValue(f.name(), 200) +
                                "\": " + problem);
      continue;
    }
    ++result.accepted;
    taken->insert(family.name);
    if (!family.metric.empty()) out->push_back(std::move(family));
  }
  return result;
}

}  // namespace ml_exporter::internal
