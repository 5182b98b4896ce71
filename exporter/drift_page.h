// DriftPage: GET /drift, the picture a person wants when a drift or
// missing-value alert fires. Per model and feature, the live distribution
// over a recent window drawn over the reference distribution (server-side
// SVG, no scripts, no external assets: it works offline), with the drift
// scores and the missing fraction, worst drift first.
//
// Everything comes from Pipeline::Collect() families:
//   live       ml_feature_value (histogram), ml_feature_category_total,
//              ml_feature_missing_total / ml_feature_observations_total
//   reference  ml_reference_feature_value (histogram),
//              ml_reference_feature_category_ratio (drift collector)
//   scores     ml_feature_drift{method}, ml_feature_unseen_category_ratio,
//              ml_feature_window_values, ml_drift_window_seconds,
//              ml_alert_threshold (configured thresholds)
// Without the drift collector the page still shows the live distributions
// and missing fractions, with a "no reference" note.
//
// The exporter's counters are cumulative, so the page remembers a few
// snapshots of them (one per view, at most one per kSnapshotSpacing; at
// most kMaxSnapshots, thinned so that they reach back further the older
// they are) and shows the change since the newest snapshot at least a
// window old; until one exists, everything since the counters started.
#ifndef ML_EXPORTER_EXPORTER_DRIFT_PAGE_H_
#define ML_EXPORTER_EXPORTER_DRIFT_PAGE_H_

#include <prometheus/metric_family.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace ml_exporter::internal {

// The parameters of GET /drift, from its query string.
struct DriftPageQuery {
  std::string model;    // only this model (empty: all)
  std::string feature;  // only this feature (empty: all)
  // The live window in seconds; 0: the model's drift window
  // (ml_drift_window_seconds), or kDefaultWindowSeconds without one.
  double window_seconds = 0;

  // Parses "model=asr&feature=age&window=300" (URL-encoded); unknown keys
  // and malformed values are ignored.
  static DriftPageQuery Parse(std::string_view query_string);
};

class DriftPage {
 public:
  static constexpr double kDefaultWindowSeconds = 600;
  static constexpr std::chrono::seconds kSnapshotSpacing{10};
  static constexpr size_t kMaxSnapshots = 48;

  // The alert rules' default thresholds (alerts/ml_exporter.alerts.yml) the
  // page applies where the configuration sets none: threshold metric name
  // (drift_psi, missing_ratio, ...) and value. Metrics without one are
  // judged only against configured thresholds, as the alerts do.
  static const std::vector<std::pair<std::string, double>>& DefaultThresholds();

  // The HTML page for `families` (one Collect()) at `now`. Thread-safe.
  std::string Render(const std::vector<prometheus::MetricFamily>& families,
                     const DriftPageQuery& query,
                     std::chrono::system_clock::time_point now =
                         std::chrono::system_clock::now());

  // Identifies one feature of one model.
  using FeatureKey =
      std::tuple<std::string, std::string, std::string, std::string>;

  // Cumulative counters of one feature at one time.
  struct Counters {
    std::vector<double> edges;       // live histogram edges (no +Inf)
    std::vector<double> cumulative;  // per edge, then +Inf; empty: none
    double missing = 0;
    double observations = 0;
    std::map<std::string, double> categories;
  };
  struct Snapshot {
    std::chrono::system_clock::time_point time;
    std::map<FeatureKey, Counters> features;
  };

 private:
  std::mutex mu_;
  std::deque<std::shared_ptr<const Snapshot>> snapshots_;  // oldest first
};

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_EXPORTER_DRIFT_PAGE_H_
