#include "mltool/simulate/traffic_generator.h"

#include <cmath>
#include <utility>

namespace ml_exporter::simulate {

class TrafficGenerator::QueueEmitter : public Emitter {
 public:
  QueueEmitter(TrafficGenerator* generator, double now,
               std::vector<Emission>* out)
      : generator_(generator), now_(now), out_(out) {}

  void Emit(std::string line, std::string route) override {
    out_->push_back({now_, std::move(line), std::move(route)});
  }
  void EmitLater(double delay_seconds, std::string line,
                 std::string route) override {
    generator_->delayed_.push({now_ + delay_seconds, generator_->sequence_++,
                               std::move(line), std::move(route)});
  }

 private:
  TrafficGenerator* generator_;
  double now_;
  std::vector<Emission>* out_;
};

TrafficGenerator::TrafficGenerator(const TrafficOptions& options)
    : options_(options), faults_(options.faults) {}

Status TrafficGenerator::Create(const TrafficOptions& options,
                                std::unique_ptr<TrafficGenerator>* generator) {
  if (!(options.rate > 0) || !std::isfinite(options.rate)) {
    return Status::InvalidArgument(
        "--rate must be a positive number of "
        "requests per second");
  }
  if (!(options.invalid_fraction >= 0 && options.invalid_fraction <= 1)) {
    return Status::InvalidArgument("--invalid_fraction must be in [0, 1]");
  }
  if (options.scenarios.empty()) {
    return Status::InvalidArgument("no scenario given");
  }
  std::unique_ptr<TrafficGenerator> g(new TrafficGenerator(options));
  for (const std::string& name : options.scenarios) {
    std::unique_ptr<Scenario> s = MakeScenario(name);
    if (s == nullptr) {
      std::string names;
      for (const std::string& n : ScenarioNames()) names += " " + n;
      return Status::InvalidArgument("unknown scenario \"" + name +
                                     "\"; scenarios:" + names + ", all");
    }
    g->rngs_.emplace_back(options.seed, name);
    g->scenarios_.push_back(std::move(s));
    g->scenario_requests_.push_back(0);
  }
  for (const Fault& f : options.faults) {
    bool affects = false;
    for (const auto& s : g->scenarios_) affects |= s->AffectedBy(f.kind);
    if (!affects) {
      std::string names;
      for (const std::string& n : options.scenarios) names += " " + n;
      return Status::InvalidArgument("fault " + std::string(FaultName(f.kind)) +
                                     " changes none of the scenarios:" + names);
    }
  }
  *generator = std::move(g);
  return Status::Ok();
}

void TrafficGenerator::Next(std::vector<Emission>* out) {
  const double t = next_time();
  while (!delayed_.empty() && delayed_.top().due <= t) {
    Delayed d = delayed_.top();
    delayed_.pop();
    out->push_back({d.due, std::move(d.line), std::move(d.route)});
  }
  const size_t k = requests_ % scenarios_.size();
  RequestContext ctx;
  ctx.t = t;
  ctx.unix_time = options_.start_unix_time + t;
  ctx.index = scenario_requests_[k]++;
  ctx.faults = &faults_;
  ctx.rng = &rngs_[k];
  ctx.invalid_fraction = options_.invalid_fraction;
  QueueEmitter emitter(this, t, out);
  scenarios_[k]->Request(ctx, &emitter);
  ++requests_;
}

void TrafficGenerator::Flush(std::vector<Emission>* out) {
  while (!delayed_.empty()) {
    Delayed d = delayed_.top();
    delayed_.pop();
    out->push_back({d.due, std::move(d.line), std::move(d.route)});
  }
}

}  // namespace ml_exporter::simulate
