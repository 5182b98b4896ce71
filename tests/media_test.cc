// The media helpers (base64, WAV, audio levels, image exposure, text mix)
// on crafted inputs with known answers, and the audio, image and text
// collectors through a Pipeline.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "collectors/media_collectors.h"
#include "google/protobuf/struct.pb.h"
#include "media/audio_stats.h"
#include "media/base64.h"
#include "media/blob_content.h"
#include "media/image_stats.h"
#include "media/text_stats.h"
#include "media/wav.h"
#include "ml_exporter/pipeline.h"
#include "ml_exporter/record_builder.h"
#include "tests/media_test_util.h"
#include "tests/metric_test_util.h"

namespace ml_exporter {
namespace {

using media::DecodeError;
using media::MediaType;
using testing::Base64;
using testing::CounterValue;
using testing::CountFamilies;
using testing::Families;
using testing::FindFamily;
using testing::Histogram;
using testing::HistogramData;
using testing::Labels;
using testing::ModelSeries;

// --- test data -------------------------------------------------------------

void Put16(std::string* s, uint16_t v) {
  s->push_back(static_cast<char>(v & 0xFF));
  s->push_back(static_cast<char>(v >> 8));
}
void Put32(std::string* s, uint32_t v) {
  for (int k = 0; k < 4; ++k) s->push_back(static_cast<char>(v >> (8 * k)));
}

std::string Samples(const std::vector<int16_t>& samples) {
  std::string s;
  for (int16_t v : samples) Put16(&s, static_cast<uint16_t>(v));
  return s;
}

std::string FmtChunk(uint16_t tag, uint16_t channels, uint32_t rate,
                     uint16_t bits, uint16_t block_align = 0) {
  if (block_align == 0)
    block_align = static_cast<uint16_t>(channels * bits / 8);
  std::string c = "fmt ";
  Put32(&c, 16);
  Put16(&c, tag);
  Put16(&c, channels);
  Put32(&c, rate);
  Put32(&c, rate * block_align);
  Put16(&c, block_align);
  Put16(&c, bits);
  return c;
}

std::string Chunk(std::string_view id, std::string_view body,
                  int64_t size = -1) {
  std::string c(id);
  Put32(&c, size < 0 ? static_cast<uint32_t>(body.size())
                     : static_cast<uint32_t>(size));
  c += body;
  if (body.size() % 2 == 1) c.push_back('\0');
  return c;
}

std::string Riff(std::string_view chunks) {
  std::string s = "RIFF";
  Put32(&s, static_cast<uint32_t>(4 + chunks.size()));
  s += "WAVE";
  s += chunks;
  return s;
}

std::string Wav(const std::vector<int16_t>& samples, uint32_t rate = 16000,
                uint16_t channels = 1) {
  return Riff(FmtChunk(1, channels, rate, 16) +
              Chunk("data", Samples(samples)));
}

std::vector<int16_t> Sine(size_t n, double amplitude, double period = 40) {
  std::vector<int16_t> s(n);
  for (size_t i = 0; i < n; ++i) {
    s[i] = static_cast<int16_t>(
        std::lround(amplitude * std::sin(2 * M_PI * i / period)));
  }
  return s;
}

void AppendBytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data),
                                             size);
}

std::string Png(int w, int h, int comp, const std::vector<uint8_t>& pixels) {
  std::string out;
  EXPECT_NE(stbi_write_png_to_func(AppendBytes, &out, w, h, comp, pixels.data(),
                                   w * comp),
            0);
  return out;
}

std::string Jpeg(int w, int h, int comp, const std::vector<uint8_t>& pixels,
                 int quality = 95) {
  std::string out;
  EXPECT_NE(stbi_write_jpg_to_func(AppendBytes, &out, w, h, comp, pixels.data(),
                                   quality),
            0);
  return out;
}

// --- base64 ----------------------------------------------------------------

std::string Decode(std::string_view text, bool* ok) {
  std::string scratch;
  std::string_view out;
  *ok = media::DecodeBase64(text, &scratch, &out);
  return std::string(out);
}

TEST(Base64Test, StandardUrlSafeUnpaddedWrappedAndDataUrl) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (size_t len = 0; len <= bytes.size(); ++len) {
    const std::string b = bytes.substr(0, len);
    bool ok = false;
    EXPECT_EQ(Decode(Base64(b), &ok), b) << len;
    EXPECT_TRUE(ok) << len;
    EXPECT_EQ(Decode(Base64(b, true), &ok), b) << len;
    EXPECT_TRUE(ok) << len;
    EXPECT_EQ(Decode(Base64(b, true, false), &ok), b) << len;
    EXPECT_TRUE(ok) << len;
  }
  bool ok = false;
  // MIME line breaks, spaces anywhere.
  EXPECT_EQ(Decode("SGVs\r\nbG8g\n d29y bGQ=\n", &ok), "Hello world");
  EXPECT_TRUE(ok);
  EXPECT_EQ(Decode("data:audio/wav;base64,UklGRg==", &ok), "RIFF");
  EXPECT_TRUE(ok);
  EXPECT_EQ(Decode("", &ok), "");
  EXPECT_TRUE(ok);
}

TEST(Base64Test, RefusesWhatIsNotBase64) {
  bool ok = true;
  for (const char* bad : {"SGVsbG8!", "SGVsbG8=x", "SGVsbG8===", "S", "SGVsb",
                          "QQ=", "QUJD=", "=QUJD", "data:x,QUJD", "SGVs\x80"}) {
    Decode(bad, &ok);
    EXPECT_FALSE(ok) << bad;
  }
}

TEST(Base64Test, RandomTextNeverWritesPastItsBound) {
  const std::string chars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_= "
      "\n!\x80";
  std::mt19937 rng(3);
  std::string scratch;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::string text(rng() % 64, ' ');
    for (char& c : text) c = chars[rng() % chars.size()];
    scratch.clear();
    scratch.shrink_to_fit();
    std::string_view out;
    if (media::DecodeBase64(text, &scratch, &out)) {
      ASSERT_LE(out.size(), text.size() * 3 / 4 + 2);
      ASSERT_EQ(out.data(), scratch.data());
    }
    uint8_t head[12];
    ASSERT_LE(media::DecodeBase64Prefix(text, head, sizeof head), 12u);
  }
}

TEST(Base64Test, PrefixDecodesOnlyTheStart) {
  uint8_t head[12];
  const std::string text =
      Base64(std::string("RIFF\x24\0\0\0WAVEfmt more data here", 28));
  EXPECT_EQ(media::DecodeBase64Prefix(text, head, sizeof head), 12u);
  EXPECT_EQ(std::string_view(reinterpret_cast<char*>(head), 12),
            std::string_view("RIFF\x24\0\0\0WAVE", 12));
  // Short input: what there is; an invalid character stops it.
  EXPECT_EQ(media::DecodeBase64Prefix("UklG", head, sizeof head), 3u);
  EXPECT_EQ(media::DecodeBase64Prefix("UklGRg", head, sizeof head), 4u);
  EXPECT_EQ(media::DecodeBase64Prefix("UklG!!!!", head, sizeof head), 3u);
  EXPECT_EQ(media::DecodeBase64Prefix("", head, sizeof head), 0u);
}

