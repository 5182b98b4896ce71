// Test plugin "test_bad_names": exports one valid family and many invalid
// ones; the host must drop the invalid ones and keep the rest.
#include "ml_exporter/plugin_sdk.h"

namespace {

using namespace ml_exporter;

class BadNamesCollector : public Collector {
 public:
  explicit BadNamesCollector(const CollectorContext&) {}
  void Observe(const Record&, const ObserveContext&) override {}

  Status Collect(const ModelTable&,
                 std::vector<prometheus::MetricFamily>* out) override {
    auto counter = [&](std::string name, LabelList labels) {
      auto f = NewFamily(std::move(name), "", prometheus::MetricType::Counter);
      AddCounter(&f, std::move(labels), 1);
      out->push_back(std::move(f));
    };
    counter("ml_test_good_total", {{"zone", "a"}});
    counter("9starts_with_digit", {});
    counter("ml_exporter_sneaky_total", {});
    counter("ml_test_bad_label_total", {{"bad-label", "x"}});
    counter("ml_test_reserved_label_total", {{"__name__", "x"}});
    counter("ml_records_total", {});  // a built-in's name
    auto dup =
        NewFamily("ml_test_dup_total", "", prometheus::MetricType::Counter);
    AddCounter(&dup, {{"a", "1"}, {"b", "2"}}, 1);
    AddCounter(&dup, {{"b", "2"}, {"a", "1"}}, 2);
    out->push_back(std::move(dup));
    auto hist =
        NewFamily("ml_test_hist", "", prometheus::MetricType::Histogram);
    prometheus::ClientMetric m;
    m.histogram.bucket = {{5, 1.0}, {3, INFINITY}};
    m.histogram.sample_count = 3;
    hist.metric.push_back(m);
    out->push_back(std::move(hist));
    return Status::Ok();
  }
};

}  // namespace

ML_EXPORTER_PLUGIN("test_bad_names", "1.0.0",
                   ML_EXPORTER_PLUGIN_COLLECTOR(
                       "bad_names", "Exports invalid metric families.",
                       plugin::Construct<BadNamesCollector>))
