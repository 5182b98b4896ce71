#include "core/per_thread.h"

namespace ml_exporter::internal {
namespace {

struct SlotRegistry {
  std::mutex mu;
  uint32_t next_index = 0;
  uint64_t next_generation = 1;
  std::vector<uint32_t> free_indexes;
};

SlotRegistry& Registry() {
  static SlotRegistry* const registry = new SlotRegistry;  // never destroyed
  return *registry;
}

}  // namespace

PerThreadSlot AcquirePerThreadSlot() {
  SlotRegistry& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  PerThreadSlot slot;
  if (r.free_indexes.empty()) {
    slot.index = r.next_index++;
  } else {
    slot.index = r.free_indexes.back();
    r.free_indexes.pop_back();
  }
  slot.generation = r.next_generation++;
  return slot;
}

void ReleasePerThreadSlot(uint32_t index) {
  SlotRegistry& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.free_indexes.push_back(index);
}

std::vector<ThreadSlotEntry>& ThreadSlots() {
  thread_local std::vector<ThreadSlotEntry> slots;
  return slots;
}

}  // namespace ml_exporter::internal
