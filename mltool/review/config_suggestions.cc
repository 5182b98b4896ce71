#include "mltool/review/config_suggestions.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/glob_match.h"

namespace ml_exporter::mltool::review {
namespace {

// A YAML flow-sequence element: plain when safe, double-quoted otherwise.
std::string YamlScalar(std::string_view s) {
  bool plain = !s.empty();
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
          c == '.' || c == '/')) {
      plain = false;
    }
  }
  if (plain &&
      (s == "true" || s == "false" || s == "null" || s == "yes" || s == "no" ||
       std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-')) {
    plain = false;
  }
  if (plain) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string FlowList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += YamlScalar(items[i]);
  }
  return out + "]";
}

const CollectorRemoval* FindRemoval(
    const std::vector<CollectorRemoval>& removals, std::string_view name) {
  for (const CollectorRemoval& r : removals) {
    if (r.collector == name) return &r;
  }
  return nullptr;
}

bool HasOtherSettings(const config::v1::CollectorConfig& c) {
  return c.buckets_size() > 0 || c.has_limits() || c.has_histograms() ||
         c.has_params();
}

// One collector of the suggested list, with its removal applied.
void RenderCollector(const config::v1::CollectorConfig& c,
                     const CollectorRemoval* removal, std::string* out) {
  const std::string indent = "      ";
  if (removal != nullptr && removal->whole_collector) {
    *out += indent + "# - name: " + c.name() +
            "    removed: none of its series moved\n";
    return;
  }
  std::vector<std::string> include(c.include().begin(), c.include().end());
  std::vector<std::string> exclude(c.exclude().begin(), c.exclude().end());
  std::vector<std::string> added;
  if (removal != nullptr) {
    for (const std::string& f : removal->fields) {
      if (!include.empty()) {
        std::erase(include, f);
      } else if (std::find(exclude.begin(), exclude.end(), f) ==
                 exclude.end()) {
        exclude.push_back(f);
      }
      added.push_back(f);
    }
    if (!c.include().empty() && include.empty()) {
      *out += indent + "# - name: " + c.name() +
              "    removed: none of its included fields moved\n";
      return;
    }
  }
  *out += indent + "- name: " + c.name() + "\n";
  if (!include.empty()) {
    *out += indent + "  include: " + FlowList(include);
    if (!c.include().empty() && !added.empty()) {
      *out += "   # without " + FlowList(added);
    }
    *out += "\n";
  }
  if (!exclude.empty()) {
    *out += indent + "  exclude: " + FlowList(exclude);
    if (c.include().empty() && !added.empty()) {
      *out += "   # added " + FlowList(added);
    }
    *out += "\n";
  }
  if (HasOtherSettings(c)) {
    *out += indent + "  # ... its other settings as they are\n";
  }
}

}  // namespace

bool GlobMatches(std::string_view pattern, std::string_view value) {
  return internal::GlobMatch(pattern, value);
}

int FirstMatchingEntry(const config::v1::Config& config, const ModelId& id) {
  for (int i = 0; i < config.models_size(); ++i) {
    const auto& m = config.models(i);
    if (GlobMatches(m.model(), id.model) &&
        GlobMatches(m.version(), id.version) &&
        GlobMatches(m.stage(), id.stage)) {
      return i;
    }
  }
  return -1;
}

