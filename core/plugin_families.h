// Checking and converting the metric families a plugin collector returns.
//
// The host does not trust plugin output: a family with an invalid name, a
// name reserved for the exporter or already exported, bad label names,
// repeated label sets or an inconsistent histogram would make the whole
// exposition unparseable for Prometheus. Such a family is dropped whole and
// the reason reported; the others are exported.
#ifndef ML_EXPORTER_CORE_PLUGIN_FAMILIES_H_
#define ML_EXPORTER_CORE_PLUGIN_FAMILIES_H_

#include <prometheus/metric_family.h>

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "plugin_host.pb.h"

namespace ml_exporter::internal {

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__" (reserved).
bool IsValidLabelName(std::string_view name);
bool IsValidUtf8(std::string_view text);

// Families whose names start with this are the exporter's own.
inline constexpr std::string_view kReservedMetricPrefix = "ml_exporter_";

struct FamilyConversion {
  size_t accepted = 0;
  size_t dropped = 0;
  // One line per dropped family, e.g.
  // `metric family "9x": invalid metric name`.
  std::vector<std::string> problems;
};

// Appends the valid families of `in` that have at least one series to
// `out`. `taken` holds names other collectors exported this scrape; the
// names accepted are added to it.
FamilyConversion ConvertPluginFamilies(
    const pluginhost::v1::MetricFamilies& in,
    std::unordered_set<std::string>* taken,
    std::vector<prometheus::MetricFamily>* out);

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_CORE_PLUGIN_FAMILIES_H_
