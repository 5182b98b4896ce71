// Fuzz target: the WAV reader (media/wav.h) and the level statistics of
// what it returns (media/audio_stats.h), as the audio collector runs them,
// with the parameter extremes the configuration allows. The same bytes are
// measured as raw PCM too.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "media/audio_stats.h"
#include "media/wav.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ml_exporter::media::AudioStats;
using ml_exporter::media::AudioStatsOptions;
using ml_exporter::media::Pcm16;

bool IsRatio(double v) { return v >= 0 && v <= 1; }

void Measure(const Pcm16& pcm, std::string_view bytes) {
  FUZZ_CHECK(pcm.data.size() <= bytes.size());
  FUZZ_CHECK(pcm.data.empty() || (pcm.data.data() >= bytes.data() &&
                                  pcm.data.data() + pcm.data.size() <=
                                      bytes.data() + bytes.size()));
  // The ranges audio_collector.cc accepts for each parameter.
  const AudioStatsOptions settings[] = {
      AudioStatsOptions{},
      AudioStatsOptions{
          .silence_dbfs = -200, .clip_level = 1e-6, .window_seconds = 1e-4},
      AudioStatsOptions{
          .silence_dbfs = 0, .clip_level = 1, .window_seconds = 10},
  };
  for (const AudioStatsOptions& options : settings) {
    const AudioStats s = ml_exporter::media::AnalyzePcm16(pcm, options);
    FUZZ_CHECK(s.frames == pcm.frames());
    FUZZ_CHECK(std::isfinite(s.duration_seconds) && s.duration_seconds >= 0);
    if (s.frames == 0) continue;
    FUZZ_CHECK(IsRatio(s.clipped_ratio) && IsRatio(s.silence_ratio));
    FUZZ_CHECK(s.rms_dbfs >= ml_exporter::media::kAudioFloorDbfs &&
               s.rms_dbfs <= 0.001);
    FUZZ_CHECK(s.peak_dbfs >= s.rms_dbfs - 1e-9 && s.peak_dbfs <= 0.001);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Pcm16 pcm;
  ml_exporter::media::DecodeError error{};
  if (ml_exporter::media::ParseWav(bytes, &pcm, &error)) {
    FUZZ_CHECK(pcm.channels >= 1 &&
               pcm.channels <= ml_exporter::media::kMaxChannels);
    FUZZ_CHECK(pcm.sample_rate > 0);
    FUZZ_CHECK(pcm.data.size() % (2u * pcm.channels) == 0);
    Measure(pcm, bytes);
  } else {
    FUZZ_CHECK(error < ml_exporter::media::DecodeError::kCount);
    ml_exporter::media::DecodeErrorName(error);
  }
  // Raw PCM as configured (sample_rate 1 .. 1e6, channels 1 .. 8).
  const uint16_t channels = size == 0 ? 1 : 1 + data[0] % 8;
  Measure(ml_exporter::media::RawPcm16(bytes, 16000, channels), bytes);
  Measure(ml_exporter::media::RawPcm16(bytes, 1, channels), bytes);
  return 0;
}
