#include "exporter/json_record_scanner.h"

#include <emmintrin.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "exporter/json_syntax.h"

namespace ml_exporter::internal {
namespace {

// Deeper values (only possible under unknown keys) are left to the DOM
// decoder.
constexpr int kMaxSkipDepth = 64;

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

  // Any JSON value, checked and discarded.
  bool SkipValue(int depth) {
    if (depth > kMaxSkipDepth) return false;
    std::string_view s;
    double d;
    switch (Peek()) {
      case '"':
        return String(&s);
      case '{':
        ++p_;
        if (Consume('}')) return true;
        do {
          SkipSpace();
          if (!String(&s) || !Consume(':') || !SkipValue(depth + 1)) {
            return false;
          }
        } while (Consume(','));
        return Consume('}');
      case '[':
        ++p_;
        if (Consume(']')) return true;
        do {
          if (!SkipValue(depth + 1)) return false;
        } while (Consume(','));
        return Consume(']');
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Number(&d);
    }
  }

  // A scalar value (not an object or array) as a FieldValue.
  bool Scalar(FieldValue* out) {
    switch (Peek()) {
      case '"': {
        std::string_view s;
        if (!String(&s)) return false;
        *out = FieldValue::String(s);
        return true;
      }
      case 't':
        if (!Literal("true")) return false;
        *out = FieldValue::Bool(true);
        return true;
      case 'f':
        if (!Literal("false")) return false;
        *out = FieldValue::Bool(false);
        return true;
      case 'n':
        if (!Literal("null")) return false;
        *out = FieldValue::Null();
        return true;
      case '{':
      case '[':
        return false;
      default: {
        double d;
        if (!Number(&d)) return false;
        *out = FieldValue::Number(d);
        return true;
      }
    }
  }

  // `"name": value` members of an inputs or outputs object (p_ after the
  // opening brace), as DecodeJsonRecord's GetFields reads them.
  bool Fields(std::vector<FieldValue>* list_items, std::vector<Field>* out) {
    if (Consume('}')) return true;
    do {
      // Filled in place; on failure the record is unspecified anyway.
      Field& f = out->emplace_back();
      SkipSpace();
      if (!String(&f.name) || !Consume(':')) return false;
      if (Peek() == '[') {
        ++p_;
        FieldValue list;
        list.kind = FieldValue::Kind::kList;
        list.list_begin = static_cast<uint32_t>(list_items->size());
        if (!Consume(']')) {
          do {
            FieldValue item;
            if (!Scalar(&item)) return false;
            list_items->push_back(item);
            ++list.list_size;
          } while (Consume(','));
          if (!Consume(']')) return false;
        }
        f.value = list;
      } else if (!Scalar(&f.value)) {
        return false;
      }
    } while (Consume(','));
    return Consume('}');
  }

