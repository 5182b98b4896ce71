#include "exporter/http_server.h"

#include <civetweb.h>
#include <prometheus/text_serializer.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include "exporter/logging.h"
#include "exporter/process_metrics.h"
#include "exporter/status_json.h"
#include "exporter/tls.h"
#include "ml_exporter/ingest.h"
#include "ml_exporter/metric_builder.h"

namespace ml_exporter::internal {
namespace {

const char* StatusText(int code) {
  switch (code) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
  }
  return "Unknown";
}

int Reply(mg_connection* conn, int code, std::string_view content_type,
          std::string_view body, std::string_view extra_headers = {}) {
  std::string head =
      "HTTP/1.1 " + std::to_string(code) + " " + StatusText(code) +
      "\r\nContent-Type: " + std::string(content_type) +
      "\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nCache-Control: no-store\r\n" + std::string(extra_headers) + "\r\n";
  // One write: a separate small header segment would wait for the peer's
  // delayed ACK (Nagle), ~40 ms per request on keep-alive connections.
  head.append(body);
  mg_write(conn, head.data(), head.size());
  return code;
}

int ReplyText(mg_connection* conn, int code, std::string_view text,
              std::string_view extra_headers = {}) {
  return Reply(conn, code, "text/plain; charset=utf-8", text, extra_headers);
}

int MethodNotAllowed(mg_connection* conn, const char* allow) {
  return ReplyText(conn, 405, "method not allowed\n",
                   std::string("Allow: ") + allow + "\r\n");
}

std::string_view Header(mg_connection* conn, const char* name) {
  const char* v = mg_get_header(conn, name);
  return v ? std::string_view(v) : std::string_view();
}

std::string HtmlEscape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The media type without parameters, lower case.
std::string MediaType(std::string_view content_type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  std::string out(t);
  for (char& c : out) c = static_cast<char>(std::tolower(c));
  return out;
}

// Reads the whole body into `body`. Returns 0, or an HTTP status to answer.
int ReadBody(mg_connection* conn, size_t limit, std::string* body) {
  const mg_request_info* info = mg_get_request_info(conn);
  if (info->content_length > 0 &&
      static_cast<uint64_t>(info->content_length) > limit) {
    body->clear();
    return 413;
  }
  // Read straight into the body (no copy through a stack buffer): all of
  // a declared length at once, then 64 KiB at a time (chunked bodies).
  // `body` keeps the previous request's size until the end, so growing it
  // writes zeros only past that size.
  constexpr size_t kChunk = 64 * 1024;
  size_t size = 0;
  size_t want = info->content_length > 0
                    ? static_cast<size_t>(info->content_length)
                    : kChunk;
  for (;;) {
    if (body->size() < size + want) body->resize(size + want);
    const int n = mg_read(conn, body->data() + size, want);
    if (n <= 0) break;
    size += static_cast<size_t>(n);
    if (size > limit) {
      body->resize(size);
      return 413;
    }
    // civetweb returns no more than a declared length: done.
    if (info->content_length > 0 &&
        size >= static_cast<size_t>(info->content_length)) {
      break;
    }
    want = body->size() > size ? body->size() - size : kChunk;
  }
  body->resize(size);
  return 0;
}

}  // namespace

struct HttpServer::IngestBuffers {
  IngestBuffers(Pipeline* pipeline, size_t max_line_bytes)
      : ingestor(pipeline, IngestSource::kHttp) {
    ingestor.set_max_line_bytes(max_line_bytes);
  }
  Ingestor ingestor;
  std::string body;
};

HttpServer::HttpServer(const HttpServerOptions& options, Pipeline* pipeline)
    : options_(options), pipeline_(pipeline), auth_(options.web.auth) {}

