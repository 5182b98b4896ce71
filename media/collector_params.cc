#include "media/collector_params.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "collectors/media_collectors.h"

namespace ml_exporter::media {
namespace {

using google::protobuf::Value;

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min(
          {prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// `what` is `parameter` or `key` (of an object parameter).
Status CheckKnown(const std::string& name,
                  const std::vector<std::string>& known, std::string what,
                  std::string_view where) {
  if (std::find(known.begin(), known.end(), name) != known.end()) {
    return Status::Ok();
  }
  std::string message = "unknown " + what + " \"" + name + "\"";
  if (!where.empty()) message += " in parameter \"" + std::string(where) + "\"";
  std::string best;
  size_t best_distance = 3;
  for (const auto& k : known) {
    const size_t d = EditDistance(name, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  if (!best.empty()) {
    message += "; did you mean \"" + best + "\"?";
  } else {
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    message += "; known: " + list;
  }
  return Status::InvalidArgument(message);
}

std::string Format(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

Status ParamError(std::string_view name, std::string_view message) {
  return Status::InvalidArgument("parameter \"" + std::string(name) + "\" " +
                                 std::string(message));
}

Status MediaParams::Parse(std::string_view serialized,
                          const std::vector<std::string>& known,
                          MediaParams* out) {
  out->fields_.Clear();
  if (!serialized.empty() &&
      !out->fields_.ParseFromArray(serialized.data(),
                                   static_cast<int>(serialized.size()))) {
    return Status::InvalidArgument("params are not a valid Struct");
  }
  for (const auto& [name, value] : out->fields_.fields()) {
    (void)value;
    if (Status s = CheckKnown(name, known, "parameter", ""); !s.ok()) return s;
  }
  return Status::Ok();
}

const Value* MediaParams::Find(std::string_view name) const {
  auto it = fields_.fields().find(std::string(name));
  return it == fields_.fields().end() ? nullptr : &it->second;
}

Status MediaParams::GetNumber(std::string_view name, double min, double max,
                              double* out) const {
  const Value* v = Find(name);
  if (v == nullptr) return Status::Ok();
  if (v->kind_case() != Value::kNumberValue) {
    return ParamError(name, "must be a number");
  }
  const double x = v->number_value();
  if (!(x >= min && x <= max)) {
    return ParamError(name, "is " + Format(x) + ", must be between " +
                                Format(min) + " and " + Format(max));
  }
  *out = x;
  return Status::Ok();
}

Status MediaParams::GetString(std::string_view name, std::string* out) const {
  const Value* v = Find(name);
  if (v == nullptr) return Status::Ok();
  if (v->kind_case() != Value::kStringValue) {
    return ParamError(name, "must be a string");
  }
  *out = v->string_value();
  return Status::Ok();
}

Status MediaParams::GetStringList(std::string_view name,
                                  std::vector<std::string>* out) const {
  const Value* v = Find(name);
  if (v == nullptr) return Status::Ok();
  if (v->kind_case() == Value::kStringValue) {
    *out = {v->string_value()};
    return Status::Ok();
  }
  std::vector<std::string> values;
  bool ok = v->kind_case() == Value::kListValue;
  if (ok) {
    for (const Value& item : v->list_value().values()) {
      if (item.kind_case() != Value::kStringValue) {
        ok = false;
        break;
      }
      values.push_back(item.string_value());
    }
  }
  if (!ok) return ParamError(name, "must be a list of strings");
  *out = std::move(values);
  return Status::Ok();
}

Status MediaParams::GetStringMap(
    std::string_view name, const std::vector<std::string>& known,
    std::map<std::string, std::string>* out) const {
  const Value* v = Find(name);
  if (v == nullptr) return Status::Ok();
  if (v->kind_case() != Value::kStructValue) {
    return ParamError(name, "must be an object (metric: field name)");
  }
  std::map<std::string, std::string> values;
  for (const auto& [key, item] : v->struct_value().fields()) {
    if (Status s = CheckKnown(key, known, "key", name); !s.ok()) return s;
    if (item.kind_case() != Value::kStringValue ||
        item.string_value().empty()) {
      return ParamError(std::string(name) + "." + key,
                        "must be a field name (a non-empty string)");
    }
    values[key] = item.string_value();
  }
  *out = std::move(values);
  return Status::Ok();
}

Status MediaParams::GetEdgesMap(
    std::string_view name, const std::vector<std::string>& known,
    std::map<std::string, std::vector<double>>* out) const {
  const Value* v = Find(name);
  if (v == nullptr) return Status::Ok();
  if (v->kind_case() != Value::kStructValue) {
    return ParamError(name, "must be an object (metric: bucket edges)");
  }
  std::map<std::string, std::vector<double>> values;
  for (const auto& [key, item] : v->struct_value().fields()) {
    if (Status s = CheckKnown(key, known, "key", name); !s.ok()) return s;
    const std::string path = std::string(name) + "." + key;
    if (item.kind_case() != Value::kListValue ||
        item.list_value().values().empty()) {
      return ParamError(path, "must be a non-empty list of bucket edges");
    }
    std::vector<double> edges;
    for (const Value& e : item.list_value().values()) {
      if (e.kind_case() != Value::kNumberValue ||
          !std::isfinite(e.number_value())) {
        return ParamError(path, "must hold finite numbers");
      }
      if (!edges.empty() && e.number_value() <= edges.back()) {
        return ParamError(path, "must be strictly increasing (" +
                                    Format(edges.back()) + " then " +
                                    Format(e.number_value()) + ")");
      }
      edges.push_back(e.number_value());
    }
    values[key] = std::move(edges);
  }
  *out = std::move(values);
  return Status::Ok();
}

}  // namespace ml_exporter::media

namespace ml_exporter {

std::unique_ptr<Collector> CollectorOrError(
    const CollectorContext& context,
    Status (*create)(const CollectorContext&, std::unique_ptr<Collector>*)) {
  std::unique_ptr<Collector> collector;
  if (Status s = create(context, &collector); !s.ok()) {
    if (context.error != nullptr) *context.error = s.message();
    return nullptr;
  }
  return collector;
}

}  // namespace ml_exporter
