#include "ml_exporter/status.h"

namespace ml_exporter {

std::string Status::ToString() const {
  switch (code_) {
    case Code::kOk:
      return "OK";
    case Code::kInvalidArgument:
      return "invalid argument: " + message_;
    case Code::kNotFound:
      return "not found: " + message_;
    case Code::kOutOfRange:
      return "out of range: " + message_;
    case Code::kUnavailable:
      return "unavailable: " + message_;
    case Code::kInternal:
      return "internal: " + message_;
  }
  return message_;
}

}  // namespace ml_exporter
