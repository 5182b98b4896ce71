#include "exporter/json_token_scanner.h"

#include <immintrin.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <vector>

#include "exporter/json_record_scanner.h"
#include "exporter/json_syntax.h"
#include "ml_exporter/record.h"

namespace ml_exporter::internal {

bool JsonTokenScannerAvailable() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vbmi2") &&
           __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("pclmul") &&
           __builtin_cpu_supports("popcnt");
  }();
  return has;
}

}  // namespace ml_exporter::internal

// Everything below is compiled for AVX-512 (GCC's target pragma, clang's
// attribute pragma: the fuzz build uses clang) and only run when
// JsonTokenScannerAvailable(). Every standard and project header is
// included above, so that no inline function of theirs is compiled for
// this target here (the linker could otherwise keep this copy for all
// callers); the grammar header is included inside on purpose.
// clang-format off
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi2,bmi,bmi2,pclmul,popcnt"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vbmi2,bmi,bmi2,pclmul,popcnt")
#endif
// clang-format on

#include "exporter/json_member_grammar.h"

namespace ml_exporter::internal {
namespace {

// Index entries are offsets into the text; a block may write 64 entries
// past the last one it keeps.
constexpr size_t kIndexCapacity = kMaxTokenScanText + 64;
static_assert(kIndexCapacity <= 65536, "offsets are 16 bits");

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Bit i set when prefix-xor of `bits` up to and including bit i is 1: the
// bytes from an opening quote up to (not including) its closing one.
uint64_t PrefixXor(uint64_t bits) {
  const __m128i all_ones = _mm_set1_epi8(static_cast<char>(0xFF));
  const __m128i product = _mm_clmulepi64_si128(
      _mm_set_epi64x(0, static_cast<int64_t>(bits)), all_ones, 0);
  return static_cast<uint64_t>(_mm_cvtsi128_si64(product));
}

// Fills `index` with the offsets of `text`'s structural bytes in order:
// each { } [ ] : , outside strings, both quotes of each string, and the
// first byte of each other value (a number, true, false or null: a run of
// bytes that are none of those nor white space). `*count` is how many.
// False when the text has a byte the walk below does not handle: a
// backslash or a non-ASCII byte anywhere, a control character in a string
// or one other than white space outside, or a string left open at the end.
// Those texts go to the byte scanner, which declines or reads them.
bool IndexStructure(std::string_view text, uint16_t* index, size_t* count) {
  // Character classes by nibble (as simdjson classifies): the AND of the
  // two lookups has bit 1 for ',', 2 for ':', 4 for [ ] { }, 8 for space
  // and 16 for tab, newline and carriage return. Each class's low and
  // high nibbles combine only into its own characters.
  alignas(64) static constexpr uint8_t kLowNibbleClass[64] = {
#define ML_EXPORTER_LOW_NIBBLE_CLASS \
  8, 0, 0, 0, 0, 0, 0, 0, 0, 16, 2 | 16, 4, 1, 4 | 16, 0, 0
      ML_EXPORTER_LOW_NIBBLE_CLASS, ML_EXPORTER_LOW_NIBBLE_CLASS,
      ML_EXPORTER_LOW_NIBBLE_CLASS, ML_EXPORTER_LOW_NIBBLE_CLASS};
#undef ML_EXPORTER_LOW_NIBBLE_CLASS
  alignas(64) static constexpr uint8_t kHighNibbleClass[64] = {
#define ML_EXPORTER_HIGH_NIBBLE_CLASS \
  16, 0, 1 | 8, 2, 0, 4, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0
      ML_EXPORTER_HIGH_NIBBLE_CLASS, ML_EXPORTER_HIGH_NIBBLE_CLASS,
      ML_EXPORTER_HIGH_NIBBLE_CLASS, ML_EXPORTER_HIGH_NIBBLE_CLASS};
#undef ML_EXPORTER_HIGH_NIBBLE_CLASS
  // (Loaded from memory: GCC 12 warns on _mm512_broadcast_i32x4.)
  const __m512i low_nibble_class = _mm512_load_si512(kLowNibbleClass);
  const __m512i high_nibble_class = _mm512_load_si512(kHighNibbleClass);
  const __m512i low_four_bits = _mm512_set1_epi8(0x0F);
  const __m512i punctuation_classes = _mm512_set1_epi8(1 | 2 | 4);
  const __m512i space_classes = _mm512_set1_epi8(8 | 16);
  const __m512i quote_byte = _mm512_set1_epi8('"');
  const __m512i backslash_byte = _mm512_set1_epi8('\\');
  const __m512i first_printable = _mm512_set1_epi8(0x20);
  alignas(64) static constexpr uint8_t kOffsets[64] = {
      0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
      16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
      32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
      48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63};
  const __m512i offsets = _mm512_load_si512(kOffsets);

  const char* const data = text.data();
  const size_t size = text.size();
  uint64_t in_string_carry = 0;  // all ones while a string continues
  uint64_t scalar_carry = 0;     // 1 when the last byte was in a value run
  uint64_t unhandled = 0;
  uint16_t* out = index;
  for (size_t base = 0; base < size; base += 64) {
    const size_t left = size - base;
    const uint64_t valid =
        left >= 64 ? ~uint64_t{0} : (uint64_t{1} << left) - 1;
    // Masked: never reads past the text (masked bytes do not fault).
    const __m512i bytes = _mm512_maskz_loadu_epi8(valid, data + base);
    const __m512i classes = _mm512_and_si512(
        _mm512_shuffle_epi8(low_nibble_class, bytes),
        _mm512_shuffle_epi8(
            high_nibble_class,
            _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low_four_bits)));
    const uint64_t punctuation =
        _mm512_test_epi8_mask(classes, punctuation_classes);
    const uint64_t space = _mm512_test_epi8_mask(classes, space_classes);
    const uint64_t quote = _mm512_cmpeq_epi8_mask(bytes, quote_byte);
    const uint64_t backslash = _mm512_cmpeq_epi8_mask(bytes, backslash_byte);
    const uint64_t non_ascii = _mm512_movepi8_mask(bytes);
    const uint64_t control =
        _mm512_cmplt_epu8_mask(bytes, first_printable) & valid;
    const uint64_t in_string = PrefixXor(quote) ^ in_string_carry;
    in_string_carry =
        static_cast<uint64_t>(static_cast<int64_t>(in_string) >> 63);
    unhandled |= backslash | non_ascii | (control & (in_string | ~space));
    const uint64_t scalar = valid & ~(in_string | quote | punctuation | space);
    const uint64_t scalar_start = scalar & ~((scalar << 1) | scalar_carry);
    scalar_carry = scalar >> 63;
    const uint64_t structural =
        (punctuation & ~in_string) | quote | scalar_start;
    // The offsets of the set bits, packed, widened to 16 bits and stored
    // whole (64 entries); the count moves on by the number kept.
    const __m512i packed = _mm512_maskz_compress_epi8(structural, offsets);
    const __m512i block = _mm512_set1_epi16(static_cast<int16_t>(base));
    _mm512_storeu_si512(
        out,
        _mm512_add_epi16(_mm512_cvtepu8_epi16(
                             _mm512_maskz_extracti64x4_epi64(0xF, packed, 0)),
                         block));
    _mm512_storeu_si512(
        out + 32,
        _mm512_add_epi16(_mm512_cvtepu8_epi16(
                             _mm512_maskz_extracti64x4_epi64(0xF, packed, 1)),
                         block));
    out += _mm_popcnt_u64(structural);
  }
  *count = static_cast<size_t>(out - index);
  return unhandled == 0 && in_string_carry == 0;
}

// A number of `size` bytes (at least one) at `p`, converted exactly as
// the byte scanner converts it: the common forms (an optional minus,
// digits, an optional fraction, 16 digits at most) without a loop, the
// rest by the byte scanner.
ML_EXPORTER_GRAMMAR_INLINE bool NumberText(const char* p, size_t size,
                                           double* out) {
  if (size > 16) return ScanJsonNumber(std::string_view(p, size), out);
  const auto valid = static_cast<__mmask16>((1u << size) - 1);
  const __m128i bytes = _mm_maskz_loadu_epi8(valid, p);
  const __m128i values = _mm_sub_epi8(bytes, _mm_set1_epi8('0'));
  const uint32_t digits =
      _mm_mask_cmplt_epu8_mask(valid, values, _mm_set1_epi8(10));
  const uint32_t dot =
      _mm_mask_cmpeq_epi8_mask(valid, bytes, _mm_set1_epi8('.'));
  const uint32_t negative = p[0] == '-' ? 1 : 0;
  if ((digits | dot | negative) != valid || (dot & (dot - 1)) != 0) {
    // An exponent, a sign that is not a leading minus, two dots or
    // anything else: the byte scanner converts or declines it.
    return ScanJsonNumber(std::string_view(p, size), out);
  }
  const uint32_t dot_at = dot != 0 ? static_cast<uint32_t>(__builtin_ctz(dot))
                                   : static_cast<uint32_t>(size);
  const uint32_t integer_digits = dot_at - negative;
  const uint32_t fraction_digits =
      dot != 0 ? static_cast<uint32_t>(size) - dot_at - 1 : 0;
  // As the byte scanner: no digits, a leading zero, or nothing after the
  // dot is not a JSON number.
  if (integer_digits == 0 || (integer_digits > 1 && p[negative] == '0') ||
      (dot != 0 && fraction_digits == 0)) {
    return false;
  }
  // The digits packed together and moved to the end of the vector (leading
  // zeros), then combined pairwise: 16 digits -> 8 -> 4 -> 2 numbers.
  const uint32_t digit_count = integer_digits + fraction_digits;
  const __m128i packed = _mm_maskz_compress_epi8(digits, values);
  const __m128i aligned = _mm_maskz_expand_epi8(
      static_cast<__mmask16>(0xFFFFu << (16 - digit_count)), packed);
  const __m128i pairs = _mm_maddubs_epi16(
      aligned,
      _mm_setr_epi8(10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1));
  const __m128i fours =
      _mm_madd_epi16(pairs, _mm_setr_epi16(100, 1, 100, 1, 100, 1, 100, 1));
  const __m128i fours16 = _mm_packus_epi32(fours, fours);
  const __m128i eights = _mm_madd_epi16(
      fours16, _mm_setr_epi16(10000, 1, 10000, 1, 10000, 1, 10000, 1));
  const uint64_t high = static_cast<uint32_t>(_mm_cvtsi128_si32(eights));
  const uint64_t low = static_cast<uint32_t>(_mm_extract_epi32(eights, 1));
  const uint64_t mantissa = high * 100000000u + low;
  if (dot == 0) {
    // simdjson: an int64, then converted to double.
    const auto magnitude = static_cast<int64_t>(mantissa);
    *out = static_cast<double>(negative != 0 ? -magnitude : magnitude);
    return true;
  }
  if (mantissa > (uint64_t{1} << 53)) {
    return ScanJsonNumber(std::string_view(p, size), out);
  }
  // Clinger's fast path, as the byte scanner and simdjson take it: both
  // the mantissa and 10^fraction_digits (at most 10^15) are exact doubles,
  // so one division rounds correctly.
  static constexpr double kPowers[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,
                                       1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16};
  const double value = static_cast<double>(mantissa) / kPowers[fraction_digits];
  // The sign set without a branch (value is not negative): a minus is as
  // likely as not in many streams, and a mispredicted branch here waits
  // for the division.
  *out = std::bit_cast<double>(std::bit_cast<uint64_t>(value) |
                               (uint64_t{negative} << 63));
  return true;
}

// The grammar's cursor (json_member_grammar.h) over the structural index:
// each step reads the next entry; white space is never in it.
class TokenCursor {
 public:
  TokenCursor(std::string_view text, const uint16_t* index, size_t count)
      : text_(text.data()),
        size_(text.size()),
        next_(index),
        end_(index + count) {}

