#include "mltool/review/prometheus_client.h"

#include <curl/curl.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <utility>

#include "simdjson.h"

namespace ml_exporter::mltool::review {
namespace {

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  body->append(data, size * count);
  return size * count;
}

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Escape(CURL* curl, const std::string& s) {
  char* escaped = curl_easy_escape(curl, s.data(), static_cast<int>(s.size()));
  std::string out = escaped != nullptr ? escaped : "";
  curl_free(escaped);
  return out;
}

double ParseNumber(std::string_view text) {
  if (text == "NaN") return std::nan("");
  if (text == "+Inf" || text == "Inf") return HUGE_VAL;
  if (text == "-Inf") return -HUGE_VAL;
  std::string s(text);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  return end != nullptr && *end == '\0' ? v : std::nan("");
}

// Prometheus' error reply: {"status":"error","errorType":"...","error":"..."}.
std::string ErrorText(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS) {
    std::string snippet(body.substr(0, 200));
    for (char& c : snippet) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    return snippet.empty() ? "" : "reply: " + snippet;
  }
  std::string_view type, error;
  std::string out;
  if (doc["errorType"].get_string().get(type) == simdjson::SUCCESS) {
    out += std::string(type) + ": ";
  }
  if (doc["error"].get_string().get(error) == simdjson::SUCCESS) {
    out += std::string(error);
  }
  return out;
}

}  // namespace

PrometheusClient::PrometheusClient(ClientOptions options)
    : options_(std::move(options)) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/') {
    options_.base_url.pop_back();
  }
  InitCurlOnce();
}

Status PrometheusClient::Call(
    std::string_view path,
    const std::vector<std::pair<std::string, std::string>>& fields,
    std::string_view what, bool post, std::string* body) const {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Status::Internal("curl_easy_init failed");
  std::string form;
  for (const auto& [name, value] : fields) {
    if (!form.empty()) form += '&';
    form += Escape(curl, name) + "=" + Escape(curl, value);
  }
  const std::string url = options_.base_url + std::string(path);
  const std::string request_url = post ? url : url + "?" + form;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(
      headers, "Content-Type: application/x-www-form-urlencoded");
  headers = curl_slist_append(headers, "Accept: application/json");
  for (const std::string& h : options_.headers) {
    headers = curl_slist_append(headers, h.c_str());
  }
  char curl_error[CURL_ERROR_SIZE] = "";
  body->clear();
  curl_easy_setopt(curl, CURLOPT_URL, request_url.c_str());
  if (post) {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE,
                     static_cast<long>(form.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(options_.timeout_seconds * 1000));
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "mltool-review");
  const CURLcode code = curl_easy_perform(curl);
  long http_status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);

  const std::string where =
      (post ? "POST " : "GET ") + url + " (" + std::string(what) + ")";
  if (code != CURLE_OK) {
    return Status::Unavailable(where + ": " +
                               (curl_error[0] != '\0'
                                    ? std::string(curl_error)
                                    : curl_easy_strerror(code)));
  }
  if (http_status < 200 || http_status >= 300) {
    const std::string text = ErrorText(*body);
    return Status::Unavailable(where + ": HTTP " + std::to_string(http_status) +
                               (text.empty() ? "" : ": " + text));
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(body->data(), body->size()).get(doc);
      err != simdjson::SUCCESS) {
    return Status::Unavailable(where + ": HTTP " + std::to_string(http_status) +
                               " but the reply is not JSON (" +
                               simdjson::error_message(err) +
                               "); is this a Prometheus API URL?");
  }
  std::string_view status;
  if (doc["status"].get_string().get(status) != simdjson::SUCCESS ||
      status != "success") {
    return Status::Unavailable(where + ": HTTP " + std::to_string(http_status) +
                               ": " + ErrorText(*body));
  }
  return Status::Ok();
}

Status ParseMatrixReply(std::string_view body, std::vector<Series>* out) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(body.data(), body.size()).get(doc);
      err != simdjson::SUCCESS) {
    return Status::InvalidArgument(std::string("reply is not JSON: ") +
                                   simdjson::error_message(err));
  }
  std::string_view type;
  if (doc["data"]["resultType"].get_string().get(type) != simdjson::SUCCESS) {
    return Status::InvalidArgument("reply has no data.resultType");
  }
  if (type != "matrix") {
    return Status::InvalidArgument("reply is a " + std::string(type) +
                                   ", not a matrix");
  }
  simdjson::dom::array result;
  if (doc["data"]["result"].get_array().get(result) != simdjson::SUCCESS) {
    return Status::InvalidArgument("reply has no data.result array");
  }
  out->clear();
  for (simdjson::dom::element item : result) {
    Series series;
    simdjson::dom::object metric;
    if (item["metric"].get_object().get(metric) == simdjson::SUCCESS) {
      for (auto field : metric) {
        std::string_view v;
        if (field.value.get_string().get(v) == simdjson::SUCCESS) {
          series.labels.emplace(std::string(field.key), std::string(v));
        }
      }
    }
    simdjson::dom::array values;
    if (item["values"].get_array().get(values) != simdjson::SUCCESS) {
      return Status::InvalidArgument("series without \"values\"");
    }
    for (simdjson::dom::element pair : values) {
      simdjson::dom::array a;
      if (pair.get_array().get(a) != simdjson::SUCCESS || a.size() != 2) {
        return Status::InvalidArgument("sample is not [time, \"value\"]");
      }
      double t = 0;
      if (a.at(0).get_double().get(t) != simdjson::SUCCESS) {
        int64_t ti = 0;
        if (a.at(0).get_int64().get(ti) != simdjson::SUCCESS) {
          return Status::InvalidArgument("sample time is not a number");
        }
        t = static_cast<double>(ti);
      }
      std::string_view v;
      if (a.at(1).get_string().get(v) != simdjson::SUCCESS) {
        return Status::InvalidArgument("sample value is not a string");
      }
      series.samples.push_back({t, ParseNumber(v)});
    }
    out->push_back(std::move(series));
  }
  return Status::Ok();
}

