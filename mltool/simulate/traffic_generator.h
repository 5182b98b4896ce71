// TrafficGenerator: the simulated stream of several scenarios on one
// simulated clock, with the faults of a schedule. Deterministic: the same
// options give the same lines.
#ifndef ML_EXPORTER_MLTOOL_SIMULATE_TRAFFIC_GENERATOR_H_
#define ML_EXPORTER_MLTOOL_SIMULATE_TRAFFIC_GENERATOR_H_

#include <cstdint>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "ml_exporter/status.h"
#include "mltool/simulate/fault.h"
#include "mltool/simulate/random.h"
#include "mltool/simulate/scenario.h"

namespace ml_exporter::simulate {

struct TrafficOptions {
  // Scenario names (ScenarioNames()); requests go to them in turn.
  std::vector<std::string> scenarios;
  // Requests per second of simulated time, over all scenarios. A request
  // is one record per stage of its model plus the events it causes.
  double rate = 50;
  uint64_t seed = 1;
  // Unix time of simulated second 0: the records' "time" is this plus the
  // simulated time.
  double start_unix_time = 0;
  std::vector<Fault> faults;
  // Fraction of requests that become a record without a model (rejected)
  // and of blobs that do not decode: the client bugs an exporter sees.
  double invalid_fraction = 0;
};

class TrafficGenerator {
 public:
  // Fails on an unknown scenario (listing the names), a rate that is not
  // positive, an invalid_fraction outside [0, 1], or a fault that changes
  // none of the scenarios.
  static Status Create(const TrafficOptions& options,
                       std::unique_ptr<TrafficGenerator>* generator);

  // Simulates the next request, at simulated time requests() / rate, and
  // appends to `out` its lines and every delayed line that has come due,
  // in order of due time.
  void Next(std::vector<Emission>* out);

  // Appends the delayed lines not yet due (late labels), for the end of a
  // run.
  void Flush(std::vector<Emission>* out);

  // Simulated time of the next request.
  double next_time() const { return requests_ / options_.rate; }
  uint64_t requests() const { return requests_; }
  const TrafficOptions& options() const { return options_; }

 private:
  struct Delayed {
    double due;
    uint64_t sequence;  // keeps lines due at the same time in order
    std::string line;
    std::string route;
    bool operator>(const Delayed& other) const {
      return due != other.due ? due > other.due : sequence > other.sequence;
    }
  };
  class QueueEmitter;

  explicit TrafficGenerator(const TrafficOptions& options);

  TrafficOptions options_;
  FaultSchedule faults_;
  std::vector<std::unique_ptr<Scenario>> scenarios_;
  std::vector<Random> rngs_;  // one per scenario
  std::vector<uint64_t> scenario_requests_;
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<Delayed>>
      delayed_;
  uint64_t requests_ = 0;
  uint64_t sequence_ = 0;
};

}  // namespace ml_exporter::simulate

#endif  // ML_EXPORTER_MLTOOL_SIMULATE_TRAFFIC_GENERATOR_H_
