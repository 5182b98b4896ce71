#include "ml_exporter/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>
#include <unordered_set>

#include "core/build_info.h"
#include "core/glob_match.h"
#include "core/label_value.h"
#include "core/per_thread.h"
#include "core/plugin_host.h"
#include "core/string_index.h"
#include "ml_exporter/metric_builder.h"

namespace ml_exporter {

std::string_view SourceName(IngestSource source) {
  switch (source) {
    case IngestSource::kHttp:
      return "http";
    case IngestSource::kFile:
      return "file";
    case IngestSource::kStdin:
      return "stdin";
    case IngestSource::kLibrary:
      return "library";
    case IngestSource::kCount:
      break;
  }
  return "unknown";
}

std::string_view ReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kInvalidJson:
      return "invalid_json";
    case RejectReason::kInvalidProtobuf:
      return "invalid_protobuf";
    case RejectReason::kNotAnObject:
      return "not_an_object";
    case RejectReason::kMissingField:
      return "missing_field";
    case RejectReason::kWrongType:
      return "wrong_type";
    case RejectReason::kUnsupportedValue:
      return "unsupported_value";
    case RejectReason::kInvalidValue:
      return "invalid_value";
    case RejectReason::kBodyTooLarge:
      return "too_large";
    case RejectReason::kCount:
      break;
  }
  return "unknown";
}

std::string_view LimitName(CardinalityLimit limit) {
  switch (limit) {
    case CardinalityLimit::kModels:
      return "max_models";
    case CardinalityLimit::kFeatures:
      return "max_features";
    case CardinalityLimit::kOutputs:
      return "max_outputs";
    case CardinalityLimit::kLabelValues:
      return "max_label_values";
    case CardinalityLimit::kCount:
      break;
  }
  return "unknown";
}

// The last model triple this thread saw, and its id: records of one stream
// nearly always repeat it, so the shared ModelTable lock is rarely taken.
struct Pipeline::ModelCache {
  std::string model, version, stage;
  ModelId id = 0;
  bool valid = false;
};

// One running collector and the settings it was built with.
struct Pipeline::Instance {
  std::string key;  // name + spec + effective options: equal keys are reused
  std::string name;
  std::unique_ptr<PipelineOptions> options;  // outlives `collector`
  std::unique_ptr<Collector> collector;
};

// Which collectors watch which models. Immutable once published, except
// for the lazily filled model -> route cache.
struct Pipeline::Routing {
  PipelineOptions options;
  std::vector<std::shared_ptr<Instance>> instances;  // distinct, run order
  // route_instances[i] for options.routes[i]; the last entry is the
  // defaults, for models no route matches.
  std::vector<std::vector<Instance*>> route_instances;
  // Per model id: index into route_instances + 1, or 0 when not resolved.
  std::unique_ptr<std::atomic<uint32_t>[]> route_of_model;
  // The plugins of options.plugins, in order; their collectors keep them
  // loaded while instances made by them run.
  std::vector<std::shared_ptr<internal::PluginLibrary>> plugins;
};

namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

// Everything that determines what a collector instance computes.
// A file's identity for reload purposes: a profile rewritten in place
// (same path, new contents) must rebuild the collectors that read it.
std::string FileVersion(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return "?";
  const auto time = std::filesystem::last_write_time(path, ec);
  if (ec) return "?";
  return std::to_string(size) + "@" +
         std::to_string(time.time_since_epoch().count());
}

