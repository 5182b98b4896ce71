// Level statistics of 16-bit PCM audio, the numbers a speech team watches
// to catch a changed microphone, gain or codec.
#ifndef ML_EXPORTER_MEDIA_AUDIO_STATS_H_
#define ML_EXPORTER_MEDIA_AUDIO_STATS_H_

#include <cstdint>

#include "media/wav.h"

namespace ml_exporter::media {

// Levels below this (digital silence has no finite level) are reported
// as this.
inline constexpr double kAudioFloorDbfs = -120;

struct AudioStatsOptions {
  // A window whose RMS level is below this is silent.
  double silence_dbfs = -50;
  // A sample whose magnitude is at least this fraction of full scale
  // (32768) is clipped.
  double clip_level = 0.99;
  // Length of the windows the silence ratio is measured over.
  double window_seconds = 0.02;
};

struct AudioStats {
  uint64_t frames = 0;
  double duration_seconds = 0;
  // Full scale is 32768: a full-scale sine has an RMS of -3.01 dBFS, and a
  // square wave at -32768/32767 one of 0 dBFS (both as sox reports them).
  // Over all samples of all channels.
  double rms_dbfs = kAudioFloorDbfs;
  double peak_dbfs = kAudioFloorDbfs;
  // Samples (of all channels) at or above clip_level.
  double clipped_ratio = 0;
  // Share of the duration in silent windows; windows cover every frame, the
  // last one may be shorter and weighs by its length.
  double silence_ratio = 0;
};

// Fields other than frames and duration are meaningful only when
// frames > 0.
AudioStats AnalyzePcm16(const Pcm16& pcm, const AudioStatsOptions& options);

}  // namespace ml_exporter::media

#endif  // ML_EXPORTER_MEDIA_AUDIO_STATS_H_