Status HttpServer::Start(const HttpServerOptions& options, Pipeline* pipeline,
                         std::unique_ptr<HttpServer>* server) {
  if (!options.ingest_limiter) {
    return Status::InvalidArgument("HttpServer needs an ingest limiter");
  }
  std::unique_ptr<HttpServer> s(new HttpServer(options, pipeline));
  for (size_t i = 0; i < options.ingest_limiter->slots(); ++i) {
    s->ingest_buffers_.push_back(
        std::make_unique<IngestBuffers>(pipeline, options.max_body_bytes));
  }
  std::string ports = options.listen_address;
  if (options.web.tls.enabled) {
    if (Status st = PrepareOpenSslForCivetweb(); !st.ok()) return st;
    if (Status st = CreateServerTlsContext(options.web.tls, &s->ssl_ctx_);
        !st.ok()) {
      return st;
    }
    ports += "s";  // civetweb: an HTTPS port
  }
  const std::string threads = std::to_string(options.threads);
  const std::string header_bytes = std::to_string(options.max_header_bytes);
  const std::string request_timeout =
      std::to_string(options.request_timeout_ms);
  const std::string keep_alive_timeout =
      std::to_string(options.keep_alive_timeout_ms);
  const char* civet_options[] = {"listening_ports",
                                 ports.c_str(),
                                 "num_threads",
                                 threads.c_str(),
                                 "max_request_size",
                                 header_bytes.c_str(),
                                 "enable_keep_alive",
                                 "yes",
                                 "tcp_nodelay",
                                 "1",
                                 "keep_alive_timeout_ms",
                                 keep_alive_timeout.c_str(),
                                 "request_timeout_ms",
                                 request_timeout.c_str(),
                                 nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof callbacks);
  callbacks.external_ssl_ctx = &HttpServer::ExternalSslContext;
  mg_init_data init;
  std::memset(&init, 0, sizeof init);
  init.callbacks = &callbacks;
  init.user_data = s.get();
  init.configuration_options = civet_options;
  char error_text[512] = "";
  unsigned error_code = 0;
  mg_error_data error;
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof error_text;
  // The server's own counters, rendered with every scrape (and into the
  // final metrics after the server stopped: they hold no pointer to it).
  std::shared_ptr<Counters> counters = s->counters_;
  std::shared_ptr<IngestLimiter> limiter = options.ingest_limiter;
  pipeline->AddMetricsSource([counters, limiter](
                                 std::vector<prometheus::MetricFamily>* out) {
    auto throttled = NewFamily(
        "ml_exporter_ingest_throttled_requests_total",
        "HTTP ingest requests answered 429 (Retry-After) because the "
        "ingest budget was exhausted; their records were not accepted.",
        prometheus::MetricType::Counter);
    AddCounter(&throttled, {}, static_cast<double>(counters->throttled.load()));
    out->push_back(std::move(throttled));
    auto waits =
        NewFamily("ml_exporter_ingest_reader_waits_total",
                  "Times a file or standard-input reader waited for the ingest "
                  "budget (back-pressure: it reads more slowly).",
                  prometheus::MetricType::Counter);
    AddCounter(&waits, {}, static_cast<double>(limiter->reader_waits()));
    out->push_back(std::move(waits));
    auto in_flight = NewFamily("ml_exporter_ingest_in_flight",
                               "Ingest batches being decoded and observed now.",
                               prometheus::MetricType::Gauge);
    AddGauge(&in_flight, {}, static_cast<double>(limiter->in_flight()));
    out->push_back(std::move(in_flight));
    auto slots = NewFamily("ml_exporter_ingest_in_flight_limit",
                           "Ingest batches that may be processed at once "
                           "(--ingest_concurrency).",
                           prometheus::MetricType::Gauge);
    AddGauge(&slots, {}, static_cast<double>(limiter->slots()));
    out->push_back(std::move(slots));
    auto denied =
        NewFamily("ml_exporter_http_unauthorized_requests_total",
                  "Requests answered 401 (missing or wrong credentials), by "
                  "endpoint group.",
                  prometheus::MetricType::Counter);
    AddCounter(&denied, {{"scope", "scrape"}},
               static_cast<double>(counters->unauthorized_scrape.load()));
    AddCounter(&denied, {{"scope", "ingest"}},
               static_cast<double>(counters->unauthorized_ingest.load()));
    out->push_back(std::move(denied));
    auto reloaded = NewFamily(
        "ml_exporter_web_config_last_reload_successful",
        "Whether the last reload of --web_config (SIGHUP or POST "
        "/-/reload) was applied (1) or refused, the running one kept (0); "
        "1 without --web_config.",
        prometheus::MetricType::Gauge);
    AddGauge(&reloaded, {}, counters->web_config_reload_ok.load() ? 1.0 : 0.0);
    out->push_back(std::move(reloaded));
  });
  s->context_ = mg_start2(&init, &error);
  if (s->context_ == nullptr) {
    return Status::InvalidArgument(
        "cannot listen on \"" + options.listen_address + "\": " + error_text);
  }
  mg_set_request_handler(s->context_, "/", &HttpServer::Dispatch, s.get());
  mg_server_port server_ports[4];
  const int n = mg_get_server_ports(s->context_, 4, server_ports);
  if (n > 0) s->port_ = server_ports[0].port;
  *server = std::move(s);
  return Status::Ok();
}

