// Histogram building blocks shared by the collectors: bucket edges, edges
// chosen from a warm-up sample, and per-thread bucket cells.
#ifndef ML_EXPORTER_CORE_HISTOGRAM_H_
#define ML_EXPORTER_CORE_HISTOGRAM_H_

#include <emmintrin.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "core/per_thread.h"

namespace ml_exporter::internal {

// Sorted, distinct, finite upper bounds. Bucket i counts values v with
// edges[i-1] < v <= edges[i]; bucket edges.size() is +Inf.
class BucketEdges {
 public:
  explicit BucketEdges(std::vector<double> edges);

  size_t bucket_count() const { return edges_.size() + 1; }
  const std::vector<double>& edges() const { return edges_; }

  // Index of the bucket that counts `v` (v must not be NaN).
  //
  // Hot: called for every numeric value and string length. With up to
  // kLinearEdges edges (the default for learned, latency and length
  // histograms) it counts the edges below `v` over a fixed-size inline copy
  // padded with +Inf: no branches, no dependent loads. On CPUs with
  // AVX-512 that is two 8-lane compares (BucketOfAvx512, chosen once per
  // process), else eight 2-lane SSE2 compares. Longer edge lists use a
  // binary search.
  size_t BucketOf(double v) const {
    if (edges_.size() > kLinearEdges) return BucketOfBinary(v);
    if (avx512_) return BucketOfAvx512(v);
    return BucketOfSse2(v);
  }

  // The linear count with SSE2, whatever the CPU. Public for tests and
  // benchmarks; same result as BucketOf when edges().size() <=
  // kLinearEdges.
  size_t BucketOfSse2(double v) const {
    // Each compare gives all-ones (-1) per edge below v; subtracting the
    // masks counts them, two lanes at a time.
    const __m128d x = _mm_set1_pd(v);
    __m128i below = _mm_setzero_si128();
    for (size_t i = 0; i < kLinearEdges; i += 2) {
      below = _mm_sub_epi64(
          below, _mm_castpd_si128(_mm_cmplt_pd(_mm_load_pd(&linear_[i]), x)));
    }
    return static_cast<size_t>(
        _mm_cvtsi128_si64(below) +
        _mm_cvtsi128_si64(_mm_unpackhi_epi64(below, below)));
  }

  // The linear count with AVX-512F: only on a CPU that has it
  // (CpuHasAvx512()). Public for tests and benchmarks.
  size_t BucketOfAvx512(double v) const;

  // Whether this CPU runs AVX-512F code (checked once).
  static bool CpuHasAvx512();

  static constexpr size_t kLinearEdges = 16;

 private:
  size_t BucketOfBinary(double v) const;

  std::vector<double> edges_;
  // edges_ followed by +Inf, when edges_.size() <= kLinearEdges.
  alignas(64) std::array<double, kLinearEdges> linear_;
  // BucketOf takes BucketOfAvx512 (CpuHasAvx512(), read once here so that
  // the hot path tests a member already in cache).
  bool avx512_;
};

// Edges at evenly spaced quantiles of `sample` (plus its minimum and
// maximum), deduplicated, and rounded to three significant digits, or to
// as many more as keep distinct edges distinct. `sample`
// is reordered. At least one edge when the sample is not empty.
std::vector<double> QuantileEdges(std::vector<double>* sample,
                                  size_t quantiles);

// Bucket counts and sum of one histogram series in one thread's shard.
class HistogramCells {
 public:
  explicit HistogramCells(size_t buckets) : counts_(buckets) {}
  void Observe(size_t bucket, double value) {
    counts_[bucket].Add(1);
    sum_.Add(value);
  }
  size_t size() const { return counts_.size(); }
  uint64_t count(size_t bucket) const { return counts_[bucket].Get(); }
  double sum() const { return sum_.Get(); }

 private:
  std::vector<OwnedCounter> counts_;
  OwnedSum sum_;
};

// Merged state of one histogram series at scrape time.
struct HistogramSnapshot {
  std::vector<uint64_t> counts;  // per bucket, not cumulative
  double sum = 0;
  void Add(const HistogramCells& cells);
};

// The cross-thread part of a histogram whose edges are either given or
// learned: until frozen it buffers observed values; once frozen its edges
// never change. Thread-safe.
class LearnedEdges {
 public:
  // `explicit_edges` non-empty: frozen from the start.
  LearnedEdges(std::vector<double> explicit_edges, size_t warmup_values,
               size_t quantiles);

  // Null until frozen; then stable for the life of this object.
  const BucketEdges* edges() const {
    return edges_.load(std::memory_order_acquire);
  }

  // Buffers `v` while warming up; freezes once `warmup_values` values are
  // buffered. Returns the edges if they are frozen now (the caller then
  // observes `v` itself), or null if `v` was buffered.
  const BucketEdges* AddWarmup(double v);

  // Freezes early when the first buffered value is older than `max_age`
  // (for features too rare to fill the warm-up).
  void FreezeIfOlderThan(std::chrono::steady_clock::duration max_age);

  // Counts of the buffered warm-up values, into the frozen buckets; empty
  // when not frozen.
  HistogramSnapshot WarmupSnapshot() const;

 private:
  void FreezeLocked();

  const size_t warmup_values_;
  const size_t quantiles_;
  mutable std::mutex mu_;
  std::vector<double> buffer_;
  std::chrono::steady_clock::time_point first_value_time_;
  std::unique_ptr<BucketEdges> owned_edges_;
  HistogramSnapshot warmup_counts_;
  std::atomic<const BucketEdges*> edges_{nullptr};
};

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_CORE_HISTOGRAM_H_
