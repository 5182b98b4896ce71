// load_driver: replays an NDJSON record file against a running ml_exporter
// over HTTP and reports what the exporter accepted.
//
//   load_driver --port=9710 --input=stream.ndjson [--connections=2]
//               [--batch=100] [--format=ndjson|json|protobuf]
//               [--duration=10] [--repeat=0]
//
// Each connection is one thread with one reused libcurl handle (so one
// keep-alive TCP connection), posting pre-built bodies of --batch records
// back to back. The bodies are built before the clock starts: JSON arrays
// by joining lines, protobuf Batches by converting each line once through
// the proto3 JSON mapping. The run ends after --duration seconds or after
// --repeat passes over the file, whichever comes first.
#include <curl/curl.h>
#include <gflags/gflags.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench/example_stream.h"

DEFINE_string(host, "127.0.0.1", "Address of the exporter.");
DEFINE_int32(port, 0, "Port of the exporter (required).");
DEFINE_string(path, "/api/v1/records", "Ingest endpoint.");
DEFINE_string(input, "", "NDJSON file of records to replay (required).");
DEFINE_uint64(max_lines, 0, "Use only the first N lines of --input (0: all).");
DEFINE_int32(connections, 1, "Keep-alive connections, one thread each.");
DEFINE_uint64(batch, 100, "Records per POST.");
DEFINE_string(format, "ndjson",
              "Body format: ndjson (application/x-ndjson), json (an array, "
              "application/json) or protobuf (a serialized "
              "ml_exporter.v1.Batch, application/x-protobuf).");
DEFINE_double(duration, 10,
              "Stop sending after this many seconds (0: no time limit; then "
              "--repeat must be set).");
DEFINE_uint64(repeat, 0,
              "Stop after this many passes over the file (0: until "
              "--duration).");
DEFINE_int32(timeout_seconds, 60, "Give up on one request after this long.");

