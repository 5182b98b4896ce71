// Model patterns of the configuration (`model: asr-*`) and of --reference:
// `*` matches any run of characters, everything else itself.
#ifndef ML_EXPORTER_CORE_GLOB_MATCH_H_
#define ML_EXPORTER_CORE_GLOB_MATCH_H_

#include <string_view>

namespace ml_exporter::internal {

// True when `text` matches `pattern`; an empty pattern matches anything.
// Linear in practice (backtracks only to the last `*`).
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_CORE_GLOB_MATCH_H_
