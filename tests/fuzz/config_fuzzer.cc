// Fuzz target: the YAML configuration file (config/yaml_to_proto,
// config/config_loader), then a pipeline built from what it accepted, fed
// one record and scraped.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "config/config_loader.h"
#include "ml_exporter/collector.h"
#include "ml_exporter/pipeline.h"
#include "ml_exporter/record_builder.h"
#include "ml_exporter/status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string>* const known = [] {
    auto* names = new std::vector<std::string>;
    for (const auto* entry :
         ml_exporter::CollectorRegistry::Global().Entries()) {
      names->push_back(entry->name);
    }
    return names;
  }();
  const std::string text(reinterpret_cast<const char*>(data), size);
  ml_exporter::config::LoadedConfig loaded;
  // A directory that does not exist: relative reference and plugin paths
  // in the input resolve to nothing.
  const ml_exporter::Status status = ml_exporter::config::LoadConfigText(
      text, "/nonexistent-fuzz-dir/fuzz.yaml", ml_exporter::PipelineOptions{},
      *known, &loaded);
  if (!status.ok()) {
    if (status.message().empty()) std::abort();
    return 0;
  }
  // Never load code or files named by fuzzed input.
  loaded.options.plugins.clear();
  loaded.options.references.clear();
  std::unique_ptr<ml_exporter::Pipeline> pipeline;
  if (!ml_exporter::Pipeline::Create(loaded.options, &pipeline).ok()) {
    return 0;
  }
  ml_exporter::RecordBuilder builder;
  builder.Model("fuzz", "v1", "main")
      .RequestId("r-1")
      .SessionId("s-1")
      .Input("x", 1.5)
      .Input("query", "hello")
      .Output("label", "cat");
  pipeline->Observe(builder.record());
  pipeline->Collect();
  return 0;
}
