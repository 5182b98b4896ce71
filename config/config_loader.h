// Loading and checking the ml_exporter configuration file (--config).
#ifndef ML_EXPORTER_CONFIG_CONFIG_LOADER_H_
#define ML_EXPORTER_CONFIG_CONFIG_LOADER_H_

#include <string>
#include <vector>

#include "config.pb.h"
#include "ml_exporter/options.h"
#include "ml_exporter/status.h"

namespace ml_exporter::config {

struct LoadedConfig {
  v1::Config proto;
  // `base` with everything the file sets applied.
  PipelineOptions options;
  std::string listen_address;  // empty when the file does not set it
  size_t max_body_bytes = 0;   // 0 when the file does not set it
};

// Reads, parses and checks `path`. Collector names are checked against
// `known_collectors` (built-ins and those of the plugins the file lists).
// On failure the status message holds every error found, one per line, each
// as FILE:LINE:COLUMN: message.
Status LoadConfigFile(const std::string& path, const PipelineOptions& base,
                      const std::vector<std::string>& known_collectors,
                      LoadedConfig* out);

// Same, from text already read.
Status LoadConfigText(const std::string& text, const std::string& filename,
                      const PipelineOptions& base,
                      const std::vector<std::string>& known_collectors,
                      LoadedConfig* out);

// Plugin paths listed in the file, resolved against the file's directory,
// without the rest of the checks (to load plugins before checking collector
// names). Empty on any error.
std::vector<std::string> PluginPathsIn(const std::string& path);

}  // namespace ml_exporter::config

#endif  // ML_EXPORTER_CONFIG_CONFIG_LOADER_H_
