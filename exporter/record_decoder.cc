#include "exporter/record_decoder.h"

#include <cmath>

#include "exporter/json_syntax.h"

namespace ml_exporter::internal {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

const char* JsonTypeName(element_type t) {
  switch (t) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "a number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "a value";
}

bool IsNumber(element_type t) {
  return t == element_type::INT64 || t == element_type::UINT64 ||
         t == element_type::DOUBLE;
}

bool WrongType(std::string_view field, const char* expected, element value,
               DecodeError* error) {
  error->reason = RejectReason::kWrongType;
  error->message = "field \"" + std::string(field) + "\": expected " +
                   expected + ", got " + JsonTypeName(value.type());
  return false;
}

// A string field; null counts as absent.
bool GetString(std::string_view field, element value, std::string_view* out,
               DecodeError* error) {
  if (value.is_null()) return true;
  if (value.type() != element_type::STRING) {
    return WrongType(field, "a string", value, error);
  }
  *out = value.get_string().value_unsafe();
  return true;
}

bool GetTime(element value, double* out, DecodeError* error) {
  if (value.is_null()) return true;
  if (IsNumber(value.type())) {
    *out = value.get_double().value_unsafe();
    return true;
  }
  if (value.type() != element_type::STRING) {
    return WrongType("time", "an RFC 3339 string or Unix seconds", value,
                     error);
  }
  const std::string_view text = value.get_string().value_unsafe();
  if (!ParseRfc3339(text, out)) {
    error->reason = RejectReason::kInvalidValue;
    error->message = "field \"time\": \"" + std::string(text.substr(0, 64)) +
                     "\" is not an RFC 3339 time like 2026-11-28T10:00:00Z";
    return false;
  }
  return true;
}

// A scalar or a list of scalars. `path` names the value in messages.
bool GetFieldValue(std::string_view path, element value,
                   std::vector<FieldValue>* list_items, FieldValue* out,
                   DecodeError* error) {
  switch (value.type()) {
    case element_type::NULL_VALUE:
      *out = FieldValue::Null();
      return true;
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      *out = FieldValue::Number(value.get_double().value_unsafe());
      return true;
    case element_type::STRING:
      *out = FieldValue::String(value.get_string().value_unsafe());
      return true;
    case element_type::BOOL:
      *out = FieldValue::Bool(value.get_bool().value_unsafe());
      return true;
    case element_type::ARRAY: {
      FieldValue list;
      list.kind = FieldValue::Kind::kList;
      list.list_begin = static_cast<uint32_t>(list_items->size());
      for (element item :
           simdjson::dom::array(value.get_array().value_unsafe())) {
        FieldValue v;
        switch (item.type()) {
          case element_type::ARRAY:
          case element_type::OBJECT:
            error->reason = RejectReason::kUnsupportedValue;
            error->message = "field \"" + std::string(path) +
                             "\": list elements must be numbers, strings, "
                             "booleans or null, got " +
                             JsonTypeName(item.type());
            return false;
          default:
            GetFieldValue(path, item, list_items, &v, error);
        }
        list_items->push_back(v);
        ++list.list_size;
      }
      *out = list;
      return true;
    }
    case element_type::OBJECT:
      break;
  }
  error->reason = RejectReason::kUnsupportedValue;
  error->message = "field \"" + std::string(path) +
                   "\": nested objects are not supported; use a number, "
                   "string, boolean, null or list";
  return false;
}

bool GetFields(std::string_view name, element value,
               std::vector<FieldValue>* list_items, std::vector<Field>* out,
               DecodeError* error) {
  if (value.is_null()) return true;
  if (value.type() != element_type::OBJECT) {
    return WrongType(name, "an object of name: value", value, error);
  }
  std::string path;
  for (auto [key, v] :
       simdjson::dom::object(value.get_object().value_unsafe())) {
    Field f;
    f.name = key;
    if (v.type() == element_type::OBJECT || v.type() == element_type::ARRAY) {
      path.assign(name).append(".").append(key);
    }
    if (!GetFieldValue(path, v, list_items, &f.value, error)) return false;
    out->push_back(f);
  }
  return true;
}

}  // namespace

