// `mltool rules`: print the alerting rules of ml_exporter, either the
// threshold-matching ones shipped in alerts/ml_exporter.alerts.yml or, with
// --config FILE, static ones with that configuration's thresholds written in.
#ifndef ML_EXPORTER_MLTOOL_RULES_COMMAND_H_
#define ML_EXPORTER_MLTOOL_RULES_COMMAND_H_

#include <string>
#include <vector>

// args: what follows "rules" on the command line. Returns the exit code:
// 0 written, 1 invalid configuration or unwritable output, 2 usage.
int RunRulesCommand(const std::vector<std::string>& args);

#endif  // ML_EXPORTER_MLTOOL_RULES_COMMAND_H_
