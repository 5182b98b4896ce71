#include "media/blob_content.h"

#include "media/base64.h"

namespace ml_exporter::media {

MediaType SniffBytes(std::string_view b) {
  if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WAVE") {
    return MediaType::kWav;
  }
  if (b.size() >= 8 &&
      b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) {
    return MediaType::kPng;
  }
  if (b.size() >= 3 && b.substr(0, 3) == "\xFF\xD8\xFF") {
    return MediaType::kJpeg;
  }
  return MediaType::kUnknown;
}

MediaType SniffBlob(const Blob& blob) {
  if (!blob.base64) return SniffBytes(blob.data);
  uint8_t head[12];
  const size_t n = DecodeBase64Prefix(blob.data, head, sizeof head);
  return SniffBytes(std::string_view(reinterpret_cast<const char*>(head), n));
}

bool BlobBytes(const Blob& blob, std::string* scratch, std::string_view* out) {
  if (!blob.base64) {
    *out = blob.data;
    return true;
  }
  return DecodeBase64(blob.data, scratch, out);
}

std::string* ThreadBlobScratch() {
  thread_local std::string scratch;
  return &scratch;
}

void TrimThreadBlobScratch() {
  constexpr size_t kKeep = 32u << 20;
  std::string* scratch = ThreadBlobScratch();
  if (scratch->capacity() > kKeep) std::string().swap(*scratch);
}

std::string_view DecodeErrorName(DecodeError error) {
  switch (error) {
    case DecodeError::kNotBase64:
      return "not_base64";
    case DecodeError::kNotWav:
      return "not_wav";
    case DecodeError::kUnsupportedWavFormat:
      return "unsupported_wav_format";
    case DecodeError::kTruncated:
      return "truncated";
    case DecodeError::kNotImage:
      return "not_image";
    case DecodeError::kImageTooLarge:
      return "image_too_large";
    case DecodeError::kDecodeFailed:
      return "decode_failed";
    case DecodeError::kCount:
      break;
  }
  return "unknown";
}

}  // namespace ml_exporter::media
