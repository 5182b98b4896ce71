// Test plugin "test_failing": a factory that rejects its params with a
// Status, and a Collect that reports an error along with its metrics.
#include "ml_exporter/plugin_sdk.h"

namespace {

using namespace ml_exporter;

class FailingCollector : public Collector {
 public:
  void Observe(const Record&, const ObserveContext&) override {}
  Status Collect(const ModelTable&,
                 std::vector<prometheus::MetricFamily>* out) override {
    auto f = NewFamily("ml_test_failing_scrapes_total", "Scrapes.",
                       prometheus::MetricType::Counter);
    AddCounter(&f, {}, static_cast<double>(++scrapes_));
    out->push_back(std::move(f));
    return Status::Unavailable("backend unreachable");
  }

 private:
  uint64_t scrapes_ = 0;
};

Status CreateFailing(const CollectorContext& context,
                     std::unique_ptr<Collector>* out) {
  std::unique_ptr<CollectorParams> params;
  Status s =
      CollectorParams::Parse(context.params, {"reject", "threshold"}, &params);
  if (!s.ok()) return s;
  params->Number("threshold", 0);
  const bool reject = params->Bool("reject", false);
  if (!params->status().ok()) return params->status();
  if (reject)
    return Status::InvalidArgument("parameter \"reject\": told to refuse");
  *out = std::make_unique<FailingCollector>();
  return Status::Ok();
}

}  // namespace

ML_EXPORTER_PLUGIN("test_failing", "1.0.0",
                   ML_EXPORTER_PLUGIN_COLLECTOR("failing",
                                                "Fails every scrape.",
                                                &CreateFailing))
