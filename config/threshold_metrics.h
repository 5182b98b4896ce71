// The metrics an alert threshold in the configuration can name. The shipped
// alert rules compare each of these with ml_alert_threshold{metric=...}.
#ifndef ML_EXPORTER_CONFIG_THRESHOLD_METRICS_H_
#define ML_EXPORTER_CONFIG_THRESHOLD_METRICS_H_

#include <string_view>

namespace ml_exporter::config {

struct ThresholdMetric {
  std::string_view name;
  bool per_field;  // needs `feature` (a feature or an output name)
  std::string_view meaning;
};

inline constexpr ThresholdMetric kThresholdMetrics[] = {
    {"missing_ratio", true, "fraction of records with the feature missing"},
    {"null_output_ratio", true,
     "fraction of records with the output null or empty"},
    {"category_ratio", true, "share of the most common category value"},
    {"drift_psi", true, "population stability index against the reference"},
    {"drift_jensen_shannon", true,
     "Jensen-Shannon distance against the reference"},
    {"drift_ks", true, "Kolmogorov-Smirnov statistic against the reference"},
    {"drift_wasserstein", true,
     "first Wasserstein distance against the reference"},
    {"drift_wasserstein_normalized", true,
     "first Wasserstein distance in reference standard deviations"},
    {"drift_chi2_p_value", true,
     "chi-squared test p-value (alerts below lower)"},
    {"unseen_category_ratio", true, "share of categories not in the reference"},
    {"error_ratio", false, "fraction of records with error=true"},
    {"latency_p99_seconds", false, "99th percentile of latency_seconds"},
    {"load_ratio", false,
     "busy seconds per second over the configured capacity"},
    {"records_per_second", false, "record rate (lower bound: traffic stopped)"},
    {"accuracy_ratio", false, "accuracy from delayed labels"},
    {"click_through_ratio", false, "clicks per impression"},
    {"repeat_request_ratio", false, "quick repeated queries per request"},
    {"modality_switch_ratio", false, "switches to typing per prediction"},
};

inline const ThresholdMetric* FindThresholdMetric(std::string_view name) {
  for (const auto& m : kThresholdMetrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

}  // namespace ml_exporter::config

#endif  // ML_EXPORTER_CONFIG_THRESHOLD_METRICS_H_
