#include "config/yaml_to_proto.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/struct.pb.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "config.pb.h"

namespace ml_exporter::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string TypeName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "\"" + node.Scalar() + "\"";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

bool ParseInteger(const std::string& text, bool byte_size, long double* out) {
  std::string s = text;
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  if (s.empty()) return false;
  long double multiplier = 1;
  if (byte_size) {
    static const std::pair<const char*, long double> kUnits[] = {
        {"KiB", 1024.0L}, {"MiB", 1048576.0L}, {"GiB", 1073741824.0L},
        {"KB", 1e3L},     {"MB", 1e6L},        {"GB", 1e9L},
        {"B", 1}};
    for (const auto& [unit, m] : kUnits) {
      const std::string u = unit;
      if (s.size() > u.size() &&
          s.compare(s.size() - u.size(), u.size(), u) == 0) {
        s.resize(s.size() - u.size());
        multiplier = m;
        break;
      }
    }
  }
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  for (size_t k = i; k < s.size(); ++k) {
    if (!std::isdigit(static_cast<unsigned char>(s[k]))) return false;
  }
  errno = 0;
  const long double v = std::strtold(s.c_str(), nullptr);
  if (errno != 0) return false;
  *out = v * multiplier;
  return true;
}

bool ParseDouble(const std::string& text, double* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno != 0 || !std::isfinite(v)) {
    return false;
  }
  *out = v;
  return true;
}

class Converter {
 public:
  explicit Converter(YamlConversion* result) : r_(result) {}

  void Error(const YAML::Node& node, const std::string& message) {
    const YAML::Mark m = node.Mark();
    r_->errors.push_back(r_->filename + ":" + std::to_string(m.line + 1) + ":" +
                         std::to_string(m.column + 1) + ": " + message);
  }

  void Mark(const std::string& path, const YAML::Node& node) {
    const YAML::Mark m = node.Mark();
    r_->marks[path] = TextMark{m.line + 1, m.column + 1};
  }