int HttpServer::ExternalSslContext(void** ssl_ctx, void* self_ptr) {
  auto* self = static_cast<HttpServer*>(self_ptr);
  if (self->ssl_ctx_ == nullptr) return 0;
  // 1: civetweb uses this context and leaves freeing it to us.
  *ssl_ctx = self->ssl_ctx_;
  return 1;
}

HttpServer::~HttpServer() {
  if (context_ != nullptr) mg_stop(context_);
  FreeServerTlsContext(ssl_ctx_);
}

int HttpServer::Dispatch(mg_connection* conn, void* self_ptr) {
  auto* self = static_cast<HttpServer*>(self_ptr);
  const mg_request_info* info = mg_get_request_info(conn);
  const std::string_view uri = info->local_uri ? info->local_uri : "";
  const std::string_view method =
      info->request_method ? info->request_method : "";
  const bool get = method == "GET" || method == "HEAD";
  const bool post = method == "POST";
  // Which credentials the request needs: only known endpoints called with
  // their method are checked; anything else gets 404 or 405 unauthenticated,
  // which tells nothing.
  AuthScope scope = AuthScope::kOpen;
  if ((uri == "/metrics" || uri == "/" || uri == "/drift" ||
       uri == "/api/v1/status") &&
      get) {
    scope = AuthScope::kScrape;
  } else if ((uri == "/api/v1/records" && post) ||
             (uri == "/-/reload" && (post || method == "PUT"))) {
    scope = AuthScope::kIngest;
  }
  if (scope != AuthScope::kOpen) {
    const std::shared_ptr<Authenticator> auth = self->CurrentAuth();
    if (!auth->Allowed(scope, Header(conn, "Authorization"))) {
      (scope == AuthScope::kScrape ? self->counters_->unauthorized_scrape
                                   : self->counters_->unauthorized_ingest)
          .fetch_add(1, std::memory_order_relaxed);
      if (scope == AuthScope::kIngest) self->DiscardBody(conn);
      return ReplyText(conn, 401, "unauthorized\n",
                       "WWW-Authenticate: " + auth->Challenge(scope) + "\r\n");
    }
  }
  if (uri == "/metrics") {
    return get ? self->HandleMetrics(conn) : MethodNotAllowed(conn, "GET");
  }
  if (uri == "/api/v1/records") {
    return method == "POST" ? self->HandleIngest(conn)
                            : MethodNotAllowed(conn, "POST");
  }
  if (uri == "/-/healthy") {
    return get ? ReplyText(conn, 200, "Healthy\n")
               : MethodNotAllowed(conn, "GET");
  }
  if (uri == "/-/ready") {
    if (!get) return MethodNotAllowed(conn, "GET");
    return self->ready_ ? ReplyText(conn, 200, "Ready\n")
                        : ReplyText(conn, 503, "Shutting down\n");
  }
  if (uri == "/-/reload") {
    return method == "POST" || method == "PUT" ? self->HandleReload(conn)
                                               : MethodNotAllowed(conn, "POST");
  }
  if (uri == "/api/v1/status") {
    return get ? self->HandleStatus(conn) : MethodNotAllowed(conn, "GET");
  }
  if (uri == "/") {
    return get ? self->HandleLanding(conn) : MethodNotAllowed(conn, "GET");
  }
  if (uri == "/drift") {
    if (!get) return MethodNotAllowed(conn, "GET");
    return Reply(conn, 200, "text/html; charset=utf-8",
                 self->drift_page_.Render(
                     self->pipeline_->Collect(),
                     DriftPageQuery::Parse(
                         info->query_string ? info->query_string : "")));
  }
  self->counters_->not_found.fetch_add(1, std::memory_order_relaxed);
  return ReplyText(conn, 404, "not found; see / for the endpoints\n");
}

