// ModelTable: interns (model, version, stage) triples to dense ids, with a
// cap on how many exist.
#ifndef ML_EXPORTER_MODEL_TABLE_H_
#define ML_EXPORTER_MODEL_TABLE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ml_exporter {

using ModelId = uint32_t;

// The label values of one model series, as exported.
struct ModelLabels {
  std::string model;
  std::string version;
  std::string stage;
};

class ModelTable {
 public:
  // `max_models` distinct triples get their own id; every further triple
  // maps to one overflow id labelled "__other__". `max_label_length` bounds
  // each label value.
  ModelTable(size_t max_models, size_t max_label_length);

  // Thread-safe. Empty version or stage become "none". `*overflowed` (if
  // given) is set to whether this call returned the overflow id.
  ModelId Intern(std::string_view model, std::string_view version,
                 std::string_view stage, bool* overflowed = nullptr);

  // Ids [0, size()) are valid; labels of an id never change.
  size_t size() const { return size_.load(std::memory_order_acquire); }
  const ModelLabels& labels(ModelId id) const;

  // How many Intern calls were sent to the overflow id.
  uint64_t overflowed() const {
    return overflowed_.load(std::memory_order_relaxed);
  }

 private:
  const size_t max_models_;
  const size_t max_label_length_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, ModelId> ids_;  // key: model\0version\0stage
  // max_models + 1 slots, allocated once so readers never race a resize.
  std::unique_ptr<ModelLabels[]> labels_;
  std::atomic<size_t> size_{0};
  ModelId overflow_id_ = UINT32_MAX;
  std::atomic<uint64_t> overflowed_{0};
};

}  // namespace ml_exporter

#endif  // ML_EXPORTER_MODEL_TABLE_H_
