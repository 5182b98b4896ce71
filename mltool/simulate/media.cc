#include "mltool/simulate/media.h"

#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace ml_exporter::simulate {
namespace {

void Put16(std::string* s, uint16_t v) {
  s->push_back(static_cast<char>(v & 0xFF));
  s->push_back(static_cast<char>(v >> 8));
}

void Put32(std::string* s, uint32_t v) {
  for (int k = 0; k < 4; ++k) s->push_back(static_cast<char>(v >> (8 * k)));
}

}  // namespace

std::string MakeWav(Random* rng, double seconds, double gain, int sample_rate) {
  const size_t n = static_cast<size_t>(std::max(0.0, seconds) * sample_rate);
  // A fifth of the clips end in silence (the speaker stopped early).
  const size_t voiced =
      rng->Bernoulli(0.8) ? n : static_cast<size_t>(n * rng->Uniform(0.3, 0.9));
  const double f0 = rng->Uniform(110, 260);
  const double step = 2 * M_PI * f0 / sample_rate;
  const double wobble = 2 * M_PI * rng->Uniform(2, 5) / sample_rate;
  std::string data;
  data.reserve(2 * n);
  for (size_t k = 0; k < n; ++k) {
    double v = 0.004 * rng->Normal(0, 1);  // about -48 dBFS of noise
    if (k < voiced) {
      const double envelope = 0.75 + 0.25 * std::sin(wobble * k);
      v += gain * envelope *
           (0.7 * std::sin(step * k) + 0.2 * std::sin(2 * step * k) +
            0.1 * std::sin(3 * step * k));
    }
    v = std::clamp(v, -1.0, 1.0);
    Put16(&data, static_cast<uint16_t>(static_cast<int16_t>(v * 32767)));
  }
  std::string wav = "RIFF";
  Put32(&wav, static_cast<uint32_t>(36 + data.size()));
  wav += "WAVEfmt ";
  Put32(&wav, 16);
  Put16(&wav, 1);  // PCM
  Put16(&wav, 1);  // mono
  Put32(&wav, static_cast<uint32_t>(sample_rate));
  Put32(&wav, static_cast<uint32_t>(sample_rate * 2));
  Put16(&wav, 2);
  Put16(&wav, 16);
  wav += "data";
  Put32(&wav, static_cast<uint32_t>(data.size()));
  wav += data;
  return wav;
}

std::string MakePng(Random* rng, double brightness, int width, int height) {
  std::vector<unsigned char> pixels(static_cast<size_t>(width) * height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double v =
          255 * (brightness + 0.25 * (static_cast<double>(x) / width - 0.5)) +
          rng->Normal(0, 12);
      pixels[static_cast<size_t>(y) * width + x] =
          static_cast<unsigned char>(std::clamp(v, 0.0, 255.0));
    }
  }
  std::string out;
  auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data),
                                               size);
  };
  if (stbi_write_png_to_func(append, &out, width, height, 1, pixels.data(),
                             width) == 0) {
    return {};
  }
  return out;
}

std::string Base64(std::string_view bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  auto byte = [&](size_t i) -> uint32_t {
    return static_cast<uint8_t>(bytes[i]);
  };
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (int k = 3; k >= 0; --k) out += kAlphabet[(v >> (6 * k)) & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    const uint32_t v = (byte(i) << 16) | (rest == 2 ? byte(i + 1) << 8 : 0);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace ml_exporter::simulate
