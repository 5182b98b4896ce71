#include "ml_exporter/ingest.h"

#include <simdjson.h>

#include <cstring>

#include "core/label_value.h"
#include "exporter/json_record_scanner.h"
#include "exporter/json_syntax.h"
#include "exporter/protobuf_record_scanner.h"
#include "exporter/record_decoder.h"
#include "ml_exporter.pb.h"

namespace ml_exporter {

using internal::DecodeError;

TextPosition PositionOf(std::string_view text, size_t offset) {
  TextPosition p;
  if (offset > text.size()) offset = text.size();
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++p.line;
      p.column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++p.column;  // count characters, not UTF-8 continuation bytes
    }
  }
  return p;
}

struct Ingestor::Impl {
  Pipeline* pipeline;
  IngestSource source;
  simdjson::dom::parser parser{};  // {}: its constructor is explicit (clang)
  // Input copied here when it lacks simdjson's read padding.
  std::string padded;
  Record record;
  // Records of a JSON array body decoded by the scanner before any is
  // observed (so a body it declines is decoded anew by the DOM path).
  std::vector<Record> batch;
  // A protobuf body decoded by the scanner before any record is observed
  // (so a body it declines is decoded anew by the generated parser).
  internal::ScannedProtobufBatch scanned_protobuf;
  Event event;
  IngestResult* result = nullptr;
  size_t index = 0;  // position of the next item in the input
  size_t line = 0;

  void Reject(RejectReason reason, std::string message) {
    pipeline->ingest_stats().AddRejected(source, reason, 1);
    ++result->rejected;
    if (result->errors.size() < IngestResult::kMaxErrors) {
      result->errors.push_back({index, line, reason, std::move(message)});
    }
  }

  void AcceptRecord() { Observe(record); }

  void AcceptEvent() { ObserveEvent(event); }

  void ObserveEvent(const Event& e) {
    Status s = pipeline->ObserveEvent(e);
    if (s.ok()) {
      ++result->accepted;
      pipeline->ingest_stats().AddAcceptedEvents(source, 1);
    } else {
      Reject(RejectReason::kInvalidValue, s.message());
    }
  }

  void RecordItem(simdjson::dom::element element) {
    if (element.type() != simdjson::dom::element_type::OBJECT) {
      Reject(RejectReason::kNotAnObject, "a record must be a JSON object");
    } else {
      DecodeError error;
      if (internal::DecodeJsonRecord(element.get_object().value_unsafe(),
                                     &record, &error)) {
        AcceptRecord();
      } else {
        Reject(error.reason, error.message);
      }
    }
    ++index;
  }

  void EventItem(simdjson::dom::element element) {
    if (element.type() != simdjson::dom::element_type::OBJECT) {
      Reject(RejectReason::kNotAnObject, "an event must be a JSON object");
    } else {
      DecodeError error;
      if (internal::DecodeJsonEvent(element.get_object().value_unsafe(), &event,
                                    &error)) {
        AcceptEvent();
      } else {
        Reject(error.reason, error.message);
      }
    }
    ++index;
  }

  // Parses `text` (padding checked). On a syntax error returns the message.
  // `one_line`: `text` is one NDJSON line, whose number the caller reports;
  // the message then gives only the column.
  bool Parse(std::string_view text, simdjson::dom::element* root,
             std::string* message, bool one_line = false) {
    const char* data = text.data();
    // simdjson may read up to SIMDJSON_PADDING bytes past the end; copy the
    // input unless the caller promised that. The copy is cheap next to the
    // parse and keeps the API free of padding rules.
    padded.assign(text);
    padded.append(simdjson::SIMDJSON_PADDING, '\0');
    data = padded.data();
    auto parsed = parser.parse(data, text.size(), false);
    if (parsed.error() == simdjson::SUCCESS) {
      *root = parsed.value_unsafe();
      return true;
    }
    internal::JsonSyntaxError syntax;
    if (internal::FindJsonSyntaxError(text, &syntax)) {
      std::string where = internal::DescribeJsonSyntaxError(text, syntax);
      if (one_line && where.rfind("line 1, ", 0) == 0) where.erase(0, 8);
      *message = "invalid JSON at " + where;
    } else {
      *message = std::string("invalid JSON: ") +
                 simdjson::error_message(parsed.error());
    }
    return false;
  }

