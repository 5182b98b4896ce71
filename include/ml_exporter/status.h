// Status: the result of an operation that can fail on user input.
//
// Modelled on leveldb::Status: cheap when OK, carries a code and a message
// that says what was wrong and where otherwise. Never thrown.
#ifndef ML_EXPORTER_STATUS_H_
#define ML_EXPORTER_STATUS_H_

#include <string>
#include <string_view>
#include <utility>

namespace ml_exporter {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // the input is malformed or violates the contract
    kNotFound,
    kOutOfRange,   // a size or count limit was exceeded
    kUnavailable,  // overloaded or shutting down; retry later
    kInternal,
  };

  Status() = default;

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string message) {
    return Status(Code::kInvalidArgument, std::move(message));
  }
  static Status NotFound(std::string message) {
    return Status(Code::kNotFound, std::move(message));
  }
  static Status OutOfRange(std::string message) {
    return Status(Code::kOutOfRange, std::move(message));
  }
  static Status Unavailable(std::string message) {
    return Status(Code::kUnavailable, std::move(message));
  }
  static Status Internal(std::string message) {
    return Status(Code::kInternal, std::move(message));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "OK" or "<code name>: <message>".
  std::string ToString() const;

 private:
  Status(Code code, std::string message)
      : code_(code), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace ml_exporter

#endif  // ML_EXPORTER_STATUS_H_
