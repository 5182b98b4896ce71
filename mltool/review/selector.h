// The --selector of `mltool review`: a PromQL series selector without a
// metric name, `{model="asr", stage=~"dec.*"}`, applied to every query.
#ifndef ML_EXPORTER_MLTOOL_REVIEW_SELECTOR_H_
#define ML_EXPORTER_MLTOOL_REVIEW_SELECTOR_H_

#include <string>
#include <string_view>
#include <vector>

#include "ml_exporter/status.h"

namespace ml_exporter::mltool::review {

struct Matcher {
  std::string label;
  std::string op;     // =, !=, =~, !~
  std::string value;  // unescaped
};

class Selector {
 public:
  // "" or "{}" select everything. Errors name the position.
  static Status Parse(std::string_view text, Selector* out);

  // `metric{matchers}`, with `extra` matchers (already PromQL text, e.g.
  // alertstate="firing") added. Only matchers whose label is not one of
  // `model_labels_only` when `for_model_metrics` is false: the exporter's
  // own metrics have no model, version or stage, so those matchers would
  // select nothing.
  std::string Apply(std::string_view metric, std::string_view extra = "",
                    bool for_model_metrics = true) const;

  const std::vector<Matcher>& matchers() const { return matchers_; }
  bool empty() const { return matchers_.empty(); }

 private:
  std::vector<Matcher> matchers_;
};

}  // namespace ml_exporter::mltool::review

#endif  // ML_EXPORTER_MLTOOL_REVIEW_SELECTOR_H_
