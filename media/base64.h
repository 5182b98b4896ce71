// Base64 decoding for media blobs as they arrive in JSON records.
//
// Senders differ: standard (RFC 4648 section 4, `+/`) and URL-safe
// (section 5, `-_`) alphabets, with or without `=` padding, wrapped at 76
// columns (MIME), or as a data URL (`data:audio/wav;base64,...`). All of
// these decode; anything else is refused rather than guessed at.
#ifndef ML_EXPORTER_MEDIA_BASE64_H_
#define ML_EXPORTER_MEDIA_BASE64_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ml_exporter::media {

// Decodes `text` into `scratch` and points `out` at the decoded bytes
// (inside `scratch`). `scratch` only grows, so a buffer reused per thread
// stops allocating once warm. ASCII whitespace is skipped anywhere; a
// leading `data:<type>;base64,` is skipped. Returns false for any other
// character outside both alphabets, data after padding, more than two `=`,
// or a dangling single character (leaving `out` unspecified).
bool DecodeBase64(std::string_view text, std::string* scratch,
                  std::string_view* out);

// Decodes at most `max_bytes` bytes from the start of `text` into `out`
// (same rules), for recognising a format by its first bytes without
// decoding the whole blob. Returns how many bytes were decoded; fewer than
// `max_bytes` when the text is shorter or invalid there.
size_t DecodeBase64Prefix(std::string_view text, uint8_t* out,
                          size_t max_bytes);

}  // namespace ml_exporter::media

#endif  // ML_EXPORTER_MEDIA_BASE64_H_
