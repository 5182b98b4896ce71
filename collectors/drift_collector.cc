#include "collectors/drift_collector.h"

#include <google/protobuf/struct.pb.h>
#include <time.h>

#include <array>
#include <atomic>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <set>

#include "core/label_value.h"
#include "core/model_shard.h"
#include "core/per_thread.h"
#include "ml_exporter/metric_builder.h"
#include "profile/drift_math.h"
#include "profile/profile_builder.h"
#include "profile/reference.h"

namespace ml_exporter {
namespace {

using internal::OwnedCounter;
using internal::OwnedSum;
using internal::StringMap;
using profile::PreparedField;
using Kind = profile::v1::FieldProfile::Kind;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// The window is a ring of this many time slots of window/kSlots seconds.
constexpr size_t kSlots = 10;
// A traffic baseline keeps a uniform sample of this many numbers (and
// string lengths) per field, and counts of up to kBaselineCategories
// distinct strings.
constexpr size_t kBaselineSample = 2000;
constexpr size_t kBaselineCategories = 1000;
// Baseline values an ingest thread buffers before taking the field's lock.
constexpr size_t kPendingValues = 64;
constexpr uint32_t kUntracked = UINT32_MAX;

constexpr const char* kMethodNames[] = {
    "psi",         "jensen_shannon",         "ks",
    "wasserstein", "wasserstein_normalized", "chi2_p_value"};
static_assert(std::size(kMethodNames) ==
              static_cast<size_t>(DriftMethod::kCount));

enum Side : uint8_t { kInput = 0, kOutput = 1 };

// Metric names of one side.
struct SideNames {
  const char* drift;
  const char* unseen;
  const char* count;
  const char* excluded;
  const char* ref_value;
  const char* ref_bin;
  const char* ref_category;
  const char* unmatched;
  const char* label;
};

constexpr SideNames kSideNames[2] = {
    {"ml_feature_drift", "ml_feature_unseen_category_ratio",
     "ml_feature_window_values", "ml_feature_window_excluded_values",
     "ml_reference_feature_value", "ml_reference_feature_bin_ratio",
     "ml_reference_feature_category_ratio", "ml_reference_feature_unmatched",
     "feature"},
    {"ml_output_drift", "ml_output_unseen_category_ratio",
     "ml_output_window_values", "ml_output_window_excluded_values",
     "ml_reference_output_value", "ml_reference_output_bin_ratio",
     "ml_reference_output_category_ratio", "ml_reference_output_unmatched",
     "output"},
};

// Values of a field left out of the scores, by reason.
enum Excluded : uint8_t { kNull, kAbsent, kNonfinite, kWrongType, kReasons };
constexpr const char* kReasonNames[kReasons] = {"null", "absent", "nonfinite",
                                                "wrong_type"};

double CoarseMonotonicSeconds() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<double>(ts.tv_sec) +
         1e-9 * static_cast<double>(ts.tv_nsec);
}

// What one field counted in one time slot (or, merged, in the window).
struct SlotTotals {
  int64_t index = -1;
  std::vector<uint64_t> bins;
  uint64_t excluded[kReasons] = {};
  uint64_t unseen = 0;
  double excess_below = 0;  // sum of (reference min - v) for v <= min
  double excess_above = 0;  // sum of (v - reference max) for v > max
  // Sums of (upper edge - v) in the reference's first and last exact bins.
  double first_excess = 0;
  double last_excess = 0;

