#include "exporter/ingest_limiter.h"

#include <algorithm>

namespace ml_exporter::internal {

IngestLimiter::IngestLimiter(size_t slots, size_t max_waiting)
    : slots_(std::max<size_t>(slots, 1)), max_waiting_(max_waiting) {
  free_.reserve(slots_);
  for (size_t i = slots_; i > 0; --i) free_.push_back(i - 1);
}

IngestLimiter::Slot::Slot(Slot&& other) noexcept
    : limiter_(other.limiter_), index_(other.index_) {
  other.limiter_ = nullptr;
}

IngestLimiter::Slot& IngestLimiter::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    if (limiter_ != nullptr) limiter_->Release(index_);
    limiter_ = other.limiter_;
    index_ = other.index_;
    other.limiter_ = nullptr;
  }
  return *this;
}

IngestLimiter::Slot::~Slot() {
  if (limiter_ != nullptr) limiter_->Release(index_);
}

IngestLimiter::Slot IngestLimiter::TryAcquire(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  if (free_.empty()) {
    if (waiting_ >= max_waiting_ || wait.count() <= 0) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return Slot();
    }
    ++waiting_;
    const bool got =
        freed_.wait_for(lock, wait, [this] { return !free_.empty(); });
    --waiting_;
    if (!got) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return Slot();
    }
  }
  const size_t index = free_.back();
  free_.pop_back();
  return Slot(this, index);
}

IngestLimiter::Slot IngestLimiter::Acquire(const std::atomic<bool>& stop) {
  std::unique_lock<std::mutex> lock(mu_);
  bool counted = false;
  while (free_.empty()) {
    if (stop) return Slot();
    if (!counted) {
      reader_waits_.fetch_add(1, std::memory_order_relaxed);
      counted = true;
    }
    freed_.wait_for(lock, std::chrono::milliseconds(100));
  }
  const size_t index = free_.back();
  free_.pop_back();
  return Slot(this, index);
}

void IngestLimiter::Release(size_t index) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(index);
  }
  freed_.notify_one();
}

size_t IngestLimiter::in_flight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return slots_ - free_.size();
}

size_t IngestLimiter::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_;
}

}  // namespace ml_exporter::internal
