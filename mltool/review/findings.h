// What `mltool review` found, as data: the renderers (text_report.h,
// json_report.h) print it, review.h fills it.
#ifndef ML_EXPORTER_MLTOOL_REVIEW_FINDINGS_H_
#define ML_EXPORTER_MLTOOL_REVIEW_FINDINGS_H_

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mltool/review/prometheus_client.h"
#include "mltool/review/statistics.h"

namespace ml_exporter::mltool::review {

// One series that did not move over the range.
struct FlatSeries {
  std::string metric;  // as exported; histograms by their family name
  Labels labels;       // without __name__
  std::string kind;    // "counter", "gauge" or "histogram"
  double last = 0;     // counters and gauges: last value; histograms: count
  double relative_variation = 0;  // gauges: (max - min) / |mean|
};

// The flat series of one collector and field (or the model-level series of
// a collector, field empty).
struct FlatGroup {
  std::string collector;   // "" when the metric is not a built-in one
  std::string field_kind;  // "feature", "output" or ""
  std::string field;
  std::vector<FlatSeries> series;
  size_t total_series = 0;  // series of this collector and field judged
  // Every series of the collector and field is flat: configuration can
  // remove them (exclude the field) without losing anything that moved.
  bool removable() const { return series.size() == total_series; }
};

enum class AlertFindingKind { kNeverFired, kFiringMostly, kFlapping };
const char* AlertFindingKindName(AlertFindingKind kind);

struct AlertFinding {
  AlertFindingKind kind;
  std::string alertname;
  Labels labels;      // the alert's identifying labels (model, feature, ...)
  std::string bound;  // "upper", "lower", or "" (not a threshold alert)
  AlertActivity activity;
  size_t activations = 0;  // distinct ALERTS_FOR_STATE values: went pending
  // The threshold in force at the end of the range, and where it comes
  // from: "configured" (ml_alert_threshold), "default" (the rule's),
  // "relative default" (a factor of the value one day earlier; threshold
  // holds the factor), or "rule expression" (not a threshold alert).
  std::optional<double> threshold;
  std::string threshold_source;
  bool threshold_changed = false;  // the configured value changed in range
  Distribution distribution;       // of the metric behind it
  double beyond_ratio = 0;         // samples beyond the threshold in force
  std::optional<double> suggested_threshold;
};

// An alerting rule loaded in the server (/api/v1/rules) whose alertname has
// no ALERTS series at all (neither pending nor firing) in the range, and
// that is not already reported as a threshold alert of that name.
struct NeverFiredRule {
  std::string file;
  std::string group;
  std::string name;
  std::string expression;
  double for_seconds = 0;
  Labels labels;  // the rule's static labels
};

// A feature or output whose drift stayed beyond the threshold all along.
struct StaleReference {
  std::string field_kind;  // "feature" or "output"
  std::string field;
  std::string version;
  struct Method {
    std::string method;
    std::string bound;
    double threshold = 0;
    std::string threshold_source;  // "configured" or "default"
    Distribution distribution;
  };
  std::vector<Method> methods;
};

// Everything about one model and stage.
struct ModelReview {
  std::string model;
  std::string stage;
  std::set<std::string> versions;
  std::vector<FlatGroup> flat;
  std::string config_suggestion;  // YAML, with comments; "" if none
  std::vector<AlertFinding> alerts;
  std::vector<StaleReference> stale_references;
  std::string reprofile_suggestion;  // shell lines; "" if none
};

struct CapOverflow {
  std::string limit;  // max_label_values, max_features, ...
  double increase = 0;
  double current = 0;    // the limit in force (configuration or default)
  double suggested = 0;  // stated, never applied
  // Fields whose values overflowed to __other__ (model/stage/field).
  std::vector<std::string> fields;
  std::string config_suggestion;
};

struct CollectorFailure {
  std::string instance;
  std::string collector;
  double failing_ratio = 0;  // samples with success == 0
};

struct CollectorTime {
  std::string collector;
  double mean_seconds = 0;  // over samples and instances
  double max_seconds = 0;
  double share = 0;   // of the summed means of all collectors
  bool slow = false;  // max above --slow-collector-seconds
};

struct Report {
  std::string prometheus;
  std::string selector;
  double start = 0, end = 0, step = 0;
  double flat_level = 0;
  double top_percent = 0;
  std::vector<ModelReview> models;
  std::vector<AlertFinding> other_alerts;         // without model labels
  std::vector<NeverFiredRule> never_fired_rules;  // by file, group, name
  std::vector<CapOverflow> overflows;
  std::vector<CollectorFailure> collector_failures;
  std::vector<CollectorTime> collector_time;  // slowest first
  std::vector<std::string> notes;  // what could not be reviewed, and why

  // Findings that make the exit code 1: flat groups, alert findings,
  // never-fired rules, stale references, overflowed caps, failing and slow
  // collectors.
  size_t FindingCount() const;
};

}  // namespace ml_exporter::mltool::review

#endif  // ML_EXPORTER_MLTOOL_REVIEW_FINDINGS_H_
