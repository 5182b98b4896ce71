// Fuzz target: A serialized ml_exporter.v1.Batch through the
// decoders and every built-in collector, then a scrape. Whatever the bytes,
// ingest must not crash, and accepted plus rejected must account for every
// record or event reported.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ml_exporter/ingest.h"
#include "tests/fuzz/fuzz_pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto pipeline = ml_exporter::fuzz::NewFuzzPipeline();
  ml_exporter::Ingestor ingestor(pipeline.get(),
                                 ml_exporter::IngestSource::kHttp);
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  // Twice: the second pass finds the series, sessions and requests the
  // first one created.
  for (int pass = 0; pass < 2; ++pass) {
    const ml_exporter::IngestResult result = ingestor.IngestProtobuf(body);
    if (result.errors.size() > result.rejected ||
        result.errors.size() > ml_exporter::IngestResult::kMaxErrors) {
      std::abort();
    }
    if (!result.body_status.ok() && result.accepted != 0) std::abort();
    ml_exporter::IngestResultToJson(result);
  }
  ml_exporter::fuzz::Scrape(*pipeline);
  return 0;
}
