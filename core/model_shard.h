// ModelShard<Cells>: one thread's cells for every model id, grown on demand.
#ifndef ML_EXPORTER_CORE_MODEL_SHARD_H_
#define ML_EXPORTER_CORE_MODEL_SHARD_H_

#include <deque>
#include <mutex>
#include <vector>

#include "ml_exporter/model_table.h"

namespace ml_exporter::internal {

// Only the owning thread grows or writes the cells; a scrape reads them
// while holding `mu`, which the owner also holds while growing. Cells are
// never moved once created (a deque keeps addresses); the owner finds them
// through a vector of their addresses (one load, where indexing a deque
// costs a division and two).
template <typename Cells>
class ModelShard {
 public:
  template <typename... Args>
  Cells& At(ModelId id, const Args&... args) {
    if (id >= by_id_.size()) {
      std::lock_guard<std::mutex> lock(mu);
      while (cells_.size() <= id) {
        cells_.emplace_back(args...);
        by_id_.push_back(&cells_.back());
      }
    }
    return *by_id_[id];
  }

  // Under `mu`.
  size_t size() const { return cells_.size(); }
  const Cells& at(ModelId id) const { return cells_[id]; }
  Cells& mutable_at(ModelId id) { return cells_[id]; }

  std::mutex mu;

 private:
  std::deque<Cells> cells_;
  std::vector<Cells*> by_id_;  // &cells_[id]; only the owner reads it
};

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_CORE_MODEL_SHARD_H_
