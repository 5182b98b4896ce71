#include "exporter/protobuf_record_scanner.h"

#include <emmintrin.h>
#include <google/protobuf/stubs/common.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/string_index.h"

namespace ml_exporter::internal {
namespace {

// Wire types of the protobuf encoding.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t kFixed32 = 5;

// What is wrong with one google.protobuf.Value, in the terms of the
// messages of record_decoder.cc's GetProtoValue.
enum class ValueProblem : uint8_t {
  kNone,
  kNotFinite,     // a number that is NaN or infinite
  kNestedObject,  // a struct_value outside a list
  kListElement,   // a list element that is a struct or a list
};

// The bad values of one Struct: how many, and the first.
struct StructProblems {
  int count = 0;
  ValueProblem first = ValueProblem::kNone;
  std::string_view name;
};

uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint32_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// What the generated parser checks on every `string` field of a proto3
// message: protobuf's own UTF-8 test, behind an ASCII fast path.
bool IsValidUtf8(std::string_view s) {
  // ASCII, checked a word at a time; the last word overlaps the one before
  // (short names and values are the common case).
  const char* p = s.data();
  const size_t n = s.size();
  uint64_t high = 0;
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) high |= Load64(p + i);
    high |= Load64(p + n - 8);
  } else if (n >= 4) {
    high = Load32(p) | Load32(p + n - 4);
  } else {
    for (size_t i = 0; i < n; ++i) high |= static_cast<unsigned char>(p[i]);
  }
  if ((high & 0x8080808080808080ULL) == 0) return true;
  return google::protobuf::internal::IsStructurallyValidUTF8(
      p, static_cast<int>(n));
}

// A cursor over the bytes of one message. Every read returns false for
// input the scanner does not handle, and the caller then declines.
class WireReader {
 public:
  explicit WireReader(std::string_view bytes)
      : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  bool done() const { return p_ == end_; }

  // The common Struct map entry, whole, at the cursor: a key and a Value
  // holding a number or a string, every length one byte:
  //   0A L 0A K <key> 12 09 11 <8-byte double>        (L = K + 13)
  //   0A L 0A K <key> 12 V 1A S <string>   (V = S + 2, L = K + 4 + V)
  // Reads it into `*f` (a string value UTF-8 checked, as ReadString does;
  // the key is not: FieldOrder::Arrange checks the names it has not seen)
  // and moves past it; false, with nothing read, for anything else.
  bool ReadSimpleEntry(Field* f) {
    const auto byte = [](const char* q) {
      return static_cast<unsigned char>(*q);
    };
    if (end_ - p_ < 4 || byte(p_) != 0x0A || byte(p_ + 1) >= 0x80 ||
        byte(p_ + 2) != 0x0A || byte(p_ + 3) >= 0x80) {
      return false;
    }
    const size_t entry_size = byte(p_ + 1);
    const size_t key_size = byte(p_ + 3);
    if (entry_size > static_cast<size_t>(end_ - p_) - 2 ||
        entry_size < key_size + 4) {
      return false;
    }
    const char* const key = p_ + 4;
    const char* const value = key + key_size;  // 12 V ...
    if (byte(value) != 0x12) return false;
    const size_t value_size = byte(value + 1);
    if (entry_size != key_size + 4 + value_size) return false;
    const std::string_view name(key, key_size);
    if (value_size == 9 && byte(value + 2) == 0x11) {
      double number;
      std::memcpy(&number, value + 3, sizeof number);
      f->name = name;
      f->value = FieldValue::Number(number);
    } else if (value_size >= 2 && value_size < 0x80 &&
               byte(value + 2) == 0x1A && byte(value + 3) == value_size - 2) {
      const std::string_view text(value + 4, value_size - 2);
      if (!IsValidUtf8(text)) return false;
      f->name = name;
      f->value = FieldValue::String(text);
    } else {
      return false;
    }
    p_ += 2 + entry_size;
    return true;
  }

  // A tag of at most two bytes (field numbers up to 2047) whose field
  // number is not 0 and whose wire type is not a group's or invalid.
  bool ReadTag(uint32_t* field, uint32_t* wire_type) {
    if (p_ == end_) return false;
    uint32_t tag = static_cast<unsigned char>(*p_);
    if (tag < 0x80) {
      ++p_;
    } else {
      if (end_ - p_ < 2) return false;
      const uint32_t second = static_cast<unsigned char>(p_[1]);
      if (second >= 0x80) return false;
      tag = (tag & 0x7F) | (second << 7);
      p_ += 2;
    }
    *field = tag >> 3;
    *wire_type = tag & 7;
    return *field != 0 &&
           (*wire_type == kVarint || *wire_type == kFixed64 ||
            *wire_type == kLengthDelimited || *wire_type == kFixed32);
  }

