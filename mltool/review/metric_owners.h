// Which collector exports an ml_ metric family, and which label names the
// field (feature or output) a series is about: what a configuration line
// must name to remove the series.
#ifndef ML_EXPORTER_MLTOOL_REVIEW_METRIC_OWNERS_H_
#define ML_EXPORTER_MLTOOL_REVIEW_METRIC_OWNERS_H_

#include <string>
#include <string_view>

#include "mltool/review/prometheus_client.h"

namespace ml_exporter::mltool::review {

struct MetricOwner {
  // Built-in collector name (software, inputs, outputs, drift, audio, image,
  // text, sessions, feedback, pipeline), or "" when unknown (a plugin's).
  std::string collector;
  // "feature", "output" or "" (model-level series), and the field's name.
  std::string field_kind;
  std::string field;
};

// `name` is the metric name as exported (with _total, without histogram
// suffixes); `labels` the series' labels.
MetricOwner OwnerOf(std::string_view name, const Labels& labels);

// Metrics the review does not judge for flatness: the exporter's own
// (ml_exporter_*, reviewed as collector health and caps) and those that
// repeat configuration or the reference profile, constant by design.
bool IsConstantByDesign(std::string_view name);

}  // namespace ml_exporter::mltool::review

#endif  // ML_EXPORTER_MLTOOL_REVIEW_METRIC_OWNERS_H_
