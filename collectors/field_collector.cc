#include "collectors/field_collector.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>

#include "core/histogram.h"
#include "core/label_value.h"
#include "core/model_shard.h"
#include "core/per_thread.h"
#include "core/string_index.h"
#include "ml_exporter/metric_builder.h"
#include "profile/reference.h"

namespace ml_exporter {
namespace {

using internal::BucketEdges;
using internal::CappedInterner;
using internal::HistogramCells;
using internal::HistogramSnapshot;
using internal::LearnedEdges;
using internal::OwnedCounter;
using internal::StringIndex;

// What differs between the inputs and the outputs collector.
struct SideTraits {
  const char* observations;
  const char* missing;
  const char* missing_help;
  const char* value;
  const char* category;
  const char* length;  // null: no length histogram
  const char* label;   // "feature" or "output"
  CardinalityLimit limit;
  bool empty_is_null;  // "" and [] count as null
};

constexpr SideTraits kInputTraits = {
    "ml_feature_observations_total",
    "ml_feature_missing_total",
    "Records in which the feature was null or absent (after it was first "
    "seen).",
    "ml_feature_value",
    "ml_feature_category_total",
    "ml_feature_length",
    "feature",
    CardinalityLimit::kFeatures,
    false};

constexpr SideTraits kOutputTraits = {
    "ml_output_observations_total",
    "ml_output_null_total",
    "Records in which the output was null, an empty string, an empty list, "
    "or absent (after it was first seen).",
    "ml_output_value",
    "ml_output_category_total",
    nullptr,
    "output",
    CardinalityLimit::kOutputs,
    true};

// Cross-thread state of one field of one model.
struct FieldInfo {
  FieldInfo(std::string label, std::vector<double> explicit_edges,
            const PipelineOptions& options)
      : label(std::move(label)),
        value_edges(std::move(explicit_edges), options.histogram_warmup_values,
                    options.histogram_quantile_buckets),
        categories(options.max_label_values, options.max_label_length) {}
  const std::string label;
  LearnedEdges value_edges;
  CappedInterner categories;
};

// Cross-thread state of one model: its fields, discovered from the data.
struct ModelFields {
  ModelFields(size_t cap, size_t max_label_length)
      : names(cap, max_label_length) {}
  std::mutex mu;
  CappedInterner names;
  std::deque<FieldInfo> fields;  // by id; grown under mu
  // Fields [0, count) exist; published after they are built.
  std::atomic<uint32_t> count{0};
  std::atomic<uint32_t> overflow_id{UINT32_MAX};
  // The model's reference profile (--reference), whose bin edges its
  // numeric fields use; null when it has none.
  std::shared_ptr<const profile::PreparedProfile> reference;
};

// One thread's cells for one field.
struct FieldCells {
  explicit FieldCells(FieldInfo* info) : info(info) {}
  FieldInfo* const info;
  OwnedCounter observations;
  OwnedCounter missing;
  const BucketEdges* edges = nullptr;  // of info->value_edges, once frozen
  std::unique_ptr<HistogramCells> value;
  std::unique_ptr<HistogramCells> length;
  std::deque<OwnedCounter> categories;        // by category id
  std::vector<OwnedCounter*> category_cells;  // &categories[id]
  StringIndex category_ids;                   // admitted values only: bounded
  uint64_t last_seen = 0;
  // The field's name as it arrives in records, once this thread has
  // admitted it (in field_ids).
  std::string raw_name;
};

// One thread's cells for one model.
struct ModelCells {
  std::deque<FieldCells> fields;  // by field id
  // &fields[id]: indexing a deque costs a division and two loads per
  // field per record on the hot path; this is one load.
  std::vector<FieldCells*> by_id;
  StringIndex field_ids;  // admitted names only: bounded
  // The field's cells by position in the last record (nullptr: not
  // admitted). Streams repeat the same fields in the same order, so a name
  // is usually checked against one candidate instead of being hashed.
  std::vector<FieldCells*> shape;
  uint64_t seq = 0;
};

class FieldCollector : public Collector {
 public:
  FieldCollector(const CollectorContext& context, const SideTraits& traits)
      : options_(*context.options),
        cardinality_(context.cardinality),
        traits_(traits),
        cap_(traits.limit == CardinalityLimit::kFeatures
                 ? options_.max_features
                 : options_.max_outputs),
        length_edges_(options_.length_buckets),
        models_(new std::atomic<ModelFields*>[options_.max_models + 1]),
        include_(context.include.begin(), context.include.end()),
        exclude_(context.exclude.begin(), context.exclude.end()),
        filtered_(!include_.empty() || !exclude_.empty()) {
    for (size_t i = 0; i <= options_.max_models; ++i) models_[i] = nullptr;
  }