  // A varint of up to ten bytes; bits past the 64th are dropped, as
  // protobuf does.
  bool ReadVarint(uint64_t* out) {
    if (p_ != end_ && static_cast<unsigned char>(*p_) < 0x80) {
      *out = static_cast<unsigned char>(*p_++);
      return true;
    }
    uint64_t value = 0;
    for (int i = 0; i < 10 && p_ != end_; ++i) {
      const uint64_t byte = static_cast<unsigned char>(*p_++);
      value |= (byte & 0x7F) << (7 * i);
      if (byte < 0x80) {
        *out = value;
        return true;
      }
    }
    return false;
  }

  bool ReadDouble(double* out) {
    if (end_ - p_ < 8) return false;
    std::memcpy(out, p_, sizeof *out);
    p_ += 8;
    return true;
  }

  // The contents of a length-delimited field: a length below 2^28 (at most
  // four varint bytes) that fits in the rest of the message.
  bool ReadBytes(std::string_view* out) {
    uint32_t length = 0;
    for (int i = 0;; ++i) {
      if (i == 4 || p_ == end_) return false;
      const uint32_t byte = static_cast<unsigned char>(*p_++);
      length |= (byte & 0x7F) << (7 * i);
      if (byte < 0x80) break;
    }
    if (length > static_cast<size_t>(end_ - p_)) return false;
    *out = std::string_view(p_, length);
    p_ += length;
    return true;
  }

  // A string field: its bytes, which must be valid UTF-8.
  bool ReadString(std::string_view* out) {
    return ReadBytes(out) && IsValidUtf8(*out);
  }

  // Skips the value of an unknown field.
  bool Skip(uint32_t wire_type) {
    uint64_t varint;
    std::string_view bytes;
    switch (wire_type) {
      case kVarint:
        return ReadVarint(&varint);
      case kFixed64:
        return Advance(8);
      case kLengthDelimited:
        return ReadBytes(&bytes);
      case kFixed32:
        return Advance(4);
    }
    return false;
  }

 private:
  bool Advance(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    p_ += n;
    return true;
  }

  const char* p_;
  const char* end_;
};

// The smallest power of two >= 2 * n, at least 16: a table size.
size_t TableSize(size_t n) {
  size_t size = 16;
  while (size < 2 * n) size *= 2;
  return size;
}

// Whether names are all different, with an open-addressed table of
// (round << 32 | index) slots kept between calls: each call is a new
// round, so that the slots of earlier rounds read as empty.
class DistinctNames {
 public:
  // True when name_of(0), ..., name_of(n - 1) are pairwise different.
  template <typename NameOf>
  bool Check(size_t n, NameOf name_of) {
    if (n < 2) return true;
    if (n <= 8) {
      for (size_t i = 1; i < n; ++i) {
        for (size_t j = 0; j < i; ++j) {
          if (SameShortString(name_of(i), name_of(j))) return false;
        }
      }
      return true;
    }
    if (n > UINT32_MAX / 4) return false;
    const size_t size = TableSize(n);
    if (table_.size() < size) table_.resize(size, 0);
    if (++round_ == 0) {  // wrapped: forget every earlier round
      std::fill(table_.begin(), table_.end(), 0);
      round_ = 1;
    }
    const uint64_t stamp = static_cast<uint64_t>(round_) << 32;
    uint64_t* slots = table_.data();
    const size_t mask = size - 1;
    for (size_t i = 0; i < n; ++i) {
      const std::string_view name = name_of(i);
      for (size_t s = HashShortString(name) & mask;; s = (s + 1) & mask) {
        if ((slots[s] >> 32) != round_) {
          slots[s] = stamp | i;
          break;
        }
        if (SameShortString(name_of(static_cast<uint32_t>(slots[s])), name)) {
          return false;
        }
      }
    }
    return true;
  }

 private:
  std::vector<uint64_t> table_;
  uint32_t round_ = 0;
};

// The field names of the last Struct scanned in one place (a record's
// inputs, or its outputs), owned, so that the next record's fields can be
// put in the same order.
class FieldOrder {
 public:
  // Puts `fields[0, n)` in the order of the remembered names when they
  // are the same names, and else remembers theirs (keeping their order).
  // False when two of them have the same name.
  //
  // Also checks that the names are valid UTF-8 (ReadSimpleEntry leaves
  // that to here): names equal to the remembered ones are, as those were
  // checked before they were remembered, so only new names cost a check.
  //
  // Every name lies in a buffer whose bytes up to `readable_end` may be
  // read (the body).
  bool Arrange(Field* fields, size_t n, DistinctNames* distinct,
               const char* readable_end) {
    if (n >= 2 && n == ends_.size() && Permute(fields, n, readable_end)) {
      return true;
    }
    for (size_t i = 0; i < n; ++i) {
      if (!IsValidUtf8(fields[i].name)) return false;
    }
    if (n < 2) return true;
    if (!distinct->Check(n, [fields](size_t i) { return fields[i].name; })) {
      return false;
    }
    Remember(fields, n);
    return true;
  }