TEST(BlobContentTest, SniffsByMagicBytesRawOrBase64) {
  const std::string wav = Wav({1, 2, 3});
  const std::string png = Png(1, 1, 1, {7});
  const std::string jpeg = Jpeg(8, 8, 1, std::vector<uint8_t>(64, 7));
  EXPECT_EQ(media::SniffBytes(wav), MediaType::kWav);
  EXPECT_EQ(media::SniffBytes(png), MediaType::kPng);
  EXPECT_EQ(media::SniffBytes(jpeg), MediaType::kJpeg);
  EXPECT_EQ(media::SniffBytes("RIFF\0\0\0\0AVI "), MediaType::kUnknown);
  EXPECT_EQ(media::SniffBytes("GIF89a"), MediaType::kUnknown);
  EXPECT_EQ(media::SniffBytes(""), MediaType::kUnknown);
  EXPECT_EQ(media::SniffBlob(Blob{"a", Base64(wav), true}), MediaType::kWav);
  EXPECT_EQ(media::SniffBlob(Blob{"a", Base64(png, true, false), true}),
            MediaType::kPng);
  EXPECT_EQ(media::SniffBlob(Blob{"a", Base64(jpeg), true}), MediaType::kJpeg);
  EXPECT_EQ(media::SniffBlob(Blob{"a", jpeg, false}), MediaType::kJpeg);
  EXPECT_EQ(media::SniffBlob(Blob{"a", "not base64 at all", true}),
            MediaType::kUnknown);
}

// --- WAV -------------------------------------------------------------------

bool Parse(std::string_view bytes, media::Pcm16* pcm, DecodeError* error) {
  *error = DecodeError::kCount;
  return media::ParseWav(bytes, pcm, error);
}

TEST(WavTest, ReadsMonoStereoExtensibleAndSkipsOtherChunks) {
  media::Pcm16 pcm;
  DecodeError error;
  // `pcm` points into the parsed bytes: keep them.
  const std::string mono = Wav({1, -2, 3}, 22050);
  ASSERT_TRUE(Parse(mono, &pcm, &error));
  EXPECT_EQ(pcm.sample_rate, 22050u);
  EXPECT_EQ(pcm.channels, 1);
  EXPECT_EQ(pcm.frames(), 3u);
  EXPECT_EQ(pcm.data, Samples({1, -2, 3}));

  ASSERT_TRUE(Parse(Wav({1, 2, 3, 4}, 44100, 2), &pcm, &error));
  EXPECT_EQ(pcm.channels, 2);
  EXPECT_EQ(pcm.frames(), 2u);

  // LIST before fmt, an odd-sized chunk (padded), data before fmt.
  const std::string odd = Chunk("LIST", "abc");
  const std::string reordered =
      Riff(odd + Chunk("data", Samples({5, 6})) + FmtChunk(1, 1, 8000, 16));
  ASSERT_TRUE(Parse(reordered, &pcm, &error));
  EXPECT_EQ(pcm.data, Samples({5, 6}));
  EXPECT_EQ(pcm.sample_rate, 8000u);

  // WAVE_FORMAT_EXTENSIBLE with the PCM subtype.
  std::string ext = "fmt ";
  Put32(&ext, 40);
  Put16(&ext, 0xFFFE);
  Put16(&ext, 2);
  Put32(&ext, 48000);
  Put32(&ext, 48000 * 4);
  Put16(&ext, 4);
  Put16(&ext, 16);
  Put16(&ext, 22);
  Put16(&ext, 16);
  Put32(&ext, 3);
  ext += std::string(
      "\x01\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38"
      "\x9B\x71",
      16);
  ASSERT_TRUE(
      Parse(Riff(ext + Chunk("data", Samples({1, 2, 3, 4}))), &pcm, &error));
  EXPECT_EQ(pcm.channels, 2);
  EXPECT_EQ(pcm.sample_rate, 48000u);
  // The same with the IEEE float subtype (3) is refused.
  ext[24 + 8] = 3;
  EXPECT_FALSE(Parse(Riff(ext + Chunk("data", Samples({1, 2}))), &pcm, &error));
  EXPECT_EQ(error, DecodeError::kUnsupportedWavFormat);

  // A trailing partial frame is dropped; an empty data chunk is 0 frames.
  ASSERT_TRUE(
      Parse(Riff(FmtChunk(1, 2, 16000, 16) + Chunk("data", Samples({1, 2, 3}))),
            &pcm, &error));
  EXPECT_EQ(pcm.frames(), 1u);
  EXPECT_EQ(pcm.data.size(), 4u);
  ASSERT_TRUE(Parse(Wav({}), &pcm, &error));
  EXPECT_EQ(pcm.frames(), 0u);
}

TEST(WavTest, StreamingPlaceholderSizesMeanToTheEnd) {
  media::Pcm16 pcm;
  DecodeError error;
  for (uint32_t placeholder : {0x7FFFF000u, 0xFFFFFFFFu}) {
    std::string data = "data";
    Put32(&data, placeholder);
    data += Samples({1, 2, 3, 4});
    ASSERT_TRUE(Parse(Riff(FmtChunk(1, 1, 22050, 16) + data), &pcm, &error));
    EXPECT_EQ(pcm.frames(), 4u) << placeholder;
  }
}

TEST(WavTest, RefusesOtherFormats) {
  media::Pcm16 pcm;
  DecodeError error;
  const std::string data = Chunk("data", Samples({1, 2}));
  struct Case {
    std::string fmt;
    const char* what;
  };
  std::string short_fmt = "fmt ";
  Put32(&short_fmt, 14);
  short_fmt += std::string(14, '\0');
  for (const Case& c :
       std::vector<Case>{{FmtChunk(1, 1, 16000, 8), "8-bit"},
                         {FmtChunk(1, 1, 16000, 24), "24-bit"},
                         {FmtChunk(3, 1, 16000, 32), "float"},
                         {FmtChunk(6, 1, 8000, 8), "a-law"},
                         {FmtChunk(1, 0, 16000, 16, 2), "no channels"},
                         {FmtChunk(1, 9, 16000, 16), "9 channels"},
                         {FmtChunk(1, 1, 0, 16), "rate 0"},
                         {FmtChunk(1, 2, 16000, 16, 2), "block align lies"},
                         {short_fmt, "fmt too short"}}) {
    EXPECT_FALSE(Parse(Riff(c.fmt + data), &pcm, &error)) << c.what;
    EXPECT_EQ(error, DecodeError::kUnsupportedWavFormat) << c.what;
  }
  for (std::string_view not_wav :
       {std::string_view("RIFX\0\0\0\0WAVE", 12),
        std::string_view("RIFF\0\0\0\0AVI ", 12), std::string_view("RIFF"),
        std::string_view("")}) {
    EXPECT_FALSE(Parse(not_wav, &pcm, &error));
    EXPECT_EQ(error, DecodeError::kNotWav);
  }
}

