// The numbers `mltool review` judges by: whether a series moved, the
// distribution of a quantity, how an alert behaved, and the threshold that
// would have fired on the worst part of a range. Pure functions on samples,
// so they can be tested without a Prometheus.
#ifndef ML_EXPORTER_MLTOOL_REVIEW_STATISTICS_H_
#define ML_EXPORTER_MLTOOL_REVIEW_STATISTICS_H_

#include <optional>
#include <string_view>
#include <vector>

#include "mltool/review/prometheus_client.h"

namespace ml_exporter::mltool::review {

// How much a gauge varied over its samples (NaN samples ignored).
struct Variation {
  size_t samples = 0;
  double min = 0;
  double max = 0;
  double mean = 0;
  // (max - min) / |mean|; 0 when max == min; +Inf when the mean is 0 but the
  // values differ.
  double relative = 0;
};
Variation GaugeVariation(const std::vector<Sample>& samples);

// Total increase of a counter over its samples: the sum of the rises
// between consecutive samples, where a drop is a reset (the new value is
// the increase since it), as Prometheus' increase() counts them.
double CounterIncrease(const std::vector<Sample>& samples);

// Whether a series did not move: a counter that never increased, or a gauge
// whose relative variation is below `flat_level` (0.01 = 1%). A series with
// fewer than two samples is not judged (false).
bool IsFlatCounter(const std::vector<Sample>& samples);
bool IsFlatGauge(const std::vector<Sample>& samples, double flat_level);

// The q-quantile (0 <= q <= 1) of `values`, linearly interpolated between
// closest ranks (numpy's default); NaN values ignored. nullopt when empty.
std::optional<double> Quantile(std::vector<double> values, double q);

struct Distribution {
  size_t samples = 0;
  double min = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};
// Quantiles of the values of `samples` (NaN ignored); samples == 0 if none.
Distribution Distribute(const std::vector<Sample>& samples);

// What an alert did over the evaluation grid [start, end] at `step`.
struct AlertActivity {
  size_t steps = 0;                   // grid points in the range
  size_t firing_steps = 0;            // grid points where it was firing
  double firing_ratio = 0;            // firing_steps / steps
  size_t episodes = 0;                // separate runs of firing grid points
  double median_episode_seconds = 0;  // runs times step; 0 without episodes
};
// `firing` holds the samples of the alert's ALERTS{alertstate="firing"}
// series (any value means firing at that time).
AlertActivity ActivityOnGrid(const std::vector<Sample>& firing, double start,
                             double end, double step);

// Flapping: it went into firing at least `min_episodes` times and its
// median episode lasted at most `max_median_seconds`: short alarms that
// resolve on their own before anyone can act.
bool IsFlapping(const AlertActivity& activity, size_t min_episodes,
                double max_median_seconds);

// The threshold that the values would have crossed on only `percent`% of
// the samples: for an upper bound the (100 - percent)th percentile, for a
// lower bound the percent-th. nullopt without values. It ignores the
// alert's `for:` duration, so it fires at most that often, never more.
std::optional<double> SuggestThreshold(const std::vector<Sample>& values,
                                       bool upper_bound, double percent);

// Fraction of the (non-NaN) samples beyond `threshold`: above it for an
// upper bound, below it for a lower one. 0 without samples.
double FractionBeyond(const std::vector<Sample>& samples, double threshold,
                      bool upper_bound);

// Fraction of the grid [start, end] at `step` covered by samples (at most 1).
double Coverage(const std::vector<Sample>& samples, double start, double end,
                double step);

}  // namespace ml_exporter::mltool::review

#endif  // ML_EXPORTER_MLTOOL_REVIEW_STATISTICS_H_