  // The common Struct, read straight into the remembered order: when its
  // entries are exactly the remembered names, each once, in any order,
  // each a number, a string or null with one-byte lengths, and every
  // number finite, appends them to `*fields` in the remembered order and
  // returns true. Otherwise appends nothing and returns false, and the
  // caller reads the Struct the general way (which gives the same fields
  // in the same order when it accepts them).
  //
  // Two passes: the first only finds each entry's remembered position
  // (the work is the same whatever the value's kind), the second decodes
  // the values in the remembered order, so that the branches on their
  // kinds follow the same sequence every record (in wire order they
  // follow the map's random order and are mispredicted), and each field
  // is written once at its place (no reordering copies).
  //
  // `bytes` lies in a buffer readable up to `readable_end`.
  bool ScanInRememberedOrder(std::string_view bytes, std::vector<Field>* fields,
                             const char* readable_end) {
    const size_t n = views_.size();
    if (n < 2) return false;
    if (++round_ == 0) {  // wrapped: forget every earlier round
      std::fill(slot_round_.begin(), slot_round_.end(), 0);
      round_ = 1;
    }
    const auto byte = [](const char* q) {
      return static_cast<unsigned char>(*q);
    };
    const char* p = bytes.data();
    const char* const end = p + bytes.size();
    size_t count = 0;
    size_t collisions = 0;
    while (p != end) {
      // 0A L 0A K <key> 12 V <value>, every length one byte.
      if (end - p < 4 || byte(p) != 0x0A || byte(p + 1) >= 0x80 ||
          byte(p + 2) != 0x0A || byte(p + 3) >= 0x80) {
        return false;
      }
      const size_t entry_size = byte(p + 1);
      const size_t key_size = byte(p + 3);
      if (entry_size > static_cast<size_t>(end - p) - 2 ||
          entry_size < key_size + 4) {
        return false;
      }
      const char* const key = p + 4;
      const char* const value = key + key_size;
      if (byte(value) != 0x12) return false;
      const size_t value_size = byte(value + 1);
      if (value_size >= 0x80 || entry_size != key_size + 4 + value_size) {
        return false;
      }
      uint32_t position;
      if (!Find(std::string_view(key, key_size), readable_end, &position,
                &collisions) ||
          slot_round_[position] == round_) {
        return false;  // a new name, or a name twice
      }
      slot_round_[position] = round_;
      slot_key_[position] = key;
      slot_value_[position] = value + 2;
      slot_value_size_[position] = static_cast<uint8_t>(value_size);
      ++count;
      p += 2 + entry_size;
    }
    if (count != n) return false;
    const size_t first = fields->size();
    for (size_t i = 0; i < n; ++i) {
      const char* const value = slot_value_[i];
      const size_t value_size = slot_value_size_[i];
      FieldValue v;
      if (value_size == 9 && byte(value) == 0x11) {
        double number;
        std::memcpy(&number, value + 1, sizeof number);
        // The general path names the first non-finite value in wire
        // order: left to it.
        if (!std::isfinite(number)) break;
        v = FieldValue::Number(number);
      } else if (value_size >= 2 && byte(value) == 0x1A &&
                 byte(value + 1) == value_size - 2 &&
                 IsValidUtf8(std::string_view(value + 2, value_size - 2))) {
        v = FieldValue::String(std::string_view(value + 2, value_size - 2));
      } else if (value_size != 2 || byte(value) != 0x08 ||
                 byte(value + 1) != 0) {
        break;  // another kind, or invalid UTF-8: the general path decides
      }         // else null, as `v` is
      // The name from the record's own bytes (the remembered ones change
      // with the next new set of names, before this record is observed).
      fields->push_back(
          Field{std::string_view(slot_key_[i], views_[i].size()), v});
    }
    if (fields->size() != first + n) {
      fields->resize(first);
      return false;
    }
    // The same names again, but some of them share a slot: their probes
    // past each other branch differently with the map's order every
    // record. Look once for a hash that gives each its own slot.
    if (collisions != 0 && !reseeded_) Reseed();
    return true;
  }

 private:
  static constexpr uint32_t kUnset = UINT32_MAX;

  std::string_view Name(size_t i) const {
    const uint32_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(names_.data() + begin, ends_[i] - begin);
  }