TEST(WavTest, TruncatedOrLyingHeadersAreReportedNotReadPast) {
  media::Pcm16 pcm;
  DecodeError error;
  const std::string wav = Wav(Sine(100, 1000));
  // Every cut of a valid file: nothing before the data is complete, then
  // the data chunk says more than there is.
  for (size_t len = 12; len < wav.size(); ++len) {
    // Copy to a buffer of exactly `len`, so reading past it is caught by
    // AddressSanitizer builds.
    std::unique_ptr<char[]> cut(new char[len]);
    std::memcpy(cut.get(), wav.data(), len);
    EXPECT_FALSE(Parse(std::string_view(cut.get(), len), &pcm, &error)) << len;
    EXPECT_EQ(error, DecodeError::kTruncated) << len;
  }
  // A chunk claiming more than there is (not the streaming placeholder).
  EXPECT_FALSE(
      Parse(Riff(Chunk("LIST", "abcd", 1000) + FmtChunk(1, 1, 16000, 16) +
                 Chunk("data", Samples({1}))),
            &pcm, &error));
  EXPECT_EQ(error, DecodeError::kTruncated);
  EXPECT_FALSE(Parse(Riff(FmtChunk(1, 1, 16000, 16) +
                          Chunk("data", Samples({1, 2}), 0x7FFFEFFF)),
                     &pcm, &error));
  EXPECT_EQ(error, DecodeError::kTruncated);
  // fmt but no data, data (to the end) but no fmt.
  EXPECT_FALSE(Parse(Riff(FmtChunk(1, 1, 16000, 16)), &pcm, &error));
  EXPECT_EQ(error, DecodeError::kTruncated);
  EXPECT_FALSE(Parse(Riff(Chunk("data", Samples({1, 2}))), &pcm, &error));
  EXPECT_EQ(error, DecodeError::kTruncated);
}

TEST(WavTest, RandomCorruptionNeverReadsOutOfBounds) {
  const std::string wav =
      Riff(Chunk("LIST", "abc") + FmtChunk(1, 2, 16000, 16) +
           Chunk("data", Samples(Sine(64, 5000))));
  std::mt19937 rng(42);
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::string bytes = wav;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      // Mostly in the headers, where sizes live.
      const size_t at = rng() % std::min<size_t>(bytes.size(), 64);
      bytes[at] = static_cast<char>(rng());
    }
    bytes.resize(rng() % (bytes.size() + 1));
    std::unique_ptr<char[]> buffer(new char[bytes.size() + 1]);
    std::memcpy(buffer.get(), bytes.data(), bytes.size());
    const std::string_view view(buffer.get(), bytes.size());
    media::Pcm16 pcm;
    DecodeError error;
    if (media::ParseWav(view, &pcm, &error)) {
      ASSERT_GE(pcm.data.data(), view.data());
      ASSERT_LE(pcm.data.data() + pcm.data.size(), view.data() + view.size());
      ASSERT_EQ(pcm.data.size() % (2u * pcm.channels), 0u);
      media::AnalyzePcm16(pcm, {});
    }
  }
}

// --- audio levels ----------------------------------------------------------

media::AudioStats Analyze(const std::vector<int16_t>& samples,
                          uint32_t rate = 16000, uint16_t channels = 1,
                          media::AudioStatsOptions options = {}) {
  const std::string bytes = Samples(samples);
  return media::AnalyzePcm16(media::RawPcm16(bytes, rate, channels), options);
}

TEST(AudioStatsTest, FullScaleSineIsMinus3Dbfs) {
  // 32767 is full scale for a positive sample; full scale is 32768.
  const auto s = Analyze(Sine(16000, 32767));
  EXPECT_EQ(s.frames, 16000u);
  EXPECT_DOUBLE_EQ(s.duration_seconds, 1.0);
  EXPECT_NEAR(s.rms_dbfs, 20 * std::log10(32767 / 32768.0 / std::sqrt(2)),
              1e-4);
  EXPECT_NEAR(s.rms_dbfs, -3.0106, 1e-3);
  EXPECT_NEAR(s.peak_dbfs, 20 * std::log10(32767 / 32768.0), 1e-9);
  EXPECT_NEAR(s.peak_dbfs, 0, 3e-4);
  // |sin| >= 0.99 of full scale: the sample at the crest and its
  // neighbours within 8.1 degrees; with 40 samples a period (9 degrees
  // apart) only the crests, 2 of 40.
  EXPECT_DOUBLE_EQ(s.clipped_ratio, 2.0 / 40);
  EXPECT_EQ(s.silence_ratio, 0);
}

TEST(AudioStatsTest, LevelsScaleWithGain) {
  const auto full = Analyze(Sine(16000, 32767));
  const auto quarter = Analyze(Sine(16000, 32767 / 4.0));
  // vol 0.25 is -12.04 dB, up to the rounding of the samples.
  EXPECT_NEAR(quarter.rms_dbfs - full.rms_dbfs, 20 * std::log10(0.25), 2e-3);
  EXPECT_NEAR(quarter.peak_dbfs - full.peak_dbfs, 20 * std::log10(0.25), 2e-3);
  EXPECT_EQ(quarter.clipped_ratio, 0);
  // Negative full scale throughout: 0 dBFS RMS and peak, all clipped.
  const auto sq = Analyze(std::vector<int16_t>(1000, -32768));
  EXPECT_DOUBLE_EQ(sq.rms_dbfs, 0);
  EXPECT_DOUBLE_EQ(sq.peak_dbfs, 0);
  EXPECT_DOUBLE_EQ(sq.clipped_ratio, 1);
}

TEST(AudioStatsTest, SilenceAndClipping) {
  // Digital silence: the floor, all of it silent.
  const auto zero = Analyze(std::vector<int16_t>(8000, 0));
  EXPECT_EQ(zero.rms_dbfs, media::kAudioFloorDbfs);
  EXPECT_EQ(zero.peak_dbfs, media::kAudioFloorDbfs);
  EXPECT_EQ(zero.silence_ratio, 1);

  // 0.5 s of tone then 0.3 s of silence then 0.2 s of tone, at 16 kHz with
  // 20 ms windows (320 frames): 15 of 50 windows silent.
  std::vector<int16_t> s = Sine(8000, 10000);
  s.resize(8000 + 4800, 0);
  const auto tail = Sine(3200, 10000);
  s.insert(s.end(), tail.begin(), tail.end());
  const auto mixed = Analyze(s);
  EXPECT_DOUBLE_EQ(mixed.silence_ratio, 0.3);
  EXPECT_DOUBLE_EQ(mixed.duration_seconds, 1.0);
  // A quiet hiss at -60 dBFS is silence under the default -50 threshold,
  // not under -70.
  const auto hiss = Analyze(Sine(16000, 32768 * std::sqrt(2) * 0.001));
  EXPECT_NEAR(hiss.rms_dbfs, -60, 0.05);
  EXPECT_EQ(hiss.silence_ratio, 1);
  media::AudioStatsOptions strict;
  strict.silence_dbfs = -70;
  EXPECT_EQ(Analyze(Sine(16000, 32768 * std::sqrt(2) * 0.001), 16000, 1, strict)
                .silence_ratio,
            0);
  // The last window may be shorter and weighs by its length: 330 frames is
  // one full window of tone and 10 frames of silence.
  std::vector<int16_t> short_tail = Sine(320, 10000);
  short_tail.resize(330, 0);
  EXPECT_DOUBLE_EQ(Analyze(short_tail).silence_ratio, 10.0 / 330);

  // A sine at twice full scale, clipped by the converter: 2/3 of a period
  // is beyond full scale.
  std::vector<int16_t> clipped(12000);
  size_t beyond = 0;
  for (size_t i = 0; i < clipped.size(); ++i) {
    const double v = 65536 * std::sin(2 * M_PI * (i + 0.5) / 120);
    clipped[i] = static_cast<int16_t>(std::clamp(v, -32768.0, 32767.0));
    beyond += std::abs(static_cast<int>(clipped[i])) >= 32441;  // 0.99 * 32768
  }
  const auto c = Analyze(clipped);
  EXPECT_DOUBLE_EQ(c.clipped_ratio, static_cast<double>(beyond) / 12000);
  EXPECT_NEAR(c.clipped_ratio, 2.0 / 3, 0.02);
}

