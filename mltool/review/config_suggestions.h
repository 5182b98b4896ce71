// The configuration lines (docs/configuration.md) that would remove what a
// review found idle, and the limits that would stop a cap's overflow.
// Stated in the report, never applied.
#ifndef ML_EXPORTER_MLTOOL_REVIEW_CONFIG_SUGGESTIONS_H_
#define ML_EXPORTER_MLTOOL_REVIEW_CONFIG_SUGGESTIONS_H_

#include <string>
#include <string_view>
#include <vector>

#include "config.pb.h"

namespace ml_exporter::mltool::review {

// What to remove from one collector of a model: some fields, or the whole
// collector (none of its series moved).
struct CollectorRemoval {
  std::string collector;
  std::vector<std::string> fields;  // sorted, unique
  bool whole_collector = false;
};

struct ModelId {
  std::string model;
  std::string version;  // one version seen; "" or "none" when absent
  std::string stage;
};

// `*` globs as the configuration uses them for model, version and stage; an
// empty pattern matches anything.
bool GlobMatches(std::string_view pattern, std::string_view value);

// Index of the first `models` entry matching `id`, or -1.
int FirstMatchingEntry(const config::v1::Config& config, const ModelId& id);

// YAML for the model's entry with `removals` applied. With `config` (may be
// null) the entry is the first that matches (first match wins), its
// collectors list is edited (existing include/exclude kept), and a model
// without a collectors list gets one from default_collectors; `config_path`
// names the file in the comments. The built-in default collectors are
// `builtin_defaults` (listed when neither gives one). Empty when
// `removals` is.
std::string SuggestCollectorConfig(
    const ModelId& id, const std::vector<CollectorRemoval>& removals,
    const config::v1::Config* config, std::string_view config_path,
    const std::vector<std::string>& builtin_defaults);

// The limit in force for `limit` (max_label_values, ...): global.limits of
// `config` if set, else the exporter's default (docs/metrics.md); 0 for an
// unknown limit.
double LimitInForce(const config::v1::Config* config, std::string_view limit);

// A larger limit to try: twice the one in force. Whether the overflow was
// a few values too many or unbounded data (ids in a label) the review
// cannot tell; the report says to check that before raising it.
double SuggestLimit(double current);

// YAML under global.limits setting `limit` to `suggested`, with comments.
std::string SuggestLimitConfig(std::string_view limit, double current,
                               double suggested, double increase);

}  // namespace ml_exporter::mltool::review

#endif  // ML_EXPORTER_MLTOOL_REVIEW_CONFIG_SUGGESTIONS_H_
