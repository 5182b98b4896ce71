// End-to-end: the audio, image and text collectors in the real binary.
// Blobs posted as base64 JSON and as protobuf bytes, with no configuration
// and with a configuration file that sets params.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ml_exporter.pb.h"
#include "tests/e2e/exporter_process.h"
#include "tests/media_test_util.h"

namespace ml_exporter::testing {
namespace {

const std::string kAsr = R"(model="asr",version="none",stage="none")";

std::string Feature(const std::string& feature, const std::string& extra = "") {
  return "{" + kAsr + ",feature=\"" + feature + "\"" +
         (extra.empty() ? "" : "," + extra) + "}";
}

// One second of a 500 Hz sine at a quarter of full scale, 16 kHz mono:
// RMS 20 log10(8191.75 / 32768 / sqrt 2) = -15.05 dBFS.
std::string QuarterScaleSine() {
  std::vector<int16_t> samples(16000);
  for (size_t i = 0; i < samples.size(); ++i) {
    samples[i] = static_cast<int16_t>(
        std::lround(32767 / 4.0 * std::sin(2 * M_PI * i / 32)));
  }
  return Pcm16Wav(samples, 16000, 1);
}

void Append(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data),
                                             size);
}

// A 64 x 48 JPEG, flat grey at `level`.
std::string GreyJpeg(uint8_t level) {
  std::vector<uint8_t> pixels(64 * 48 * 3, level);
  std::string out;
  stbi_write_jpg_to_func(Append, &out, 64, 48, 3, pixels.data(), 95);
  return out;
}

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/ml_exporter_media_e2e_XXXXXX";
    path_ = mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

TEST(MediaE2E, BlobsAreMeasuredWithZeroConfiguration) {
  ExporterProcess exporter({});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  const std::string wav = QuarterScaleSine();
  const std::string jpeg = GreyJpeg(100);
  const std::string cut = wav.substr(0, 1000);
  const std::string body =
      R"({"model":"asr","inputs":{"query":"weather"},"blobs":{"audio":")" +
      Base64(wav) + R"(","image":")" + Base64(jpeg, true, false) +
      R"(","broken":")" + Base64(cut) + R"("}})";
  HttpReply reply =
      HttpPost(exporter.url("/api/v1/records"), "application/json", body);
  ASSERT_EQ(reply.code, 200) << reply.body;

  // The same blobs from protobuf, as raw bytes.
  v1::Batch batch;
  v1::Record* record = batch.add_records();
  record->set_model("asr");
  (*record->mutable_blobs())["audio"] = wav;
  (*record->mutable_blobs())["image"] = jpeg;
  reply = HttpPost(exporter.url("/api/v1/records"), "application/x-protobuf",
                   batch.SerializeAsString());
  ASSERT_EQ(reply.code, 200) << reply.body;

  EXPECT_EQ(exporter.WaitFor("ml_records_total{" + kAsr + "}", 2), 2);
  auto m = exporter.Scrape();
  EXPECT_EQ(m["ml_audio_duration_seconds_count" + Feature("audio")], 2);
  EXPECT_DOUBLE_EQ(m["ml_audio_duration_seconds_sum" + Feature("audio")], 2);
  EXPECT_NEAR(m["ml_audio_rms_dbfs_sum" + Feature("audio")] / 2, -15.05, 0.01);
  EXPECT_NEAR(m["ml_audio_peak_dbfs_sum" + Feature("audio")] / 2, -12.04, 0.01);
  EXPECT_EQ(m["ml_audio_clipped_ratio_sum" + Feature("audio")], 0);
  EXPECT_EQ(m["ml_audio_silence_ratio_sum" + Feature("audio")], 0);
  EXPECT_EQ(
      m["ml_audio_sample_rate_hertz_bucket" + Feature("audio", "le=\"16000\"")],
      2);
  EXPECT_EQ(m["ml_image_width_pixels_sum" + Feature("image")], 128);
  EXPECT_EQ(m["ml_image_height_pixels_sum" + Feature("image")], 96);
  EXPECT_NEAR(m["ml_image_brightness_ratio_sum" + Feature("image")] / 2,
              100.0 / 255, 1.0 / 255);
  EXPECT_NEAR(m["ml_image_contrast_ratio_sum" + Feature("image")], 0,
              1.0 / 255);
  EXPECT_EQ(m["ml_blob_decode_errors_total" +
              Feature("broken", "media=\"audio\",reason=\"truncated\"")],
            1);
  EXPECT_EQ(m["ml_blob_decode_errors_total" +
              Feature("audio", "media=\"audio\",reason=\"truncated\"")],
            0);
  EXPECT_EQ(m["ml_blob_decode_errors_total" +
              Feature("image", "media=\"image\",reason=\"decode_failed\"")],
            0);
  // Text is off by default (ml_feature_length covers string lengths).
  EXPECT_EQ(m.count("ml_text_observations_total" + Feature("query")), 0u);
  EXPECT_EQ(m["ml_exporter_collector_success{collector=\"audio\"}"], 1);
  EXPECT_EQ(m["ml_exporter_collector_success{collector=\"image\"}"], 1);

