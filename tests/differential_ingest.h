// The reference side of the protobuf scanner's differential tests (unit
// test and fuzzer): IngestProtobuf as it was before the scanner, and the
// outcome of an ingest as comparable text.
#ifndef ML_EXPORTER_TESTS_DIFFERENTIAL_INGEST_H_
#define ML_EXPORTER_TESTS_DIFFERENTIAL_INGEST_H_

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/record_decoder.h"
#include "ml_exporter.pb.h"
#include "ml_exporter/ingest.h"
#include "ml_exporter/pipeline.h"

namespace ml_exporter::testing {

// The generated parser, then DecodeProtoRecord / DecodeProtoEvent on each
// record and event, observed into `pipeline` and counted in its ingest
// stats as HTTP ingest: what Ingestor::IngestProtobuf did before it had a
// scanner.
inline IngestResult GeneratedIngest(Pipeline* pipeline, std::string_view body) {
  IngestResult result;
  IngestStats& stats = pipeline->ingest_stats();
  const IngestSource source = IngestSource::kHttp;
  v1::Batch batch;
  if (!batch.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    result.body_status = Status::InvalidArgument(
        "body is not a valid serialized ml_exporter.v1.Batch (" +
        std::to_string(body.size()) + " bytes)");
    stats.AddRejected(source, RejectReason::kInvalidProtobuf, 1);
    return result;
  }
  size_t index = 0;
  const auto reject = [&](RejectReason reason, const std::string& message) {
    stats.AddRejected(source, reason, 1);
    ++result.rejected;
    if (result.errors.size() < IngestResult::kMaxErrors) {
      result.errors.push_back({index, 0, reason, message});
    }
  };
  Record record;
  for (const v1::Record& r : batch.records()) {
    internal::DecodeError error;
    if (!internal::DecodeProtoRecord(r, &record, &error)) {
      reject(error.reason, error.message);
    } else if (Status s = pipeline->Observe(record); !s.ok()) {
      reject(RejectReason::kInvalidValue, s.message());
    } else {
      ++result.accepted;
      stats.AddAccepted(source, 1);
    }
    ++index;
  }
  Event event;
  for (const v1::Event& e : batch.events()) {
    internal::DecodeError error;
    if (!internal::DecodeProtoEvent(e, &event, &error)) {
      reject(error.reason, error.message);
    } else if (Status s = pipeline->ObserveEvent(event); !s.ok()) {
      reject(RejectReason::kInvalidValue, s.message());
    } else {
      ++result.accepted;
      stats.AddAcceptedEvents(source, 1);
    }
    ++index;
  }
  return result;
}

// Counts, body status and every reported error (index, line, reason,
// message).
inline std::string RenderIngestResult(const IngestResult& r) {
  std::string s = "accepted=" + std::to_string(r.accepted) +
                  " rejected=" + std::to_string(r.rejected) +
                  " body=" + r.body_status.ToString();
  for (const IngestError& e : r.errors) {
    s += "\n" + std::to_string(e.index) + " " + std::to_string(e.line) + " " +
         std::string(ReasonName(e.reason)) + ": " + e.message;
  }
  return s;
}

// Every metric except collector timings, as exposition text with its lines
// sorted: series are listed in the order they were first seen, and a
// record's fields may come in a protobuf Map's unspecified order.
inline std::string SortedMetrics(Pipeline& pipeline) {
  std::vector<prometheus::MetricFamily> families = pipeline.Collect();
  std::erase_if(families, [](const prometheus::MetricFamily& f) {
    return f.name.find("duration_seconds") != std::string::npos;
  });
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  std::vector<std::string> lines;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  std::string sorted;
  for (const std::string& line : lines) sorted += line + "\n";
  return sorted;
}

}  // namespace ml_exporter::testing

#endif  // ML_EXPORTER_TESTS_DIFFERENTIAL_INGEST_H_
