// The alerting rules of ml_exporter, as data, and their rendering to a
// Prometheus rule file. One table serves both forms:
//   - threshold-matching (the shipped alerts/ml_exporter.alerts.yml): every
//     alert compares a quantity with ml_alert_threshold by vector matching,
//     so one file serves every model and thresholds change with the
//     exporter's configuration;
//   - static (`mltool rules --config FILE`): the thresholds of a
//     configuration written into the expressions, for teams that keep
//     thresholds in their rules repository.
// Both read the recording rules of alerts/ml_exporter.rules.yml.
#ifndef ML_EXPORTER_MLTOOL_ALERT_RULES_H_
#define ML_EXPORTER_MLTOOL_ALERT_RULES_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.pb.h"

namespace ml_exporter::mltool {

// What applies where a metric has no configured threshold for a bound.
struct ThresholdDefault {
  std::string_view metric;  // a name of config/threshold_metrics.h
  std::string_view bound;   // "upper" or "lower"
  // A constant, or (relative_to_yesterday) a factor of the same quantity
  // one day earlier: 0.8 means "20% below yesterday".
  double value;
  bool relative_to_yesterday = false;
};

// The defaults, documented in docs/alerting.md#defaults. Metrics not listed
// stay quiet without a configured threshold.
const std::vector<ThresholdDefault>& ThresholdDefaults();

// One alert that compares model_feature:ml_alert_value:current with
// thresholds.
struct ThresholdAlert {
  std::string_view name;
  std::string_view group;
  std::vector<std::string_view> metrics;  // threshold metric names compared
  std::string_view extra_matcher;         // e.g. field="output"; may be empty
  std::string_view for_duration;
  std::string_view severity;
  std::string_view summary;      // Go templates, as Prometheus expands them
  std::string_view description;  // (the default is appended)
};

// One alert with a fixed expression (exporter, process and host health).
// `$JOB` in the expression is replaced by the exporter's job name.
struct FixedAlert {
  std::string_view name;
  std::string_view group;
  std::string_view expr;
  std::string_view for_duration;
  std::string_view severity;
  std::string_view summary;
  std::string_view description;
};

const std::vector<ThresholdAlert>& ThresholdAlerts();
const std::vector<FixedAlert>& FixedAlerts();

struct RenderOptions {
  std::string job = "ml_exporter";  // the scrape job of the exporters
  std::string runbook_url_base =
      "https://github.com/ml-exporter/ml_exporter/blob/main/docs/runbooks";
  double host_load_ratio = 0.91;  // MLHostLoadHigh
  // Set: static rules with this configuration's thresholds (and `source`
  // names it in the header comment).
  const config::v1::Config* config = nullptr;
  std::string source;
};

// The rule file, YAML.
std::string RenderAlertRules(const RenderOptions& options);

}  // namespace ml_exporter::mltool

#endif  // ML_EXPORTER_MLTOOL_ALERT_RULES_H_