  // The JSON array body `text` through the scanner: true when every element
  // was a record it handles, all then observed; false (nothing observed)
  // to leave the body to the DOM path.
  bool ScanArray(std::string_view text) {
    size_t i = 0;
    auto skip_space = [&] {
      while (i < text.size() && (text[i] == ' ' || text[i] == '\n' ||
                                 text[i] == '\r' || text[i] == '\t')) {
        ++i;
      }
    };
    skip_space();
    if (i == text.size() || text[i] != '[') return false;
    ++i;
    skip_space();
    size_t n = 0;
    if (i < text.size() && text[i] == ']') {
      ++i;
    } else {
      for (;;) {
        if (n == batch.size()) batch.emplace_back();
        size_t used = 0;
        if (!internal::ScanJsonRecordPrefix(text.substr(i), &batch[n], &used)) {
          return false;
        }
        ++n;
        i += used;
        skip_space();
        if (i == text.size()) return false;
        if (text[i] == ']') {
          ++i;
          break;
        }
        if (text[i] != ',') return false;
        ++i;
        skip_space();
      }
    }
    skip_space();
    if (i != text.size()) return false;
    for (size_t k = 0; k < n; ++k) {
      Observe(batch[k]);
      ++index;
    }
    return true;
  }

  void Observe(const Record& r) {
    Status s = pipeline->Observe(r);
    if (s.ok()) {
      ++result->accepted;
      pipeline->ingest_stats().AddAccepted(source, 1);
    } else {
      Reject(RejectReason::kInvalidValue, s.message());
    }
  }

  // A top-level object: a wrapper when it has "records" or "events", else
  // one record. Returns false with a message and reason when the document
  // has the wrong shape.
  bool Document(simdjson::dom::element root, std::string* message,
                RejectReason* reason) {
    if (root.type() == simdjson::dom::element_type::ARRAY) {
      for (auto element : simdjson::dom::array(root.get_array().value_unsafe()))
        RecordItem(element);
      return true;
    }
    if (root.type() != simdjson::dom::element_type::OBJECT) {
      *message =
          "expected a record object, an array of records, or "
          "{\"records\":[...],\"events\":[...]}";
      *reason = RejectReason::kNotAnObject;
      return false;
    }
    simdjson::dom::object object = root.get_object().value_unsafe();
    simdjson::dom::element records, events;
    const bool has_records =
        object["records"].get(records) == simdjson::SUCCESS;
    const bool has_events = object["events"].get(events) == simdjson::SUCCESS;
    if (!has_records && !has_events) {
      RecordItem(root);
      return true;
    }
    if ((has_records && !records.is_array() && !records.is_null()) ||
        (has_events && !events.is_array() && !events.is_null())) {
      *message = "\"records\" and \"events\" must be arrays";
      *reason = RejectReason::kWrongType;
      return false;
    }
    if (has_records && records.is_array()) {
      for (auto e : simdjson::dom::array(records.get_array().value_unsafe()))
        RecordItem(e);
    }
    if (has_events && events.is_array()) {
      for (auto e : simdjson::dom::array(events.get_array().value_unsafe()))
        EventItem(e);
    }
    return true;
  }
};

Ingestor::Ingestor(Pipeline* pipeline, IngestSource source) : impl_(new Impl) {
  impl_->pipeline = pipeline;
  impl_->source = source;
}

Ingestor::~Ingestor() { delete impl_; }

IngestResult Ingestor::IngestJson(std::string_view body) {
  IngestResult result;
  impl_->result = &result;
  impl_->index = 0;
  impl_->line = 0;
  // The common bodies, one record or an array of them, without the DOM.
  if (internal::ScanJsonRecord(body, &impl_->record)) {
    impl_->AcceptRecord();
    impl_->result = nullptr;
    return result;
  }
  if (impl_->ScanArray(body)) {
    impl_->result = nullptr;
    return result;
  }
  simdjson::dom::element root;
  std::string message;
  RejectReason reason = RejectReason::kInvalidJson;
  if (!impl_->Parse(body, &root, &message) ||
      !impl_->Document(root, &message, &reason)) {
    result.body_status = Status::InvalidArgument(message);
    impl_->pipeline->ingest_stats().AddRejected(impl_->source, reason, 1);
  }
  impl_->result = nullptr;
  return result;
}

