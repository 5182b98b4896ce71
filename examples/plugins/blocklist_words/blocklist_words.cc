// blocklist_words: an example ml_exporter collector plugin.
//
// How often a model's text outputs contain a blocklisted word (a cheap
// toxicity proxy for a chatbot or a transcription model). For each watched
// output: outputs checked, outputs with at least one blocklisted word, and
// matches by word.
//
//   plugins:
//     - path: plugins/libblocklist_words.so
//   models:
//     - model: chatbot
//       collectors:
//         - name: blocklist_words
//           params: {words: [damn, idiot], outputs: [reply]}
//
// params:
//   words           required, single words; matched as whole words
//   outputs         outputs to check (default: every string output, capped
//                   by max_outputs; the collector's `include`/`exclude`
//                   lists apply too)
//   case_sensitive  default false (ASCII case folding)
//
// PromQL, the share of replies with a blocklisted word:
//   sum by (model) (rate(ml_blocklist_matched_total[5m]))
//     / sum by (model) (rate(ml_blocklist_checked_total[5m]))
#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ml_exporter/plugin_sdk.h"

namespace {

using ml_exporter::Collector;
using ml_exporter::CollectorContext;
using ml_exporter::FieldValue;
using ml_exporter::ModelId;
using ml_exporter::ModelTable;
using ml_exporter::ObserveContext;
using ml_exporter::Record;
using ml_exporter::Status;

constexpr size_t kShards = 16;
constexpr std::string_view kOther = "__other__";

bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '\'' || c >= 0x80;
}

// Calls fn(word) for each maximal run of letters, digits, apostrophes and
// non-ASCII bytes (so UTF-8 words stay whole).
template <typename Fn>
void ForEachWord(std::string_view text, Fn&& fn) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !IsWordByte(text[i])) ++i;
    const size_t begin = i;
    while (i < text.size() && IsWordByte(text[i])) ++i;
    if (i > begin) fn(text.substr(begin, i - begin));
  }
}

