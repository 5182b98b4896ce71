// HttpSink: POSTs simulated lines to one or more ml_exporter replicas, in
// NDJSON batches, as a load balancer with sticky routing would spread them:
// every line with the same route (session or request id) goes to the same
// replica, so events meet the records they refer to.
#ifndef ML_EXPORTER_MLTOOL_SIMULATE_HTTP_SINK_H_
#define ML_EXPORTER_MLTOOL_SIMULATE_HTTP_SINK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ml_exporter/status.h"

namespace ml_exporter::simulate {

class HttpSink {
 public:
  struct Stats {
    uint64_t posts = 0;         // requests that got an HTTP 200 reply
    uint64_t failed_posts = 0;  // no connection, timeout or not 200
    uint64_t lines = 0;         // lines in the bodies of successful posts
    uint64_t accepted = 0;      // "accepted" of the replies
    uint64_t rejected = 0;      // "rejected" of the replies
    std::string last_error;
  };

  // `base_urls`: exporter addresses like http://127.0.0.1:9710 (the path
  // /api/v1/records is appended). `batch_lines`: lines per POST.
  static Status Create(const std::vector<std::string>& base_urls,
                       size_t batch_lines, std::unique_ptr<HttpSink>* sink);
  ~HttpSink();

  // Queues a line for the replica of `route`; POSTs that replica's batch
  // when it is full.
  void Add(const std::string& line, const std::string& route);
  // POSTs every batch that is not empty.
  void FlushAll();

  const Stats& stats() const { return stats_; }
  size_t replicas() const { return targets_.size(); }

 private:
  struct Target;
  HttpSink() = default;
  void Post(Target* target);

  std::vector<std::unique_ptr<Target>> targets_;
  size_t batch_lines_ = 50;
  Stats stats_;
};

}  // namespace ml_exporter::simulate

#endif  // ML_EXPORTER_MLTOOL_SIMULATE_HTTP_SINK_H_
