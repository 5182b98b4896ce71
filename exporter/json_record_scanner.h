// A fast path for decoding one JSON record: a single pass over the text
// that writes straight into a Record, with no DOM and no copy.
//
// It handles the common shape of a record (plain strings, numbers, null,
// booleans, flat lists) and declines everything else: escapes and non-ASCII
// bytes in strings, numbers it cannot convert exactly as simdjson does,
// wrapper objects, nesting deeper than a list, and every error. A declined
// text goes through the simdjson DOM decoder (record_decoder.h), which then
// accepts it or reports the error with its position. So behaviour is that
// of the DOM decoder; the scanner only makes the common case cheap.
#ifndef ML_EXPORTER_EXPORTER_JSON_RECORD_SCANNER_H_
#define ML_EXPORTER_EXPORTER_JSON_RECORD_SCANNER_H_

#include <string_view>

#include "ml_exporter/record.h"

namespace ml_exporter::internal {

// True when `text` is one JSON object (surrounded by optional white space)
// that the simdjson DOM parser accepts and DecodeJsonRecord decodes without
// error, and `*record` is then what DecodeJsonRecord would fill, with
// strings pointing into `text`. False when the scanner does not handle
// `text`; `*record` is then unspecified. Never true for text that the DOM
// path would reject or decode differently.
// It tries the token scanner first where the CPU has one
// (json_token_scanner.h), then the byte scanner.
bool ScanJsonRecord(std::string_view text, Record* record);

// The byte scanner alone (the portable path), with the same contract.
bool ScanJsonRecordByBytes(std::string_view text, Record* record);

// True when the whole of `text` is one JSON number that the byte scanner
// converts, with the value in `*out`: converted exactly as simdjson
// converts it, or declined.
bool ScanJsonNumber(std::string_view text, double* out);

// Same for `text` that starts with the first byte of a JSON object inside
// a larger document: on success `*end` is the offset just past the
// object's closing brace.
bool ScanJsonRecordPrefix(std::string_view text, Record* record, size_t* end);

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_EXPORTER_JSON_RECORD_SCANNER_H_