Status PrometheusClient::QueryRange(std::string_view query, double start,
                                    double end, double step,
                                    std::vector<Series>* out) const {
  std::string body;
  const std::string what = "query_range " + std::string(query);
  Status s = Call("/api/v1/query_range",
                  {{"query", std::string(query)},
                   {"start", FormatValue(start)},
                   {"end", FormatValue(end)},
                   {"step", FormatValue(step)}},
                  what, /*post=*/true, &body);
  if (!s.ok()) return s;
  s = ParseMatrixReply(body, out);
  if (!s.ok()) {
    return Status::Unavailable(options_.base_url + "/api/v1/query_range (" +
                               what + "): " + s.message());
  }
  return Status::Ok();
}

Status PrometheusClient::LabelValues(std::string_view label,
                                     std::string_view match, double start,
                                     double end,
                                     std::vector<std::string>* out) const {
  std::string body;
  const std::string path = "/api/v1/label/" + std::string(label) + "/values";
  Status s =
      Call(path,
           {{"match[]", std::string(match)},
            {"start", FormatValue(start)},
            {"end", FormatValue(end)}},
           "label values of " + std::string(match), /*post=*/false, &body);
  if (!s.ok()) return s;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array data;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS ||
      doc["data"].get_array().get(data) != simdjson::SUCCESS) {
    return Status::Unavailable(options_.base_url + path +
                               ": reply has no data array");
  }
  out->clear();
  for (simdjson::dom::element e : data) {
    std::string_view v;
    if (e.get_string().get(v) == simdjson::SUCCESS) out->emplace_back(v);
  }
  return Status::Ok();
}

Status ParseRulesReply(std::string_view body, std::vector<AlertingRule>* out) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(body.data(), body.size()).get(doc);
      err != simdjson::SUCCESS) {
    return Status::InvalidArgument(std::string("reply is not JSON: ") +
                                   simdjson::error_message(err));
  }
  simdjson::dom::array groups;
  if (doc["data"]["groups"].get_array().get(groups) != simdjson::SUCCESS) {
    return Status::InvalidArgument("reply has no data.groups array");
  }
  out->clear();
  for (simdjson::dom::element group : groups) {
    std::string_view group_name, file;
    if (group["name"].get_string().get(group_name) != simdjson::SUCCESS) {
      group_name = "";
    }
    if (group["file"].get_string().get(file) != simdjson::SUCCESS) file = "";
    simdjson::dom::array rules;
    if (group["rules"].get_array().get(rules) != simdjson::SUCCESS) {
      return Status::InvalidArgument("rule group " + std::string(group_name) +
                                     " has no rules array");
    }
    for (simdjson::dom::element rule : rules) {
      std::string_view type, name, query;
      if (rule["type"].get_string().get(type) != simdjson::SUCCESS ||
          type != "alerting") {
        continue;
      }
      if (rule["name"].get_string().get(name) != simdjson::SUCCESS) {
        return Status::InvalidArgument(
            "alerting rule without a name in group " + std::string(group_name));
      }
      AlertingRule r;
      r.file = std::string(file);
      r.group = std::string(group_name);
      r.name = std::string(name);
      if (rule["query"].get_string().get(query) == simdjson::SUCCESS) {
        r.query = std::string(query);
      }
      double duration = 0;
      int64_t duration_int = 0;
      if (rule["duration"].get_double().get(duration) == simdjson::SUCCESS) {
        r.for_seconds = duration;
      } else if (rule["duration"].get_int64().get(duration_int) ==
                 simdjson::SUCCESS) {
        r.for_seconds = static_cast<double>(duration_int);
      }
      simdjson::dom::object labels;
      if (rule["labels"].get_object().get(labels) == simdjson::SUCCESS) {
        for (auto field : labels) {
          std::string_view v;
          if (field.value.get_string().get(v) == simdjson::SUCCESS) {
            r.labels.emplace(std::string(field.key), std::string(v));
          }
        }
      }
      out->push_back(std::move(r));
    }
  }
  return Status::Ok();
}

Status PrometheusClient::AlertingRules(std::vector<AlertingRule>* out) const {
  std::string body;
  Status s = Call("/api/v1/rules", {{"type", "alert"}}, "alerting rules",
                  /*post=*/false, &body);
  if (!s.ok()) return s;
  s = ParseRulesReply(body, out);
  if (!s.ok()) {
    return Status::Unavailable(
        options_.base_url + "/api/v1/rules (alerting rules): " + s.message());
  }
  return Status::Ok();
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  return buf;
}

}  // namespace ml_exporter::mltool::review
