// The time range of a review: durations and times as Prometheus users write
// them, and the query step chosen from the range.
#ifndef ML_EXPORTER_MLTOOL_REVIEW_TIME_RANGE_H_
#define ML_EXPORTER_MLTOOL_REVIEW_TIME_RANGE_H_

#include <string>
#include <string_view>

#include "ml_exporter/status.h"

namespace ml_exporter::mltool::review {

// A Prometheus duration: one or more NUMBER UNIT pairs, units ms, s, m, h,
// d, w, y (365d), e.g. "14d", "1h30m", "90s". A plain number is seconds.
Status ParseDuration(std::string_view text, double* seconds);

// A time: Unix seconds ("1700000000", "1700000000.5") or RFC 3339
// ("2026-11-28T10:00:00Z", "2026-11-28T10:00:00.5+01:00").
Status ParseTime(std::string_view text, double* unix_seconds);

// RFC 3339 in UTC, whole seconds: "2026-11-28T10:00:00Z".
std::string FormatTime(double unix_seconds);

// The step of the range queries: the range over at most `max_points`
// points, rounded up to a whole minute, at least 60 s (a scrape interval or
// more, so a series is seen at every step).
double ChooseStep(double range_seconds, int max_points = 1000);

// "14d", "3h", "20m", "45s": the largest unit that divides exactly.
std::string FormatDuration(double seconds);

}  // namespace ml_exporter::mltool::review

#endif  // ML_EXPORTER_MLTOOL_REVIEW_TIME_RANGE_H_
