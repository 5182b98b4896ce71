// Fuzz target: the JSON syntax scanner that locates errors for messages
// (exporter/json_syntax.h), the RFC 3339 time parser, and PositionOf.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "exporter/json_syntax.h"
#include "ml_exporter/ingest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ml_exporter::internal::JsonSyntaxError error;
  if (ml_exporter::internal::FindJsonSyntaxError(text, &error,
                                                 /*max_depth=*/64)) {
    if (error.offset > text.size()) std::abort();
    ml_exporter::internal::DescribeJsonSyntaxError(text, error);
    const ml_exporter::TextPosition at =
        ml_exporter::PositionOf(text, error.offset);
    if (at.line == 0 || at.column == 0) std::abort();
  }
  double seconds = 0;
  if (ml_exporter::internal::ParseRfc3339(text, &seconds) &&
      !std::isfinite(seconds)) {
    std::abort();
  }
  return 0;
}
