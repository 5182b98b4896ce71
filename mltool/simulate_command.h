// `mltool simulate`: realistic prediction traffic for the typical scenarios
// (speech recognizer, visual inspection, structured data, web search, a
// three-stage pipeline), with scheduled faults, POSTed to ml_exporter or
// written as NDJSON. See `mltool simulate --help` and docs/getting-started.md.
#ifndef ML_EXPORTER_MLTOOL_SIMULATE_COMMAND_H_
#define ML_EXPORTER_MLTOOL_SIMULATE_COMMAND_H_

#include <string>
#include <vector>

namespace ml_exporter::mltool {

// `args` are the arguments after "simulate". Runs until --count requests,
// --duration seconds, or SIGINT/SIGTERM. Returns the exit code: 0 done, 1
// the output could not be written or a POST failed (after sending the
// rest), 2 usage error (with a message on stderr).
int RunSimulateCommand(const std::vector<std::string>& args);

}  // namespace ml_exporter::mltool

#endif  // ML_EXPORTER_MLTOOL_SIMULATE_COMMAND_H_
