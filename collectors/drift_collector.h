// DriftCollector ("drift"): drift scores of every profiled feature and
// output over a sliding window, against the model's reference profile (or
// the first window of its traffic), and the reference distribution itself.
// See docs/drift.md.
#ifndef ML_EXPORTER_COLLECTORS_DRIFT_COLLECTOR_H_
#define ML_EXPORTER_COLLECTORS_DRIFT_COLLECTOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ml_exporter/collector.h"

namespace ml_exporter {

// The score methods, as the `method` label spells them.
enum class DriftMethod : uint8_t {
  kPsi,
  kJensenShannon,
  kKs,
  kWasserstein,
  kWassersteinNormalized,
  kChi2PValue,
  kCount,
};
std::string_view DriftMethodName(DriftMethod method);

// The pipeline's drift options with the collector's params applied.
struct DriftSettings {
  DriftOptions drift;
  // Bit i set: DriftMethod i is exported.
  uint32_t methods = (1u << static_cast<int>(DriftMethod::kCount)) - 1;
};

// Applies the collector's params (a serialized google.protobuf.Struct):
// window_seconds (number > 0), min_count (integer >= 1), baseline (bool),
// methods (list of method names). Unknown keys and bad values are errors.
Status ParseDriftParams(const std::string& params, DriftSettings* settings);

// Seconds on a monotonic clock. Null: CLOCK_MONOTONIC_COARSE. Tests pass
// their own to move the window.
using DriftClock = double (*)();

std::unique_ptr<Collector> NewDriftCollector(const CollectorContext& context,
                                             DriftClock clock = nullptr);

}  // namespace ml_exporter

#endif  // ML_EXPORTER_COLLECTORS_DRIFT_COLLECTOR_H_
