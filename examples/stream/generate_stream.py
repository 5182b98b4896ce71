#!/usr/bin/env python3
"""Realistic prediction records for three example models, as NDJSON.

  asr     speech recognizer: audio length and SNR, language, the query text;
          outputs the transcript (sometimes empty) and its confidence.
  vision  visual inspection: image brightness, size, camera; outputs the
          class (ok / scratch / dent) and score.
  churn   structured data with missing values: age (8% null), income (3%
          null), country, plan; outputs churn score and label.

Also impression/click events for the asr results. Writes to stdout or a file
(--output), or POSTs batches to an ml_exporter (--url). Deterministic for a
given --seed. Only the Python standard library is used.

--full adds what the optional collectors of examples/configs/demo.yaml
need, on top of the same records: a voice-activity stage before the asr
decoder (pipeline: requests without speech stop there), users repeating a
query and switching to typing after a bad transcript (sessions), delayed
ground-truth labels for vision and churn (feedback), WAV audio and PNG
image blobs (audio, image), and a few invalid records (rejections).

--shift drifts some inputs away from what the default stream (the
"training data") looks like: lower SNR, darker images, age missing more
often; for trying the drift collector, /drift and the alerts.
"""
import argparse
import array
import base64
import collections
import json
import math
import random
import struct
import sys
import time
import urllib.request
import zlib

QUERIES = ["weather in berlin", "play some music", "call mum", "set a timer for ten minutes",
           "what is the time", "navigate home", "turn on the lights", "news today"]


# --shift: the quiet failures the dashboards are for. A new microphone
# lowers the speech recognizer's SNR, a new camera darkens the inspection
# images, and a broken form field leaves the churn model's age empty.
SHIFT = {"snr_db": 22.0, "brightness": 0.55, "age_missing": 0.08}


def asr(rnd, i):
    audio = max(0.3, rnd.gauss(3.0, 1.2))
    empty = rnd.random() < 0.04
    rec = {"model": "asr", "version": "v3", "stage": "decoder",
           "request_id": f"asr-{i}", "session_id": f"s-{i // 5}",
           "latency_seconds": round(0.05 + audio * 0.04 + rnd.expovariate(40), 4),
           "error": rnd.random() < 0.01,
           "inputs": {"audio_seconds": round(audio, 3), "snr_db": round(rnd.gauss(SHIFT["snr_db"], 5), 2),
                      "language": rnd.choices(["en", "de", "fr"], [6, 3, 1])[0],
                      "query": rnd.choice(QUERIES)},
           "outputs": {"transcript": "" if empty else rnd.choice(QUERIES),
                       "confidence": round(min(1, max(0, rnd.gauss(0.85, 0.08))), 3)}}
    return rec


def vision(rnd, i):
    label = rnd.choices(["ok", "scratch", "dent"], [90, 7, 3])[0]
    return {"model": "vision", "version": "2026-11", "stage": "classifier",
            "request_id": f"vis-{i}",
            "latency_seconds": round(0.02 + rnd.expovariate(60), 4),
            "inputs": {"brightness": round(min(1, max(0, rnd.gauss(SHIFT["brightness"], 0.08))), 3),
                       "width": rnd.choice([1280, 1920]), "height": rnd.choice([720, 1080]),
                       "camera": rnd.choice(["line-1", "line-2", "line-3"])},
            "outputs": {"label": label,
                        "score": round(rnd.uniform(0.6, 0.99) if label == "ok" else rnd.uniform(0.4, 0.95), 3)}}


def churn(rnd, i):
    score = rnd.betavariate(2, 5)
    return {"model": "churn", "version": "v7", "stage": "main",
            "request_id": f"ch-{i}",
            "latency_seconds": round(0.002 + rnd.expovariate(400), 5),
            "inputs": {"age": None if rnd.random() < SHIFT["age_missing"] else int(rnd.gauss(41, 12)),
                       "income": None if rnd.random() < 0.03 else round(rnd.lognormvariate(10.5, 0.4), 2),
                       "country": rnd.choices(["DE", "FR", "US", "IN", "BR"], [4, 2, 3, 2, 1])[0],
                       "plan": rnd.choice(["free", "basic", "pro"]),
                       "tenure_months": rnd.randint(0, 96)},
            "outputs": {"score": round(score, 4), "label": "churn" if score > 0.5 else "stay"}}


NOISE = [random.Random(0).gauss(0, 0.01) for _ in range(4093)]


def wav(rnd, seconds, rate=8000):
    """A mono 16-bit WAV: a voice-like tone in noise, sometimes trailing
    silence."""
    n = int(seconds * rate)
    gain = rnd.uniform(0.05, 0.6)
    step = 2 * math.pi * rnd.uniform(110, 260) / rate
    sound = n if rnd.random() < 0.8 else int(n * rnd.uniform(0.3, 0.9))
    offset = rnd.randrange(len(NOISE))
    samples = array.array("h", (
        int(32767 * max(-1.0, min(1.0, (gain * math.sin(step * k) if k < sound else 0.0) +
                                  NOISE[(k + offset) % len(NOISE)])))
        for k in range(n)))
    data = samples.tobytes()
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, rate, 2 * rate, 2, 16) +
            b"data" + struct.pack("<I", len(data)) + data)