  void ConvertMessage(const YAML::Node& node, Message* msg,
                      const std::string& path) {
    Mark(path, node);
    const Descriptor* d = msg->GetDescriptor();
    if (d->full_name() == "google.protobuf.Struct") {
      ConvertStruct(node, static_cast<google::protobuf::Struct*>(msg), path);
      return;
    }
    // A message with one repeated scalar field may be written as a list.
    if (node.IsSequence() && d->field_count() == 1 &&
        d->field(0)->is_repeated() &&
        d->field(0)->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      ConvertRepeated(node, msg, d->field(0), path);
      return;
    }
    if (!node.IsMap()) {
      Error(node, "expected a mapping for " + Describe(path) + ", got " +
                      TypeName(node));
      return;
    }
    std::vector<std::string> names;
    for (int i = 0; i < d->field_count(); ++i)
      names.push_back(d->field(i)->name());
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key = it->first.Scalar();
      const FieldDescriptor* field = d->FindFieldByName(key);
      if (field == nullptr) {
        std::string message =
            "unknown key \"" + key + "\" in " + Describe(path);
        const std::string guess = DidYouMean(key, names);
        if (!guess.empty()) {
          message += "; did you mean \"" + guess + "\"?";
        } else {
          std::string valid;
          for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
          message += "; valid keys: " + valid;
        }
        Error(it->first, message);
        continue;
      }
      ConvertField(it->second, msg, field, Join(path, key));
    }
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* field = d->field(i);
      const auto& rules = field->options().GetExtension(v1::rules);
      if (!rules.required()) continue;
      const Reflection* refl = msg->GetReflection();
      const bool present =
          field->is_repeated()
              ? refl->FieldSize(*msg, field) > 0
              : (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING
                     ? !refl->GetString(*msg, field).empty()
                     : refl->HasField(*msg, field));
      if (!present) {
        Error(node, "missing required key \"" + field->name() + "\" in " +
                        Describe(path));
      }
    }
  }

 private:
  static std::string Join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }
  static std::string Describe(const std::string& path) {
    return path.empty() ? "the top level" : "\"" + path + "\"";
  }

  void ConvertField(const YAML::Node& node, Message* msg,
                    const FieldDescriptor* field, const std::string& path) {
    if (node.IsNull()) return;  // `key:` with no value keeps the default
    if (field->is_map()) {
      ConvertMap(node, msg, field, path);
    } else if (field->is_repeated()) {
      ConvertRepeated(node, msg, field, path);
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      ConvertMessage(node, msg->GetReflection()->MutableMessage(msg, field),
                     path);
    } else {
      ConvertScalar(node, msg, field, path, /*add=*/false);
    }
  }

  void ConvertMap(const YAML::Node& node, Message* msg,
                  const FieldDescriptor* field, const std::string& path) {
    Mark(path, node);
    if (!node.IsMap()) {
      Error(node, "expected a mapping of name: value for \"" + path +
                      "\", got " + TypeName(node));
      return;
    }
    const FieldDescriptor* key_field = field->message_type()->map_key();
    const FieldDescriptor* value_field = field->message_type()->map_value();
    for (auto it = node.begin(); it != node.end(); ++it) {
      Message* entry = msg->GetReflection()->AddMessage(msg, field);
      const std::string key = it->first.Scalar();
      entry->GetReflection()->SetString(entry, key_field, key);
      ConvertField(it->second, entry, value_field, path + "." + key);
    }
  }

  void ConvertRepeated(const YAML::Node& node, Message* msg,
                       const FieldDescriptor* field, const std::string& path) {
    Mark(path, node);
    if (!node.IsSequence()) {
      Error(node,
            "expected a list for \"" + path + "\", got " + TypeName(node));
      return;
    }
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        ConvertMessage(node[i], msg->GetReflection()->AddMessage(msg, field),
                       item_path);
      } else {
        ConvertScalar(node[i], msg, field, item_path, /*add=*/true);
      }
    }
  }

  void ConvertScalar(const YAML::Node& node, Message* msg,
                     const FieldDescriptor* field, const std::string& path,
                     bool add) {
    Mark(path, node);
    const Reflection* refl = msg->GetReflection();
    if (!node.IsScalar()) {
      Error(node, "expected " + Expected(field) + " for \"" + path +
                      "\", got " + TypeName(node));
      return;
    }
    const std::string text = node.Scalar();
    const auto& rules = field->options().GetExtension(v1::rules);
    auto check_range = [&](long double v) {
      if (rules.has_min() && v < rules.min()) {
        Error(node, "\"" + path + "\" is " + text + ", must be at least " +
                        FormatNumber(rules.min()));
        return false;
      }
      if (rules.has_max() && v > rules.max()) {
        Error(node, "\"" + path + "\" is " + text + ", must be at most " +
                        FormatNumber(rules.max()));
        return false;
      }
      return true;
    };
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        add ? refl->AddString(msg, field, text)
            : refl->SetString(msg, field, text);
        return;
      case FieldDescriptor::CPPTYPE_BOOL: {
        std::string lower = text;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        bool v;
        if (lower == "true" || lower == "yes" || lower == "on") {
          v = true;
        } else if (lower == "false" || lower == "no" || lower == "off") {
          v = false;
        } else {
          Error(node, "expected true or false for \"" + path + "\", got \"" +
                          text + "\"");
          return;
        }
        add ? refl->AddBool(msg, field, v) : refl->SetBool(msg, field, v);
        return;
      }
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT: {
        double v;
        if (!ParseDouble(text, &v)) {
          Error(node,
                "expected a number for \"" + path + "\", got \"" + text + "\"");
          return;
        }
        if (!check_range(v)) return;
        if (field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
          add ? refl->AddDouble(msg, field, v) : refl->SetDouble(msg, field, v);
        } else {
          add ? refl->AddFloat(msg, field, static_cast<float>(v))
              : refl->SetFloat(msg, field, static_cast<float>(v));
        }
        return;
      }
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64:
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64: {
        long double v;
        if (!ParseInteger(text, rules.byte_size(), &v) || v != std::floor(v)) {
          Error(node, "expected " + Expected(field) + " for \"" + path +
                          "\", got \"" + text + "\"");
          return;
        }
        const bool is_unsigned =
            field->cpp_type() == FieldDescriptor::CPPTYPE_UINT32 ||
            field->cpp_type() == FieldDescriptor::CPPTYPE_UINT64;
        const bool is32 = field->cpp_type() == FieldDescriptor::CPPTYPE_INT32 ||
                          field->cpp_type() == FieldDescriptor::CPPTYPE_UINT32;
        const long double lo =
            is_unsigned ? 0
                        : (is32 ? std::numeric_limits<int32_t>::min()
                                : std::numeric_limits<int64_t>::min());
        const long double hi =
            is_unsigned ? (is32 ? std::numeric_limits<uint32_t>::max()
                                : std::numeric_limits<uint64_t>::max())
                        : (is32 ? std::numeric_limits<int32_t>::max()
                                : std::numeric_limits<int64_t>::max());
        if (v < lo || v > hi) {
          Error(node, "\"" + path + "\" is " + text + ", out of range for " +
                          Expected(field));
          return;
        }
        if (!check_range(v)) return;
        switch (field->cpp_type()) {
          case FieldDescriptor::CPPTYPE_INT32:
            add ? refl->AddInt32(msg, field, static_cast<int32_t>(v))
                : refl->SetInt32(msg, field, static_cast<int32_t>(v));
            break;
          case FieldDescriptor::CPPTYPE_INT64:
            add ? refl->AddInt64(msg, field, static_cast<int64_t>(v))
                : refl->SetInt64(msg, field, static_cast<int64_t>(v));
            break;
          case FieldDescriptor::CPPTYPE_UINT32:
            add ? refl->AddUInt32(msg, field, static_cast<uint32_t>(v))
                : refl->SetUInt32(msg, field, static_cast<uint32_t>(v));
            break;
          default:
            add ? refl->AddUInt64(msg, field, static_cast<uint64_t>(v))
                : refl->SetUInt64(msg, field, static_cast<uint64_t>(v));
        }
        return;
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const auto* value = field->enum_type()->FindValueByName(text);
        if (value == nullptr) {
          Error(node, "unknown value \"" + text + "\" for \"" + path + "\"");
          return;
        }
        add ? refl->AddEnum(msg, field, value)
            : refl->SetEnum(msg, field, value);
        return;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        break;
    }
  }

  void ConvertValue(const YAML::Node& node, google::protobuf::Value* value,
                    const std::string& path) {
    Mark(path, node);
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        value->set_null_value(google::protobuf::NULL_VALUE);
        return;
      case YAML::NodeType::Scalar: {
        const std::string& text = node.Scalar();
        double number;
        // Plain (unquoted) scalars that read as numbers or booleans are
        // those; quoted ones stay strings.
        if (node.Tag() != "!") {
          if (text == "true" || text == "false") {
            value->set_bool_value(text == "true");
            return;
          }
          if (ParseDouble(text, &number)) {
            value->set_number_value(number);
            return;
          }
        }
        value->set_string_value(text);
        return;
      }
      case YAML::NodeType::Sequence:
        for (size_t i = 0; i < node.size(); ++i) {
          ConvertValue(node[i], value->mutable_list_value()->add_values(),
                       path + "[" + std::to_string(i) + "]");
        }
        if (node.size() == 0) value->mutable_list_value();
        return;
      case YAML::NodeType::Map:
        ConvertStruct(node, value->mutable_struct_value(), path);
        return;
    }
  }

  void ConvertStruct(const YAML::Node& node, google::protobuf::Struct* s,
                     const std::string& path) {
    Mark(path, node);
    if (!node.IsMap()) {
      Error(node,
            "expected a mapping for \"" + path + "\", got " + TypeName(node));
      return;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key = it->first.Scalar();
      ConvertValue(it->second, &(*s->mutable_fields())[key], path + "." + key);
    }
  }

  static std::string Expected(const FieldDescriptor* field) {
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64:
        return "an integer";
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64:
        return field->options().GetExtension(v1::rules).byte_size()
                   ? "a non-negative integer or byte size (e.g. 16MiB)"
                   : "a non-negative integer";
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
        return "a number";
      case FieldDescriptor::CPPTYPE_BOOL:
        return "true or false";
      case FieldDescriptor::CPPTYPE_STRING:
        return "a string";
      case FieldDescriptor::CPPTYPE_ENUM:
        return "one of the names";
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return "a mapping";
    }
    return "a value";
  }

  static std::string FormatNumber(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }

  YamlConversion* r_;
};

}  // namespace

