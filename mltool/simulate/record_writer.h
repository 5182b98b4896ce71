// Pieces every scenario's lines share: the record header, event lines,
// sessions, and the occasional client bug.
#ifndef ML_EXPORTER_MLTOOL_SIMULATE_RECORD_WRITER_H_
#define ML_EXPORTER_MLTOOL_SIMULATE_RECORD_WRITER_H_

#include <string>
#include <string_view>
#include <vector>

#include "mltool/simulate/json_writer.h"
#include "mltool/simulate/random.h"
#include "mltool/simulate/scenario.h"

namespace ml_exporter::simulate {

// Who made a prediction.
struct ModelId {
  std::string_view model;
  std::string_view version;
  std::string_view stage;
};

// Opens a record object and writes model, version, stage, request_id,
// session_id (when not empty), time, latency_seconds and error (when
// true). The caller writes "inputs", "outputs", "blobs" and closes it.
void BeginRecord(const ModelId& id, const RequestContext& ctx,
                 std::string_view request_id, std::string_view session_id,
                 double latency_seconds, bool error, JsonWriter* w);

// One event of an {"events": [...]} line.
struct EventSpec {
  std::string_view type = {};
  std::string_view request_id = {};
  std::string_view session_id = {};
  // The event's "value" (labels); none when both are unset.
  const std::string* text_value = nullptr;
  const double* number_value = nullptr;
};

// {"events":[...]} of `events`, all for `id`, at `unix_time`.
std::string EventsLine(const ModelId& id, double unix_time,
                       const std::vector<EventSpec>& events);

// With probability ctx.invalid_fraction, emits what a buggy client sends
// instead of the request, one of: a record without a model name (rejected
// as missing_field); a label or click event for a request that never was,
// or a switch_to_typing event for an unknown session (counted as
// unmatched); an event naming no model, request or session (unattributed).
// Returns whether it did.
bool MaybeEmitClientBug(const ModelId& id, const RequestContext& ctx,
                        std::string_view route, Emitter* out);

// "weather in berlin" -> "Weather in berlin?": the same query said again,
// as the sessions collector's normalisation sees it.
std::string Rephrase(Random* rng, const std::string& query);

// Conversations of one scenario: a few sessions open at a time, each of a
// few requests, so that a session's requests are seconds apart.
class SessionPool {
 public:
  struct Session {
    std::string id;
    int remaining = 0;
    std::string last_query;  // empty before the first request
  };

  // `prefix` starts every session id ("asr-s-").
  SessionPool(std::string prefix, size_t open_sessions)
      : prefix_(std::move(prefix)), sessions_(open_sessions) {}

  // A session for the next request; a finished one is replaced by a new
  // one of 2 to 9 requests.
  Session& Pick(Random* rng);

 private:
  std::string prefix_;
  std::vector<Session> sessions_;
  uint64_t next_id_ = 0;
};

}  // namespace ml_exporter::simulate

#endif  // ML_EXPORTER_MLTOOL_SIMULATE_RECORD_WRITER_H_
