#include "core/per_thread.h"

namespace ml_exporter::internal {

uint64_t NewPerThreadSlot() {
  static std::atomic<uint64_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed);
}

std::vector<void*>& ThreadSlots() {
  thread_local std::vector<void*> slots;
  return slots;
}

}  // namespace ml_exporter::internal
