#include "exporter/config_reloader.h"

#include <google/protobuf/util/json_util.h>

#include <chrono>

#include "core/plugin_host.h"
#include "exporter/logging.h"
#include "ml_exporter/metric_builder.h"

namespace ml_exporter::internal {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::vector<std::string> KnownCollectorNames(
    const std::vector<std::string>& plugin_paths) {
  std::vector<std::string> names;
  for (const auto* e : CollectorRegistry::Global().Entries()) {
    names.push_back(e->name);
  }
  for (const std::string& path : plugin_paths) {
    std::shared_ptr<PluginLibrary> lib;
    // config::LoadConfigFile reports a plugin that does not load.
    if (!PluginLibrary::Load(path, &lib).ok()) continue;
    for (const auto& n : lib->collector_names()) names.push_back(n);
  }
  return names;
}

ConfigReloader::ConfigReloader(std::string path, PipelineOptions base)
    : path_(std::move(path)), base_(std::move(base)) {}

Status ConfigReloader::Load(config::LoadedConfig* loaded) {
  return config::LoadConfigFile(path_, base_, KnownCollectorNames({}), loaded);
}

Status ConfigReloader::LoadInitial(config::LoadedConfig* loaded) {
  Status s = Load(loaded);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = loaded->proto;
    last_success_time_ = NowSeconds();
  }
  return s;
}

void ConfigReloader::Attach(Pipeline* pipeline) {
  pipeline_ = pipeline;
  pipeline->AddMetricsSource(
      [this](std::vector<prometheus::MetricFamily>* out) {
        auto ok = NewFamily("ml_exporter_config_last_reload_successful",
                            "Whether the last configuration reload succeeded.",
                            prometheus::MetricType::Gauge);
        AddGauge(&ok, {}, last_ok_ ? 1 : 0);
        out->push_back(std::move(ok));
        auto when = NewFamily(
            "ml_exporter_config_last_reload_success_timestamp_seconds",
            "Time of the last successful configuration load.",
            prometheus::MetricType::Gauge);
        AddGauge(&when, {}, last_success_time_);
        out->push_back(std::move(when));
      });
}

Status ConfigReloader::Reload() {
  config::LoadedConfig loaded;
  Status s = Load(&loaded);
  if (s.ok() && pipeline_ != nullptr)
    s = pipeline_->Reconfigure(loaded.options);
  if (!s.ok()) {
    last_ok_ = false;
    Log(LogLevel::kError,
        "configuration reload failed, keeping the running "
        "configuration: " +
            s.message());
    return s;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (loaded.proto.global().listen_address() !=
        running_.global().listen_address()) {
      Log(LogLevel::kWarning,
          "global.listen_address changed; it takes effect at restart");
    }
    running_ = loaded.proto;
  }
  last_ok_ = true;
  last_success_time_ = NowSeconds();
  Log(LogLevel::kInfo, "configuration reloaded from " + path_);
  return s;
}

std::string ConfigReloader::RunningConfigJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(running_, &json, options);
  return json.empty() ? "{}" : json;
}

}  // namespace ml_exporter::internal
