// Serialising the Record and Event views for plugins, straight to the wire
// format of ml_exporter.v1.Record / Event (which plugins parse as
// ml_exporter.plugin.v1.Record / Event), without building messages: this
// runs once per record per plugin collector, on the ingest hot path.
#ifndef ML_EXPORTER_CORE_PLUGIN_WIRE_ENCODER_H_
#define ML_EXPORTER_CORE_PLUGIN_WIRE_ENCODER_H_

#include <string>
#include <string_view>

#include "ml_exporter/record.h"

namespace ml_exporter::internal {

// Replaces `*out` with the serialized record. Blobs that arrived as base64
// text are decoded (a blob whose text is not valid base64 is left out);
// `scratch` holds the decoded bytes meanwhile. Field order follows the view;
// an absent time or latency (NaN) is not written.
void EncodeRecordForPlugin(const Record& record, std::string* out,
                           std::string* scratch);

// Replaces `*out` with the serialized event.
void EncodeEventForPlugin(const Event& event, std::string* out);

// Standard or URL-safe base64, padding optional, whitespace not allowed.
// False when `text` is not base64.
bool DecodeBase64(std::string_view text, std::string* out);

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_CORE_PLUGIN_WIRE_ENCODER_H_