  void Reset(int64_t new_index) {
    index = new_index;
    std::fill(bins.begin(), bins.end(), 0);
    for (uint64_t& e : excluded) e = 0;
    unseen = 0;
    excess_below = excess_above = first_excess = last_excess = 0;
  }
  void Add(const SlotTotals& other) {
    if (bins.size() == other.bins.size()) {
      for (size_t i = 0; i < bins.size(); ++i) bins[i] += other.bins[i];
    }
    for (int r = 0; r < kReasons; ++r) excluded[r] += other.excluded[r];
    unseen += other.unseen;
    excess_below += other.excess_below;
    excess_above += other.excess_above;
    first_excess += other.first_excess;
    last_excess += other.last_excess;
  }
};

// The first window of a field's traffic, for a model without a profile.
struct Baseline {
  std::mutex mu;
  double first_time = kNaN;
  std::unique_ptr<profile::FieldAccumulator> values =
      std::make_unique<profile::FieldAccumulator>(kBaselineSample,
                                                  kBaselineCategories);
};

// Cross-thread state of one field of one model.
struct FieldState {
  FieldState(std::string name, Side side, size_t max_label_length)
      : name(std::move(name)),
        label(internal::SanitizeLabelValue(this->name, max_label_length)),
        side(side) {}
  const std::string name;
  const std::string label;
  const Side side;
  // The reference: set once (from the profile, or when the baseline is
  // complete), then stable.
  std::atomic<const PreparedField*> ref{nullptr};
  bool from_profile = false;
  std::unique_ptr<PreparedField> owned;  // a completed baseline
  std::unique_ptr<Baseline> baseline;    // models without a profile
  std::array<SlotTotals, kSlots> ring;   // under ModelState::ring_mu
};

// Cross-thread state of one model.
struct ModelState {
  bool enabled = false;
  std::string error;  // why a reference could not be used
  std::shared_ptr<const profile::PreparedProfile> profile;
  std::string path;
  std::mutex mu;
  std::deque<FieldState> fields;  // by id; grown under mu (baseline only)
  std::atomic<uint32_t> count{0};
  // Name to field id per side. With a profile: built before the state is
  // published and never changed (read without a lock); else under mu.
  StringMap<uint32_t> ids[2];
  size_t side_count[2] = {0, 0};
  // Names in the traffic that the profile lacks (capped), under mu.
  std::set<std::string> unmatched[2];
  std::atomic<bool> unmatched_full[2] = {false, false};
  // Guards every field's ring and the moving of thread cells into it.
  std::mutex ring_mu;
};

// One thread's counts of one field in its current slot. The members every
// value touches come first, in one cache line.
// What counting a number needs from the reference, copied next to the
// counters (the reference itself spans many cache lines).
struct NumericBins {
  const double* guide = nullptr;
  const double* blocks = nullptr;
  const double* edges = nullptr;
  const int32_t* point_of_edge = nullptr;  // null: no point counters
  uint32_t guides = 0;
  uint32_t size = 0;  // edges
  uint32_t value_bins = 0;
  uint32_t first_exact_bin = 0;
  uint32_t last_exact_bin = 0;
  bool scored = false;  // the reference has a distribution
  double min = 0;
  double max = 0;
};

struct FieldCells {
  explicit FieldCells(FieldState* state) : state(state) {}
  FieldState* const state;
  // Set, with `bins` and `numeric`, under the shard's mutex once the
  // reference is known.
  const PreparedField* ref = nullptr;
  std::unique_ptr<OwnedCounter[]> bins;
  uint64_t last_seen = 0;
  bool dirty = false;  // counted anything in this slot (owner only)
  size_t nbins = 0;
  NumericBins numeric;
  OwnedCounter excluded[kReasons];
  OwnedCounter unseen;
  OwnedSum excess_below;
  OwnedSum excess_above;
  OwnedSum first_excess;
  OwnedSum last_excess;
  // Baseline values not yet handed to the field's Baseline (owner only).
  std::vector<double> pending_numbers;
  std::vector<std::string> pending_strings;
  size_t pending_string_count = 0;
  double pending_since = kNaN;
};

// One thread's cells for one model.
struct ModelCells {
  std::deque<FieldCells> fields;  // by field id; grown under the shard mutex
  StringMap<uint32_t> ids[2];     // admitted names only: bounded
  std::vector<FieldCells*> resolved;  // scratch: one record's fields
  uint64_t seq = 0;
  int64_t slot = -1;  // of the counts in `fields`; written under the mutex
};

class DriftCollector : public Collector {
 public:
  DriftCollector(const CollectorContext& context, const DriftSettings& settings,
                 DriftClock clock)
      : options_(*context.options),
        settings_(settings),
        clock_(clock),
        slot_seconds_(settings.drift.window_seconds / kSlots),
        cap_{options_.max_features, options_.max_outputs},
        models_(new std::atomic<ModelState*>[options_.max_models + 1]),
        include_(context.include.begin(), context.include.end()),
        exclude_(context.exclude.begin(), context.exclude.end()),
        filtered_(!include_.empty() || !exclude_.empty()) {
    for (size_t i = 0; i <= options_.max_models; ++i) models_[i] = nullptr;
  }

  void Observe(const Record& record, const ObserveContext& context) override {
    ModelState* model = Model(context.model_id, record);
    if (model == nullptr) return;
    const double now = Now();
    const int64_t slot = SlotOf(now);
    internal::ModelShard<ModelCells>& shard = shards_.Local();
    ModelCells& cells = shard.At(context.model_id);
    if (slot != cells.slot) Rotate(*model, shard, cells, slot);
    const uint64_t seq = ++cells.seq;
    ObserveSide(*model, shard, cells, kInput, record.inputs, record.list_items,
                seq, now);
    ObserveSide(*model, shard, cells, kOutput, record.outputs,
                record.list_items, seq, now);
    const uint32_t known = model->count.load(std::memory_order_acquire);
    if (cells.fields.size() < known) Grow(*model, shard, cells, known);
    for (uint32_t id = 0; id < known; ++id) {
      FieldCells& f = cells.fields[id];
      if (f.last_seen != seq) {
        f.excluded[kAbsent].Add(1);
        f.dirty = true;
      }
    }
  }

  Status Collect(const ModelTable& models,
                 std::vector<prometheus::MetricFamily>* out) override {
    const double now = Now();
    const int64_t newest = SlotOf(now);
    const int64_t oldest = newest - static_cast<int64_t>(kSlots) + 1;
    Families families;
    std::string errors;
    const size_t n = std::min(models.size(), options_.max_models + 1);
    for (ModelId m = 0; m < n; ++m) {
      ModelState* model = models_[m].load(std::memory_order_acquire);
      if (model == nullptr) continue;
      if (!model->error.empty()) {
        errors += (errors.empty() ? "" : "; ") + model->error;
      }
      if (!model->enabled) continue;
      std::vector<FieldState*> fields;
      std::set<std::string> unmatched[2];
      {
        std::lock_guard<std::mutex> lock(model->mu);
        for (FieldState& f : model->fields) fields.push_back(&f);
        unmatched[0] = model->unmatched[0];
        unmatched[1] = model->unmatched[1];
      }
      if (!model->profile) CompleteBaselines(fields, now);
      std::vector<const PreparedField*> refs(fields.size());
      std::vector<SlotTotals> merged(fields.size());
      for (size_t i = 0; i < fields.size(); ++i) {
        refs[i] = fields[i]->ref.load(std::memory_order_acquire);
        merged[i].bins.assign(refs[i] ? refs[i]->bin_count() : 0, 0);
      }
      {
        std::lock_guard<std::mutex> ring_lock(model->ring_mu);
        for (size_t i = 0; i < fields.size(); ++i) {
          for (const SlotTotals& t : fields[i]->ring) {
            if (t.index >= oldest && t.index <= newest) merged[i].Add(t);
          }
        }
        shards_.ForEach([&](internal::ModelShard<ModelCells>& shard) {
          std::lock_guard<std::mutex> lock(shard.mu);
          if (m >= shard.size()) return;
          const ModelCells& cells = shard.at(m);
          if (cells.slot < oldest || cells.slot > newest) return;
          for (size_t i = 0; i < cells.fields.size() && i < fields.size();
               ++i) {
            AddCells(cells.fields[i], refs[i], &merged[i]);
          }
        });
      }
      const ModelLabels& labels = models.labels(m);
      Emit(*model, labels, fields, refs, merged, unmatched, &families);
    }
    families.AppendTo(out);
    if (!errors.empty()) return Status::Internal(errors);
    return Status::Ok();
  }