  bool AtEnd() const { return next_ == end_; }

  void SkipSpace() {}

  ML_EXPORTER_GRAMMAR_INLINE char Peek() const {
    return next_ < end_ ? text_[*next_] : '\0';
  }

  ML_EXPORTER_GRAMMAR_INLINE void Skip() { ++next_; }

  // `c` is punctuation, so an entry that starts with it is that byte.
  ML_EXPORTER_GRAMMAR_INLINE bool Consume(char c) {
    if (next_ < end_ && text_[*next_] == c) {
      ++next_;
      return true;
    }
    return false;
  }

  // An opening quote's entry is followed by its closing quote's: nothing
  // inside a string is indexed and no string is left open.
  ML_EXPORTER_GRAMMAR_INLINE bool String(std::string_view* out) {
    if (next_ >= end_ || text_[*next_] != '"') return false;
    const size_t open = next_[0];
    const size_t close = next_[1];
    *out = std::string_view(text_ + open + 1, close - open - 1);
    next_ += 2;
    return true;
  }

  ML_EXPORTER_GRAMMAR_INLINE bool Number(double* out) {
    if (next_ >= end_) return false;
    const size_t begin = *next_;
    const size_t end = ValueEnd();
    ++next_;
    return NumberText(text_ + begin, end - begin, out);
  }

