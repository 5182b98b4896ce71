// PerThread<T>: one T per thread that touches it, all reachable for a
// scrape-time merge.
//
// The ingest hot path updates its own thread's T without any shared lock;
// Collect() visits every T. Instances outlive their threads, so counts
// written by a thread that has exited are still merged.
#ifndef ML_EXPORTER_CORE_PER_THREAD_H_
#define ML_EXPORTER_CORE_PER_THREAD_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace ml_exporter::internal {

// A PerThread's place in every thread's lookup table. Indexes are reused
// once their PerThread is destroyed (so the tables stay as long as the
// most PerThreads alive at once, however many reloads built new ones);
// generations never are, so a thread's stale entry for a destroyed
// PerThread never matches the PerThread that took its index.
struct PerThreadSlot {
  uint32_t index = 0;
  uint64_t generation = 0;  // 0: never issued
};
PerThreadSlot AcquirePerThreadSlot();
void ReleasePerThreadSlot(uint32_t index);

// One thread's entry for a slot index: the instance of the PerThread of
// that generation.
struct ThreadSlotEntry {
  uint64_t generation = 0;
  void* instance = nullptr;
};
// The calling thread's table: it owns the entries. Grown only by
// PerThread::Local's slow path.
std::vector<ThreadSlotEntry>& ThreadSlots();

// The same table as a pointer and a size, which Local's fast path reads: a
// constant-initialized, trivially destructible thread_local with the
// initial-exec model is one %fs-relative load, where the vector costs a
// call and a __tls_get_addr lookup (2% of a record's instructions).
// Initial-exec needs the library loaded with the program, not dlopen()ed
// later, as libml_exporter is (plugins that dlopen() against it find it
// loaded).
struct ThreadSlotView {
  ThreadSlotEntry* data = nullptr;
  size_t size = 0;
};
inline thread_local ThreadSlotView thread_slot_view
    __attribute__((tls_model("initial-exec")));

template <typename T>
class PerThread {
 public:
  PerThread() : slot_(AcquirePerThreadSlot()) {}
  ~PerThread() { ReleasePerThreadSlot(slot_.index); }
  PerThread(const PerThread&) = delete;
  PerThread& operator=(const PerThread&) = delete;

  // This thread's instance, created (with `args`) on first use.
  template <typename... Args>
  T& Local(Args&&... args) {
    const ThreadSlotView view = thread_slot_view;
    if (slot_.index < view.size &&
        view.data[slot_.index].generation == slot_.generation) {
      return *static_cast<T*>(view.data[slot_.index].instance);
    }
    std::vector<ThreadSlotEntry>& slots = ThreadSlots();
    auto instance = std::make_unique<T>(std::forward<Args>(args)...);
    T* raw = instance.get();
    {
      std::lock_guard<std::mutex> lock(mu_);
      instances_.push_back(std::move(instance));
    }
    if (slots.size() <= slot_.index) slots.resize(slot_.index + 1);
    slots[slot_.index] = {slot_.generation, raw};
    thread_slot_view = {slots.data(), slots.size()};
    return *raw;
  }

  // Calls fn(T&) for every instance. Instances created meanwhile may or may
  // not be visited.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    std::vector<T*> all;
    {
      std::lock_guard<std::mutex> lock(mu_);
      all.reserve(instances_.size());
      for (const auto& i : instances_) all.push_back(i.get());
    }
    for (T* t : all) fn(*t);
  }

 private:
  const PerThreadSlot slot_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<T>> instances_;
};

// A counter cell written by one thread and read by any: relaxed atomics
// that compile to plain loads and stores (no locked read-modify-write).
class OwnedCounter {
 public:
  void Add(uint64_t n) {
    value_.store(value_.load(std::memory_order_relaxed) + n,
                 std::memory_order_relaxed);
  }
  uint64_t Get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class OwnedSum {
 public:
  void Add(double v) {
    value_.store(value_.load(std::memory_order_relaxed) + v,
                 std::memory_order_relaxed);
  }
  double Get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_CORE_PER_THREAD_H_
