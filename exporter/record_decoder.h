// Decoding one record or event from a parsed JSON object or a protobuf
// message into the Record / Event views.
#ifndef ML_EXPORTER_EXPORTER_RECORD_DECODER_H_
#define ML_EXPORTER_EXPORTER_RECORD_DECODER_H_

#include <simdjson.h>

#include <string>

#include "ml_exporter.pb.h"
#include "ml_exporter/ingest_stats.h"
#include "ml_exporter/record.h"

namespace ml_exporter::internal {

// Why a record or event was rejected.
struct DecodeError {
  RejectReason reason = RejectReason::kInvalidJson;
  std::string message;
};

// Fills `record` (cleared first) from `object`. Strings point into the
// parser's buffers. False and `*error` set when a field has the wrong type or
// an unsupported value; unknown keys are ignored.
bool DecodeJsonRecord(simdjson::dom::object object, Record* record,
                      DecodeError* error);
bool DecodeJsonEvent(simdjson::dom::object object, Event* event,
                     DecodeError* error);

// Same from protobuf. Strings point into `message`.
bool DecodeProtoRecord(const v1::Record& message, Record* record,
                       DecodeError* error);
bool DecodeProtoEvent(const v1::Event& message, Event* event,
                      DecodeError* error);

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_EXPORTER_RECORD_DECODER_H_
