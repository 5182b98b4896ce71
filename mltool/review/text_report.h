// The terminal form of a review report: per model and stage, what did not
// move and the configuration that would remove it, the alerts worth a
// second look with their numbers, stale references; then caps and
// collectors of the exporters.
#ifndef ML_EXPORTER_MLTOOL_REVIEW_TEXT_REPORT_H_
#define ML_EXPORTER_MLTOOL_REVIEW_TEXT_REPORT_H_

#include <string>

#include "mltool/review/findings.h"

namespace ml_exporter::mltool::review {

std::string RenderText(const Report& report);

}  // namespace ml_exporter::mltool::review

#endif  // ML_EXPORTER_MLTOOL_REVIEW_TEXT_REPORT_H_
