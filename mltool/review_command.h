// `mltool review`: the periodic review of what ml_exporter's metrics and
// alerts did over a range, read from a Prometheus-compatible API. See
// docs/review.md.
#ifndef ML_EXPORTER_MLTOOL_REVIEW_COMMAND_H_
#define ML_EXPORTER_MLTOOL_REVIEW_COMMAND_H_

#include <string>
#include <vector>

namespace ml_exporter::mltool {

// `args` are the arguments after "review". Returns the exit code: 0 nothing
// found, 1 findings, 2 usage error, invalid configuration, or a failed
// request (unreachable server, HTTP or API error).
int RunReviewCommand(const std::vector<std::string>& args);

}  // namespace ml_exporter::mltool

#endif  // ML_EXPORTER_MLTOOL_REVIEW_COMMAND_H_
