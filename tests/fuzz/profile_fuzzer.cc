// Fuzz target: reference profiles (profile/reference.h) in binary or text
// form. A profile that loads must be safe to score against: every index the
// drift collector takes from the prepared field stays in range, and the
// scores of live values binned against it are what their definitions allow.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "profile/drift_math.h"
#include "profile/reference.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace profile = ml_exporter::profile;
using profile::PreparedField;
using profile::v1::FieldProfile;

bool RatioOrNan(double v) { return std::isnan(v) || (v >= 0 && v <= 1); }

void ScoreCategorical(const PreparedField& f) {
  FUZZ_CHECK(f.category_counts.size() == f.category_names.size() + 1);
  FUZZ_CHECK(f.category_index.size() == f.category_names.size());
  if (!f.has_distribution) return;
  const std::vector<double> reference = f.ReferenceBins();
  FUZZ_CHECK(reference.size() == f.bin_count());
  // Live traffic: the reference's mix reversed, one unseen value.
  std::vector<double> live(reference.rbegin(), reference.rend());
  live.back() += 1;
  FUZZ_CHECK(!(profile::PopulationStabilityIndex(reference, live) < 0));
  FUZZ_CHECK(RatioOrNan(profile::JensenShannonDistance(reference, live)));
  FUZZ_CHECK(RatioOrNan(profile::ChiSquareTest(reference, live).p_value));
}

void ScoreNumeric(const PreparedField& f) {
  FUZZ_CHECK(f.bins != nullptr);
  const std::vector<double>& edges = f.bins->edges();
  const size_t value_bins = f.value_bin_count();
  FUZZ_CHECK(value_bins == edges.size() + 1);
  FUZZ_CHECK(f.index.size() == edges.size());
  FUZZ_CHECK(f.ref_cdf.size() == edges.size() &&
             f.ref_below.size() == edges.size());
  FUZZ_CHECK(f.point_of_edge.size() == edges.size());
  for (int32_t p : f.point_of_edge) {
    FUZZ_CHECK(p < 0 || static_cast<size_t>(p) < f.points);
  }
  FUZZ_CHECK(f.coarse_of_bin.size() == value_bins);
  // Live values are binned whatever the reference holds ...
  for (double v : {-1e300, 0.0, 1e300})
    FUZZ_CHECK(f.index.BinOf(v) < value_bins);
  // ... and scored only against a distribution.
  if (!f.has_distribution) return;
  const std::vector<double> reference = f.ReferenceBins();
  FUZZ_CHECK(reference.size() == f.coarse_edges.size() + 1);
  for (uint32_t c : f.coarse_of_bin) FUZZ_CHECK(c < reference.size());
  FUZZ_CHECK(f.min_edge < edges.size() && f.max_edge < edges.size());
  FUZZ_CHECK(f.first_exact_bin < edges.size() &&
             f.last_exact_bin < edges.size());

  // Live values at and around every edge and outside the range, counted as
  // CountNumber in collectors/drift_collector.cc counts them.
  std::vector<double> values = {-1e300, 1e300, f.min, f.max, f.mean};
  for (double e : edges) {
    values.push_back(e);
    values.push_back(std::nextafter(e, -INFINITY));
    values.push_back(std::nextafter(e, INFINITY));
  }
  std::vector<uint64_t> bins(f.bin_count(), 0);
  double below = 0, above = 0, first = 0, last = 0;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    const size_t bin = f.index.BinOf(v);
    FUZZ_CHECK(bin <= edges.size());
    FUZZ_CHECK(bin == edges.size() || edges[bin] >= v);
    FUZZ_CHECK(bin == 0 || edges[bin - 1] < v);
    ++bins[bin];
    if (bin < edges.size() && f.point_of_edge[bin] >= 0 && v == edges[bin]) {
      ++bins[value_bins + f.point_of_edge[bin]];
    }
    if (v <= f.min) {
      below += f.min - v;
    } else if (v > f.max) {
      above += v - f.max;
    } else if (bin == f.first_exact_bin) {
      first += edges[bin] - v;
    } else if (bin == f.last_exact_bin) {
      last += edges[bin] - v;
    }
  }
  const double n = static_cast<double>(values.size());
  std::vector<double> live(reference.size(), 0);
  for (size_t j = 0; j < value_bins; ++j) {
    live[f.coarse_of_bin[j]] += static_cast<double>(bins[j]);
  }
  FUZZ_CHECK(!(profile::PopulationStabilityIndex(reference, live) < 0));
  FUZZ_CHECK(RatioOrNan(profile::JensenShannonDistance(reference, live)));
  profile::BinnedCdf live_cdf;
  uint64_t cumulative = 0;
  for (size_t j = 0; j < edges.size(); ++j) {
    cumulative += bins[j];
    live_cdf.at.push_back(static_cast<double>(cumulative) / n);
    live_cdf.below.push_back(live_cdf.at.back());
    if (f.point_of_edge[j] >= 0) {
      live_cdf.below.back() -=
          static_cast<double>(bins[value_bins + f.point_of_edge[j]]) / n;
    }
  }
  const profile::BinnedCdf ref_cdf{f.ref_cdf, f.ref_below};
  FUZZ_CHECK(RatioOrNan(profile::KolmogorovSmirnov(ref_cdf, live_cdf)));
  std::vector<profile::ExactBin> exact;
  if (f.first_exact_bin > 0) {
    exact.push_back({f.first_exact_bin, f.ref_first_excess, first / n});
  }
  if (f.last_exact_bin > 0) {
    exact.push_back({f.last_exact_bin, f.ref_last_excess, last / n});
  }
  profile::Wasserstein1(edges, ref_cdf, live_cdf, f.min_edge, f.max_edge,
                        below / n, above / n, exact);
}

void Score(const PreparedField& f) {
  switch (f.kind) {
    case FieldProfile::CATEGORICAL:
      ScoreCategorical(f);
      break;
    case FieldProfile::NUMERIC:
    case FieldProfile::TEXT:
      ScoreNumeric(f);
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  profile::v1::ReferenceProfile proto;
  if (!profile::ParseProfile(bytes, "fuzz.profile", &proto).ok()) return 0;
  const auto prepared = profile::PrepareProfile(proto, "fuzz.profile");
  for (const PreparedField& f : prepared->features) Score(f);
  for (const PreparedField& f : prepared->outputs) Score(f);
  return 0;
}
