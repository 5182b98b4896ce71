#include "ml_exporter/collector_params.h"

#include <google/protobuf/struct.pb.h>

#include <cmath>
#include <cstdio>

namespace ml_exporter {

struct CollectorParams::Impl {
  google::protobuf::Struct params;
};

CollectorParams::CollectorParams() : impl_(std::make_unique<Impl>()) {}
CollectorParams::~CollectorParams() = default;

namespace {

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

std::string Format(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

Status CollectorParams::Parse(std::string_view serialized,
                              const std::set<std::string>& known,
                              std::unique_ptr<CollectorParams>* out) {
  std::unique_ptr<CollectorParams> p(new CollectorParams());
  if (!serialized.empty() &&
      !p->impl_->params.ParseFromArray(serialized.data(),
                                       static_cast<int>(serialized.size()))) {
    return Status::InvalidArgument("params are not a valid Struct");
  }
  for (const auto& [name, value] : p->impl_->params.fields()) {
    if (known.count(name)) continue;
    std::string message = "unknown parameter \"" + name + "\"";
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
      message += known.empty() ? "; this collector takes no parameters"
                               : "; known parameters: " + list;
    }
    return Status::InvalidArgument(message);
  }
  *out = std::move(p);
  return Status::Ok();
}

bool CollectorParams::Has(std::string_view name) const {
  return impl_->params.fields().count(std::string(name)) > 0;
}

double CollectorParams::Number(std::string_view name, double fallback,
                               double min, double max) {
  auto it = impl_->params.fields().find(std::string(name));
  if (it == impl_->params.fields().end()) return fallback;
  if (it->second.kind_case() != google::protobuf::Value::kNumberValue) {
    if (status_.ok()) {
      status_ = Status::InvalidArgument("parameter \"" + std::string(name) +
                                        "\" must be a number");
    }
    return fallback;
  }
  const double v = it->second.number_value();
  if (!(v >= min && v <= max)) {
    if (status_.ok()) {
      status_ = Status::InvalidArgument(
          "parameter \"" + std::string(name) + "\" is " + Format(v) +
          ", must be between " + Format(min) + " and " + Format(max));
    }
    return fallback;
  }
  return v;
}

std::string CollectorParams::String(std::string_view name,
                                    std::string fallback) {
  auto it = impl_->params.fields().find(std::string(name));
  if (it == impl_->params.fields().end()) return fallback;
  if (it->second.kind_case() != google::protobuf::Value::kStringValue) {
    if (status_.ok()) {
      status_ = Status::InvalidArgument("parameter \"" + std::string(name) +
                                        "\" must be a string");
    }
    return fallback;
  }
  return it->second.string_value();
}

bool CollectorParams::Bool(std::string_view name, bool fallback) {
  auto it = impl_->params.fields().find(std::string(name));
  if (it == impl_->params.fields().end()) return fallback;
  if (it->second.kind_case() != google::protobuf::Value::kBoolValue) {
    if (status_.ok()) {
      status_ = Status::InvalidArgument("parameter \"" + std::string(name) +
                                        "\" must be true or false");
    }
    return fallback;
  }
  return it->second.bool_value();
}

std::vector<std::string> CollectorParams::StringList(
    std::string_view name, std::vector<std::string> fallback) {
  auto it = impl_->params.fields().find(std::string(name));
  if (it == impl_->params.fields().end()) return fallback;
  std::vector<std::string> out;
  const auto& v = it->second;
  if (v.kind_case() == google::protobuf::Value::kStringValue) {
    return {v.string_value()};
  }
  bool ok = v.kind_case() == google::protobuf::Value::kListValue;
  if (ok) {
    for (const auto& item : v.list_value().values()) {
      if (item.kind_case() != google::protobuf::Value::kStringValue) {
        ok = false;
        break;
      }
      out.push_back(item.string_value());
    }
  }
  if (!ok) {
    if (status_.ok()) {
      status_ = Status::InvalidArgument("parameter \"" + std::string(name) +
                                        "\" must be a list of strings");
    }
    return fallback;
  }
  return out;
}

}  // namespace ml_exporter
