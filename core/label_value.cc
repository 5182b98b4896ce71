#include "core/label_value.h"

namespace ml_exporter::internal {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t len;
  uint32_t min;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  uint32_t cp = c & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

std::string SanitizeLabelValue(std::string_view raw, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(raw.size(), max_bytes));
  for (size_t i = 0; i < raw.size();) {
    size_t len = Utf8SequenceLength(raw, i);
    std::string_view piece = len ? raw.substr(i, len) : "\xEF\xBF\xBD";
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece);
    i += len ? len : 1;
  }
  return out;
}

size_t Utf8Length(std::string_view s) {
  // ASCII (the common case) is one character a byte.
  size_t ascii = 0;
  while (ascii < s.size() && static_cast<unsigned char>(s[ascii]) < 0x80) {
    ++ascii;
  }
  if (ascii == s.size()) return ascii;
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) {
    size_t len = Utf8SequenceLength(s, i);
    i += len ? len : 1;
  }
  return n;
}

CappedInterner::Result CappedInterner::Intern(std::string_view s) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = ids_.find(s); it != ids_.end()) {
    return {it->second, it->second == overflow_id_};
  }
  if (overflow_id_ == UINT32_MAX && names_.size() < cap_) {
    std::string name = SanitizeLabelValue(s, max_label_length_);
    // Two raw strings can sanitize to one label value: share its id so the
    // exposition never repeats a label set.
    for (uint32_t id = 0; id < names_.size(); ++id) {
      if (names_[id] == name && id != overflow_id_) {
        ids_.emplace(std::string(s), id);
        return {id, false};
      }
    }
    auto id = static_cast<uint32_t>(names_.size());
    names_.push_back(std::move(name));
    ids_.emplace(std::string(s), id);
    return {id, false};
  }
  if (overflow_id_ == UINT32_MAX) {
    // Data may itself have used "__other__"; the overflow then joins it.
    for (uint32_t id = 0; id < names_.size(); ++id) {
      if (names_[id] == kOverflowLabel) overflow_id_ = id;
    }
    if (overflow_id_ == UINT32_MAX) {
      overflow_id_ = static_cast<uint32_t>(names_.size());
      names_.emplace_back(kOverflowLabel);
    }
  }
  return {overflow_id_, true};
}

std::vector<std::string> CappedInterner::Names() const {
  std::lock_guard<std::mutex> lock(mu_);
  return names_;
}

std::string CappedInterner::Name(uint32_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return id < names_.size() ? names_[id] : std::string();
}

size_t CappedInterner::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return names_.size();
}

bool CappedInterner::full() const {
  std::lock_guard<std::mutex> lock(mu_);
  return overflow_id_ != UINT32_MAX;
}

}  // namespace ml_exporter::internal
