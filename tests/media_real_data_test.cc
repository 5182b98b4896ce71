// The audio and image collectors on real data, against values computed
// independently of the exporter.
//
// tests/media/make_real_data.py makes the data at test time in a temporary
// directory: speech from espeak-ng at several volumes (sox vol 0.25, vol 4
// which clips), padded with a second of silence, resampled to 16 kHz
// stereo and to raw 16 kHz PCM; Debian's sklearn photographs (china.jpg,
// flower.jpg) as shipped, brightened, darkened, with contrast reduced,
// resized and in grey, as JPEG and PNG. Expected values come from
// `sox stats`, PIL (ImageStat of convert("L")) and numpy. Every file goes
// through a Pipeline as one record, half as raw bytes (protobuf) and half
// as base64 (JSON); each blob's histograms then hold exactly one value.
//
// Tolerances, and why:
//   audio vs numpy (same definitions): 1e-6 dB, 1e-9 for ratios and seconds
//   audio vs sox stats: half the last printed digit (0.005 dB, 0.0005 s),
//     plus 1e-3 for float formatting
//   PNG vs PIL: 1e-9 (the same BT.601 integer luma, exactly)
//   JPEG vs PIL: 1e-4 (stb_image and libjpeg differ in IDCT and chroma
//     upsampling; measured at most 2.9e-5)
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "google/protobuf/struct.pb.h"
#include "ml_exporter/pipeline.h"
#include "ml_exporter/record_builder.h"
#include "tests/media_test_util.h"
#include "tests/metric_test_util.h"

namespace ml_exporter {
namespace {

using testing::Families;
using testing::HistogramData;
using testing::Labels;

// JPEG decoders differ slightly (measured on these photographs: at most
// 2.9e-5 in mean luma, 7.7e-6 in its deviation, 1.9e-5 in the exposure
// shares).
constexpr double kJpegLuma = 1e-4;
constexpr double kJpegExposure = 1e-4;
// sox stats prints dB with two decimals and seconds with three.
constexpr double kSoxDb = 0.005 + 1e-3;
constexpr double kSoxSeconds = 0.0005 + 1e-6;

struct RealData {
  std::string dir;
  std::string skip;   // the data could not be made for lack of a tool
  std::string error;  // it could not be made otherwise
  std::map<std::string, std::map<std::string, double>> expected;
  Families families;
};

RealData* data = nullptr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

class MediaRealDataTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data = new RealData;
    char dir[] = "/tmp/ml_exporter_media_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    data->dir = dir;
    const std::string log = data->dir + "/make_real_data.log";
    const std::string command = std::string(MEDIA_PYTHON3) + " " +
                                MEDIA_DATA_SCRIPT + " " + data->dir + "/data" +
                                " > " + log + " 2>&1";
    const int status = std::system(command.c_str());
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
      data->skip =
          "real test data needs Debian packages (scripts/install-deps): " +
          ReadFile(log);
      return;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      data->error = command + " failed: " + ReadFile(log);
      return;
    }
    std::istringstream lines(ReadFile(data->dir + "/data/expected.txt"));
    std::string file, key;
    double value;
    while (lines >> file >> key >> value) data->expected[file][key] = value;

    // Raw PCM at 16 kHz for blobs that are not WAV; images by content.
    google::protobuf::Struct audio;
    (*audio.mutable_fields())["sample_rate"].set_number_value(16000);
    CollectorSpec audio_spec;
    audio_spec.name = "audio";
    audio_spec.params = audio.SerializeAsString();
    CollectorSpec image_spec;
    image_spec.name = "image";
    PipelineOptions options;
    options.default_collectors = {audio_spec, image_spec};
    std::unique_ptr<Pipeline> pipeline;
    Status s = Pipeline::Create(options, &pipeline);
    ASSERT_TRUE(s.ok()) << s.ToString();
    bool as_base64 = false;
    for (const auto& [name, values] : data->expected) {
      (void)values;
      const std::string bytes = ReadFile(data->dir + "/data/" + name);
      ASSERT_FALSE(bytes.empty()) << name;
      const std::string text = testing::Base64(bytes);
      RecordBuilder b;
      b.Model("real");
      Record record = b.record();
      record.blobs = {as_base64 ? Blob{name, text, true}
                                : Blob{name, bytes, false}};
      as_base64 = !as_base64;
      ASSERT_TRUE(pipeline->Observe(record).ok());
    }
    data->families = pipeline->Collect();
  }

  static void TearDownTestSuite() {
    if (data != nullptr && !data->dir.empty()) {
      std::filesystem::remove_all(data->dir);
    }
    delete data;
    data = nullptr;
  }

  void SetUp() override {
    if (!data->skip.empty()) GTEST_SKIP() << data->skip;
    ASSERT_TRUE(data->error.empty()) << data->error;
  }

  // The one value the blob's histogram holds.
  static double Value(const std::string& metric, const std::string& file) {
    const HistogramData h =
        testing::Histogram(data->families, metric,
                           testing::ModelSeries("real", {{"feature", file}}));
    EXPECT_TRUE(h.found) << metric << " " << file;
    EXPECT_EQ(h.count, 1u) << metric << " " << file;
    return h.found ? h.sum : NAN;
  }

  static double Expected(const std::string& file, const std::string& key) {
    auto f = data->expected.find(file);
    EXPECT_NE(f, data->expected.end()) << file;
    if (f == data->expected.end()) return NAN;
    auto v = f->second.find(key);
    EXPECT_NE(v, f->second.end()) << file << " " << key;
    return v == f->second.end() ? NAN : v->second;
  }
};

