#include "core/histogram.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ml_exporter::internal {

BucketEdges::BucketEdges(std::vector<double> edges)
    : edges_(std::move(edges)), avx512_(CpuHasAvx512()) {
  edges_.erase(std::remove_if(edges_.begin(), edges_.end(),
                              [](double e) { return !std::isfinite(e); }),
               edges_.end());
  std::sort(edges_.begin(), edges_.end());
  edges_.erase(std::unique(edges_.begin(), edges_.end()), edges_.end());
  linear_.fill(INFINITY);
  if (edges_.size() <= kLinearEdges) {
    std::copy(edges_.begin(), edges_.end(), linear_.begin());
  }
}

bool BucketEdges::CpuHasAvx512() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return has;
}

// Compiled for AVX-512F whatever the build's baseline; only called when
// CpuHasAvx512(). Each compare sets one mask bit per edge below v (ordered:
// false for NaN, as _mm_cmplt_pd).
__attribute__((target("avx512f,popcnt"))) size_t BucketEdges::BucketOfAvx512(
    double v) const {
  static_assert(kLinearEdges == 16, "two compares of eight lanes");
  const __m512d x = _mm512_set1_pd(v);
  const __mmask8 low =
      _mm512_cmp_pd_mask(_mm512_load_pd(&linear_[0]), x, _CMP_LT_OQ);
  const __mmask8 high =
      _mm512_cmp_pd_mask(_mm512_load_pd(&linear_[8]), x, _CMP_LT_OQ);
  return static_cast<size_t>(
      __builtin_popcount((static_cast<unsigned>(high) << 8) | low));
}

size_t BucketEdges::BucketOfBinary(double v) const {
  // Branch-free lower_bound: first edge >= v.
  const double* first = edges_.data();
  size_t n = edges_.size();
  if (n == 0) return 0;
  const double* base = first;
  while (n > 1) {
    size_t half = n / 2;
    base = (base[half] < v) ? base + half : base;
    n -= half;
  }
  return static_cast<size_t>(base - first) + (*base < v);
}

static double RoundSignificant(double v, int digits) {
  if (v == 0 || !std::isfinite(v)) return v;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return std::strtod(buf, nullptr);
}

std::vector<double> QuantileEdges(std::vector<double>* sample,
                                  size_t quantiles) {
  std::vector<double>& s = *sample;
  s.erase(std::remove_if(s.begin(), s.end(),
                         [](double v) { return !std::isfinite(v); }),
          s.end());
  if (s.empty()) return {};
  std::sort(s.begin(), s.end());
  if (quantiles < 1) quantiles = 1;
  std::vector<double> raw = {s.front()};
  for (size_t k = 1; k < quantiles; ++k) {
    raw.push_back(s[(s.size() - 1) * k / quantiles]);
  }
  raw.push_back(s.back());
  raw.erase(std::unique(raw.begin(), raw.end()), raw.end());
  // Three significant digits read well; use more only where three would
  // merge distinct edges (values 500.00..502.00, Unix timestamps).
  std::vector<double> edges;
  for (int digits = 3; digits <= 17; ++digits) {
    edges.clear();
    for (double v : raw) edges.push_back(RoundSignificant(v, digits));
    edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
    if (edges.size() == raw.size()) break;
  }
  return edges;
}

void HistogramSnapshot::Add(const HistogramCells& cells) {
  if (counts.size() < cells.size()) counts.resize(cells.size(), 0);
  for (size_t i = 0; i < cells.size(); ++i) counts[i] += cells.count(i);
  sum += cells.sum();
}

LearnedEdges::LearnedEdges(std::vector<double> explicit_edges,
                           size_t warmup_values, size_t quantiles)
    : warmup_values_(warmup_values < 1 ? 1 : warmup_values),
      quantiles_(quantiles) {
  if (!explicit_edges.empty()) {
    owned_edges_ = std::make_unique<BucketEdges>(std::move(explicit_edges));
    warmup_counts_.counts.assign(owned_edges_->bucket_count(), 0);
    edges_.store(owned_edges_.get(), std::memory_order_release);
  }
}

const BucketEdges* LearnedEdges::AddWarmup(double v) {
  std::lock_guard<std::mutex> lock(mu_);
  if (owned_edges_) return owned_edges_.get();
  if (buffer_.empty()) first_value_time_ = std::chrono::steady_clock::now();
  buffer_.push_back(v);
  if (buffer_.size() >= warmup_values_) FreezeLocked();
  return nullptr;
}

void LearnedEdges::FreezeIfOlderThan(
    std::chrono::steady_clock::duration max_age) {
  std::lock_guard<std::mutex> lock(mu_);
  if (owned_edges_ || buffer_.empty()) return;
  if (std::chrono::steady_clock::now() - first_value_time_ >= max_age) {
    FreezeLocked();
  }
}

void LearnedEdges::FreezeLocked() {
  std::vector<double> values = buffer_;
  owned_edges_ =
      std::make_unique<BucketEdges>(QuantileEdges(&values, quantiles_));
  warmup_counts_.counts.assign(owned_edges_->bucket_count(), 0);
  for (double v : buffer_) {
    warmup_counts_.counts[owned_edges_->BucketOf(v)]++;
    warmup_counts_.sum += v;
  }
  buffer_.clear();
  buffer_.shrink_to_fit();
  edges_.store(owned_edges_.get(), std::memory_order_release);
}

HistogramSnapshot LearnedEdges::WarmupSnapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return warmup_counts_;
}

}  // namespace ml_exporter::internal
