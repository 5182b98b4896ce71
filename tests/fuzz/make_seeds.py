#!/usr/bin/python3
"""Writes the seed corpora of tests/fuzz/corpus/<target>/seed-*.

Run from the repository root with Debian's python3 (python3-pil) and protoc
on PATH: /usr/bin/python3 tests/fuzz/make_seeds.py. Regression inputs found
by fuzzing live beside the seeds as crash-*, timeout-* or oom-* files and
are never rewritten here.
"""
import base64
import io
import json
import math
import os
import struct
import subprocess
import sys

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# --- media ---------------------------------------------------------------

def wav(samples, rate=16000, channels=1, extensible=False, extra_chunk=False,
        data_size=None):
    data = b"".join(struct.pack("<h", s) for s in samples)
    if extensible:
        fmt = struct.pack("<HHIIHH", 0xFFFE, channels, rate, rate * 2 * channels,
                          2 * channels, 16)
        fmt += struct.pack("<HHI", 22, 16, 0) + struct.pack("<H", 1)
        fmt += b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71"
    else:
        fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels,
                          2 * channels, 16)
    body = b"WAVE"
    if extra_chunk:
        body += b"LIST" + struct.pack("<I", 3) + b"abc\x00"
    body += b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data) if data_size is None else data_size)
    body += data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def sine(n, amplitude, period=16):
    return [int(amplitude * math.sin(2 * math.pi * i / period)) for i in range(n)]


WAVS = {
    "mono": wav(sine(400, 12000)),
    "stereo": wav(sine(200, 30000), channels=2, rate=8000),
    "extensible": wav(sine(64, 32767), extensible=True),
    "list_chunk": wav([0] * 50 + [32767, -32768] * 20, extra_chunk=True),
    "streaming": wav(sine(100, 100), data_size=0x7FFFF000),
    "silence": wav([0] * 320),
    "odd_bytes": wav(sine(33, 5000))[:-1],
}


def image(mode, size, fmt, **kw):
    img = Image.new(mode, size)
    w, h = size
    px = img.load()
    for y in range(h):
        for x in range(w):
            v = (x * 37 + y * 11) % 256
            if mode == "L":
                px[x, y] = v
            elif mode == "LA":
                px[x, y] = (v, 200)
            elif mode == "RGBA":
                px[x, y] = (v, 255 - v, x % 256, 128)
            else:
                px[x, y] = (v, 255 - v, (x * y) % 256)
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


IMAGES = {
    "png_rgb": image("RGB", (8, 6), "PNG"),
    "png_grey": image("L", (5, 5), "PNG"),
    "png_rgba": image("RGBA", (4, 3), "PNG"),
    "png_grey_alpha": image("LA", (3, 3), "PNG"),
    "jpeg_rgb": image("RGB", (16, 16), "JPEG", quality=80),
    "jpeg_grey": image("L", (9, 7), "JPEG"),
    "jpeg_progressive": image("RGB", (17, 9), "JPEG", progressive=True),
}
pal = io.BytesIO()
Image.open(io.BytesIO(IMAGES["png_rgb"])).convert("P").save(pal, "PNG")
IMAGES["png_palette"] = pal.getvalue()
sixteen = io.BytesIO()
Image.new("I;16", (4, 4), 40000).save(sixteen, "PNG")
IMAGES["png_16bit"] = sixteen.getvalue()

for name, data in WAVS.items():
    put("wav", name, data)
for name, data in IMAGES.items():
    put("image", name, data)

# --- base64 ---------------------------------------------------------------
b64 = lambda b: base64.b64encode(b).decode()
put("base64", "wav", b64(WAVS["mono"]))
put("base64", "png", b64(IMAGES["png_rgb"]))
put("base64", "urlsafe", base64.urlsafe_b64encode(IMAGES["jpeg_grey"]).decode().rstrip("="))
put("base64", "mime", base64.encodebytes(WAVS["stereo"]).decode())
put("base64", "data_url", "data:image/png;base64," + b64(IMAGES["png_grey"]))
put("base64", "padding", "QQ==")
put("base64", "bad", "QQ=A")

# --- records --------------------------------------------------------------
asr = {"model": "asr", "version": "v3", "stage": "decoder",
       "request_id": "r-1", "session_id": "s-1", "time": "2026-11-28T10:00:00Z",
       "latency_seconds": 0.183, "error": False,
       "inputs": {"audio_seconds": 3.2, "age": None, "country": "DE",
                  "query": "weather in berlin", "tags": ["a", "b"], "flag": True},
       "outputs": {"transcript": "", "label": "cat", "score": 0.93},
       "blobs": {"audio": b64(WAVS["mono"]), "image": b64(IMAGES["png_grey"])}}