TEST(AudioStatsTest, StereoCountsAllSamples) {
  // Left a full-scale sine, right silent: half the power, -3 dB lower.
  std::vector<int16_t> stereo;
  for (int16_t v : Sine(16000, 32767)) {
    stereo.push_back(v);
    stereo.push_back(0);
  }
  const auto s = Analyze(stereo, 16000, 2);
  EXPECT_EQ(s.frames, 16000u);
  EXPECT_DOUBLE_EQ(s.duration_seconds, 1.0);
  EXPECT_NEAR(s.rms_dbfs, -3.0106 - 3.0103, 1e-3);
  EXPECT_NEAR(s.peak_dbfs, 0, 3e-4);
}

// --- images ----------------------------------------------------------------

media::ImageStats AnalyzeImage(const std::string& bytes, bool* ok,
                               DecodeError* error,
                               media::ImageStatsOptions options = {}) {
  media::ImageStats stats;
  *ok = media::AnalyzeImage(bytes, options, &stats, error);
  return stats;
}

TEST(ImageStatsTest, GreyPngExactValues) {
  bool ok;
  DecodeError error;
  // Half black, half white: mean 127.5, standard deviation 127.5.
  std::vector<uint8_t> half(64 * 32, 0);
  half.resize(64 * 64, 255);
  auto s = AnalyzeImage(Png(64, 64, 1, half), &ok, &error);
  ASSERT_TRUE(ok);
  EXPECT_EQ(s.width, 64u);
  EXPECT_EQ(s.height, 64u);
  EXPECT_DOUBLE_EQ(s.brightness_ratio, 0.5);
  EXPECT_DOUBLE_EQ(s.contrast_ratio, 0.5);
  EXPECT_DOUBLE_EQ(s.overexposed_ratio, 0.5);
  EXPECT_DOUBLE_EQ(s.underexposed_ratio, 0.5);
  // A ramp 0..255 in a 256x3 image: thresholds 250 and 5 are inclusive.
  std::vector<uint8_t> ramp;
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 256; ++x) ramp.push_back(static_cast<uint8_t>(x));
  }
  s = AnalyzeImage(Png(256, 3, 1, ramp), &ok, &error);
  ASSERT_TRUE(ok);
  EXPECT_EQ(s.width, 256u);
  EXPECT_EQ(s.height, 3u);
  EXPECT_DOUBLE_EQ(s.brightness_ratio, 127.5 / 255);
  // Population standard deviation of 0..255: sqrt((256^2 - 1) / 12).
  EXPECT_NEAR(s.contrast_ratio, std::sqrt((256.0 * 256 - 1) / 12) / 255, 1e-12);
  EXPECT_DOUBLE_EQ(s.overexposed_ratio, 6.0 / 256);   // 250..255
  EXPECT_DOUBLE_EQ(s.underexposed_ratio, 6.0 / 256);  // 0..5
  media::ImageStatsOptions tight;
  tight.overexposed_level = 0.5;
  tight.underexposed_level = 0.1;
  s = AnalyzeImage(Png(256, 3, 1, ramp), &ok, &error, tight);
  EXPECT_DOUBLE_EQ(s.overexposed_ratio, 128.0 / 256);  // >= 127.5
  EXPECT_DOUBLE_EQ(s.underexposed_ratio, 26.0 / 256);  // <= 25.5
}

TEST(ImageStatsTest, ColourPngUsesBt601LumaAndIgnoresAlpha) {
  bool ok;
  DecodeError error;
  // Pure red, green, blue, white: luma 76, 150, 29, 255 (PIL's rounding).
  EXPECT_EQ(media::Luma601(255, 0, 0), 76);
  EXPECT_EQ(media::Luma601(0, 255, 0), 150);
  EXPECT_EQ(media::Luma601(0, 0, 255), 29);
  EXPECT_EQ(media::Luma601(255, 255, 255), 255);
  const std::vector<uint8_t> rgb = {255, 0, 0,   0,   255, 0,
                                    0,   0, 255, 255, 255, 255};
  auto s = AnalyzeImage(Png(2, 2, 3, rgb), &ok, &error);
  ASSERT_TRUE(ok);
  EXPECT_DOUBLE_EQ(s.brightness_ratio, (76 + 150 + 29 + 255) / 4.0 / 255);
  const std::vector<uint8_t> rgba = {255, 0, 0,   0,  0,   255, 0,   10,
                                     0,   0, 255, 99, 255, 255, 255, 0};
  s = AnalyzeImage(Png(2, 2, 4, rgba), &ok, &error);
  ASSERT_TRUE(ok);
  EXPECT_DOUBLE_EQ(s.brightness_ratio, (76 + 150 + 29 + 255) / 4.0 / 255);
  EXPECT_DOUBLE_EQ(s.overexposed_ratio, 0.25);
}

TEST(ImageStatsTest, JpegLumaWithinCompressionError) {
  bool ok;
  DecodeError error;
  // A flat grey JPEG decodes to its level exactly or within one step.
  auto s = AnalyzeImage(Jpeg(64, 48, 1, std::vector<uint8_t>(64 * 48, 100)),
                        &ok, &error);
  ASSERT_TRUE(ok);
  EXPECT_EQ(s.width, 64u);
  EXPECT_EQ(s.height, 48u);
  EXPECT_NEAR(s.brightness_ratio, 100.0 / 255, 1.0 / 255);
  EXPECT_NEAR(s.contrast_ratio, 0, 1.0 / 255);
  // Colour: a flat orange (luma 173 by BT.601) through YCbCr.
  std::vector<uint8_t> orange;
  for (int i = 0; i < 32 * 32; ++i) orange.insert(orange.end(), {255, 165, 0});
  s = AnalyzeImage(Jpeg(32, 32, 3, orange), &ok, &error);
  ASSERT_TRUE(ok);
  EXPECT_NEAR(s.brightness_ratio, media::Luma601(255, 165, 0) / 255.0,
              1.5 / 255);
}

