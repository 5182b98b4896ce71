// structured_data: model churn (examples/configs/structured_data.yaml,
// demo.yaml). A churn score from a customer's age, income, country, plan
// and tenure, some of them missing; whether the customer churned arrives
// later for about a third of them, as a 0/1 label.
#include <algorithm>
#include <cmath>

#include "mltool/simulate/record_writer.h"
#include "mltool/simulate/scenario.h"

namespace ml_exporter::simulate {
namespace {

class StructuredDataScenario : public Scenario {
 public:
  std::string_view name() const override { return "structured_data"; }
  std::string_view models() const override { return "churn"; }
  bool AffectedBy(FaultKind kind) const override {
    return kind == FaultKind::kEmptyFeature ||
           kind == FaultKind::kNullOutputs || kind == FaultKind::kLatency ||
           kind == FaultKind::kShift;
  }

  void Request(const RequestContext& ctx, Emitter* out) override {
    static constexpr const char* kCountries[] = {"DE", "FR", "US",
                                                 "IN", "BR", "CN"};
    static constexpr const char* kPlans[] = {"free", "basic", "pro"};
    Random& rng = *ctx.rng;
    const std::string request_id = "ch-" + std::to_string(ctx.index);
    if (MaybeEmitClientBug(kId, ctx, request_id, out)) return;

    const bool shift = ctx.Fault(FaultKind::kShift);
    const double age_missing = ctx.Fault(FaultKind::kEmptyFeature) ? 0.9 : 0.08;
    const double score = Beta25(&rng);
    double latency = 0.002 + rng.Exponential(400);
    if (ctx.Fault(FaultKind::kLatency)) latency = 5 * latency + 0.3;

    JsonWriter w;
    BeginRecord(kId, ctx, request_id, {}, latency, false, &w);
    w.Key("inputs").BeginObject();
    if (rng.Bernoulli(age_missing)) {
      w.Key("age").Null();
    } else {
      w.Key("age").Int(
          static_cast<int64_t>(std::round(rng.Normal(shift ? 55 : 41, 12))));
    }
    if (rng.Bernoulli(0.03)) {
      w.Key("income").Null();
    } else {
      w.Field("income", rng.LogNormal(shift ? 10.9 : 10.5, 0.4), 2);
    }
    const size_t country = shift ? rng.Weighted({3, 2, 2, 1, 1, 3})
                                 : rng.Weighted({4, 2, 3, 2, 1, 0});
    w.Field("country", kCountries[country])
        .Field("plan", kPlans[rng.Index(3)])
        .Key("tenure_months")
        .Int(rng.Int(0, 96))
        .EndObject();
    w.Key("outputs").BeginObject();
    if (ctx.Fault(FaultKind::kNullOutputs) && rng.Bernoulli(0.6)) {
      w.Key("score").Null().Key("label").Null();
    } else {
      w.Field("score", score, 4).Field("label", score > 0.5 ? "churn" : "stay");
    }
    w.EndObject().EndObject();
    out->Emit(w.Take(), request_id);

    if (rng.Bernoulli(0.3)) {
      const double churned = rng.Bernoulli(score) ? 1 : 0;
      const double delay = rng.Uniform(2, 20);
      out->EmitLater(delay,
                     EventsLine(kId, ctx.unix_time + delay,
                                {{.type = "label",
                                  .request_id = request_id,
                                  .number_value = &churned}}),
                     request_id);
    }
  }

 private:
  // Beta(2, 5) as the ratio of gamma variates with integer shapes.
  static double Beta25(Random* rng) {
    auto gamma = [rng](int k) {
      double s = 0;
      for (int i = 0; i < k; ++i) s += rng->Exponential(1);
      return s;
    };
    const double a = gamma(2);
    return a / (a + gamma(5));
  }

  static constexpr ModelId kId{"churn", "v7", "main"};
};

}  // namespace

std::unique_ptr<Scenario> NewStructuredDataScenario() {
  return std::make_unique<StructuredDataScenario>();
}

}  // namespace ml_exporter::simulate
