// Records, events and decode rejections as comparable text, for the tests
// and fuzzers that check two decoding paths agree (the protobuf scanner
// against the generated parser). Field and blob lists are sorted by name:
// the generated path lists them in a protobuf Map's unspecified order.
// Strings carry their length, so that no name or value can fake a
// separator.
#ifndef ML_EXPORTER_TESTS_RECORD_TEXT_H_
#define ML_EXPORTER_TESTS_RECORD_TEXT_H_

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/record_decoder.h"
#include "ml_exporter/ingest_stats.h"
#include "ml_exporter/record.h"

namespace ml_exporter::testing {

// A double exactly (hexadecimal floating point).
inline std::string ExactNumber(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

inline std::string Sized(std::string_view s) {
  return "s" + std::to_string(s.size()) + ":" + std::string(s);
}

// `v`, whose list elements (if a list) are in `items`; an element outside
// `items` renders as "<out of range>".
inline std::string RenderValue(const FieldValue& v,
                               const std::vector<FieldValue>& items) {
  switch (v.kind) {
    case FieldValue::Kind::kNull:
      return "null";
    case FieldValue::Kind::kNumber:
      return ExactNumber(v.number);
    case FieldValue::Kind::kString:
      return Sized(v.text);
    case FieldValue::Kind::kBool:
      return v.boolean ? "true" : "false";
    case FieldValue::Kind::kList: {
      std::string s = "[";
      for (uint32_t i = 0; i < v.list_size; ++i) {
        const size_t at = size_t{v.list_begin} + i;
        s += (at < items.size() ? RenderValue(items[at], items)
                                : std::string("<out of range>")) +
             ",";
      }
      return s + "]";
    }
  }
  return "?";
}

inline std::string SortedJoin(std::vector<std::string> parts) {
  std::sort(parts.begin(), parts.end());
  std::string s = "{";
  for (const std::string& p : parts) s += p + ";";
  return s + "}";
}

inline std::string RenderFields(const std::vector<Field>& fields,
                                const std::vector<FieldValue>& items) {
  std::vector<std::string> parts;
  for (const Field& f : fields) {
    parts.push_back(Sized(f.name) + "=" + RenderValue(f.value, items));
  }
  return SortedJoin(std::move(parts));
}

inline std::string RenderRecord(const Record& r) {
  std::vector<std::string> blobs;
  for (const Blob& b : r.blobs) {
    blobs.push_back(Sized(b.name) + "=" + Sized(b.data) +
                    (b.base64 ? "(base64)" : ""));
  }
  return "model=" + Sized(r.model) + " version=" + Sized(r.version) +
         " stage=" + Sized(r.stage) + " request_id=" + Sized(r.request_id) +
         " session_id=" + Sized(r.session_id) +
         " time=" + ExactNumber(r.time_seconds) +
         " latency=" + ExactNumber(r.latency_seconds) +
         " error=" + (r.error ? "1" : "0") +
         " inputs=" + RenderFields(r.inputs, r.list_items) +
         " outputs=" + RenderFields(r.outputs, r.list_items) +
         " blobs=" + SortedJoin(std::move(blobs));
}

inline std::string RenderEvent(const Event& e) {
  return "type=" + Sized(e.type) + " model=" + Sized(e.model) +
         " version=" + Sized(e.version) + " stage=" + Sized(e.stage) +
         " request_id=" + Sized(e.request_id) +
         " session_id=" + Sized(e.session_id) +
         " time=" + ExactNumber(e.time_seconds) +
         " value=" + RenderValue(e.value, e.list_items);
}

inline std::string RenderRejection(const internal::DecodeError& error) {
  return "rejected " + std::string(ReasonName(error.reason)) + ": " +
         error.message;
}

}  // namespace ml_exporter::testing

#endif  // ML_EXPORTER_TESTS_RECORD_TEXT_H_