#ifdef PROMTOOL
  TempDir dir;
  {
    std::ofstream out(dir.file("scrape.txt"));
    out << HttpGet(exporter.url("/metrics")).body;
  }
  const std::string command = std::string(PROMTOOL) + " check metrics < " +
                              dir.file("scrape.txt") + " > " +
                              dir.file("promtool.out") + " 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(dir.file("promtool.out"));
  const std::string output((std::istreambuf_iterator<char>(in)),
                           std::istreambuf_iterator<char>());
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;
  EXPECT_EQ(output, "") << output;
#endif
}

TEST(MediaE2E, ConfigurationSetsParams) {
  TempDir dir;
  {
    std::ofstream out(dir.file("config.yaml"));
    out << R"(
models:
  - model: asr
    collectors:
      - name: audio
        include: [pcm]
        params:
          sample_rate: 8000
          fields: {duration_seconds: audio_seconds}
          buckets: {duration_seconds: [1, 2, 4]}
      - name: text
        params: {fields: [query], alphabet: "abcdefghijklmnopqrstuvwxyz"}
)";
  }
  ExporterProcess exporter({"--config=" + dir.file("config.yaml")});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  // 16000 bytes of s16le at 8 kHz: one second.
  const std::string pcm(16000, '\0');
  const std::string body =
      R"({"model":"asr","inputs":{"audio_seconds":3.5,"query":"Weather in Berlin"},"blobs":{"pcm":")" +
      Base64(pcm) + R"(","image":")" + Base64(GreyJpeg(50)) + R"("}})";
  ASSERT_EQ(
      HttpPost(exporter.url("/api/v1/records"), "application/json", body).code,
      200);
  EXPECT_EQ(
      exporter.WaitFor("ml_text_observations_total" + Feature("query"), 1), 1);
  auto m = exporter.Scrape();
  EXPECT_EQ(m["ml_audio_duration_seconds_sum" + Feature("pcm")], 1);
  EXPECT_EQ(m["ml_audio_duration_seconds_bucket" + Feature("pcm", "le=\"1\"")],
            1);
  EXPECT_EQ(m["ml_audio_rms_dbfs_sum" + Feature("pcm")], -120);
  EXPECT_EQ(m["ml_audio_silence_ratio_sum" + Feature("pcm")], 1);
  EXPECT_EQ(m["ml_audio_duration_seconds_sum" + Feature("audio_seconds")], 3.5);
  EXPECT_EQ(m["ml_text_length_characters_sum" + Feature("query")], 17);
  EXPECT_EQ(m["ml_text_length_tokens_sum" + Feature("query")], 3);
  // "W" and "B" are not in the alphabet: 2 of 17.
  EXPECT_NEAR(m["ml_text_unknown_ratio_sum" + Feature("query")], 2.0 / 17,
              1e-12);
  // The image collector is not configured for asr.
  EXPECT_EQ(m.count("ml_image_width_pixels_sum" + Feature("image")), 0u);
}

TEST(MediaE2E, InvalidParamsStopTheStartWithTheReason) {
  TempDir dir;
  {
    std::ofstream out(dir.file("config.yaml"));
    out << R"(
default_collectors:
  - name: audio
    params: {sample_rat: 16000}
)";
  }
  ExporterProcess exporter({"--config=" + dir.file("config.yaml")});
  EXPECT_FALSE(exporter.started());
  EXPECT_NE(exporter.log().find("collector \"audio\": unknown parameter "
                                "\"sample_rat\"; did you mean "
                                "\"sample_rate\"?"),
            std::string::npos)
      << exporter.log();
}

}  // namespace
}  // namespace ml_exporter::testing