  void Observe(const Record& record, const ObserveContext& context) override {
    const std::vector<Field>& fields =
        traits_.limit == CardinalityLimit::kFeatures ? record.inputs
                                                     : record.outputs;
    ModelFields& global = Global(context.model_id, record);
    internal::ModelShard<ModelCells>& shard = shards_.Local();
    ModelCells& cells = shard.At(context.model_id);
    const uint64_t seq = ++cells.seq;
    // Loop bounds and tables in locals: the counter stores below may alias
    // them as far as the compiler knows, which would reload each per field.
    const Field* const field_data = fields.data();
    const size_t field_count = fields.size();
    if (cells.shape.size() < field_count) {
      cells.shape.resize(field_count, nullptr);
    }
    FieldCells** const shape = cells.shape.data();
    const std::vector<FieldValue>& list_items = record.list_items;
    uint32_t distinct = 0;  // fields of this record, each counted once
    for (size_t position = 0; position < field_count; ++position) {
      const Field& field = field_data[position];
      if (filtered_ && !Watched(field.name)) continue;
      FieldCells& f =
          CellsAt(shard, global, cells, &shape[position], field.name);
      distinct += f.last_seen != seq ? 1 : 0;
      f.last_seen = seq;
      f.observations.Add(1);
      ObserveValue(shard, f, field.value, list_items);
    }
    // A field this model has sent before but this record lacks is missing.
    // Ids only grow, so a record with as many distinct fields as there are
    // ids has them all: nothing to look for (the usual record).
    const uint32_t known = global.count.load(std::memory_order_acquire);
    if (distinct == known) return;
    if (cells.fields.size() < known) Grow(shard, global, cells, known);
    const uint32_t overflow =
        global.overflow_id.load(std::memory_order_relaxed);
    for (uint32_t id = 0; id < known; ++id) {
      FieldCells& f = *cells.by_id[id];
      if (f.last_seen != seq && id != overflow) {
        f.observations.Add(1);
        f.missing.Add(1);
      }
    }
  }

