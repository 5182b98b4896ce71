// ml_exporter: turns a model's stream of prediction records into Prometheus
// metrics. See README.md and docs/.
#include <gflags/gflags.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "exporter/config_reloader.h"
#include "exporter/file_follower.h"
#include "exporter/http_server.h"
#include "exporter/logging.h"
#include "exporter/reference_flags.h"
#include "ml_exporter/pipeline.h"

DEFINE_string(listen_address, "127.0.0.1:9710",
              "host:port to serve /metrics and ingest on. Port 0 picks a "
              "free port and logs it. Use 0.0.0.0:9710 to accept remote "
              "scrapes.");
DEFINE_string(input, "",
              "NDJSON record files to follow like tail -F (comma-separated), "
              "or - for standard input.");
DEFINE_bool(input_from_start, false,
            "Read --input files from their beginning instead of only new "
            "lines.");
DEFINE_uint64(max_body_bytes, 16 << 20,
              "Largest accepted POST body, and longest accepted input line, "
              "in bytes; larger bodies get 413.");
DEFINE_uint64(max_models, 100,
              "Distinct (model, version, stage) series; more are counted "
              "under \"__other__\".");
DEFINE_uint64(max_features, 1000,
              "Distinct input features per model; more share "
              "feature=\"__other__\".");
DEFINE_uint64(max_outputs, 100,
              "Distinct outputs per model; more share output=\"__other__\".");
DEFINE_uint64(max_label_values, 50,
              "Distinct category values per feature or output; more are "
              "counted as value=\"__other__\".");
DEFINE_uint64(max_label_length, 128,
              "Longest label value taken from data, in bytes; longer ones "
              "are cut.");
DEFINE_uint64(histogram_warmup_values, 1000,
              "Numeric values buffered per feature before its histogram "
              "edges are chosen from their quantiles and frozen.");
DEFINE_double(histogram_warmup_seconds, 60,
              "A histogram still warming up this many seconds after its "
              "first value is frozen with the values it has.");
DEFINE_uint64(histogram_buckets, 10,
              "Quantile-based buckets per learned histogram.");
DEFINE_string(buckets, "",
              "Explicit bucket edges that skip warm-up, as "
              "NAME=e1,e2,...;NAME2=... (NAME is a feature or output).");
DEFINE_string(latency_buckets, "",
              "Edges of ml_latency_seconds, comma-separated (default "
              "0.001..10).");
DEFINE_string(collectors, "",
              "Collectors to run, comma-separated (default: all that are "
              "enabled by default). --collectors=help lists them.");
DEFINE_int32(http_threads, 8, "HTTP worker threads.");
DEFINE_string(config, "",
              "YAML configuration file (docs/configuration.md). Its settings "
              "override the flags above, except --listen_address when given "
              "on the command line. Reloaded on SIGHUP and POST /-/reload.");
DEFINE_string(log_level, "info", "debug, info, warn or error.");

// --- drift against reference profiles (docs/drift.md) -----------------------
DEFINE_string(reference, "",
              "Reference profile of a model (mltool profile), as MODEL=PATH; "
              "repeat the flag or separate with commas for several models "
              "(MODEL may use * globs). Adds drift scores and makes the "
              "model's numeric histograms use the profile's bin edges.");
DEFINE_double(drift_window_seconds, 3600,
              "Sliding window of the drift scores, in seconds.");
DEFINE_uint64(drift_min_count, 1000,
              "Values a field needs in the drift window to get scores.");
DEFINE_bool(drift_baseline, false,
            "Models without --reference take the first drift window of "
            "their traffic as the reference.");

namespace {

using ml_exporter::Status;

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, sep)) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

Status ParseEdges(const std::string& text, std::vector<double>* edges) {
  edges->clear();
  for (const std::string& item : Split(text, ',')) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (end == item.c_str() || *end != '\0' || !std::isfinite(v)) {
      return Status::InvalidArgument("\"" + item + "\" is not a number");
    }
    edges->push_back(v);
  }
  if (edges->empty()) return Status::InvalidArgument("no bucket edges");
  return Status::Ok();
}