std::string RenderExposition(Pipeline* pipeline) {
  std::vector<prometheus::MetricFamily> families = pipeline->Collect();
  AppendProcessMetrics(&families);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

Status WriteExpositionFile(Pipeline* pipeline, const std::string& path) {
  const std::string text = RenderExposition(pipeline);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      return Status::InvalidArgument("cannot write " + tmp + ": " +
                                     std::strerror(errno));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::InvalidArgument("cannot rename " + tmp + " to " + path +
                                   ": " + std::strerror(errno));
  }
  return Status::Ok();
}

int HttpServer::HandleMetrics(mg_connection* conn) {
  return Reply(conn, 200, "text/plain; version=0.0.4; charset=utf-8",
               RenderExposition(pipeline_));
}

bool HttpServer::DiscardBody(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  if (info->content_length > 0 &&
      static_cast<uint64_t>(info->content_length) > options_.max_body_bytes) {
    return false;
  }
  char buf[16 * 1024];
  size_t total = 0;
  for (;;) {
    const int n = mg_read(conn, buf, sizeof buf);
    if (n <= 0) return true;
    total += static_cast<size_t>(n);
    if (total > options_.max_body_bytes) return false;
  }
}

int HttpServer::HandleIngest(mg_connection* conn) {
  IngestLimiter::Slot slot = options_.ingest_limiter->TryAcquire(
      std::chrono::milliseconds(options_.ingest_queue_timeout_ms));
  if (!slot.held()) {
    // Over budget: nothing of the body is decoded or counted as accepted;
    // the client is told to retry. The body is drained so that the
    // keep-alive connection stays usable.
    counters_->throttled.fetch_add(1, std::memory_order_relaxed);
    const bool drained = DiscardBody(conn);
    return Reply(conn, 429, "application/json",
                 "{\"accepted\":0,\"rejected\":0,\"error\":\"ingest is at "
                 "capacity; nothing in this request was accepted; retry "
                 "after 1 s\"}\n",
                 std::string("Retry-After: 1\r\n") +
                     (drained ? "" : "Connection: close\r\n"));
  }
  IngestBuffers& buffers = *ingest_buffers_[slot.index()];
  std::string& body = buffers.body;
  Ingestor* ingestor = &buffers.ingestor;
  IngestStats& stats = pipeline_->ingest_stats();
  const std::string_view encoding = Header(conn, "Content-Encoding");
  if (!encoding.empty() && encoding != "identity") {
    return ReplyText(conn, 415,
                     "Content-Encoding \"" + std::string(encoding) +
                         "\" is not supported; send the body uncompressed\n");
  }
  if (int code = ReadBody(conn, options_.max_body_bytes, &body); code != 0) {
    stats.AddRejected(IngestSource::kHttp, RejectReason::kBodyTooLarge, 1);
    return ReplyText(conn, code,
                     "request body is larger than --max_body_bytes=" +
                         std::to_string(options_.max_body_bytes) + "\n",
                     "Connection: close\r\n");
  }
  const std::string type = MediaType(Header(conn, "Content-Type"));
  IngestResult result;
  if (type == "application/json") {
    result = ingestor->IngestJson(body);
  } else if (type == "application/x-ndjson" || type == "application/jsonl" ||
             type == "application/jsonlines" || type == "application/ndjson") {
    result = ingestor->IngestNdjson(body);
  } else if (type == "application/x-protobuf" ||
             type == "application/protobuf" ||
             type == "application/vnd.google.protobuf") {
    result = ingestor->IngestProtobuf(body);
  } else if (type.empty() || type == "application/x-www-form-urlencoded" ||
             type == "text/plain") {
    // curl -d sends a form type by default: accept JSON, and fall back to
    // NDJSON when the body is several lines that are not one document.
    const size_t first = body.find_first_not_of(" \t\r\n");
    const size_t newline =
        body.find('\n', first == std::string::npos ? 0 : first);
    const bool multi_line =
        newline != std::string::npos &&
        body.find_first_not_of(" \t\r\n", newline) != std::string::npos;
    if (multi_line && first != std::string::npos && body[first] == '{') {
      result = ingestor->IngestNdjson(body);
    } else {
      result = ingestor->IngestJson(body);
    }
  } else {
    return ReplyText(conn, 415,
                     "Content-Type \"" + type +
                         "\" is not supported; use application/json, "
                         "application/x-ndjson or application/x-protobuf\n");
  }
  const bool failed =
      !result.body_status.ok() || (result.accepted == 0 && result.rejected > 0);
  if (!result.body_status.ok()) {
    LogRateLimited(LogLevel::kWarning, "http_body",
                   "rejected request body: " + result.body_status.message());
  }
  return Reply(conn, failed ? 400 : 200, "application/json",
               IngestResultToJson(result) + "\n");
}

