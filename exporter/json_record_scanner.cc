#include "exporter/json_record_scanner.h"

#include <emmintrin.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "exporter/json_member_grammar.h"
#include "exporter/json_token_scanner.h"

namespace ml_exporter::internal {
namespace {

// Integers with more digits may not fit in int64 (simdjson then makes them
// unsigned or rejects them): left to the DOM decoder.
constexpr size_t kMaxIntegerDigits = 18;

// kEndsWithStop: the text's last byte is neither a digit nor white space,
// so a run of either stops before the end and its loop needs no bounds
// check (the common case: a record ends with '}').
template <bool kEndsWithStop>
class Scanner {
 public:
  explicit Scanner(std::string_view text)
      : p_(text.data()), end_(text.data() + text.size()) {}

  const char* position() const { return p_; }

  void SkipSpace() {
    // Records are mostly written without white space: one compare.
    if (p_ >= end_ || static_cast<unsigned char>(*p_) > ' ') return;
    const char* q = p_;
    while ((kEndsWithStop || q < end_) &&
           (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t')) {
      ++q;
    }
    p_ = q;
  }

  bool AtEnd() const { return p_ == end_; }

  void Skip() { ++p_; }

  // The next byte after white space, or 0 at the end.
  char Peek() {
    SkipSpace();
    return p_ < end_ ? *p_ : '\0';
  }

  bool Consume(char c) {
    // Compact records have the byte right here: one compare.
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    if (Peek() != c) return false;
    ++p_;
    return true;
  }

  // A string at p_ (the opening quote) made only of printable ASCII without
  // escapes; its contents in `*out`.
  bool String(std::string_view* out) {
    if (p_ >= end_ || *p_ != '"') return false;
    const char* const begin = p_ + 1;
    const char* q = begin;
    // Sixteen bytes at a time while they are inside the text: stop at a
    // quote, a backslash, a control character or a non-ASCII byte (the
    // signed compare catches both of the latter).
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end_ - q >= 16) {
      const __m128i chunk =
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
      const __m128i stop =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(chunk, quote),
                                    _mm_cmpeq_epi8(chunk, backslash)),
                       _mm_cmplt_epi8(chunk, space));
      const int mask = _mm_movemask_epi8(stop);
      if (mask != 0) {
        p_ = q + __builtin_ctz(static_cast<unsigned>(mask));
        return EndString(begin, out);
      }
      q += 16;
    }
    while (q < end_) {
      const auto c = static_cast<unsigned char>(*q);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) {
        p_ = q;
        return EndString(begin, out);
      }
      ++q;
    }
    p_ = q;
    return false;
  }

  // A number at p_, converted as simdjson converts it. Works on a local
  // cursor (see Digits).
  bool Number(double* out) {
    const char* const begin = p_;
    const char* q = p_;
    bool negative = false;
    if (q < end_ && *q == '-') {
      negative = true;
      ++q;
    }
    const char* const digits = q;
    // All significant digits (integer and fraction) as one integer; only
    // meaningful while there are at most 19 of them.
    uint64_t mantissa = 0;
    q = Digits(q, &mantissa);
    const size_t digit_count = static_cast<size_t>(q - digits);
    if (digit_count == 0 || (digit_count > 1 && *digits == '0')) return false;
    bool is_float = false;
    size_t fraction_digits = 0;
    if (q < end_ && *q == '.') {
      is_float = true;
      const char* const fraction = ++q;
      q = Digits(q, &mantissa);
      fraction_digits = static_cast<size_t>(q - fraction);
      if (fraction_digits == 0) return false;
    }
    bool has_exponent = false;
    int64_t exponent_value = 0;
    if (q < end_ && (*q == 'e' || *q == 'E')) {
      is_float = true;
      has_exponent = true;
      ++q;
      bool exponent_negative = false;
      if (q < end_ && (*q == '+' || *q == '-')) {
        exponent_negative = *q == '-';
        ++q;
      }
      const char* const exponent = q;
      while (q < end_ && IsDigit(*q)) {
        if (exponent_value < 100000) {
          exponent_value = exponent_value * 10 + (*q - '0');
        }
        ++q;
      }
      if (q == exponent) return false;
      if (exponent_negative) exponent_value = -exponent_value;
    }
    p_ = q;
    if (!is_float) {
      // simdjson: an int64, then converted to double by get_double.
      if (digit_count > kMaxIntegerDigits) return false;
      const auto magnitude = static_cast<int64_t>(mantissa);
      *out = static_cast<double>(negative ? -magnitude : magnitude);
      return true;
    }
    // Clinger's fast path, as simdjson takes it: a mantissa below 2^53 and
    // a power of ten up to 22 are exact doubles, so one multiplication or
    // division rounds correctly.
    const int64_t power =
        exponent_value - static_cast<int64_t>(fraction_digits);
    if (digit_count + fraction_digits <= 19 &&
        mantissa <= (uint64_t{1} << 53) && power >= -22 && power <= 22 &&
        (mantissa != 0 || !has_exponent)) {
      static constexpr double kPowers[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,
                                           1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                           1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
                                           1e18, 1e19, 1e20, 1e21, 1e22};
      double value = static_cast<double>(mantissa);
      value = power < 0 ? value / kPowers[-power] : value * kPowers[power];
      *out = negative ? -value : value;
      return true;
    }
    // Both simdjson and from_chars round correctly; leave the cases where
    // they could differ (overflow, underflow to zero or subnormals) to the
    // DOM decoder.
    double value;
    const auto [ptr, ec] = std::from_chars(begin, p_, value);
    if (ec != std::errc() || ptr != p_) return false;
    if (value == 0 ? has_exponent
                   : !(std::abs(value) >= 2.2250738585072014e-308)) {
      return false;
    }
    *out = value;
    return true;
  }

  bool Literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
      return false;
    }
    p_ += word.size();
    return true;
  }

 private:
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

  // Decimal digits from `q` appended to `*mantissa` (which wraps past 19
  // digits; callers check the count); returns the first byte after them.
  // Loops run on local cursors: p_ is a member, and char reads may alias
  // it, so a loop on p_ would store it at every byte. (Eight digits at a
  // time, SWAR, cost more here: record numbers have 1 - 6 digits a part.)
  const char* Digits(const char* q, uint64_t* mantissa) const {
    // A run that starts before the end stops before it when the text ends
    // with a stop byte; one that would start at the end is empty.
    if (kEndsWithStop && q >= end_) return q;
    uint64_t m = *mantissa;
    while ((kEndsWithStop || q < end_) && IsDigit(*q)) {
      m = m * 10 + static_cast<uint64_t>(*q - '0');
      ++q;
    }
    *mantissa = m;
    return q;
  }

  bool EndString(const char* begin, std::string_view* out) {
    if (*p_ != '"') return false;  // escape, control or non-ASCII byte
    *out = std::string_view(begin, static_cast<size_t>(p_ - begin));
    ++p_;
    return true;
  }

  const char* p_;
  const char* const end_;
};