Status BuildOptions(ml_exporter::PipelineOptions* options) {
  options->max_models = FLAGS_max_models;
  options->max_features = FLAGS_max_features;
  options->max_outputs = FLAGS_max_outputs;
  options->max_label_values = FLAGS_max_label_values;
  options->max_label_length = FLAGS_max_label_length;
  options->histogram_warmup_values = FLAGS_histogram_warmup_values;
  options->histogram_warmup_seconds = FLAGS_histogram_warmup_seconds;
  options->histogram_quantile_buckets = FLAGS_histogram_buckets;
  if (!FLAGS_latency_buckets.empty()) {
    Status s = ParseEdges(FLAGS_latency_buckets, &options->latency_buckets);
    if (!s.ok())
      return Status::InvalidArgument("--latency_buckets: " + s.message());
  }
  for (const std::string& spec : Split(FLAGS_buckets, ';')) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument("--buckets: \"" + spec +
                                     "\" is not NAME=e1,e2,...");
    }
    std::vector<double> edges;
    Status s = ParseEdges(spec.substr(eq + 1), &edges);
    if (!s.ok()) {
      return Status::InvalidArgument("--buckets: " + spec.substr(0, eq) + ": " +
                                     s.message());
    }
    options->explicit_buckets[spec.substr(0, eq)] = edges;
  }
  options->collectors = Split(FLAGS_collectors, ',');
  return Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "turns a model's prediction records into Prometheus metrics.\n"
      "  ml_exporter --listen_address=127.0.0.1:9710 [--input=FILE|-]\n"
      "Send records with POST /api/v1/records; scrape GET /metrics.");
  gflags::SetVersionString(ML_EXPORTER_VERSION);
  const std::vector<std::string> reference_flags =
      ml_exporter::internal::RepeatedFlagValues(argc, argv, "reference");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  namespace mi = ml_exporter::internal;
  mi::LogLevel level;
  if (!mi::ParseLogLevel(FLAGS_log_level, &level)) {
    std::fprintf(stderr,
                 "--log_level: \"%s\" is not debug, info, warn or error\n",
                 FLAGS_log_level.c_str());
    return 2;
  }
  mi::SetLogLevel(level);

  if (FLAGS_collectors == "help") {
    for (const auto* e : ml_exporter::CollectorRegistry::Global().Entries()) {
      std::printf("%-12s %s%s\n", e->name.c_str(), e->description.c_str(),
                  e->enabled_by_default ? "" : " (off by default)");
    }
    return 0;
  }

  ml_exporter::PipelineOptions options;
  if (Status s = BuildOptions(&options); !s.ok()) {
    std::fprintf(stderr, "ml_exporter: %s\n", s.message().c_str());
    return 2;
  }
  // Drift: reference profiles and window (docs/drift.md).
  if (Status s = mi::ParseReferenceFlags(reference_flags, &options.references);
      !s.ok()) {
    std::fprintf(stderr, "ml_exporter: %s\n", s.message().c_str());
    return 2;
  }
  if (!(FLAGS_drift_window_seconds > 0) || FLAGS_drift_min_count < 1) {
    std::fprintf(stderr,
                 "ml_exporter: --drift_window_seconds must be > 0 and "
                 "--drift_min_count >= 1\n");
    return 2;
  }
  options.drift.window_seconds = FLAGS_drift_window_seconds;
  options.drift.min_count = FLAGS_drift_min_count;
  options.drift.baseline_from_traffic = FLAGS_drift_baseline;
  for (const ml_exporter::ReferenceSpec& r : options.references) {
    bool mismatch = false;
    const std::string line = mi::DescribeReference(r, &mismatch);
    mi::Log(mismatch ? mi::LogLevel::kWarning : mi::LogLevel::kInfo, line);
  }
  std::string listen_address = FLAGS_listen_address;
  size_t max_body_bytes = FLAGS_max_body_bytes;
  std::unique_ptr<mi::ConfigReloader> reloader;
  if (!FLAGS_config.empty()) {
    reloader = std::make_unique<mi::ConfigReloader>(FLAGS_config, options);
    ml_exporter::config::LoadedConfig loaded;
    if (Status s = reloader->LoadInitial(&loaded); !s.ok()) {
      std::fprintf(stderr, "ml_exporter: invalid configuration:\n%s\n",
                   s.message().c_str());
      return 2;
    }
    options = loaded.options;
    if (!loaded.listen_address.empty() &&
        gflags::GetCommandLineFlagInfoOrDie("listen_address").is_default) {
      listen_address = loaded.listen_address;
    }
    if (loaded.max_body_bytes > 0 &&
        gflags::GetCommandLineFlagInfoOrDie("max_body_bytes").is_default) {
      max_body_bytes = loaded.max_body_bytes;
    }
  }
  std::unique_ptr<ml_exporter::Pipeline> pipeline;
  if (Status s = ml_exporter::Pipeline::Create(options, &pipeline); !s.ok()) {
    std::fprintf(stderr, "ml_exporter: %s\n", s.message().c_str());
    return 2;
  }
  if (reloader) reloader->Attach(pipeline.get());

  // Signals are taken by sigwait below, so block them in every thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  mi::HttpServerOptions http;
  http.listen_address = listen_address;
  http.max_body_bytes = max_body_bytes;
  http.threads = FLAGS_http_threads;
  if (reloader) {
    mi::ConfigReloader* r = reloader.get();
    http.reload = [r] { return r->Reload(); };
    http.config_file = r->path();
    http.running_config_json = [r] { return r->RunningConfigJson(); };
    http.config_reload_successful = [r] { return r->last_reload_successful(); };
  }
  std::unique_ptr<mi::HttpServer> server;
  if (Status s = mi::HttpServer::Start(http, pipeline.get(), &server);
      !s.ok()) {
    std::fprintf(stderr, "ml_exporter: %s\n", s.message().c_str());
    return 1;
  }
  mi::Log(mi::LogLevel::kInfo, "listening on " + FLAGS_listen_address +
                                   " port=" + std::to_string(server->port()) +
                                   " (GET /metrics, POST "
                                   "/api/v1/records)");

  std::vector<std::unique_ptr<mi::FileFollower>> followers;
  for (const std::string& path : Split(FLAGS_input, ',')) {
    mi::FileFollowerOptions fo;
    fo.path = path;
    fo.from_start = FLAGS_input_from_start;
    fo.max_line_bytes = max_body_bytes;
    followers.push_back(std::make_unique<mi::FileFollower>(fo, pipeline.get()));
    followers.back()->Start();
  }

  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      if (reloader) {
        (void)reloader->Reload();  // logs its outcome
      } else {
        mi::Log(mi::LogLevel::kInfo,
                "SIGHUP: nothing to reload (ml_exporter runs without "
                "--config)");
      }
      continue;
    }
    mi::Log(mi::LogLevel::kInfo, std::string("received ") +
                                     (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                                     ", shutting down");
    break;
  }
  server->set_ready(false);
  for (auto& f : followers) f->Stop();
  server.reset();  // waits for requests in flight
  mi::Log(mi::LogLevel::kInfo, "stopped");
  return 0;
}
