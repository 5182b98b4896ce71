#include "config/config_loader.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "collectors/drift_collector.h"
#include "config/threshold_metrics.h"
#include "config/yaml_to_proto.h"
#include "core/plugin_host.h"
#include "profile/reference.h"

namespace ml_exporter::config {
namespace {

class Checker {
 public:
  Checker(const YamlConversion& conversion,
          const std::vector<std::string>& known_collectors)
      : c_(conversion), known_(known_collectors) {}

  void Error(const std::string& path, const std::string& message) {
    errors_.push_back(c_.Where(path) + message);
  }
  const std::vector<std::string>& errors() const { return errors_; }

  void Edges(const std::string& path,
             const google::protobuf::RepeatedField<double>& edges) {
    for (int i = 1; i < edges.size(); ++i) {
      if (!(edges[i] > edges[i - 1])) {
        Error(path + "[" + std::to_string(i) + "]",
              "bucket edges must be strictly increasing (" +
                  Format(edges[i - 1]) + " then " + Format(edges[i]) + ")");
        return;
      }
    }
  }

  void Collectors(const std::string& path,
                  const google::protobuf::RepeatedPtrField<v1::CollectorConfig>&
                      collectors) {
    std::vector<std::string> seen;
    for (int i = 0; i < collectors.size(); ++i) {
      const v1::CollectorConfig& c = collectors[i];
      const std::string p = path + "[" + std::to_string(i) + "]";
      if (c.name().empty()) continue;  // reported as a missing key already
      if (std::find(known_.begin(), known_.end(), c.name()) == known_.end()) {
        std::string message = "unknown collector \"" + c.name() + "\"";
        const std::string guess = DidYouMean(c.name(), known_);
        if (!guess.empty()) message += " (did you mean \"" + guess + "\"?)";
        std::string list;
        for (const auto& k : known_) list += (list.empty() ? "" : ", ") + k;
        Error(p + ".name", message + "; known collectors: " + list);
      }
      if (std::find(seen.begin(), seen.end(), c.name()) != seen.end()) {
        Error(p + ".name", "collector \"" + c.name() +
                               "\" is listed twice; give it once with all "
                               "its settings");
      }
      seen.push_back(c.name());
      for (const auto& [field, edges] : c.buckets()) {
        Edges(p + ".buckets." + field, edges.edges());
        if (edges.edges().empty()) {
          Error(p + ".buckets." + field, "no bucket edges given");
        }
      }
      if (c.limits().has_max_models() || c.limits().has_max_label_length()) {
        Error(p + ".limits",
              "max_models and max_label_length can only be set in "
              "global.limits");
      }
      if (c.name() == "drift" && c.has_params()) {
        DriftSettings settings;
        if (Status s =
                ParseDriftParams(c.params().SerializeAsString(), &settings);
            !s.ok()) {
          Error(p + ".params", s.message());
        }
      }
    }
  }

  // A model's reference profile must load (docs/drift.md).
  void Reference(const std::string& path, const std::string& file) {
    Status status;
    if (!profile::LoadReference(file, &status)) Error(path, status.message());
  }

  void Thresholds(const std::string& path,
                  const google::protobuf::RepeatedPtrField<v1::Threshold>& ts) {
    for (int i = 0; i < ts.size(); ++i) {
      const v1::Threshold& t = ts[i];
      const std::string p = path + "[" + std::to_string(i) + "]";
      if (t.metric().empty()) continue;
      const ThresholdMetric* m = FindThresholdMetric(t.metric());
      if (m == nullptr) {
        std::vector<std::string> names;
        for (const auto& k : kThresholdMetrics) names.emplace_back(k.name);
        std::string message = "unknown threshold metric \"" + t.metric() + "\"";
        const std::string guess = DidYouMean(t.metric(), names);
        if (!guess.empty()) {
          message += "; did you mean \"" + guess + "\"?";
        } else {
          std::string list;
          for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
          message += "; known: " + list;
        }
        Error(p + ".metric", message);
        continue;
      }
      if (m->per_field && t.feature().empty()) {
        Error(p, "threshold \"" + t.metric() +
                     "\" needs \"feature\" (the feature or output it is for)");
      }
      if (!m->per_field && !t.feature().empty()) {
        Error(p + ".feature", "threshold \"" + t.metric() +
                                  "\" is model-wide; remove \"feature\"");
      }
      if (!t.has_upper() && !t.has_lower()) {
        Error(p, "a threshold needs \"upper\", \"lower\" or both");
      }
      if (t.has_upper() && t.has_lower() && t.lower() > t.upper()) {
        Error(p + ".lower", "lower (" + Format(t.lower()) +
                                ") is above upper (" + Format(t.upper()) + ")");
      }
    }
  }