 private:
  struct Families {
    Families() {
      for (int s = 0; s < 2; ++s) {
        const SideNames& names = kSideNames[s];
        const std::string what = s == kInput ? "feature" : "output";
        drift[s] =
            NewFamily(names.drift,
                      "Drift of the " + what +
                          " over the window against the reference, by method "
                          "(docs/drift.md).",
                      prometheus::MetricType::Gauge);
        unseen[s] = NewFamily(names.unseen,
                              "Share of the window's values of the " + what +
                                  " that the reference never listed.",
                              prometheus::MetricType::Gauge);
        count[s] = NewFamily(names.count,
                             "Values of the " + what +
                                 " in the drift window that the scores use.",
                             prometheus::MetricType::Gauge);
        excluded[s] = NewFamily(
            names.excluded,
            "Values (or records) of the " + what +
                " in the drift window left out of the scores, by reason.",
            prometheus::MetricType::Gauge);
        ref_value[s] = NewFamily(
            names.ref_value,
            "Reference distribution of the " + what +
                " (counts of the reference data), on the edges of the live "
                "histogram.",
            prometheus::MetricType::Histogram);
        ref_bin[s] = NewFamily(
            names.ref_bin,
            "Fraction of the reference values of the " + what +
                " in the bin (lower, upper]; the bounds are written as the "
                "histogram's le labels.",
            prometheus::MetricType::Gauge);
        ref_category[s] = NewFamily(names.ref_category,
                                    "Fraction of the reference values of the " +
                                        what + " with this value.",
                                    prometheus::MetricType::Gauge);
        unmatched[s] = NewFamily(
            names.unmatched,
            "1 for a " + what +
                " only in the reference (side=\"reference\": absent from "
                "every record of the window) or only in the traffic "
                "(side=\"traffic\").",
            prometheus::MetricType::Gauge);
      }
    }
    void AppendTo(std::vector<prometheus::MetricFamily>* out) {
      AppendIfNotEmpty(std::move(info), out);
      AppendIfNotEmpty(std::move(window), out);
      for (int s = 0; s < 2; ++s) {
        AppendIfNotEmpty(std::move(drift[s]), out);
        AppendIfNotEmpty(std::move(unseen[s]), out);
        AppendIfNotEmpty(std::move(count[s]), out);
        AppendIfNotEmpty(std::move(excluded[s]), out);
        AppendIfNotEmpty(std::move(ref_value[s]), out);
        AppendIfNotEmpty(std::move(ref_bin[s]), out);
        AppendIfNotEmpty(std::move(ref_category[s]), out);
        AppendIfNotEmpty(std::move(unmatched[s]), out);
      }
    }
    prometheus::MetricFamily info = NewFamily(
        "ml_drift_reference_info",
        "1 per model with drift scores: source=\"profile\" (path of the "
        "reference profile) or \"traffic\" (its first window).",
        prometheus::MetricType::Gauge);
    prometheus::MetricFamily window =
        NewFamily("ml_drift_window_seconds",
                  "Length of the sliding window of the drift scores.",
                  prometheus::MetricType::Gauge);
    prometheus::MetricFamily drift[2], unseen[2], count[2], excluded[2],
        ref_value[2], ref_bin[2], ref_category[2], unmatched[2];
  };

  double Now() const { return clock_ ? clock_() : CoarseMonotonicSeconds(); }
  int64_t SlotOf(double now) const {
    return static_cast<int64_t>(std::floor(now / slot_seconds_));
  }
  bool Watched(std::string_view name) const {
    if (exclude_.find(name) != exclude_.end()) return false;
    return include_.empty() || include_.find(name) != include_.end();
  }
  bool Exported(DriftMethod method) const {
    return (settings_.methods >> static_cast<int>(method)) & 1;
  }

  // The state of a model, created at its first record; null when it gets
  // no drift metrics.
  ModelState* Model(ModelId id, const Record& record) {
    ModelState* model = models_[id].load(std::memory_order_acquire);
    if (model == nullptr) {
      std::lock_guard<std::mutex> lock(models_mu_);
      model = models_[id].load(std::memory_order_relaxed);
      if (model == nullptr) {
        owned_models_.push_back(NewModel(id, record));
        model = owned_models_.back().get();
        models_[id].store(model, std::memory_order_release);
      }
    }
    return model->enabled ? model : nullptr;
  }

