// StringIndex: a single-thread map from short strings (field names,
// category values) to dense ids, for the per-record lookups on the ingest
// hot path.
//
// std::unordered_map<std::string, ...> costs a murmur hash, a modulo by a
// prime and a pointer chase per lookup; this is one multiply-mix hash of a
// few words, a masked index into an open-addressed table and one compare.
// Used only by one thread (per-thread cells); callers bound its size.
#ifndef ML_EXPORTER_CORE_STRING_INDEX_H_
#define ML_EXPORTER_CORE_STRING_INDEX_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace ml_exporter::internal {

// 64-bit hash of `s`; not for adversarial keys of unbounded count (the
// tables that use it hold only capped, admitted values).
inline uint64_t HashShortString(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full);
  auto mix = [](uint64_t a, uint64_t b) {
    const __uint128_t m = static_cast<__uint128_t>(a) * b;
    return static_cast<uint64_t>(m) ^ static_cast<uint64_t>(m >> 64);
  };
  while (n > 16) {
    uint64_t a, b;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, 8);
    h = mix(a ^ 0xA0761D6478BD642Full, b ^ h);
    p += 16;
    n -= 16;
  }
  uint64_t a = 0, b = 0;
  if (n >= 8) {
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + n - 8, 8);
  } else if (n >= 4) {
    uint32_t x, y;
    std::memcpy(&x, p, 4);
    std::memcpy(&y, p + n - 4, 4);
    a = x;
    b = y;
  } else if (n > 0) {
    a = (uint64_t{p[0]} << 16) | (uint64_t{p[n >> 1]} << 8) | p[n - 1];
  }
  return mix(a ^ 0xE7037ED1A0B428DBull, b ^ h);
}

// Whether `a` and `b` hold the same bytes. Inline for the short strings of
// the hot path (two overlapping word compares up to 16 bytes), where a
// call to memcmp costs more than the compare.
inline bool SameShortString(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n >= 8 && n <= 16) {
    uint64_t x1, y1, x2, y2;
    std::memcpy(&x1, p, 8);
    std::memcpy(&y1, q, 8);
    std::memcpy(&x2, p + n - 8, 8);
    std::memcpy(&y2, q + n - 8, 8);
    return ((x1 ^ y1) | (x2 ^ y2)) == 0;
  }
  if (n >= 4 && n < 8) {
    uint32_t x1, y1, x2, y2;
    std::memcpy(&x1, p, 4);
    std::memcpy(&y1, q, 4);
    std::memcpy(&x2, p + n - 4, 4);
    std::memcpy(&y2, q + n - 4, 4);
    return ((x1 ^ y1) | (x2 ^ y2)) == 0;
  }
  if (n < 4) {
    // First, middle and last byte cover every byte of 1 to 3; no loop.
    if (n == 0) return true;
    return ((p[0] ^ q[0]) | (p[n / 2] ^ q[n / 2]) | (p[n - 1] ^ q[n - 1])) == 0;
  }
  return std::memcmp(p, q, n) == 0;
}

class StringIndex {
 public:
  static constexpr uint32_t kNotFound = UINT32_MAX;

  // The id stored for `key`, or kNotFound.
  uint32_t Find(std::string_view key) const {
    if (slots_.empty()) return kNotFound;
    const uint64_t h = HashShortString(key);
    const auto tag = static_cast<uint32_t>(h >> 32);
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.entry == 0) return kNotFound;
      if (slot.tag == tag) {
        const Entry& e = entries_[slot.entry - 1];
        if (SameShortString(e.key, key)) {
          return e.id;
        }
      }
    }
  }

  // Adds `key` -> `id`; `key` must not be present.
  void Insert(std::string_view key, uint32_t id) {
    if ((entries_.size() + 1) * 2 > slots_.size()) {
      Rehash(slots_.empty() ? 16 : slots_.size() * 2);
    }
    entries_.push_back({std::string(key), id});
    Place(HashShortString(key), static_cast<uint32_t>(entries_.size()));
  }

  size_t size() const { return entries_.size(); }

 private:
  struct Slot {
    uint32_t tag = 0;    // high half of the hash
    uint32_t entry = 0;  // index into entries_ + 1; 0: empty
  };
  struct Entry {
    std::string key;
    uint32_t id;
  };

  void Place(uint64_t h, uint32_t entry) {
    const size_t mask = slots_.size() - 1;
    size_t i = h & mask;
    while (slots_[i].entry != 0) i = (i + 1) & mask;
    slots_[i] = {static_cast<uint32_t>(h >> 32), entry};
  }

  void Rehash(size_t size) {
    slots_.assign(size, Slot{});
    for (size_t k = 0; k < entries_.size(); ++k) {
      Place(HashShortString(entries_[k].key), static_cast<uint32_t>(k + 1));
    }
  }

  std::vector<Slot> slots_;  // size 0 or a power of two, at most half full
  std::vector<Entry> entries_;
};

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_CORE_STRING_INDEX_H_
