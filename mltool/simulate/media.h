// Real media for the simulated records: WAV audio and PNG images that the
// exporter's audio and image collectors decode and measure, as a model
// server would send them.
#ifndef ML_EXPORTER_MLTOOL_SIMULATE_MEDIA_H_
#define ML_EXPORTER_MLTOOL_SIMULATE_MEDIA_H_

#include <string>
#include <string_view>

#include "mltool/simulate/random.h"

namespace ml_exporter::simulate {

// A mono 16-bit PCM WAV file of `seconds` at `sample_rate`: a voiced tone
// (fundamental plus two harmonics, slow amplitude modulation) at peak
// amplitude `gain` (0..1 of full scale) in faint noise, followed by a
// stretch of silence in some clips.
std::string MakeWav(Random* rng, double seconds, double gain,
                    int sample_rate = 8000);

// A grayscale PNG of width x height whose mean brightness is about
// `brightness` (0..1): a left-to-right gradient with noise, as a camera
// frame of a part on a belt. Empty on an encoder failure.
std::string MakePng(Random* rng, double brightness, int width = 48,
                    int height = 32);

// Standard base64 with padding.
std::string Base64(std::string_view bytes);

}  // namespace ml_exporter::simulate

#endif  // ML_EXPORTER_MLTOOL_SIMULATE_MEDIA_H_