std::string SuggestCollectorConfig(
    const ModelId& id, const std::vector<CollectorRemoval>& removals,
    const config::v1::Config* config, std::string_view config_path,
    const std::vector<std::string>& builtin_defaults) {
  if (removals.empty()) return "";
  std::string out;
  std::vector<config::v1::CollectorConfig> collectors;
  int entry = -1;
  if (config != nullptr) entry = FirstMatchingEntry(*config, id);
  if (entry >= 0) {
    const auto& m = config->models(entry);
    out += "# models[" + std::to_string(entry) + "] of " +
           std::string(config_path) + " (first match for " + id.model + "/" +
           id.stage + "): its collectors become\n";
    out += "models:\n  - model: " + YamlScalar(m.model()) + "\n";
    if (!m.version().empty()) {
      out += "    version: " + YamlScalar(m.version()) + "\n";
    }
    if (!m.stage().empty()) out += "    stage: " + YamlScalar(m.stage()) + "\n";
    if (m.collectors_size() > 0) {
      collectors.assign(m.collectors().begin(), m.collectors().end());
    }
  } else {
    if (config != nullptr) {
      out += "# no models entry of " + std::string(config_path) + " matches " +
             id.model + "/" + id.stage +
             ": add this one (before any catch-all entry)\n";
    } else {
      out += "# in the models entry that matches " + id.model + "/" + id.stage +
             " (first match wins), or a new one\n";
    }
    out += "models:\n  - model: " + YamlScalar(id.model) + "\n";
    if (!id.stage.empty() && id.stage != "none") {
      out += "    stage: " + YamlScalar(id.stage) + "\n";
    }
  }
  bool from_defaults = false;
  if (collectors.empty()) {
    from_defaults = true;
    if (config != nullptr && config->default_collectors_size() > 0) {
      collectors.assign(config->default_collectors().begin(),
                        config->default_collectors().end());
    } else {
      for (const std::string& name : builtin_defaults) {
        config::v1::CollectorConfig c;
        c.set_name(name);
        collectors.push_back(c);
      }
    }
  }
  out += "    collectors:";
  if (from_defaults) {
    out += "   # a list replaces the default collectors: keep the ones needed";
  }
  out += "\n";
  std::set<std::string> listed;
  for (const auto& c : collectors) {
    listed.insert(c.name());
    RenderCollector(c, FindRemoval(removals, c.name()), &out);
  }
  for (const CollectorRemoval& r : removals) {
    if (listed.count(r.collector) != 0) continue;
    config::v1::CollectorConfig c;
    c.set_name(r.collector);
    if (!r.whole_collector) {
      out += "      # (" + r.collector +
             " is not in this list yet exported series: check the entry)\n";
    }
    RenderCollector(c, &r, &out);
  }
  return out;
}

double LimitInForce(const config::v1::Config* config, std::string_view limit) {
  if (config != nullptr && config->has_global() &&
      config->global().has_limits()) {
    const auto& l = config->global().limits();
    if (limit == "max_models" && l.has_max_models()) return l.max_models();
    if (limit == "max_features" && l.has_max_features()) {
      return l.max_features();
    }
    if (limit == "max_outputs" && l.has_max_outputs()) return l.max_outputs();
    if (limit == "max_label_values" && l.has_max_label_values()) {
      return l.max_label_values();
    }
    if (limit == "max_label_length" && l.has_max_label_length()) {
      return l.max_label_length();
    }
  }
  if (limit == "max_models") return 100;
  if (limit == "max_features") return 1000;
  if (limit == "max_outputs") return 100;
  if (limit == "max_label_values") return 50;
  if (limit == "max_label_length") return 128;
  return 0;
}

double SuggestLimit(double current) { return current > 0 ? 2 * current : 0; }

std::string SuggestLimitConfig(std::string_view limit, double current,
                               double suggested, double increase) {
  char line[256];
  std::snprintf(line, sizeof(line),
                "global:\n  limits:\n    %s: %.0f   # in force: %.0f; %.0f "
                "values went to __other__ in the range\n",
                std::string(limit).c_str(), suggested, current, increase);
  std::string out = line;
  if (limit == "max_models" || limit == "max_label_length") {
    out += "# takes effect at the next restart\n";
  } else {
    out += "# or per collector: collectors: [{name: inputs, limits: {" +
           std::string(limit) +
           ": ...}}]; exclude a field whose values are ids\n";
  }
  return out;
}

}  // namespace ml_exporter::mltool::review
