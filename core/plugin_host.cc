#include "core/plugin_host.h"

#include <dlfcn.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <iostream>
#include <mutex>
#include <set>
#include <unordered_set>

#include "core/build_info.h"
#include "core/label_value.h"
#include "core/plugin_families.h"
#include "core/plugin_wire_encoder.h"
#include "ml_exporter/metric_builder.h"
#include "plugin_host.pb.h"

namespace ml_exporter::internal {
namespace {

namespace wire = pluginhost::v1;

constexpr size_t kErrorCapacity = 4096;
// More output than this from one collector at one scrape is discarded: a
// runaway plugin must not exhaust the exporter's memory.
constexpr size_t kMaxOutputBytes = 64 << 20;
constexpr size_t kMaxProblemsShown = 3;
constexpr size_t kMaxCollectorsPerPlugin = 1000;
// A per-thread serialization buffer grown past this is released after use.
constexpr size_t kMaxKeptBufferBytes = 1 << 20;
// The members every ABI keeps in place, and the whole 1.0 descriptor.
constexpr size_t kDescriptorHeaderSize =
    offsetof(ml_exporter_plugin_descriptor, abi_minor) + sizeof(uint32_t);
constexpr size_t kDescriptorV1Size =
    offsetof(ml_exporter_plugin_descriptor, destroy) +
    sizeof(ml_exporter_plugin_descriptor::destroy);

std::function<void(std::string_view)>& LogSink() {
  static auto* sink =
      new std::function<void(std::string_view)>([](std::string_view message) {
        std::cerr << "ml_exporter: " << message << std::endl;
      });
  return *sink;
}

// The plugin's NUL-terminated message, made safe to print.
std::string ErrorText(const char* buffer) {
  std::string text = SanitizeLabelValue(
      std::string_view(buffer, strnlen(buffer, kErrorCapacity)), 1024);
  return text.empty() ? "(no message)" : text;
}

Status FromPluginCode(int32_t code, std::string message) {
  switch (code) {
    case ML_EXPORTER_PLUGIN_INVALID_ARGUMENT:
      return Status::InvalidArgument(std::move(message));
    case ML_EXPORTER_PLUGIN_NOT_FOUND:
      return Status::NotFound(std::move(message));
    default:
      return Status::Internal(std::move(message));
  }
}

struct OutputSink {
  std::string data;
  bool overflow = false;
};

void WriteOutput(void* sink, const uint8_t* data, size_t size) {
  auto* out = static_cast<OutputSink*>(sink);
  if (out->overflow || size > kMaxOutputBytes - out->data.size()) {
    out->overflow = true;
    return;
  }
  out->data.append(reinterpret_cast<const char*>(data), size);
}

void ReleaseIfLarge(std::string* buffer) {
  if (buffer->capacity() > kMaxKeptBufferBytes) std::string().swap(*buffer);
}

const uint8_t* Bytes(const std::string& s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

// One plugin collector instance behind the Collector interface.
class PluginCollector : public Collector {
 public:
  PluginCollector(std::shared_ptr<PluginLibrary> library,
                  const ml_exporter_plugin_descriptor* descriptor,
                  ml_exporter_collector* handle, std::string where,
                  CardinalityStats* cardinality)
      : library_(std::move(library)),
        descriptor_(descriptor),
        handle_(handle),
        where_(std::move(where)),
        cardinality_(cardinality) {}

  ~PluginCollector() override { descriptor_->destroy(handle_); }

  void Observe(const Record& record, const ObserveContext& context) override {
    thread_local std::string buffer, scratch;
    EncodeRecordForPlugin(record, &buffer, &scratch);
    if (descriptor_->observe(handle_, context.model_id, Bytes(buffer),
                             buffer.size()) != ML_EXPORTER_PLUGIN_OK) {
      observe_failures_.fetch_add(1, std::memory_order_relaxed);
    }
    ReleaseIfLarge(&buffer);
    ReleaseIfLarge(&scratch);
  }

  void ObserveEvent(const Event& event,
                    const ObserveContext& context) override {
    thread_local std::string buffer;
    EncodeEventForPlugin(event, &buffer);
    if (descriptor_->observe_event(handle_, context.model_id, Bytes(buffer),
                                   buffer.size()) != ML_EXPORTER_PLUGIN_OK) {
      observe_failures_.fetch_add(1, std::memory_order_relaxed);
    }
    ReleaseIfLarge(&buffer);
  }

  Status Collect(const ModelTable& models,
                 std::vector<prometheus::MetricFamily>* out) override {
    std::lock_guard<std::mutex> lock(mu_);
    // Labels of an id never change: send the ones added since last time.
    const size_t n = models.size();
    for (size_t id = models_.models_size(); id < n; ++id) {
      const ModelLabels& labels = models.labels(static_cast<ModelId>(id));
      wire::ModelLabels* m = models_.add_models();
      m->set_model(labels.model);
      m->set_version(labels.version);
      m->set_stage(labels.stage);
    }
    const std::string table = models_.SerializeAsString();

    OutputSink sink;
    char error[kErrorCapacity] = {};
    const int32_t code =
        descriptor_->collect(handle_, Bytes(table), table.size(), &WriteOutput,
                             &sink, error, sizeof error);
    error[sizeof error - 1] = '\0';

    std::vector<std::string> problems;
    Status::Code status_code = Status::Code::kOk;
    auto fail = [&](Status::Code c, std::string problem) {
      if (status_code == Status::Code::kOk) status_code = c;
      problems.push_back(std::move(problem));
    };
    if (code != ML_EXPORTER_PLUGIN_OK) {
      fail(FromPluginCode(code, "").code(), ErrorText(error));
    }
    const uint64_t failures =
        observe_failures_.exchange(0, std::memory_order_relaxed);
    if (failures != 0) {
      fail(Status::Code::kInternal,
           std::to_string(failures) +
               " observe calls failed since the previous scrape");
    }
    wire::MetricFamilies families;
    if (sink.overflow) {
      fail(Status::Code::kInternal, "output larger than " +
                                        std::to_string(kMaxOutputBytes >> 20) +
                                        " MiB discarded");
    } else if (!families.ParseFromString(sink.data)) {
      fail(Status::Code::kInternal,
           "output (" + std::to_string(sink.data.size()) +
               " bytes) is not a serialized MetricFamilies message");
    } else {
      std::unordered_set<std::string> taken;
      for (const auto& f : *out) taken.insert(f.name);
      FamilyConversion converted = ConvertPluginFamilies(families, &taken, out);
      if (converted.dropped != 0) {
        std::string problem =
            "dropped " + std::to_string(converted.dropped) + " of " +
            std::to_string(converted.dropped + converted.accepted) +
            " metric families: ";
        for (size_t i = 0;
             i < converted.problems.size() && i < kMaxProblemsShown; ++i) {
          problem += (i ? "; " : "") + converted.problems[i];
        }
        if (converted.problems.size() > kMaxProblemsShown) {
          problem +=
              "; and " +
              std::to_string(converted.problems.size() - kMaxProblemsShown) +
              " more";
        }
        fail(Status::Code::kInvalidArgument, std::move(problem));
      }
      ForwardOverflow(families.overflow());
    }

    if (status_code == Status::Code::kOk) {
      if (!last_logged_.empty()) {
        LogSink()(where_ + ": recovered");
        last_logged_.clear();
      }
      return Status::Ok();
    }
    std::string message = where_ + ": ";
    for (size_t i = 0; i < problems.size(); ++i) {
      message += (i ? "; " : "") + problems[i];
    }
    if (message != last_logged_) {
      LogSink()(message);
      last_logged_ = message;
    }
    return status_code == Status::Code::kInvalidArgument
               ? Status::InvalidArgument(std::move(message))
               : Status::Internal(std::move(message));
  }

 private:
  // The plugin reports totals since it was created; the host's counters
  // get the increase.
  void ForwardOverflow(const wire::CardinalityOverflow& totals) {
    if (cardinality_ == nullptr) return;
    const uint64_t now[] = {totals.models(), totals.features(),
                            totals.outputs(), totals.label_values()};
    const CardinalityLimit limits[] = {
        CardinalityLimit::kModels, CardinalityLimit::kFeatures,
        CardinalityLimit::kOutputs, CardinalityLimit::kLabelValues};
    for (size_t i = 0; i < 4; ++i) {
      if (now[i] > overflow_seen_[i]) {
        // Bounded so that a garbage total cannot stall the scrape.
        const uint64_t delta =
            std::min<uint64_t>(now[i] - overflow_seen_[i], 1 << 20);
        for (uint64_t k = 0; k < delta; ++k)
          cardinality_->AddOverflow(limits[i]);
      }
      overflow_seen_[i] = now[i];
    }
  }

  // Declared first: the library is unloaded after the handle is destroyed.
  const std::shared_ptr<PluginLibrary> library_;
  const ml_exporter_plugin_descriptor* const descriptor_;
  ml_exporter_collector* const handle_;
  const std::string where_;
  CardinalityStats* const cardinality_;
  std::atomic<uint64_t> observe_failures_{0};

  std::mutex mu_;  // serialises Collect; guards the members below
  wire::ModelTable models_;
  uint64_t overflow_seen_[4] = {};
  std::string last_logged_;
};

}  // namespace

Status PluginLibrary::Load(const std::string& path,
                           std::shared_ptr<PluginLibrary>* out) {
  const std::string where = "plugin " + path;
  if (path.empty()) return Status::InvalidArgument("plugin path is empty");
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* reason = dlerror();
    return Status::InvalidArgument(
        where + ": cannot load: " + (reason ? reason : "unknown dlopen error"));
  }
  std::shared_ptr<PluginLibrary> lib(new PluginLibrary());
  lib->handle_ = handle;  // dlclose()d by the destructor from here on
  lib->path_ = path;

