// The JSON document served at GET /api/v1/status: running configuration,
// collectors per model, discovered features and outputs, and the caps that
// were reached.
#ifndef ML_EXPORTER_EXPORTER_STATUS_JSON_H_
#define ML_EXPORTER_EXPORTER_STATUS_JSON_H_

#include <string>
#include <string_view>

#include "ml_exporter/pipeline.h"

namespace ml_exporter::internal {

struct StatusInputs {
  std::string config_file;          // empty without --config
  std::string running_config_json;  // "{}" without --config
  bool config_reload_successful = true;
};

std::string BuildStatusJson(Pipeline* pipeline, const StatusInputs& inputs);

// `s` as a JSON string literal (quotes included), valid UTF-8.
std::string JsonQuote(std::string_view s);

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_EXPORTER_STATUS_JSON_H_