  std::unique_ptr<ModelState> NewModel(ModelId id, const Record& record) {
    auto model = std::make_unique<ModelState>();
    if (id >= options_.max_models) return model;  // the "__other__" model
    const std::string_view version =
        record.version.empty() ? "none" : record.version;
    const std::string_view stage = record.stage.empty() ? "none" : record.stage;
    const ReferenceSpec* spec = profile::FindReference(
        options_.references, record.model, version, stage);
    if (spec == nullptr) {
      model->enabled = settings_.drift.baseline_from_traffic;
      return model;
    }
    Status status;
    model->profile = profile::LoadReference(spec->path, &status);
    if (!status.ok()) {
      model->error =
          "model \"" + std::string(record.model) + "\": " + status.message();
      return model;
    }
    model->enabled = true;
    model->path = spec->path;
    const auto add = [&](Side side, const std::vector<PreparedField>& list) {
      for (const PreparedField& field : list) {
        if (!Watched(field.name)) continue;
        const uint32_t id = static_cast<uint32_t>(model->fields.size());
        FieldState& f = model->fields.emplace_back(field.name, side,
                                                   options_.max_label_length);
        f.from_profile = true;
        f.ref.store(&field, std::memory_order_relaxed);
        model->ids[side].emplace(field.name, id);
      }
    };
    add(kInput, model->profile->features);
    add(kOutput, model->profile->outputs);
    model->count.store(static_cast<uint32_t>(model->fields.size()),
                       std::memory_order_release);
    return model;
  }

  void ObserveSide(ModelState& model, internal::ModelShard<ModelCells>& shard,
                   ModelCells& cells, Side side,
                   const std::vector<Field>& fields,
                   const std::vector<FieldValue>& list_items, uint64_t seq,
                   double now) {
    // Resolve every field first, then count with the next fields' cells
    // already on their way into the cache: with many features the counting
    // waits on memory, not on arithmetic.
    std::vector<FieldCells*>& resolved = cells.resolved;
    resolved.clear();
    for (const Field& field : fields) {
      const uint32_t id = FieldId(model, shard, cells, side, field.name);
      resolved.push_back(id == kUntracked ? nullptr : &cells.fields[id]);
    }
    constexpr size_t kAhead = 4;
    for (size_t k = 0; k < fields.size(); ++k) {
      if (k + kAhead < resolved.size() && resolved[k + kAhead] != nullptr) {
        const FieldCells* next = resolved[k + kAhead];
        __builtin_prefetch(next);
        __builtin_prefetch(next->numeric.guide);
      }
      if (resolved[k] == nullptr) continue;
      const Field& field = fields[k];
      FieldCells& f = *resolved[k];
      f.last_seen = seq;
      f.dirty = true;
      const FieldValue& v = field.value;
      switch (v.kind) {
        case FieldValue::Kind::kNull:
          f.excluded[kNull].Add(1);
          break;
        case FieldValue::Kind::kList:
          if (v.list_size == 0) f.excluded[kNull].Add(1);
          for (uint32_t i = 0; i < v.list_size; ++i) {
            ObserveValue(shard, f, list_items[v.list_begin + i], now);
          }
          break;
        default:
          ObserveValue(shard, f, v, now);
          break;
      }
    }
  }

  // The field id of `name`, or kUntracked.
  uint32_t FieldId(ModelState& model, internal::ModelShard<ModelCells>& shard,
                   ModelCells& cells, Side side, std::string_view name) {
    if (auto it = cells.ids[side].find(name); it != cells.ids[side].end()) {
      return it->second;
    }
    if (filtered_ && !Watched(name)) {
      if (cells.ids[side].size() < 4 * cap_[side]) {
        cells.ids[side].emplace(std::string(name), kUntracked);
      }
      return kUntracked;
    }
    uint32_t id = kUntracked;
    bool admitted = true;
    if (model.profile) {
      if (auto it = model.ids[side].find(name); it != model.ids[side].end()) {
        id = it->second;
      } else {
        admitted = NoteUnmatched(model, side, name);
      }
    } else {
      std::lock_guard<std::mutex> lock(model.mu);
      if (auto it = model.ids[side].find(name); it != model.ids[side].end()) {
        id = it->second;
      } else if (model.side_count[side] < cap_[side]) {
        id = static_cast<uint32_t>(model.fields.size());
        FieldState& f = model.fields.emplace_back(std::string(name), side,
                                                  options_.max_label_length);
        f.baseline = std::make_unique<Baseline>();
        model.ids[side].emplace(std::string(name), id);
        ++model.side_count[side];
        model.count.store(static_cast<uint32_t>(model.fields.size()),
                          std::memory_order_release);
      } else {
        admitted = false;  // over the cap: left out, like "__other__"
      }
    }
    if (id != kUntracked && cells.fields.size() <= id) {
      Grow(model, shard, cells, id + 1);
    }
    if (admitted) cells.ids[side].emplace(std::string(name), id);
    return id;
  }

  // Records a traffic field the profile lacks; false when the list is full.
  bool NoteUnmatched(ModelState& model, Side side, std::string_view name) {
    if (model.unmatched_full[side].load(std::memory_order_relaxed)) {
      return false;
    }
    std::lock_guard<std::mutex> lock(model.mu);
    std::set<std::string>& names = model.unmatched[side];
    if (names.size() >= cap_[side]) {
      model.unmatched_full[side].store(true, std::memory_order_relaxed);
      return false;
    }
    names.emplace(name);
    return true;
  }

