// Standard process_* metrics of this process, read from /proc at scrape time
// (prometheus-cpp does not provide them).
#ifndef ML_EXPORTER_EXPORTER_PROCESS_METRICS_H_
#define ML_EXPORTER_EXPORTER_PROCESS_METRICS_H_

#include <prometheus/metric_family.h>

#include <vector>

namespace ml_exporter::internal {

// Appends process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds and
// process_start_time_seconds. Families that cannot be read are left out.
void AppendProcessMetrics(std::vector<prometheus::MetricFamily>* out);

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_EXPORTER_PROCESS_METRICS_H_
