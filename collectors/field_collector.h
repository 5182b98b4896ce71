// FieldCollector: per-field metrics of a record's inputs ("inputs",
// ml_feature_*) or outputs ("outputs", ml_output_*), with the fields
// discovered from the data.
#ifndef ML_EXPORTER_COLLECTORS_FIELD_COLLECTOR_H_
#define ML_EXPORTER_COLLECTORS_FIELD_COLLECTOR_H_

#include <memory>

#include "ml_exporter/collector.h"

namespace ml_exporter {

enum class FieldSide { kInputs, kOutputs };

std::unique_ptr<Collector> NewFieldCollector(const CollectorContext& context,
                                             FieldSide side);

}  // namespace ml_exporter

#endif  // ML_EXPORTER_COLLECTORS_FIELD_COLLECTOR_H_
