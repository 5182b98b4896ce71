// Locating JSON syntax errors for messages. simdjson says that a document is
// invalid but not where; this scanner, run only on the failure path, finds
// the first offending byte and says what was expected there.
#ifndef ML_EXPORTER_EXPORTER_JSON_SYNTAX_H_
#define ML_EXPORTER_EXPORTER_JSON_SYNTAX_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace ml_exporter::internal {

struct JsonSyntaxError {
  size_t offset = 0;     // byte offset of the first offending byte
  std::string expected;  // e.g. "',' or '}' after an object member"
};

// False when `text` is one valid JSON value (surrounding white space
// allowed); true and `*error` filled otherwise. Nesting deeper than
// `max_depth` is an error too.
bool FindJsonSyntaxError(std::string_view text, JsonSyntaxError* error,
                         size_t max_depth = 1024);

// "line L, column C (byte B): expected X, found 'c'" for an error in text.
std::string DescribeJsonSyntaxError(std::string_view text,
                                    const JsonSyntaxError& error);

// Unix seconds from an RFC 3339 time ("2026-11-28T10:00:00Z",
// "2026-11-28T10:00:00.25+01:00"); false if `text` is not one.
bool ParseRfc3339(std::string_view text, double* unix_seconds);

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_EXPORTER_JSON_SYNTAX_H_
