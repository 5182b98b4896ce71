// A small client of the Prometheus HTTP API (/api/v1/query_range,
// /api/v1/label/.../values, /api/v1/rules), enough for `mltool review`. It
// speaks only the documented API, so it works against Prometheus, Thanos, Mimir
// and VictoriaMetrics alike. HTTP is libcurl; JSON is simdjson.
#ifndef ML_EXPORTER_MLTOOL_REVIEW_PROMETHEUS_CLIENT_H_
#define ML_EXPORTER_MLTOOL_REVIEW_PROMETHEUS_CLIENT_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ml_exporter/status.h"

namespace ml_exporter::mltool::review {

using Labels = std::map<std::string, std::string>;

struct Sample {
  double time;  // Unix seconds
  double value;
};

// One series of a range query: its labels (with __name__ when the query
// keeps it) and its samples in time order.
struct Series {
  Labels labels;
  std::vector<Sample> samples;
};

// One alerting rule as /api/v1/rules lists it.
struct AlertingRule {
  std::string file;        // the rule group's file
  std::string group;       // the rule group's name
  std::string name;        // the alertname
  std::string query;       // the rule's expression
  double for_seconds = 0;  // its `for:`
  Labels labels;           // its static labels
};

struct ClientOptions {
  // Base URL, e.g. http://127.0.0.1:9090 or http://mimir/prometheus; the API
  // paths are appended to it.
  std::string base_url;
  // Extra request headers, "Name: value" (Authorization, X-Scope-OrgID).
  std::vector<std::string> headers;
  double timeout_seconds = 60;
};

class PrometheusClient {
 public:
  explicit PrometheusClient(ClientOptions options);

  // Runs `query` over [start, end] at `step` seconds. On failure the status
  // names the URL, the query, the HTTP status and Prometheus' own error text
  // (errorType and error) when it sent one.
  Status QueryRange(std::string_view query, double start, double end,
                    double step, std::vector<Series>* out) const;

  // Values of label `label` among the series matching `match` (a series
  // selector) in [start, end]; sorted, as the API returns them.
  Status LabelValues(std::string_view label, std::string_view match,
                     double start, double end,
                     std::vector<std::string>* out) const;

  // The alerting rules loaded in the server (GET /api/v1/rules?type=alert).
  // Fails like the other calls, e.g. with HTTP 404 on a querier (Thanos
  // Query, Mimir without a ruler) that does not serve the rules API.
  Status AlertingRules(std::vector<AlertingRule>* out) const;

  const std::string& base_url() const { return options_.base_url; }

 private:
  // Sends `fields` to `path` as a POST form (the query endpoints accept
  // one, so long queries fit) or a GET query string (label values accepts
  // only GET in Prometheus 2.x), and leaves the reply in *body. Fails unless
  // the reply is HTTP 2xx with "status": "success"; `what` names the request
  // in the error.
  Status Call(std::string_view path,
              const std::vector<std::pair<std::string, std::string>>& fields,
              std::string_view what, bool post, std::string* body) const;

  ClientOptions options_;
};

// Parses a query_range reply body ({"status":"success","data":{"resultType":
// "matrix","result":[...]}}). Exposed for tests.
Status ParseMatrixReply(std::string_view body, std::vector<Series>* out);

// Parses a rules reply body ({"status":"success","data":{"groups":[{"name":
// ..., "file": ..., "rules":[...]}]}}), keeping the alerting rules. Exposed
// for tests.
Status ParseRulesReply(std::string_view body, std::vector<AlertingRule>* out);

// Formats a sample value as Prometheus does ("NaN", "+Inf", shortest form).
std::string FormatValue(double value);

}  // namespace ml_exporter::mltool::review

#endif  // ML_EXPORTER_MLTOOL_REVIEW_PROMETHEUS_CLIENT_H_
