#include "exporter/json_syntax.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <vector>

#include "ml_exporter/ingest.h"

namespace ml_exporter::internal {
namespace {

// Decimal exponent of the leading digit of a JSON number (saturated): enough
// to tell an overflow (about +308) from an underflow (about -324).
long Exponent10(std::string_view n) {
  size_t i = n[0] == '-' ? 1 : 0;
  long e = 0;
  if (n[i] != '0') {
    for (e = -1; i < n.size() && std::isdigit(static_cast<unsigned char>(n[i]));
         ++i) {
      ++e;
    }
  } else if (i + 1 < n.size() && n[i + 1] == '.') {
    for (i += 2, e = -1; i < n.size() && n[i] == '0'; ++i) --e;
  }
  if (const size_t x = n.find_first_of("eE"); x != std::string_view::npos) {
    size_t j = x + 1;
    const bool negative = n[j] == '-';
    if (n[j] == '+' || n[j] == '-') ++j;
    long v = 0;
    for (; j < n.size(); ++j) v = std::min(v * 10 + (n[j] - '0'), 100000L);
    e += negative ? -v : v;
  }
  return e;
}

// The value of the four hex digits at s[pos], or -1.
long Hex4(std::string_view s, size_t pos) {
  if (pos + 4 > s.size()) return -1;
  long v = 0;
  for (size_t k = pos; k < pos + 4; ++k) {
    const auto c = static_cast<unsigned char>(s[k]);
    if (!std::isxdigit(c)) return -1;
    v = v * 16 + (std::isdigit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return v;
}

class Scanner {
 public:
  Scanner(std::string_view text, size_t max_depth)
      : s_(text), max_depth_(max_depth) {}

  bool Run(JsonSyntaxError* error) {
    SkipSpace();
    if (!Value(0)) {
      *error = error_;
      return true;
    }
    SkipSpace();
    if (pos_ != s_.size()) {
      Fail("end of input after the top-level value");
      *error = error_;
      return true;
    }
    return false;
  }

 private:
  bool Fail(const char* expected) {
    error_.offset = pos_;
    error_.expected = expected;
    return false;
  }
  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' ||
                                s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return Fail("a JSON value");
    pos_ += word.size();
    return true;
  }
  bool Value(size_t depth) {
    if (pos_ >= s_.size()) return Fail("a JSON value");
    switch (s_[pos_]) {
      case '{':
        return Object(depth + 1);
      case '[':
        return Array(depth + 1);
      case '"':
        return String();
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Number();
    }
  }
  bool Object(size_t depth) {
    if (depth > max_depth_) return Fail("less deeply nested arrays/objects");
    ++pos_;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') {
        return Fail("a string key in double quotes");
      }
      if (!String()) return false;
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') {
        return Fail("':' after an object key");
      }
      ++pos_;
      SkipSpace();
      if (!Value(depth)) return false;
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return Fail("',' or '}' after an object member");
    }
  }
  bool Array(size_t depth) {
    if (depth > max_depth_) return Fail("less deeply nested arrays/objects");
    ++pos_;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      SkipSpace();
      if (!Value(depth)) return false;
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return Fail("',' or ']' after an array element");
    }
  }
  bool String() {
    ++pos_;
    while (pos_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return Fail("no control characters inside a string");
      if (c == '\\') {
        ++pos_;
        if (pos_ >= s_.size()) break;
        const char e = s_[pos_];
        if (e == 'u') {
          for (int k = 1; k <= 4; ++k) {
            if (pos_ + k >= s_.size() ||
                !std::isxdigit(static_cast<unsigned char>(s_[pos_ + k]))) {
              pos_ += k;
              return Fail("four hex digits after \\u");
            }
          }
          // simdjson, like RFC 8259 in spirit, wants UTF-16 surrogates in
          // pairs.
          const long unit = Hex4(s_, pos_ + 1);
          const size_t escape = pos_ - 1;
          pos_ += 5;
          if (unit >= 0xDC00 && unit <= 0xDFFF) {
            pos_ = escape;
            return Fail("no lone low surrogate (\\uDC00-\\uDFFF)");
          }
          if (unit >= 0xD800 && unit <= 0xDBFF) {
            const long low =
                pos_ + 1 < s_.size() && s_[pos_] == '\\' && s_[pos_ + 1] == 'u'
                    ? Hex4(s_, pos_ + 2)
                    : -1;
            if (low < 0xDC00 || low > 0xDFFF) {
              return Fail("a low surrogate \\uDC00-\\uDFFF after a high one");
            }
            pos_ += 6;
          }
          continue;
        }
        if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return Fail("a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u)");
        }
        ++pos_;
        continue;
      }
      if (c >= 0x80) {
        size_t len = (c & 0xE0) == 0xC0   ? 2
                     : (c & 0xF0) == 0xE0 ? 3
                     : (c & 0xF8) == 0xF0 ? 4
                                          : 0;
        if (len == 0 || pos_ + len > s_.size()) return Fail("valid UTF-8");
        uint32_t cp = c & (0x7F >> len);
        for (size_t k = 1; k < len; ++k) {
          const auto cc = static_cast<unsigned char>(s_[pos_ + k]);
          if ((cc & 0xC0) != 0x80) return Fail("valid UTF-8");
          cp = (cp << 6) | (cc & 0x3F);
        }
        static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
          return Fail("valid UTF-8");
        }
        pos_ += len;
        continue;
      }
      ++pos_;
    }
    return Fail("a closing '\"' before the end of input");
  }
  bool Digits() {
    const size_t start = pos_;
    while (pos_ < s_.size() &&
           std::isdigit(static_cast<unsigned char>(s_[pos_])))
      ++pos_;
    return pos_ > start;
  }
  bool Number() {
    const size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size()) return Fail("a JSON value");
    if (s_[pos_] == '0') {
      ++pos_;
    } else if (!Digits()) {
      return Fail(
          "a JSON value (object, array, string, number, true, false or null)");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (!Digits()) return Fail("digits after the decimal point");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!Digits()) return Fail("digits in the exponent");
    }
    return InRange(start);
  }
  // simdjson keeps integers as int64 or uint64 and other numbers as double,
  // and rejects numbers that fit neither.
  bool InRange(size_t start) {
    const std::string_view n = s_.substr(start, pos_ - start);
    const char* first = n.data();
    const char* last = n.data() + n.size();
    std::errc ec;
    if (n.find_first_of(".eE") == std::string_view::npos) {
      int64_t i;
      uint64_t u;
      ec = n[0] == '-' ? std::from_chars(first, last, i).ec
                       : std::from_chars(first, last, u).ec;
      if (ec == std::errc::result_out_of_range) {
        pos_ = start;
        return Fail("an integer from -2^63 to 2^64-1");
      }
    } else {
      double d;
      ec = std::from_chars(first, last, d).ec;
      if (ec == std::errc::result_out_of_range && Exponent10(n) > 0) {
        pos_ = start;
        return Fail("a number within the range of a double");
      }
    }
    return true;
  }

  std::string_view s_;
  size_t max_depth_;
  size_t pos_ = 0;
  JsonSyntaxError error_;
};

}  // namespace

