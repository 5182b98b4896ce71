// Helpers that build prometheus::MetricFamily values at scrape time.
#ifndef ML_EXPORTER_METRIC_BUILDER_H_
#define ML_EXPORTER_METRIC_BUILDER_H_

#include <prometheus/metric_family.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ml_exporter/model_table.h"

namespace ml_exporter {

using LabelList = std::vector<prometheus::ClientMetric::Label>;

// model, version and stage labels, plus `extra` in order.
LabelList ModelLabelList(
    const ModelLabels& model,
    std::initializer_list<std::pair<std::string_view, std::string_view>> extra =
        {});

prometheus::MetricFamily NewFamily(std::string name, std::string help,
                                   prometheus::MetricType type);

void AddCounter(prometheus::MetricFamily* family, LabelList labels,
                double value);
void AddGauge(prometheus::MetricFamily* family, LabelList labels, double value);

// `counts` are per bucket (not cumulative), one more than `edges` (the last
// is +Inf).
void AddHistogram(prometheus::MetricFamily* family, LabelList labels,
                  const std::vector<double>& edges,
                  const std::vector<uint64_t>& counts, double sum);

// Appends `family` unless it has no series (empty families are noise in the
// exposition).
void AppendIfNotEmpty(prometheus::MetricFamily family,
                      std::vector<prometheus::MetricFamily>* out);

}  // namespace ml_exporter

#endif  // ML_EXPORTER_METRIC_BUILDER_H_