  // The first min(size, 16) bytes of a name at `p`, the rest zero: what
  // names are hashed and first compared by, with one load and no branch
  // on the size (the names of a map arrive in random order, so a branch
  // on their sizes is mispredicted). Bytes up to `readable_end` may be
  // read.
  static __m128i Prefix(const char* p, size_t size, const char* readable_end) {
    alignas(16) static constexpr unsigned char kKeep[32] = {
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    const size_t head = std::min<size_t>(size, 16);
    if (readable_end - p >= 16) {
      return _mm_and_si128(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)),
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(kKeep + 16 - head)));
    }
    alignas(16) char copy[16] = {};
    std::memcpy(copy, p, head);
    return _mm_load_si128(reinterpret_cast<const __m128i*>(copy));
  }

  // A hash of a name's prefix and size under `seed`.
  static size_t PrefixHash(__m128i prefix, size_t size, uint64_t seed) {
    const auto low = static_cast<uint64_t>(_mm_cvtsi128_si64(prefix));
    const auto high = static_cast<uint64_t>(
        _mm_cvtsi128_si64(_mm_unpackhi_epi64(prefix, prefix)));
    const __uint128_t m =
        static_cast<__uint128_t>(low ^ (high * 0xC2B2AE3D27D4EB4Full) ^ size) *
        seed;
    return static_cast<size_t>(static_cast<uint64_t>(m) ^
                               static_cast<uint64_t>(m >> 64));
  }

  // Whether remembered name `i` is `name`, whose prefix is `prefix`.
  bool Matches(uint32_t i, __m128i prefix, std::string_view name) const {
    const bool head = (_mm_movemask_epi8(_mm_cmpeq_epi8(
                           prefix, prefixes_[i].bytes)) == 0xFFFF) &
                      (views_[i].size() == name.size());
    if (name.size() <= 16) return head;
    return head && std::memcmp(views_[i].data() + 16, name.data() + 16,
                               name.size() - 16) == 0;
  }

  // Whether `name` (readable up to `readable_end`) is remembered, and
  // where; adds the slots probed past to `*collisions`.
  bool Find(std::string_view name, const char* readable_end, uint32_t* position,
            size_t* collisions) const {
    const __m128i prefix = Prefix(name.data(), name.size(), readable_end);
    const size_t mask = table_.size() - 1;
    for (size_t s = PrefixHash(prefix, name.size(), seed_) & mask;;
         s = (s + 1) & mask) {
      if (table_[s] == 0) return false;
      if (Matches(table_[s] - 1, prefix, name)) {
        *position = table_[s] - 1;
        return true;
      }
      ++*collisions;
    }
  }

  // Fills `table_` under `seed_`; returns the number of names that did
  // not get the slot they hash to.
  size_t Fill() {
    std::fill(table_.begin(), table_.end(), 0);
    const size_t mask = table_.size() - 1;
    size_t collisions = 0;
    for (size_t i = 0; i < views_.size(); ++i) {
      size_t s = PrefixHash(prefixes_[i].bytes, views_[i].size(), seed_) & mask;
      if (table_[s] != 0) ++collisions;
      while (table_[s] != 0) s = (s + 1) & mask;
      table_[s] = static_cast<uint32_t>(i + 1);
    }
    return collisions;
  }

  // Tries other seeds, at most kSeedTries, for one under which every
  // remembered name has its own slot; keeps the best one seen.
  void Reseed() {
    static constexpr int kSeedTries = 32;
    reseeded_ = true;
    uint64_t best_seed = seed_;
    size_t best = Fill();
    for (int k = 0; k < kSeedTries && best != 0; ++k) {
      seed_ += 0x9E3779B97F4A7C16ull;  // stays odd
      const size_t collisions = Fill();
      if (collisions < best) {
        best = collisions;
        best_seed = seed_;
      }
    }
    if (seed_ != best_seed) {
      seed_ = best_seed;
      Fill();
    }
  }

  // Reorders the n fields when each has a different remembered name.
  bool Permute(Field* fields, size_t n, const char* readable_end) {
    wire_position_.assign(n, kUnset);
    bool in_order = true;
    size_t collisions = 0;
    for (size_t i = 0; i < n; ++i) {
      uint32_t position;
      if (!Find(fields[i].name, readable_end, &position, &collisions) ||
          wire_position_[position] != kUnset) {
        return false;
      }
      wire_position_[position] = static_cast<uint32_t>(i);
      in_order = in_order && position == i;
    }
    if (in_order) return true;
    scratch_.assign(fields, fields + n);
    for (size_t p = 0; p < n; ++p) fields[p] = scratch_[wire_position_[p]];
    return true;
  }

  void Remember(const Field* fields, size_t n) {
    names_.clear();
    ends_.clear();
    for (size_t i = 0; i < n; ++i) {
      names_.append(fields[i].name);
      ends_.push_back(static_cast<uint32_t>(names_.size()));
    }
    names_.append(16, '\0');  // so that Prefix may load 16 bytes of each
    const char* const readable_end = names_.data() + names_.size();
    views_.clear();
    prefixes_.clear();
    for (size_t i = 0; i < n; ++i) {
      views_.push_back(Name(i));
      prefixes_.push_back(
          {Prefix(views_[i].data(), views_[i].size(), readable_end)});
    }
    slot_round_.assign(n, 0);
    round_ = 0;
    slot_key_.resize(n);
    slot_value_.resize(n);
    slot_value_size_.resize(n);
    // Twice the room of the other tables, so that a seed that gives each
    // name its own slot is quick to find (Reseed).
    table_.assign(2 * TableSize(n), 0);
    Fill();
    reseeded_ = false;
  }

  std::string names_;  // the names, one after another, then 16 zero bytes
  std::vector<uint32_t> ends_;  // where each name ends in `names_`
  // The names as views into `names_` (set once `names_` is complete).
  std::vector<std::string_view> views_;
  // Prefix of each name (wrapped: a vector of __m128i drops its
  // attributes).
  struct NamePrefix {
    __m128i bytes;
  };
  std::vector<NamePrefix> prefixes_;
  // Open-addressed by PrefixHash under `seed_`: 1 + the position of a
  // name, 0 for an empty slot.
  std::vector<uint32_t> table_;
  uint64_t seed_ = 0x9E3779B97F4A7C15ull;
  bool reseeded_ = false;  // Reseed ran for the names remembered
  // Scratch of Permute: the wire position of the field at each position.
  std::vector<uint32_t> wire_position_;
  std::vector<Field> scratch_;
  // Scratch of ScanInRememberedOrder, by remembered position: the round
  // that filled the slot (no clearing between Structs), the entry's key
  // and its Value's bytes.
  std::vector<uint32_t> slot_round_;
  uint32_t round_ = 0;
  std::vector<const char*> slot_key_;
  std::vector<const char*> slot_value_;
  std::vector<uint8_t> slot_value_size_;
};

}  // namespace