TEST(ImageStatsTest, RefusesBombsTruncationAndNonImages) {
  bool ok;
  DecodeError error;
  const std::string png = Png(100, 80, 1, std::vector<uint8_t>(8000, 9));
  media::ImageStatsOptions small;
  small.max_pixels = 7999;
  AnalyzeImage(png, &ok, &error, small);
  EXPECT_FALSE(ok);
  EXPECT_EQ(error, DecodeError::kImageTooLarge);
  small.max_pixels = 8000;
  AnalyzeImage(png, &ok, &error, small);
  EXPECT_TRUE(ok);

  // A PNG header claiming 60000 x 60000 pixels in a few bytes: refused by
  // its header, nothing allocated.
  std::string bomb = png.substr(0, 33);
  bomb[16] = 0;
  bomb[17] = 0;
  bomb[18] = static_cast<char>(0xEA);
  bomb[19] = 0x60;
  bomb[20] = 0;
  bomb[21] = 0;
  bomb[22] = static_cast<char>(0xEA);
  bomb[23] = 0x60;
  AnalyzeImage(bomb, &ok, &error);
  EXPECT_FALSE(ok);
  // stb checks the header CRC only when decoding; either way not decoded.
  EXPECT_TRUE(error == DecodeError::kImageTooLarge ||
              error == DecodeError::kDecodeFailed);

  const std::string jpeg =
      Jpeg(64, 64, 3, std::vector<uint8_t>(64 * 64 * 3, 50));
  for (size_t cut : {size_t{3}, size_t{20}, size_t{200}, jpeg.size() / 2}) {
    if (cut >= jpeg.size()) continue;
    std::unique_ptr<char[]> buffer(new char[cut]);
    std::memcpy(buffer.get(), jpeg.data(), cut);
    media::ImageStats stats;
    const bool decoded = media::AnalyzeImage(
        std::string_view(buffer.get(), cut), {}, &stats, &error);
    // stb_image pads a cut JPEG's entropy data with zeros; a cut header
    // fails.
    if (!decoded) {
      EXPECT_EQ(error, DecodeError::kDecodeFailed) << cut;
    }
  }
  for (size_t cut : {size_t{8}, size_t{20}, size_t{40}, png.size() - 5}) {
    AnalyzeImage(png.substr(0, cut), &ok, &error);
    EXPECT_FALSE(ok) << cut;
    EXPECT_EQ(error, DecodeError::kDecodeFailed) << cut;
  }
  AnalyzeImage("\xFF\xD8\xFF garbage", &ok, &error);
  EXPECT_FALSE(ok);
  EXPECT_EQ(error, DecodeError::kDecodeFailed);
  AnalyzeImage("GIF89a....", &ok, &error);
  EXPECT_FALSE(ok);
  EXPECT_EQ(error, DecodeError::kNotImage);
  AnalyzeImage(Wav({1}), &ok, &error);
  EXPECT_FALSE(ok);
  EXPECT_EQ(error, DecodeError::kNotImage);
}

TEST(ImageStatsTest, RandomCorruptionIsRefusedOrMeasured) {
  std::vector<uint8_t> pixels(48 * 32 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i * 7);
  const std::string images[] = {Png(48, 32, 3, pixels),
                                Jpeg(48, 32, 3, pixels)};
  media::ImageStatsOptions options;
  options.max_pixels = 1 << 20;  // keeps corrupted sizes cheap
  std::mt19937 rng(7);
  for (int iteration = 0; iteration < 4000; ++iteration) {
    std::string bytes = images[iteration % 2];
    const int flips = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < flips; ++k) {
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    if (rng() % 4 == 0) bytes.resize(rng() % (bytes.size() + 1));
    media::ImageStats stats;
    DecodeError error = DecodeError::kCount;
    if (media::AnalyzeImage(bytes, options, &stats, &error)) {
      ASSERT_GT(stats.width, 0u);
      ASSERT_GE(stats.brightness_ratio, 0);
      ASSERT_LE(stats.brightness_ratio, 1);
      ASSERT_LE(stats.contrast_ratio, 0.5);
    } else {
      ASSERT_TRUE(error == DecodeError::kDecodeFailed ||
                  error == DecodeError::kImageTooLarge ||
                  error == DecodeError::kNotImage)
          << static_cast<int>(error);
    }
  }
}

// --- text ------------------------------------------------------------------

TEST(TextStatsTest, CharactersTokensAndMix) {
  auto s = media::AnalyzeText("weather in berlin", nullptr);
  EXPECT_EQ(s.characters, 17u);
  EXPECT_EQ(s.tokens, 3u);
  EXPECT_EQ(s.non_ascii, 0u);
  EXPECT_EQ(s.unknown, 0u);
  s = media::AnalyzeText("", nullptr);
  EXPECT_EQ(s.characters, 0u);
  EXPECT_EQ(s.tokens, 0u);
  s = media::AnalyzeText(" \t\r\n ", nullptr);
  EXPECT_EQ(s.characters, 5u);
  EXPECT_EQ(s.tokens, 0u);
  EXPECT_EQ(s.unknown, 0u);
  // Two-byte, three-byte and four-byte characters; no-break space and
  // ideographic space separate tokens.
  s = media::AnalyzeText("naïve\u00A0café\u3000東京 😀", nullptr);
  EXPECT_EQ(s.characters, 15u);
  EXPECT_EQ(s.tokens, 4u);
  EXPECT_EQ(s.non_ascii, 7u);
  EXPECT_EQ(s.unknown, 0u);
  // Invalid bytes count one character each, as unknown; so do U+FFFD,
  // controls and private use.
  s = media::AnalyzeText("ab\xFF\xC3", nullptr);
  EXPECT_EQ(s.characters, 4u);
  EXPECT_EQ(s.non_ascii, 2u);
  EXPECT_EQ(s.unknown, 2u);
  s = media::AnalyzeText("a\x01\u007F\uFFFD\uE000b", nullptr);
  EXPECT_EQ(s.characters, 6u);
  EXPECT_EQ(s.tokens, 1u);
  EXPECT_EQ(s.unknown, 4u);
  // Overlong and surrogate encodings are invalid.
  s = media::AnalyzeText("\xC0\xAF\xED\xA0\x80", nullptr);
  EXPECT_EQ(s.characters, 5u);
  EXPECT_EQ(s.unknown, 5u);
}

TEST(TextStatsTest, AlphabetDefinesUnknown) {
  const media::Alphabet alphabet("abcdefghijklmnopqrstuvwxyzäöüß'");
  auto s = media::AnalyzeText("grüße aus köln!", &alphabet);
  EXPECT_EQ(s.characters, 15u);
  EXPECT_EQ(s.tokens, 3u);
  EXPECT_EQ(s.unknown, 1u);  // "!"; spaces are always known
  s = media::AnalyzeText("Berlin", &alphabet);
  EXPECT_EQ(s.unknown, 1u);  // "B"
}

// --- the collectors, through a Pipeline --------------------------------------

google::protobuf::Value Number(double v) {
  google::protobuf::Value value;
  value.set_number_value(v);
  return value;
}
google::protobuf::Value String(const std::string& v) {
  google::protobuf::Value value;
  value.set_string_value(v);
  return value;
}

struct Params {
  google::protobuf::Struct s;
  Params& Set(const std::string& key, google::protobuf::Value v) {
    (*s.mutable_fields())[key] = std::move(v);
    return *this;
  }
  Params& SetObject(
      const std::string& key,
      std::vector<std::pair<std::string, google::protobuf::Value>> entries) {
    google::protobuf::Value v;
    for (auto& [k, e] : entries) {
      (*v.mutable_struct_value()->mutable_fields())[k] = std::move(e);
    }
    return Set(key, std::move(v));
  }
  std::string Serialized() const { return s.SerializeAsString(); }
};

