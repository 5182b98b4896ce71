// IngestLimiter: the budget of ingest work in flight. Every ingest path
// (HTTP bodies, followed files, standard input) takes a slot before it
// decodes and observes a batch, so that at most `slots` batches are being
// processed at once and their buffers bound the memory ingest can use.
//
// HTTP callers queue for a slot for a short, bounded time and are then
// turned away (the server answers 429), so ingest can never occupy every
// HTTP worker: /metrics and the health checks keep being served. File and
// standard-input readers wait as long as it takes, which slows their
// reading down instead of dropping lines (back-pressure).
#ifndef ML_EXPORTER_EXPORTER_INGEST_LIMITER_H_
#define ML_EXPORTER_EXPORTER_INGEST_LIMITER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace ml_exporter::internal {

class IngestLimiter {
 public:
  // `slots` (at least 1) batches processed at once; at most `max_waiting`
  // HTTP callers queue for a slot (0: a busy limiter rejects at once).
  IngestLimiter(size_t slots, size_t max_waiting);

  // A held slot; released by its destructor. `index()` is in [0, slots) and
  // unique among held slots, so callers can keep per-slot buffers.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&& other) noexcept;
    ~Slot();
    bool held() const { return limiter_ != nullptr; }
    size_t index() const { return index_; }

   private:
    friend class IngestLimiter;
    Slot(IngestLimiter* limiter, size_t index)
        : limiter_(limiter), index_(index) {}
    IngestLimiter* limiter_ = nullptr;
    size_t index_ = 0;
  };

  // For HTTP: a free slot, or one that frees up within `wait` when fewer
  // than max_waiting callers are already queued. An empty Slot means the
  // budget is exhausted: answer 429.
  Slot TryAcquire(std::chrono::milliseconds wait);

  // For readers that can slow down: waits until a slot is free or `stop`
  // is true (checked at least every 100 ms); an empty Slot only on stop.
  Slot Acquire(const std::atomic<bool>& stop);

  size_t slots() const { return slots_; }
  size_t max_waiting() const { return max_waiting_; }
  size_t in_flight() const;
  size_t waiting() const;
  // Callers of TryAcquire that got no slot.
  uint64_t rejected() const {
    return rejected_.load(std::memory_order_relaxed);
  }
  // Times Acquire had to wait for a slot (back-pressure on readers).
  uint64_t reader_waits() const {
    return reader_waits_.load(std::memory_order_relaxed);
  }

 private:
  void Release(size_t index);

  const size_t slots_;
  const size_t max_waiting_;
  mutable std::mutex mu_;
  std::condition_variable freed_;
  std::vector<size_t> free_;  // indices of free slots
  size_t waiting_ = 0;
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> reader_waits_{0};
};

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_EXPORTER_INGEST_LIMITER_H_
