#include "media/feature_metrics.h"

#include "ml_exporter/metric_builder.h"

namespace ml_exporter::media {

using internal::CappedInterner;
using internal::HistogramSnapshot;

FeatureMetrics::Cells::Cells(const FeatureMetrics& metrics)
    : metrics_(metrics),
      counters_(metrics.counter_cells_),
      active_(new std::atomic<bool>[metrics.counter_defs_.size()]) {
  for (const internal::BucketEdges& e : metrics.edges_) {
    histograms_.emplace_back(e.bucket_count());
  }
  for (size_t i = 0; i < metrics.counter_defs_.size(); ++i) {
    active_[i].store(false, std::memory_order_relaxed);
  }
}

FeatureMetrics::FeatureMetrics(const CollectorContext& context,
                               std::vector<HistogramDef> histograms,
                               std::vector<CounterDef> counters)
    : max_features_(context.options->max_features),
      max_label_length_(context.options->max_label_length),
      cardinality_(context.cardinality),
      histogram_defs_(std::move(histograms)),
      counter_defs_(std::move(counters)),
      model_slots_(context.options->max_models + 1),
      names_(new std::atomic<CappedInterner*>[model_slots_]) {
  for (const HistogramDef& h : histogram_defs_) edges_.emplace_back(h.edges);
  for (const CounterDef& c : counter_defs_) {
    counter_offset_.push_back(counter_cells_);
    counter_cells_ += c.label.empty() ? 1 : c.values.size();
  }
  for (size_t i = 0; i < model_slots_; ++i) names_[i] = nullptr;
}

CappedInterner& FeatureMetrics::Names(ModelId model) {
  CappedInterner* names = names_[model].load(std::memory_order_acquire);
  if (names != nullptr) return *names;
  std::lock_guard<std::mutex> lock(names_mu_);
  names = names_[model].load(std::memory_order_relaxed);
  if (names == nullptr) {
    owned_names_.push_back(
        std::make_unique<CappedInterner>(max_features_, max_label_length_));
    names = owned_names_.back().get();
    names_[model].store(names, std::memory_order_release);
  }
  return *names;
}

const CappedInterner* FeatureMetrics::NamesIfAny(ModelId model) const {
  return model < model_slots_ ? names_[model].load(std::memory_order_acquire)
                              : nullptr;
}

FeatureMetrics::Cells& FeatureMetrics::Local(ModelId model,
                                             std::string_view feature) {
  // The pipeline's model ids are below max_models + 1; stay in bounds if a
  // caller breaks that.
  if (model >= model_slots_) model = static_cast<ModelId>(model_slots_ - 1);
  Shard& shard = shards_.Local();
  ModelFeatures& features = shard.At(model);
  if (auto it = features.ids.find(feature); it != features.ids.end()) {
    return features.features[it->second];
  }
  const CappedInterner::Result r = Names(model).Intern(feature);
  if (features.features.size() <= r.id) {
    std::lock_guard<std::mutex> lock(shard.mu);
    while (features.features.size() <= r.id) {
      features.features.emplace_back(*this);
    }
  }
  if (r.overflow) {
    cardinality_->AddOverflow(CardinalityLimit::kFeatures);
  } else {
    features.ids.emplace(std::string(feature), r.id);
  }
  return features.features[r.id];
}

void FeatureMetrics::Collect(const ModelTable& models,
                             std::vector<prometheus::MetricFamily>* out) const {
  struct Merged {
    std::vector<HistogramSnapshot> histograms;
    std::vector<uint64_t> counters;
    std::vector<bool> active;
  };
  const size_t n = std::min(models.size(), model_slots_);
  std::vector<std::vector<std::string>> names(n);
  std::vector<std::vector<Merged>> merged(n);
  for (ModelId m = 0; m < n; ++m) {
    if (const CappedInterner* interner = NamesIfAny(m)) {
      names[m] = interner->Names();
    }
    merged[m].resize(names[m].size());
    for (Merged& g : merged[m]) {
      g.histograms.resize(histogram_defs_.size());
      g.counters.assign(counter_cells_, 0);
      g.active.assign(counter_defs_.size(), false);
    }
  }
  shards_.ForEach([&](Shard& shard) {
    std::lock_guard<std::mutex> lock(shard.mu);
    for (ModelId m = 0; m < shard.size() && m < n; ++m) {
      const ModelFeatures& features = shard.at(m);
      for (size_t f = 0; f < features.features.size() && f < merged[m].size();
           ++f) {
        const Cells& c = features.features[f];
        Merged& g = merged[m][f];
        for (size_t h = 0; h < histogram_defs_.size(); ++h) {
          g.histograms[h].Add(c.histograms_[h]);
        }
        for (size_t k = 0; k < counter_cells_; ++k) {
          g.counters[k] += c.counters_[k].Get();
        }
        for (size_t k = 0; k < counter_defs_.size(); ++k) {
          if (c.active_[k].load(std::memory_order_relaxed)) g.active[k] = true;
        }
      }
    }
  });

  for (size_t h = 0; h < histogram_defs_.size(); ++h) {
    const HistogramDef& def = histogram_defs_[h];
    auto family =
        NewFamily(def.name, def.help, prometheus::MetricType::Histogram);
    for (ModelId m = 0; m < n; ++m) {
      for (size_t f = 0; f < merged[m].size(); ++f) {
        const HistogramSnapshot& s = merged[m][f].histograms[h];
        uint64_t count = 0;
        for (uint64_t c : s.counts) count += c;
        if (count == 0) continue;
        AddHistogram(
            &family,
            ModelLabelList(models.labels(m), {{"feature", names[m][f]}}),
            edges_[h].edges(), s.counts, s.sum);
      }
    }
    AppendIfNotEmpty(std::move(family), out);
  }
  for (size_t k = 0; k < counter_defs_.size(); ++k) {
    const CounterDef& def = counter_defs_[k];
    auto family =
        NewFamily(def.name, def.help, prometheus::MetricType::Counter);
    for (ModelId m = 0; m < n; ++m) {
      for (size_t f = 0; f < merged[m].size(); ++f) {
        const Merged& g = merged[m][f];
        if (!g.active[k]) continue;
        const size_t values = def.label.empty() ? 1 : def.values.size();
        for (size_t v = 0; v < values; ++v) {
          LabelList labels =
              ModelLabelList(models.labels(m), {{"feature", names[m][f]}});
          for (const auto& [name, value] : def.fixed_labels) {
            labels.push_back({name, value});
          }
          if (!def.label.empty()) labels.push_back({def.label, def.values[v]});
          AddCounter(&family, std::move(labels),
                     static_cast<double>(g.counters[counter_offset_[k] + v]));
        }
      }
    }
    AppendIfNotEmpty(std::move(family), out);
  }
}

}  // namespace ml_exporter::media