google::protobuf::Value List(std::vector<google::protobuf::Value> items) {
  google::protobuf::Value v;
  for (auto& i : items) *v.mutable_list_value()->add_values() = std::move(i);
  return v;
}

CollectorSpec Spec(std::string name, std::string params = "",
                   std::vector<std::string> include = {},
                   std::vector<std::string> exclude = {}) {
  CollectorSpec spec;
  spec.name = std::move(name);
  spec.params = std::move(params);
  spec.include = std::move(include);
  spec.exclude = std::move(exclude);
  return spec;
}

std::unique_ptr<Pipeline> MakePipeline(std::vector<CollectorSpec> specs,
                                       PipelineOptions options = {}) {
  options.default_collectors = std::move(specs);
  std::unique_ptr<Pipeline> pipeline;
  Status s = Pipeline::Create(options, &pipeline);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return pipeline;
}

Status CreateError(std::vector<CollectorSpec> specs) {
  PipelineOptions options;
  options.default_collectors = std::move(specs);
  std::unique_ptr<Pipeline> pipeline;
  return Pipeline::Create(options, &pipeline);
}

Labels Feature(const std::string& model, const std::string& feature,
               Labels extra = {}) {
  extra["feature"] = feature;
  return ModelSeries(model, extra);
}

double Sum(const Families& f, const std::string& name, const Labels& labels) {
  const HistogramData h = Histogram(f, name, labels);
  return h.found ? h.sum : NAN;
}
uint64_t Count(const Families& f, const std::string& name,
               const Labels& labels) {
  return Histogram(f, name, labels).count;
}

TEST(MediaCollectorsTest, AudioAndImageAreOnByDefaultAndFindBlobsByContent) {
  PipelineOptions options;  // every collector enabled by default
  std::unique_ptr<Pipeline> pipeline;
  ASSERT_TRUE(Pipeline::Create(options, &pipeline).ok());
  const auto names = pipeline->collector_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "audio"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "image"), names.end());
  EXPECT_EQ(std::find(names.begin(), names.end(), "text"), names.end());

  // A JSON record: blobs as base64 text, named anything.
  const std::string wav = Wav(Sine(8000, 32767), 16000);
  std::vector<uint8_t> grey(40 * 30, 200);
  const std::string png = Png(40, 30, 1, grey);
  RecordBuilder b;
  b.Model("asr");
  Record record = b.record();
  const std::string wav64 = Base64(wav);
  const std::string png64 = Base64(png, true, false);
  record.blobs = {Blob{"mic", wav64, true}, Blob{"camera", png64, true},
                  Blob{"other", "aGVsbG8=", true}};
  ASSERT_TRUE(pipeline->Observe(record).ok());
  // The same from protobuf: raw bytes.
  record.blobs = {Blob{"mic", wav, false}, Blob{"camera", png, false}};
  ASSERT_TRUE(pipeline->Observe(record).ok());

  const Families f = pipeline->Collect();
  EXPECT_EQ(Count(f, "ml_audio_duration_seconds", Feature("asr", "mic")), 2u);
  EXPECT_DOUBLE_EQ(Sum(f, "ml_audio_duration_seconds", Feature("asr", "mic")),
                   1.0);
  EXPECT_NEAR(Sum(f, "ml_audio_rms_dbfs", Feature("asr", "mic")), 2 * -3.0106,
              2e-3);
  EXPECT_DOUBLE_EQ(Sum(f, "ml_audio_sample_rate_hertz", Feature("asr", "mic")),
                   32000);
  EXPECT_EQ(Count(f, "ml_image_width_pixels", Feature("asr", "camera")), 2u);
  EXPECT_DOUBLE_EQ(Sum(f, "ml_image_width_pixels", Feature("asr", "camera")),
                   80);
  EXPECT_DOUBLE_EQ(Sum(f, "ml_image_height_pixels", Feature("asr", "camera")),
                   60);
  EXPECT_DOUBLE_EQ(
      Sum(f, "ml_image_brightness_ratio", Feature("asr", "camera")),
      2 * 200.0 / 255);
  // Neither collector claims the blob that is neither; images are not
  // audio and audio is not an image.
  EXPECT_FALSE(
      Histogram(f, "ml_audio_duration_seconds", Feature("asr", "other")).found);
  EXPECT_FALSE(
      Histogram(f, "ml_audio_duration_seconds", Feature("asr", "camera"))
          .found);
  EXPECT_FALSE(
      Histogram(f, "ml_image_width_pixels", Feature("asr", "mic")).found);
  // Decode errors: one family, zero series per reason for each blob seen.
  EXPECT_EQ(CountFamilies(f, "ml_blob_decode_errors_total"), 1u);
  for (const char* reason :
       {"not_base64", "not_wav", "unsupported_wav_format", "truncated"}) {
    EXPECT_EQ(CounterValue(f, "ml_blob_decode_errors_total",
                           Feature("asr", "mic",
                                   {{"media", "audio"}, {"reason", reason}})),
              0)
        << reason;
  }
  for (const char* reason :
       {"not_base64", "not_image", "image_too_large", "decode_failed"}) {
    EXPECT_EQ(CounterValue(f, "ml_blob_decode_errors_total",
                           Feature("asr", "camera",
                                   {{"media", "image"}, {"reason", reason}})),
              0)
        << reason;
  }
  EXPECT_EQ(testing::SeriesLabels(f, "ml_blob_decode_errors_total").size(), 8u);
}

TEST(MediaCollectorsTest, DecodeErrorsAreCountedByReason) {
  auto pipeline = MakePipeline(
      {Spec("audio", "", {"voice", "bad64", "cut", "u8", "notwav"}),
       Spec("image", "", {"photo", "bomb", "broken", "notimage", "bad64"}),
       Spec("software")});
  RecordBuilder b;
  b.Model("m");
  Record record = b.record();
  const std::string wav = Wav(Sine(1000, 1000));
  const std::string cut = wav.substr(0, wav.size() - 10);
  const std::string u8 =
      Riff(FmtChunk(1, 1, 8000, 8) + Chunk("data", std::string(100, '\x80')));
  const std::string png = Png(10, 10, 1, std::vector<uint8_t>(100, 1));
  const std::string broken = png.substr(0, 40);
  media::ImageStatsOptions defaults;
  std::string bomb = png.substr(0, 33);
  bomb[18] = bomb[22] = 0x7F;  // 8 million pixels each way, by the header
  const std::string cut64 = Base64(cut), u864 = Base64(u8),
                    broken64 = Base64(broken), wav64 = Base64(wav);
  record.blobs = {Blob{"voice", wav64, true},
                  Blob{"bad64", "UklGRiQAAABXQVZF!!!", true},
                  Blob{"cut", cut64, true},
                  Blob{"u8", u864, true},
                  Blob{"notwav", "aGVsbG8gd29ybGQ=", true},
                  Blob{"broken", broken64, true},
                  Blob{"bomb", bomb, false},
                  Blob{"notimage", wav, false}};
  ASSERT_TRUE(pipeline->Observe(record).ok());
  const Families f = pipeline->Collect();
  auto errors = [&](const char* feature, const char* media,
                    const char* reason) {
    return CounterValue(
        f, "ml_blob_decode_errors_total",
        Feature("m", feature, {{"media", media}, {"reason", reason}}));
  };
  EXPECT_EQ(errors("bad64", "audio", "not_base64"), 1);
  EXPECT_EQ(errors("bad64", "image", "not_base64"), 1);
  EXPECT_EQ(errors("cut", "audio", "truncated"), 1);
  EXPECT_EQ(errors("u8", "audio", "unsupported_wav_format"), 1);
  EXPECT_EQ(errors("notwav", "audio", "not_wav"), 1);
  EXPECT_EQ(errors("broken", "image", "decode_failed"), 1);
  EXPECT_TRUE(errors("bomb", "image", "image_too_large") == 1 ||
              errors("bomb", "image", "decode_failed") == 1);
  EXPECT_EQ(errors("notimage", "image", "not_image"), 1);
  EXPECT_EQ(errors("voice", "audio", "truncated"), 0);
  EXPECT_EQ(Count(f, "ml_audio_duration_seconds", Feature("m", "voice")), 1u);
  EXPECT_FALSE(
      Histogram(f, "ml_audio_duration_seconds", Feature("m", "cut")).found);
  // The records themselves are fine.
  EXPECT_EQ(CounterValue(f, "ml_records_total", ModelSeries("m")), 1);
}

