// speech_recognizer: model asr (examples/configs/demo.yaml,
// speech_recognizer.yaml). A voice-activity stage (vad) sees every request;
// the decoder sees those with speech and returns a transcript, sometimes
// empty. Users in a session sometimes say the same thing again, or give up
// and type after an empty transcript; results get impressions and clicks.
#include <algorithm>
#include <array>

#include "mltool/simulate/media.h"
#include "mltool/simulate/record_writer.h"
#include "mltool/simulate/scenario.h"

namespace ml_exporter::simulate {
namespace {

constexpr std::array<const char*, 12> kQueries = {
    "weather in berlin",
    "play some music",
    "call mum",
    "set a timer for ten minutes",
    "what is the time",
    "navigate home",
    "turn on the lights",
    "news today",
    "how tall is the eiffel tower",
    "remind me to buy milk",
    "translate good morning to french",
    "what is on my calendar"};

class SpeechRecognizerScenario : public Scenario {
 public:
  std::string_view name() const override { return "speech_recognizer"; }
  std::string_view models() const override { return "asr"; }
  bool AffectedBy(FaultKind kind) const override {
    return kind != FaultKind::kDarkerImages;
  }

  void Request(const RequestContext& ctx, Emitter* out) override {
    Random& rng = *ctx.rng;
    SessionPool::Session& session = sessions_.Pick(&rng);
    const std::string request_id = "asr-" + std::to_string(ctx.index);
    const std::string& route = session.id;
    if (MaybeEmitClientBug(kDecoder, ctx, route, out)) return;

    const bool quieter = ctx.Fault(FaultKind::kQuieterAudio);
    const bool shift = ctx.Fault(FaultKind::kShift);
    const bool slow = ctx.Fault(FaultKind::kLatency);
    const double audio_seconds = std::max(0.3, rng.Normal(3.0, 1.2));
    const bool speech = !rng.Bernoulli(0.02);

    // Stage vad. It carries no session id: the sessions collector keeps one
    // model per session, and a vad record in between would hide the
    // decoder's repeats (see the issue 8 report).
    JsonWriter w;
    BeginRecord(kVad, ctx, request_id, {},
                Slow(slow, 0.004 + rng.Exponential(500)), false, &w);
    w.Key("inputs")
        .BeginObject()
        .Field("audio_seconds", audio_seconds, 3)
        .Field("speech_fraction", speech ? rng.Uniform(0.5, 0.95) : 0.0, 3)
        .EndObject();
    w.Key("outputs").BeginObject().Key("segments").BeginArray();
    if (speech) w.Number(0.1, 2).Number(audio_seconds - 0.1, 2);
    w.EndArray().EndObject().EndObject();
    out->Emit(w.Take(), route);
    if (!speech) return;

    // Stage decoder.
    std::string query;
    const double repeat_p = ctx.Fault(FaultKind::kRepeatQueries) ? 0.6 : 0.06;
    if (!session.last_query.empty() && rng.Bernoulli(repeat_p)) {
      query = Rephrase(&rng, session.last_query);
    } else {
      query = kQueries[rng.Index(kQueries.size())];
    }
    session.last_query = query;
    const double empty_p = ctx.Fault(FaultKind::kNullOutputs) ? 0.6 : 0.04;
    const bool empty = rng.Bernoulli(empty_p);
    static constexpr const char* kLanguages[] = {"en", "de", "fr"};
    const char* language =
        kLanguages[shift ? rng.Weighted({2, 3, 5}) : rng.Weighted({6, 3, 1})];
    const double snr = rng.Normal(quieter ? 10 : 22, 5);
    BeginRecord(kDecoder, ctx, request_id, session.id,
                Slow(slow, 0.04 + audio_seconds * 0.03 + rng.Exponential(50)),
                rng.Bernoulli(0.005), &w);
    w.Key("inputs").BeginObject();
    if (ctx.Fault(FaultKind::kEmptyFeature) && rng.Bernoulli(0.9)) {
      w.Key("audio_seconds").Null();
    } else {
      w.Field("audio_seconds", audio_seconds, 3);
    }
    w.Field("snr_db", snr, 2)
        .Field("language", language)
        .Field("query", query)
        .EndObject();
    w.Key("outputs")
        .BeginObject()
        .Field("transcript", empty ? std::string() : query)
        .Field("confidence",
               std::clamp(rng.Normal(empty ? 0.55 : 0.85, 0.08), 0.0, 1.0), 3)
        .EndObject();
    if (rng.Bernoulli(0.2)) {
      const double gain = rng.Uniform(0.05, 0.6) * (quieter ? 0.1 : 1.0);
      std::string blob;
      std::string wav = MakeWav(&rng, std::min(audio_seconds, 1.2), gain);
      if (ctx.invalid_fraction > 0 && rng.Bernoulli(ctx.invalid_fraction)) {
        wav.resize(40);  // a client bug: the upload was cut off
      }
      blob = Base64(wav);
      w.Key("blobs").BeginObject().Field("audio", blob).EndObject();
    }
    w.EndObject();
    out->Emit(w.Take(), route);

    if (empty && rng.Bernoulli(0.5)) {
      out->Emit(
          EventsLine(kDecoder, ctx.unix_time,
                     {{.type = "switch_to_typing", .session_id = session.id}}),
          route);
    }
    if (rng.Bernoulli(0.6)) {
      std::vector<EventSpec> events = {
          {.type = "impression", .request_id = request_id}};
      if (!empty && rng.Bernoulli(0.3)) {
        events.push_back({.type = "click", .request_id = request_id});
      }
      out->Emit(EventsLine(kDecoder, ctx.unix_time, events), route);
    }
  }

 private:
  static double Slow(bool slow, double latency) {
    return slow ? 5 * latency + 0.3 : latency;
  }

  static constexpr ModelId kVad{"asr", "v3", "vad"};
  static constexpr ModelId kDecoder{"asr", "v3", "decoder"};
  SessionPool sessions_{"asr-s-", 8};
};

}  // namespace

std::unique_ptr<Scenario> NewSpeechRecognizerScenario() {
  return std::make_unique<SpeechRecognizerScenario>();
}

}  // namespace ml_exporter::simulate
