#include "ml_exporter/model_table.h"

#include "core/label_value.h"

namespace ml_exporter {

ModelTable::ModelTable(size_t max_models, size_t max_label_length)
    : max_models_(max_models),
      max_label_length_(max_label_length),
      labels_(new ModelLabels[max_models + 1]) {}

ModelId ModelTable::Intern(std::string_view model, std::string_view version,
                           std::string_view stage, bool* overflowed) {
  if (overflowed != nullptr) *overflowed = false;
  if (version.empty()) version = "none";
  if (stage.empty()) stage = "none";
  std::string key;
  key.reserve(model.size() + version.size() + stage.size() + 2);
  key.append(model).push_back('\0');
  key.append(version).push_back('\0');
  key.append(stage);

  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = ids_.find(key); it != ids_.end()) {
    if (it->second == overflow_id_) {
      overflowed_.fetch_add(1, std::memory_order_relaxed);
      if (overflowed != nullptr) *overflowed = true;
    }
    return it->second;
  }
  const size_t n = size_.load(std::memory_order_relaxed);
  if (overflow_id_ == UINT32_MAX && n < max_models_) {
    ModelLabels labels{internal::SanitizeLabelValue(model, max_label_length_),
                       internal::SanitizeLabelValue(version, max_label_length_),
                       internal::SanitizeLabelValue(stage, max_label_length_)};
    // Distinct raw triples can sanitize to the same labels: share the id.
    for (size_t id = 0; id < n; ++id) {
      const ModelLabels& l = labels_[id];
      if (l.model == labels.model && l.version == labels.version &&
          l.stage == labels.stage) {
        ids_.emplace(std::move(key), static_cast<ModelId>(id));
        return static_cast<ModelId>(id);
      }
    }
    labels_[n] = std::move(labels);
    ids_.emplace(std::move(key), static_cast<ModelId>(n));
    size_.store(n + 1, std::memory_order_release);
    return static_cast<ModelId>(n);
  }
  if (overflow_id_ == UINT32_MAX) {
    overflow_id_ = static_cast<ModelId>(n);
    std::string other(internal::kOverflowLabel);
    labels_[n] = ModelLabels{other, other, other};
    size_.store(n + 1, std::memory_order_release);
  }
  overflowed_.fetch_add(1, std::memory_order_relaxed);
  if (overflowed != nullptr) *overflowed = true;
  return overflow_id_;
}

const ModelLabels& ModelTable::labels(ModelId id) const { return labels_[id]; }

}  // namespace ml_exporter
