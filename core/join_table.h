// JoinTable<V>: a bounded, time-expiring map from a string key (request id,
// session id) to state, for joining events and records that arrive apart.
//
// Sharded by key hash so ingest threads rarely meet on a lock. Every entry
// carries the time it was last touched (record or event time, Unix
// seconds); entries older than `ttl_seconds` behind the newest time a shard
// has seen are expired, and when a shard is full its least recently touched
// entry is evicted. Memory is therefore bounded by `capacity` entries.
#ifndef ML_EXPORTER_CORE_JOIN_TABLE_H_
#define ML_EXPORTER_CORE_JOIN_TABLE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/label_value.h"

namespace ml_exporter::internal {

template <typename V>
class JoinTable {
 public:
  JoinTable(size_t capacity, double ttl_seconds, size_t shards = 16)
      : ttl_(ttl_seconds),
        per_shard_(std::max<size_t>(1, capacity / std::max<size_t>(1, shards))),
        shards_(std::max<size_t>(1, shards)) {}

  // Calls fn(value, inserted) with the entry for `key`, created (default V)
  // when absent or expired, and marks it touched at `time`. `on_drop` is
  // called for entries that expire or are evicted to make room.
  template <typename Fn, typename Drop>
  void Upsert(std::string_view key, double time, Fn&& fn, Drop&& on_drop) {
    Shard& s = ShardOf(key);
    std::lock_guard<std::mutex> lock(s.mu);
    if (time > s.newest) s.newest = time;
    ExpireLocked(s, on_drop);
    auto it = s.map.find(key);
    bool inserted = false;
    if (it == s.map.end()) {
      if (s.map.size() >= per_shard_) {
        evicted_.fetch_add(1, std::memory_order_relaxed);
        DropOldestLocked(s, on_drop);
      }
      it = s.map.emplace(std::string(key), Entry{}).first;
      s.order.push_back(&it->first);
      it->second.position = std::prev(s.order.end());
      inserted = true;
    } else {
      s.order.splice(s.order.end(), s.order, it->second.position);
    }
    it->second.time = time;
    fn(it->second.value, inserted);
  }

  // Calls fn(value_or_null, age_seconds) for `key` as seen at `time`; an
  // entry older than the ttl is passed as null (and dropped). When fn
  // returns true the entry is removed.
  template <typename Fn>
  void Find(std::string_view key, double time, Fn&& fn) {
    Shard& s = ShardOf(key);
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.map.find(key);
    if (it == s.map.end()) {
      fn(static_cast<V*>(nullptr), 0.0);
      return;
    }
    const double age = time - it->second.time;
    if (age > ttl_) {
      fn(static_cast<V*>(nullptr), age);
      return;
    }
    if (fn(&it->second.value, age)) {
      s.order.erase(it->second.position);
      s.map.erase(it);
    }
  }

  // Expires entries older than the ttl behind `now` (Unix seconds) in every
  // shard, calling on_drop(key, value) for each.
  template <typename Drop>
  void ExpireAll(double now, Drop&& on_drop) {
    for (Shard& s : shards_) {
      std::lock_guard<std::mutex> lock(s.mu);
      if (now > s.newest) s.newest = now;
      ExpireLocked(s, on_drop);
    }
  }

  size_t size() const {
    size_t n = 0;
    for (const Shard& s : shards_) {
      std::lock_guard<std::mutex> lock(s.mu);
      n += s.map.size();
    }
    return n;
  }
  uint64_t evicted() const { return evicted_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    V value{};
    double time = 0;
    typename std::list<const std::string*>::iterator position;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry, StringHash, StringEq> map;
    std::list<const std::string*> order;  // least recently touched first
    double newest = 0;
  };

  Shard& ShardOf(std::string_view key) {
    return shards_[StringHash{}(key) % shards_.size()];
  }

  template <typename Drop>
  void DropOldestLocked(Shard& s, Drop& on_drop) {
    auto it = s.map.find(*s.order.front());
    s.order.pop_front();
    on_drop(it->first, it->second.value);
    s.map.erase(it);
  }

  template <typename Drop>
  void ExpireLocked(Shard& s, Drop& on_drop) {
    while (!s.order.empty()) {
      auto it = s.map.find(*s.order.front());
      if (s.newest - it->second.time <= ttl_) break;
      DropOldestLocked(s, on_drop);
    }
  }

  const double ttl_;
  const size_t per_shard_;
  std::vector<Shard> shards_;
  std::atomic<uint64_t> evicted_{0};
};

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_CORE_JOIN_TABLE_H_
