// mltool: the offline companion of ml_exporter (as promtool is Prometheus').
//   mltool check-config FILE...   check configuration files; exit 0 if all
//                                 are valid, 1 otherwise
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "exporter/config_reloader.h"
#include "ml_exporter/pipeline.h"
#include "mltool/profile_command.h"
#include "mltool/review_command.h"
#include "mltool/rules_command.h"
#include "mltool/simulate_command.h"
#include "mltool/webhook_command.h"

namespace {

int Usage(FILE* out) {
  std::fprintf(out,
               "usage: mltool COMMAND [ARGS]\n"
               "\n"
               "commands:\n"
               "  check-config FILE...   check ml_exporter configuration "
               "files\n"
               "                         (exit 0: all valid, 1: errors, 2: "
               "usage)\n"
               "  profile ...            build or show a reference profile "
               "(mltool profile --help)\n"
               "  review --prometheus URL  metrics that never moved, alerts "
               "that never helped\n"
               "                         (mltool review --help)\n"
               "  rules [--config FILE]  print alerting rules (static ones "
               "with FILE's thresholds)\n"
               "  webhook --listen ADDR  Alertmanager webhook receiver; logs "
               "alerts, runs --command\n"
               "  simulate ...           example traffic with scheduled faults "
               "(mltool simulate --help)\n"
               "  help                   this text\n");
  return out == stdout ? 0 : 2;
}

int CheckConfig(const std::vector<std::string>& files) {
  if (files.empty()) {
    std::fprintf(stderr, "mltool check-config: give at least one FILE\n");
    return 2;
  }
  int failed = 0;
  for (const std::string& file : files) {
    std::printf("Checking %s\n", file.c_str());
    ml_exporter::config::LoadedConfig loaded;
    const auto known = ml_exporter::internal::KnownCollectorNames(
        ml_exporter::config::PluginPathsIn(file));
    ml_exporter::Status s = ml_exporter::config::LoadConfigFile(
        file, ml_exporter::PipelineOptions{}, known, &loaded);
    if (!s.ok()) {
      std::printf("  FAILED:\n%s\n\n", s.message().c_str());
      ++failed;
      continue;
    }
    // Builds the collectors as the exporter would (without serving), so
    // that bad collector params and unloadable plugins fail here too.
    std::unique_ptr<ml_exporter::Pipeline> pipeline;
    s = ml_exporter::Pipeline::Create(loaded.options, &pipeline);
    if (!s.ok()) {
      std::printf("  FAILED:\n%s: %s\n\n", file.c_str(), s.message().c_str());
      ++failed;
      continue;
    }
    size_t collectors = loaded.proto.default_collectors_size();
    size_t thresholds = 0;
    for (const auto& m : loaded.proto.models()) {
      collectors += m.collectors_size();
      thresholds += m.thresholds_size();
    }
    std::printf(
        "  SUCCESS: %d model entries, %zu collector settings, %zu "
        "thresholds, %d plugins\n\n",
        loaded.proto.models_size(), collectors, thresholds,
        loaded.proto.plugins_size());
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage(stderr);
  const std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "help" || command == "--help" || command == "-h") {
    return Usage(stdout);
  }
  if (command == "check-config") return CheckConfig(args);
  if (command == "rules") return RunRulesCommand(args);
  if (command == "webhook") return RunWebhookCommand(args);
  if (command == "profile") return ml_exporter::mltool::RunProfileCommand(args);
  if (command == "simulate") {
    return ml_exporter::mltool::RunSimulateCommand(args);
  }
  if (command == "review") return ml_exporter::mltool::RunReviewCommand(args);
  std::fprintf(stderr, "mltool: unknown command \"%s\"\n\n", command.c_str());
  return Usage(stderr);
}