int HttpServer::HandleReload(mg_connection* conn) {
  if (!options_.reload && options_.web_config_file.empty()) {
    return ReplyText(conn, 200,
                     "nothing to reload: ml_exporter runs without --config "
                     "and --web_config\n");
  }
  Status s = Reload();
  if (!s.ok()) {
    return ReplyText(conn, 400, "reload failed: " + s.message() + "\n");
  }
  return ReplyText(conn, 200, "configuration reloaded\n");
}

Status HttpServer::Reload() {
  std::lock_guard<std::mutex> lock(reload_mu_);
  const Status config = options_.reload ? options_.reload() : Status::Ok();
  const Status web =
      options_.web_config_file.empty() ? Status::Ok() : ReloadWebConfig();
  if (!config.ok() && !web.ok()) {
    return Status::InvalidArgument(config.message() + "; " + web.message());
  }
  return config.ok() ? web : config;
}

Status HttpServer::ReloadWebConfig() {
  const std::string& path = options_.web_config_file;
  WebConfig next;
  Status s = LoadWebConfig(path, &next);
  if (s.ok()) s = CheckWebConfigReloadable(options_.web.tls, next.tls);
  if (s.ok() && next.tls.enabled) {
    s = ReplaceServerCertificate(ssl_ctx_, next.tls);
  }
  if (!s.ok()) {
    counters_->web_config_reload_ok = false;
    Log(LogLevel::kError,
        "web config " + path +
            " not reloaded, the running one is kept: " + s.message());
    return Status::InvalidArgument("web config: " + s.message());
  }
  {
    std::lock_guard<std::mutex> auth_lock(auth_mu_);
    auth_ = next.auth;
  }
  counters_->web_config_reload_ok = true;
  Log(LogLevel::kInfo,
      "web config " + path + " reloaded" +
          (next.tls.enabled ? " (certificate from " + next.tls.cert_file + ")"
                            : "") +
          ": " + next.auth->Describe());
  return Status::Ok();
}

std::shared_ptr<Authenticator> HttpServer::CurrentAuth() const {
  std::lock_guard<std::mutex> lock(auth_mu_);
  return auth_;
}

