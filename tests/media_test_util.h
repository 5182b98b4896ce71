// Test helpers for the media collectors: base64 encoding and WAV writing.
#ifndef ML_EXPORTER_TESTS_MEDIA_TEST_UTIL_H_
#define ML_EXPORTER_TESTS_MEDIA_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ml_exporter::testing {

// RFC 4648 base64, standard or URL-safe alphabet, with or without padding.
inline std::string Base64(std::string_view bytes, bool url_safe = false,
                          bool pad = true) {
  const char* alphabet =
      url_safe
          ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
          : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto byte = [&](size_t i) -> uint32_t {
    return static_cast<uint8_t>(bytes[i]);
  };
  std::string out;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (int k = 3; k >= 0; --k) out += alphabet[(v >> (6 * k)) & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    const uint32_t v = (byte(i) << 16) | (rest == 2 ? byte(i + 1) << 8 : 0);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (rest == 2) out += alphabet[(v >> 6) & 63];
    if (pad) out += rest == 1 ? "==" : "=";
  }
  return out;
}

// A canonical 16-bit PCM WAV file.
inline std::string Pcm16Wav(const std::vector<int16_t>& samples, uint32_t rate,
                            uint16_t channels) {
  auto put16 = [](std::string* s, uint16_t v) {
    s->push_back(static_cast<char>(v & 0xFF));
    s->push_back(static_cast<char>(v >> 8));
  };
  auto put32 = [](std::string* s, uint32_t v) {
    for (int k = 0; k < 4; ++k) s->push_back(static_cast<char>(v >> (8 * k)));
  };
  const auto data_size = static_cast<uint32_t>(2 * samples.size());
  std::string s = "RIFF";
  put32(&s, 36 + data_size);
  s += "WAVEfmt ";
  put32(&s, 16);
  put16(&s, 1);
  put16(&s, channels);
  put32(&s, rate);
  put32(&s, rate * 2u * channels);
  put16(&s, static_cast<uint16_t>(2 * channels));
  put16(&s, 16);
  s += "data";
  put32(&s, data_size);
  for (int16_t v : samples) put16(&s, static_cast<uint16_t>(v));
  return s;
}

}  // namespace ml_exporter::testing

#endif  // ML_EXPORTER_TESTS_MEDIA_TEST_UTIL_H_