def png(rnd, brightness, width=48, height=32):
    """A grayscale PNG with the given mean brightness (0..1)."""
    rows = b""
    for y in range(height):
        row = bytes(max(0, min(255, int(255 * (brightness + 0.25 * (x / width - 0.5)) +
                                        rnd.gauss(0, 12)))) for x in range(width))
        rows += b"\x00" + row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def b64(data):
    return base64.b64encode(data).decode()


def full_items(rnd, extra):
    """items() plus what the optional collectors need (--full)."""
    later = collections.deque()  # (due index, item): delayed labels
    last_query = {}
    n = 0
    for item in items(rnd):
        n += 1
        while later and later[0][0] <= n:
            yield later.popleft()[1]
        model = item.get("model")
        if model == "asr":
            session = item["session_id"]
            if session in last_query and extra.random() < 0.12:
                item["inputs"]["query"] = last_query[session]   # said it again
            last_query = {session: item["inputs"]["query"]}
            speech = extra.random() >= 0.02
            yield {"model": "asr", "version": "v3", "stage": "vad",
                   "request_id": item["request_id"], "session_id": session,
                   "latency_seconds": round(0.004 + extra.expovariate(500), 5),
                   "inputs": {"audio_seconds": item["inputs"]["audio_seconds"],
                              "speech_fraction": round(extra.uniform(0.5, 0.95), 3) if speech else 0.0},
                   "outputs": {"segments": [0.1, round(item["inputs"]["audio_seconds"] - 0.1, 2)]
                               if speech else []}}
            if not speech:
                continue
            if extra.random() < 0.2:
                item["blobs"] = {"audio": b64(wav(extra, min(item["inputs"]["audio_seconds"], 1.5)))}
            yield item
            if item["outputs"]["transcript"] == "" and extra.random() < 0.5:
                yield {"events": [{"type": "switch_to_typing", "model": "asr", "version": "v3",
                                   "stage": "decoder", "session_id": session}]}
            continue
        if model == "vision":
            if extra.random() < 0.5:
                item["blobs"] = {"image": b64(png(extra, item["inputs"]["brightness"]))}
            if extra.random() < 0.5:
                truth = item["outputs"]["label"] if extra.random() < 0.93 else \
                    extra.choice(["ok", "scratch", "dent"])
                later.append((n + extra.randint(3, 30), {"events": [
                    {"type": "label", "model": "vision", "version": "2026-11", "stage": "classifier",
                     "request_id": item["request_id"], "value": truth}]}))
        if model == "churn" and extra.random() < 0.3:
            churned = 1 if extra.random() < item["outputs"]["score"] else 0
            later.append((n + extra.randint(3, 30), {"events": [
                {"type": "label", "model": "churn", "version": "v7", "stage": "main",
                 "request_id": item["request_id"], "value": churned}]}))
        yield item
        if extra.random() < 0.002:   # a client bug: no model name
            yield {"version": "v1", "latency_seconds": 0.1, "inputs": {"x": 1}}


def items(rnd):
    i = 0
    while True:
        yield asr(rnd, i)
        if rnd.random() < 0.6:
            yield {"events": [{"type": "impression", "model": "asr", "version": "v3",
                               "stage": "decoder", "request_id": f"asr-{i}"}] +
                   ([{"type": "click", "model": "asr", "version": "v3", "stage": "decoder",
                      "request_id": f"asr-{i}"}] if rnd.random() < 0.3 else [])}
        yield vision(rnd, i)
        yield churn(rnd, i)
        i += 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=0, help="lines to write (0: unbounded)")
    p.add_argument("--rate", type=float, default=0, help="lines per second (0: as fast as possible)")
    p.add_argument("--duration", type=float, default=0, help="stop after this many seconds (0: never)")
    p.add_argument("--output", help="file to append to (default stdout)")
    p.add_argument("--url", help="POST batches to this ml_exporter, e.g. http://127.0.0.1:9710")
    p.add_argument("--batch", type=int, default=50, help="lines per POST with --url")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--shift", action="store_true",
                   help="drifted inputs: lower asr snr_db, darker vision images, "
                        "churn age missing more often")
    p.add_argument("--full", action="store_true",
                   help="also pipeline stages, sessions, labels, blobs and invalid records "
                        "(for examples/configs/demo.yaml)")
    a = p.parse_args()
    if a.shift:
        SHIFT.update(snr_db=15.0, brightness=0.42, age_missing=0.3)
    rnd = random.Random(a.seed)
    out = open(a.output, "a") if a.output else sys.stdout
    start = time.monotonic()
    batch = []
    n = 0
    for item in (full_items(rnd, random.Random(a.seed + 7919)) if a.full else items(rnd)):
        if a.count and n >= a.count:
            break
        if a.duration and time.monotonic() - start >= a.duration:
            break
        line = json.dumps(item, separators=(",", ":"))
        n += 1
        if a.url:
            batch.append(line)
            if len(batch) >= a.batch:
                post(a.url, batch)
                batch = []
        else:
            out.write(line + "\n")
            if a.rate:
                out.flush()
        if a.rate:
            ahead = n / a.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    if a.url and batch:
        post(a.url, batch)
    out.flush()


def post(url, lines):
    req = urllib.request.Request(url.rstrip("/") + "/api/v1/records", data=("\n".join(lines) + "\n").encode(),
                                 headers={"Content-Type": "application/x-ndjson"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
    except Exception as e:  # keep streaming: the exporter may be restarting
        print(f"post failed: {e}", file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