  dlerror();
  void* symbol = dlsym(handle, ML_EXPORTER_PLUGIN_ENTRY_SYMBOL);
  if (symbol == nullptr) {
    return Status::InvalidArgument(
        where + ": missing symbol " ML_EXPORTER_PLUGIN_ENTRY_SYMBOL
                " (not an ml_exporter plugin, or built without the "
                "ML_EXPORTER_PLUGIN macro)");
  }
  auto entry = reinterpret_cast<ml_exporter_plugin_entry_fn>(symbol);
  const ml_exporter_plugin_descriptor* d =
      entry(ML_EXPORTER_PLUGIN_ABI_MAJOR, ML_EXPORTER_PLUGIN_ABI_MINOR);
  const std::string host_abi = std::to_string(ML_EXPORTER_PLUGIN_ABI_MAJOR) +
                               "." +
                               std::to_string(ML_EXPORTER_PLUGIN_ABI_MINOR);
  if (d == nullptr) {
    return Status::InvalidArgument(where + ": the plugin declined plugin ABI " +
                                   host_abi +
                                   " (its entry point returned no descriptor)");
  }
  if (d->struct_size < kDescriptorHeaderSize) {
    return Status::InvalidArgument(where + ": bad descriptor: struct_size " +
                                   std::to_string(d->struct_size) +
                                   " is too small");
  }
  const std::string plugin_abi =
      std::to_string(d->abi_major) + "." + std::to_string(d->abi_minor);
  if (d->abi_major != ML_EXPORTER_PLUGIN_ABI_MAJOR ||
      d->abi_minor > ML_EXPORTER_PLUGIN_ABI_MINOR) {
    return Status::InvalidArgument(
        where + ": incompatible plugin ABI " + plugin_abi +
        "; this ml_exporter (" + kBuildVersion + ") supports plugin ABI " +
        host_abi +
        " (the majors must be equal and the plugin's minor at most the "
        "host's): rebuild the plugin against this version's headers");
  }
  if (d->struct_size < kDescriptorV1Size) {
    return Status::InvalidArgument(
        where + ": bad descriptor: struct_size " +
        std::to_string(d->struct_size) + " is smaller than the " +
        std::to_string(kDescriptorV1Size) + " bytes of plugin ABI " +
        std::to_string(ML_EXPORTER_PLUGIN_ABI_MAJOR) + ".0");
  }
  const char* missing = nullptr;
  if (d->name == nullptr || d->name[0] == '\0')
    missing = "name";
  else if (d->version == nullptr)
    missing = "version";
  else if (d->get_collector == nullptr)
    missing = "get_collector";
  else if (d->create == nullptr)
    missing = "create";
  else if (d->observe == nullptr)
    missing = "observe";
  else if (d->observe_event == nullptr)
    missing = "observe_event";
  else if (d->collect == nullptr)
    missing = "collect";
  else if (d->destroy == nullptr)
    missing = "destroy";
  if (missing != nullptr) {
    return Status::InvalidArgument(where + ": bad descriptor: " + missing +
                                   " is not set");
  }
  if (d->collector_count == 0 || d->collector_count > kMaxCollectorsPerPlugin) {
    return Status::InvalidArgument(
        where + ": bad descriptor: collector_count is " +
        std::to_string(d->collector_count) + " (must be 1 to " +
        std::to_string(kMaxCollectorsPerPlugin) + ")");
  }
  lib->descriptor_ = d;
  lib->name_ = SanitizeLabelValue(d->name, 128);
  lib->version_ = SanitizeLabelValue(d->version, 128);
  lib->abi_ = plugin_abi;
  std::set<std::string> seen;
  for (size_t i = 0; i < d->collector_count; ++i) {
    ml_exporter_collector_info info{};
    info.struct_size = sizeof info;
    if (d->get_collector(i, &info) != ML_EXPORTER_PLUGIN_OK ||
        info.name == nullptr || info.name[0] == '\0') {
      return Status::InvalidArgument(where + ": bad descriptor: collector " +
                                     std::to_string(i) + " has no name");
    }
    CollectorInfo c{
        SanitizeLabelValue(info.name, 128),
        info.description ? SanitizeLabelValue(info.description, 1024) : ""};
    if (!seen.insert(c.name).second) {
      return Status::InvalidArgument(where +
                                     ": bad descriptor: two collectors are "
                                     "named \"" +
                                     c.name + "\"");
    }
    lib->collectors_.push_back(std::move(c));
  }
  *out = std::move(lib);
  return Status::Ok();
}

PluginLibrary::~PluginLibrary() {
  if (handle_ != nullptr) dlclose(handle_);
}

std::vector<std::string> PluginLibrary::collector_names() const {
  std::vector<std::string> names;
  for (const CollectorInfo& c : collectors_) names.push_back(c.name);
  return names;
}

std::string PluginLibrary::Where() const {
  return "plugin \"" + name_ + "\" (" + path_ + ")";
}

Status PluginLibrary::NewCollector(const std::string& collector_name,
                                   const CollectorContext& context,
                                   std::unique_ptr<Collector>* out) {
  auto fail = [&](Status status) {
    if (context.error != nullptr) *context.error = status.message();
    return status;
  };
  bool known = false;
  std::string names;
  for (const CollectorInfo& c : collectors_) {
    known = known || c.name == collector_name;
    names += (names.empty() ? "" : ", ") + c.name;
  }
  if (!known) {
    return fail(Status::NotFound(Where() + " has no collector \"" +
                                 collector_name + "\"; it provides: " + names));
  }
  const PipelineOptions defaults;
  const PipelineOptions& o = context.options ? *context.options : defaults;
  wire::CollectorConfig config;
  for (const std::string& s : context.include) config.add_include(s);
  for (const std::string& s : context.exclude) config.add_exclude(s);
  config.set_params(context.params);
  config.set_max_models(o.max_models);
  config.set_max_features(o.max_features);
  config.set_max_outputs(o.max_outputs);
  config.set_max_label_values(o.max_label_values);
  config.set_max_label_length(o.max_label_length);
  config.set_histogram_warmup_values(o.histogram_warmup_values);
  config.set_histogram_warmup_seconds(o.histogram_warmup_seconds);
  config.set_histogram_quantile_buckets(o.histogram_quantile_buckets);
  for (const auto& [name, edges] : o.explicit_buckets) {
    wire::Edges* e = config.add_explicit_buckets();
    e->set_name(name);
    for (double edge : edges) e->add_edges(edge);
  }
  for (double edge : o.latency_buckets) config.add_latency_buckets(edge);
  for (double edge : o.length_buckets) config.add_length_buckets(edge);
  const std::string bytes = config.SerializeAsString();

  ml_exporter_host_info host{};
  host.struct_size = sizeof host;
  host.abi_major = ML_EXPORTER_PLUGIN_ABI_MAJOR;
  host.abi_minor = ML_EXPORTER_PLUGIN_ABI_MINOR;
  host.host_version = kBuildVersion;
  char error[kErrorCapacity] = {};
  ml_exporter_collector* handle = nullptr;
  const int32_t code =
      descriptor_->create(collector_name.c_str(), Bytes(bytes), bytes.size(),
                          &host, &handle, error, sizeof error);
  error[sizeof error - 1] = '\0';
  const std::string where = Where() + " collector \"" + collector_name + "\"";
  if (code != ML_EXPORTER_PLUGIN_OK) {
    return fail(FromPluginCode(code, where + ": " + ErrorText(error)));
  }
  if (handle == nullptr) {
    return fail(Status::Internal(where + ": create returned no collector"));
  }
  *out = std::make_unique<PluginCollector>(shared_from_this(), descriptor_,
                                           handle, where, context.cardinality);
  return Status::Ok();
}

void AppendPluginInfo(
    const std::vector<std::shared_ptr<PluginLibrary>>& plugins,
    std::vector<prometheus::MetricFamily>* out) {
  auto family = NewFamily(
      "ml_exporter_plugin_info",
      "Always 1; one series per loaded plugin: its name, version and the "
      "plugin ABI it was built for.",
      prometheus::MetricType::Gauge);
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  for (const auto& p : plugins) {
    if (p == nullptr ||
        !seen.emplace(p->name(), p->version(), p->abi()).second) {
      continue;
    }
    AddGauge(
        &family,
        {{"plugin", p->name()}, {"version", p->version()}, {"abi", p->abi()}},
        1);
  }
  AppendIfNotEmpty(std::move(family), out);
}

void SetPluginLogSink(std::function<void(std::string_view)> sink) {
  LogSink() = std::move(sink);
}

}  // namespace ml_exporter::internal
