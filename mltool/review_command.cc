#include "mltool/review_command.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "exporter/config_reloader.h"
#include "ml_exporter/collector.h"
#include "mltool/command_flags.h"
#include "mltool/review/json_report.h"
#include "mltool/review/prometheus_client.h"
#include "mltool/review/review.h"
#include "mltool/review/text_report.h"
#include "mltool/review/time_range.h"

namespace ml_exporter::mltool {
namespace {

constexpr char kUsage[] =
    "usage: mltool review --prometheus URL [--range 14d | --start T --end T]\n"
    "                     [--selector '{model=\"x\"}'] [--config FILE]\n"
    "                     [--format text|json] [--flat-threshold 0.01]\n"
    "                     [--top-percent 5] [--step DURATION]\n"
    "                     [--slow-collector-seconds 1] [--header 'Name: "
    "value']\n"
    "                     [--timeout 60s]\n"
    "\n"
    "Reads ml_exporter's series over a range from a Prometheus-compatible "
    "API\n"
    "(Prometheus, Thanos, Mimir, VictoriaMetrics) and reports, per model and\n"
    "stage: series that did not move (with the configuration that would "
    "remove\n"
    "them), alerts that never fired, fired most of the time or flapped (with "
    "the\n"
    "threshold in force, the distribution of the metric behind it and a "
    "suggested\n"
    "threshold), alerting rules that never fired at all (from "
    "/api/v1/rules),\n"
    "drift that stayed high all along (stale reference profile), caps that\n"
    "overflowed, and failing or slow collectors. Nothing is changed.\n"
    "\n"
    "  --prometheus URL        base URL of the API, e.g. "
    "http://127.0.0.1:9090\n"
    "  --range DURATION        the range ending at --end (default now): 14d\n"
    "  --start T, --end T      Unix seconds or RFC 3339 "
    "(2026-11-28T10:00:00Z)\n"
    "  --selector SEL          series selector applied to every model query\n"
    "  --config FILE           the exporter's configuration: suggestions name "
    "its\n"
    "                          entries and limits\n"
    "  --format text|json      report format (text)\n"
    "  --flat-threshold X      a gauge is flat when (max-min)/|mean| < X "
    "(0.01)\n"
    "  --top-percent N         suggested thresholds fire on the worst N% (5)\n"
    "  --step DURATION         query step (default: range / 1000, at least "
    "1m)\n"
    "  --slow-collector-seconds X  a collector scrape longer than X is slow "
    "(1)\n"
    "  --header 'Name: value'  extra HTTP header (repeatable): Authorization,\n"
    "                          X-Scope-OrgID\n"
    "  --timeout DURATION      per request (60s)\n"
    "\n"
    "Exit code: 0 nothing found, 1 findings, 2 usage, configuration or "
    "connection\n"
    "error (the message names the URL, HTTP status and Prometheus' error).\n";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "mltool review: %s\n\n%s", message.c_str(), kUsage);
  return 2;
}

bool ParseNumber(const std::string& text, double* out) {
  char* end = nullptr;
  errno = 0;
  *out = std::strtod(text.c_str(), &end);
  return !text.empty() && *end == '\0' && errno == 0 && std::isfinite(*out);
}

}  // namespace