bool FindJsonSyntaxError(std::string_view text, JsonSyntaxError* error,
                         size_t max_depth) {
  return Scanner(text, max_depth).Run(error);
}

std::string DescribeJsonSyntaxError(std::string_view text,
                                    const JsonSyntaxError& error) {
  const TextPosition p = PositionOf(text, error.offset);
  std::string found;
  if (error.offset >= text.size()) {
    found = "end of input";
  } else {
    const auto c = static_cast<unsigned char>(text[error.offset]);
    if (c >= 0x20 && c < 0x7F) {
      found = "'";
      found += static_cast<char>(c);
      found += "'";
    } else {
      char buf[16];
      std::snprintf(buf, sizeof buf, "byte 0x%02X", c);
      found = buf;
    }
  }
  return "line " + std::to_string(p.line) + ", column " +
         std::to_string(p.column) + " (byte " + std::to_string(error.offset) +
         "): expected " + error.expected + ", found " + found;
}

static bool ReadInt(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
static int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ParseRfc3339(std::string_view s, double* unix_seconds) {
  int year, month, day, hour, minute, second;
  if (!ReadInt(s, 0, 4, &year) || s.size() < 20 || s[4] != '-' ||
      !ReadInt(s, 5, 2, &month) || s[7] != '-' || !ReadInt(s, 8, 2, &day) ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !ReadInt(s, 11, 2, &hour) || s[13] != ':' ||
      !ReadInt(s, 14, 2, &minute) || s[16] != ':' ||
      !ReadInt(s, 17, 2, &second)) {
    return false;
  }
  const bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 ||
      day > kDays[month - 1] + (month == 2 && leap) || hour > 23 ||
      minute > 59 || second > 60) {
    return false;
  }
  size_t pos = 19;
  double fraction = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    double scale = 0.1;
    const size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      fraction += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return false;
  }
  int offset_seconds = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!ReadInt(s, pos + 1, 2, &oh) || pos + 3 >= s.size() ||
        s[pos + 3] != ':' || !ReadInt(s, pos + 4, 2, &om) || oh > 23 ||
        om > 59) {
      return false;
    }
    offset_seconds = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  const int64_t days = DaysFromCivil(year, static_cast<unsigned>(month),
                                     static_cast<unsigned>(day));
  *unix_seconds = static_cast<double>(days * 86400 + hour * 3600 + minute * 60 +
                                      second - offset_seconds) +
                  fraction;
  return true;
}

}  // namespace ml_exporter::internal