struct ScannedProtobufBatch::ScannerState {
  DistinctNames distinct_names;
  FieldOrder input_order;
  FieldOrder output_order;
};

ScannedProtobufBatch::ScannedProtobufBatch()
    : state(std::make_unique<ScannerState>()) {}

ScannedProtobufBatch::~ScannedProtobufBatch() = default;

namespace {

// The message of GetProtoValue for `problem` in the value at `path`.
DecodeError ValueError(std::string_view path, ValueProblem problem) {
  DecodeError error;
  error.reason = problem == ValueProblem::kNotFinite
                     ? RejectReason::kInvalidValue
                     : RejectReason::kUnsupportedValue;
  error.message = "field \"" + std::string(path);
  switch (problem) {
    case ValueProblem::kNotFinite:
      error.message += "\": numbers must be finite";
      break;
    case ValueProblem::kNestedObject:
      error.message += "\": nested objects are not supported";
      break;
    case ValueProblem::kListElement:
    case ValueProblem::kNone:
      error.message +=
          "\": list elements must be numbers, strings, booleans or null";
      break;
  }
  return error;
}

// Struct, map entry, Value and ListValue messages that are only checked
// for what the generated parser checks (a record holding them is rejected
// whatever they contain). `depth` is that of the message itself.
bool ValidateValue(std::string_view bytes, int depth);

bool ValidateStruct(std::string_view bytes, int depth) {
  if (depth > kMaxScanDepth) return false;
  WireReader in(bytes);
  while (!in.done()) {
    uint32_t field, wire_type;
    std::string_view entry_bytes;
    if (!in.ReadTag(&field, &wire_type) || field != 1 ||
        wire_type != kLengthDelimited || !in.ReadBytes(&entry_bytes)) {
      return false;
    }
    WireReader entry(entry_bytes);
    bool has_key = false;
    bool has_value = false;
    while (!entry.done()) {
      std::string_view part;
      if (!entry.ReadTag(&field, &wire_type) || wire_type != kLengthDelimited) {
        return false;
      }
      if (field == 1 && !has_key) {
        has_key = true;
        if (!entry.ReadString(&part)) return false;
      } else if (field == 2 && !has_value) {
        has_value = true;
        if (!entry.ReadBytes(&part) || !ValidateValue(part, depth + 2)) {
          return false;
        }
      } else {
        return false;
      }
    }
  }
  return true;
}

bool ValidateListValue(std::string_view bytes, int depth) {
  if (depth > kMaxScanDepth) return false;
  WireReader in(bytes);
  while (!in.done()) {
    uint32_t field, wire_type;
    std::string_view item;
    if (!in.ReadTag(&field, &wire_type) || field != 1 ||
        wire_type != kLengthDelimited || !in.ReadBytes(&item) ||
        !ValidateValue(item, depth + 1)) {
      return false;
    }
  }
  return true;
}

bool ValidateValue(std::string_view bytes, int depth) {
  if (depth > kMaxScanDepth) return false;
  WireReader in(bytes);
  if (in.done()) return true;
  uint32_t field, wire_type;
  uint64_t varint;
  double number;
  std::string_view part;
  if (!in.ReadTag(&field, &wire_type)) return false;
  bool ok = false;
  switch (field) {
    case 1:  // null_value
    case 4:  // bool_value
      ok = wire_type == kVarint && in.ReadVarint(&varint);
      break;
    case 2:  // number_value
      ok = wire_type == kFixed64 && in.ReadDouble(&number);
      break;
    case 3:  // string_value
      ok = wire_type == kLengthDelimited && in.ReadString(&part);
      break;
    case 5:  // struct_value
      ok = wire_type == kLengthDelimited && in.ReadBytes(&part) &&
           ValidateStruct(part, depth + 1);
      break;
    case 6:  // list_value
      ok = wire_type == kLengthDelimited && in.ReadBytes(&part) &&
           ValidateListValue(part, depth + 1);
      break;
  }
  return ok && in.done();
}

// Decodes the messages of one Batch into a ScannedProtobufBatch. Every
// Scan* function returns false to decline.
class BatchScanner {
 public:
  explicit BatchScanner(ScannedProtobufBatch* batch)
      : batch_(batch), state_(batch->state.get()) {}

