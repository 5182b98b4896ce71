#include "mltool/simulate/http_sink.h"

#include <curl/curl.h>

#include <cstdlib>
#include <string_view>

#include "mltool/simulate/random.h"

namespace ml_exporter::simulate {

struct HttpSink::Target {
  std::string url;
  CURL* curl = nullptr;
  curl_slist* headers = nullptr;
  std::string body;
  size_t lines = 0;
  std::string reply;

  ~Target() {
    if (curl != nullptr) curl_easy_cleanup(curl);
    if (headers != nullptr) curl_slist_free_all(headers);
  }
};

namespace {

size_t AppendReply(char* data, size_t size, size_t n, void* reply) {
  static_cast<std::string*>(reply)->append(data, size * n);
  return size * n;
}

// The number after "key": in a small JSON reply, or 0.
uint64_t ReplyCount(std::string_view reply, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\":";
  const size_t at = reply.find(needle);
  if (at == std::string_view::npos) return 0;
  return std::strtoull(reply.data() + at + needle.size(), nullptr, 10);
}

// A 400 whose body is the ingest result ({"accepted":0,"rejected":N,...})
// means every line of the batch was rejected: delivered, not failed.
bool IsIngestReply(std::string_view reply) {
  return reply.rfind("{\"accepted\":", 0) == 0;
}

}  // namespace

Status HttpSink::Create(const std::vector<std::string>& base_urls,
                        size_t batch_lines, std::unique_ptr<HttpSink>* sink) {
  if (base_urls.empty()) return Status::InvalidArgument("no --url given");
  if (batch_lines == 0) {
    return Status::InvalidArgument("--batch must be at least 1");
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::unique_ptr<HttpSink> s(new HttpSink());
  s->batch_lines_ = batch_lines;
  for (std::string url : base_urls) {
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      return Status::InvalidArgument("--url \"" + url +
                                     "\": expected http://HOST:PORT");
    }
    while (!url.empty() && url.back() == '/') url.pop_back();
    auto t = std::make_unique<Target>();
    t->url = url + "/api/v1/records";
    t->curl = curl_easy_init();
    if (t->curl == nullptr) return Status::Internal("curl_easy_init failed");
    t->headers =
        curl_slist_append(nullptr, "Content-Type: application/x-ndjson");
    curl_easy_setopt(t->curl, CURLOPT_URL, t->url.c_str());
    curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(t->curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(t->curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(t->curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, AppendReply);
    curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, &t->reply);
    s->targets_.push_back(std::move(t));
  }
  *sink = std::move(s);
  return Status::Ok();
}

HttpSink::~HttpSink() = default;

void HttpSink::Add(const std::string& line, const std::string& route) {
  Target* t = targets_[Random::Hash(route) % targets_.size()].get();
  t->body += line;
  t->body += '\n';
  if (++t->lines >= batch_lines_) Post(t);
}

void HttpSink::FlushAll() {
  for (auto& t : targets_) {
    if (t->lines > 0) Post(t.get());
  }
}

void HttpSink::Post(Target* t) {
  t->reply.clear();
  curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, t->body.data());
  curl_easy_setopt(t->curl, CURLOPT_POSTFIELDSIZE,
                   static_cast<long>(t->body.size()));
  const CURLcode rc = curl_easy_perform(t->curl);
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  if (rc != CURLE_OK) {
    ++stats_.failed_posts;
    stats_.last_error = t->url + ": " + curl_easy_strerror(rc);
  } else if (code != 200 && !(code == 400 && IsIngestReply(t->reply))) {
    ++stats_.failed_posts;
    stats_.last_error = t->url + ": HTTP " + std::to_string(code) + " " +
                        t->reply.substr(0, 200);
  } else {
    ++stats_.posts;
    stats_.lines += t->lines;
    stats_.accepted += ReplyCount(t->reply, "accepted");
    stats_.rejected += ReplyCount(t->reply, "rejected");
  }
  t->body.clear();
  t->lines = 0;
}

}  // namespace ml_exporter::simulate