TEST(MediaCollectorsTest, RawPcmFieldsAndBuckets) {
  Params audio;
  audio.Set("sample_rate", Number(8000))
      .Set("channels", Number(2))
      .Set("silence_dbfs", Number(-40))
      .SetObject("fields", {{"duration", String("audio_seconds")},
                            {"rms_dbfs", String("rms")}})
      .SetObject("buckets", {{"duration_seconds",
                              List({Number(1), Number(2), Number(4)})}});
  auto pipeline = MakePipeline({Spec("audio", audio.Serialized())});
  RecordBuilder b;
  b.Model("asr").Input("audio_seconds", 3.5).Input("rms", -21.5);
  Record record = b.record();
  std::vector<int16_t> stereo;
  for (int16_t v : Sine(16000, 32767)) stereo.insert(stereo.end(), {v, v});
  const std::string pcm = Samples(stereo);
  const std::string wav = Wav(Sine(800, 100), 16000);
  record.blobs = {Blob{"pcm", pcm, false}, Blob{"wav", wav, false}};
  ASSERT_TRUE(pipeline->Observe(record).ok());
  const Families f = pipeline->Collect();
  // 16000 stereo frames at 8 kHz.
  const HistogramData d =
      Histogram(f, "ml_audio_duration_seconds", Feature("asr", "pcm"));
  ASSERT_TRUE(d.found);
  EXPECT_DOUBLE_EQ(d.sum, 2.0);
  EXPECT_EQ(d.bounds, (std::vector<double>{1, 2, 4, INFINITY}));
  EXPECT_EQ(d.cumulative, (std::vector<uint64_t>{0, 1, 1, 1}));
  EXPECT_NEAR(Sum(f, "ml_audio_rms_dbfs", Feature("asr", "pcm")), -3.0106,
              1e-3);
  // A WAV blob is still read as WAV, with its own rate.
  EXPECT_DOUBLE_EQ(Sum(f, "ml_audio_duration_seconds", Feature("asr", "wav")),
                   0.05);
  EXPECT_DOUBLE_EQ(Sum(f, "ml_audio_silence_ratio", Feature("asr", "wav")),
                   1.0);  // amplitude 100 is -53 dBFS RMS, below -40
  // Fields the model server computed, by field name.
  EXPECT_DOUBLE_EQ(
      Sum(f, "ml_audio_duration_seconds", Feature("asr", "audio_seconds")),
      3.5);
  EXPECT_DOUBLE_EQ(Sum(f, "ml_audio_rms_dbfs", Feature("asr", "rms")), -21.5);
  EXPECT_FALSE(Histogram(f, "ml_audio_peak_dbfs", Feature("asr", "rms")).found);
  // Features from fields have no decode error series.
  EXPECT_TRUE(std::isnan(CounterValue(
      f, "ml_blob_decode_errors_total",
      Feature("asr", "rms", {{"media", "audio"}, {"reason", "truncated"}}))));
}

TEST(MediaCollectorsTest, ImageFieldsAndExposureLevels) {
  Params image;
  image.Set("overexposed_level", Number(0.5))
      .SetObject("fields", {{"brightness_ratio", String("brightness")}});
  auto pipeline =
      MakePipeline({Spec("image", image.Serialized(), {}, {"skip"})});
  RecordBuilder b;
  b.Model("cam").Input("brightness", 0.42);
  Record record = b.record();
  std::vector<uint8_t> ramp;
  for (int x = 0; x < 256; ++x) ramp.push_back(static_cast<uint8_t>(x));
  const std::string png = Png(256, 1, 1, ramp);
  record.blobs = {Blob{"frame", png, false}, Blob{"skip", png, false}};
  ASSERT_TRUE(pipeline->Observe(record).ok());
  const Families f = pipeline->Collect();
  EXPECT_DOUBLE_EQ(
      Sum(f, "ml_image_overexposed_ratio", Feature("cam", "frame")), 0.5);
  EXPECT_DOUBLE_EQ(
      Sum(f, "ml_image_brightness_ratio", Feature("cam", "brightness")), 0.42);
  EXPECT_FALSE(
      Histogram(f, "ml_image_width_pixels", Feature("cam", "skip")).found);
}

TEST(MediaCollectorsTest, ImageSampleRatioDecodesAShare) {
  Params image;
  image.Set("sample_ratio", Number(0.25));
  auto pipeline = MakePipeline({Spec("image", image.Serialized())});
  RecordBuilder b;
  b.Model("cam");
  Record record = b.record();
  const std::string png = Png(4, 4, 1, std::vector<uint8_t>(16, 9));
  record.blobs = {Blob{"frame", png, false}};
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(pipeline->Observe(record).ok());
  const Families f = pipeline->Collect();
  EXPECT_EQ(Count(f, "ml_image_width_pixels", Feature("cam", "frame")), 2u);
}

