#include "media/audio_stats.h"

#include <algorithm>
#include <cmath>

namespace ml_exporter::media {
namespace {

constexpr double kFullScale = 32768.0;

double Dbfs(double amplitude) {
  if (!(amplitude > 0)) return kAudioFloorDbfs;
  return std::max(kAudioFloorDbfs, 20 * std::log10(amplitude / kFullScale));
}

}  // namespace

AudioStats AnalyzePcm16(const Pcm16& pcm, const AudioStatsOptions& options) {
  AudioStats stats;
  stats.frames = pcm.frames();
  if (pcm.sample_rate == 0 || pcm.channels == 0) return stats;
  stats.duration_seconds =
      static_cast<double>(stats.frames) / static_cast<double>(pcm.sample_rate);
  if (stats.frames == 0) return stats;

  const auto* p = reinterpret_cast<const unsigned char*>(pcm.data.data());
  const size_t samples = stats.frames * pcm.channels;
  // Integer thresholds, so the inner loop has no floating point compare
  // per sample.
  const double clip = std::clamp(options.clip_level, 0.0, 1.0) * kFullScale;
  const int32_t clip_threshold = static_cast<int32_t>(std::ceil(clip));
  const double silence_amplitude =
      std::pow(10.0, options.silence_dbfs / 20) * kFullScale;
  const double silence_square = silence_amplitude * silence_amplitude;
  uint64_t window_frames = static_cast<uint64_t>(
      std::llround(options.window_seconds * pcm.sample_rate));
  window_frames = std::max<uint64_t>(window_frames, 1);
  const size_t window_samples = window_frames * pcm.channels;

  double total_square = 0;
  int32_t peak = 0;
  uint64_t clipped = 0;
  uint64_t silent_samples = 0;
  for (size_t begin = 0; begin < samples; begin += window_samples) {
    const size_t end = std::min(samples, begin + window_samples);
    // Exact in 64 bits: at most 2^30 per sample.
    uint64_t square = 0;
    int32_t window_peak = 0;
    uint64_t window_clipped = 0;
    for (size_t i = begin; i < end; ++i) {
      const int32_t s = static_cast<int16_t>(p[2 * i] | (p[2 * i + 1] << 8));
      const int32_t a = s < 0 ? -s : s;
      square += static_cast<uint64_t>(a) * static_cast<uint64_t>(a);
      window_peak = std::max(window_peak, a);
      window_clipped += a >= clip_threshold;
    }
    const auto n = static_cast<double>(end - begin);
    if (static_cast<double>(square) / n < silence_square) {
      silent_samples += end - begin;
    }
    total_square += static_cast<double>(square);
    peak = std::max(peak, window_peak);
    clipped += window_clipped;
  }
  const auto total = static_cast<double>(samples);
  stats.rms_dbfs = Dbfs(std::sqrt(total_square / total));
  stats.peak_dbfs = Dbfs(peak);
  stats.clipped_ratio = static_cast<double>(clipped) / total;
  stats.silence_ratio = static_cast<double>(silent_samples) / total;
  return stats;
}

}  // namespace ml_exporter::media
