// click_rank: an example ml_exporter collector plugin for ranking models.
//
// Where in a ranked list users click. A record carries the ranked item ids
// in an output (a list of strings or numbers); a later event of type
// "click" with the same request_id and the clicked item id as its value
// counts the item's 1-based rank. From that: the rank distribution, the mean
// reciprocal rank (MRR) and click-through per list.
//
//   {"model": "search", "request_id": "r-1", "outputs": {"items": ["a", "b",
//   "c"]}}
//   {"events": [{"type": "click", "request_id": "r-1", "value": "b"}]}   ->
//   rank 2
//
// params:
//   items_output  output holding the ranked ids (default "items")
//   event_type    event type of a click (default "click")
//   max_pending   lists remembered for matching clicks (default 10000; the
//                 oldest are forgotten first, so memory stays bounded)
//   max_rank      items remembered per list (default 100)
//
// ml_click_rank has the buckets 1, 2, 3, 5, 10, 20, 50 and +Inf.
//
// PromQL:
//   MRR:  rate(ml_click_reciprocal_rank_total[1h]) /
//   rate(ml_click_rank_count[1h]) CTR:  rate(ml_click_rank_count[1h]) /
//   rate(ml_ranked_lists_total[1h])
//
// A click is attributed to the model that produced its list. A click on an
// unknown (or forgotten) request counts as unmatched only when the event
// names its model; otherwise there is no model to attribute it to.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ml_exporter/plugin_sdk.h"

namespace {

using ml_exporter::Collector;
using ml_exporter::CollectorContext;
using ml_exporter::Event;
using ml_exporter::FieldValue;
using ml_exporter::ModelId;
using ml_exporter::ModelTable;
using ml_exporter::ObserveContext;
using ml_exporter::Record;
using ml_exporter::Status;

constexpr size_t kShards = 16;

// Item ids as text: strings as they are, integral numbers without a
// fraction ("42", not "42.000000").
bool ItemId(const FieldValue& v, std::string* out) {
  if (v.kind == FieldValue::Kind::kString) {
    out->assign(v.text);
    return true;
  }
  if (v.kind == FieldValue::Kind::kNumber) {
    char buffer[32];
    if (v.number == std::floor(v.number) && std::fabs(v.number) < 1e15) {
      std::snprintf(buffer, sizeof buffer, "%.0f", v.number);
    } else {
      std::snprintf(buffer, sizeof buffer, "%.17g", v.number);
    }
    out->assign(buffer);
    return true;
  }
  return false;
}

class ClickRankCollector : public Collector {
 public:
  // The factory, in the same form as a built-in collector's: null and the
  // reason in *context.error when the params are wrong.
  static std::unique_ptr<Collector> Create(const CollectorContext& context) {
    std::unique_ptr<ml_exporter::CollectorParams> params;
    Status s = ml_exporter::CollectorParams::Parse(
        context.params,
        {"items_output", "event_type", "max_pending", "max_rank"}, &params);
    if (!s.ok()) {
      if (context.error != nullptr) *context.error = s.message();
      return nullptr;
    }
    std::string items_output = params->String("items_output", "items");
    std::string event_type = params->String("event_type", "click");
    const double max_pending = params->Number("max_pending", 10000, 1, 1e7);
    const double max_rank = params->Number("max_rank", 100, 1, 10000);
    if (!params->status().ok()) {
      if (context.error != nullptr) *context.error = params->status().message();
      return nullptr;
    }
    return std::unique_ptr<Collector>(new ClickRankCollector(
        std::move(items_output), std::move(event_type),
        static_cast<size_t>(max_pending), static_cast<size_t>(max_rank),
        {1, 2, 3, 5, 10, 20, 50}));
  }

  void Observe(const Record& record, const ObserveContext& context) override {
    const FieldValue* items = nullptr;
    for (const ml_exporter::Field& f : record.outputs) {
      if (f.name == items_output_ && f.value.kind == FieldValue::Kind::kList) {
        items = &f.value;
      }
    }
    if (items == nullptr) return;
    Pending pending;
    pending.model = context.model_id;
    const uint32_t n = std::min<uint32_t>(items->list_size, max_rank_);
    pending.items.reserve(n);
    std::string id;
    for (uint32_t i = 0; i < n; ++i) {
      if (!ItemId(record.list_items[items->list_begin + i], &id)) id.clear();
      pending.items.push_back(id);
    }
    Shard& shard = ShardOf(record.request_id);
    std::lock_guard<std::mutex> lock(shard.mu);
    ++Cells(shard, context.model_id).lists;
    if (record.request_id.empty()) return;  // a click cannot refer to it
    std::string request(record.request_id);
    auto [it, inserted] =
        shard.pending.insert_or_assign(request, std::move(pending));
    if (inserted) shard.order.push_back(std::move(request));
    while (shard.pending.size() > per_shard_pending_) {
      shard.pending.erase(shard.order.front());
      shard.order.pop_front();
    }
  }

  void ObserveEvent(const Event& event,
                    const ObserveContext& context) override {
    if (event.type != event_type_ || event.request_id.empty()) return;
    std::string item;
    if (!ItemId(event.value, &item)) return;
    Shard& shard = ShardOf(event.request_id);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.pending.find(std::string(event.request_id));
    if (it == shard.pending.end()) {
      if (context.model_id != ObserveContext::kNoModel) {
        ++Cells(shard, context.model_id).unknown_request;
      }
      return;
    }
    const std::vector<std::string>& items = it->second.items;
    ModelCells& cells = Cells(shard, it->second.model);
    auto pos = std::find(items.begin(), items.end(), item);
    if (pos == items.end()) {
      ++cells.not_in_list;
      return;
    }
    const double rank = static_cast<double>(pos - items.begin() + 1);
    const size_t bucket =
        std::lower_bound(edges_.begin(), edges_.end(), rank) - edges_.begin();
    ++cells.rank_counts[bucket];
    cells.rank_sum += rank;
    cells.reciprocal_sum += 1 / rank;
  }

