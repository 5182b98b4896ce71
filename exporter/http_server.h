// HttpServer: the one HTTP port of ml_exporter (civetweb), serving
//   GET  /metrics          Prometheus text exposition
//   POST /api/v1/records   ingest (JSON, NDJSON, protobuf Batch)
//   GET  /-/healthy        liveness
//   GET  /-/ready          readiness
//   POST /-/reload         reload the configuration
//   GET  /api/v1/status    running configuration, models, features (JSON)
//   GET  /                 landing page
//   GET  /drift            live distributions against the reference
// and 404 for everything else (405 for a known path with another method).
//
// Limits (docs/running.md): `threads` connections are served at once (one
// civetweb worker each); request headers must arrive whole within
// request_timeout_ms and fit in max_header_bytes; bodies over
// max_body_bytes get 413; idle keep-alive connections close after
// keep_alive_timeout_ms. Ingest takes a slot of the IngestLimiter (429 with
// Retry-After when there is none), so it never occupies every worker.
// With a web config, TLS and per-group authentication (exporter/web_config.h);
// Reload() re-reads the web config file, so users, tokens and the
// certificate change without a restart.
#ifndef ML_EXPORTER_EXPORTER_HTTP_SERVER_H_
#define ML_EXPORTER_EXPORTER_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "exporter/drift_page.h"
#include "exporter/ingest_limiter.h"
#include "exporter/web_config.h"
#include "ml_exporter/pipeline.h"
#include "ml_exporter/status.h"

struct mg_context;
struct mg_connection;

namespace ml_exporter::internal {

struct HttpServerOptions {
  // host:port; port 0 picks a free port (see HttpServer::port()).
  std::string listen_address = "127.0.0.1:9710";
  size_t max_body_bytes = 16 << 20;
  // Connections served at once: idle keep-alive ones included, so keep it
  // well above the ingest budget plus the scrapers.
  int threads = 64;
  // Request line plus headers.
  size_t max_header_bytes = 16 << 10;
  // Headers must arrive whole within this time (slow clients are cut off);
  // also the limit on each wait for body bytes.
  int request_timeout_ms = 10000;
  int keep_alive_timeout_ms = 5000;
  // Ingest budget, shared with the file followers; required.
  std::shared_ptr<IngestLimiter> ingest_limiter;
  // How long an ingest request may wait for a slot before it gets 429.
  int ingest_queue_timeout_ms = 500;
  // TLS and authentication; default: plain HTTP, every endpoint open.
  WebConfig web = OpenWebConfig();
  // The file `web` was read from (--web_config), read again by Reload();
  // empty: nothing to re-read.
  std::string web_config_file;
  // Reloads the --config file (called by Reload); null without --config.
  std::function<Status()> reload;
  // Extra lines for the landing page (e.g. inputs being followed).
  std::string landing_note;
  // For GET /api/v1/status: the --config path and the running
  // configuration as JSON; null without --config.
  std::string config_file;
  std::function<std::string()> running_config_json;
  std::function<bool()> config_reload_successful;
};

class HttpServer {
 public:
  // Binds and starts serving; fails with civetweb's reason (port in use,
  // bad address).
  static Status Start(const HttpServerOptions& options, Pipeline* pipeline,
                      std::unique_ptr<HttpServer>* server);
  ~HttpServer();  // stops serving; waits for requests in flight

  int port() const { return port_; }
  bool tls() const { return options_.web.tls.enabled; }
  // /-/ready answers 503 once this is false (set during shutdown).
  void set_ready(bool ready) { ready_ = ready; }

  // What SIGHUP and POST /-/reload do: reloads the --config file (through
  // options.reload) and the web config file. A web config that does not
  // load, or changes what needs a restart (CheckWebConfigReloadable), is
  // refused and the running one kept; users and tokens then apply to the
  // next request, the certificate to the next TLS handshake. Logs each
  // outcome; the error names the file and what was wrong. Thread-safe.
  Status Reload();

 private:
  HttpServer(const HttpServerOptions& options, Pipeline* pipeline);
  static int Dispatch(mg_connection* conn, void* self);
  static int ExternalSslContext(void** ssl_ctx, void* self);
  // Reads and drops a body that will not be processed, so that the
  // connection stays usable; false if it was too large to drain.
  bool DiscardBody(mg_connection* conn);
  int HandleMetrics(mg_connection* conn);
  int HandleIngest(mg_connection* conn);
  int HandleReload(mg_connection* conn);
  int HandleLanding(mg_connection* conn);
  int HandleStatus(mg_connection* conn);
  Status ReloadWebConfig();
  std::shared_ptr<Authenticator> CurrentAuth() const;

  const HttpServerOptions options_;
  Pipeline* const pipeline_;
  mg_context* context_ = nullptr;
  int port_ = 0;
  std::atomic<bool> ready_{true};
  DriftPage drift_page_;     // GET /drift
  void* ssl_ctx_ = nullptr;  // owned; SSL_CTX when TLS is on
  std::mutex reload_mu_;     // one reload at a time
  mutable std::mutex auth_mu_;
  std::shared_ptr<Authenticator> auth_;  // in force; guarded by auth_mu_
  // Per ingest slot: a decoder and a body buffer (IngestLimiter::Slot index).
  struct IngestBuffers;
  std::vector<std::unique_ptr<IngestBuffers>> ingest_buffers_;
  // Counters exported through the pipeline, which may outlive the server
  // (the final metrics are rendered after it stopped).
  struct Counters {
    std::atomic<uint64_t> throttled{0};  // ingest requests answered 429
    std::atomic<uint64_t> not_found{0};  // 404 and 405 answers
    std::atomic<uint64_t> unauthorized_scrape{0};  // 401 answers, by group
    std::atomic<uint64_t> unauthorized_ingest{0};
    std::atomic<bool> web_config_reload_ok{true};  // the last web reload
  };
  std::shared_ptr<Counters> counters_ = std::make_shared<Counters>();
};

// The /metrics exposition (pipeline and process metrics) as text.
std::string RenderExposition(Pipeline* pipeline);
// Writes RenderExposition to `path` atomically (a temporary file renamed).
Status WriteExpositionFile(Pipeline* pipeline, const std::string& path);

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_EXPORTER_HTTP_SERVER_H_
