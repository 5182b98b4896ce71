// Fuzz target: base64 of JSON blobs (media/base64.h) and the format sniffing
// that decodes only a prefix (media/blob_content.h). The prefix decoder must
// agree with the full one on the bytes both produce.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "media/base64.h"
#include "media/blob_content.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string scratch;
  std::string_view decoded;
  const bool ok = ml_exporter::media::DecodeBase64(text, &scratch, &decoded);
  uint8_t prefix[16];
  const size_t n =
      ml_exporter::media::DecodeBase64Prefix(text, prefix, sizeof prefix);
  if (n > sizeof prefix) std::abort();
  if (ok) {
    if (decoded.size() > size) std::abort();
    if (n != std::min(decoded.size(), sizeof prefix) ||
        std::memcmp(prefix, decoded.data(), n) != 0) {
      std::abort();
    }
    ml_exporter::media::SniffBytes(decoded);
  }
  ml_exporter::Blob blob;
  blob.name = "audio";
  blob.data = text;
  blob.base64 = true;
  const ml_exporter::media::MediaType type =
      ml_exporter::media::SniffBlob(blob);
  if (ok && type != ml_exporter::media::SniffBytes(decoded)) std::abort();
  std::string scratch2;
  std::string_view bytes;
  if (ml_exporter::media::BlobBytes(blob, &scratch2, &bytes) != ok) {
    std::abort();
  }
  return 0;
}
