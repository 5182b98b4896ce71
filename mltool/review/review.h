// `mltool review`: reads a range of ml_exporter's series from a
// Prometheus-compatible API and finds what did not help over it: series that
// never moved, alerts that never fired, fired most of the time or flapped,
// stale reference profiles, overflowing caps, failing or slow collectors.
// See docs/review.md.
#ifndef ML_EXPORTER_MLTOOL_REVIEW_REVIEW_H_
#define ML_EXPORTER_MLTOOL_REVIEW_REVIEW_H_

#include <string>
#include <vector>

#include "config.pb.h"
#include "ml_exporter/status.h"
#include "mltool/review/findings.h"
#include "mltool/review/prometheus_client.h"
#include "mltool/review/selector.h"

namespace ml_exporter::mltool::review {

struct ReviewOptions {
  double start = 0, end = 0;  // Unix seconds
  double step = 60;           // of every range query
  Selector selector;
  std::string selector_text;
  // A gauge is flat when (max - min) / |mean| stays below this.
  double flat_level = 0.01;
  // Suggested thresholds fire on this share (percent) of the range.
  double top_percent = 5;
  // An alert "fires mostly" when firing on more than this share of the range.
  double firing_mostly_ratio = 0.5;
  // Flapping: at least this many firing episodes, median at most this long
  // (or one step, if longer).
  size_t flap_min_episodes = 3;
  double flap_max_median_seconds = 3600;
  // Never-fired needs the alert's metric on at least this many grid points.
  size_t min_samples = 10;
  // A collector whose scrape took longer than this at some point is slow.
  double slow_collector_seconds = 1.0;
  // Optional configuration: config lines refer to its entries and limits.
  const config::v1::Config* config = nullptr;
  std::string config_path;
  // Collectors on by default (listed in suggested collectors lists).
  std::vector<std::string> builtin_default_collectors;
};

// Fills `report`. Fails (with the API's error) when a query fails; finding
// nothing is not a failure.
Status RunReview(const PrometheusClient& client, const ReviewOptions& options,
                 Report* report);

}  // namespace ml_exporter::mltool::review

#endif  // ML_EXPORTER_MLTOOL_REVIEW_REVIEW_H_