  bool Scan(std::string_view body) {
    readable_end_ = body.data() + body.size();
    batch_->record_count = 0;
    batch_->event_count = 0;
    batch_->record_rejections.clear();
    batch_->event_rejections.clear();
    WireReader in(body);
    while (!in.done()) {
      uint32_t field, wire_type;
      if (!in.ReadTag(&field, &wire_type)) return false;
      if (field == 1 || field == 2) {
        std::string_view bytes;
        if (wire_type != kLengthDelimited || !in.ReadBytes(&bytes)) {
          return false;
        }
        DecodeError error;
        bool rejected = false;
        if (field == 1) {
          if (batch_->record_count == batch_->records.size()) {
            batch_->records.emplace_back();
          }
          if (!ScanRecord(bytes, &batch_->records[batch_->record_count], &error,
                          &rejected)) {
            return false;
          }
          if (rejected) {
            batch_->record_rejections.push_back(
                {batch_->record_count, std::move(error)});
          }
          ++batch_->record_count;
        } else {
          if (batch_->event_count == batch_->events.size()) {
            batch_->events.emplace_back();
          }
          if (!ScanEvent(bytes, &batch_->events[batch_->event_count], &error,
                         &rejected)) {
            return false;
          }
          if (rejected) {
            batch_->event_rejections.push_back(
                {batch_->event_count, std::move(error)});
          }
          ++batch_->event_count;
        }
      } else if (!in.Skip(wire_type)) {
        return false;
      }
    }
    return true;
  }

 private:
  // A v1::Record at depth 1. `*rejected` and `*error` as DecodeProtoRecord.
  bool ScanRecord(std::string_view bytes, Record* record, DecodeError* error,
                  bool* rejected) {
    record->Clear();
    bool has_time = false;
    bool has_latency = false;
    bool has_inputs = false;
    bool has_outputs = false;
    StructProblems input_problems;
    StructProblems output_problems;
    WireReader in(bytes);
    while (!in.done()) {
      uint32_t field, wire_type;
      if (!in.ReadTag(&field, &wire_type)) return false;
      std::string_view part;
      bool ok = true;
      switch (field) {
        case 1:
          ok = wire_type == kLengthDelimited && in.ReadString(&record->model);
          break;
        case 2:
          ok = wire_type == kLengthDelimited && in.ReadString(&record->version);
          break;
        case 3:
          ok = wire_type == kLengthDelimited && in.ReadString(&record->stage);
          break;
        case 4:
          ok = wire_type == kLengthDelimited &&
               in.ReadString(&record->request_id);
          break;
        case 5:
          ok = wire_type == kLengthDelimited &&
               in.ReadString(&record->session_id);
          break;
        case 6:
          ok = wire_type == kLengthDelimited && !has_time &&
               in.ReadBytes(&part) &&
               ScanTimestamp(part, &record->time_seconds);
          has_time = true;
          break;
        case 7:
          ok = wire_type == kFixed64 && in.ReadDouble(&record->latency_seconds);
          has_latency = true;
          break;
        case 8: {
          uint64_t value = 0;
          ok = wire_type == kVarint && in.ReadVarint(&value);
          record->error = value != 0;
          break;
        }
        case 9:
          ok = wire_type == kLengthDelimited && !has_inputs &&
               in.ReadBytes(&part) &&
               ScanStruct(part, 2, &record->list_items, &record->inputs,
                          &state_->input_order, &input_problems);
          has_inputs = true;
          break;
        case 10:
          ok = wire_type == kLengthDelimited && !has_outputs &&
               in.ReadBytes(&part) &&
               ScanStruct(part, 2, &record->list_items, &record->outputs,
                          &state_->output_order, &output_problems);
          has_outputs = true;
          break;
        case 11:
          ok = wire_type == kLengthDelimited && in.ReadBytes(&part) &&
               ScanBlobEntry(part, &record->blobs);
          break;
        default:
          ok = in.Skip(wire_type);
      }
      if (!ok) return false;
    }
    if (!state_->distinct_names.Check(record->blobs.size(), [record](size_t i) {
          return record->blobs[i].name;
        })) {
      return false;
    }
    // The checks of DecodeProtoRecord, in its order.
    *rejected = true;
    if (has_latency && (!(record->latency_seconds >= 0) ||
                        !std::isfinite(record->latency_seconds))) {
      error->reason = RejectReason::kInvalidValue;
      error->message =
          "field \"latency_seconds\": must be a finite number >= 0";
      return true;
    }
    if (input_problems.count > 0 || output_problems.count > 0) {
      const bool inputs = input_problems.count > 0;
      const StructProblems& problems =
          inputs ? input_problems : output_problems;
      // With two bad values the generated path reports the first in the
      // Map's unspecified order; leave that to it.
      if (problems.count > 1) return false;
      *error = ValueError(
          std::string(inputs ? "inputs." : "outputs.").append(problems.name),
          problems.first);
      return true;
    }
    if (record->model.empty()) {
      error->reason = RejectReason::kMissingField;
      error->message = "field \"model\" is required";
      return true;
    }
    *rejected = false;
    return true;
  }

