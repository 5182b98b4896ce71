// The example prediction stream the benchmarks replay, and conversions of
// its lines to the other wire formats.
//
// The shape is that of /work/shared/bench-peers/gen_stream.py (the stream
// the peer programs are measured on): 16 numeric features f0..f15 with 5%
// null, categorical "country" and "device", a text "query", outputs
// label/score/transcript, about 450 bytes a record. Benchmarks can read that
// file instead when it is given.
#ifndef ML_EXPORTER_BENCH_EXAMPLE_STREAM_H_
#define ML_EXPORTER_BENCH_EXAMPLE_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ml_exporter.pb.h"

namespace ml_exporter_bench {

// `n` NDJSON record lines (without newlines), deterministic for a seed.
std::vector<std::string> GenerateExampleStream(size_t n, uint64_t seed = 7);

// `n` NDJSON record lines of one model ("wide") with `numeric_features`
// numeric inputs f0..f<numeric_features - 1> drawn as in the example stream
// (4 decimals, 5% null), a categorical input "country", a latency and
// outputs "label" (3 classes) and "score"; deterministic for a seed.
std::vector<std::string> GenerateWideStream(size_t n, int numeric_features,
                                            uint64_t seed = 7);

// The non-blank lines of an NDJSON file, at most `max_lines` of them (0: all).
// False with `*error` set when the file cannot be read.
bool ReadLines(const std::string& path, size_t max_lines,
               std::vector<std::string>* lines, std::string* error);

// One record line through the proto3 JSON mapping. False with `*error` set
// when the line is not a Record in that mapping.
bool JsonLineToRecord(std::string_view line, ml_exporter::v1::Record* record,
                      std::string* error);

// The bodies of one request each: lines [begin, end) as NDJSON, as a JSON
// array, or as a serialized Batch (of `records`, already converted).
std::string NdjsonBody(const std::vector<std::string>& lines, size_t begin,
                       size_t end);
std::string JsonArrayBody(const std::vector<std::string>& lines, size_t begin,
                          size_t end);
std::string ProtobufBody(const std::vector<ml_exporter::v1::Record>& records,
                         size_t begin, size_t end);

}  // namespace ml_exporter_bench

#endif  // ML_EXPORTER_BENCH_EXAMPLE_STREAM_H_
