#include "profile/profile_builder.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ml_exporter::profile {
namespace {

// Per-bin counts of `sorted` values over upper bounds `edges` (bin i:
// edges[i-1] < v <= edges[i]; the last bin is above the last edge).
std::vector<uint64_t> BinCounts(const std::vector<double>& sorted,
                                const std::vector<double>& edges) {
  std::vector<uint64_t> counts;
  counts.reserve(edges.size() + 1);
  size_t below = 0;
  for (double e : edges) {
    const size_t upto = static_cast<size_t>(
        std::upper_bound(sorted.begin(), sorted.end(), e) - sorted.begin());
    counts.push_back(upto - below);
    below = upto;
  }
  counts.push_back(sorted.size() - below);
  return counts;
}

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Keeps a uniform sample of at most `capacity` of the `seen` values so far
// (reservoir sampling; all of them when `capacity` is 0).
void Sample(std::vector<double>* kept, uint64_t seen, size_t capacity, double v,
            uint64_t* rng) {
  if (capacity == 0 || kept->size() < capacity) {
    kept->push_back(v);
    return;
  }
  const uint64_t j = SplitMix64(rng) % seen;
  if (j < capacity) (*kept)[j] = v;
}

}  // namespace

std::string FormatBound(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.16g", v);
  return buf;
}

std::vector<double> RankEdges(const std::vector<double>& sorted, size_t bins) {
  std::vector<double> edges;
  if (sorted.empty()) return edges;
  if (bins < 1) bins = 1;
  const uint64_t n = sorted.size();
  std::string last;
  for (uint64_t k = 0; k <= bins; ++k) {
    const double e = sorted[(n - 1) * k / bins];
    if (!edges.empty() && (e == edges.back() || FormatBound(e) == last)) {
      continue;
    }
    edges.push_back(e);
    last = FormatBound(e);
  }
  return edges;
}

void BuildNumericProfile(std::vector<double>* values,
                         const BuildOptions& options, v1::NumericProfile* out) {
  out->Clear();
  std::vector<double>& v = *values;
  std::sort(v.begin(), v.end());
  const uint64_t n = v.size();
  out->set_count(n);
  if (n == 0) return;
  double sum = 0;
  for (double x : v) sum += x;
  const double mean = sum / static_cast<double>(n);
  double squares = 0;
  for (double x : v) squares += (x - mean) * (x - mean);
  out->set_sum(sum);
  out->set_mean(mean);
  out->set_stddev(std::sqrt(squares / static_cast<double>(n)));
  out->set_min(v.front());
  out->set_max(v.back());

  const std::vector<double> edges = RankEdges(v, options.bins);
  for (double e : edges) out->add_edges(e);
  for (uint64_t c : BinCounts(v, edges)) out->add_counts(c);

  // The summary: every percentile (for quantiles = 100), ten times finer
  // steps in the outer step of each tail, and the histogram edges.
  const uint64_t q = std::max<size_t>(options.quantiles, 1);
  std::vector<double> fine(edges);
  for (uint64_t k = 0; k <= q; ++k) fine.push_back(v[(n - 1) * k / q]);
  for (uint64_t k = 1; k < 10; ++k) {
    fine.push_back(v[(n - 1) * k / (10 * q)]);
    fine.push_back(v[(n - 1) * (10 * q - k) / (10 * q)]);
  }
  std::sort(fine.begin(), fine.end());
  fine.erase(std::unique(fine.begin(), fine.end()), fine.end());
  for (double e : fine) out->add_quantile_edges(e);
  for (uint64_t c : BinCounts(v, fine)) out->add_quantile_counts(c);
  size_t i = 0;
  for (size_t b = 0; b <= fine.size(); ++b) {
    double excess = 0;
    uint64_t points = 0;
    for (; i < v.size() && (b == fine.size() || v[i] <= fine[b]); ++i) {
      if (b < fine.size()) {
        excess += fine[b] - v[i];
        points += v[i] == fine[b];
      }
    }
    out->add_quantile_bin_excess(excess);
    if (b < fine.size()) out->add_quantile_point_counts(points);
  }
}

FieldAccumulator::FieldAccumulator(size_t sample_capacity, size_t max_distinct)
    : sample_capacity_(sample_capacity), max_distinct_(max_distinct) {}

void FieldAccumulator::AddNumber(double v) {
  if (!std::isfinite(v)) {
    ++nonfinite_;
    return;
  }
  ++numbers_seen_;
  Sample(&numbers_, numbers_seen_, sample_capacity_, v, &rng_state_);
}

void FieldAccumulator::AddString(std::string_view s) {
  ++strings_;
  if (auto it = distinct_.find(s); it != distinct_.end()) {
    ++it->second;
  } else if (distinct_.size() < max_distinct_) {
    distinct_.emplace(std::string(s), 1);
  } else {
    ++overflow_strings_;
  }
  ++lengths_seen_;
  Sample(&lengths_, lengths_seen_, sample_capacity_,
         static_cast<double>(internal::Utf8Length(s)), &rng_state_);
}

v1::FieldProfile FieldAccumulator::Finish(const std::string& name,
                                          uint64_t records,
                                          const BuildOptions& options,
                                          v1::FieldProfile::Kind kind) const {
  v1::FieldProfile out;
  out.set_name(name);
  out.set_count(std::max(records, present_ + null_));
  out.set_missing(out.count() - present_);
  const uint64_t numbers = numbers_seen_ + nonfinite_;
  if (kind == v1::FieldProfile::KIND_UNSPECIFIED) {
    if (numbers > 0 && numbers >= strings_) {
      kind = v1::FieldProfile::NUMERIC;
    } else if (strings_ > 0) {
      const uint64_t distinct = distinct_.size() + (overflow_strings_ > 0);
      kind = distinct > options.max_categories && 2 * distinct > strings_
                 ? v1::FieldProfile::TEXT
                 : v1::FieldProfile::CATEGORICAL;
    }
  }
  out.set_kind(kind);
  if (kind == v1::FieldProfile::KIND_UNSPECIFIED) return out;

  if (kind == v1::FieldProfile::NUMERIC) {
    out.set_nonfinite(nonfinite_);
    out.set_wrong_type(strings_);
    std::vector<double> values = numbers_;
    BuildNumericProfile(&values, options, out.mutable_numeric());
    return out;
  }
  out.set_wrong_type(numbers);
  if (kind == v1::FieldProfile::TEXT) {
    std::vector<double> lengths = lengths_;
    BuildNumericProfile(&lengths, options, out.mutable_numeric());
  }
  std::vector<std::pair<std::string, uint64_t>> sorted(distinct_.begin(),
                                                       distinct_.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  // Free text lists only its most frequent values, for review.
  const size_t listed = kind == v1::FieldProfile::TEXT
                            ? std::min<size_t>(options.max_categories, 20)
                            : options.max_categories;
  v1::CategoricalProfile* c = out.mutable_categorical();
  c->set_count(strings_);
  uint64_t other = overflow_strings_;
  uint64_t other_distinct = overflow_strings_ > 0 ? 1 : 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i < listed) {
      v1::Category* cat = c->add_categories();
      cat->set_value(sorted[i].first);
      cat->set_count(sorted[i].second);
    } else {
      other += sorted[i].second;
      ++other_distinct;
    }
  }
  c->set_other_count(other);
  c->set_other_distinct(other_distinct);
  return out;
}

}  // namespace ml_exporter::profile