std::string YamlConversion::Where(const std::string& path) const {
  auto it = marks.find(path);
  if (it == marks.end()) return filename + ": ";
  return filename + ":" + std::to_string(it->second.line) + ":" +
         std::to_string(it->second.column) + ": ";
}

bool YamlToProto(std::string_view text, const std::string& filename,
                 google::protobuf::Message* message, YamlConversion* result) {
  message->Clear();
  result->filename = filename;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    result->errors.push_back(filename + ":" + std::to_string(e.mark.line + 1) +
                             ":" + std::to_string(e.mark.column + 1) +
                             ": invalid YAML: " + e.msg);
    return false;
  }
  try {
    if (root.IsNull() || !root.IsDefined()) return true;  // empty file
    Converter(result).ConvertMessage(root, message, "");
  } catch (const YAML::Exception& e) {
    result->errors.push_back(filename + ": " + e.what());
  }
  return result->errors.empty();
}

std::string DidYouMean(std::string_view word,
                       const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const std::string& c : candidates) {
    std::vector<size_t> prev(c.size() + 1), cur(c.size() + 1);
    for (size_t j = 0; j <= c.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= word.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= c.size(); ++j) {
        const size_t sub =
            prev[j - 1] + (std::tolower(word[i - 1]) != std::tolower(c[j - 1]));
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      }
      std::swap(prev, cur);
    }
    if (prev[c.size()] < best_distance) {
      best_distance = prev[c.size()];
      best = c;
    }
  }
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  return best_distance <= limit ? best : "";
}

}  // namespace ml_exporter::config
