// Scenario: one kind of deployed model whose traffic the simulator makes
// (a speech recognizer, a visual inspection line, ...). Each request it is
// asked for becomes the records of its stages and the events that follow
// (impressions, clicks, switches to typing, late labels), shaped by the
// faults in force.
#ifndef ML_EXPORTER_MLTOOL_SIMULATE_SCENARIO_H_
#define ML_EXPORTER_MLTOOL_SIMULATE_SCENARIO_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mltool/simulate/fault.h"
#include "mltool/simulate/random.h"

namespace ml_exporter::simulate {

// One NDJSON line: a record object or an {"events": [...]} object.
struct Emission {
  double time_seconds = 0;  // simulated seconds since the start, when due
  std::string line;
  // The session id, or the request id when there is none: what a load
  // balancer with sticky routing hashes, so that a request's events reach
  // the replica that saw its records.
  std::string route;
};

// What a scenario writes its lines to.
class Emitter {
 public:
  virtual ~Emitter() = default;
  // Due now.
  virtual void Emit(std::string line, std::string route) = 0;
  // Due `delay_seconds` of simulated time from now (late labels).
  virtual void EmitLater(double delay_seconds, std::string line,
                         std::string route) = 0;
};

// The request a scenario is asked to simulate.
struct RequestContext {
  double t = 0;          // simulated seconds since the start
  double unix_time = 0;  // the records' "time"
  uint64_t index = 0;    // requests of this scenario so far
  const FaultSchedule* faults = nullptr;
  Random* rng = nullptr;
  // Fraction of records that carry a client bug (no model, a corrupt
  // blob) and should be rejected or counted as decode errors.
  double invalid_fraction = 0;

  bool Fault(FaultKind kind) const { return faults->Active(kind, t); }
};

class Scenario {
 public:
  virtual ~Scenario() = default;
  // The --scenario name.
  virtual std::string_view name() const = 0;
  // The models it sends, for messages ("asr", or "assistant").
  virtual std::string_view models() const = 0;
  // Whether `kind` changes this scenario's traffic.
  virtual bool AffectedBy(FaultKind kind) const = 0;
  // Emits the lines of one request.
  virtual void Request(const RequestContext& ctx, Emitter* out) = 0;
};

// The --scenario names, in help order.
const std::vector<std::string>& ScenarioNames();
// One-line description for --help.
std::string_view ScenarioDescription(std::string_view name);
// A new scenario, or null when `name` is unknown.
std::unique_ptr<Scenario> MakeScenario(std::string_view name);

// The scenarios, one per file.
std::unique_ptr<Scenario> NewSpeechRecognizerScenario();
std::unique_ptr<Scenario> NewVisualInspectionScenario();
std::unique_ptr<Scenario> NewStructuredDataScenario();
std::unique_ptr<Scenario> NewWebSearchScenario();
std::unique_ptr<Scenario> NewPipelineScenario();

}  // namespace ml_exporter::simulate

#endif  // ML_EXPORTER_MLTOOL_SIMULATE_SCENARIO_H_