  void Grow(ModelState& model, internal::ModelShard<ModelCells>& shard,
            ModelCells& cells, size_t size) {
    std::lock_guard<std::mutex> model_lock(model.mu);
    std::lock_guard<std::mutex> shard_lock(shard.mu);
    while (cells.fields.size() < size &&
           cells.fields.size() < model.fields.size()) {
      cells.fields.emplace_back(&model.fields[cells.fields.size()]);
    }
  }

  // The field's reference, attaching this thread's bins on first use; null
  // while a baseline is still being collected.
  const PreparedField* Ref(internal::ModelShard<ModelCells>& shard,
                           FieldCells& f) {
    if (f.ref != nullptr) return f.ref;
    const PreparedField* ref = f.state->ref.load(std::memory_order_acquire);
    if (ref == nullptr) return nullptr;
    std::lock_guard<std::mutex> lock(shard.mu);
    f.nbins = ref->bin_count();
    f.bins = std::make_unique<OwnedCounter[]>(f.nbins);
    if (ref->kind != profile::v1::FieldProfile::CATEGORICAL && ref->bins) {
      NumericBins& n = f.numeric;
      n.guide = ref->index.guide();
      n.blocks = ref->index.blocks();
      n.edges = ref->bins->edges().data();
      n.point_of_edge = ref->points > 0 ? ref->point_of_edge.data() : nullptr;
      n.guides = static_cast<uint32_t>(ref->index.guides());
      n.size = static_cast<uint32_t>(ref->index.size());
      n.value_bins = static_cast<uint32_t>(ref->value_bin_count());
      n.first_exact_bin = static_cast<uint32_t>(ref->first_exact_bin);
      n.last_exact_bin = static_cast<uint32_t>(ref->last_exact_bin);
      n.scored = ref->has_distribution;
      n.min = ref->min;
      n.max = ref->max;
    }
    f.ref = ref;
    f.pending_numbers = {};
    f.pending_strings = {};
    f.pending_string_count = 0;
    return ref;
  }

  void ObserveValue(internal::ModelShard<ModelCells>& shard, FieldCells& f,
                    const FieldValue& v, double now) {
    switch (v.kind) {
      case FieldValue::Kind::kNumber:
        ObserveNumber(shard, f, v.number, now);
        return;
      case FieldValue::Kind::kString:
        ObserveString(shard, f, v.text, now);
        return;
      case FieldValue::Kind::kBool:
        ObserveString(shard, f, v.boolean ? "true" : "false", now);
        return;
      default:
        return;
    }
  }

  void ObserveNumber(internal::ModelShard<ModelCells>& shard, FieldCells& f,
                     double v, double now) {
    const PreparedField* ref = Ref(shard, f);
    if (ref == nullptr) {
      if (!std::isfinite(v)) {
        f.excluded[kNonfinite].Add(1);
        return;
      }
      if (f.pending_numbers.empty() && f.pending_string_count == 0) {
        f.pending_since = now;
      }
      f.pending_numbers.push_back(v);
      if (f.pending_numbers.size() >= kPendingValues) FlushPending(f);
      return;
    }
    if (ref->kind != profile::v1::FieldProfile::NUMERIC) {
      f.excluded[kWrongType].Add(1);
      return;
    }
    CountNumber(f, v);
  }

  static void CountNumber(FieldCells& f, double v) {
    if (!std::isfinite(v)) {
      f.excluded[kNonfinite].Add(1);
      return;
    }
    const NumericBins& n = f.numeric;
    const size_t bin =
        profile::BinIndex::Find(n.guide, n.guides, n.blocks, n.size, v);
    f.bins[bin].Add(1);
    if (!n.scored) return;
    if (n.point_of_edge != nullptr && bin < n.size &&
        n.point_of_edge[bin] >= 0 && v == n.edges[bin]) {
      f.bins[n.value_bins + n.point_of_edge[bin]].Add(1);
    }
    if (v <= n.min) {
      f.excess_below.Add(n.min - v);
    } else if (v > n.max) {
      f.excess_above.Add(v - n.max);
    } else if (bin == n.first_exact_bin) {
      f.first_excess.Add(n.edges[bin] - v);
    } else if (bin == n.last_exact_bin) {
      f.last_excess.Add(n.edges[bin] - v);
    }
  }

  void ObserveString(internal::ModelShard<ModelCells>& shard, FieldCells& f,
                     std::string_view s, double now) {
    const PreparedField* ref = Ref(shard, f);
    if (ref == nullptr) {
      if (f.pending_numbers.empty() && f.pending_string_count == 0) {
        f.pending_since = now;
      }
      if (f.pending_strings.size() <= f.pending_string_count) {
        f.pending_strings.emplace_back(s);
      } else {
        f.pending_strings[f.pending_string_count].assign(s);
      }
      if (++f.pending_string_count >= kPendingValues) FlushPending(f);
      return;
    }
    switch (ref->kind) {
      case profile::v1::FieldProfile::CATEGORICAL: {
        const auto it = ref->category_index.find(s);
        if (it == ref->category_index.end()) {
          f.unseen.Add(1);
          f.bins[ref->category_names.size()].Add(1);
        } else {
          f.bins[it->second].Add(1);
        }
        return;
      }
      case profile::v1::FieldProfile::TEXT:
        CountNumber(f, static_cast<double>(internal::Utf8Length(s)));
        return;
      default:
        f.excluded[kWrongType].Add(1);
        return;
    }
  }