  Status Collect(const ModelTable& models,
                 std::vector<prometheus::MetricFamily>* out) override {
    struct Merged {
      uint64_t observations = 0;
      uint64_t missing = 0;
      HistogramSnapshot value;
      HistogramSnapshot length;
      std::vector<uint64_t> categories;
    };
    const size_t n = models.size();
    std::vector<std::vector<Merged>> merged(n);
    std::vector<std::vector<FieldInfo*>> infos(n);
    for (ModelId m = 0; m < n; ++m) {
      ModelFields* global = models_[m].load(std::memory_order_acquire);
      if (global == nullptr) continue;
      std::lock_guard<std::mutex> lock(global->mu);
      for (FieldInfo& info : global->fields) infos[m].push_back(&info);
      merged[m].resize(infos[m].size());
    }
    // Clamped: converting a duration the clock cannot hold is undefined
    // (and in practice negative, which would freeze every histogram).
    using Clock = std::chrono::steady_clock;
    const std::chrono::duration<double> warmup(
        options_.histogram_warmup_seconds);
    const Clock::duration max_age =
        warmup >= Clock::duration::max()
            ? Clock::duration::max()
            : std::chrono::duration_cast<Clock::duration>(warmup);
    for (ModelId m = 0; m < n; ++m) {
      for (size_t f = 0; f < infos[m].size(); ++f) {
        infos[m][f]->value_edges.FreezeIfOlderThan(max_age);
        merged[m][f].value = infos[m][f]->value_edges.WarmupSnapshot();
      }
    }
    shards_.ForEach([&](internal::ModelShard<ModelCells>& shard) {
      std::lock_guard<std::mutex> lock(shard.mu);
      for (ModelId m = 0; m < shard.size() && m < n; ++m) {
        const ModelCells& cells = shard.at(m);
        for (size_t f = 0; f < cells.fields.size() && f < merged[m].size();
             ++f) {
          const FieldCells& c = cells.fields[f];
          Merged& g = merged[m][f];
          g.observations += c.observations.Get();
          g.missing += c.missing.Get();
          if (c.value) g.value.Add(*c.value);
          if (c.length) g.length.Add(*c.length);
          if (g.categories.size() < c.categories.size()) {
            g.categories.resize(c.categories.size(), 0);
          }
          for (size_t k = 0; k < c.categories.size(); ++k) {
            g.categories[k] += c.categories[k].Get();
          }
        }
      }
    });

    const std::string label = traits_.label;
    auto observations = NewFamily(
        traits_.observations,
        "Records that carried the field, or lacked it after it was first seen.",
        prometheus::MetricType::Counter);
    auto missing = NewFamily(traits_.missing, traits_.missing_help,
                             prometheus::MetricType::Counter);
    auto value = NewFamily(
        traits_.value,
        "Numeric values of the field. Bucket edges are given in the options "
        "or chosen from quantiles of the first values, then fixed.",
        prometheus::MetricType::Histogram);
    auto category = NewFamily(
        traits_.category,
        "String and boolean values of the field, by value; values past the "
        "per-field limit are counted as \"__other__\".",
        prometheus::MetricType::Counter);
    auto length = NewFamily(
        traits_.length ? traits_.length : "",
        "Length in characters (Unicode code points) of string values.",
        prometheus::MetricType::Histogram);
    for (ModelId m = 0; m < n; ++m) {
      const ModelLabels& model = models.labels(m);
      for (size_t f = 0; f < infos[m].size(); ++f) {
        const FieldInfo& info = *infos[m][f];
        const Merged& g = merged[m][f];
        const auto labels = [&] {
          return ModelLabelList(model, {{label, info.label}});
        };
        AddCounter(&observations, labels(),
                   static_cast<double>(g.observations));
        AddCounter(&missing, labels(), static_cast<double>(g.missing));
        if (const BucketEdges* edges = info.value_edges.edges();
            edges != nullptr && !g.value.counts.empty()) {
          AddHistogram(&value, labels(), edges->edges(), g.value.counts,
                       g.value.sum);
        }
        if (traits_.length != nullptr && !g.length.counts.empty()) {
          AddHistogram(&length, labels(), length_edges_.edges(),
                       g.length.counts, g.length.sum);
        }
        if (!g.categories.empty()) {
          const std::vector<std::string> names = info.categories.Names();
          for (size_t k = 0; k < g.categories.size() && k < names.size(); ++k) {
            AddCounter(&category,
                       ModelLabelList(
                           model, {{label, info.label}, {"value", names[k]}}),
                       static_cast<double>(g.categories[k]));
          }
        }
      }
    }
    AppendIfNotEmpty(std::move(observations), out);
    AppendIfNotEmpty(std::move(missing), out);
    AppendIfNotEmpty(std::move(value), out);
    AppendIfNotEmpty(std::move(category), out);
    if (traits_.length != nullptr) AppendIfNotEmpty(std::move(length), out);
    return Status::Ok();
  }

 private:
  bool Watched(std::string_view name) const {
    if (exclude_.find(name) != exclude_.end()) return false;
    return include_.empty() || include_.find(name) != include_.end();
  }

  ModelFields& Global(ModelId id, const Record& record) {
    ModelFields* global = models_[id].load(std::memory_order_acquire);
    if (global != nullptr) return *global;
    std::lock_guard<std::mutex> lock(models_mu_);
    global = models_[id].load(std::memory_order_relaxed);
    if (global == nullptr) {
      owned_models_.push_back(
          std::make_unique<ModelFields>(cap_, options_.max_label_length));
      global = owned_models_.back().get();
      global->reference = ReferenceOf(id, record);
      models_[id].store(global, std::memory_order_release);
    }
    return *global;
  }

  // The reference profile of the record's model (docs/drift.md); its load
  // errors are the drift collector's to report.
  std::shared_ptr<const profile::PreparedProfile> ReferenceOf(
      ModelId id, const Record& record) const {
    if (options_.references.empty() || id >= options_.max_models) {
      return nullptr;  // none given, or the "__other__" model
    }
    const ReferenceSpec* spec =
        profile::FindReference(options_.references, record.model,
                               record.version.empty() ? "none" : record.version,
                               record.stage.empty() ? "none" : record.stage);
    if (spec == nullptr) return nullptr;
    Status status;
    return profile::LoadReference(spec->path, &status);
  }

