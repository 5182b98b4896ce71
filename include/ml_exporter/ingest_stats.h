// IngestStats: counts of accepted and rejected records and events by input
// source and rejection reason. Both label sets are closed enums, so the
// self-metrics they feed have bounded cardinality.
#ifndef ML_EXPORTER_INGEST_STATS_H_
#define ML_EXPORTER_INGEST_STATS_H_

#include <atomic>
#include <cstdint>
#include <string_view>

namespace ml_exporter {

enum class IngestSource : uint8_t { kHttp, kFile, kStdin, kLibrary, kCount };

enum class RejectReason : uint8_t {
  kInvalidJson,       // the text is not JSON
  kInvalidProtobuf,   // the bytes are not a Batch
  kNotAnObject,       // a record or event is not a JSON object
  kMissingField,      // a required field (model, event type) is absent
  kWrongType,         // a known field has the wrong JSON type
  kUnsupportedValue,  // a value is a nested object, list of lists, ...
  kInvalidValue,      // right type, wrong value (bad time, negative latency)
  kBodyTooLarge,      // the HTTP body or NDJSON line exceeds the limit
  kCount
};

std::string_view SourceName(IngestSource source);
std::string_view ReasonName(RejectReason reason);

class IngestStats {
 public:
  // Records; events are counted by AddAcceptedEvents.
  void AddAccepted(IngestSource source, uint64_t n) {
    accepted_[Index(source)].fetch_add(n, std::memory_order_relaxed);
  }
  void AddRejected(IngestSource source, RejectReason reason, uint64_t n) {
    rejected_[Index(source)][static_cast<size_t>(reason)].fetch_add(
        n, std::memory_order_relaxed);
  }
  void AddAcceptedEvents(IngestSource source, uint64_t n) {
    accepted_events_[Index(source)].fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t accepted_events(IngestSource source) const {
    return accepted_events_[Index(source)].load(std::memory_order_relaxed);
  }
  uint64_t accepted(IngestSource source) const {
    return accepted_[Index(source)].load(std::memory_order_relaxed);
  }
  uint64_t rejected(IngestSource source, RejectReason reason) const {
    return rejected_[Index(source)][static_cast<size_t>(reason)].load(
        std::memory_order_relaxed);
  }

 private:
  static size_t Index(IngestSource s) { return static_cast<size_t>(s); }
  static constexpr size_t kSources = static_cast<size_t>(IngestSource::kCount);
  static constexpr size_t kReasons = static_cast<size_t>(RejectReason::kCount);

  std::atomic<uint64_t> accepted_[kSources] = {};
  std::atomic<uint64_t> accepted_events_[kSources] = {};
  std::atomic<uint64_t> rejected_[kSources][kReasons] = {};
};

}  // namespace ml_exporter

#endif  // ML_EXPORTER_INGEST_STATS_H_
