// pipeline: model assistant (examples/configs/pipeline.yaml), a voice
// assistant of three stages sharing each request id: voice activity
// detection (vad), speech recognition (asr), then a ranker of answers. A
// request stops at the stage that has nothing to pass on: no speech, or an
// empty transcript.
#include <algorithm>
#include <array>

#include "mltool/simulate/record_writer.h"
#include "mltool/simulate/scenario.h"

namespace ml_exporter::simulate {
namespace {

constexpr std::array<const char*, 8> kUtterances = {
    "what is the weather", "play jazz",        "call the office",
    "set an alarm",        "how far is paris", "turn off the radio",
    "read my messages",    "open the garage"};
constexpr std::array<const char*, 4> kIntents = {"weather", "media", "call",
                                                 "other"};

class PipelineScenario : public Scenario {
 public:
  std::string_view name() const override { return "pipeline"; }
  std::string_view models() const override { return "assistant"; }
  bool AffectedBy(FaultKind kind) const override {
    return kind != FaultKind::kDarkerImages;
  }

  void Request(const RequestContext& ctx, Emitter* out) override {
    Random& rng = *ctx.rng;
    SessionPool::Session& session = sessions_.Pick(&rng);
    const std::string request_id = "as-" + std::to_string(ctx.index);
    const std::string& route = session.id;
    if (MaybeEmitClientBug(kRanker, ctx, route, out)) return;
    const bool slow = ctx.Fault(FaultKind::kLatency);
    const bool quieter = ctx.Fault(FaultKind::kQuieterAudio);

    // vad
    const double audio_seconds = std::max(0.3, rng.Normal(2.5, 1.0));
    const bool speech = !rng.Bernoulli(quieter ? 0.3 : 0.05);
    JsonWriter w;
    BeginRecord(kVad, ctx, request_id, session.id, 0.003 + rng.Exponential(600),
                false, &w);
    w.Key("inputs").BeginObject();
    if (ctx.Fault(FaultKind::kEmptyFeature) && rng.Bernoulli(0.9)) {
      w.Key("audio_seconds").Null();
    } else {
      w.Field("audio_seconds", audio_seconds, 3);
    }
    w.Field("speech_fraction",
            speech ? rng.Uniform(quieter ? 0.2 : 0.5, 0.95) : 0.0, 3)
        .EndObject();
    w.Key("outputs").BeginObject().Key("segments").BeginArray();
    if (speech) w.Number(0.05, 2).Number(audio_seconds - 0.05, 2);
    w.EndArray().EndObject().EndObject();
    out->Emit(w.Take(), route);
    if (!speech) return;

    // asr
    std::string transcript;
    const double repeat_p = ctx.Fault(FaultKind::kRepeatQueries) ? 0.6 : 0.05;
    if (!session.last_query.empty() && rng.Bernoulli(repeat_p)) {
      transcript = session.last_query;
    } else {
      transcript = kUtterances[rng.Index(kUtterances.size())];
    }
    session.last_query = transcript;
    const bool empty =
        rng.Bernoulli(ctx.Fault(FaultKind::kNullOutputs) ? 0.5 : 0.04);
    const bool shift = ctx.Fault(FaultKind::kShift);
    BeginRecord(kAsr, ctx, request_id, session.id,
                0.04 + audio_seconds * 0.03 + rng.Exponential(50), false, &w);
    w.Key("inputs")
        .BeginObject()
        .Field("audio_seconds", audio_seconds, 3)
        .EndObject();
    w.Key("outputs")
        .BeginObject()
        .Field("transcript", empty ? std::string() : transcript)
        .Field("confidence",
               std::clamp(rng.Normal(quieter || shift ? 0.6 : 0.85, 0.08), 0.0,
                          1.0),
               3)
        .EndObject()
        .EndObject();
    out->Emit(w.Take(), route);
    if (empty) return;

    // ranker
    double latency = 0.01 + rng.Exponential(80);
    if (slow) latency = 5 * latency + 0.3;
    const size_t intent =
        shift ? rng.Weighted({1, 1, 1, 5}) : rng.Weighted({4, 3, 2, 1});
    BeginRecord(kRanker, ctx, request_id, session.id, latency,
                rng.Bernoulli(0.005), &w);
    w.Key("inputs")
        .BeginObject()
        .Field("query", transcript)
        .Key("candidates")
        .Int(rng.Int(5, 50))
        .EndObject();
    w.Key("outputs")
        .BeginObject()
        .Field("top_score", std::clamp(rng.Normal(0.75, 0.1), 0.0, 1.0), 3)
        .Field("intent", kIntents[intent])
        .EndObject()
        .EndObject();
    out->Emit(w.Take(), route);
  }

 private:
  static constexpr ModelId kVad{"assistant", "v1", "vad"};
  static constexpr ModelId kAsr{"assistant", "v1", "asr"};
  static constexpr ModelId kRanker{"assistant", "v1", "ranker"};
  SessionPool sessions_{"as-s-", 8};
};

}  // namespace

std::unique_ptr<Scenario> NewPipelineScenario() {
  return std::make_unique<PipelineScenario>();
}

}  // namespace ml_exporter::simulate
