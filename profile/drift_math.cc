#include "profile/drift_math.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ml_exporter::profile {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

// Integral over [0, w] of |d(t)| for d linear from d0 to d1.
double AbsLinearIntegral(double d0, double d1, double w) {
  if ((d0 >= 0) == (d1 >= 0)) return w * std::fabs(d0 + d1) / 2;
  return w * (d0 * d0 + d1 * d1) / (2 * (std::fabs(d0) + std::fabs(d1)));
}

// P(a, x) by its series, for x < a + 1.
double GammaPSeries(double a, double x) {
  double term = 1 / a;
  double sum = term;
  for (int n = 1; n < 10000; ++n) {
    term *= x / (a + n);
    sum += term;
    if (std::fabs(term) < std::fabs(sum) * 1e-16) break;
  }
  return sum * std::exp(-x + a * std::log(x) - std::lgamma(a));
}

// Q(a, x) by its continued fraction (modified Lentz), for x >= a + 1.
double GammaQContinuedFraction(double a, double x) {
  constexpr double kTiny = 1e-300;
  double b = x + 1 - a;
  double c = 1 / kTiny;
  double d = 1 / b;
  double h = d;
  for (int i = 1; i < 10000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < 1e-16) break;
  }
  return std::exp(-x + a * std::log(x) - std::lgamma(a)) * h;
}

}  // namespace

double PopulationStabilityIndex(const std::vector<double>& expected,
                                const std::vector<double>& actual,
                                double epsilon) {
  const double e_total = Sum(expected);
  const double a_total = Sum(actual);
  if (expected.size() != actual.size() || !(e_total > 0) || !(a_total > 0)) {
    return kNaN;
  }
  const double norm = 1 + epsilon * static_cast<double>(expected.size());
  double psi = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double e = (expected[i] / e_total + epsilon) / norm;
    const double a = (actual[i] / a_total + epsilon) / norm;
    psi += (a - e) * std::log(a / e);
  }
  return psi;
}

double JensenShannonDistance(const std::vector<double>& p,
                             const std::vector<double>& q) {
  const double p_total = Sum(p);
  const double q_total = Sum(q);
  if (p.size() != q.size() || !(p_total > 0) || !(q_total > 0)) return kNaN;
  double divergence = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double pi = p[i] / p_total;
    const double qi = q[i] / q_total;
    const double m = (pi + qi) / 2;
    if (pi > 0) divergence += pi * std::log2(pi / m);
    if (qi > 0) divergence += qi * std::log2(qi / m);
  }
  return std::sqrt(std::max(divergence / 2, 0.0));
}

double KolmogorovSmirnov(const BinnedCdf& a, const BinnedCdf& b) {
  double d = 0;
  for (size_t i = 0; i < a.at.size() && i < b.at.size(); ++i) {
    d = std::max(d, std::fabs(a.at[i] - b.at[i]));
    d = std::max(d, std::fabs(a.below[i] - b.below[i]));
  }
  return d;
}

double Wasserstein1(const std::vector<double>& edges, const BinnedCdf& ref,
                    const BinnedCdf& live, size_t lo, size_t hi,
                    double live_excess_below, double live_excess_above,
                    const std::vector<ExactBin>& exact) {
  double w = live_excess_below + live_excess_above;
  for (size_t j = lo; j < hi && j + 1 < edges.size(); ++j) {
    const double width = edges[j + 1] - edges[j];
    const double d0 = ref.at[j] - live.at[j];
    const double d1 = ref.below[j + 1] - live.below[j + 1];
    const ExactBin* e = nullptr;
    for (const ExactBin& x : exact) {
      if (x.bin == j + 1) e = &x;
    }
    if (e != nullptr && (d0 >= 0) == (d1 >= 0)) {
      w += std::fabs((ref.at[j] - live.at[j]) * width + e->ref_excess -
                     e->live_excess);
    } else {
      w += AbsLinearIntegral(d0, d1, width);
    }
  }
  return w;
}

ChiSquareResult ChiSquareTest(const std::vector<double>& reference,
                              const std::vector<double>& observed,
                              double pseudo_count) {
  ChiSquareResult r;
  const double n = Sum(observed);
  const double bins = static_cast<double>(reference.size());
  const double total = Sum(reference) + pseudo_count * bins;
  r.dof = bins - 1;
  if (reference.size() != observed.size() || r.dof < 1 || !(n > 0) ||
      !(total > 0)) {
    r.statistic = r.p_value = kNaN;
    return r;
  }
  for (size_t i = 0; i < reference.size(); ++i) {
    const double expected = n * (reference[i] + pseudo_count) / total;
    const double diff = observed[i] - expected;
    r.statistic += diff * diff / expected;
  }
  r.p_value = ChiSquareSurvival(r.statistic, r.dof);
  return r;
}

double RegularizedGammaQ(double a, double x) {
  if (!(a > 0) || !(x >= 0)) return kNaN;
  if (x == 0) return 1;
  if (std::isinf(x)) return 0;
  if (x < a + 1) return std::clamp(1 - GammaPSeries(a, x), 0.0, 1.0);
  return std::clamp(GammaQContinuedFraction(a, x), 0.0, 1.0);
}

}  // namespace ml_exporter::profile