repeat = dict(asr, request_id="r-2", time="2026-11-28T10:00:03.5+01:00",
              inputs={"query": "weather in berlin?", "audio_seconds": 1e308},
              outputs={"label": "dog", "score": -0.5}, error=True)
events = [
    {"type": "impression", "model": "asr", "request_id": "r-1", "session_id": "s-1"},
    {"type": "click", "request_id": "r-1", "time": "2026-11-28T10:00:05Z", "value": "doc-7"},
    {"type": "label", "request_id": "r-1", "value": "cat"},
    {"type": "label", "request_id": "r-2", "value": 3.5},
    {"type": "switch_to_typing", "session_id": "s-1"},
]
stages = [dict(model="pipe", stage=s, request_id="p-1", latency_seconds=0.01,
               outputs={"text": "" if s == "nlu" else "x"})
          for s in ("asr", "nlu", "tts")]
put("json_ingest", "record", json.dumps(asr))
put("json_ingest", "array", json.dumps([asr, repeat, {"model": 7}, "x"]))
put("json_ingest", "batch", json.dumps({"records": [asr, repeat] + stages, "events": events}))
put("json_ingest", "minimal", '{"model":"m"}')
put("json_ingest", "bad_types", json.dumps({"model": "m", "latency_seconds": "slow",
                                           "time": "yesterday", "inputs": {"x": {"y": 1}}}))
put("json_ingest", "invalid", '{"model": "m", "inputs": {"a": [1, 2,}')
put("json_ingest", "raw_pcm", json.dumps(dict(model="m", blobs={"audio": "AAAA////"})))
lines = [json.dumps(asr), "", json.dumps(repeat), "not json",
         json.dumps({"records": stages, "events": events}), "[1]", "  ",
         json.dumps({"model": "m", "latency_seconds": -1}) + "\r"]
put("ndjson_ingest", "mixed", "\n".join(lines) + "\n")
put("ndjson_ingest", "one", json.dumps(asr))

# protobuf: the same records as text format, encoded by protoc.
batch_text = r'''
records {
  model: "asr" version: "v3" stage: "decoder" request_id: "r-1" session_id: "s-1"
  time { seconds: 1795860000 nanos: 500 } latency_seconds: 0.183
  inputs { fields { key: "audio_seconds" value { number_value: 3.2 } }
           fields { key: "age" value { null_value: NULL_VALUE } }
           fields { key: "country" value { string_value: "DE" } }
           fields { key: "tags" value { list_value { values { string_value: "a" } values { bool_value: true } } } } }
  outputs { fields { key: "label" value { string_value: "cat" } }
            fields { key: "score" value { number_value: 0.93 } } }
  blobs { key: "audio" value: "%s" }
}
records { model: "asr" request_id: "r-2" latency_seconds: -1 }
records { model: "" }
events { type: "click" request_id: "r-1" }
events { type: "label" request_id: "r-1" value { string_value: "cat" } }
events { type: "" }
''' % "".join("\\x%02x" % b for b in WAVS["mono"][:200])
proto = os.path.join(ROOT, "proto")
try:
    encoded = subprocess.run(
        ["protoc", "-I", proto, "--encode=ml_exporter.v1.Batch", "ml_exporter.proto"],
        input=batch_text.encode(), capture_output=True, check=True).stdout
    put("protobuf_ingest", "batch", encoded)
except subprocess.CalledProcessError as e:
    sys.exit("protoc: " + e.stderr.decode())
put("protobuf_ingest", "empty", b"")
put("protobuf_ingest", "garbage", b"\x0a\xff\xff\xff\xff\x0f")

# --- JSON syntax and times --------------------------------------------------
for name, text in {
    "valid": json.dumps(asr),
    "nested": "[" * 70 + "]" * 70,
    "bad_escape": '{"a": "\\x"}',
    "unterminated": '{"a": "b',
    "number": "-0.5e+3",
    "bad_number": "01",
    "trailing": '{"a": 1} x',
    "utf8": '"\\u00e4\\ud83d\\ude00 \u00e4"',
    "control": '"a\x01b"',
    "time": "2026-11-28T10:00:00.25+01:00",
    "time_z": "2026-11-28T10:00:00Z",
    "time_leap": "1990-12-31T23:59:60Z",
}.items():
    put("json_syntax", name, text)
