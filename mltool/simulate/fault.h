// Scheduled faults of the traffic simulator: the quiet failures ml_exporter
// is built to catch, switched on for a span of the simulated time.
#ifndef ML_EXPORTER_MLTOOL_SIMULATE_FAULT_H_
#define ML_EXPORTER_MLTOOL_SIMULATE_FAULT_H_

#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "ml_exporter/status.h"

namespace ml_exporter::simulate {

enum class FaultKind {
  kEmptyFeature,   // one input of each model arrives null
  kQuieterAudio,   // audio 20 dB quieter, lower SNR
  kDarkerImages,   // images (pixels and the brightness input) darker
  kNullOutputs,    // outputs null or empty (empty transcripts, no results)
  kRepeatQueries,  // users repeat their query within seconds
  kLatency,        // predictions take several times longer
  kShift,          // input distributions move away from the normal stream
};

// Every kind, in the order of the help text.
const std::vector<FaultKind>& AllFaultKinds();
std::string_view FaultName(FaultKind kind);
// What the fault does, one line, for --help.
std::string_view FaultDescription(FaultKind kind);
// False when `name` is no kind.
bool FaultKindFromName(std::string_view name, FaultKind* kind);

// One scheduled fault: active for simulated seconds [start, start+duration).
struct Fault {
  FaultKind kind = FaultKind::kEmptyFeature;
  double start_seconds = 0;
  double duration_seconds = std::numeric_limits<double>::infinity();

  bool ActiveAt(double t) const {
    return t >= start_seconds && t - start_seconds < duration_seconds;
  }
  double end_seconds() const { return start_seconds + duration_seconds; }
};

// Parses KIND@START[+DURATION], e.g. "null_outputs@3m+2m" or
// "latency@90" (seconds when no unit; units s, m, h). Without +DURATION the
// fault lasts until the end. Errors name the part that is wrong and list
// the kinds.
Status ParseFault(std::string_view text, Fault* fault);

// "90", "90s", "1.5m", "2h" -> seconds. False when not a non-negative
// number with an optional unit.
bool ParseDurationSeconds(std::string_view text, double* seconds);

// The faults in force, asked per simulated time.
class FaultSchedule {
 public:
  FaultSchedule() = default;
  explicit FaultSchedule(std::vector<Fault> faults)
      : faults_(std::move(faults)) {}

  bool Active(FaultKind kind, double t) const {
    for (const Fault& f : faults_) {
      if (f.kind == kind && f.ActiveAt(t)) return true;
    }
    return false;
  }
  const std::vector<Fault>& faults() const { return faults_; }

 private:
  std::vector<Fault> faults_;
};

}  // namespace ml_exporter::simulate

#endif  // ML_EXPORTER_MLTOOL_SIMULATE_FAULT_H_
