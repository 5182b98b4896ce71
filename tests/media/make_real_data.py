#!/usr/bin/env python3
"""Makes real audio and images for media_real_data_test.cc, with the values
the exporter should report, computed independently of it.

    make_real_data.py OUTDIR

Audio: speech synthesised by espeak-ng, scaled and resampled by sox; the
expected levels come from `sox stats` (2 decimals) and from numpy on the
samples sox wrote (full precision, same definitions as docs/collectors/
audio.md). Images: the photographs Debian's python3-sklearn ships
(sklearn/datasets/images/china.jpg, flower.jpg), brightened, darkened,
resized and converted with PIL; expected values from PIL (ImageStat on
convert("L"), BT.601 luma) and numpy.

Writes the files and OUTDIR/expected.txt, one "file key value" per line.
Exits 77 when a tool is missing (the test then skips, naming it).
"""
import os
import shutil
import subprocess
import sys
import wave

try:
    import numpy as np
    from PIL import Image, ImageEnhance, ImageStat
except ImportError as e:  # pragma: no cover - reported to the test
    print("missing python module: %s (apt-get install python3-numpy "
          "python3-pil)" % e.name, file=sys.stderr)
    sys.exit(77)

SENTENCE = ("The weather in Berlin is sunny today. Tomorrow it will rain, "
            "and the wind comes from the west.")
SKLEARN_IMAGES = "/usr/lib/python3/dist-packages/sklearn/datasets/images"

# Same definitions as the exporter (docs/collectors/audio.md).
SILENCE_DBFS = -50.0
CLIP_LEVEL = 0.99
WINDOW_SECONDS = 0.02
FULL_SCALE = 32768.0


def need(tool, package):
    if shutil.which(tool) is None:
        print("missing %s (apt-get install %s)" % (tool, package),
              file=sys.stderr)
        sys.exit(77)


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)


def sox_stats(path):
    """The Overall column of `sox PATH -n stats`."""
    out = subprocess.run(["sox", path, "-n", "stats"], check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True).stderr
    stats = {}
    for line in out.splitlines():
        for label, key in (("RMS lev dB", "sox_rms_dbfs"),
                           ("Pk lev dB", "sox_peak_dbfs"),
                           ("Length s", "sox_length_seconds")):
            if line.startswith(label):
                stats[key] = float(line[len(label):].split()[0])
    return stats


def dbfs(amplitude):
    return max(-120.0, 20 * np.log10(amplitude / FULL_SCALE)) \
        if amplitude > 0 else -120.0


def pcm_stats(samples, rate, channels):
    """samples: int16 array, interleaved."""
    x = samples.astype(np.float64)
    frames = len(x) // channels
    stats = {
        "np_duration_seconds": frames / rate,
        "np_rms_dbfs": dbfs(np.sqrt(np.mean(x * x))),
        "np_peak_dbfs": dbfs(np.max(np.abs(x))),
        "np_clipped_ratio": float(np.mean(
            np.abs(x) >= np.ceil(CLIP_LEVEL * FULL_SCALE))),
    }
    window = max(1, int(round(WINDOW_SECONDS * rate))) * channels
    threshold = (10 ** (SILENCE_DBFS / 20) * FULL_SCALE) ** 2
    silent = 0
    for begin in range(0, len(x), window):
        w = x[begin:begin + window]
        if np.mean(w * w) < threshold:
            silent += len(w)
    stats["np_silence_ratio"] = silent / len(x)
    return stats


def wav_samples(path):
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2, path
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return data, w.getframerate(), w.getnchannels()


def make_audio(out, expected):
    need("espeak-ng", "espeak-ng")
    need("sox", "sox")
    speech = os.path.join(out, "speech.wav")
    run("espeak-ng", "-w", speech, SENTENCE)
    derived = {
        # name: sox arguments after the input (-D: no dither, so the
        # output is a pure function of the input).
        "speech_quiet.wav": ["vol", "0.25"],
        "speech_loud.wav": ["vol", "4"],  # clips
        "speech_padded.wav": ["pad", "0", "1"],  # one second of silence
        "speech_16k_stereo.wav": ["rate", "16000", "channels", "2"],
    }
    for name, effects in derived.items():
        run("sox", "-D", speech, os.path.join(out, name), *effects)
    for name in ["speech.wav"] + list(derived):
        path = os.path.join(out, name)
        samples, rate, channels = wav_samples(path)
        values = sox_stats(path)
        values.update(pcm_stats(samples, rate, channels))
        values["sample_rate_hertz"] = rate
        expected[name] = values
    # Raw PCM, 16 kHz mono s16le, as a model server might send it.
    raw = os.path.join(out, "speech_16k.raw")
    run("sox", "-D", speech, "-t", "raw", "-e", "signed-integer", "-b", "16",
        "-L", "-r", "16000", "-c", "1", raw)
    samples = np.fromfile(raw, dtype="<i2")
    expected["speech_16k.raw"] = pcm_stats(samples, 16000, 1)


def image_stats(path):
    image = Image.open(path)
    grey = image.convert("L")  # ITU-R 601-2 luma
    stat = ImageStat.Stat(grey)
    luma = np.asarray(grey)
    return {
        "pil_brightness_ratio": stat.mean[0] / 255,
        "pil_contrast_ratio": stat.stddev[0] / 255,
        "np_overexposed_ratio": float(np.mean(luma >= 250)),
        "np_underexposed_ratio": float(np.mean(luma <= 5)),
        "width_pixels": image.size[0],
        "height_pixels": image.size[1],
    }


def make_images(out, expected):
    if not os.path.isdir(SKLEARN_IMAGES):
        print("missing %s (apt-get install python3-sklearn)" % SKLEARN_IMAGES,
              file=sys.stderr)
        sys.exit(77)
    for photo in ("china", "flower"):
        source = os.path.join(SKLEARN_IMAGES, photo + ".jpg")
        shutil.copy(source, os.path.join(out, photo + ".jpg"))
        image = Image.open(source).convert("RGB")
        variants = {
            "bright": ImageEnhance.Brightness(image).enhance(1.6),
            "dark": ImageEnhance.Brightness(image).enhance(0.5),
            "flat": ImageEnhance.Contrast(image).enhance(0.3),
        }
        image.save(os.path.join(out, photo + ".png"))
        for name, variant in variants.items():
            variant.save(os.path.join(out, "%s_%s.jpg" % (photo, name)),
                         quality=95)
            variant.save(os.path.join(out, "%s_%s.png" % (photo, name)))
        image.resize((320, 240)).save(
            os.path.join(out, photo + "_small.jpg"), quality=90)
        image.convert("L").save(os.path.join(out, photo + "_grey.jpg"),
                                quality=95)
    for name in sorted(os.listdir(out)):
        if name.endswith((".jpg", ".png")):
            expected[name] = image_stats(os.path.join(out, name))


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    expected = {}
    make_audio(out, expected)
    make_images(out, expected)
    with open(os.path.join(out, "expected.txt"), "w") as f:
        for name, values in sorted(expected.items()):
            for key, value in sorted(values.items()):
                f.write("%s %s %.9g\n" % (name, key, value))
    return 0


if __name__ == "__main__":
    sys.exit(main())
