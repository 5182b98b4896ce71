// Test plugin "test_slow": a collector that takes `observe_micros` of wall
// time per record (as one waiting on I/O would) without using the CPU, so
// that an exporter's ingest capacity is set by it and not by how the
// machine's CPUs are shared with the load generators.
#include <chrono>
#include <thread>

#include "ml_exporter/plugin_sdk.h"

namespace {

using namespace ml_exporter;

class SlowCollector : public Collector {
 public:
  explicit SlowCollector(std::chrono::microseconds per_record)
      : per_record_(per_record) {}

  void Observe(const Record&, const ObserveContext&) override {
    std::this_thread::sleep_for(per_record_);
  }

  Status Collect(const ModelTable&,
                 std::vector<prometheus::MetricFamily>*) override {
    return Status::Ok();
  }

 private:
  const std::chrono::microseconds per_record_;
};

Status CreateSlow(const CollectorContext& context,
                  std::unique_ptr<Collector>* out) {
  std::unique_ptr<CollectorParams> params;
  if (Status s =
          CollectorParams::Parse(context.params, {"observe_micros"}, &params);
      !s.ok()) {
    return s;
  }
  const double micros = params->Number("observe_micros", 1000);
  if (!params->status().ok()) return params->status();
  if (!(micros >= 0 && micros <= 1e6)) {
    return Status::InvalidArgument(
        "parameter \"observe_micros\": must be in [0, 1000000]");
  }
  *out = std::make_unique<SlowCollector>(
      std::chrono::microseconds(static_cast<int64_t>(micros)));
  return Status::Ok();
}

}  // namespace

ML_EXPORTER_PLUGIN(
    "test_slow", "1.0.0",
    ML_EXPORTER_PLUGIN_COLLECTOR("slow", "Sleeps observe_micros per record.",
                                 &CreateSlow))
