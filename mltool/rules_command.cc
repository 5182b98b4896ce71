#include "mltool/rules_command.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "exporter/config_reloader.h"
#include "mltool/alert_rules.h"
#include "mltool/command_flags.h"

namespace {

constexpr char kUsage[] =
    "usage: mltool rules [--config FILE] [--job NAME] [--runbook_url_base "
    "URL]\n"
    "                    [--host_load_ratio X] [--output FILE]\n"
    "\n"
    "Prints Prometheus alerting rules for ml_exporter (they need the "
    "recording\n"
    "rules of alerts/ml_exporter.rules.yml).\n"
    "\n"
    "  (no --config)          the rules that compare with the exporter's\n"
    "                         ml_alert_threshold series: "
    "alerts/ml_exporter.alerts.yml\n"
    "  --config FILE          static rules with the thresholds of FILE "
    "written in\n"
    "  --job NAME             scrape job of the exporters (ml_exporter)\n"
    "  --runbook_url_base URL where docs/runbooks/ is published\n"
    "  --host_load_ratio X    MLHostLoadHigh fires above this load per CPU "
    "(0.91)\n"
    "  --output FILE          write to FILE instead of stdout\n";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "mltool rules: %s\n\n%s", message.c_str(), kUsage);
  return 2;
}

}  // namespace

int RunRulesCommand(const std::vector<std::string>& args) {
  ml_exporter::mltool::RenderOptions options;
  std::string config_path;
  std::string output_path;
  ml_exporter::mltool::CommandFlags flags(
      args,
      {"--config", "--job", "--runbook_url_base", "--host_load_ratio",
       "--output"},
      {{"-o", "--output"}});
  while (flags.Next()) {
    const std::string& flag = flags.flag();
    std::string value = flags.value();
    if (flag == "--config") {
      config_path = value;
    } else if (flag == "--job") {
      if (value.empty() || value.find_first_of("\"\\\n") != std::string::npos) {
        return UsageError("--job must be a plain job name");
      }
      options.job = value;
    } else if (flag == "--runbook_url_base") {
      while (!value.empty() && value.back() == '/') value.pop_back();
      options.runbook_url_base = value;
    } else if (flag == "--host_load_ratio") {
      char* end = nullptr;
      errno = 0;
      const double v = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || errno != 0 || !(v > 0)) {
        return UsageError("--host_load_ratio must be a number above 0, got \"" +
                          value + "\"");
      }
      options.host_load_ratio = v;
    } else {
      output_path = value;
    }
  }
  if (flags.help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!flags.error().empty()) return UsageError(flags.error());

  ml_exporter::config::LoadedConfig loaded;
  if (!config_path.empty()) {
    const auto known = ml_exporter::internal::KnownCollectorNames(
        ml_exporter::config::PluginPathsIn(config_path));
    const ml_exporter::Status s = ml_exporter::config::LoadConfigFile(
        config_path, ml_exporter::PipelineOptions{}, known, &loaded);
    if (!s.ok()) {
      std::fprintf(stderr, "mltool rules: invalid configuration:\n%s\n",
                   s.message().c_str());
      return 1;
    }
    options.config = &loaded.proto;
    options.source = config_path;
  }
  const std::string text = ml_exporter::mltool::RenderAlertRules(options);
  if (output_path.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  std::ofstream out(output_path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    std::fprintf(stderr, "mltool rules: cannot write %s: %s\n",
                 output_path.c_str(), std::strerror(errno));
    return 1;
  }
  return 0;
}