int HttpServer::HandleStatus(mg_connection* conn) {
  StatusInputs inputs;
  inputs.config_file = options_.config_file;
  inputs.running_config_json =
      options_.running_config_json ? options_.running_config_json() : "{}";
  inputs.config_reload_successful = options_.config_reload_successful
                                        ? options_.config_reload_successful()
                                        : true;
  return Reply(conn, 200, "application/json",
               BuildStatusJson(pipeline_, inputs) + "\n");
}

int HttpServer::HandleLanding(mg_connection* conn) {
  std::string html =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
      "<title>ml_exporter</title></head><body><h1>ml_exporter</h1>"
      "<p>Prometheus exporter for machine-learning inputs and outputs.</p>"
      "<ul>"
      "<li><a href=\"/metrics\">/metrics</a>: metrics for Prometheus</li>"
      "<li>POST /api/v1/records: send prediction records (JSON, NDJSON, "
      "protobuf)</li>"
      "<li><a href=\"/-/healthy\">/-/healthy</a>, "
      "<a href=\"/-/ready\">/-/ready</a>: health checks</li>"
      "<li>POST /-/reload: reload the configuration</li>"
      "<li><a href=\"/drift\">/drift</a>: live distributions against the "
      "reference, drift scores and missing fractions, worst first</li>"
      "<li><a href=\"/api/v1/status\">/api/v1/status</a>: running "
      "configuration, collectors per model, discovered features, caps "
      "reached (JSON)</li>"
      "</ul>";
  html += options_.config_file.empty()
              ? std::string(
                    "<p>No configuration file: every model gets the "
                    "default collectors.</p>")
              : "<p>Configuration: " + HtmlEscape(options_.config_file) +
                    (options_.config_reload_successful &&
                             !options_.config_reload_successful()
                         ? " (<b>last reload failed</b>; see the log)"
                         : "") +
                    "</p>";
  html +=
      "<h2>Models</h2><table><tr><th>model</th><th>version</th>"
      "<th>stage</th><th>collectors</th></tr>";
  for (const auto& m : pipeline_->model_status()) {
    std::string collectors;
    for (const auto& c : m.collectors) {
      collectors += (collectors.empty() ? "" : ", ") + c;
    }
    html += "<tr><td>" + HtmlEscape(m.labels.model) + "</td><td>" +
            HtmlEscape(m.labels.version) + "</td><td>" +
            HtmlEscape(m.labels.stage) + "</td><td>" + HtmlEscape(collectors) +
            "</td></tr>";
  }
  html += "</table>";
  const auto plugins = pipeline_->plugin_status();
  if (!plugins.empty()) {
    html +=
        "<h2>Plugins</h2><table><tr><th>plugin</th><th>version</th>"
        "<th>ABI</th><th>collectors</th><th>file</th></tr>";
    for (const auto& p : plugins) {
      std::string collectors;
      for (const auto& c : p.collectors) {
        collectors += (collectors.empty() ? "" : ", ") + c;
      }
      html += "<tr><td>" + HtmlEscape(p.name) + "</td><td>" +
              HtmlEscape(p.version) + "</td><td>" + HtmlEscape(p.abi) +
              "</td><td>" + HtmlEscape(collectors) + "</td><td>" +
              HtmlEscape(p.path) + "</td></tr>";
    }
    html += "</table>";
  }
  html += "<h2>Caps reached</h2><ul>";
  const CardinalityStats& caps = pipeline_->cardinality_stats();
  bool any = false;
  for (size_t l = 0; l < static_cast<size_t>(CardinalityLimit::kCount); ++l) {
    const auto limit = static_cast<CardinalityLimit>(l);
    if (caps.overflow(limit) == 0) continue;
    any = true;
    html += "<li>" + std::string(LimitName(limit)) + ": " +
            std::to_string(caps.overflow(limit)) +
            " values counted as __other__</li>";
  }
  if (!any) html += "<li>none</li>";
  html += "</ul>" + options_.landing_note + "</body></html>\n";
  return Reply(conn, 200, "text/html; charset=utf-8", html);
}

}  // namespace ml_exporter::internal
