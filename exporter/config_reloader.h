// ConfigReloader: owns the --config file of a running exporter. Loads it at
// start, applies it again on SIGHUP or POST /-/reload, keeps the running
// configuration when the new one is invalid, and exports
// ml_exporter_config_last_reload_successful and
// ml_exporter_config_last_reload_success_timestamp_seconds.
#ifndef ML_EXPORTER_EXPORTER_CONFIG_RELOADER_H_
#define ML_EXPORTER_EXPORTER_CONFIG_RELOADER_H_

#include <atomic>
#include <mutex>
#include <string>

#include "config/config_loader.h"
#include "ml_exporter/pipeline.h"

namespace ml_exporter::internal {

class ConfigReloader {
 public:
  // `base`: the options from flags, which the file's settings override.
  ConfigReloader(std::string path, PipelineOptions base);

  // Loads the file for the first start. Fills `options` on success.
  Status LoadInitial(config::LoadedConfig* loaded);

  // Registers the reload metrics with `pipeline`, which Reload then updates.
  void Attach(Pipeline* pipeline);

  // Reads the file again and applies it. Thread-safe.
  Status Reload();

  const std::string& path() const { return path_; }
  // The configuration in force, as JSON (for /api/v1/status).
  std::string RunningConfigJson() const;
  bool last_reload_successful() const { return last_ok_; }

 private:
  Status Load(config::LoadedConfig* loaded);

  const std::string path_;
  const PipelineOptions base_;
  Pipeline* pipeline_ = nullptr;
  mutable std::mutex mu_;
  config::v1::Config running_;
  std::atomic<bool> last_ok_{true};
  std::atomic<double> last_success_time_{0};
};

// All collector names usable in a configuration: built-ins plus those of
// the given plugins (config::LoadConfigFile also adds the collectors of the
// plugins a file lists, and reports those that do not load).
std::vector<std::string> KnownCollectorNames(
    const std::vector<std::string>& plugin_paths);

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_EXPORTER_CONFIG_RELOADER_H_
