#include "exporter/status_json.h"

#include <map>
#include <set>
#include <tuple>

#include "core/label_value.h"

namespace ml_exporter::internal {

std::string JsonQuote(std::string_view raw) {
  const std::string s = SanitizeLabelValue(raw, raw.size() * 3 + 3);
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

namespace {

std::string JsonList(const std::set<std::string>& items) {
  std::string out = "[";
  for (const auto& i : items) out += (out.size() > 1 ? "," : "") + JsonQuote(i);
  return out + "]";
}

std::string Label(const prometheus::ClientMetric& m, const std::string& name) {
  for (const auto& l : m.label) {
    if (l.name == name) return l.value;
  }
  return "";
}

}  // namespace

std::string BuildStatusJson(Pipeline* pipeline, const StatusInputs& inputs) {
  using Key = std::tuple<std::string, std::string, std::string>;
  std::map<Key, std::set<std::string>> features, outputs;
  std::map<std::string, double> overflow;
  for (const auto& family : pipeline->Collect()) {
    const bool is_feature = family.name == "ml_feature_observations_total";
    const bool is_output = family.name == "ml_output_observations_total";
    if (family.name == "ml_exporter_cardinality_overflow_total") {
      for (const auto& m : family.metric) {
        overflow[Label(m, "limit")] = m.counter.value;
      }
    }
    if (!is_feature && !is_output) continue;
    for (const auto& m : family.metric) {
      Key key{Label(m, "model"), Label(m, "version"), Label(m, "stage")};
      (is_feature ? features : outputs)[key].insert(
          Label(m, is_feature ? "feature" : "output"));
    }
  }
  const PipelineOptions options = pipeline->current_options();
  std::string out = "{\"config_file\":" + JsonQuote(inputs.config_file) +
                    ",\"config_reload_successful\":" +
                    (inputs.config_reload_successful ? "true" : "false") +
                    ",\"config\":" + inputs.running_config_json;
  out += ",\"limits\":{\"max_models\":" + std::to_string(options.max_models) +
         ",\"max_features\":" + std::to_string(options.max_features) +
         ",\"max_outputs\":" + std::to_string(options.max_outputs) +
         ",\"max_label_values\":" + std::to_string(options.max_label_values) +
         ",\"max_label_length\":" + std::to_string(options.max_label_length) +
         "}";
  out += ",\"caps_reached\":{";
  bool first = true;
  for (const auto& [limit, count] : overflow) {
    if (count <= 0) continue;
    out += std::string(first ? "" : ",") + JsonQuote(limit) + ":" +
           std::to_string(static_cast<uint64_t>(count));
    first = false;
  }
  out += "},\"collectors\":[";
  std::set<std::string> names;
  for (const auto& n : pipeline->collector_names()) names.insert(n);
  first = true;
  for (const auto& n : names) {
    out += std::string(first ? "" : ",") + JsonQuote(n);
    first = false;
  }
  out += "],\"plugins\":[";
  first = true;
  for (const auto& p : pipeline->plugin_status()) {
    std::set<std::string> provided(p.collectors.begin(), p.collectors.end());
    out += std::string(first ? "" : ",") + "{\"path\":" + JsonQuote(p.path) +
           ",\"name\":" + JsonQuote(p.name) +
           ",\"version\":" + JsonQuote(p.version) +
           ",\"abi\":" + JsonQuote(p.abi) +
           ",\"collectors\":" + JsonList(provided) + "}";
    first = false;
  }
  out += "],\"models\":[";
  first = true;
  for (const auto& m : pipeline->model_status()) {
    const Key key{m.labels.model, m.labels.version, m.labels.stage};
    std::set<std::string> collectors(m.collectors.begin(), m.collectors.end());
    out += std::string(first ? "" : ",") +
           "{\"model\":" + JsonQuote(m.labels.model) +
           ",\"version\":" + JsonQuote(m.labels.version) +
           ",\"stage\":" + JsonQuote(m.labels.stage) +
           ",\"collectors\":" + JsonList(collectors) +
           ",\"features\":" + JsonList(features[key]) +
           ",\"outputs\":" + JsonList(outputs[key]) + "}";
    first = false;
  }
  return out + "]}";
}

}  // namespace ml_exporter::internal
