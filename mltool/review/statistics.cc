#include "mltool/review/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ml_exporter::mltool::review {

Variation GaugeVariation(const std::vector<Sample>& samples) {
  Variation v;
  double sum = 0;
  for (const Sample& s : samples) {
    if (std::isnan(s.value)) continue;
    if (v.samples == 0) {
      v.min = v.max = s.value;
    } else {
      v.min = std::min(v.min, s.value);
      v.max = std::max(v.max, s.value);
    }
    sum += s.value;
    ++v.samples;
  }
  if (v.samples == 0) return v;
  v.mean = sum / static_cast<double>(v.samples);
  const double spread = v.max - v.min;
  if (spread == 0) {
    v.relative = 0;
  } else if (v.mean == 0 || std::isinf(spread)) {
    v.relative = std::numeric_limits<double>::infinity();
  } else {
    v.relative = spread / std::fabs(v.mean);
  }
  return v;
}

double CounterIncrease(const std::vector<Sample>& samples) {
  double increase = 0;
  bool have_previous = false;
  double previous = 0;
  for (const Sample& s : samples) {
    if (std::isnan(s.value)) continue;
    if (have_previous) {
      increase += s.value >= previous ? s.value - previous : s.value;
    }
    previous = s.value;
    have_previous = true;
  }
  return increase;
}

namespace {
size_t Valid(const std::vector<Sample>& samples) {
  return std::count_if(samples.begin(), samples.end(),
                       [](const Sample& s) { return !std::isnan(s.value); });
}
}  // namespace

bool IsFlatCounter(const std::vector<Sample>& samples) {
  return Valid(samples) >= 2 && CounterIncrease(samples) == 0;
}

bool IsFlatGauge(const std::vector<Sample>& samples, double flat_level) {
  if (Valid(samples) < 2) return false;
  const Variation v = GaugeVariation(samples);
  return v.relative == 0 || v.relative < flat_level;
}

std::optional<double> Quantile(std::vector<double> values, double q) {
  std::erase_if(values, [](double v) { return std::isnan(v); });
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  q = std::clamp(q, 0.0, 1.0);
  const double rank = q * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  if (frac == 0 || values[lo] == values[hi]) return values[lo];
  return values[lo] + (values[hi] - values[lo]) * frac;
}

Distribution Distribute(const std::vector<Sample>& samples) {
  std::vector<double> values;
  values.reserve(samples.size());
  for (const Sample& s : samples) {
    if (!std::isnan(s.value)) values.push_back(s.value);
  }
  Distribution d;
  d.samples = values.size();
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  d.min = values.front();
  d.max = values.back();
  d.p50 = *Quantile(values, 0.5);
  d.p90 = *Quantile(values, 0.9);
  d.p99 = *Quantile(values, 0.99);
  return d;
}

namespace {
// Index of the grid point a sample time falls on (the API returns samples
// on the grid; rounding absorbs float noise).
long GridIndex(double t, double start, double step) {
  return std::lround((t - start) / step);
}
}  // namespace

AlertActivity ActivityOnGrid(const std::vector<Sample>& firing, double start,
                             double end, double step) {
  AlertActivity a;
  if (!(step > 0) || end < start) return a;
  a.steps = static_cast<size_t>(std::floor((end - start) / step + 1e-9)) + 1;
  std::vector<bool> on(a.steps, false);
  for (const Sample& s : firing) {
    if (std::isnan(s.value)) continue;
    const long i = GridIndex(s.time, start, step);
    if (i >= 0 && static_cast<size_t>(i) < a.steps) on[i] = true;
  }
  std::vector<double> lengths;
  size_t run = 0;
  for (size_t i = 0; i <= a.steps; ++i) {
    if (i < a.steps && on[i]) {
      ++run;
      ++a.firing_steps;
    } else if (run > 0) {
      lengths.push_back(static_cast<double>(run) * step);
      run = 0;
    }
  }
  a.episodes = lengths.size();
  a.firing_ratio =
      static_cast<double>(a.firing_steps) / static_cast<double>(a.steps);
  if (!lengths.empty()) a.median_episode_seconds = *Quantile(lengths, 0.5);
  return a;
}

bool IsFlapping(const AlertActivity& activity, size_t min_episodes,
                double max_median_seconds) {
  return activity.episodes >= min_episodes &&
         activity.median_episode_seconds <= max_median_seconds;
}

std::optional<double> SuggestThreshold(const std::vector<Sample>& values,
                                       bool upper_bound, double percent) {
  std::vector<double> v;
  v.reserve(values.size());
  for (const Sample& s : values) v.push_back(s.value);
  const double p = std::clamp(percent, 0.0, 100.0) / 100.0;
  return Quantile(std::move(v), upper_bound ? 1.0 - p : p);
}

double FractionBeyond(const std::vector<Sample>& samples, double threshold,
                      bool upper_bound) {
  size_t n = 0, beyond = 0;
  for (const Sample& s : samples) {
    if (std::isnan(s.value)) continue;
    ++n;
    if (upper_bound ? s.value > threshold : s.value < threshold) ++beyond;
  }
  return n == 0 ? 0 : static_cast<double>(beyond) / static_cast<double>(n);
}

double Coverage(const std::vector<Sample>& samples, double start, double end,
                double step) {
  if (!(step > 0) || end < start) return 0;
  const double steps = std::floor((end - start) / step + 1e-9) + 1;
  return std::min(1.0, static_cast<double>(Valid(samples)) / steps);
}

}  // namespace ml_exporter::mltool::review