TEST(MediaCollectorsTest, TextOnConfiguredFieldsOrEveryStringInput) {
  Params text;
  text.Set("fields", List({String("query"), String("transcript")}));
  auto pipeline = MakePipeline({Spec("text", text.Serialized())});
  RecordBuilder b;
  b.Model("asr")
      .Input("query", "weather in berlin")
      .Input("country", "DE")
      .Output("transcript", "");
  ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  b.Reset();
  b.Model("asr").Input("query", "  ").Output("transcript", "straße");
  ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  Families f = pipeline->Collect();
  EXPECT_EQ(
      CounterValue(f, "ml_text_observations_total", Feature("asr", "query")),
      2);
  EXPECT_EQ(CounterValue(f, "ml_text_empty_total", Feature("asr", "query")), 1);
  EXPECT_EQ(
      CounterValue(f, "ml_text_empty_total", Feature("asr", "transcript")), 1);
  EXPECT_DOUBLE_EQ(Sum(f, "ml_text_length_characters", Feature("asr", "query")),
                   19);
  EXPECT_DOUBLE_EQ(Sum(f, "ml_text_length_tokens", Feature("asr", "query")), 3);
  // The empty transcript has no character mix; "straße" has 1 of 6.
  EXPECT_EQ(Count(f, "ml_text_non_ascii_ratio", Feature("asr", "transcript")),
            1u);
  EXPECT_DOUBLE_EQ(
      Sum(f, "ml_text_non_ascii_ratio", Feature("asr", "transcript")), 1.0 / 6);
  EXPECT_TRUE(std::isnan(CounterValue(f, "ml_text_observations_total",
                                      Feature("asr", "country"))));

  // No fields: every string input (lists element by element), minus
  // `exclude`.
  pipeline = MakePipeline({Spec("text", "", {}, {"country"})});
  b.Reset();
  b.Model("m").Input("query", "a b").Input("country", "DE").Input("n", 3);
  Record record = b.record();
  record.list_items = {FieldValue::String("x y z"), FieldValue::Number(1),
                       FieldValue::String("")};
  FieldValue list;
  list.kind = FieldValue::Kind::kList;
  list.list_begin = 0;
  list.list_size = 3;
  record.inputs.push_back(Field{"tags", list});
  ASSERT_TRUE(pipeline->Observe(record).ok());
  f = pipeline->Collect();
  EXPECT_EQ(
      CounterValue(f, "ml_text_observations_total", Feature("m", "query")), 1);
  EXPECT_EQ(CounterValue(f, "ml_text_observations_total", Feature("m", "tags")),
            2);
  EXPECT_EQ(CounterValue(f, "ml_text_empty_total", Feature("m", "tags")), 1);
  EXPECT_TRUE(std::isnan(
      CounterValue(f, "ml_text_observations_total", Feature("m", "country"))));
  EXPECT_TRUE(std::isnan(
      CounterValue(f, "ml_text_observations_total", Feature("m", "n"))));
}

TEST(MediaCollectorsTest, FeaturesAreCappedPerModel) {
  PipelineOptions options;
  options.max_features = 2;
  auto pipeline = MakePipeline({Spec("text")}, options);
  RecordBuilder b;
  b.Model("m").Input("a", "x").Input("b", "x").Input("c", "x").Input("d", "x");
  ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  ASSERT_TRUE(pipeline->Observe(b.record()).ok());
  const Families f = pipeline->Collect();
  EXPECT_EQ(CounterValue(f, "ml_text_observations_total", Feature("m", "a")),
            2);
  EXPECT_EQ(CounterValue(f, "ml_text_observations_total", Feature("m", "b")),
            2);
  EXPECT_EQ(
      CounterValue(f, "ml_text_observations_total", Feature("m", "__other__")),
      4);
  EXPECT_EQ(CounterValue(f, "ml_exporter_cardinality_overflow_total",
                         {{"limit", "max_features"}}),
            4);
}

TEST(MediaCollectorsTest, ThreadsObserveWhileScrapesRead) {
  auto pipeline =
      MakePipeline({Spec("audio"), Spec("image"), Spec("text", "", {"q"})});
  const std::string wav = Wav(Sine(1600, 3000), 16000);
  const std::string png = Png(8, 8, 1, std::vector<uint8_t>(64, 128));
  constexpr int kThreads = 4, kRecords = 300;
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    while (!done.load()) pipeline->Collect();
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      RecordBuilder b;
      for (int i = 0; i < kRecords; ++i) {
        b.Reset();
        b.Model("m").Input("q", "hello world");
        Record record = b.record();
        // A new feature name now and then, so cells grow during scrapes.
        const std::string name = "mic" + std::to_string((i + t) % 5);
        record.blobs = {Blob{name, wav, false}, Blob{"cam", png, false}};
        ASSERT_TRUE(pipeline->Observe(record).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  done = true;
  scraper.join();
  const Families f = pipeline->Collect();
  uint64_t audio = 0;
  for (int k = 0; k < 5; ++k) {
    audio += Count(f, "ml_audio_duration_seconds",
                   Feature("m", "mic" + std::to_string(k)));
  }
  EXPECT_EQ(audio, uint64_t{kThreads * kRecords});
  EXPECT_EQ(Count(f, "ml_image_width_pixels", Feature("m", "cam")),
            uint64_t{kThreads * kRecords});
  EXPECT_EQ(CounterValue(f, "ml_text_observations_total", Feature("m", "q")),
            kThreads * kRecords);
  EXPECT_NEAR(Sum(f, "ml_audio_duration_seconds", Feature("m", "mic0")),
              0.1 * Count(f, "ml_audio_duration_seconds", Feature("m", "mic0")),
              1e-9);
}

TEST(MediaCollectorsTest, InvalidParamsSayWhatIsWrong) {
  auto message = [](std::string name, const Params& p) {
    return CreateError({Spec(std::move(name), p.Serialized())}).message();
  };
  EXPECT_NE(message("audio", Params().Set("sample_rat", Number(16000)))
                .find("unknown parameter \"sample_rat\"; did you mean "
                      "\"sample_rate\"?"),
            std::string::npos);
  EXPECT_NE(message("audio", Params().Set("clip_level", Number(2)))
                .find("parameter \"clip_level\" is 2, must be between"),
            std::string::npos);
  EXPECT_NE(message("audio", Params().Set("sample_rate", String("16k")))
                .find("parameter \"sample_rate\" must be a number"),
            std::string::npos);
  EXPECT_NE(message("audio", Params().Set("format", String("f32le")))
                .find("parameter \"format\" is \"f32le\""),
            std::string::npos);
  EXPECT_NE(message("audio", Params().Set("channels", Number(2)))
                .find("parameter \"sample_rate\" is needed for raw PCM"),
            std::string::npos);
  EXPECT_NE(
      message("audio", Params().SetObject("fields", {{"rms", String("x")}}))
          .find("unknown key \"rms\" in parameter \"fields\""),
      std::string::npos);
  EXPECT_NE(
      message("image",
              Params().SetObject(
                  "buckets", {{"width_pixels", List({Number(2), Number(1)})}}))
          .find("parameter \"buckets.width_pixels\" must be strictly "
                "increasing (2 then 1)"),
      std::string::npos);
  EXPECT_NE(message("image", Params()
                                 .Set("underexposed_level", Number(0.6))
                                 .Set("overexposed_level", Number(0.5)))
                .find("must be below overexposed_level"),
            std::string::npos);
  EXPECT_NE(message("text", Params().Set("alphabet", String("")))
                .find("parameter \"alphabet\" must list"),
            std::string::npos);
  const Status s = CreateError(
      {Spec("text", Params().Set("fields", Number(1)).Serialized())});
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("collector \"text\": parameter \"fields\" must be "
                             "a list of strings"),
            std::string::npos)
      << s.message();

  std::unique_ptr<Collector> collector;
  CollectorContext context;
  PipelineOptions options;
  CardinalityStats cardinality;
  context.options = &options;
  context.cardinality = &cardinality;
  context.params = "\xFF\xFF not a struct";
  EXPECT_FALSE(NewAudioCollector(context, &collector).ok());
  context.params = "";
  EXPECT_TRUE(NewAudioCollector(context, &collector).ok());
  EXPECT_TRUE(NewImageCollector(context, &collector).ok());
  EXPECT_TRUE(NewTextCollector(context, &collector).ok());
}

}  // namespace
}  // namespace ml_exporter