  ML_EXPORTER_GRAMMAR_INLINE bool Literal(std::string_view word) {
    if (next_ >= end_) return false;
    const size_t begin = *next_;
    const size_t end = ValueEnd();
    if (end - begin != word.size() ||
        __builtin_memcmp(text_ + begin, word.data(), word.size()) != 0) {
      return false;
    }
    ++next_;
    return true;
  }

 private:
  // The end of the value run at the current entry: the next entry (or the
  // end of the text) less the white space before it. Only value bytes and
  // then white space lie in between: anything else would be indexed.
  ML_EXPORTER_GRAMMAR_INLINE size_t ValueEnd() const {
    const size_t begin = *next_;
    size_t end = next_ + 1 < end_ ? next_[1] : size_;
    while (end > begin + 1 && IsSpace(text_[end - 1])) --end;
    return end;
  }

  const char* const text_;
  const size_t size_;
  const uint16_t* next_;
  const uint16_t* const end_;
};

}  // namespace

bool ScanJsonRecordByTokens(std::string_view text, Record* record) {
  if (text.size() > kMaxTokenScanText) return false;
  uint16_t index[kIndexCapacity];
  size_t count = 0;
  if (!IndexStructure(text, index, &count)) return false;
  TokenCursor s(text, index, count);
  return json_grammar::ScanMembers(s, record) && s.AtEnd();
}

}  // namespace ml_exporter::internal

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