const char* const kWavs[] = {"speech.wav", "speech_quiet.wav",
                             "speech_loud.wav", "speech_padded.wav",
                             "speech_16k_stereo.wav"};

TEST_F(MediaRealDataTest, SpeechLevelsMatchNumpyAndSoxStats) {
  for (const char* f : kWavs) {
    SCOPED_TRACE(f);
    const double rms = Value("ml_audio_rms_dbfs", f);
    const double peak = Value("ml_audio_peak_dbfs", f);
    const double duration = Value("ml_audio_duration_seconds", f);
    EXPECT_NEAR(rms, Expected(f, "np_rms_dbfs"), 1e-6);
    EXPECT_NEAR(peak, Expected(f, "np_peak_dbfs"), 1e-6);
    EXPECT_NEAR(duration, Expected(f, "np_duration_seconds"), 1e-9);
    EXPECT_NEAR(Value("ml_audio_clipped_ratio", f),
                Expected(f, "np_clipped_ratio"), 1e-9);
    EXPECT_NEAR(Value("ml_audio_silence_ratio", f),
                Expected(f, "np_silence_ratio"), 1e-9);
    EXPECT_EQ(Value("ml_audio_sample_rate_hertz", f),
              Expected(f, "sample_rate_hertz"));
    EXPECT_NEAR(rms, Expected(f, "sox_rms_dbfs"), kSoxDb);
    EXPECT_NEAR(peak, Expected(f, "sox_peak_dbfs"), kSoxDb);
    EXPECT_NEAR(duration, Expected(f, "sox_length_seconds"), kSoxSeconds);
  }
  // Raw 16 kHz PCM (no header), read with the configured rate.
  const char* raw = "speech_16k.raw";
  EXPECT_NEAR(Value("ml_audio_duration_seconds", raw),
              Expected(raw, "np_duration_seconds"), 1e-9);
  EXPECT_NEAR(Value("ml_audio_rms_dbfs", raw), Expected(raw, "np_rms_dbfs"),
              1e-6);
  EXPECT_NEAR(Value("ml_audio_silence_ratio", raw),
              Expected(raw, "np_silence_ratio"), 1e-9);
}

TEST_F(MediaRealDataTest, SpeechMetricsMoveWithVolumeAndPadding) {
  const double rms = Value("ml_audio_rms_dbfs", "speech.wav");
  const double peak = Value("ml_audio_peak_dbfs", "speech.wav");
  const double silence = Value("ml_audio_silence_ratio", "speech.wav");
  const double duration = Value("ml_audio_duration_seconds", "speech.wav");
  // sox vol 0.25 is -12.04 dB; rounding to 16 bits moves it by < 0.01 dB.
  const double quarter = 20 * std::log10(0.25);
  EXPECT_NEAR(Value("ml_audio_rms_dbfs", "speech_quiet.wav") - rms, quarter,
              0.01);
  EXPECT_NEAR(Value("ml_audio_peak_dbfs", "speech_quiet.wav") - peak, quarter,
              0.01);
  EXPECT_EQ(Value("ml_audio_clipped_ratio", "speech_quiet.wav"), 0);
  // Quieter speech has more windows under the -50 dBFS silence threshold.
  EXPECT_GT(Value("ml_audio_silence_ratio", "speech_quiet.wav"), silence);
  // vol 4 (+12.04 dB) clips: the peak is full scale, some samples are at
  // the rail, and the RMS rises by less than 12.04 dB.
  EXPECT_GT(Value("ml_audio_peak_dbfs", "speech_loud.wav"), -0.001);
  EXPECT_GT(Value("ml_audio_clipped_ratio", "speech_loud.wav"), 0.01);
  EXPECT_EQ(Value("ml_audio_clipped_ratio", "speech.wav"), 0);
  const double loud_gain = Value("ml_audio_rms_dbfs", "speech_loud.wav") - rms;
  EXPECT_GT(loud_gain, 8);
  EXPECT_LT(loud_gain, -quarter);
  // One second of digital silence appended: duration + 1 s exactly; the
  // silent share grows to (silent + 1) / (duration + 1), up to the one
  // 20 ms window where speech and padding meet.
  const double padded = Value("ml_audio_duration_seconds", "speech_padded.wav");
  EXPECT_NEAR(padded - duration, 1.0, 1e-9);
  EXPECT_NEAR(Value("ml_audio_silence_ratio", "speech_padded.wav"),
              (silence * duration + 1) / padded, 0.02 / padded);
  EXPECT_NEAR(Value("ml_audio_rms_dbfs", "speech_padded.wav") - rms,
              10 * std::log10(duration / padded), 1e-3);
  // Resampled to 16 kHz stereo (both channels the same): same duration to a
  // sample, same level to resampling error.
  EXPECT_NEAR(Value("ml_audio_duration_seconds", "speech_16k_stereo.wav"),
              duration, 1.0 / 16000);
  EXPECT_NEAR(Value("ml_audio_rms_dbfs", "speech_16k_stereo.wav"), rms, 0.05);
}

