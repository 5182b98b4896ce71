// Factories of the audio, image and text collectors that report invalid
// params with a Status, for tests and for code that builds collectors
// directly.
#ifndef ML_EXPORTER_COLLECTORS_MEDIA_COLLECTORS_H_
#define ML_EXPORTER_COLLECTORS_MEDIA_COLLECTORS_H_

#include <memory>

#include "ml_exporter/collector.h"
#include "ml_exporter/status.h"

namespace ml_exporter {

Status NewAudioCollector(const CollectorContext& context,
                         std::unique_ptr<Collector>* out);
Status NewImageCollector(const CollectorContext& context,
                         std::unique_ptr<Collector>* out);
Status NewTextCollector(const CollectorContext& context,
                        std::unique_ptr<Collector>* out);

// For the registered factories: `create`'s collector, or null with the
// reason in *context.error (which the pipeline reports).
std::unique_ptr<Collector> CollectorOrError(
    const CollectorContext& context,
    Status (*create)(const CollectorContext&, std::unique_ptr<Collector>*));

}  // namespace ml_exporter

#endif  // ML_EXPORTER_COLLECTORS_MEDIA_COLLECTORS_H_