bool DecodeJsonRecord(simdjson::dom::object object, Record* record,
                      DecodeError* error) {
  record->Clear();
  for (auto [key, value] : object) {
    if (key == "model") {
      if (!GetString(key, value, &record->model, error)) return false;
    } else if (key == "version") {
      if (!GetString(key, value, &record->version, error)) return false;
    } else if (key == "stage") {
      if (!GetString(key, value, &record->stage, error)) return false;
    } else if (key == "request_id") {
      if (!GetString(key, value, &record->request_id, error)) return false;
    } else if (key == "session_id") {
      if (!GetString(key, value, &record->session_id, error)) return false;
    } else if (key == "time") {
      if (!GetTime(value, &record->time_seconds, error)) return false;
    } else if (key == "latency_seconds") {
      if (value.is_null()) continue;
      if (!IsNumber(value.type())) {
        return WrongType(key, "a number", value, error);
      }
      record->latency_seconds = value.get_double().value_unsafe();
      if (record->latency_seconds < 0) {
        error->reason = RejectReason::kInvalidValue;
        error->message = "field \"latency_seconds\": must be >= 0, got " +
                         std::to_string(record->latency_seconds);
        return false;
      }
    } else if (key == "error") {
      if (value.is_null()) continue;
      if (value.type() != element_type::BOOL) {
        return WrongType(key, "a boolean", value, error);
      }
      record->error = value.get_bool().value_unsafe();
    } else if (key == "inputs") {
      if (!GetFields(key, value, &record->list_items, &record->inputs, error)) {
        return false;
      }
    } else if (key == "outputs") {
      if (!GetFields(key, value, &record->list_items, &record->outputs,
                     error)) {
        return false;
      }
    } else if (key == "blobs") {
      if (value.is_null()) continue;
      if (value.type() != element_type::OBJECT) {
        return WrongType(key, "an object of name: base64 string", value, error);
      }
      for (auto [name, data] :
           simdjson::dom::object(value.get_object().value_unsafe())) {
        if (data.type() != element_type::STRING) {
          return WrongType("blobs." + std::string(name), "a base64 string",
                           data, error);
        }
        record->blobs.push_back(
            Blob{name, data.get_string().value_unsafe(), true});
      }
    }
  }
  if (record->model.empty()) {
    error->reason = RejectReason::kMissingField;
    error->message = "field \"model\" is required";
    return false;
  }
  return true;
}

bool DecodeJsonEvent(simdjson::dom::object object, Event* event,
                     DecodeError* error) {
  event->Clear();
  for (auto [key, value] : object) {
    if (key == "type") {
      if (!GetString(key, value, &event->type, error)) return false;
    } else if (key == "model") {
      if (!GetString(key, value, &event->model, error)) return false;
    } else if (key == "version") {
      if (!GetString(key, value, &event->version, error)) return false;
    } else if (key == "stage") {
      if (!GetString(key, value, &event->stage, error)) return false;
    } else if (key == "request_id") {
      if (!GetString(key, value, &event->request_id, error)) return false;
    } else if (key == "session_id") {
      if (!GetString(key, value, &event->session_id, error)) return false;
    } else if (key == "time") {
      if (!GetTime(value, &event->time_seconds, error)) return false;
    } else if (key == "value") {
      if (!GetFieldValue("value", value, &event->list_items, &event->value,
                         error)) {
        return false;
      }
    }
  }
  if (event->type.empty()) {
    error->reason = RejectReason::kMissingField;
    error->message = "field \"type\" is required in an event";
    return false;
  }
  return true;
}

