// Loading collector plugins (shared libraries speaking
// include/ml_exporter/plugin_abi.h) and running their collectors behind the
// ordinary Collector interface.
//
//   std::shared_ptr<PluginLibrary> lib;
//   Status s = PluginLibrary::Load("/opt/mlx/libblocklist_words.so", &lib);
//   std::unique_ptr<Collector> c;
//   s = lib->NewCollector("blocklist_words", context, &c);  // like a factory
//   ...
//   AppendPluginInfo({lib}, &families);  // ml_exporter_plugin_info
//
// A plugin that is missing, has no entry symbol, was built for another ABI
// or hands back a bad descriptor fails Load with the path and the reason. A
// plugin collector that throws (through the SDK), returns an error, or
// exports invalid metrics makes its Collect return a non-OK Status (so
// ml_exporter_collector_success is 0) while its valid families are still
// exported. A crash (segfault, abort) inside plugin code takes the process
// down: plugins run in the exporter's address space.
#ifndef ML_EXPORTER_CORE_PLUGIN_HOST_H_
#define ML_EXPORTER_CORE_PLUGIN_HOST_H_

#include <prometheus/metric_family.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ml_exporter/collector.h"
#include "ml_exporter/plugin_abi.h"
#include "ml_exporter/status.h"

namespace ml_exporter::internal {

class PluginLibrary : public std::enable_shared_from_this<PluginLibrary> {
 public:
  struct CollectorInfo {
    std::string name;
    std::string description;
  };

  // dlopen()s `path` (RTLD_NOW | RTLD_LOCAL), finds the entry symbol and
  // checks the descriptor: the ABI majors must match and the host's minor be
  // at least the plugin's. Errors name the path and the reason (missing or
  // unloadable file, missing symbol, ABI mismatch with both versions, bad
  // descriptor). Loading one path twice shares the mapping (dlopen
  // reference counting); to upgrade a plugin's code without a restart,
  // install the new build under a new file name.
  static Status Load(const std::string& path,
                     std::shared_ptr<PluginLibrary>* out);

  // Unloads the library. Collectors made by it hold a reference, so this
  // runs after the last of them is destroyed.
  ~PluginLibrary();

  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;

  const std::string& path() const { return path_; }
  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  // "<major>.<minor>" of the ABI the plugin was built for.
  const std::string& abi() const { return abi_; }
  const std::vector<CollectorInfo>& collectors() const { return collectors_; }
  std::vector<std::string> collector_names() const;

  // Creates one instance of the plugin's collector `collector_name` with
  // the settings of `context` (options, include/exclude and params are
  // serialized for the plugin; `context.cardinality` receives the
  // plugin's overflow counts at each Collect and must outlive the
  // collector). NotFound if the plugin has no such collector; the plugin's
  // own error (e.g. bad params) otherwise. The message also goes to
  // `*context.error` when set, so this can back a CollectorFactory.
  Status NewCollector(const std::string& collector_name,
                      const CollectorContext& context,
                      std::unique_ptr<Collector>* out);

 private:
  PluginLibrary() = default;
  std::string Where() const;  // plugin "name" (path)

  void* handle_ = nullptr;
  const ml_exporter_plugin_descriptor* descriptor_ = nullptr;
  std::string path_;
  std::string name_;
  std::string version_;
  std::string abi_;
  std::vector<CollectorInfo> collectors_;
};

// Appends ml_exporter_plugin_info{plugin, version, abi} = 1, one series per
// loaded plugin (nothing when there are none).
void AppendPluginInfo(
    const std::vector<std::shared_ptr<PluginLibrary>>& plugins,
    std::vector<prometheus::MetricFamily>* out);

// Where plugin collectors report why they failed a scrape: once when they
// start failing or the reason changes, and once when they recover. The
// default writes a line to stderr. Not thread-safe: set it at start-up.
void SetPluginLogSink(std::function<void(std::string_view)> sink);

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_CORE_PLUGIN_HOST_H_
