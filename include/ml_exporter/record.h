// Record and Event: the non-owning views of one prediction and one feedback
// event that flow from the decoders to the collectors.
//
// Every string_view points into storage owned by whoever produced the record
// (a decoder's buffer, a RecordBuilder, a protobuf message) and is valid only
// for the duration of the Observe call. A collector that keeps a string must
// copy it.
#ifndef ML_EXPORTER_RECORD_H_
#define ML_EXPORTER_RECORD_H_

#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

namespace ml_exporter {

// A JSON-like scalar or list: the value of one input or output.
struct FieldValue {
  enum class Kind : uint8_t { kNull, kNumber, kString, kBool, kList };

  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string_view text;  // kString
  // kList: the elements are Record::list_items[list_begin, list_begin +
  // list_size) (or Event::list_items). Elements are never lists themselves.
  uint32_t list_begin = 0;
  uint32_t list_size = 0;

  static FieldValue Null() { return FieldValue{}; }
  static FieldValue Number(double v) {
    FieldValue f;
    f.kind = Kind::kNumber;
    f.number = v;
    return f;
  }
  static FieldValue String(std::string_view s) {
    FieldValue f;
    f.kind = Kind::kString;
    f.text = s;
    return f;
  }
  static FieldValue Bool(bool b) {
    FieldValue f;
    f.kind = Kind::kBool;
    f.boolean = b;
    return f;
  }
};

// One named input or output.
struct Field {
  std::string_view name;
  FieldValue value;
};

// Raw media attached to a record. `data` is the decoded bytes when
// `base64` is false, or the base64 text as it arrived in JSON when true
// (decoding is left to the collectors that need the bytes).
struct Blob {
  std::string_view name;
  std::string_view data;
  bool base64 = false;
};

// One prediction. Fields with no value in the source are empty views, NaN
// (`time_seconds`, `latency_seconds`) or false.
struct Record {
  std::string_view model;  // never empty in a record that reaches Observe
  std::string_view version;
  std::string_view stage;
  std::string_view request_id;
  std::string_view session_id;
  double time_seconds = NAN;  // Unix time
  double latency_seconds = NAN;
  bool error = false;
  std::vector<Field> inputs;
  std::vector<Field> outputs;
  std::vector<FieldValue> list_items;
  std::vector<Blob> blobs;

  // Resets to an empty record, keeping the vectors' capacity.
  void Clear() {
    model = version = stage = request_id = session_id = {};
    time_seconds = latency_seconds = NAN;
    error = false;
    inputs.clear();
    outputs.clear();
    list_items.clear();
    blobs.clear();
  }
};

// Something that happened after a prediction: an impression, a click, a
// switch to typing, a late ground-truth label.
struct Event {
  std::string_view type;  // never empty in an event that reaches Observe
  std::string_view model;
  std::string_view version;
  std::string_view stage;
  std::string_view request_id;
  std::string_view session_id;
  double time_seconds = NAN;
  FieldValue value;
  std::vector<FieldValue> list_items;

  void Clear() {
    type = model = version = stage = request_id = session_id = {};
    time_seconds = NAN;
    value = FieldValue::Null();
    list_items.clear();
  }
};

}  // namespace ml_exporter

#endif  // ML_EXPORTER_RECORD_H_
