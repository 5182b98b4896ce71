// Looking up a record's fields by name, for collectors configured with
// field names.
#ifndef ML_EXPORTER_MEDIA_RECORD_FIELDS_H_
#define ML_EXPORTER_MEDIA_RECORD_FIELDS_H_

#include <string_view>

#include "ml_exporter/record.h"

namespace ml_exporter::media {

// The input called `name`, else the output called `name`; null if neither.
inline const FieldValue* FindField(const Record& record,
                                   std::string_view name) {
  for (const Field& f : record.inputs) {
    if (f.name == name) return &f.value;
  }
  for (const Field& f : record.outputs) {
    if (f.name == name) return &f.value;
  }
  return nullptr;
}

}  // namespace ml_exporter::media

#endif  // ML_EXPORTER_MEDIA_RECORD_FIELDS_H_