// Everything that determines what a collector instance computes. `origin`
// is the plugin file providing the collector ("" for a built-in one).
std::string InstanceKey(const CollectorSpec& spec,
                        const PipelineOptions& effective,
                        const std::string& origin) {
  std::string key = origin + "|" + spec.name + "|" + Join(spec.include) + "|" +
                    Join(spec.exclude) + "|" + spec.params + "|";
  for (const auto& [name, edges] : effective.explicit_buckets) {
    key += name + ":";
    for (double e : edges) key += std::to_string(e) + ",";
  }
  key += "|" + std::to_string(effective.max_features) + "," +
         std::to_string(effective.max_outputs) + "," +
         std::to_string(effective.max_label_values) + "," +
         std::to_string(effective.max_label_length) + "," +
         std::to_string(effective.histogram_warmup_values) + "," +
         std::to_string(effective.histogram_warmup_seconds) + "," +
         std::to_string(effective.histogram_quantile_buckets) + "|";
  for (double e : effective.latency_buckets) key += std::to_string(e) + ",";
  key += "|";
  for (double e : effective.length_buckets) key += std::to_string(e) + ",";
  key += "|";
  for (const ReferenceSpec& r : effective.references) {
    key += r.model + ":" + r.version + ":" + r.stage + ":" + r.path + ":" +
           FileVersion(r.path) + ",";
  }
  key += "|" + std::to_string(effective.drift.window_seconds) + "," +
         std::to_string(effective.drift.min_count) + "," +
         (effective.drift.baseline_from_traffic ? "1" : "0");
  return key;
}

// Loads options.plugins (reusing the libraries `previous` loaded from the
// same paths) and checks that no two collectors share a name.
Status LoadPlugins(
    const std::vector<std::string>& paths,
    const std::vector<std::shared_ptr<internal::PluginLibrary>>* previous,
    std::vector<std::shared_ptr<internal::PluginLibrary>>* out) {
  std::map<std::string, std::string> provider;  // collector -> plugin path
  for (const auto* e : CollectorRegistry::Global().Entries()) {
    provider[e->name] = "";
  }
  for (const std::string& path : paths) {
    std::shared_ptr<internal::PluginLibrary> lib;
    if (previous != nullptr) {
      for (const auto& p : *previous) {
        if (p->path() == path) lib = p;
      }
    }
    if (!lib) {
      if (Status s = internal::PluginLibrary::Load(path, &lib); !s.ok()) {
        return s;
      }
    }
    for (const std::string& name : lib->collector_names()) {
      auto [it, inserted] = provider.emplace(name, path);
      if (!inserted) {
        return Status::InvalidArgument(
            "plugin \"" + path + "\" provides collector \"" + name +
            "\", which " +
            (it->second.empty()
                 ? std::string("is a built-in collector")
                 : "plugin \"" + it->second + "\" provides too"));
      }
    }
    out->push_back(std::move(lib));
  }
  return Status::Ok();
}

PipelineOptions Effective(const PipelineOptions& global,
                          const CollectorSpec& spec) {
  PipelineOptions o = global;
  o.routes.clear();
  o.default_collectors.reset();
  o.collectors.clear();
  o.plugins.clear();
  if (spec.max_features) o.max_features = *spec.max_features;
  if (spec.max_outputs) o.max_outputs = *spec.max_outputs;
  if (spec.max_label_values) o.max_label_values = *spec.max_label_values;
  if (spec.histogram_warmup_values) {
    o.histogram_warmup_values = *spec.histogram_warmup_values;
  }
  if (spec.histogram_warmup_seconds) {
    o.histogram_warmup_seconds = *spec.histogram_warmup_seconds;
  }
  if (spec.histogram_quantile_buckets) {
    o.histogram_quantile_buckets = *spec.histogram_quantile_buckets;
  }
  for (const auto& [name, edges] : spec.buckets)
    o.explicit_buckets[name] = edges;
  return o;
}

Status CheckOptions(const PipelineOptions& o, const std::string& where) {
  if (o.max_models < 1 || o.max_features < 1 || o.max_outputs < 1 ||
      o.max_label_values < 1) {
    return Status::InvalidArgument(
        where +
        "max_models, max_features, max_outputs and max_label_values must be "
        "at least 1");
  }
  // Tables of max_models + 1 slots are allocated up front.
  if (o.max_models > 1000000) {
    return Status::InvalidArgument(where +
                                   "max_models must be at most 1000000");
  }
  if (o.max_label_length < 8) {
    return Status::InvalidArgument(where +
                                   "max_label_length must be at least 8");
  }
  if (o.histogram_quantile_buckets < 1 || o.histogram_quantile_buckets > 100) {
    return Status::InvalidArgument(
        where + "histogram_quantile_buckets must be between 1 and 100");
  }
  if (o.histogram_warmup_values < 1) {
    return Status::InvalidArgument(
        where + "histogram_warmup_values must be at least 1");
  }
  if (!(o.histogram_warmup_seconds >= 0)) {  // NaN too
    return Status::InvalidArgument(
        where + "histogram_warmup_seconds must be a number >= 0");
  }
  return Status::Ok();
}

}  // namespace

