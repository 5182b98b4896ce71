// Making label values that come from data safe to export.
#ifndef ML_EXPORTER_CORE_LABEL_VALUE_H_
#define ML_EXPORTER_CORE_LABEL_VALUE_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ml_exporter::internal {

// The label value every capped label set overflows into.
inline constexpr std::string_view kOverflowLabel = "__other__";

// `raw` as valid UTF-8 (invalid bytes become U+FFFD) and at most
// `max_bytes` long, cut at a character boundary.
std::string SanitizeLabelValue(std::string_view raw, size_t max_bytes);

// Number of UTF-8 characters (code points) in `s`; invalid bytes count one
// each.
size_t Utf8Length(std::string_view s);

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    return std::hash<std::string_view>{}(s);
  }
};
struct StringEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    return a == b;
  }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, StringEq>;

// Interns strings to dense ids, at most `cap` of them; every later string
// maps to one overflow id whose name is "__other__". Thread-safe.
class CappedInterner {
 public:
  CappedInterner(size_t cap, size_t max_label_length)
      : cap_(cap), max_label_length_(max_label_length) {}

  struct Result {
    uint32_t id;
    bool overflow;  // the string was not admitted
  };
  Result Intern(std::string_view s);

  // Names of ids [0, n), in id order (sanitized label values).
  std::vector<std::string> Names() const;
  // The name of one id returned by Intern.
  std::string Name(uint32_t id) const;
  size_t size() const;
  bool full() const;

 private:
  const size_t cap_;
  const size_t max_label_length_;
  mutable std::mutex mu_;
  StringMap<uint32_t> ids_;  // raw string -> id
  std::vector<std::string> names_;
  uint32_t overflow_id_ = UINT32_MAX;
};

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_CORE_LABEL_VALUE_H_