namespace {

bool GetProtoValue(std::string_view path, const google::protobuf::Value& value,
                   std::vector<FieldValue>* list_items, FieldValue* out,
                   DecodeError* error, bool in_list) {
  using google::protobuf::Value;
  switch (value.kind_case()) {
    case Value::kNullValue:
    case Value::KIND_NOT_SET:
      *out = FieldValue::Null();
      return true;
    case Value::kNumberValue:
      if (!std::isfinite(value.number_value())) {
        error->reason = RejectReason::kInvalidValue;
        error->message =
            "field \"" + std::string(path) + "\": numbers must be finite";
        return false;
      }
      *out = FieldValue::Number(value.number_value());
      return true;
    case Value::kStringValue:
      *out = FieldValue::String(value.string_value());
      return true;
    case Value::kBoolValue:
      *out = FieldValue::Bool(value.bool_value());
      return true;
    case Value::kListValue: {
      if (in_list) break;
      FieldValue list;
      list.kind = FieldValue::Kind::kList;
      list.list_begin = static_cast<uint32_t>(list_items->size());
      for (const Value& item : value.list_value().values()) {
        FieldValue v;
        if (!GetProtoValue(path, item, list_items, &v, error, true)) {
          return false;
        }
        list_items->push_back(v);
        ++list.list_size;
      }
      *out = list;
      return true;
    }
    case Value::kStructValue:
      break;
  }
  error->reason = RejectReason::kUnsupportedValue;
  error->message = "field \"" + std::string(path) +
                   (in_list ? "\": list elements must be numbers, strings, "
                              "booleans or null"
                            : "\": nested objects are not supported");
  return false;
}

bool GetProtoFields(std::string_view name,
                    const google::protobuf::Struct& fields,
                    std::vector<FieldValue>* list_items,
                    std::vector<Field>* out, DecodeError* error) {
  for (const auto& [key, value] : fields.fields()) {
    Field f;
    f.name = key;
    if (!GetProtoValue(std::string(name) + "." + key, value, list_items,
                       &f.value, error, false)) {
      return false;
    }
    out->push_back(f);
  }
  return true;
}

double ProtoTime(const google::protobuf::Timestamp& t) {
  return static_cast<double>(t.seconds()) + t.nanos() * 1e-9;
}

}  // namespace

bool DecodeProtoRecord(const v1::Record& message, Record* record,
                       DecodeError* error) {
  record->Clear();
  record->model = message.model();
  record->version = message.version();
  record->stage = message.stage();
  record->request_id = message.request_id();
  record->session_id = message.session_id();
  if (message.has_time()) record->time_seconds = ProtoTime(message.time());
  if (message.has_latency_seconds()) {
    record->latency_seconds = message.latency_seconds();
    if (!(record->latency_seconds >= 0) ||
        !std::isfinite(record->latency_seconds)) {
      error->reason = RejectReason::kInvalidValue;
      error->message =
          "field \"latency_seconds\": must be a finite number >= 0";
      return false;
    }
  }
  record->error = message.error();
  if (!GetProtoFields("inputs", message.inputs(), &record->list_items,
                      &record->inputs, error) ||
      !GetProtoFields("outputs", message.outputs(), &record->list_items,
                      &record->outputs, error)) {
    return false;
  }
  for (const auto& [name, data] : message.blobs()) {
    record->blobs.push_back(Blob{name, data, false});
  }
  if (record->model.empty()) {
    error->reason = RejectReason::kMissingField;
    error->message = "field \"model\" is required";
    return false;
  }
  return true;
}

bool DecodeProtoEvent(const v1::Event& message, Event* event,
                      DecodeError* error) {
  event->Clear();
  event->type = message.type();
  event->model = message.model();
  event->version = message.version();
  event->stage = message.stage();
  event->request_id = message.request_id();
  event->session_id = message.session_id();
  if (message.has_time()) event->time_seconds = ProtoTime(message.time());
  if (message.has_value() &&
      !GetProtoValue("value", message.value(), &event->list_items,
                     &event->value, error, false)) {
    return false;
  }
  if (event->type.empty()) {
    error->reason = RejectReason::kMissingField;
    error->message = "field \"type\" is required in an event";
    return false;
  }
  return true;
}

}  // namespace ml_exporter::internal
