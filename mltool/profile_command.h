// mltool profile: builds a reference profile from training data, or shows
// one. See docs/drift.md.
#ifndef ML_EXPORTER_MLTOOL_PROFILE_COMMAND_H_
#define ML_EXPORTER_MLTOOL_PROFILE_COMMAND_H_

#include <string>
#include <vector>

namespace ml_exporter::mltool {

// `args` are the arguments after "profile". Returns the exit code: 0 done,
// 1 the input or profile could not be read, 2 usage error.
int RunProfileCommand(const std::vector<std::string>& args);

}  // namespace ml_exporter::mltool

#endif  // ML_EXPORTER_MLTOOL_PROFILE_COMMAND_H_
