// Loading reference profiles and preparing them for the drift collector:
// the bins live values are counted in and the reference distribution over
// them.
#ifndef ML_EXPORTER_PROFILE_REFERENCE_H_
#define ML_EXPORTER_PROFILE_REFERENCE_H_

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/histogram.h"
#include "core/label_value.h"
#include "ml_exporter/options.h"
#include "ml_exporter/status.h"
#include "profile.pb.h"
#include "profile/profile_builder.h"

namespace ml_exporter::profile {

// Finds the bin of a value among many edges with few cache lines: the
// edges in blocks of 8 (one 64-byte line each, padded with +Inf) under a
// guide holding each block's last edge.
class BinIndex {
 public:
  BinIndex() = default;
  explicit BinIndex(const std::vector<double>& edges);

  // Index of the first edge >= v (edges.size() when none), as
  // internal::BucketEdges::BucketOf. v must not be NaN.
  size_t BinOf(double v) const {
    return Find(guide_.data(), guide_.size(), blocks_.get(), size_, v);
  }

  // The same on the raw arrays, for callers that keep them at hand.
  static size_t Find(const double* guide, size_t guides, const double* blocks,
                     size_t size, double v) {
    size_t lo = 0;
    size_t len = guides;
    while (len > 0) {
      const size_t half = len / 2;
      if (guide[lo + half] < v) {
        lo += half + 1;
        len -= half + 1;
      } else {
        len = half;
      }
    }
    if (lo == guides) return size;
    const double* block = blocks + lo * kBlock;
    size_t below = 0;
    for (size_t k = 0; k < kBlock; ++k) below += block[k] < v;
    return lo * kBlock + below;
  }
  const double* guide() const { return guide_.data(); }
  size_t guides() const { return guide_.size(); }
  const double* blocks() const { return blocks_.get(); }
  size_t size() const { return size_; }

 private:
  static constexpr size_t kBlock = 8;
  struct Free {
    void operator()(double* p) const { std::free(p); }
  };
  size_t size_ = 0;
  std::vector<double> guide_;
  std::unique_ptr<double[], Free> blocks_;
};

// One field of a reference, ready for scoring.
struct PreparedField {
  std::string name;
  v1::FieldProfile::Kind kind = v1::FieldProfile::KIND_UNSPECIFIED;
  // False when the reference holds no value of the field (always missing):
  // then no score is computed.
  bool has_distribution = false;

  // NUMERIC, and TEXT (the length in characters). Live values are counted
  // in the bins delimited by `bins` (the profile's quantile summary, which
  // holds its histogram edges too), then in `points`.
  std::unique_ptr<internal::BucketEdges> bins;
  BinIndex index;  // over bins->edges()
  // Reference fraction of values <= each edge of `bins`, and < it (the
  // same where no point mass is tracked).
  std::vector<double> ref_cdf;
  std::vector<double> ref_below;
  // Per edge of `bins`: -1, or the index of its point counter (an edge
  // where the reference has a point mass: live values equal to it are also
  // counted there, so that both sides' left limits are known).
  std::vector<int32_t> point_of_edge;
  size_t points = 0;
  // For each live bin, the histogram bin (profile edges) that contains it.
  std::vector<uint32_t> coarse_of_bin;
  std::vector<double> coarse_edges;     // the profile's edges
  std::vector<uint64_t> coarse_counts;  // per histogram bin, +Inf last
  // Each histogram bin's bounds as `le` prints them: "-Inf", edges, "+Inf".
  std::vector<std::string> coarse_bound_labels;
  size_t min_edge = 0;  // index in bins->edges() of the reference minimum
  size_t max_edge = 0;  // ... and maximum
  // The two outermost bins inside [min, max] (0: none), where the
  // Wasserstein distance uses exact CDF integrals: the reference's excess
  // (sum of upper edge - v, per reference value) over each.
  size_t first_exact_bin = 0;
  size_t last_exact_bin = 0;
  double ref_first_excess = 0;
  double ref_last_excess = 0;
  double min = 0, max = 0, mean = 0, stddev = 0, sum = 0;
  uint64_t count = 0;

  // CATEGORICAL: live bin i < names.size() is category names[i]; the last
  // bin is everything else (the reference's "other" and unseen values).
  internal::StringMap<uint32_t> category_index;
  std::vector<std::string> category_names;
  std::vector<uint64_t> category_counts;  // names, then other
  // The list holds every category of the reference (no "other").
  bool complete = false;

  // Live counters: the value bins, then (numeric, text) the point counters.
  size_t bin_count() const;
  // The value bins alone.
  size_t value_bin_count() const;
  // The reference's counts over the scoring bins: per histogram bin
  // (numeric, text) or per category plus other (categorical).
  std::vector<double> ReferenceBins() const;
};

// A loaded, checked and prepared profile.
struct PreparedProfile {
  std::string path;
  std::string model;
  std::string source;
  std::vector<PreparedField> features;
  std::vector<PreparedField> outputs;
  internal::StringMap<uint32_t> feature_index;
  internal::StringMap<uint32_t> output_index;

  // Null when the profile has no such field.
  const PreparedField* Feature(std::string_view name) const;
  const PreparedField* Output(std::string_view name) const;
};

// Reads a profile in binary or protobuf text form and checks it. Errors name
// the file and, for an inconsistent field, the field and what is wrong.
Status ReadProfileFile(const std::string& path, v1::ReferenceProfile* out);

// Same, from the file's bytes; `path` names the input in errors.
Status ParseProfile(const std::string& data, const std::string& path,
                    v1::ReferenceProfile* out);

// Prepares every field of a (valid) profile, as LoadReference does.
std::shared_ptr<PreparedProfile> PrepareProfile(
    const v1::ReferenceProfile& proto, const std::string& path);

// Checks what the scores rely on: edges strictly increasing and finite,
// counts matching the edges and each other, kinds known, names unique.
Status ValidateProfile(const v1::ReferenceProfile& profile);

// Prepares one (valid) field.
void PrepareField(const v1::FieldProfile& field, PreparedField* out);

// Loads and prepares `path`, sharing the result with every caller while the
// file is unchanged (same size and modification time). Thread-safe.
std::shared_ptr<const PreparedProfile> LoadReference(const std::string& path,
                                                     Status* status);

// The first spec whose patterns match (`*` globs; empty matches any).
// `version` and `stage` as exported ("none" when absent).
const ReferenceSpec* FindReference(const std::vector<ReferenceSpec>& specs,
                                   std::string_view model,
                                   std::string_view version,
                                   std::string_view stage);

}  // namespace ml_exporter::profile

#endif  // ML_EXPORTER_PROFILE_REFERENCE_H_