  // Edges for a numeric field without explicit ones: the reference
  // profile's, so that live and reference buckets line up.
  std::vector<double> ReferenceEdges(const ModelFields& global,
                                     const std::string& name) const {
    if (!global.reference) return {};
    const profile::PreparedField* field =
        traits_.limit == CardinalityLimit::kFeatures
            ? global.reference->Feature(name)
            : global.reference->Output(name);
    if (field == nullptr || field->kind != profile::v1::FieldProfile::NUMERIC ||
        !field->has_distribution) {
      return {};
    }
    return field->coarse_edges;
  }

  // Cells(`name`), trying first `*guess`: the cells of the field at this
  // position in the last record, which it then updates.
  FieldCells& CellsAt(internal::ModelShard<ModelCells>& shard,
                      ModelFields& global, ModelCells& cells,
                      FieldCells** guess, std::string_view name) {
    if (FieldCells* g = *guess;
        g != nullptr && internal::SameShortString(g->raw_name, name)) {
      return *g;
    }
    uint32_t admitted = StringIndex::kNotFound;
    FieldCells& f = Cells(shard, global, cells, name, &admitted);
    *guess =
        admitted == StringIndex::kNotFound ? nullptr : cells.by_id[admitted];
    return f;
  }

  // The field cells for `name`, interning it globally on first sight.
  // `*admitted`: its id unless it overflowed the cap.
  FieldCells& Cells(internal::ModelShard<ModelCells>& shard,
                    ModelFields& global, ModelCells& cells,
                    std::string_view name, uint32_t* admitted) {
    if (const uint32_t id = cells.field_ids.Find(name);
        id != StringIndex::kNotFound) {
      *admitted = id;
      return *cells.by_id[id];
    }
    uint32_t id;
    bool overflow;
    {
      std::lock_guard<std::mutex> lock(global.mu);
      const CappedInterner::Result r = global.names.Intern(name);
      id = r.id;
      overflow = r.overflow;
      while (global.fields.size() <= id) {
        const std::string field_label =
            global.names.Name(static_cast<uint32_t>(global.fields.size()));
        std::vector<double> explicit_edges;
        if (auto e = options_.explicit_buckets.find(field_label);
            e != options_.explicit_buckets.end()) {
          explicit_edges = e->second;
        } else {
          explicit_edges = ReferenceEdges(global, field_label);
        }
        global.fields.emplace_back(field_label, std::move(explicit_edges),
                                   options_);
      }
      if (overflow) global.overflow_id.store(id, std::memory_order_relaxed);
      if (global.count.load(std::memory_order_relaxed) < global.fields.size()) {
        global.count.store(static_cast<uint32_t>(global.fields.size()),
                           std::memory_order_release);
      }
    }
    if (cells.fields.size() <= id) Grow(shard, global, cells, id + 1);
    if (overflow) {
      cardinality_->AddOverflow(traits_.limit);
    } else {
      cells.field_ids.Insert(name, id);
      // Two raw names can share one id (they sanitize to one label); the
      // first one seen is the one the position check compares against.
      if (cells.fields[id].raw_name.empty()) cells.fields[id].raw_name = name;
      *admitted = id;
    }
    return cells.fields[id];
  }

  void Grow(internal::ModelShard<ModelCells>& shard, ModelFields& global,
            ModelCells& cells, size_t size) {
    std::lock_guard<std::mutex> global_lock(global.mu);
    std::lock_guard<std::mutex> shard_lock(shard.mu);
    while (cells.fields.size() < size &&
           cells.fields.size() < global.fields.size()) {
      cells.fields.emplace_back(&global.fields[cells.fields.size()]);
      cells.by_id.push_back(&cells.fields.back());
    }
  }

