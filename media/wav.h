// A bounds-checked reader of RIFF/WAVE files holding 16-bit integer PCM.
//
// Every offset comes from the file and is checked against the bytes that
// are actually there: a truncated file or a header that lies about sizes is
// reported, never read past.
#ifndef ML_EXPORTER_MEDIA_WAV_H_
#define ML_EXPORTER_MEDIA_WAV_H_

#include <cstdint>
#include <string_view>

#include "media/blob_content.h"

namespace ml_exporter::media {

// Interleaved signed 16-bit little-endian samples.
struct Pcm16 {
  std::string_view data;  // whole frames only
  uint32_t sample_rate = 0;
  uint16_t channels = 0;

  uint64_t frames() const {
    return channels == 0 ? 0 : data.size() / (2u * channels);
  }
};

inline constexpr uint16_t kMaxChannels = 8;

// Finds the `fmt ` and `data` chunks of a WAV file (in any order, other
// chunks skipped, odd sizes padded) and points `out` at the samples.
// Accepts format tag 1 (PCM) and WAVE_FORMAT_EXTENSIBLE with the PCM
// subtype, 16 bits per sample, 1 to kMaxChannels channels, any non-zero
// rate. A data size of at least 0x7FFFF000 beyond the end of the file is
// the placeholder streaming writers leave (espeak-ng --stdout writes
// 0x7FFFF000, others 0xFFFFFFFF) and means "to the end"; any other size
// beyond the end is kTruncated. A trailing partial frame is dropped. Errors:
// kNotWav (no RIFF/WAVE header), kUnsupportedWavFormat, kTruncated (a chunk or
// the data shorter than its header says, or no data chunk before the end).
bool ParseWav(std::string_view bytes, Pcm16* out, DecodeError* error);

// Raw PCM as configured: `bytes` are interleaved s16le frames.
Pcm16 RawPcm16(std::string_view bytes, uint32_t sample_rate, uint16_t channels);

}  // namespace ml_exporter::media

#endif  // ML_EXPORTER_MEDIA_WAV_H_