  void ListenAddress(const std::string& path, const std::string& address) {
    const size_t colon = address.rfind(':');
    bool ok = colon != std::string::npos && colon + 1 < address.size();
    if (ok) {
      const std::string port = address.substr(colon + 1);
      ok = port.size() <= 5 &&
           std::all_of(port.begin(), port.end(), ::isdigit) &&
           std::stoi(port) <= 65535;
    }
    if (!ok) {
      Error(path, "listen_address \"" + address +
                      "\" is not host:port (e.g. 127.0.0.1:9710)");
    }
  }

 private:
  static std::string Format(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  }

  const YamlConversion& c_;
  const std::vector<std::string>& known_;
  std::vector<std::string> errors_;
};

void ApplyLimits(const v1::Limits& l, PipelineOptions* o) {
  if (l.has_max_models()) o->max_models = l.max_models();
  if (l.has_max_features()) o->max_features = l.max_features();
  if (l.has_max_outputs()) o->max_outputs = l.max_outputs();
  if (l.has_max_label_values()) o->max_label_values = l.max_label_values();
  if (l.has_max_label_length()) o->max_label_length = l.max_label_length();
}

void ApplyHistograms(const v1::Histograms& h, PipelineOptions* o) {
  if (h.has_warmup_values()) o->histogram_warmup_values = h.warmup_values();
  if (h.has_warmup_seconds()) o->histogram_warmup_seconds = h.warmup_seconds();
  if (h.has_buckets()) o->histogram_quantile_buckets = h.buckets();
}

CollectorSpec ToSpec(const v1::CollectorConfig& c) {
  CollectorSpec s;
  s.name = c.name();
  s.include.assign(c.include().begin(), c.include().end());
  s.exclude.assign(c.exclude().begin(), c.exclude().end());
  for (const auto& [field, edges] : c.buckets()) {
    s.buckets[field].assign(edges.edges().begin(), edges.edges().end());
  }
  const v1::Limits& l = c.limits();
  if (l.has_max_features()) s.max_features = l.max_features();
  if (l.has_max_outputs()) s.max_outputs = l.max_outputs();
  if (l.has_max_label_values()) s.max_label_values = l.max_label_values();
  const v1::Histograms& h = c.histograms();
  if (h.has_warmup_values()) s.histogram_warmup_values = h.warmup_values();
  if (h.has_warmup_seconds()) s.histogram_warmup_seconds = h.warmup_seconds();
  if (h.has_buckets()) s.histogram_quantile_buckets = h.buckets();
  if (c.has_params()) s.params = c.params().SerializeAsString();
  return s;
}

std::string ResolvePath(const std::string& config_path,
                        const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  return (std::filesystem::path(config_path).parent_path() / p).string();
}

std::string ReadFile(const std::string& path, Status* status) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *status = Status::NotFound("cannot read configuration file \"" + path +
                               "\": " + std::strerror(errno));
    return "";
  }
  std::ostringstream text;
  text << in.rdbuf();
  *status = Status::Ok();
  return text.str();
}

}  // namespace

