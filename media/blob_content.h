// Recognising a blob's format by its first bytes, and getting at its bytes
// whether it arrived raw (protobuf, library) or as base64 text (JSON).
#ifndef ML_EXPORTER_MEDIA_BLOB_CONTENT_H_
#define ML_EXPORTER_MEDIA_BLOB_CONTENT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "ml_exporter/record.h"

namespace ml_exporter::media {

enum class MediaType : uint8_t {
  kUnknown,
  kWav,   // "RIFF" <size> "WAVE"
  kPng,   // 89 50 4E 47 0D 0A 1A 0A
  kJpeg,  // FF D8 FF
};

// The format `bytes` start with.
MediaType SniffBytes(std::string_view bytes);

// The format of the blob's content, decoding only the first few base64
// characters when the blob is base64: cheap enough to run on every blob.
MediaType SniffBlob(const Blob& blob);

// The blob's bytes: `blob.data` itself when raw, else decoded into
// `scratch` (see DecodeBase64). False when the base64 is invalid.
bool BlobBytes(const Blob& blob, std::string* scratch, std::string_view* out);

// A per-thread buffer for decoded blob bytes: reused, so decoding does not
// allocate once warm. Valid until the next call on this thread.
std::string* ThreadBlobScratch();
// Releases the buffer of this thread if one unusually large blob grew it
// past what is worth keeping.
void TrimThreadBlobScratch();
// Calls TrimThreadBlobScratch when it goes out of scope.
struct TrimBlobScratchOnExit {
  ~TrimBlobScratchOnExit() { TrimThreadBlobScratch(); }
};

// Why a blob could not be measured; exported as the `reason` label of
// ml_blob_decode_errors_total. A closed set: add reasons here only.
enum class DecodeError : uint8_t {
  kNotBase64,             // JSON blob text is not base64
  kNotWav,                // named as audio, but neither WAV nor raw PCM
  kUnsupportedWavFormat,  // WAV, but not 16-bit integer PCM, 1..8 channels
  kTruncated,             // header or data cut short
  kNotImage,              // named as image, but neither PNG nor JPEG
  kImageTooLarge,         // more pixels than max_pixels: not decoded
  kDecodeFailed,          // PNG or JPEG whose data the decoder refused
  kCount
};

std::string_view DecodeErrorName(DecodeError error);

inline constexpr const char* kDecodeErrorsHelp =
    "Blobs that could not be measured, by media (audio, image) and reason "
    "(not_base64, not_wav, unsupported_wav_format, truncated, not_image, "
    "image_too_large, decode_failed).";

}  // namespace ml_exporter::media

#endif  // ML_EXPORTER_MEDIA_BLOB_CONTENT_H_
