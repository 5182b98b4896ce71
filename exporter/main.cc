// ml_exporter: turns a model's stream of prediction records into Prometheus
// metrics. See README.md and docs/.
#include <gflags/gflags.h>
#include <malloc.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/plugin_host.h"
#include "exporter/config_reloader.h"
#include "exporter/file_follower.h"
#include "exporter/http_server.h"
#include "exporter/ingest_limiter.h"
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
DEFINE_int32(http_threads, 64,
             "HTTP connections served at once (one worker thread each, idle "
             "keep-alive connections included); more wait in a queue. Must "
             "exceed --ingest_concurrency + --ingest_queue by at least 4, so "
             "that scrapes and health checks always find a worker.");
DEFINE_int32(malloc_arena_max, 2,
             "glibc malloc arenas (M_ARENA_MAX). Every HTTP worker that "
             "serves a scrape may otherwise get an arena of its own (up to 8 "
             "per core), which RSS keeps; the ingest path allocates nothing "
             "per record, so few arenas cost no throughput. 0: glibc's "
             "default (docs/performance.md#memory).");
DEFINE_uint64(max_header_bytes, 16 << 10,
              "Largest request line plus headers, in bytes; larger requests "
              "are refused.");
DEFINE_int32(http_request_timeout_ms, 10000,
             "A request's headers must arrive whole within this time (slow "
             "clients are disconnected); also the limit on each wait for "
             "body bytes.");
DEFINE_int32(http_keep_alive_timeout_ms, 5000,
             "An idle keep-alive connection is closed after this time.");
DEFINE_int32(ingest_concurrency, 0,
             "Ingest batches (HTTP bodies, chunks of followed input) decoded "
             "and observed at once; 0: the number of CPUs, at least 2.");
DEFINE_int32(ingest_queue, 16,
             "HTTP ingest requests that may wait for a free batch slot; "
             "beyond that, or after --ingest_queue_timeout_ms, they get 429 "
             "with Retry-After. Files and stdin wait instead (they read "
             "more slowly).");
DEFINE_int32(ingest_queue_timeout_ms, 500,
             "How long an HTTP ingest request waits for a batch slot before "
             "it gets 429.");
DEFINE_string(web_config, "",
              "YAML file with TLS and authentication settings, after "
              "Prometheus exporter-toolkit (docs/running.md#access); read "
              "again on SIGHUP and POST /-/reload.");
DEFINE_string(final_metrics_file, "",
              "On SIGTERM or SIGINT, after the last request and input line "
              "was processed, write the final metrics (the /metrics text) to "
              "this file.");
