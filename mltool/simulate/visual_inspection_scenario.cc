// visual_inspection: model vision (examples/configs/visual_inspection.yaml,
// demo.yaml). Three camera lines photograph parts; the classifier says ok,
// scratch or dent. Half the records carry the PNG frame; a human labels
// half the parts a few seconds later.
#include <algorithm>

#include "mltool/simulate/media.h"
#include "mltool/simulate/record_writer.h"
#include "mltool/simulate/scenario.h"

namespace ml_exporter::simulate {
namespace {

class VisualInspectionScenario : public Scenario {
 public:
  std::string_view name() const override { return "visual_inspection"; }
  std::string_view models() const override { return "vision"; }
  bool AffectedBy(FaultKind kind) const override {
    return kind != FaultKind::kQuieterAudio &&
           kind != FaultKind::kRepeatQueries;
  }

  void Request(const RequestContext& ctx, Emitter* out) override {
    static constexpr const char* kLabels[] = {"ok", "scratch", "dent"};
    static constexpr const char* kCameras[] = {"line-1", "line-2", "line-3"};
    Random& rng = *ctx.rng;
    const std::string request_id = "vis-" + std::to_string(ctx.index);
    if (MaybeEmitClientBug(kId, ctx, request_id, out)) return;

    double brightness = std::clamp(rng.Normal(0.55, 0.08), 0.0, 1.0);
    if (ctx.Fault(FaultKind::kDarkerImages)) brightness *= 0.5;
    const size_t label = ctx.Fault(FaultKind::kShift)
                             ? rng.Weighted({70, 20, 10})
                             : rng.Weighted({90, 7, 3});
    double latency = 0.02 + rng.Exponential(60);
    if (ctx.Fault(FaultKind::kLatency)) latency = 5 * latency + 0.3;

    JsonWriter w;
    BeginRecord(kId, ctx, request_id, {}, latency, rng.Bernoulli(0.003), &w);
    w.Key("inputs")
        .BeginObject()
        .Field("brightness", brightness, 3)
        .Field("width", rng.Bernoulli(0.5) ? 1280.0 : 1920.0)
        .Field("height", rng.Bernoulli(0.5) ? 720.0 : 1080.0);
    if (ctx.Fault(FaultKind::kEmptyFeature) && rng.Bernoulli(0.9)) {
      w.Key("camera").Null();
    } else {
      w.Field("camera", kCameras[rng.Index(3)]);
    }
    w.EndObject();
    const bool null_output =
        ctx.Fault(FaultKind::kNullOutputs) && rng.Bernoulli(0.6);
    w.Key("outputs").BeginObject();
    if (null_output) {
      w.Key("label").Null().Key("score").Null();
    } else {
      w.Field("label", kLabels[label])
          .Field("score",
                 label == 0 ? rng.Uniform(0.6, 0.99) : rng.Uniform(0.4, 0.95),
                 3);
    }
    w.EndObject();
    if (rng.Bernoulli(0.5)) {
      std::string blob;
      if (ctx.invalid_fraction > 0 && rng.Bernoulli(ctx.invalid_fraction)) {
        // A client bug: a PNG signature and then nothing a decoder takes.
        blob = Base64(std::string("\x89PNG\r\n\x1a\n", 8) +
                      "not the rest of a PNG file");
      } else {
        blob = Base64(MakePng(&rng, brightness));
      }
      w.Key("blobs").BeginObject().Field("image", blob).EndObject();
    }
    w.EndObject();
    out->Emit(w.Take(), request_id);

    if (!null_output && rng.Bernoulli(0.5)) {
      const std::string truth =
          rng.Bernoulli(0.93) ? kLabels[label] : kLabels[rng.Index(3)];
      const double delay = rng.Uniform(2, 20);
      out->EmitLater(delay,
                     EventsLine(kId, ctx.unix_time + delay,
                                {{.type = "label",
                                  .request_id = request_id,
                                  .text_value = &truth}}),
                     request_id);
    }
  }

 private:
  static constexpr ModelId kId{"vision", "2026-11", "classifier"};
};

}  // namespace

std::unique_ptr<Scenario> NewVisualInspectionScenario() {
  return std::make_unique<VisualInspectionScenario>();
}

}  // namespace ml_exporter::simulate