  bool Null() {
    if (Peek() != 'n') return false;
    return Literal("null");
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

// A string or null member of the record (model, version, ...): null leaves
// `*out` as it is.
template <bool kEndsWithStop>
bool StringOrNull(Scanner<kEndsWithStop>& s, std::string_view* out) {
  if (s.Peek() == 'n') return s.Null();
  return s.String(out);
}

template <bool kEndsWithStop>
bool ScanMembers(Scanner<kEndsWithStop>& s, Record* record) {
  record->Clear();
  if (!s.Consume('{')) return false;
  if (!s.Consume('}')) {
    do {
      std::string_view key;
      s.SkipSpace();
      if (!s.String(&key) || !s.Consume(':')) return false;
      s.SkipSpace();
      bool ok = true;
      switch (key.size()) {
        case 4:
          if (key == "time") {
            const char c = s.Peek();
            if (c == 'n') {
              ok = s.Null();
            } else if (c == '"') {
              std::string_view text;
              ok = s.String(&text) && ParseRfc3339(text, &record->time_seconds);
            } else {
              ok = c != '{' && c != '[' && c != 't' && c != 'f' &&
                   s.Number(&record->time_seconds);
            }
            break;
          }
          ok = s.SkipValue(0);
          break;
        case 5:
          if (key == "model") {
            ok = StringOrNull(s, &record->model);
          } else if (key == "stage") {
            ok = StringOrNull(s, &record->stage);
          } else if (key == "error") {
            const char c = s.Peek();
            if (c == 'n') {
              ok = s.Null();
            } else if (c == 't') {
              ok = s.Literal("true");
              record->error = true;
            } else if (c == 'f') {
              ok = s.Literal("false");
              record->error = false;
            } else {
              ok = false;
            }
          } else if (key == "blobs") {
            if (s.Peek() == 'n') {
              ok = s.Null();
            } else if (s.Consume('{')) {
              if (!s.Consume('}')) {
                do {
                  Blob blob;
                  blob.base64 = true;
                  s.SkipSpace();
                  if (!s.String(&blob.name) || !s.Consume(':')) return false;
                  s.SkipSpace();
                  if (!s.String(&blob.data)) return false;
                  record->blobs.push_back(blob);
                } while (s.Consume(','));
                ok = s.Consume('}');
              }
            } else {
              ok = false;
            }
          } else {
            ok = s.SkipValue(0);
          }
          break;
        case 6:
          if (key == "inputs") {
            if (s.Peek() == 'n') {
              ok = s.Null();
            } else {
              ok = s.Consume('{') &&
                   s.Fields(&record->list_items, &record->inputs);
            }
          } else if (key == "events") {
            return false;  // a wrapper: the DOM path reads those
          } else {
            ok = s.SkipValue(0);
          }
          break;
        case 7:
          if (key == "version") {
            ok = StringOrNull(s, &record->version);
          } else if (key == "outputs") {
            if (s.Peek() == 'n') {
              ok = s.Null();
            } else {
              ok = s.Consume('{') &&
                   s.Fields(&record->list_items, &record->outputs);
            }
          } else if (key == "records") {
            return false;  // a wrapper
          } else {
            ok = s.SkipValue(0);
          }
          break;
        case 10:
          if (key == "request_id") {
            ok = StringOrNull(s, &record->request_id);
          } else if (key == "session_id") {
            ok = StringOrNull(s, &record->session_id);
          } else {
            ok = s.SkipValue(0);
          }
          break;
        case 15:
          if (key == "latency_seconds") {
            const char c = s.Peek();
            if (c == 'n') {
              ok = s.Null();
            } else {
              double latency = 0;
              ok = c != '{' && c != '[' && c != 't' && c != 'f' && c != '"' &&
                   s.Number(&latency) && !(latency < 0);
              record->latency_seconds = latency;
            }
            break;
          }
          ok = s.SkipValue(0);
          break;
        default:
          ok = s.SkipValue(0);
      }
      if (!ok) return false;
    } while (s.Consume(','));
    if (!s.Consume('}')) return false;
  }
  return !record->model.empty();
}

bool EndsWithStop(std::string_view text) {
  if (text.empty()) return false;
  const char last = text.back();
  return !(last >= '0' && last <= '9') && last != ' ' && last != '\n' &&
         last != '\r' && last != '\t';
}

template <bool kEndsWithStop>
bool ScanWhole(std::string_view text, Record* record) {
  Scanner<kEndsWithStop> s(text);
  if (!ScanMembers(s, record)) return false;
  s.SkipSpace();
  return s.AtEnd();
}

template <bool kEndsWithStop>
bool ScanPrefix(std::string_view text, Record* record, size_t* end) {
  Scanner<kEndsWithStop> s(text);
  if (!ScanMembers(s, record)) return false;
  *end = static_cast<size_t>(s.position() - text.data());
  return true;
}

}  // namespace

bool ScanJsonRecord(std::string_view text, Record* record) {
  return EndsWithStop(text) ? ScanWhole<true>(text, record)
                            : ScanWhole<false>(text, record);
}

bool ScanJsonRecordPrefix(std::string_view text, Record* record, size_t* end) {
  return EndsWithStop(text) ? ScanPrefix<true>(text, record, end)
                            : ScanPrefix<false>(text, record, end);
}

}  // namespace ml_exporter::internal
