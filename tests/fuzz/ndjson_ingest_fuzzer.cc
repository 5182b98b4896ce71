// Fuzz target: NDJSON (one record or batch object per line) through the
// decoders and every built-in collector, then a scrape. Whatever the bytes,
// ingest must not crash, and accepted plus rejected must account for every
// record or event reported.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/fuzz_pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ml_exporter::fuzz::FuzzIngest(
      std::string_view(reinterpret_cast<const char*>(data), size),
      [](ml_exporter::Ingestor& ingestor, std::string_view body) {
        return ingestor.IngestNdjson(body);
      });
}
