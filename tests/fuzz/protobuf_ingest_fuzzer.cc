// Fuzz target: A serialized ml_exporter.v1.Batch through the
// decoders and every built-in collector, then a scrape. Whatever the bytes,
// ingest must not crash, and accepted plus rejected must account for every
// record or event reported.
//
// Differential too: when the protobuf record scanner takes the bytes, the
// generated parser must accept them and decode every record and event the
// same way (the same values, rejections, reasons and messages), and an
// Ingestor (which uses the scanner) must give the same IngestResult and
// metrics as the generated path alone.
#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/protobuf_record_scanner.h"
#include "exporter/record_decoder.h"
#include "ml_exporter.pb.h"
#include "tests/fuzz/fuzz_pipeline.h"
#include "tests/record_text.h"

namespace ml_exporter::fuzz {
namespace {

using internal::DecodeError;

using testing::RenderEvent;
using testing::RenderRecord;
using testing::RenderRejection;

// The scanner's rendering of item `i` given its rejections.
template <typename Item, typename Render>
std::string Scanned(const std::vector<internal::ScannedRejection>& rejections,
                    size_t* next, size_t i, const Item& item, Render render) {
  if (*next < rejections.size() && rejections[*next].position == i) {
    return RenderRejection(rejections[(*next)++].error);
  }
  return render(item);
}

// IngestProtobuf as it was before the scanner.
IngestResult GeneratedIngest(Pipeline* pipeline, const v1::Batch& batch) {
  IngestResult result;
  IngestStats& stats = pipeline->ingest_stats();
  const IngestSource source = IngestSource::kHttp;
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
    DecodeError error;
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
    DecodeError error;
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

std::string RenderResult(const IngestResult& r) {
  std::string s = std::to_string(r.accepted) + " " +
                  std::to_string(r.rejected) + " " + r.body_status.ToString();
  for (const IngestError& e : r.errors) {
    s += "\n" + std::to_string(e.index) + " " + std::to_string(e.line) + " " +
         std::string(ReasonName(e.reason)) + ": " + e.message;
  }
  return s;
}

// A pipeline whose caps are never reached, so that its metrics do not
// depend on the order of a record's fields.
std::unique_ptr<Pipeline> NewUncappedPipeline() {
  PipelineOptions options;
  options.collectors = {"software", "inputs", "outputs", "text"};
  options.max_features = 1 << 20;
  options.max_outputs = 1 << 20;
  options.max_label_values = 1 << 20;
  options.histogram_warmup_values = 4;
  std::unique_ptr<Pipeline> pipeline;
  if (!Pipeline::Create(options, &pipeline).ok()) std::abort();
  return pipeline;
}

// Every metric but timings, lines sorted: series come in first-seen order.
std::string SortedMetrics(Pipeline& pipeline) {
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

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "protobuf scanner differs from the generated path: %s\n",
               what);
  std::abort();
}

void CheckScannerAgrees(std::string_view body) {
  static auto* const scanned = new internal::ScannedProtobufBatch;
  if (!internal::ScanProtobufBatch(body, scanned)) return;
  v1::Batch batch;
  Check(batch.ParseFromArray(body.data(), static_cast<int>(body.size())),
        "the generated parser rejects a scanned body");
  Check(static_cast<size_t>(batch.records_size()) == scanned->record_count &&
            static_cast<size_t>(batch.events_size()) == scanned->event_count,
        "record or event count");
  size_t next = 0;
  Record record;
  for (size_t i = 0; i < scanned->record_count; ++i) {
    DecodeError error;
    const std::string expected =
        internal::DecodeProtoRecord(batch.records(static_cast<int>(i)), &record,
                                    &error)
            ? RenderRecord(record)
            : RenderRejection(error);
    Check(Scanned(scanned->record_rejections, &next, i, scanned->records[i],
                  RenderRecord) == expected,
          "a record");
  }
  Check(next == scanned->record_rejections.size(), "record rejections");
  next = 0;
  Event event;
  for (size_t i = 0; i < scanned->event_count; ++i) {
    DecodeError error;
    const std::string expected =
        internal::DecodeProtoEvent(batch.events(static_cast<int>(i)), &event,
                                   &error)
            ? RenderEvent(event)
            : RenderRejection(error);
    Check(Scanned(scanned->event_rejections, &next, i, scanned->events[i],
                  RenderEvent) == expected,
          "an event");
  }
  Check(next == scanned->event_rejections.size(), "event rejections");

  // The same through an Ingestor and a pipeline.
  auto scanner_pipeline = NewUncappedPipeline();
  auto generated_pipeline = NewUncappedPipeline();
  Ingestor ingestor(scanner_pipeline.get(), IngestSource::kHttp);
  Check(RenderResult(ingestor.IngestProtobuf(body)) ==
            RenderResult(GeneratedIngest(generated_pipeline.get(), batch)),
        "IngestResult");
  Check(SortedMetrics(*scanner_pipeline) == SortedMetrics(*generated_pipeline),
        "metrics");
}

}  // namespace
}  // namespace ml_exporter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The generated parser logs every invalid UTF-8 string it meets.
  google::protobuf::LogSilencer quiet;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  ml_exporter::fuzz::CheckScannerAgrees(body);
  return ml_exporter::fuzz::FuzzIngest(
      body, [](ml_exporter::Ingestor& ingestor, std::string_view body) {
        return ingestor.IngestProtobuf(body);
      });
}
