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
"""
import argparse
import json
import random
import sys
import time
import urllib.request

QUERIES = ["weather in berlin", "play some music", "call mum", "set a timer for ten minutes",
           "what is the time", "navigate home", "turn on the lights", "news today"]


def asr(rnd, i):
    audio = max(0.3, rnd.gauss(3.0, 1.2))
    empty = rnd.random() < 0.04
    rec = {"model": "asr", "version": "v3", "stage": "decoder",
           "request_id": f"asr-{i}", "session_id": f"s-{i // 5}",
           "latency_seconds": round(0.05 + audio * 0.04 + rnd.expovariate(40), 4),
           "error": rnd.random() < 0.01,
           "inputs": {"audio_seconds": round(audio, 3), "snr_db": round(rnd.gauss(22, 5), 2),
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
            "inputs": {"brightness": round(min(1, max(0, rnd.gauss(0.55, 0.08))), 3),
                       "width": rnd.choice([1280, 1920]), "height": rnd.choice([720, 1080]),
                       "camera": rnd.choice(["line-1", "line-2", "line-3"])},
            "outputs": {"label": label,
                        "score": round(rnd.uniform(0.6, 0.99) if label == "ok" else rnd.uniform(0.4, 0.95), 3)}}


def churn(rnd, i):
    score = rnd.betavariate(2, 5)
    return {"model": "churn", "version": "v7", "stage": "main",
            "request_id": f"ch-{i}",
            "latency_seconds": round(0.002 + rnd.expovariate(400), 5),
            "inputs": {"age": None if rnd.random() < 0.08 else int(rnd.gauss(41, 12)),
                       "income": None if rnd.random() < 0.03 else round(rnd.lognormvariate(10.5, 0.4), 2),
                       "country": rnd.choices(["DE", "FR", "US", "IN", "BR"], [4, 2, 3, 2, 1])[0],
                       "plan": rnd.choice(["free", "basic", "pro"]),
                       "tenure_months": rnd.randint(0, 96)},
            "outputs": {"score": round(score, 4), "label": "churn" if score > 0.5 else "stay"}}


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
    a = p.parse_args()
    rnd = random.Random(a.seed)
    out = open(a.output, "a") if a.output else sys.stdout
    start = time.monotonic()
    batch = []
    n = 0
    for item in items(rnd):
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
