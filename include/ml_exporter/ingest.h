// Decoders from wire formats to records, feeding a Pipeline.
//
// Every decoder accepts what it can and reports the rest: a record that
// parses but is invalid is rejected alone, with its index and reason; a body
// that does not parse at all is rejected whole with the byte offset, line
// and column. Nothing here throws or aborts on bad input.
#ifndef ML_EXPORTER_INGEST_H_
#define ML_EXPORTER_INGEST_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ml_exporter/ingest_stats.h"
#include "ml_exporter/pipeline.h"
#include "ml_exporter/status.h"

namespace ml_exporter {

// One rejected record or event.
struct IngestError {
  // 0-based position among the records and events of the input, in input
  // order (records of a {"records":[...],"events":[...]} body first).
  size_t index = 0;
  // 1-based line for NDJSON input, 0 otherwise.
  size_t line = 0;
  RejectReason reason = RejectReason::kInvalidJson;
  std::string message;  // what was wrong and where, e.g. field name
};

struct IngestResult {
  size_t accepted = 0;  // records and events handed to the pipeline
  size_t rejected = 0;
  // The first kMaxErrors rejections; `rejected` counts them all.
  std::vector<IngestError> errors;
  // Not OK when the body as a whole did not parse (JSON and protobuf
  // bodies): then nothing was accepted and the message gives the byte
  // offset, line and column and what was expected.
  Status body_status;
  // IngestNdjson: the lines of the body it went through, blank ones
  // included (a last line without its newline counts).
  size_t lines = 0;

  static constexpr size_t kMaxErrors = 100;
};

// Decodes one input format into records for a pipeline. Not thread-safe:
// use one Ingestor per thread (they are cheap; the parser buffers they keep
// are reused across calls).
class Ingestor {
 public:
  Ingestor(Pipeline* pipeline, IngestSource source);
  ~Ingestor();
  Ingestor(const Ingestor&) = delete;
  Ingestor& operator=(const Ingestor&) = delete;

  // A JSON body: one record object, an array of records, or an object
  // {"records": [...], "events": [...]}. All-or-nothing on syntax: a body
  // that is not valid JSON is rejected whole, before any record is observed.
  IngestResult IngestJson(std::string_view body);

  // Newline-delimited JSON: each non-blank line is a record object or a
  // {"records": [...], "events": [...]} object. Lines are independent: a
  // bad line is rejected (with its line number, `first_line` based) and the
  // rest are accepted. `body` should hold whole lines.
  IngestResult IngestNdjson(std::string_view body, size_t first_line = 1);

  // A serialized ml_exporter.v1.Batch.
  IngestResult IngestProtobuf(std::string_view body);

  // Lines longer than this are rejected with kBodyTooLarge without parsing.
  void set_max_line_bytes(size_t n) { max_line_bytes_ = n; }

 private:
  struct Impl;
  Impl* impl_;
  size_t max_line_bytes_ = 16 << 20;
};

// Renders an IngestResult as the HTTP reply body:
// {"accepted":N,"rejected":M,"errors":[{"index":i,"line":l,"reason":"...",
//  "error":"..."}]}
std::string IngestResultToJson(const IngestResult& result);

// Byte offset to 1-based line and column, for error messages.
struct TextPosition {
  size_t line = 1;
  size_t column = 1;
};
TextPosition PositionOf(std::string_view text, size_t offset);

}  // namespace ml_exporter

#endif  // ML_EXPORTER_INGEST_H_
