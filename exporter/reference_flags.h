// The --reference flag of ml_exporter: MODEL=PATH reference profiles,
// repeatable (gflags keeps only the last value of a repeated flag, so the
// values are taken from argv before gflags parses it).
#ifndef ML_EXPORTER_EXPORTER_REFERENCE_FLAGS_H_
#define ML_EXPORTER_EXPORTER_REFERENCE_FLAGS_H_

#include <string>
#include <string_view>
#include <vector>

#include "ml_exporter/options.h"
#include "ml_exporter/status.h"

namespace ml_exporter::internal {

// Every value of --NAME in argv, in order (--NAME=V, -NAME=V, --NAME V,
// -NAME V), up to a "--" argument.
std::vector<std::string> RepeatedFlagValues(int argc, char** argv,
                                            std::string_view name);

// Parses MODEL=PATH items (each value may hold several, comma-separated;
// MODEL may use `*` globs) and loads each profile to check it. Appends to
// `specs` in order.
Status ParseReferenceFlags(const std::vector<std::string>& values,
                           std::vector<ReferenceSpec>* specs);

// One line for the log about `spec`'s profile: its model, fields and
// source. `*mismatch`: the profile was made for another model.
std::string DescribeReference(const ReferenceSpec& spec, bool* mismatch);

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_EXPORTER_REFERENCE_FLAGS_H_