Status LoadConfigText(const std::string& text, const std::string& filename,
                      const PipelineOptions& base,
                      const std::vector<std::string>& known_collectors,
                      LoadedConfig* out) {
  YamlConversion conversion;
  v1::Config proto;
  std::vector<std::string> errors;
  if (!YamlToProto(text, filename, &proto, &conversion)) {
    errors = conversion.errors;
  }
  // Plugins are loaded here (and shared with the pipeline's later load of
  // the same paths) so that their collector names count as known and a
  // plugin that does not load is reported at its own line.
  std::vector<std::string> known = known_collectors;
  std::vector<std::pair<std::string, std::string>> plugin_errors;
  for (int i = 0; i < proto.plugins_size(); ++i) {
    const std::string& path = proto.plugins(i).path();
    const std::string where = "plugins[" + std::to_string(i) + "].path";
    if (path.empty()) continue;
    const std::string resolved = ResolvePath(filename, path);
    if (!std::filesystem::exists(resolved)) {
      plugin_errors.emplace_back(where,
                                 "plugin file \"" + path + "\" does not exist");
      continue;
    }
    std::shared_ptr<internal::PluginLibrary> lib;
    if (Status s = internal::PluginLibrary::Load(resolved, &lib); !s.ok()) {
      plugin_errors.emplace_back(where, s.message());
      continue;
    }
    for (const auto& name : lib->collector_names()) {
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        known.push_back(name);
      }
    }
  }
  Checker checker(conversion, known);
  for (const auto& [where, message] : plugin_errors) {
    checker.Error(where, message);
  }
  if (!proto.global().listen_address().empty()) {
    checker.ListenAddress("global.listen_address",
                          proto.global().listen_address());
  }
  checker.Edges("global.latency_buckets", proto.global().latency_buckets());
  checker.Collectors("default_collectors", proto.default_collectors());
  for (int i = 0; i < proto.models_size(); ++i) {
    const std::string p = "models[" + std::to_string(i) + "]";
    checker.Collectors(p + ".collectors", proto.models(i).collectors());
    checker.Thresholds(p + ".thresholds", proto.models(i).thresholds());
    if (!proto.models(i).reference().empty()) {
      checker.Reference(p + ".reference",
                        ResolvePath(filename, proto.models(i).reference()));
    }
  }
  errors.insert(errors.end(), checker.errors().begin(), checker.errors().end());
  if (!errors.empty()) {
    // In file order: "FILE:LINE:COLUMN: ..." sorted by line, then column.
    auto position = [&](const std::string& e) {
      int line = 0, column = 0;
      std::sscanf(e.c_str() + std::min(e.size(), filename.size()), ":%d:%d",
                  &line, &column);
      return std::pair{line, column};
    };
    std::stable_sort(errors.begin(), errors.end(),
                     [&](const std::string& a, const std::string& b) {
                       return position(a) < position(b);
                     });
    std::string message;
    for (const auto& e : errors) message += (message.empty() ? "" : "\n") + e;
    return Status::InvalidArgument(message);
  }

  LoadedConfig loaded;
  loaded.options = base;
  PipelineOptions& o = loaded.options;
  const v1::Global& g = proto.global();
  ApplyLimits(g.limits(), &o);
  ApplyHistograms(g.histograms(), &o);
  if (g.latency_buckets_size() > 0) {
    o.latency_buckets.assign(g.latency_buckets().begin(),
                             g.latency_buckets().end());
  }
  loaded.listen_address = g.listen_address();
  loaded.max_body_bytes = g.max_body_bytes();
  if (proto.default_collectors_size() > 0) {
    std::vector<CollectorSpec> specs;
    for (const auto& c : proto.default_collectors()) specs.push_back(ToSpec(c));
    o.default_collectors = std::move(specs);
  }
  o.routes.clear();
  for (const auto& m : proto.models()) {
    ModelRoute route;
    route.model = m.model();
    route.version = m.version();
    route.stage = m.stage();
    if (m.collectors_size() > 0) {
      std::vector<CollectorSpec> specs;
      for (const auto& c : m.collectors()) specs.push_back(ToSpec(c));
      route.collectors = std::move(specs);
    }
    for (const auto& t : m.thresholds()) {
      ThresholdSpec spec{t.metric(), t.feature(), std::nullopt, std::nullopt};
      if (t.has_upper()) spec.upper = t.upper();
      if (t.has_lower()) spec.lower = t.lower();
      route.thresholds.push_back(std::move(spec));
    }
    if (m.has_capacity()) route.capacity = m.capacity();
    o.routes.push_back(std::move(route));
  }
  // Reference profiles: the file's, in model order, then --reference's.
  std::vector<ReferenceSpec> references;
  for (const auto& m : proto.models()) {
    if (m.reference().empty()) continue;
    references.push_back({m.model(), m.version(), m.stage(),
                          ResolvePath(filename, m.reference())});
  }
  references.insert(references.end(), base.references.begin(),
                    base.references.end());
  o.references = std::move(references);
  o.plugins.clear();
  for (const auto& p : proto.plugins()) {
    o.plugins.push_back(ResolvePath(filename, p.path()));
  }
  loaded.proto = std::move(proto);
  *out = std::move(loaded);
  return Status::Ok();
}

Status LoadConfigFile(const std::string& path, const PipelineOptions& base,
                      const std::vector<std::string>& known_collectors,
                      LoadedConfig* out) {
  Status status;
  const std::string text = ReadFile(path, &status);
  if (!status.ok()) return status;
  return LoadConfigText(text, path, base, known_collectors, out);
}

std::vector<std::string> PluginPathsIn(const std::string& path) {
  Status status;
  const std::string text = ReadFile(path, &status);
  if (!status.ok()) return {};
  YamlConversion conversion;
  v1::Config proto;
  YamlToProto(text, path, &proto, &conversion);
  std::vector<std::string> paths;
  for (const auto& p : proto.plugins()) {
    if (!p.path().empty()) paths.push_back(ResolvePath(path, p.path()));
  }
  return paths;
}

}  // namespace ml_exporter::config