void FoldCase(std::string* s) {
  for (char& c : *s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

uint64_t Key(ModelId model, uint32_t id) {
  return (static_cast<uint64_t>(model) << 32) | id;
}

class BlocklistWordsCollector : public Collector {
 public:
  // The factory, in the same form as a built-in collector's: null and the
  // reason in *context.error when the params are wrong.
  static std::unique_ptr<Collector> Create(const CollectorContext& context) {
    auto fail = [&](std::string message) -> std::unique_ptr<Collector> {
      if (context.error != nullptr) *context.error = std::move(message);
      return nullptr;
    };
    std::unique_ptr<ml_exporter::CollectorParams> params;
    Status s = ml_exporter::CollectorParams::Parse(
        context.params, {"words", "outputs", "case_sensitive"}, &params);
    if (!s.ok()) return fail(s.message());
    std::vector<std::string> words = params->StringList("words", {});
    std::vector<std::string> outputs = params->StringList("outputs", {});
    const bool case_sensitive = params->Bool("case_sensitive", false);
    if (!params->status().ok()) return fail(params->status().message());
    if (words.empty()) {
      return fail("parameter \"words\" is required: a non-empty list of words");
    }
    for (const std::string& word : words) {
      size_t n = 0;
      ForEachWord(word, [&](std::string_view w) { n += w == word; });
      if (n != 1) {
        return fail("parameter \"words\": \"" + word +
                    "\" is not a single word (letters, digits, apostrophes)");
      }
    }
    if (outputs.empty()) outputs = context.include;
    return std::unique_ptr<Collector>(new BlocklistWordsCollector(
        context, std::move(words), std::move(outputs), case_sensitive));
  }

  void Observe(const Record& record, const ObserveContext& context) override {
    Shard& shard = LocalShard();
    std::lock_guard<std::mutex> lock(shard.mu);
    for (const ml_exporter::Field& field : record.outputs) {
      const FieldValue& v = field.value;
      if (v.kind == FieldValue::Kind::kString) {
        Check(shard, context.model_id, field.name, v.text);
      } else if (v.kind == FieldValue::Kind::kList) {
        for (uint32_t i = 0; i < v.list_size; ++i) {
          const FieldValue& item = record.list_items[v.list_begin + i];
          if (item.kind == FieldValue::Kind::kString) {
            Check(shard, context.model_id, field.name, item.text);
          }
        }
      }
    }
  }

  Status Collect(const ModelTable& models,
                 std::vector<prometheus::MetricFamily>* out) override {
    std::map<std::pair<ModelId, uint32_t>, Counts> outputs;
    std::map<std::pair<ModelId, uint32_t>, uint64_t> words;
    for (Shard& shard : shards_) {
      std::lock_guard<std::mutex> lock(shard.mu);
      for (const auto& [key, counts] : shard.outputs) {
        Counts& c = outputs[{static_cast<ModelId>(key >> 32),
                             static_cast<uint32_t>(key)}];
        c.checked += counts.checked;
        c.matched += counts.matched;
      }
      for (const auto& [key, n] : shard.words) {
        words[{static_cast<ModelId>(key >> 32), static_cast<uint32_t>(key)}] +=
            n;
      }
    }
    const std::vector<std::string> output_names = OutputNames();
    auto checked =
        ml_exporter::NewFamily("ml_blocklist_checked_total",
                               "Text outputs checked for blocklisted words.",
                               prometheus::MetricType::Counter);
    auto matched = ml_exporter::NewFamily(
        "ml_blocklist_matched_total",
        "Text outputs containing at least one blocklisted word.",
        prometheus::MetricType::Counter);
    auto by_word = ml_exporter::NewFamily(
        "ml_blocklist_word_matches_total",
        "Text outputs containing the word, by blocklisted word.",
        prometheus::MetricType::Counter);
    for (const auto& [key, c] : outputs) {
      if (key.first >= models.size()) continue;  // not in this scrape yet
      auto labels = ml_exporter::ModelLabelList(
          models.labels(key.first), {{"output", output_names[key.second]}});
      ml_exporter::AddCounter(&checked, labels, static_cast<double>(c.checked));
      ml_exporter::AddCounter(&matched, std::move(labels),
                              static_cast<double>(c.matched));
    }
    for (const auto& [key, n] : words) {
      if (key.first >= models.size()) continue;
      ml_exporter::AddCounter(
          &by_word,
          ml_exporter::ModelLabelList(models.labels(key.first),
                                      {{"word", words_[key.second]}}),
          static_cast<double>(n));
    }
    ml_exporter::AppendIfNotEmpty(std::move(checked), out);
    ml_exporter::AppendIfNotEmpty(std::move(matched), out);
    ml_exporter::AppendIfNotEmpty(std::move(by_word), out);
    return Status::Ok();
  }

 private:
  struct Counts {
    uint64_t checked = 0;
    uint64_t matched = 0;
  };
  // Each thread writes (mostly) its own shard, so its mutex is uncontended
  // except for the moment a scrape reads it.
  struct Shard {
    std::mutex mu;
    std::unordered_map<uint64_t, Counts> outputs;  // Key(model, output id)
    std::unordered_map<uint64_t, uint64_t> words;  // Key(model, word id)
    std::unordered_map<std::string, uint32_t> output_ids;  // cache
    std::vector<uint32_t> seen;  // scratch: word ids found in one text
  };

  BlocklistWordsCollector(const CollectorContext& context,
                          std::vector<std::string> words,
                          std::vector<std::string> outputs, bool case_sensitive)
      : case_sensitive_(case_sensitive),
        fixed_outputs_(!outputs.empty()),
        max_outputs_(context.options->max_outputs),
        exclude_(context.exclude),
        cardinality_(context.cardinality) {
    for (std::string& w : words) {
      if (!case_sensitive_) FoldCase(&w);
      if (word_ids_.emplace(w, words_.size()).second) words_.push_back(w);
    }
    for (std::string& o : outputs) {
      if (interned_.emplace(o, output_names_.size()).second) {
        output_names_.push_back(o);
      }
    }
  }

  Shard& LocalShard() {
    thread_local const size_t index =
        std::hash<std::thread::id>{}(std::this_thread::get_id()) % kShards;
    return shards_[index];
  }

  // The id of output `name`, or false when it is not watched.
  bool OutputId(Shard& shard, std::string_view name, uint32_t* id) {
    std::string key(name);
    if (fixed_outputs_) {  // interned_ never changes: no lock, no cache
      auto it = interned_.find(key);
      if (it == interned_.end() ||
          std::find(exclude_.begin(), exclude_.end(), key) != exclude_.end()) {
        return false;
      }
      *id = it->second;
      return true;
    }
    if (auto it = shard.output_ids.find(key); it != shard.output_ids.end()) {
      *id = it->second;
      return *id != UINT32_MAX;
    }
    uint32_t result = UINT32_MAX;
    bool overflow = false;
    if (std::find(exclude_.begin(), exclude_.end(), key) == exclude_.end()) {
      std::lock_guard<std::mutex> lock(names_mu_);
      if (auto it = interned_.find(key); it != interned_.end()) {
        result = it->second;
      } else {
        if (output_names_.size() < max_outputs_) {
          result = static_cast<uint32_t>(output_names_.size());
          output_names_.push_back(key);
          interned_.emplace(key, result);
        } else {
          if (other_id_ == UINT32_MAX) {
            other_id_ = static_cast<uint32_t>(output_names_.size());
            output_names_.emplace_back(kOther);
          }
          result = other_id_;
          overflow = true;
        }
      }
    }
    // An overflowing name is not cached: each of its values is counted as
    // an overflow, and the cache stays bounded.
    if (overflow) {
      if (cardinality_ != nullptr) {
        cardinality_->AddOverflow(ml_exporter::CardinalityLimit::kOutputs);
      }
    } else {
      shard.output_ids.emplace(std::move(key), result);
    }
    *id = result;
    return result != UINT32_MAX;
  }

  void Check(Shard& shard, ModelId model, std::string_view output,
             std::string_view text) {
    uint32_t output_id;
    if (!OutputId(shard, output, &output_id)) return;
    shard.seen.clear();
    std::string folded;
    ForEachWord(text, [&](std::string_view word) {
      auto it = word_ids_.end();
      if (case_sensitive_) {
        it = word_ids_.find(std::string(word));
      } else {
        folded.assign(word);
        FoldCase(&folded);
        it = word_ids_.find(folded);
      }
      if (it != word_ids_.end() &&
          std::find(shard.seen.begin(), shard.seen.end(), it->second) ==
              shard.seen.end()) {
        shard.seen.push_back(it->second);
      }
    });
    Counts& c = shard.outputs[Key(model, output_id)];
    ++c.checked;
    if (!shard.seen.empty()) ++c.matched;
    for (uint32_t word : shard.seen) ++shard.words[Key(model, word)];
  }

  std::vector<std::string> OutputNames() {
    std::lock_guard<std::mutex> lock(names_mu_);
    return output_names_;
  }

  const bool case_sensitive_;
  const bool fixed_outputs_;
  const size_t max_outputs_;
  const std::vector<std::string> exclude_;
  ml_exporter::CardinalityStats* const cardinality_;
  std::vector<std::string> words_;  // by word id; fixed after construction
  std::unordered_map<std::string, uint32_t> word_ids_;

  std::mutex names_mu_;                    // guards the output names
  std::vector<std::string> output_names_;  // by output id
  std::unordered_map<std::string, uint32_t> interned_;
  uint32_t other_id_ = UINT32_MAX;

  std::array<Shard, kShards> shards_;
};

}  // namespace

ML_EXPORTER_PLUGIN(
    "blocklist_words", "1.0.0",
    ML_EXPORTER_PLUGIN_COLLECTOR(
        "blocklist_words",
        "ml_blocklist_checked_total, ml_blocklist_matched_total, "
        "ml_blocklist_word_matches_total: blocklisted words in "
        "text outputs",
        &BlocklistWordsCollector::Create))
