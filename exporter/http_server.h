// HttpServer: the one HTTP port of ml_exporter (civetweb), serving
//   GET  /metrics          Prometheus text exposition
//   POST /api/v1/records   ingest (JSON, NDJSON, protobuf Batch)
//   GET  /-/healthy        liveness
//   GET  /-/ready          readiness
//   POST /-/reload         reload the configuration
//   GET  /api/v1/status    running configuration, models, features (JSON)
//   GET  /                 landing page
//   GET  /drift            live distributions against the reference
// and 404 for everything else.
#ifndef ML_EXPORTER_EXPORTER_HTTP_SERVER_H_
#define ML_EXPORTER_EXPORTER_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "exporter/drift_page.h"
#include "ml_exporter/pipeline.h"
#include "ml_exporter/status.h"

struct mg_context;
struct mg_connection;

namespace ml_exporter::internal {

struct HttpServerOptions {
  // host:port; port 0 picks a free port (see HttpServer::port()).
  std::string listen_address = "127.0.0.1:9710";
  size_t max_body_bytes = 16 << 20;
  int threads = 8;
  // Called by POST /-/reload; null means there is nothing to reload.
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
  // /-/ready answers 503 once this is false (set during shutdown).
  void set_ready(bool ready) { ready_ = ready; }

 private:
  HttpServer(const HttpServerOptions& options, Pipeline* pipeline)
      : options_(options), pipeline_(pipeline) {}
  static int Dispatch(mg_connection* conn, void* self);
  int HandleMetrics(mg_connection* conn);
  int HandleIngest(mg_connection* conn);
  int HandleReload(mg_connection* conn);
  int HandleLanding(mg_connection* conn);
  int HandleStatus(mg_connection* conn);

  const HttpServerOptions options_;
  Pipeline* const pipeline_;
  mg_context* context_ = nullptr;
  int port_ = 0;
  std::atomic<bool> ready_{true};
  DriftPage drift_page_;  // GET /drift
};

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_EXPORTER_HTTP_SERVER_H_