DEFINE_int32(shutdown_timeout_seconds, 30,
             "Exit with status 1 if draining on SIGTERM takes longer.");
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
  if (FLAGS_malloc_arena_max < 0) {
    std::fprintf(stderr,
                 "--malloc_arena_max must be 0 (glibc default) or "
                 "more\n");
    return 2;
  }
  // Before any thread starts, so that no arena is made past the limit.
  if (FLAGS_malloc_arena_max > 0) mallopt(M_ARENA_MAX, FLAGS_malloc_arena_max);
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
  mi::SetPluginLogSink([](std::string_view message) {
    mi::Log(mi::LogLevel::kWarning, message);
  });
  std::unique_ptr<ml_exporter::Pipeline> pipeline;
  if (Status s = ml_exporter::Pipeline::Create(options, &pipeline); !s.ok()) {
    std::fprintf(stderr, "ml_exporter: %s\n", s.message().c_str());
    return 2;
  }
  for (const auto& p : pipeline->plugin_status()) {
    std::string names;
    for (const auto& c : p.collectors) names += (names.empty() ? "" : ", ") + c;
    mi::Log(mi::LogLevel::kInfo, "loaded plugin " + p.name + " " + p.version +
                                     " (ABI " + p.abi + ") from " + p.path +
                                     "; collectors: " + names);
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
  http.max_header_bytes = FLAGS_max_header_bytes;
  http.request_timeout_ms = FLAGS_http_request_timeout_ms;
  http.keep_alive_timeout_ms = FLAGS_http_keep_alive_timeout_ms;
  http.ingest_queue_timeout_ms = FLAGS_ingest_queue_timeout_ms;
  const int concurrency =
      FLAGS_ingest_concurrency > 0
          ? FLAGS_ingest_concurrency
          : std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  if (FLAGS_ingest_queue < 0 || FLAGS_http_request_timeout_ms <= 0 ||
      FLAGS_http_keep_alive_timeout_ms < 0 || FLAGS_max_header_bytes < 1024 ||
      FLAGS_http_threads < concurrency + FLAGS_ingest_queue + 4) {
    std::fprintf(stderr,
                 "ml_exporter: need --http_threads >= --ingest_concurrency "
                 "(%d) + --ingest_queue (%d) + 4, --ingest_queue >= 0, "
                 "--http_request_timeout_ms > 0, --max_header_bytes >= "
                 "1024\n",
                 concurrency, FLAGS_ingest_queue);
    return 2;
  }
  http.ingest_limiter = std::make_shared<mi::IngestLimiter>(
      static_cast<size_t>(concurrency),
      static_cast<size_t>(FLAGS_ingest_queue));
  if (!FLAGS_web_config.empty()) {
    if (Status s = mi::LoadWebConfig(FLAGS_web_config, &http.web); !s.ok()) {
      std::fprintf(stderr, "ml_exporter: --web_config: %s\n",
                   s.message().c_str());
      return 2;
    }
    http.web_config_file = FLAGS_web_config;
    mi::Log(mi::LogLevel::kInfo,
            "web config " + FLAGS_web_config + ": " +
                (http.web.tls.enabled ? "TLS" : "plain HTTP (no TLS)") + "; " +
                http.web.auth->Describe());
  }
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
                                   (server->tls() ? " (TLS)" : "") +
                                   " (GET /metrics, POST "
                                   "/api/v1/records)");

  std::vector<std::unique_ptr<mi::FileFollower>> followers;
  for (const std::string& path : Split(FLAGS_input, ',')) {
    mi::FileFollowerOptions fo;
    fo.path = path;
    fo.from_start = FLAGS_input_from_start;
    fo.max_line_bytes = max_body_bytes;
    fo.limiter = http.ingest_limiter;
    followers.push_back(std::make_unique<mi::FileFollower>(fo, pipeline.get()));
    followers.back()->Start();
  }

  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      if (reloader || !FLAGS_web_config.empty()) {
        (void)server->Reload();  // --config and --web_config; logs outcomes
      } else {
        mi::Log(mi::LogLevel::kInfo,
                "SIGHUP: nothing to reload (ml_exporter runs without "
                "--config and --web_config)");
      }
      continue;
    }
    mi::Log(mi::LogLevel::kInfo, std::string("received ") +
                                     (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                                     ", shutting down");
    break;
  }
  // Drain: every request in flight finishes (what it acknowledged is in the
  // pipeline, which observes synchronously), followers observe the lines
  // they read, then the final metrics are written. A watchdog bounds it.
  const auto shutdown_start = std::chrono::steady_clock::now();
  std::thread([] {
    std::this_thread::sleep_for(
        std::chrono::seconds(FLAGS_shutdown_timeout_seconds));
    mi::Log(mi::LogLevel::kError,
            "shutdown took longer than --shutdown_timeout_seconds; exiting");
    std::_Exit(1);
  }).detach();
  server->set_ready(false);
  for (auto& f : followers) f->Stop();
  server.reset();  // waits for requests in flight
  if (!FLAGS_final_metrics_file.empty()) {
    if (Status s =
            mi::WriteExpositionFile(pipeline.get(), FLAGS_final_metrics_file);
        !s.ok()) {
      mi::Log(mi::LogLevel::kError, "--final_metrics_file: " + s.message());
      return 1;
    }
  }
  const auto& stats = pipeline->ingest_stats();
  mi::Log(
      mi::LogLevel::kInfo,
      "stopped after draining for " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - shutdown_start)
                             .count()) +
          " ms; records accepted: http=" +
          std::to_string(stats.accepted(ml_exporter::IngestSource::kHttp)) +
          " file=" +
          std::to_string(stats.accepted(ml_exporter::IngestSource::kFile)) +
          " stdin=" +
          std::to_string(stats.accepted(ml_exporter::IngestSource::kStdin)));
  return 0;
}