  void ObserveValue(internal::ModelShard<ModelCells>& shard, FieldCells& f,
                    const FieldValue& v,
                    const std::vector<FieldValue>& list_items) {
    switch (v.kind) {
      case FieldValue::Kind::kNull:
        f.missing.Add(1);
        return;
      case FieldValue::Kind::kNumber:
        ObserveNumber(shard, f, v.number);
        return;
      case FieldValue::Kind::kString:
        if (traits_.empty_is_null && v.text.empty()) f.missing.Add(1);
        ObserveString(shard, f, v.text);
        return;
      case FieldValue::Kind::kBool:
        ObserveCategory(shard, f, v.boolean ? "true" : "false");
        return;
      case FieldValue::Kind::kList:
        if (traits_.empty_is_null && v.list_size == 0) f.missing.Add(1);
        for (uint32_t i = 0; i < v.list_size; ++i) {
          const FieldValue& item = list_items[v.list_begin + i];
          switch (item.kind) {
            case FieldValue::Kind::kNumber:
              ObserveNumber(shard, f, item.number);
              break;
            case FieldValue::Kind::kString:
              ObserveString(shard, f, item.text);
              break;
            case FieldValue::Kind::kBool:
              ObserveCategory(shard, f, item.boolean ? "true" : "false");
              break;
            default:
              break;
          }
        }
        return;
    }
  }

  void ObserveNumber(internal::ModelShard<ModelCells>& shard, FieldCells& f,
                     double v) {
    if (!std::isfinite(v)) return;
    if (f.edges == nullptr) {
      const BucketEdges* edges = f.info->value_edges.edges();
      if (edges == nullptr) edges = f.info->value_edges.AddWarmup(v);
      if (edges == nullptr) return;  // buffered as a warm-up value
      std::lock_guard<std::mutex> lock(shard.mu);
      f.value = std::make_unique<HistogramCells>(edges->bucket_count());
      f.edges = edges;
    }
    f.value->Observe(f.edges->BucketOf(v), v);
  }

  void ObserveString(internal::ModelShard<ModelCells>& shard, FieldCells& f,
                     std::string_view s) {
    ObserveCategory(shard, f, s);
    if (traits_.length == nullptr) return;
    if (!f.length) {
      std::lock_guard<std::mutex> lock(shard.mu);
      f.length = std::make_unique<HistogramCells>(length_edges_.bucket_count());
    }
    const auto chars = static_cast<double>(internal::Utf8Length(s));
    f.length->Observe(length_edges_.BucketOf(chars), chars);
  }

  void ObserveCategory(internal::ModelShard<ModelCells>& shard, FieldCells& f,
                       std::string_view value) {
    uint32_t id = f.category_ids.Find(value);
    if (id == StringIndex::kNotFound) {
      const CappedInterner::Result r = f.info->categories.Intern(value);
      id = r.id;
      if (r.overflow) {
        cardinality_->AddOverflow(CardinalityLimit::kLabelValues);
      } else {
        f.category_ids.Insert(value, id);
      }
      if (f.categories.size() <= id) {
        std::lock_guard<std::mutex> lock(shard.mu);
        while (f.categories.size() <= id) {
          f.categories.emplace_back();
          f.category_cells.push_back(&f.categories.back());
        }
      }
    }
    f.category_cells[id]->Add(1);
  }

  const PipelineOptions& options_;
  CardinalityStats* const cardinality_;
  const SideTraits& traits_;
  const size_t cap_;
  const BucketEdges length_edges_;
  std::unique_ptr<std::atomic<ModelFields*>[]> models_;
  std::mutex models_mu_;
  std::vector<std::unique_ptr<ModelFields>> owned_models_;
  internal::PerThread<internal::ModelShard<ModelCells>> shards_;
  const std::set<std::string, std::less<>> include_;
  const std::set<std::string, std::less<>> exclude_;
  const bool filtered_;
};

}  // namespace

std::unique_ptr<Collector> NewFieldCollector(const CollectorContext& context,
                                             FieldSide side) {
  return std::make_unique<FieldCollector>(
      context, side == FieldSide::kInputs ? kInputTraits : kOutputTraits);
}

ML_EXPORTER_REGISTER_COLLECTOR(
    inputs, "inputs",
    "Per input feature: ml_feature_observations_total, "
    "ml_feature_missing_total, ml_feature_value, ml_feature_category_total, "
    "ml_feature_length",
    true, [](const CollectorContext& context) {
      return NewFieldCollector(context, FieldSide::kInputs);
    });

ML_EXPORTER_REGISTER_COLLECTOR(
    outputs, "outputs",
    "Per output: ml_output_observations_total, ml_output_null_total, "
    "ml_output_value, ml_output_category_total",
    true, [](const CollectorContext& context) {
      return NewFieldCollector(context, FieldSide::kOutputs);
    });

}  // namespace ml_exporter
