// The JSON form of a review report, for automation. Stable keys, documented
// in docs/review.md#json; numbers that are not finite are written as
// strings ("NaN", "+Inf"), as Prometheus does.
#ifndef ML_EXPORTER_MLTOOL_REVIEW_JSON_REPORT_H_
#define ML_EXPORTER_MLTOOL_REVIEW_JSON_REPORT_H_

#include <string>

#include "mltool/review/findings.h"

namespace ml_exporter::mltool::review {

std::string RenderJson(const Report& report);

}  // namespace ml_exporter::mltool::review

#endif  // ML_EXPORTER_MLTOOL_REVIEW_JSON_REPORT_H_
