// Collector: the unit that turns records and events into metric families.
//
// Built-in collectors and plugins implement this interface and register a
// factory by name in the CollectorRegistry, one collector per file, the way
// node_exporter does.
#ifndef ML_EXPORTER_COLLECTOR_H_
#define ML_EXPORTER_COLLECTOR_H_

#include <prometheus/metric_family.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ml_exporter/cardinality_stats.h"
#include "ml_exporter/model_table.h"
#include "ml_exporter/options.h"
#include "ml_exporter/record.h"
#include "ml_exporter/status.h"

namespace ml_exporter {

// What the pipeline has resolved about a record before collectors see it.
struct ObserveContext {
  // Events that name no model get kNoModel.
  static constexpr ModelId kNoModel = UINT32_MAX;
  ModelId model_id = 0;  // dense, see ModelTable
};

class Collector {
 public:
  virtual ~Collector() = default;

  // Observes one valid record. Called concurrently from many ingest threads
  // and on the ingest hot path: must be thread-safe, must not block on a
  // lock shared by all threads in the common case, and must not throw.
  virtual void Observe(const Record& record, const ObserveContext& context) = 0;

  // Observes one event. Same rules as Observe. The default ignores events.
  virtual void ObserveEvent(const Event& event, const ObserveContext& context) {
    (void)event;
    (void)context;
  }

  // Appends this collector's metric families, with the model labels taken
  // from `models`. Called at scrape time, concurrently with Observe. A
  // non-OK status marks the collector failed for this scrape
  // (ml_exporter_collector_success 0); families appended are still served.
  virtual Status Collect(const ModelTable& models,
                         std::vector<prometheus::MetricFamily>* out) = 0;
};

// Everything a factory may use to build a collector.
struct CollectorContext {
  // Limits and histogram settings in force for this collector: the global
  // ones with this collector's overrides from the configuration applied.
  const PipelineOptions* options = nullptr;
  // Where to count values sent to "__other__"; outlives the collector.
  CardinalityStats* cardinality = nullptr;
  // Which fields the collector watches: empty `include` means all; names in
  // `exclude` are ignored.
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  // Collector-specific parameters from the configuration, as a serialized
  // google.protobuf.Struct (empty when none were given); see
  // collector_params.h.
  std::string params;
  // A factory that cannot build its collector from these settings returns
  // null and says why here (e.g. "unknown parameter \"windw\"").
  std::string* error = nullptr;
};

using CollectorFactory =
    std::function<std::unique_ptr<Collector>(const CollectorContext&)>;

// Name to factory, filled by static registration before main() runs.
class CollectorRegistry {
 public:
  struct Entry {
    std::string name;
    std::string description;
    bool enabled_by_default = true;
    CollectorFactory factory;
  };

  static CollectorRegistry& Global();

  // Returns false (and changes nothing) when `name` is taken.
  bool Register(Entry entry);
  // Null when no collector has that name.
  const Entry* Find(std::string_view name) const;
  // Sorted by name.
  std::vector<const Entry*> Entries() const;

 private:
  std::vector<Entry> entries_;
};

}  // namespace ml_exporter

// Registers a collector at static-initialisation time. Use once per
// collector, at namespace scope in the collector's .cc file.
#define ML_EXPORTER_REGISTER_COLLECTOR(ident, name, description, enabled, \
                                       factory)                           \
  static const bool ml_exporter_registered_##ident =                      \
      ::ml_exporter::CollectorRegistry::Global().Register(                \
          {name, description, enabled, factory})

#endif  // ML_EXPORTER_COLLECTOR_H_
