// Building reference profiles: the summary of one field's values that the
// drift collector compares live traffic with. Used by `mltool profile` on a
// training file and by the drift collector on the first window of live
// traffic (a model without a profile).
#ifndef ML_EXPORTER_PROFILE_PROFILE_BUILDER_H_
#define ML_EXPORTER_PROFILE_PROFILE_BUILDER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/label_value.h"
#include "profile.pb.h"

namespace ml_exporter::profile {

struct BuildOptions {
  // Quantile bins of NumericProfile.edges (the exporter's histogram buckets
  // and the bins of the PSI and Jensen-Shannon scores).
  size_t bins = 10;
  // Resolution of the quantile summary (KS and Wasserstein).
  size_t quantiles = 100;
  // Categories listed before the rest are summed as "other".
  size_t max_categories = 1000;
};

// The values at ranks floor((n - 1) * k / bins), k = 0 .. bins, of `sorted`
// (ascending, finite), without repeats of the value or of its printed form
// (FormatBound). Empty when `sorted` is.
std::vector<double> RankEdges(const std::vector<double>& sorted, size_t bins);

// A bucket bound as Prometheus' text format prints it in `le` ("+Inf",
// "-Inf", or up to 16 significant digits), for labels that must match an
// `le` value.
std::string FormatBound(double v);

// Fills `out` from finite `values` (sorted in place).
void BuildNumericProfile(std::vector<double>* values,
                         const BuildOptions& options, v1::NumericProfile* out);

// Collects the values of one field and summarises them. Numbers and strings
// are kept (numbers all, or a uniform sample when `sample_capacity` is set;
// strings as counts of distinct values, at most `max_distinct` of them);
// the kind is decided at Finish.
class FieldAccumulator {
 public:
  // `sample_capacity` 0: keep every number (exact quantiles).
  explicit FieldAccumulator(size_t sample_capacity = 0,
                            size_t max_distinct = 1 << 20);

  // A record that carries the field with a value (then add its values).
  void AddPresent() { ++present_; }
  // A record in which the field is null or an empty list.
  void AddNull() { ++null_; }
  void AddNumber(double v);
  void AddString(std::string_view s);
  void AddBool(bool b) { AddString(b ? "true" : "false"); }

  // Values added (numbers, including non-finite ones, and strings).
  uint64_t values() const { return numbers_seen_ + nonfinite_ + strings_; }

  // The profile of a field seen in `records` records (records without the
  // field count as missing). `kind` KIND_UNSPECIFIED: decided from the
  // values (numeric when most values are numbers; text when there are more
  // than max_categories distinct strings and most values are distinct;
  // categorical otherwise).
  v1::FieldProfile Finish(
      const std::string& name, uint64_t records, const BuildOptions& options,
      v1::FieldProfile::Kind kind = v1::FieldProfile::KIND_UNSPECIFIED) const;

 private:
  const size_t sample_capacity_;
  const size_t max_distinct_;
  uint64_t present_ = 0;
  uint64_t null_ = 0;
  uint64_t numbers_seen_ = 0;  // finite numbers, sampled or not
  uint64_t nonfinite_ = 0;
  std::vector<double> numbers_;
  uint64_t strings_ = 0;
  internal::StringMap<uint64_t> distinct_;
  uint64_t overflow_strings_ = 0;  // strings past max_distinct
  uint64_t lengths_seen_ = 0;
  std::vector<double> lengths_;    // in characters, sampled like numbers_
  uint64_t rng_state_ = 20261128;  // splitmix64, for the samples
};

}  // namespace ml_exporter::profile

#endif  // ML_EXPORTER_PROFILE_PROFILE_BUILDER_H_