  // Hands this thread's buffered baseline values to the field's Baseline.
  static void FlushPending(FieldCells& f) {
    Baseline& b = *f.state->baseline;
    std::lock_guard<std::mutex> lock(b.mu);
    if (b.values) {
      if (std::isnan(b.first_time) || f.pending_since < b.first_time) {
        b.first_time = f.pending_since;
      }
      for (double v : f.pending_numbers) b.values->AddNumber(v);
      for (size_t i = 0; i < f.pending_string_count; ++i) {
        b.values->AddString(f.pending_strings[i]);
      }
    }
    f.pending_numbers.clear();
    f.pending_string_count = 0;
    f.pending_since = kNaN;
  }

  // Moves this thread's counts of its finished slot into the fields' rings
  // and starts `slot`.
  void Rotate(ModelState& model, internal::ModelShard<ModelCells>& shard,
              ModelCells& cells, int64_t slot) {
    std::lock_guard<std::mutex> ring_lock(model.ring_mu);
    std::lock_guard<std::mutex> lock(shard.mu);
    if (cells.slot >= 0) {
      for (FieldCells& f : cells.fields) {
        if (f.ref == nullptr &&
            (!f.pending_numbers.empty() || f.pending_string_count > 0)) {
          FlushPending(f);
        }
        if (!f.dirty) continue;
        SlotTotals& t = f.state->ring[static_cast<size_t>(cells.slot) % kSlots];
        if (t.index <= cells.slot) {  // else: older than the window
          if (t.bins.size() != f.nbins) t.bins.assign(f.nbins, 0);
          if (t.index < cells.slot) t.Reset(cells.slot);
          for (size_t b = 0; b < f.nbins; ++b) t.bins[b] += f.bins[b].Get();
          for (int r = 0; r < kReasons; ++r)
            t.excluded[r] += f.excluded[r].Get();
          t.unseen += f.unseen.Get();
          t.excess_below += f.excess_below.Get();
          t.excess_above += f.excess_above.Get();
          t.first_excess += f.first_excess.Get();
          t.last_excess += f.last_excess.Get();
        }
        for (size_t b = 0; b < f.nbins; ++b) Zero(f.bins[b]);
        for (int r = 0; r < kReasons; ++r) Zero(f.excluded[r]);
        Zero(f.unseen);
        for (OwnedSum* sum : {&f.excess_below, &f.excess_above, &f.first_excess,
                              &f.last_excess}) {
          sum->Add(-sum->Get());
        }
        f.dirty = false;
      }
    }
    cells.slot = slot;
  }

  static void Zero(OwnedCounter& c) {
    // Owner-only wrap-around subtraction: the cell becomes exactly 0.
    c.Add(0 - c.Get());
  }

  static void AddCells(const FieldCells& f, const PreparedField* ref,
                       SlotTotals* merged) {
    if (f.ref != nullptr && f.ref == ref && merged->bins.size() == f.nbins) {
      for (size_t b = 0; b < f.nbins; ++b) merged->bins[b] += f.bins[b].Get();
    }
    for (int r = 0; r < kReasons; ++r)
      merged->excluded[r] += f.excluded[r].Get();
    merged->unseen += f.unseen.Get();
    merged->excess_below += f.excess_below.Get();
    merged->excess_above += f.excess_above.Get();
    merged->first_excess += f.first_excess.Get();
    merged->last_excess += f.last_excess.Get();
  }

  // Turns every baseline whose first window is over (with enough values)
  // into the field's reference.
  void CompleteBaselines(const std::vector<FieldState*>& fields, double now) {
    profile::BuildOptions build;
    build.max_categories = kBaselineCategories;
    for (FieldState* f : fields) {
      if (!f->baseline || f->ref.load(std::memory_order_acquire) != nullptr) {
        continue;
      }
      Baseline& b = *f->baseline;
      std::lock_guard<std::mutex> lock(b.mu);
      if (!b.values || std::isnan(b.first_time) ||
          now - b.first_time < settings_.drift.window_seconds ||
          b.values->values() < settings_.drift.min_count) {
        continue;
      }
      const profile::v1::FieldProfile proto =
          b.values->Finish(f->name, b.values->values(), build);
      auto prepared = std::make_unique<PreparedField>();
      profile::PrepareField(proto, prepared.get());
      if (!prepared->has_distribution) continue;
      f->owned = std::move(prepared);
      b.values.reset();
      f->ref.store(f->owned.get(), std::memory_order_release);
    }
  }