namespace {

using Clock = std::chrono::steady_clock;

struct Body {
  std::string data;
  size_t records = 0;
};

// What one connection saw.
struct ConnectionStats {
  uint64_t requests = 0;
  uint64_t records_sent = 0;
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  uint64_t non_200 = 0;
  uint64_t transport_errors = 0;
  uint64_t new_connections = 0;
  uint64_t bytes_sent = 0;
  std::vector<double> latencies;  // seconds, one per completed request
  std::string first_problem;
  Clock::time_point last_done;
};

size_t AppendReply(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// The value of "key":N in a reply, or 0.
uint64_t ReplyNumber(const std::string& reply, const char* key) {
  const std::string needle = std::string("\"") + key + "\":";
  const size_t at = reply.find(needle);
  if (at == std::string::npos) return 0;
  return std::strtoull(reply.c_str() + at + needle.size(), nullptr, 10);
}

bool BuildBodies(const std::vector<std::string>& lines,
                 std::vector<Body>* bodies, std::string* content_type,
                 std::string* error) {
  std::vector<ml_exporter::v1::Record> protos;
  if (FLAGS_format == "ndjson") {
    *content_type = "application/x-ndjson";
  } else if (FLAGS_format == "json") {
    *content_type = "application/json";
  } else if (FLAGS_format == "protobuf") {
    *content_type = "application/x-protobuf";
    protos.resize(lines.size());
    for (size_t i = 0; i < lines.size(); ++i) {
      std::string why;
      if (!ml_exporter_bench::JsonLineToRecord(lines[i], &protos[i], &why)) {
        *error = FLAGS_input + ":" + std::to_string(i + 1) +
                 ": not a Record in the proto3 JSON mapping: " + why;
        return false;
      }
    }
  } else {
    *error =
        "--format: \"" + FLAGS_format + "\" is not ndjson, json or protobuf";
    return false;
  }
  for (size_t begin = 0; begin < lines.size(); begin += FLAGS_batch) {
    const size_t end = std::min(lines.size(), begin + FLAGS_batch);
    Body body;
    body.records = end - begin;
    if (FLAGS_format == "ndjson") {
      body.data = ml_exporter_bench::NdjsonBody(lines, begin, end);
    } else if (FLAGS_format == "json") {
      body.data = ml_exporter_bench::JsonArrayBody(lines, begin, end);
    } else {
      body.data = ml_exporter_bench::ProtobufBody(protos, begin, end);
    }
    bodies->push_back(std::move(body));
  }
  return true;
}

// Posts bodies[next++ % size] until the deadline or the last body of the
// last pass.
void RunConnection(const std::string& url, const std::string& content_type,
                   const std::vector<Body>& bodies, uint64_t total_bodies,
                   Clock::time_point deadline, std::atomic<uint64_t>* next,
                   ConnectionStats* stats) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    stats->transport_errors++;
    stats->first_problem = "curl_easy_init failed";
    return;
  }
  std::string reply;
  const std::string type_header = "Content-Type: " + content_type;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, type_header.c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue wait
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendReply);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT,
                   static_cast<long>(FLAGS_timeout_seconds));
  const bool timed = FLAGS_duration > 0;
  for (;;) {
    if (timed && Clock::now() >= deadline) break;
    const uint64_t i = next->fetch_add(1, std::memory_order_relaxed);
    if (total_bodies != 0 && i >= total_bodies) break;
    const Body& body = bodies[i % bodies.size()];
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(body.data.size()));
    reply.clear();
    const Clock::time_point start = Clock::now();
    const CURLcode rc = curl_easy_perform(curl);
    const Clock::time_point done = Clock::now();
    stats->last_done = done;
    stats->requests++;
    stats->records_sent += body.records;
    stats->bytes_sent += body.data.size();
    if (rc != CURLE_OK) {
      stats->transport_errors++;
      if (stats->first_problem.empty()) {
        stats->first_problem = curl_easy_strerror(rc);
      }
      continue;
    }
    stats->latencies.push_back(
        std::chrono::duration<double>(done - start).count());
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    long connects = 0;
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
    stats->new_connections += static_cast<uint64_t>(connects);
    if (code != 200) {
      stats->non_200++;
      if (stats->first_problem.empty()) {
        stats->first_problem =
            "HTTP " + std::to_string(code) + ": " + reply.substr(0, 300);
      }
    }
    stats->accepted += ReplyNumber(reply, "accepted");
    stats->rejected += ReplyNumber(reply, "rejected");
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t rank =
      static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "replays an NDJSON record file against ml_exporter over HTTP.\n"
      "  load_driver --port=PORT --input=FILE [--connections=N] [--batch=B]\n"
      "              [--format=ndjson|json|protobuf] [--duration=S] "
      "[--repeat=N]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (FLAGS_port <= 0 || FLAGS_port > 65535) {
    std::fprintf(stderr, "load_driver: --port is required (1..65535)\n");
    return 2;
  }
  if (FLAGS_input.empty()) {
    std::fprintf(stderr, "load_driver: --input is required\n");
    return 2;
  }
  if (FLAGS_connections < 1 || FLAGS_batch < 1) {
    std::fprintf(stderr,
                 "load_driver: --connections and --batch must be >= 1\n");
    return 2;
  }
  if (!(FLAGS_duration > 0) && FLAGS_repeat == 0) {
    std::fprintf(stderr,
                 "load_driver: set --duration > 0 or --repeat > 0 so the run "
                 "ends\n");
    return 2;
  }

  std::vector<std::string> lines;
  std::string error;
  if (!ml_exporter_bench::ReadLines(FLAGS_input, FLAGS_max_lines, &lines,
                                    &error)) {
    std::fprintf(stderr, "load_driver: --input: %s\n", error.c_str());
    return 2;
  }
  if (lines.empty()) {
    std::fprintf(stderr, "load_driver: --input: %s has no records\n",
                 FLAGS_input.c_str());
    return 2;
  }
  std::vector<Body> bodies;
  std::string content_type;
  if (!BuildBodies(lines, &bodies, &content_type, &error)) {
    std::fprintf(stderr, "load_driver: %s\n", error.c_str());
    return 2;
  }

  curl_global_init(CURL_GLOBAL_DEFAULT);
  const std::string url =
      "http://" + FLAGS_host + ":" + std::to_string(FLAGS_port) + FLAGS_path;
  const uint64_t total_bodies = FLAGS_repeat * bodies.size();
  std::atomic<uint64_t> next{0};
  std::vector<ConnectionStats> stats(static_cast<size_t>(FLAGS_connections));
  std::vector<std::thread> threads;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline =
      start + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(FLAGS_duration));
  for (int c = 0; c < FLAGS_connections; ++c) {
    threads.emplace_back(RunConnection, std::cref(url), std::cref(content_type),
                         std::cref(bodies), total_bodies, deadline, &next,
                         &stats[static_cast<size_t>(c)]);
  }
  for (auto& t : threads) t.join();

  ConnectionStats sum;
  sum.last_done = start;
  std::vector<double> latencies;
  for (const ConnectionStats& s : stats) {
    sum.requests += s.requests;
    sum.records_sent += s.records_sent;
    sum.accepted += s.accepted;
    sum.rejected += s.rejected;
    sum.non_200 += s.non_200;
    sum.transport_errors += s.transport_errors;
    sum.new_connections += s.new_connections;
    sum.bytes_sent += s.bytes_sent;
    if (s.requests > 0) sum.last_done = std::max(sum.last_done, s.last_done);
    if (sum.first_problem.empty()) sum.first_problem = s.first_problem;
    latencies.insert(latencies.end(), s.latencies.begin(), s.latencies.end());
  }
  std::sort(latencies.begin(), latencies.end());
  const double elapsed =
      std::chrono::duration<double>(sum.last_done - start).count();
  const double per_second = elapsed > 0 ? 1 / elapsed : 0;
  const auto ms = [&](double p) { return 1000 * Percentile(latencies, p); };

  std::printf(
      "target            %s (%s, %llu records/request, %d connections)\n",
      url.c_str(), content_type.c_str(),
      static_cast<unsigned long long>(FLAGS_batch), FLAGS_connections);
  std::printf("elapsed_seconds   %.3f\n", elapsed);
  std::printf("requests          %llu (%.1f/s)\n",
              static_cast<unsigned long long>(sum.requests),
              static_cast<double>(sum.requests) * per_second);
  std::printf("records_sent      %llu\n",
              static_cast<unsigned long long>(sum.records_sent));
  std::printf("records_accepted  %llu (%.0f/s)\n",
              static_cast<unsigned long long>(sum.accepted),
              static_cast<double>(sum.accepted) * per_second);
  std::printf("records_rejected  %llu\n",
              static_cast<unsigned long long>(sum.rejected));
  std::printf("request_bytes     %.1f MB/s\n",
              static_cast<double>(sum.bytes_sent) * per_second / 1e6);
  std::printf("latency_ms        p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
              ms(0.5), ms(0.9), ms(0.99),
              latencies.empty() ? 0.0 : 1000 * latencies.back());
  std::printf("non_200           %llu\n",
              static_cast<unsigned long long>(sum.non_200));
  std::printf("transport_errors  %llu\n",
              static_cast<unsigned long long>(sum.transport_errors));
  std::printf("tcp_connects      %llu\n",
              static_cast<unsigned long long>(sum.new_connections));
  if (!sum.first_problem.empty()) {
    std::printf("first_problem     %s\n", sum.first_problem.c_str());
  }
  // One line for scripts.
  std::printf(
      "RESULT connections=%d batch=%llu format=%s records_per_second=%.0f "
      "requests_per_second=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
      "max_ms=%.3f non_200=%llu transport_errors=%llu accepted=%llu\n",
      FLAGS_connections, static_cast<unsigned long long>(FLAGS_batch),
      FLAGS_format.c_str(), static_cast<double>(sum.accepted) * per_second,
      static_cast<double>(sum.requests) * per_second, ms(0.5), ms(0.9),
      ms(0.99), latencies.empty() ? 0.0 : 1000 * latencies.back(),
      static_cast<unsigned long long>(sum.non_200),
      static_cast<unsigned long long>(sum.transport_errors),
      static_cast<unsigned long long>(sum.accepted));
  curl_global_cleanup();
  return sum.transport_errors > 0 || sum.non_200 > 0 ? 1 : 0;
}