IngestResult Ingestor::IngestNdjson(std::string_view body, size_t first_line) {
  IngestResult result;
  impl_->result = &result;
  impl_->index = 0;
  size_t line = first_line;
  while (!body.empty()) {
    const size_t end = body.find('\n');
    std::string_view text = body.substr(0, end);
    body = end == std::string_view::npos ? std::string_view()
                                         : body.substr(end + 1);
    impl_->line = line++;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (text.size() > max_line_bytes_) {
      impl_->Reject(RejectReason::kBodyTooLarge,
                    "line is " + std::to_string(text.size()) +
                        " bytes, over the limit of " +
                        std::to_string(max_line_bytes_));
      ++impl_->index;
      continue;
    }
    if (internal::ScanJsonRecord(text, &impl_->record)) {
      impl_->AcceptRecord();
      ++impl_->index;
      continue;
    }
    simdjson::dom::element root;
    std::string message;
    if (!impl_->Parse(text, &root, &message, /*one_line=*/true)) {
      impl_->Reject(RejectReason::kInvalidJson, message);
      ++impl_->index;
      continue;
    }
    if (root.type() != simdjson::dom::element_type::OBJECT) {
      impl_->Reject(RejectReason::kNotAnObject,
                    "each line must be a record object or "
                    "{\"records\":[...],\"events\":[...]}");
      ++impl_->index;
      continue;
    }
    RejectReason reason = RejectReason::kWrongType;
    if (!impl_->Document(root, &message, &reason)) {
      impl_->Reject(reason, message);
      ++impl_->index;
    }
  }
  result.lines = line - first_line;
  impl_->result = nullptr;
  return result;
}

IngestResult Ingestor::IngestProtobuf(std::string_view body) {
  IngestResult result;
  impl_->result = &result;
  impl_->index = 0;
  impl_->line = 0;
  // The common body, without generated messages: the scanner decodes the
  // whole batch first, so that nothing is observed when it declines.
  const internal::ScannedProtobufBatch& scanned = impl_->scanned_protobuf;
  if (internal::ScanProtobufBatch(body, &impl_->scanned_protobuf)) {
    size_t rejection = 0;
    for (size_t i = 0; i < scanned.record_count; ++i, ++impl_->index) {
      if (rejection < scanned.record_rejections.size() &&
          scanned.record_rejections[rejection].position == i) {
        const DecodeError& error = scanned.record_rejections[rejection++].error;
        impl_->Reject(error.reason, error.message);
      } else {
        impl_->Observe(scanned.records[i]);
      }
    }
    rejection = 0;
    for (size_t i = 0; i < scanned.event_count; ++i, ++impl_->index) {
      if (rejection < scanned.event_rejections.size() &&
          scanned.event_rejections[rejection].position == i) {
        const DecodeError& error = scanned.event_rejections[rejection++].error;
        impl_->Reject(error.reason, error.message);
      } else {
        impl_->ObserveEvent(scanned.events[i]);
      }
    }
    impl_->result = nullptr;
    return result;
  }
  v1::Batch batch;
  if (body.size() > static_cast<size_t>(INT32_MAX) ||
      !batch.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    result.body_status = Status::InvalidArgument(
        "body is not a valid serialized ml_exporter.v1.Batch (" +
        std::to_string(body.size()) + " bytes)");
    impl_->pipeline->ingest_stats().AddRejected(
        impl_->source, RejectReason::kInvalidProtobuf, 1);
    impl_->result = nullptr;
    return result;
  }
  for (const v1::Record& r : batch.records()) {
    DecodeError error;
    if (internal::DecodeProtoRecord(r, &impl_->record, &error)) {
      impl_->AcceptRecord();
    } else {
      impl_->Reject(error.reason, error.message);
    }
    ++impl_->index;
  }
  for (const v1::Event& e : batch.events()) {
    DecodeError error;
    if (internal::DecodeProtoEvent(e, &impl_->event, &error)) {
      impl_->AcceptEvent();
    } else {
      impl_->Reject(error.reason, error.message);
    }
    ++impl_->index;
  }
  impl_->result = nullptr;
  return result;
}

namespace {

void AppendJsonString(std::string_view raw, std::string* out) {
  const std::string s = internal::SanitizeLabelValue(raw, raw.size() * 3);
  out->push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

}  // namespace

std::string IngestResultToJson(const IngestResult& result) {
  std::string out = "{\"accepted\":" + std::to_string(result.accepted) +
                    ",\"rejected\":" + std::to_string(result.rejected);
  if (!result.body_status.ok()) {
    out += ",\"error\":";
    AppendJsonString(result.body_status.message(), &out);
  }
  out += ",\"errors\":[";
  for (size_t i = 0; i < result.errors.size(); ++i) {
    const IngestError& e = result.errors[i];
    if (i > 0) out += ",";
    out += "{\"index\":" + std::to_string(e.index);
    if (e.line > 0) out += ",\"line\":" + std::to_string(e.line);
    out += ",\"reason\":";
    AppendJsonString(ReasonName(e.reason), &out);
    out += ",\"error\":";
    AppendJsonString(e.message, &out);
    out += "}";
  }
  out += "]}";
  return out;
}

}  // namespace ml_exporter
