// web_search: model search, stage ranker
// (examples/configs/web_search_ranker.yaml). Users in sessions type
// queries; the ranker scores candidates and returns ten results; each
// answered query is an impression, some get a click.
#include <algorithm>
#include <array>

#include "mltool/simulate/record_writer.h"
#include "mltool/simulate/scenario.h"

namespace ml_exporter::simulate {
namespace {

constexpr std::array<const char*, 16> kWords = {
    "cheap",  "flights", "berlin", "pizza",   "near", "me",
    "best",   "laptop",  "2026",   "weather", "news", "recipe",
    "python", "error",   "hotel",  "reviews"};

class WebSearchScenario : public Scenario {
 public:
  std::string_view name() const override { return "web_search"; }
  std::string_view models() const override { return "search"; }
  bool AffectedBy(FaultKind kind) const override {
    return kind == FaultKind::kEmptyFeature ||
           kind == FaultKind::kNullOutputs ||
           kind == FaultKind::kRepeatQueries || kind == FaultKind::kLatency ||
           kind == FaultKind::kShift;
  }

  void Request(const RequestContext& ctx, Emitter* out) override {
    Random& rng = *ctx.rng;
    SessionPool::Session& session = sessions_.Pick(&rng);
    const std::string request_id = "q-" + std::to_string(ctx.index);
    const std::string& route = session.id;
    if (MaybeEmitClientBug(kId, ctx, route, out)) return;

    const bool shift = ctx.Fault(FaultKind::kShift);
    std::string query;
    const double repeat_p = ctx.Fault(FaultKind::kRepeatQueries) ? 0.6 : 0.05;
    if (!session.last_query.empty() && rng.Bernoulli(repeat_p)) {
      query = Rephrase(&rng, session.last_query);
    } else {
      const int words = static_cast<int>(shift ? rng.Int(4, 8) : rng.Int(1, 3));
      for (int i = 0; i < words; ++i) {
        if (i > 0) query += ' ';
        query += kWords[rng.Index(kWords.size())];
      }
    }
    session.last_query = query;
    const bool no_results =
        rng.Bernoulli(ctx.Fault(FaultKind::kNullOutputs) ? 0.5 : 0.01);
    double latency = 0.03 + rng.Exponential(30);
    if (ctx.Fault(FaultKind::kLatency)) latency = 5 * latency + 0.3;

    JsonWriter w;
    BeginRecord(kId, ctx, request_id, session.id, latency, false, &w);
    w.Key("inputs").BeginObject().Field("query", query);
    if (ctx.Fault(FaultKind::kEmptyFeature) && rng.Bernoulli(0.9)) {
      w.Key("num_candidates").Null();
    } else {
      w.Key("num_candidates")
          .Int(static_cast<int64_t>(
              std::clamp(rng.LogNormal(shift ? 6.0 : 4.5, 0.8), 1.0, 5000.0)));
    }
    w.EndObject();
    w.Key("outputs").BeginObject();
    if (no_results) {
      w.Key("top_score").Null().Key("result_ids").BeginArray().EndArray();
    } else {
      w.Field("top_score", std::clamp(rng.Normal(0.7, 0.12), 0.0, 1.0), 3);
      w.Key("result_ids").BeginArray();
      for (int i = 0; i < 10; ++i) {
        w.String("doc-" + std::to_string(rng.Int(1, 100000)));
      }
      w.EndArray();
    }
    w.EndObject().EndObject();
    out->Emit(w.Take(), route);

    if (!no_results) {
      std::vector<EventSpec> events = {
          {.type = "impression", .request_id = request_id}};
      if (rng.Bernoulli(shift ? 0.12 : 0.35)) {
        events.push_back({.type = "click", .request_id = request_id});
      }
      out->Emit(EventsLine(kId, ctx.unix_time, events), route);
    }
  }

 private:
  static constexpr ModelId kId{"search", "v12", "ranker"};
  SessionPool sessions_{"web-s-", 8};
};

}  // namespace

std::unique_ptr<Scenario> NewWebSearchScenario() {
  return std::make_unique<WebSearchScenario>();
}

}  // namespace ml_exporter::simulate
