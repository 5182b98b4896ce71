// The record scanner for CPUs with AVX-512: it first indexes a record's
// structure 64 bytes at a time (the positions of its punctuation, of both
// quotes of every string and of the first byte of every other value, as
// simdjson's first stage does), then walks that index with the record
// grammar of json_member_grammar.h. Numbers are converted without a loop
// over their digits: their extent is known from the index.
//
// Same contract as ScanJsonRecord (json_record_scanner.h), of which it is
// the fast path: it accepts a subset of what the byte scanner accepts and
// decodes it identically. It also declines texts over kMaxTokenScanText
// bytes and any text with a backslash or a non-ASCII byte anywhere.
#ifndef ML_EXPORTER_EXPORTER_JSON_TOKEN_SCANNER_H_
#define ML_EXPORTER_EXPORTER_JSON_TOKEN_SCANNER_H_

#include <cstddef>
#include <string_view>

#include "ml_exporter/record.h"

namespace ml_exporter::internal {

// Longer records (large blobs, long lists) go to the byte scanner: the
// index lives on the stack, two bytes a position.
inline constexpr size_t kMaxTokenScanText = 8192;

// True when this CPU has what the token scanner is compiled for: AVX-512
// F, BW, VL and VBMI2, BMI2, PCLMULQDQ and POPCNT. Decided once a process.
bool JsonTokenScannerAvailable();

// True when the token scanner accepts `text`, with `*record` filled as
// ScanJsonRecord would fill it; false when it declines (`*record` is then
// unspecified). Only to be called when JsonTokenScannerAvailable().
bool ScanJsonRecordByTokens(std::string_view text, Record* record);

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_EXPORTER_JSON_TOKEN_SCANNER_H_
