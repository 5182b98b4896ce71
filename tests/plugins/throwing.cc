// Test plugin "test_throwing": a collector that throws from its factory,
// Observe or Collect, as its params say. The SDK must turn every exception
// into a reported failure.
#include <atomic>
#include <stdexcept>

#include "ml_exporter/plugin_sdk.h"

namespace {

using namespace ml_exporter;

class ThrowingCollector : public Collector {
 public:
  explicit ThrowingCollector(const CollectorContext& context) {
    std::unique_ptr<CollectorParams> params;
    if (!CollectorParams::Parse(
             context.params,
             {"throw_in_factory", "throw_in_collect", "throw_int"}, &params)
             .ok()) {
      throw std::invalid_argument("bad params");
    }
    const bool throw_in_factory = params->Bool("throw_in_factory", false);
    throw_in_collect_ = params->Bool("throw_in_collect", false);
    throw_int_ = params->Bool("throw_int", false);
    if (throw_in_factory) throw std::runtime_error("factory exploded");
  }

  void Observe(const Record& r, const ObserveContext&) override {
    for (const Field& f : r.outputs) {
      if (f.name == "boom") {
        if (throw_int_) throw 42;
        throw std::runtime_error("observe exploded on request " +
                                 std::string(r.request_id));
      }
    }
    records_.fetch_add(1);
  }

  Status Collect(const ModelTable&,
                 std::vector<prometheus::MetricFamily>* out) override {
    auto f = NewFamily("ml_test_survivor_records_total",
                       "Records observed without throwing.",
                       prometheus::MetricType::Counter);
    AddCounter(&f, {}, static_cast<double>(records_.load()));
    out->push_back(std::move(f));
    if (throw_in_collect_) throw std::runtime_error("collect exploded");
    return Status::Ok();
  }

 private:
  bool throw_in_collect_ = false;
  bool throw_int_ = false;
  std::atomic<uint64_t> records_{0};
};

}  // namespace

ML_EXPORTER_PLUGIN(
    "test_throwing", "1.0.0",
    ML_EXPORTER_PLUGIN_COLLECTOR("thrower", "Throws on request.",
                                 plugin::Construct<ThrowingCollector>))