std::vector<std::string> Images() {
  std::vector<std::string> images;
  for (const auto& [name, values] : data->expected) {
    (void)values;
    if (name.ends_with(".jpg") || name.ends_with(".png")) {
      images.push_back(name);
    }
  }
  return images;
}

TEST_F(MediaRealDataTest, ImageExposureMatchesPil) {
  const std::vector<std::string> images = Images();
  EXPECT_EQ(images.size(), 20u);
  for (const std::string& f : images) {
    SCOPED_TRACE(f);
    const bool png = f.ends_with(".png");
    const double luma = png ? 1e-9 : kJpegLuma;
    const double exposure = png ? 1e-9 : kJpegExposure;
    EXPECT_NEAR(Value("ml_image_brightness_ratio", f),
                Expected(f, "pil_brightness_ratio"), luma);
    EXPECT_NEAR(Value("ml_image_contrast_ratio", f),
                Expected(f, "pil_contrast_ratio"), luma);
    EXPECT_NEAR(Value("ml_image_overexposed_ratio", f),
                Expected(f, "np_overexposed_ratio"), exposure);
    EXPECT_NEAR(Value("ml_image_underexposed_ratio", f),
                Expected(f, "np_underexposed_ratio"), exposure);
    EXPECT_EQ(Value("ml_image_width_pixels", f), Expected(f, "width_pixels"));
    EXPECT_EQ(Value("ml_image_height_pixels", f), Expected(f, "height_pixels"));
  }
}

TEST_F(MediaRealDataTest, ImageMetricsMoveWithBrightnessAndContrast) {
  for (const std::string photo : {"china", "flower"}) {
    SCOPED_TRACE(photo);
    const std::string png = photo + ".png";
    const double brightness = Value("ml_image_brightness_ratio", png);
    const double contrast = Value("ml_image_contrast_ratio", png);
    // Brightness 0.5 halves R'G'B' and so luma, to a rounding step.
    EXPECT_NEAR(Value("ml_image_brightness_ratio", photo + "_dark.png"),
                0.5 * brightness, 1.0 / 255);
    EXPECT_NEAR(Value("ml_image_contrast_ratio", photo + "_dark.png"),
                0.5 * contrast, 1.0 / 255);
    EXPECT_GT(Value("ml_image_underexposed_ratio", photo + "_dark.png"),
              Value("ml_image_underexposed_ratio", png));
    // Brightness 1.6 raises luma, saturating at white.
    EXPECT_GT(Value("ml_image_brightness_ratio", photo + "_bright.png"),
              brightness + 0.1);
    EXPECT_LE(Value("ml_image_brightness_ratio", photo + "_bright.png"),
              1.6 * brightness + 1.0 / 255);
    EXPECT_GT(Value("ml_image_overexposed_ratio", photo + "_bright.png"),
              Value("ml_image_overexposed_ratio", png) + 0.01);
    // Contrast 0.3 pulls every pixel towards the mean grey: the standard
    // deviation shrinks to 0.3 of itself, to a rounding step.
    EXPECT_NEAR(Value("ml_image_contrast_ratio", photo + "_flat.png"),
                0.3 * contrast, 1.0 / 255);
    // The JPEG versions move the same way.
    EXPECT_LT(Value("ml_image_brightness_ratio", photo + "_dark.jpg"),
              Value("ml_image_brightness_ratio", photo + ".jpg") - 0.1);
    EXPECT_GT(Value("ml_image_brightness_ratio", photo + "_bright.jpg"),
              Value("ml_image_brightness_ratio", photo + ".jpg") + 0.1);
    EXPECT_LT(Value("ml_image_contrast_ratio", photo + "_flat.jpg"),
              0.5 * Value("ml_image_contrast_ratio", photo + ".jpg"));
    // Resized: the new size; grey: the same luma as the colour original.
    EXPECT_EQ(Value("ml_image_width_pixels", photo + "_small.jpg"), 320);
    EXPECT_EQ(Value("ml_image_height_pixels", photo + "_small.jpg"), 240);
    EXPECT_NEAR(Value("ml_image_brightness_ratio", photo + "_grey.jpg"),
                brightness, 2.0 / 255);
  }
}

TEST_F(MediaRealDataTest, NoDecodeErrors) {
  for (const auto& m :
       testing::SeriesLabels(data->families, "ml_blob_decode_errors_total")) {
    EXPECT_EQ(
        testing::CounterValue(data->families, "ml_blob_decode_errors_total", m),
        0)
        << m.at("feature") << " " << m.at("reason");
  }
}

}  // namespace
}  // namespace ml_exporter