  Status Collect(const ModelTable& models,
                 std::vector<prometheus::MetricFamily>* out) override {
    std::map<ModelId, ModelCells> merged;
    for (Shard& shard : shards_) {
      std::lock_guard<std::mutex> lock(shard.mu);
      for (const auto& [model, c] : shard.cells) {
        auto [it, fresh] = merged.try_emplace(model, edges_.size());
        ModelCells& m = it->second;
        m.lists += c.lists;
        for (size_t b = 0; b < c.rank_counts.size(); ++b) {
          m.rank_counts[b] += c.rank_counts[b];
        }
        m.rank_sum += c.rank_sum;
        m.reciprocal_sum += c.reciprocal_sum;
        m.unknown_request += c.unknown_request;
        m.not_in_list += c.not_in_list;
      }
    }
    auto lists = ml_exporter::NewFamily(
        "ml_ranked_lists_total", "Records carrying a ranked list of items.",
        prometheus::MetricType::Counter);
    auto rank = ml_exporter::NewFamily(
        "ml_click_rank", "1-based rank of the clicked item in its list.",
        prometheus::MetricType::Histogram);
    auto reciprocal = ml_exporter::NewFamily(
        "ml_click_reciprocal_rank_total",
        "Sum of 1/rank over clicks; divided by ml_click_rank_count it is the "
        "mean reciprocal rank.",
        prometheus::MetricType::Counter);
    auto unmatched = ml_exporter::NewFamily(
        "ml_click_unmatched_total",
        "Clicks not matched to a remembered list, by reason (unknown_request, "
        "not_in_list).",
        prometheus::MetricType::Counter);
    for (const auto& [model, c] : merged) {
      if (model >= models.size()) continue;
      const ml_exporter::ModelLabels& labels = models.labels(model);
      ml_exporter::AddCounter(&lists, ml_exporter::ModelLabelList(labels),
                              static_cast<double>(c.lists));
      ml_exporter::AddHistogram(&rank, ml_exporter::ModelLabelList(labels),
                                edges_, c.rank_counts, c.rank_sum);
      ml_exporter::AddCounter(&reciprocal, ml_exporter::ModelLabelList(labels),
                              c.reciprocal_sum);
      ml_exporter::AddCounter(
          &unmatched,
          ml_exporter::ModelLabelList(labels, {{"reason", "unknown_request"}}),
          static_cast<double>(c.unknown_request));
      ml_exporter::AddCounter(
          &unmatched,
          ml_exporter::ModelLabelList(labels, {{"reason", "not_in_list"}}),
          static_cast<double>(c.not_in_list));
    }
    ml_exporter::AppendIfNotEmpty(std::move(lists), out);
    ml_exporter::AppendIfNotEmpty(std::move(rank), out);
    ml_exporter::AppendIfNotEmpty(std::move(reciprocal), out);
    ml_exporter::AppendIfNotEmpty(std::move(unmatched), out);
    return Status::Ok();
  }

 private:
  struct Pending {
    ModelId model = 0;
    std::vector<std::string> items;
  };
  struct ModelCells {
    explicit ModelCells(size_t edges) : rank_counts(edges + 1) {}
    uint64_t lists = 0;
    std::vector<uint64_t> rank_counts;  // per bucket, the last is +Inf
    double rank_sum = 0;
    double reciprocal_sum = 0;
    uint64_t unknown_request = 0;
    uint64_t not_in_list = 0;
  };
  // A record and the clicks on it meet in the shard of their request id;
  // 16 shards keep concurrent ingest threads mostly apart.
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Pending> pending;
    std::deque<std::string> order;  // insertion order, for eviction
    std::unordered_map<ModelId, ModelCells> cells;
  };

  ClickRankCollector(std::string items_output, std::string event_type,
                     size_t max_pending, size_t max_rank,
                     std::vector<double> edges)
      : items_output_(std::move(items_output)),
        event_type_(std::move(event_type)),
        per_shard_pending_((max_pending + kShards - 1) / kShards),
        max_rank_(static_cast<uint32_t>(max_rank)),
        edges_(std::move(edges)) {}

  Shard& ShardOf(std::string_view request_id) {
    if (request_id.empty()) {
      thread_local const size_t index =
          std::hash<std::thread::id>{}(std::this_thread::get_id()) % kShards;
      return shards_[index];
    }
    return shards_[std::hash<std::string_view>{}(request_id) % kShards];
  }

  ModelCells& Cells(Shard& shard, ModelId model) {
    return shard.cells.try_emplace(model, edges_.size()).first->second;
  }

  const std::string items_output_;
  const std::string event_type_;
  const size_t per_shard_pending_;
  const uint32_t max_rank_;
  const std::vector<double> edges_;
  std::array<Shard, kShards> shards_;
};

}  // namespace

ML_EXPORTER_PLUGIN("click_rank", "1.0.0",
                   ML_EXPORTER_PLUGIN_COLLECTOR(
                       "click_rank",
                       "ml_click_rank, ml_click_reciprocal_rank_total, "
                       "ml_ranked_lists_total, ml_click_unmatched_total: "
                       "where users click in ranked lists",
                       &ClickRankCollector::Create))
