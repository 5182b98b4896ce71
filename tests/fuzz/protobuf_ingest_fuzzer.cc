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
#include "tests/differential_ingest.h"
#include "tests/fuzz/fuzz_pipeline.h"
#include "tests/record_text.h"

namespace ml_exporter::fuzz {
namespace {

using internal::DecodeError;

using testing::GeneratedIngest;
using testing::RenderEvent;
using testing::RenderIngestResult;
using testing::RenderRecord;
using testing::RenderRejection;
using testing::SortedMetrics;

// The scanner's rendering of item `i` given its rejections.
template <typename Item, typename Render>
std::string Scanned(const std::vector<internal::ScannedRejection>& rejections,
                    size_t* next, size_t i, const Item& item, Render render) {
  if (*next < rejections.size() && rejections[*next].position == i) {
    return RenderRejection(rejections[(*next)++].error);
  }
  return render(item);
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
  Check(RenderIngestResult(ingestor.IngestProtobuf(body)) ==
            RenderIngestResult(GeneratedIngest(generated_pipeline.get(), body)),
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