  void Emit(const ModelState& model, const ModelLabels& labels,
            const std::vector<FieldState*>& fields,
            const std::vector<const PreparedField*>& refs,
            const std::vector<SlotTotals>& merged,
            const std::set<std::string> (&unmatched)[2], Families* out) const {
    AddGauge(&out->info,
             ModelLabelList(labels,
                            {{"source", model.profile ? "profile" : "traffic"},
                             {"path", model.path}}),
             1);
    AddGauge(&out->window, ModelLabelList(labels),
             settings_.drift.window_seconds);
    for (size_t i = 0; i < fields.size(); ++i) {
      const FieldState& f = *fields[i];
      const SideNames& names = kSideNames[f.side];
      const auto field_labels =
          [&](std::initializer_list<
                  std::pair<std::string_view, std::string_view>>
                  extra = {}) {
            LabelList l = ModelLabelList(labels, {{names.label, f.label}});
            for (const auto& [k, v] : extra) {
              l.push_back({std::string(k), std::string(v)});
            }
            return l;
          };
      const SlotTotals& t = merged[i];
      const PreparedField* ref = refs[i];
      uint64_t values = 0;
      for (size_t b = 0;
           ref != nullptr && b < ref->value_bin_count() && b < t.bins.size();
           ++b) {
        values += t.bins[b];
      }
      AddGauge(&out->count[f.side], field_labels(),
               static_cast<double>(values));
      for (int r = 0; r < kReasons; ++r) {
        if (t.excluded[r] == 0) continue;  // no series for a reason unseen
        AddGauge(&out->excluded[f.side],
                 field_labels({{"reason", kReasonNames[r]}}),
                 static_cast<double>(t.excluded[r]));
      }
      if (f.from_profile && values == 0 && t.excluded[kAbsent] > 0 &&
          t.excluded[kNull] == 0 && t.excluded[kNonfinite] == 0 &&
          t.excluded[kWrongType] == 0) {
        AddGauge(&out->unmatched[f.side], field_labels({{"side", "reference"}}),
                 1);
      }
      if (ref == nullptr) continue;
      if (f.from_profile) EmitReference(*ref, field_labels, f.side, out);
      if (!ref->has_distribution || values == 0 ||
          values < settings_.drift.min_count) {
        continue;
      }
      Score(*ref, t, static_cast<double>(values), field_labels, f.side, out);
    }
    for (int s = 0; s < 2; ++s) {
      for (const std::string& name : unmatched[s]) {
        AddGauge(&out->unmatched[s],
                 ModelLabelList(labels, {{kSideNames[s].label,
                                          internal::SanitizeLabelValue(
                                              name, options_.max_label_length)},
                                         {"side", "traffic"}}),
                 1);
      }
    }
  }

  template <typename LabelsFn>
  void Score(const PreparedField& ref, const SlotTotals& t, double n,
             const LabelsFn& field_labels, Side side, Families* out) const {
    prometheus::MetricFamily* drift = &out->drift[side];
    const auto put = [&](DriftMethod method, double value) {
      if (!Exported(method) || std::isnan(value)) return;
      AddGauge(drift, field_labels({{"method", DriftMethodName(method)}}),
               value);
    };
    const std::vector<double> reference = ref.ReferenceBins();
    if (ref.kind == profile::v1::FieldProfile::CATEGORICAL) {
      const std::vector<double> live(t.bins.begin(), t.bins.end());
      put(DriftMethod::kPsi,
          profile::PopulationStabilityIndex(reference, live));
      put(DriftMethod::kJensenShannon,
          profile::JensenShannonDistance(reference, live));
      put(DriftMethod::kChi2PValue,
          profile::ChiSquareTest(reference, live).p_value);
      AddGauge(&out->unseen[side], field_labels(),
               static_cast<double>(t.unseen) / n);
      return;
    }
    std::vector<double> live(reference.size(), 0);
    const size_t value_bins = ref.value_bin_count();
    for (size_t j = 0; j < value_bins; ++j) {
      live[ref.coarse_of_bin[j]] += static_cast<double>(t.bins[j]);
    }
    put(DriftMethod::kPsi, profile::PopulationStabilityIndex(reference, live));
    put(DriftMethod::kJensenShannon,
        profile::JensenShannonDistance(reference, live));
    const std::vector<double>& edges = ref.bins->edges();
    const profile::BinnedCdf ref_cdf{ref.ref_cdf, ref.ref_below};
    profile::BinnedCdf live_cdf;
    live_cdf.at.resize(edges.size());
    live_cdf.below.resize(edges.size());
    uint64_t below = 0;
    for (size_t j = 0; j < edges.size(); ++j) {
      below += t.bins[j];
      live_cdf.at[j] = static_cast<double>(below) / n;
      live_cdf.below[j] = live_cdf.at[j];
      if (ref.point_of_edge[j] >= 0) {
        live_cdf.below[j] -=
            static_cast<double>(t.bins[value_bins + ref.point_of_edge[j]]) / n;
      }
    }
    put(DriftMethod::kKs, profile::KolmogorovSmirnov(ref_cdf, live_cdf));
    if (Exported(DriftMethod::kWasserstein) ||
        Exported(DriftMethod::kWassersteinNormalized)) {
      std::vector<profile::ExactBin> exact;
      if (ref.first_exact_bin > 0) {
        exact.push_back(
            {ref.first_exact_bin, ref.ref_first_excess, t.first_excess / n});
      }
      if (ref.last_exact_bin > 0) {
        exact.push_back(
            {ref.last_exact_bin, ref.ref_last_excess, t.last_excess / n});
      }
      const double w = profile::Wasserstein1(
          edges, ref_cdf, live_cdf, ref.min_edge, ref.max_edge,
          t.excess_below / n, t.excess_above / n, exact);
      put(DriftMethod::kWasserstein, w);
      if (ref.stddev > 0) {
        put(DriftMethod::kWassersteinNormalized, w / ref.stddev);
      }
    }
  }

