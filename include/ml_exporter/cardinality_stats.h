// CardinalityStats: how often a cap on data-derived label values was hit,
// exported as ml_exporter_cardinality_overflow_total{limit}.
#ifndef ML_EXPORTER_CARDINALITY_STATS_H_
#define ML_EXPORTER_CARDINALITY_STATS_H_

#include <atomic>
#include <cstdint>
#include <string_view>

namespace ml_exporter {

enum class CardinalityLimit : uint8_t {
  kModels,       // --max_models
  kFeatures,     // --max_features
  kOutputs,      // --max_outputs
  kLabelValues,  // --max_label_values
  kCount
};

std::string_view LimitName(CardinalityLimit limit);

class CardinalityStats {
 public:
  // Counts one value sent to "__other__" because `limit` was reached.
  void AddOverflow(CardinalityLimit limit) {
    overflow_[static_cast<size_t>(limit)].fetch_add(1,
                                                    std::memory_order_relaxed);
  }
  uint64_t overflow(CardinalityLimit limit) const {
    return overflow_[static_cast<size_t>(limit)].load(
        std::memory_order_relaxed);
  }

 private:
  std::atomic<uint64_t>
      overflow_[static_cast<size_t>(CardinalityLimit::kCount)] = {};
};

}  // namespace ml_exporter

#endif  // ML_EXPORTER_CARDINALITY_STATS_H_
