// `mltool webhook`: an Alertmanager webhook receiver that logs every alert
// it is sent and, where configured, runs a command for firing alerts, e.g.
// to start retraining when a drift alert fires. Without --command it only
// logs: manual review is the default.
#ifndef ML_EXPORTER_MLTOOL_WEBHOOK_COMMAND_H_
#define ML_EXPORTER_MLTOOL_WEBHOOK_COMMAND_H_

#include <string>
#include <vector>

// args: what follows "webhook" on the command line. Serves until SIGINT or
// SIGTERM, then returns 0; 1 when it cannot listen or open the log, 2 on
// usage errors.
int RunWebhookCommand(const std::vector<std::string>& args);

#endif  // ML_EXPORTER_MLTOOL_WEBHOOK_COMMAND_H_
