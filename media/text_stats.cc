#include "media/text_stats.h"

#include <algorithm>

namespace ml_exporter::media {
namespace {

constexpr char32_t kInvalid = 0xFFFFFFFF;

// Decodes the code point at s[*i] and advances; kInvalid (advancing one
// byte) for an invalid, overlong, surrogate or truncated sequence.
char32_t Next(std::string_view s, size_t* i) {
  const auto c = static_cast<unsigned char>(s[*i]);
  if (c < 0x80) {
    ++*i;
    return c;
  }
  size_t len;
  char32_t min;
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
    ++*i;
    return kInvalid;
  }
  if (*i + len > s.size()) {
    ++*i;
    return kInvalid;
  }
  char32_t cp = c & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[*i + k]);
    if ((cc & 0xC0) != 0x80) {
      ++*i;
      return kInvalid;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++*i;
    return kInvalid;
  }
  *i += len;
  return cp;
}

bool IsSpace(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= '\t' && c <= '\r');
  return c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

bool IsUnknownByDefault(char32_t c) {
  if (c < 0x20) return c != '\t' && c != '\n' && c != '\r';
  if (c < 0x7F) return false;
  if (c <= 0x9F) return true;  // DEL and C1 controls
  if (c == 0xFFFD) return true;
  if (c >= 0xE000 && c <= 0xF8FF) return true;  // private use
  if (c >= 0xF0000) return true;                // planes 15-16: private use
  if (c >= 0xFDD0 && c <= 0xFDEF) return true;  // noncharacters
  return (c & 0xFFFE) == 0xFFFE;                // U+xFFFE, U+xFFFF
}

}  // namespace

Alphabet::Alphabet(std::string_view utf8) {
  for (size_t i = 0; i < utf8.size();) {
    const char32_t c = Next(utf8, &i);
    if (c == kInvalid) continue;
    if (c < 128) {
      ascii_[c >> 6] |= uint64_t{1} << (c & 63);
    } else {
      others_.push_back(c);
    }
  }
  std::sort(others_.begin(), others_.end());
  others_.erase(std::unique(others_.begin(), others_.end()), others_.end());
}

bool Alphabet::Contains(char32_t c) const {
  if (c < 128) return (ascii_[c >> 6] >> (c & 63)) & 1;
  return std::binary_search(others_.begin(), others_.end(), c);
}

TextStats AnalyzeText(std::string_view text, const Alphabet* alphabet) {
  TextStats stats;
  bool in_token = false;
  for (size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    char32_t c;
    if (byte < 0x80) {  // the common case, without the decoder
      c = byte;
      ++i;
    } else {
      c = Next(text, &i);
      ++stats.non_ascii;
    }
    ++stats.characters;
    const bool space = c != kInvalid && IsSpace(c);
    if (!space && !in_token) ++stats.tokens;
    in_token = !space;
    if (c == kInvalid) {
      ++stats.unknown;
    } else if (space) {
      // Whitespace separates tokens; it is never unknown.
    } else if (alphabet != nullptr) {
      stats.unknown += !alphabet->Contains(c);
    } else {
      stats.unknown += IsUnknownByDefault(c);
    }
  }
  return stats;
}

}  // namespace ml_exporter::media