bool EndsWithStop(std::string_view text) {
  if (text.empty()) return false;
  const char last = text.back();
  return !(last >= '0' && last <= '9') && last != ' ' && last != '\n' &&
         last != '\r' && last != '\t';
}

template <bool kEndsWithStop>
bool ScanWhole(std::string_view text, Record* record) {
  Scanner<kEndsWithStop> s(text);
  if (!json_grammar::ScanMembers(s, record)) return false;
  s.SkipSpace();
  return s.AtEnd();
}

template <bool kEndsWithStop>
bool ScanPrefix(std::string_view text, Record* record, size_t* end) {
  Scanner<kEndsWithStop> s(text);
  if (!json_grammar::ScanMembers(s, record)) return false;
  *end = static_cast<size_t>(s.position() - text.data());
  return true;
}

}  // namespace

bool ScanJsonRecord(std::string_view text, Record* record) {
  static const bool tokens = JsonTokenScannerAvailable();
  if (tokens && text.size() <= kMaxTokenScanText &&
      ScanJsonRecordByTokens(text, record)) {
    return true;
  }
  return ScanJsonRecordByBytes(text, record);
}

bool ScanJsonRecordByBytes(std::string_view text, Record* record) {
  return EndsWithStop(text) ? ScanWhole<true>(text, record)
                            : ScanWhole<false>(text, record);
}

bool ScanJsonNumber(std::string_view text, double* out) {
  Scanner<false> s(text);
  return s.Number(out) && s.AtEnd();
}

bool ScanJsonRecordPrefix(std::string_view text, Record* record, size_t* end) {
  return EndsWithStop(text) ? ScanPrefix<true>(text, record, end)
                            : ScanPrefix<false>(text, record, end);
}

}  // namespace ml_exporter::internal