  // A v1::Event at depth 1. `*rejected` and `*error` as DecodeProtoEvent.
  bool ScanEvent(std::string_view bytes, Event* event, DecodeError* error,
                 bool* rejected) {
    event->Clear();
    bool has_time = false;
    bool has_value = false;
    ValueProblem value_problem = ValueProblem::kNone;
    WireReader in(bytes);
    while (!in.done()) {
      uint32_t field, wire_type;
      if (!in.ReadTag(&field, &wire_type)) return false;
      std::string_view part;
      bool ok = true;
      switch (field) {
        case 1:
          ok = wire_type == kLengthDelimited && in.ReadString(&event->type);
          break;
        case 2:
          ok = wire_type == kLengthDelimited && in.ReadString(&event->model);
          break;
        case 3:
          ok = wire_type == kLengthDelimited && in.ReadString(&event->version);
          break;
        case 4:
          ok = wire_type == kLengthDelimited && in.ReadString(&event->stage);
          break;
        case 5:
          ok = wire_type == kLengthDelimited &&
               in.ReadString(&event->request_id);
          break;
        case 6:
          ok = wire_type == kLengthDelimited &&
               in.ReadString(&event->session_id);
          break;
        case 7:
          ok = wire_type == kLengthDelimited && !has_time &&
               in.ReadBytes(&part) && ScanTimestamp(part, &event->time_seconds);
          has_time = true;
          break;
        case 8:
          ok = wire_type == kLengthDelimited && !has_value &&
               in.ReadBytes(&part) &&
               ScanValue(part, 2, /*in_list=*/false, &event->list_items,
                         &event->value, &value_problem);
          has_value = true;
          break;
        default:
          ok = in.Skip(wire_type);
      }
      if (!ok) return false;
    }
    *rejected = true;
    if (value_problem != ValueProblem::kNone) {
      *error = ValueError("value", value_problem);
      return true;
    }
    if (event->type.empty()) {
      error->reason = RejectReason::kMissingField;
      error->message = "field \"type\" is required in an event";
      return true;
    }
    *rejected = false;
    return true;
  }

  // A google.protobuf.Timestamp, as record_decoder.cc's ProtoTime.
  static bool ScanTimestamp(std::string_view bytes, double* time_seconds) {
    int64_t seconds = 0;
    int32_t nanos = 0;
    WireReader in(bytes);
    while (!in.done()) {
      uint32_t field, wire_type;
      uint64_t value;
      if (!in.ReadTag(&field, &wire_type) || wire_type != kVarint ||
          (field != 1 && field != 2) || !in.ReadVarint(&value)) {
        return false;
      }
      if (field == 1) {
        seconds = static_cast<int64_t>(value);
      } else {
        nanos = static_cast<int32_t>(static_cast<uint32_t>(value));
      }
    }
    *time_seconds = static_cast<double>(seconds) + nanos * 1e-9;
    return true;
  }

  // A map<string, bytes> entry of Record.blobs.
  static bool ScanBlobEntry(std::string_view bytes, std::vector<Blob>* blobs) {
    Blob blob;
    bool has_name = false;
    bool has_data = false;
    WireReader in(bytes);
    while (!in.done()) {
      uint32_t field, wire_type;
      if (!in.ReadTag(&field, &wire_type) || wire_type != kLengthDelimited) {
        return false;
      }
      if (field == 1 && !has_name) {
        has_name = true;
        if (!in.ReadString(&blob.name)) return false;
      } else if (field == 2 && !has_data) {
        has_data = true;
        if (!in.ReadBytes(&blob.data)) return false;
      } else {
        return false;
      }
    }
    blobs->push_back(blob);
    return true;
  }