Pipeline::Pipeline(const PipelineOptions& options)
    : models_(options.max_models, options.max_label_length),
      model_cache_(std::make_unique<internal::PerThread<ModelCache>>()) {}

Pipeline::~Pipeline() = default;

Status Pipeline::Create(const PipelineOptions& options,
                        std::unique_ptr<Pipeline>* pipeline) {
  if (Status s = CheckOptions(options, ""); !s.ok()) return s;
  std::unique_ptr<Pipeline> p(new Pipeline(options));
  std::unique_ptr<Routing> routing;
  if (Status s = p->BuildRouting(options, nullptr, &routing); !s.ok()) {
    return s;
  }
  p->current_ = std::move(routing);
  p->routing_.store(p->current_.get(), std::memory_order_release);
  *pipeline = std::move(p);
  return Status::Ok();
}

Status Pipeline::BuildRouting(const PipelineOptions& requested,
                              const Routing* previous,
                              std::unique_ptr<Routing>* out) {
  auto routing = std::make_unique<Routing>();
  routing->options = requested;
  // Shared tables keep the sizes they were created with.
  routing->options.max_models =
      previous ? previous->options.max_models : requested.max_models;
  routing->options.max_label_length = previous
                                          ? previous->options.max_label_length
                                          : requested.max_label_length;
  const PipelineOptions& options = routing->options;
  const CollectorRegistry& registry = CollectorRegistry::Global();
  if (Status s =
          LoadPlugins(options.plugins, previous ? &previous->plugins : nullptr,
                      &routing->plugins);
      !s.ok()) {
    return s;
  }
  // The plugin providing a collector that is not built in, or null.
  auto plugin_of =
      [&](const std::string& name) -> std::shared_ptr<internal::PluginLibrary> {
    for (const auto& lib : routing->plugins) {
      const auto names = lib->collector_names();
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        return lib;
      }
    }
    return nullptr;
  };

  std::vector<CollectorSpec> defaults;
  if (options.default_collectors) {
    defaults = *options.default_collectors;
  } else {
    std::vector<std::string> names = options.collectors;
    if (names.empty()) {
      for (const auto* entry : registry.Entries()) {
        if (entry->enabled_by_default) names.push_back(entry->name);
      }
    }
    for (const auto& n : names) {
      CollectorSpec spec;
      spec.name = n;
      defaults.push_back(std::move(spec));
    }
  }

  std::map<std::string, std::shared_ptr<Instance>> by_key;
  if (previous != nullptr) {
    for (const auto& i : previous->instances) by_key[i->key] = i;
  }
  std::map<std::string, std::shared_ptr<Instance>> used;
  auto instantiate = [&](const std::vector<CollectorSpec>& specs,
                         const std::string& where,
                         std::vector<Instance*>* list) -> Status {
    std::set<std::string> names;
    for (const CollectorSpec& spec : specs) {
      if (!names.insert(spec.name).second) {
        return Status::InvalidArgument(where + "collector \"" + spec.name +
                                       "\" is listed twice");
      }
      PipelineOptions effective = Effective(options, spec);
      if (Status s = CheckOptions(effective, where + spec.name + ": ");
          !s.ok()) {
        return s;
      }
      const CollectorRegistry::Entry* entry = registry.Find(spec.name);
      const std::shared_ptr<internal::PluginLibrary> plugin =
          entry == nullptr ? plugin_of(spec.name) : nullptr;
      if (entry == nullptr && plugin == nullptr) {
        std::string known;
        for (const auto* e : registry.Entries()) {
          known += known.empty() ? "" : ", ";
          known += e->name;
        }
        for (const auto& lib : routing->plugins) {
          for (const auto& n : lib->collector_names()) known += ", " + n;
        }
        return Status::InvalidArgument(where + "unknown collector \"" +
                                       spec.name +
                                       "\"; known collectors: " + known);
      }
      const std::string key =
          InstanceKey(spec, effective, plugin ? plugin->path() : "");
      std::shared_ptr<Instance>& slot = used[key];
      if (!slot) {
        if (auto it = by_key.find(key); it != by_key.end()) {
          slot = it->second;
        } else {
          auto instance = std::make_shared<Instance>();
          instance->key = key;
          instance->name = spec.name;
          instance->options =
              std::make_unique<PipelineOptions>(std::move(effective));
          CollectorContext context;
          context.options = instance->options.get();
          context.cardinality = &cardinality_;
          context.include = spec.include;
          context.exclude = spec.exclude;
          context.params = spec.params;
          std::string error;
          context.error = &error;
          if (entry != nullptr) {
            instance->collector = entry->factory(context);
          } else if (Status s = plugin->NewCollector(spec.name, context,
                                                     &instance->collector);
                     !s.ok()) {
            instance->collector.reset();
            if (error.empty()) error = s.message();
          }
          if (!instance->collector) {
            return Status::InvalidArgument(
                where + "collector \"" + spec.name +
                "\": " + (error.empty() ? "could not be created" : error));
          }
          slot = std::move(instance);
        }
        routing->instances.push_back(slot);
      }
      list->push_back(slot.get());
    }
    return Status::Ok();
  };

  std::vector<Instance*> default_list;
  if (Status s = instantiate(defaults, "default collectors: ", &default_list);
      !s.ok()) {
    return s;
  }
  for (size_t r = 0; r < options.routes.size(); ++r) {
    const ModelRoute& route = options.routes[r];
    std::vector<Instance*> list;
    if (route.collectors) {
      const std::string where = "model \"" + route.model + "\": ";
      if (Status s = instantiate(*route.collectors, where, &list); !s.ok()) {
        return s;
      }
    } else {
      list = default_list;
    }
    routing->route_instances.push_back(std::move(list));
  }
  routing->route_instances.push_back(std::move(default_list));
  routing->route_of_model =
      std::make_unique<std::atomic<uint32_t>[]>(options.max_models + 1);
  for (size_t i = 0; i <= options.max_models; ++i) {
    routing->route_of_model[i].store(0, std::memory_order_relaxed);
  }
  *out = std::move(routing);
  return Status::Ok();
}

