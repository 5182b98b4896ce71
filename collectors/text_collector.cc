// TextCollector ("text"): length, emptiness and character mix of text
// inputs (queries, prompts) and outputs (transcripts), per model and field.
//
// Off by default: ml_feature_length already gives every string input's
// length, and this collector reads every character. When enabled it
// watches the fields named in params.fields, else those in `include`
// (inputs first, then outputs), else every string input; `exclude` always
// applies. A list of strings counts each element as one text. params:
//   fields: [query, transcript]
//   alphabet: "abc...": characters the model knows; others are unknown
//   buckets: {length_characters: [...], ...}: histogram edges
// See docs/collectors/text.md.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "collectors/media_collectors.h"
#include "media/collector_params.h"
#include "media/feature_metrics.h"
#include "media/name_filter.h"
#include "media/record_fields.h"
#include "media/text_stats.h"

namespace ml_exporter {
namespace {

using media::FeatureMetrics;

enum Histogram : size_t {
  kCharacters,
  kTokens,
  kNonAscii,
  kUnknown,
  kHistogramCount
};
enum Counter : size_t { kObservations, kEmpty };

// Keys of `buckets`: the metric names without "ml_text_".
constexpr const char* kKeys[kHistogramCount] = {
    "length_characters", "length_tokens", "non_ascii_ratio", "unknown_ratio"};

std::vector<double> DefaultEdges(size_t h) {
  switch (h) {
    case kCharacters:
      return {0,   1,   2,   4,    8,    16,    32,   64,
              128, 256, 512, 1024, 4096, 16384, 65536};
    case kTokens:
      return {0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384};
    case kNonAscii:
      return {0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.99};
    case kUnknown:
      return {0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5};
  }
  return {};
}

const char* const kHelp[kHistogramCount] = {
    "Length of the text in characters (Unicode code points).",
    "Length of the text in tokens (runs of non-whitespace).",
    "Share of the text's characters that are not ASCII (non-empty texts).",
    "Share of the text's characters that are unknown: invalid UTF-8, "
    "U+FFFD, controls, private use, or outside params.alphabet when given "
    "(non-empty texts).",
};

struct TextConfig {
  std::vector<std::string> fields;  // empty: see the file comment
  std::optional<media::Alphabet> alphabet;
  std::map<std::string, std::vector<double>> buckets;
};

Status ParseConfig(const CollectorContext& context, TextConfig* config) {
  media::MediaParams params;
  std::string alphabet;
  Status s = media::MediaParams::Parse(
      context.params, {"fields", "alphabet", "buckets"}, &params);
  if (s.ok()) s = params.GetStringList("fields", &config->fields);
  if (s.ok()) s = params.GetString("alphabet", &alphabet);
  if (s.ok()) {
    s = params.GetEdgesMap(
        "buckets", std::vector<std::string>(std::begin(kKeys), std::end(kKeys)),
        &config->buckets);
  }
  if (!s.ok()) return s;
  for (const std::string& field : config->fields) {
    if (field.empty()) {
      return media::ParamError("fields", "must hold field names, not \"\"");
    }
  }
  if (params.Has("alphabet")) {
    if (alphabet.empty()) {
      return media::ParamError("alphabet",
                               "must list the characters the model knows");
    }
    config->alphabet.emplace(alphabet);
  }
  if (config->fields.empty()) {
    config->fields.assign(context.include.begin(), context.include.end());
  }
  return Status::Ok();
}

class TextCollector : public Collector {
 public:
  TextCollector(const CollectorContext& context, TextConfig config)
      : config_(std::move(config)),
        filter_(context.include, context.exclude),
        metrics_(context, HistogramDefs(config_), CounterDefs()) {}

  void Observe(const Record& record, const ObserveContext& context) override {
    if (!config_.fields.empty()) {
      for (const std::string& name : config_.fields) {
        // Named fields win over `include`; `exclude` still applies.
        if (filter_.Excluded(name)) continue;
        if (const FieldValue* v = media::FindField(record, name)) {
          ObserveValue(record, context.model_id, name, *v);
        }
      }
      return;
    }
    for (const Field& f : record.inputs) {
      if (filter_.Watched(f.name)) {
        ObserveValue(record, context.model_id, f.name, f.value);
      }
    }
  }

  Status Collect(const ModelTable& models,
                 std::vector<prometheus::MetricFamily>* out) override {
    metrics_.Collect(models, out);
    return Status::Ok();
  }

 private:
  static std::vector<media::HistogramDef> HistogramDefs(
      const TextConfig& config) {
    std::vector<media::HistogramDef> defs;
    for (size_t h = 0; h < kHistogramCount; ++h) {
      auto it = config.buckets.find(kKeys[h]);
      defs.push_back(
          {std::string("ml_text_") + kKeys[h], kHelp[h],
           it != config.buckets.end() ? it->second : DefaultEdges(h)});
    }
    return defs;
  }

  static std::vector<media::CounterDef> CounterDefs() {
    return {{"ml_text_observations_total",
             "Texts observed (string values of the watched fields; each "
             "string of a list counts).",
             {},
             "",
             {}},
            {"ml_text_empty_total",
             "Texts that were empty or only whitespace (no tokens).",
             {},
             "",
             {}}};
  }

  void ObserveValue(const Record& record, ModelId model, std::string_view name,
                    const FieldValue& v) {
    if (v.kind == FieldValue::Kind::kString) {
      ObserveText(model, name, v.text);
    } else if (v.kind == FieldValue::Kind::kList) {
      for (uint32_t i = 0; i < v.list_size; ++i) {
        const FieldValue& item = record.list_items[v.list_begin + i];
        if (item.kind == FieldValue::Kind::kString) {
          ObserveText(model, name, item.text);
        }
      }
    }
  }

  void ObserveText(ModelId model, std::string_view name,
                   std::string_view text) {
    const media::TextStats stats = media::AnalyzeText(
        text, config_.alphabet ? &*config_.alphabet : nullptr);
    FeatureMetrics::Cells& cells = metrics_.Local(model, name);
    cells.Add(kObservations, 0);
    cells.Activate(kEmpty);
    if (stats.tokens == 0) cells.Add(kEmpty, 0);
    cells.Observe(kCharacters, static_cast<double>(stats.characters));
    cells.Observe(kTokens, static_cast<double>(stats.tokens));
    if (stats.characters == 0) return;
    const auto n = static_cast<double>(stats.characters);
    cells.Observe(kNonAscii, static_cast<double>(stats.non_ascii) / n);
    cells.Observe(kUnknown, static_cast<double>(stats.unknown) / n);
  }

  const TextConfig config_;
  const media::NameFilter filter_;
  FeatureMetrics metrics_;
};

}  // namespace

Status NewTextCollector(const CollectorContext& context,
                        std::unique_ptr<Collector>* out) {
  TextConfig config;
  if (Status s = ParseConfig(context, &config); !s.ok()) return s;
  *out = std::make_unique<TextCollector>(context, std::move(config));
  return Status::Ok();
}

ML_EXPORTER_REGISTER_COLLECTOR(
    text, "text",
    "Text fields (params.fields, include, or every string input): "
    "ml_text_observations_total, ml_text_empty_total, "
    "ml_text_length_characters, ml_text_length_tokens, "
    "ml_text_non_ascii_ratio, ml_text_unknown_ratio",
    false, [](const CollectorContext& context) {
      return CollectorOrError(context, NewTextCollector);
    });

}  // namespace ml_exporter