  // A google.protobuf.Struct at `depth`, its fields appended to `*fields`
  // in the order `*order` gives and its bad values counted in `*problems`.
  bool ScanStruct(std::string_view bytes, int depth,
                  std::vector<FieldValue>* list_items,
                  std::vector<Field>* fields, FieldOrder* order,
                  StructProblems* problems) {
    if (order->ScanInRememberedOrder(bytes, fields, readable_end_)) {
      return true;
    }
    const size_t first = fields->size();
    WireReader in(bytes);
    while (!in.done()) {
      if (Field simple; in.ReadSimpleEntry(&simple)) {
        // As ScanValue would have read it.
        if (simple.value.kind == FieldValue::Kind::kNumber &&
            !std::isfinite(simple.value.number) && problems->count++ == 0) {
          problems->first = ValueProblem::kNotFinite;
          problems->name = simple.name;
        }
        fields->push_back(simple);
        continue;
      }
      uint32_t field, wire_type;
      std::string_view entry_bytes;
      if (!in.ReadTag(&field, &wire_type) || field != 1 ||
          wire_type != kLengthDelimited || !in.ReadBytes(&entry_bytes)) {
        return false;
      }
      Field& f = fields->emplace_back();
      std::string_view value_bytes;
      bool has_name = false;
      bool has_value = false;
      WireReader entry(entry_bytes);
      while (!entry.done()) {
        if (!entry.ReadTag(&field, &wire_type) ||
            wire_type != kLengthDelimited) {
          return false;
        }
        if (field == 1 && !has_name) {
          has_name = true;
          if (!entry.ReadString(&f.name)) return false;
        } else if (field == 2 && !has_value) {
          has_value = true;
          if (!entry.ReadBytes(&value_bytes)) return false;
        } else {
          return false;
        }
      }
      ValueProblem problem;
      if (!ScanValue(value_bytes, depth + 2, /*in_list=*/false, list_items,
                     &f.value, &problem)) {
        return false;
      }
      if (problem != ValueProblem::kNone && problems->count++ == 0) {
        problems->first = problem;
        problems->name = f.name;
      }
    }
    return order->Arrange(fields->data() + first, fields->size() - first,
                          &state_->distinct_names, readable_end_);
  }

  // A google.protobuf.Value at `depth` into `*out`, list elements appended
  // to `*list_items`. `in_list`: the value is a list element.
  bool ScanValue(std::string_view bytes, int depth, bool in_list,
                 std::vector<FieldValue>* list_items, FieldValue* out,
                 ValueProblem* problem) {
    *out = FieldValue::Null();
    *problem = ValueProblem::kNone;
    WireReader in(bytes);
    if (in.done()) return true;  // no kind: null
    uint32_t field, wire_type;
    if (!in.ReadTag(&field, &wire_type)) return false;
    uint64_t varint;
    std::string_view part;
    bool ok = false;
    switch (field) {
      case 1:  // null_value
        ok = wire_type == kVarint && in.ReadVarint(&varint);
        break;
      case 2:  // number_value
        ok = wire_type == kFixed64 && in.ReadDouble(&out->number);
        if (ok) {
          out->kind = FieldValue::Kind::kNumber;
          if (!std::isfinite(out->number)) *problem = ValueProblem::kNotFinite;
        }
        break;
      case 3:  // string_value
        ok = wire_type == kLengthDelimited && in.ReadString(&out->text);
        out->kind = FieldValue::Kind::kString;
        break;
      case 4:  // bool_value
        ok = wire_type == kVarint && in.ReadVarint(&varint);
        out->kind = FieldValue::Kind::kBool;
        out->boolean = ok && varint != 0;
        break;
      case 5:  // struct_value
        ok = wire_type == kLengthDelimited && in.ReadBytes(&part) &&
             ValidateStruct(part, depth + 1);
        *problem =
            in_list ? ValueProblem::kListElement : ValueProblem::kNestedObject;
        break;
      case 6:  // list_value
        if (in_list) {
          ok = wire_type == kLengthDelimited && in.ReadBytes(&part) &&
               ValidateListValue(part, depth + 1);
          *problem = ValueProblem::kListElement;
        } else {
          ok = wire_type == kLengthDelimited && in.ReadBytes(&part) &&
               ScanListValue(part, depth + 1, list_items, out, problem);
        }
        break;
    }
    // A second kind would replace or merge into the first: unusual.
    return ok && in.done();
  }

  // A google.protobuf.ListValue at `depth`: its elements appended to
  // `*list_items`, `*problem` the first bad element's.
  bool ScanListValue(std::string_view bytes, int depth,
                     std::vector<FieldValue>* list_items, FieldValue* out,
                     ValueProblem* problem) {
    if (depth > kMaxScanDepth) return false;
    FieldValue list;
    list.kind = FieldValue::Kind::kList;
    list.list_begin = static_cast<uint32_t>(list_items->size());
    WireReader in(bytes);
    while (!in.done()) {
      uint32_t field, wire_type;
      std::string_view item_bytes;
      if (!in.ReadTag(&field, &wire_type) || field != 1 ||
          wire_type != kLengthDelimited || !in.ReadBytes(&item_bytes)) {
        return false;
      }
      FieldValue item;
      ValueProblem item_problem;
      if (!ScanValue(item_bytes, depth + 1, /*in_list=*/true, list_items, &item,
                     &item_problem)) {
        return false;
      }
      if (*problem == ValueProblem::kNone) *problem = item_problem;
      list_items->push_back(item);
      ++list.list_size;
    }
    *out = list;
    return true;
  }

  ScannedProtobufBatch* batch_;
  ScannedProtobufBatch::ScannerState* state_;
  const char* readable_end_ = nullptr;  // the body's end
};

}  // namespace

bool ScanProtobufBatch(std::string_view body, ScannedProtobufBatch* batch) {
  if (body.size() > static_cast<size_t>(INT32_MAX)) return false;
  return BatchScanner(batch).Scan(body);
}

}  // namespace ml_exporter::internal