Status Pipeline::Reconfigure(const PipelineOptions& options) {
  if (Status s = CheckOptions(options, ""); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(reconfigure_mu_);
  std::unique_ptr<Routing> routing;
  if (Status s = BuildRouting(options, current_.get(), &routing); !s.ok()) {
    return s;
  }
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(retired_, [&](const Retired& r) {
    return now - r.since > std::chrono::seconds(60);
  });
  retired_.push_back({std::move(current_), now});
  current_ = std::move(routing);
  routing_.store(current_.get(), std::memory_order_release);
  return Status::Ok();
}

PipelineOptions Pipeline::current_options() const {
  std::lock_guard<std::mutex> lock(reconfigure_mu_);
  return current_->options;
}

void Pipeline::AddMetricsSource(
    std::function<void(std::vector<prometheus::MetricFamily>*)> source) {
  metrics_sources_.push_back(std::move(source));
}

const std::vector<Pipeline::Instance*>& Pipeline::InstancesFor(
    const Routing& routing, ModelId id) {
  uint32_t r = routing.route_of_model[id].load(std::memory_order_relaxed);
  if (r == 0) {
    const ModelLabels& labels = models_.labels(id);
    const auto& routes = routing.options.routes;
    size_t match = routes.size();  // the defaults
    for (size_t i = 0; i < routes.size(); ++i) {
      if (internal::GlobMatch(routes[i].model, labels.model) &&
          internal::GlobMatch(routes[i].version, labels.version) &&
          internal::GlobMatch(routes[i].stage, labels.stage)) {
        match = i;
        break;
      }
    }
    r = static_cast<uint32_t>(match + 1);
    routing.route_of_model[id].store(r, std::memory_order_relaxed);
  }
  return routing.route_instances[r - 1];
}

std::vector<std::string> Pipeline::collector_names() const {
  std::vector<std::string> names;
  const Routing* routing = routing_.load(std::memory_order_acquire);
  for (const auto& i : routing->instances) names.push_back(i->name);
  return names;
}

std::vector<Pipeline::ModelStatus> Pipeline::model_status() {
  const Routing* routing = routing_.load(std::memory_order_acquire);
  std::vector<ModelStatus> out;
  for (ModelId id = 0; id < models_.size(); ++id) {
    ModelStatus status{models_.labels(id), {}};
    for (const Instance* i : InstancesFor(*routing, id)) {
      status.collectors.push_back(i->name);
    }
    out.push_back(std::move(status));
  }
  return out;
}

std::vector<Pipeline::PluginStatus> Pipeline::plugin_status() const {
  std::vector<PluginStatus> out;
  const Routing* routing = routing_.load(std::memory_order_acquire);
  for (const auto& lib : routing->plugins) {
    out.push_back({lib->path(), lib->name(), lib->version(), lib->abi(),
                   lib->collector_names()});
  }
  return out;
}

ModelId Pipeline::ResolveModel(std::string_view model, std::string_view version,
                               std::string_view stage) {
  ModelCache& cache = model_cache_->Local();
  if (cache.valid && internal::SameShortString(cache.model, model) &&
      internal::SameShortString(cache.version, version) &&
      internal::SameShortString(cache.stage, stage)) {
    return cache.id;
  }
  bool overflowed = false;
  ModelId id = models_.Intern(model, version, stage, &overflowed);
  if (overflowed) {
    cardinality_.AddOverflow(CardinalityLimit::kModels);
    return id;  // never cache an overflowing triple: it would pin memory
  }
  cache.model.assign(model);
  cache.version.assign(version);
  cache.stage.assign(stage);
  cache.id = id;
  cache.valid = true;
  return id;
}

Status Pipeline::Observe(const Record& record) {
  if (record.model.empty()) {
    return Status::InvalidArgument("field \"model\" is required");
  }
  if (!std::isnan(record.latency_seconds) &&
      !(record.latency_seconds >= 0 && std::isfinite(record.latency_seconds))) {
    return Status::InvalidArgument(
        "field \"latency_seconds\" must be a finite number >= 0");
  }
  ObserveContext context{
      ResolveModel(record.model, record.version, record.stage)};
  const Routing* routing = routing_.load(std::memory_order_acquire);
  for (Instance* i : InstancesFor(*routing, context.model_id)) {
    i->collector->Observe(record, context);
  }
  return Status::Ok();
}

Status Pipeline::ObserveEvent(const Event& event) {
  if (event.type.empty()) {
    return Status::InvalidArgument("field \"type\" is required in an event");
  }
  ObserveContext context{};
  const Routing* routing = routing_.load(std::memory_order_acquire);
  if (!event.model.empty()) {
    context.model_id = ResolveModel(event.model, event.version, event.stage);
    for (Instance* i : InstancesFor(*routing, context.model_id)) {
      i->collector->ObserveEvent(event, context);
    }
  } else {
    context.model_id = ObserveContext::kNoModel;
    for (const auto& i : routing->instances) {
      i->collector->ObserveEvent(event, context);
    }
  }
  return Status::Ok();
}

namespace {

// Keeps only series whose model labels are in `allowed` (when given), and
// appends them to the family of the same name in `out`, so that collectors
// sharing a metric name across routes yield one family.
void MergeFamilies(
    std::vector<prometheus::MetricFamily>&& families,
    const std::set<std::tuple<std::string, std::string, std::string>>* allowed,
    std::map<std::string, size_t>* index,
    std::vector<prometheus::MetricFamily>* out) {
  for (auto& family : families) {
    if (allowed != nullptr) {
      std::erase_if(family.metric, [&](const prometheus::ClientMetric& m) {
        const std::string* model = nullptr;
        const std::string* version = nullptr;
        const std::string* stage = nullptr;
        for (const auto& l : m.label) {
          if (l.name == "model") model = &l.value;
          if (l.name == "version") version = &l.value;
          if (l.name == "stage") stage = &l.value;
        }
        if (!model || !version || !stage) return false;  // not per model
        return allowed->count({*model, *version, *stage}) == 0;
      });
    }
    auto [it, inserted] = index->emplace(family.name, out->size());
    if (inserted) {
      out->push_back(std::move(family));
      continue;
    }
    // Series that are not per model (a collector's own state) can come from
    // several instances of one collector: add them up.
    auto& target = (*out)[it->second].metric;
    for (auto& m : family.metric) {
      const bool per_model =
          std::any_of(m.label.begin(), m.label.end(),
                      [](const prometheus::ClientMetric::Label& l) {
                        return l.name == "model";
                      });
      auto same =
          per_model
              ? target.end()
              : std::find_if(target.begin(), target.end(),
                             [&](const auto& t) { return t.label == m.label; });
      if (same == target.end()) {
        target.push_back(std::move(m));
      } else {
        same->counter.value += m.counter.value;
        same->gauge.value += m.gauge.value;
      }
    }
  }
}

}  // namespace

std::vector<prometheus::MetricFamily> Pipeline::Collect() {
  std::vector<prometheus::MetricFamily> out;
  const Routing* routing = routing_.load(std::memory_order_acquire);
  // Which models each instance is currently responsible for: after a reload
  // a kept instance may hold counts of models now routed elsewhere.
  using Triple = std::tuple<std::string, std::string, std::string>;
  std::map<const Instance*, std::set<Triple>> allowed;
  const size_t n_models = models_.size();
  auto thresholds = NewFamily(
      "ml_alert_threshold",
      "Alert thresholds from the configuration, compared with the metrics by "
      "the shipped alert rules.",
      prometheus::MetricType::Gauge);
  auto capacity = NewFamily(
      "ml_model_capacity",
      "Requests the model's servers process at once, from the configuration; "
      "the alert rules' load ratio is busy seconds per second over this.",
      prometheus::MetricType::Gauge);
  for (ModelId id = 0; id < n_models; ++id) {
    const ModelLabels& l = models_.labels(id);
    for (const Instance* i : InstancesFor(*routing, id)) {
      allowed[i].insert({l.model, l.version, l.stage});
    }
    const uint32_t route = routing->route_of_model[id].load() - 1;
    if (route < routing->options.routes.size()) {
      if (const auto& c = routing->options.routes[route].capacity) {
        AddGauge(&capacity, ModelLabelList(l, {}), *c);
      }
      for (const ThresholdSpec& t : routing->options.routes[route].thresholds) {
        for (const auto& [bound, value] :
             {std::pair{"upper", t.upper}, std::pair{"lower", t.lower}}) {
          if (!value) continue;
          AddGauge(&thresholds,
                   ModelLabelList(l, {{"feature", t.feature},
                                      {"metric", t.metric},
                                      {"bound", bound}}),
                   *value);
        }
      }
    }
  }

  auto duration = NewFamily(
      "ml_exporter_collector_duration_seconds",
      "Seconds each collector took to export its metrics at this scrape.",
      prometheus::MetricType::Gauge);
  auto success = NewFamily(
      "ml_exporter_collector_success",
      "1 if the collector exported its metrics at this scrape, 0 if it failed.",
      prometheus::MetricType::Gauge);
  std::map<std::string, size_t> index;
  std::map<std::string, std::pair<double, bool>> by_name;  // summed, all ok
  for (const auto& instance : routing->instances) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<prometheus::MetricFamily> families;
    Status status = instance->collector->Collect(models_, &families);
    const std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - start;
    const auto it = allowed.find(instance.get());
    static const std::set<Triple> kNone;
    MergeFamilies(std::move(families),
                  it == allowed.end() ? &kNone : &it->second, &index, &out);
    auto& [seconds, ok] =
        by_name.try_emplace(instance->name, 0.0, true).first->second;
    seconds += took.count();
    ok = ok && status.ok();
  }
  for (const auto& [name, result] : by_name) {
    AddGauge(&duration, {{"collector", name}}, result.first);
    AddGauge(&success, {{"collector", name}}, result.second ? 1 : 0);
  }
  out.push_back(std::move(duration));
  out.push_back(std::move(success));
  AppendIfNotEmpty(std::move(thresholds), &out);
  AppendIfNotEmpty(std::move(capacity), &out);
  internal::AppendPluginInfo(routing->plugins, &out);
  for (const auto& source : metrics_sources_) source(&out);

  auto ingested = NewFamily(
      "ml_exporter_ingested_records_total",
      "Records accepted and handed to the collectors, by input source.",
      prometheus::MetricType::Counter);
  auto ingested_events = NewFamily(
      "ml_exporter_ingested_events_total",
      "Events accepted and handed to the collectors, by input source.",
      prometheus::MetricType::Counter);
  auto rejected =
      NewFamily("ml_exporter_rejected_records_total",
                "Records and events rejected, by input source and reason.",
                prometheus::MetricType::Counter);
  for (size_t s = 0; s < static_cast<size_t>(IngestSource::kCount); ++s) {
    const auto source = static_cast<IngestSource>(s);
    const std::string source_name(SourceName(source));
    AddCounter(&ingested, {{"source", source_name}},
               static_cast<double>(ingest_stats_.accepted(source)));
    AddCounter(&ingested_events, {{"source", source_name}},
               static_cast<double>(ingest_stats_.accepted_events(source)));
    for (size_t r = 0; r < static_cast<size_t>(RejectReason::kCount); ++r) {
      const auto reason = static_cast<RejectReason>(r);
      AddCounter(&rejected,
                 {{"source", source_name},
                  {"reason", std::string(ReasonName(reason))}},
                 static_cast<double>(ingest_stats_.rejected(source, reason)));
    }
  }
  out.push_back(std::move(ingested));
  out.push_back(std::move(ingested_events));
  out.push_back(std::move(rejected));

  auto overflow = NewFamily(
      "ml_exporter_cardinality_overflow_total",
      "Values counted under \"__other__\" because a cardinality limit was "
      "reached, by limit.",
      prometheus::MetricType::Counter);
  for (size_t l = 0; l < static_cast<size_t>(CardinalityLimit::kCount); ++l) {
    const auto limit = static_cast<CardinalityLimit>(l);
    AddCounter(&overflow, {{"limit", std::string(LimitName(limit))}},
               static_cast<double>(cardinality_.overflow(limit)));
  }
  out.push_back(std::move(overflow));

  auto models = NewFamily("ml_exporter_models",
                          "Distinct (model, version, stage) series tracked.",
                          prometheus::MetricType::Gauge);
  AddGauge(&models, {}, static_cast<double>(models_.size()));
  out.push_back(std::move(models));

  auto build = NewFamily("ml_exporter_build_info",
                         "Always 1; the labels say which build is running.",
                         prometheus::MetricType::Gauge);
  AddGauge(&build,
           {{"version", internal::kBuildVersion},
            {"revision", internal::kBuildRevision}},
           1);
  out.push_back(std::move(build));
  return out;
}

namespace {

class PipelineCollectable : public prometheus::Collectable {
 public:
  explicit PipelineCollectable(Pipeline* pipeline) : pipeline_(pipeline) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    return pipeline_->Collect();
  }

 private:
  Pipeline* pipeline_;
};

}  // namespace

std::shared_ptr<prometheus::Collectable> Pipeline::AsCollectable() {
  return std::make_shared<PipelineCollectable>(this);
}

}  // namespace ml_exporter
