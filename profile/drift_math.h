// Drift scores between a reference distribution and a live one, computed
// from bin counts (see docs/drift.md for the definitions, the binning and
// the error bounds).
#ifndef ML_EXPORTER_PROFILE_DRIFT_MATH_H_
#define ML_EXPORTER_PROFILE_DRIFT_MATH_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ml_exporter::profile {

// Added to every bin's proportion before the PSI (then renormalised), so
// that a bin empty on one side gives a large but finite term.
inline constexpr double kPsiEpsilon = 1e-4;
// Added to every reference bin's count before the chi-squared test, so that
// a category the reference never saw has a small, non-zero expectation.
inline constexpr double kChiSquarePseudoCount = 0.5;

// Population stability index over the same bins:
//   sum_i (a_i - e_i) ln(a_i / e_i),
// a_i = (actual_i / sum(actual) + eps) / (1 + B eps), e_i likewise from
// `expected`. NaN when either side is empty.
double PopulationStabilityIndex(const std::vector<double>& expected,
                                const std::vector<double>& actual,
                                double epsilon = kPsiEpsilon);

// Jensen-Shannon distance with base-2 logarithms (0 identical, 1 disjoint):
// sqrt of the divergence between p and q, each normalised to sum 1, as
// scipy.spatial.distance.jensenshannon(p, q, base=2). NaN when either side
// is empty.
double JensenShannonDistance(const std::vector<double>& p,
                             const std::vector<double>& q);

// A distribution known through its cumulative fractions at a list of
// edges: `at[j]` = fraction <= edge j, `below[j]` = fraction < edge j (equal
// to `at[j]` where no point mass is tracked).
struct BinnedCdf {
  std::vector<double> at;
  std::vector<double> below;
};

// Largest absolute difference of two CDFs known at the same edges, on both
// sides of each edge: the two-sample Kolmogorov-Smirnov statistic of the
// underlying samples evaluated at those points (never above the exact one).
double KolmogorovSmirnov(const BinnedCdf& a, const BinnedCdf& b);

// A bin (edges[bin-1], edges[bin]] whose CDF integrals are known exactly on
// both sides: integral of F over the bin = F(edges[bin-1]) * width +
// excess, with excess = mean over all values of (edges[bin] - v) for the
// values v in the bin.
struct ExactBin {
  size_t bin = 0;
  double ref_excess = 0;
  double live_excess = 0;
};

// First Wasserstein distance between the reference and a live distribution
// known through cumulative fractions at `edges` (ascending):
//   integral |F_ref(x) - F_live(x)| dx.
// Inside [edges[lo], edges[hi]] (the reference's minimum and maximum) both
// CDFs are taken as linear between F(edges[j]) and F just below
// edges[j+1], except in `exact` bins where, if the CDFs do not cross at
// the bin's ends, the exact integrals are used. Below and above that range
// the reference CDF is 0 and 1 and the live contributions are given
// exactly: `live_excess_below` = mean over live values of max(edges[lo] -
// x, 0), `live_excess_above` = mean of max(x - edges[hi], 0).
double Wasserstein1(const std::vector<double>& edges, const BinnedCdf& ref,
                    const BinnedCdf& live, size_t lo, size_t hi,
                    double live_excess_below, double live_excess_above,
                    const std::vector<ExactBin>& exact = {});

struct ChiSquareResult {
  double statistic = 0;
  double dof = 0;
  double p_value = 1;
};

// Pearson's chi-squared goodness-of-fit test of `observed` counts against
// the proportions of `reference` counts (each plus `pseudo_count`), as
// scipy.stats.chisquare(observed, expected) with expected_i = n (ref_i +
// pseudo) / (N + B pseudo). dof = B - 1; p_value NaN when dof < 1 or n = 0.
ChiSquareResult ChiSquareTest(const std::vector<double>& reference,
                              const std::vector<double>& observed,
                              double pseudo_count = kChiSquarePseudoCount);

// Regularized upper incomplete gamma function Q(a, x) = Gamma(a, x) /
// Gamma(a), a > 0, x >= 0.
double RegularizedGammaQ(double a, double x);

// P(X > x) for X chi-squared with `dof` degrees of freedom.
inline double ChiSquareSurvival(double x, double dof) {
  return RegularizedGammaQ(dof / 2, x / 2);
}

}  // namespace ml_exporter::profile

#endif  // ML_EXPORTER_PROFILE_DRIFT_MATH_H_
