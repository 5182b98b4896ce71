// Reading training data into a reference profile (`mltool profile`): CSV
// with a header row, or the record NDJSON the exporter ingests.
#ifndef ML_EXPORTER_PROFILE_TRAINING_DATA_H_
#define ML_EXPORTER_PROFILE_TRAINING_DATA_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ml_exporter/status.h"
#include "profile.pb.h"
#include "profile/profile_builder.h"

namespace ml_exporter::profile {

struct TrainingDataOptions {
  // "csv" or "ndjson"; empty: by the file name (.csv is CSV, anything else
  // NDJSON).
  std::string format;
  // NDJSON: profile the records of this model (required when the file has
  // several). CSV: the model the profile is for.
  std::string model;
  // CSV: columns that are outputs of the model rather than features.
  std::vector<std::string> outputs;
  // Kinds forced by field name (otherwise decided from the values).
  std::map<std::string, v1::FieldProfile::Kind> kinds;
  BuildOptions build;
};

// What was read besides the profile.
struct TrainingDataStats {
  uint64_t skipped = 0;  // NDJSON lines or records that could not be used
  std::vector<std::string> warnings;  // the first few reasons, with lines
};

// Splits RFC 4180 CSV: comma-separated cells, rows ended by LF or CRLF,
// cells optionally in double quotes (which may hold commas, line breaks and
// "" for a quote). Blank lines are skipped (a one-column file writes an
// empty cell as ""). Calls `row` with each row and the line it starts on;
// stops at the first non-OK status it returns. Errors name the line.
Status ForEachCsvRow(
    std::string_view text,
    const std::function<Status(const std::vector<std::string>& cells,
                               size_t line)>& row);

// A whole number or decimal as CSV cells and --kind overrides write them:
// optional sign, digits, fraction, exponent, or inf / nan. Surrounding
// spaces are allowed.
bool ParseNumber(std::string_view text, double* value);

Status ProfileCsv(std::string_view text, const std::string& source,
                  const TrainingDataOptions& options, v1::ReferenceProfile* out,
                  TrainingDataStats* stats);
Status ProfileNdjson(std::string_view text, const std::string& source,
                     const TrainingDataOptions& options,
                     v1::ReferenceProfile* out, TrainingDataStats* stats);
// Reads `path` and dispatches on the format.
Status ProfileFile(const std::string& path, const TrainingDataOptions& options,
                   v1::ReferenceProfile* out, TrainingDataStats* stats);

}  // namespace ml_exporter::profile

#endif  // ML_EXPORTER_PROFILE_TRAINING_DATA_H_