int RunReviewCommand(const std::vector<std::string>& args) {
  review::ClientOptions client_options;
  review::ReviewOptions options;
  std::string range_text, start_text, end_text, step_text, format = "text";
  std::string config_path;
  CommandFlags flags(
      args, {"--prometheus", "--range", "--start", "--end", "--selector",
             "--config", "--format", "--flat-threshold", "--top-percent",
             "--step", "--slow-collector-seconds", "--header", "--timeout"});
  while (flags.Next()) {
    const std::string& flag = flags.flag();
    std::string value = flags.value();
    if (flag == "--prometheus") {
      client_options.base_url = value;
    } else if (flag == "--range") {
      range_text = value;
    } else if (flag == "--start") {
      start_text = value;
    } else if (flag == "--end") {
      end_text = value;
    } else if (flag == "--selector") {
      options.selector_text = value;
      const Status s = review::Selector::Parse(value, &options.selector);
      if (!s.ok()) return UsageError(s.message());
    } else if (flag == "--config") {
      config_path = value;
    } else if (flag == "--format") {
      if (value != "text" && value != "json") {
        return UsageError("--format must be text or json, got \"" + value +
                          "\"");
      }
      format = value;
    } else if (flag == "--flat-threshold") {
      if (!ParseNumber(value, &options.flat_level) || options.flat_level < 0) {
        return UsageError("--flat-threshold must be a number >= 0, got \"" +
                          value + "\"");
      }
    } else if (flag == "--top-percent") {
      if (!ParseNumber(value, &options.top_percent) ||
          !(options.top_percent > 0 && options.top_percent < 100)) {
        return UsageError(
            "--top-percent must be above 0 and below 100, got \"" + value +
            "\"");
      }
    } else if (flag == "--step") {
      step_text = value;
    } else if (flag == "--slow-collector-seconds") {
      if (!ParseNumber(value, &options.slow_collector_seconds) ||
          !(options.slow_collector_seconds > 0)) {
        return UsageError("--slow-collector-seconds must be above 0, got \"" +
                          value + "\"");
      }
    } else if (flag == "--header") {
      if (value.find(':') == std::string::npos) {
        return UsageError("--header must be 'Name: value', got \"" + value +
                          "\"");
      }
      client_options.headers.push_back(value);
    } else if (flag == "--timeout") {
      const Status s =
          review::ParseDuration(value, &client_options.timeout_seconds);
      if (!s.ok()) return UsageError("--timeout: " + s.message());
    }
  }
  if (flags.help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!flags.error().empty()) return UsageError(flags.error());
  if (client_options.base_url.empty()) {
    return UsageError("--prometheus URL is required");
  }
  if (client_options.base_url.find("://") == std::string::npos) {
    return UsageError("--prometheus must be a URL (http://host:9090), got \"" +
                      client_options.base_url + "\"");
  }
  if (!range_text.empty() && !start_text.empty() && !end_text.empty()) {
    return UsageError("give --range or --start and --end, not all three");
  }
  const double now = std::chrono::duration<double>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  options.end = now;
  if (!end_text.empty()) {
    const Status s = review::ParseTime(end_text, &options.end);
    if (!s.ok()) return UsageError("--end: " + s.message());
  }
  if (!start_text.empty()) {
    const Status s = review::ParseTime(start_text, &options.start);
    if (!s.ok()) return UsageError("--start: " + s.message());
    if (!range_text.empty()) {
      double range = 0;
      const Status r = review::ParseDuration(range_text, &range);
      if (!r.ok()) return UsageError("--range: " + r.message());
      options.end = options.start + range;
    }
  } else {
    double range = 14 * 86400.0;
    if (!range_text.empty()) {
      const Status s = review::ParseDuration(range_text, &range);
      if (!s.ok()) return UsageError("--range: " + s.message());
    }
    options.start = options.end - range;
  }
  if (!(options.end > options.start)) {
    return UsageError("the range is empty: --start must be before --end");
  }
  options.step = review::ChooseStep(options.end - options.start);
  if (!step_text.empty()) {
    const Status s = review::ParseDuration(step_text, &options.step);
    if (!s.ok()) return UsageError("--step: " + s.message());
    if ((options.end - options.start) / options.step > 11000) {
      return UsageError(
          "--step too small: more than 11000 points per series (Prometheus' "
          "limit)");
    }
  }

  config::LoadedConfig loaded;
  if (!config_path.empty()) {
    const auto known =
        internal::KnownCollectorNames(config::PluginPathsIn(config_path));
    const Status s =
        config::LoadConfigFile(config_path, PipelineOptions{}, known, &loaded);
    if (!s.ok()) {
      std::fprintf(stderr, "mltool review: invalid configuration:\n%s\n",
                   s.message().c_str());
      return 2;
    }
    options.config = &loaded.proto;
    options.config_path = config_path;
  }
  for (const auto* entry : CollectorRegistry::Global().Entries()) {
    if (entry->enabled_by_default) {
      options.builtin_default_collectors.push_back(entry->name);
    }
  }

  const review::PrometheusClient client(client_options);
  review::Report report;
  const Status s = review::RunReview(client, options, &report);
  if (!s.ok()) {
    std::fprintf(stderr, "mltool review: %s\n", s.message().c_str());
    return 2;
  }
  const std::string text = format == "json" ? review::RenderJson(report)
                                            : review::RenderText(report);
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (std::fflush(stdout) != 0) return 2;
  return report.FindingCount() == 0 ? 0 : 1;
}

}  // namespace ml_exporter::mltool