  template <typename LabelsFn>
  void EmitReference(const PreparedField& ref, const LabelsFn& field_labels,
                     Side side, Families* out) const {
    if (!ref.has_distribution) return;
    if (ref.kind == profile::v1::FieldProfile::NUMERIC) {
      AddHistogram(&out->ref_value[side], field_labels(), ref.coarse_edges,
                   ref.coarse_counts, ref.sum);
      const double total = static_cast<double>(ref.count);
      for (size_t b = 0; b < ref.coarse_counts.size(); ++b) {
        AddGauge(&out->ref_bin[side],
                 field_labels({{"lower", ref.coarse_bound_labels[b]},
                               {"upper", ref.coarse_bound_labels[b + 1]}}),
                 static_cast<double>(ref.coarse_counts[b]) / total);
      }
      return;
    }
    if (ref.kind != profile::v1::FieldProfile::CATEGORICAL) return;
    // The most frequent values (the profile lists them so), at most
    // max_label_values of them; the rest as "__other__".
    const double total = static_cast<double>(ref.count);
    std::map<std::string, double> ratios;
    std::vector<std::string> order;
    double other = static_cast<double>(ref.category_counts.back());
    for (size_t k = 0; k < ref.category_names.size(); ++k) {
      const double c = static_cast<double>(ref.category_counts[k]);
      if (k >= options_.max_label_values) {
        other += c;
        continue;
      }
      const std::string value = internal::SanitizeLabelValue(
          ref.category_names[k], options_.max_label_length);
      auto [it, inserted] = ratios.emplace(value, 0);
      if (inserted) order.push_back(value);
      it->second += c;
    }
    if (other > 0) {
      const std::string value(internal::kOverflowLabel);
      auto [it, inserted] = ratios.emplace(value, 0);
      if (inserted) order.push_back(value);
      it->second += other;
    }
    for (const std::string& value : order) {
      AddGauge(&out->ref_category[side], field_labels({{"value", value}}),
               ratios[value] / total);
    }
  }

  const PipelineOptions& options_;
  const DriftSettings settings_;
  const DriftClock clock_;
  const double slot_seconds_;
  const size_t cap_[2];
  std::unique_ptr<std::atomic<ModelState*>[]> models_;
  std::mutex models_mu_;
  std::vector<std::unique_ptr<ModelState>> owned_models_;
  internal::PerThread<internal::ModelShard<ModelCells>> shards_;
  const std::set<std::string, std::less<>> include_;
  const std::set<std::string, std::less<>> exclude_;
  const bool filtered_;
};

}  // namespace

std::string_view DriftMethodName(DriftMethod method) {
  const auto i = static_cast<size_t>(method);
  return i < std::size(kMethodNames) ? kMethodNames[i] : "unknown";
}

Status ParseDriftParams(const std::string& params, DriftSettings* settings) {
  if (params.empty()) return Status::Ok();
  google::protobuf::Struct s;
  if (!s.ParseFromString(params)) {
    return Status::InvalidArgument("drift params are not a valid Struct");
  }
  using google::protobuf::Value;
  for (const auto& [key, value] : s.fields()) {
    if (key == "window_seconds") {
      if (value.kind_case() != Value::kNumberValue ||
          !(value.number_value() > 0) || !std::isfinite(value.number_value())) {
        return Status::InvalidArgument(
            "drift param \"window_seconds\" must be a number > 0");
      }
      settings->drift.window_seconds = value.number_value();
    } else if (key == "min_count") {
      const double v = value.number_value();
      if (value.kind_case() != Value::kNumberValue || !(v >= 1) ||
          v != std::floor(v) || v > 1e15) {
        return Status::InvalidArgument(
            "drift param \"min_count\" must be an integer >= 1");
      }
      settings->drift.min_count = static_cast<size_t>(v);
    } else if (key == "baseline") {
      if (value.kind_case() != Value::kBoolValue) {
        return Status::InvalidArgument(
            "drift param \"baseline\" must be true or false");
      }
      settings->drift.baseline_from_traffic = value.bool_value();
    } else if (key == "methods") {
      if (value.kind_case() != Value::kListValue) {
        return Status::InvalidArgument(
            "drift param \"methods\" must be a list of method names");
      }
      uint32_t methods = 0;
      for (const Value& item : value.list_value().values()) {
        size_t m = 0;
        while (m < std::size(kMethodNames) &&
               item.string_value() != kMethodNames[m]) {
          ++m;
        }
        if (item.kind_case() != Value::kStringValue ||
            m == std::size(kMethodNames)) {
          std::string known;
          for (const char* name : kMethodNames) {
            known += (known.empty() ? "" : ", ") + std::string(name);
          }
          return Status::InvalidArgument("unknown drift method \"" +
                                         item.string_value() +
                                         "\"; known: " + known);
        }
        methods |= 1u << m;
      }
      settings->methods = methods;
    } else {
      return Status::InvalidArgument(
          "unknown drift param \"" + key +
          "\"; known: window_seconds, min_count, baseline, methods");
    }
  }
  return Status::Ok();
}

std::unique_ptr<Collector> NewDriftCollector(const CollectorContext& context,
                                             DriftClock clock) {
  DriftSettings settings;
  settings.drift = context.options->drift;
  if (!ParseDriftParams(context.params, &settings).ok() ||
      !(settings.drift.window_seconds > 0)) {
    return nullptr;
  }
  return std::make_unique<DriftCollector>(context, settings, clock);
}

ML_EXPORTER_REGISTER_COLLECTOR(
    drift, "drift",
    "Drift against the reference profile (--reference) or the first window "
    "of traffic: ml_feature_drift, ml_output_drift, "
    "ml_feature_unseen_category_ratio, ml_feature_window_values, "
    "ml_reference_feature_value, ml_reference_feature_category_ratio; "
    "nothing for models without a reference unless baseline is on",
    true,
    [](const CollectorContext& context) { return NewDriftCollector(context); });

}  // namespace ml_exporter
