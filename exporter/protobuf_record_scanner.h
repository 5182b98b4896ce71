// A fast path for decoding a serialized ml_exporter.v1.Batch: one pass over
// the protobuf wire format that writes straight into reused Record and Event
// views, with strings pointing into the body, no generated message objects
// and no allocation once the vectors have grown.
//
// It handles the shape that protobuf serializers write (each field once, in
// any order; unknown fields with wire types 0, 1, 2 and 5 in Batch, Record
// and Event; valid UTF-8; nesting up to kMaxScanDepth messages) and declines
// everything else: a field with an unexpected wire type, a repeated message
// field that protobuf would merge (time, inputs, outputs, value), a Value
// with more than one kind, a map entry with a field twice or an unknown
// field, duplicated feature or blob names, groups, field number 0, tags of
// more than two bytes, lengths of 2^28 bytes or more, every syntax error,
// and a record whose rejection message would depend on the iteration order
// of a protobuf Map (two bad values in one Struct). A declined body goes
// through the generated v1::Batch parser and DecodeProtoRecord /
// DecodeProtoEvent (record_decoder.h), which accept it or reject it. So
// behaviour is that of the generated path; the scanner only makes the
// common case cheap.
//
// One difference is by design: the generated path lists a record's inputs,
// outputs and blobs in the iteration order of a protobuf Map, which is
// unspecified (randomised per map in protobuf 3.21); the scanner lists
// blobs in wire order, and inputs (outputs) in the order of the previous
// record's inputs (outputs) when they have the same names, else in wire
// order. Serializers write map entries in their map's order, often random,
// so this keeps one order per shape of record, which is what the field
// collectors' per-position name cache needs to hit.
#ifndef ML_EXPORTER_EXPORTER_PROTOBUF_RECORD_SCANNER_H_
#define ML_EXPORTER_EXPORTER_PROTOBUF_RECORD_SCANNER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "exporter/record_decoder.h"
#include "ml_exporter/record.h"

namespace ml_exporter::internal {

// Nested messages (Record = 1, its Struct = 2, a map entry = 3, a Value =
// 4, ...) the scanner follows before it declines; well below protobuf's
// default recursion limit of 100, so that depth never decides a result.
inline constexpr int kMaxScanDepth = 40;

// A record or event of a scanned batch that DecodeProtoRecord or
// DecodeProtoEvent would reject, and the error they would report.
struct ScannedRejection {
  size_t position = 0;  // among the batch's records, or among its events
  DecodeError error;
};

// The records and events of one serialized Batch. Reuse one across bodies:
// its vectors only grow, so their Records and Events keep their capacity.
struct ScannedProtobufBatch {
  // The batch's records [0, record_count) and events [0, event_count), in
  // wire order. The entries past the counts are spare.
  std::vector<Record> records;
  size_t record_count = 0;
  std::vector<Event> events;
  size_t event_count = 0;
  // The positions, ascending, whose record or event would be rejected; the
  // Record or Event at such a position is unspecified.
  std::vector<ScannedRejection> record_rejections;
  std::vector<ScannedRejection> event_rejections;

  // What the scanner keeps between bodies (field name tables).
  struct ScannerState;
  std::unique_ptr<ScannerState> state;

  ScannedProtobufBatch();
  ~ScannedProtobufBatch();
};

// True when `body` is a serialized v1::Batch that the scanner handles:
// then `*batch` holds what v1::Batch::ParseFromArray followed by
// DecodeProtoRecord on each record and DecodeProtoEvent on each event
// would give (records, events and rejections with reason and message),
// with every string pointing into `body`. False when it declines; `*batch`
// is then unspecified. Never true for a body that the generated parser
// rejects or that the generated path would decode differently (apart from
// the order of inputs, outputs and blobs, above).
bool ScanProtobufBatch(std::string_view body, ScannedProtobufBatch* batch);

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_EXPORTER_PROTOBUF_RECORD_SCANNER_H_
