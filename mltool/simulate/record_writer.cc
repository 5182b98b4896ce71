#include "mltool/simulate/record_writer.h"

#include <cctype>

namespace ml_exporter::simulate {

void BeginRecord(const ModelId& id, const RequestContext& ctx,
                 std::string_view request_id, std::string_view session_id,
                 double latency_seconds, bool error, JsonWriter* w) {
  w->BeginObject()
      .Field("model", id.model)
      .Field("version", id.version)
      .Field("stage", id.stage)
      .Field("request_id", request_id);
  if (!session_id.empty()) w->Field("session_id", session_id);
  w->Field("time", ctx.unix_time, 3)
      .Field("latency_seconds", latency_seconds, 5);
  if (error) w->Key("error").Bool(true);
}

std::string EventsLine(const ModelId& id, double unix_time,
                       const std::vector<EventSpec>& events) {
  JsonWriter w;
  w.BeginObject().Key("events").BeginArray();
  for (const EventSpec& e : events) {
    w.BeginObject()
        .Field("type", e.type)
        .Field("model", id.model)
        .Field("version", id.version)
        .Field("stage", id.stage);
    if (!e.request_id.empty()) w.Field("request_id", e.request_id);
    if (!e.session_id.empty()) w.Field("session_id", e.session_id);
    w.Field("time", unix_time, 3);
    if (e.text_value != nullptr) w.Field("value", *e.text_value);
    if (e.number_value != nullptr) w.Field("value", *e.number_value);
    w.EndObject();
  }
  w.EndArray().EndObject();
  return w.Take();
}

bool MaybeEmitClientBug(const ModelId& id, const RequestContext& ctx,
                        std::string_view route, Emitter* out) {
  if (ctx.invalid_fraction <= 0 || !ctx.rng->Bernoulli(ctx.invalid_fraction)) {
    return false;
  }
  const std::string lost = "lost-" + std::to_string(ctx.index);
  const std::string truth = "ok";
  JsonWriter w;
  switch (ctx.rng->Index(5)) {
    case 0:
      w.BeginObject()
          .Field("version", "v1")
          .Field("latency_seconds", 0.1)
          .Key("inputs")
          .BeginObject()
          .Field("x", 1.0)
          .EndObject()
          .EndObject();
      out->Emit(w.Take(), std::string(route));
      break;
    case 1:
      out->Emit(
          EventsLine(
              id, ctx.unix_time,
              {{.type = "label", .request_id = lost, .text_value = &truth}}),
          std::string(route));
      break;
    case 2:
      out->Emit(EventsLine(id, ctx.unix_time,
                           {{.type = "click", .request_id = lost}}),
                std::string(route));
      break;
    case 3:
      out->Emit(EventsLine(id, ctx.unix_time,
                           {{.type = "switch_to_typing", .session_id = lost}}),
                std::string(route));
      break;
    default:
      w.BeginObject()
          .Key("events")
          .BeginArray()
          .BeginObject()
          .Field("type", "click")
          .Field("request_id", lost)
          .EndObject()
          .EndArray()
          .EndObject();
      out->Emit(w.Take(), std::string(route));
      break;
  }
  return true;
}

std::string Rephrase(Random* rng, const std::string& query) {
  std::string s = query;
  switch (rng->Index(3)) {
    case 0:
      return s;
    case 1:
      if (!s.empty()) s[0] = static_cast<char>(std::toupper(s[0]));
      return s;
    default:
      return s + "?";
  }
}

SessionPool::Session& SessionPool::Pick(Random* rng) {
  Session& s = sessions_[rng->Index(sessions_.size())];
  if (s.remaining <= 0) {
    s.id = prefix_ + std::to_string(next_id_++);
    s.remaining = static_cast<int>(rng->Int(2, 9));
    s.last_query.clear();
  }
  --s.remaining;
  return s;
}

}  // namespace ml_exporter::simulate
