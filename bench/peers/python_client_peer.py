#!/usr/bin/env python3
"""The Python prometheus_client peer of scripts/bench, made fairer than
/work/shared/bench-peers/python_client_peer.py: the same metrics from the
same NDJSON stream, but each label set's child is looked up once and cached
in a dict (what a careful user writes; `.labels()` per observation takes a
lock and builds a tuple every time), and the exposition is written to a file
so scripts/bench can check that it has the same families as ml_exporter.

  python_client_peer.py STREAM [EXPOSITION_OUT]

Prints "records=N seconds=S" (S: the processing loop, without start-up)."""
import json
import sys
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

reg = CollectorRegistry()
B = [-2, -1, 0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 18, 20, 25]
feat = Histogram("ml_feature_value", "v", ["model", "stage", "feature"], buckets=B, registry=reg)
miss = Counter("ml_feature_missing", "m", ["model", "stage", "feature"], registry=reg)
obs = Counter("ml_feature_observations", "o", ["model", "stage", "feature"], registry=reg)
cat = Counter("ml_feature_category", "c", ["model", "stage", "feature", "value"], registry=reg)
tlen = Histogram("ml_feature_text_length", "t", ["model", "stage", "feature"],
                 buckets=[1, 2, 4, 8, 16, 32, 64, 128], registry=reg)
lab = Counter("ml_output_class", "c", ["model", "stage", "output", "value"], registry=reg)
null = Counter("ml_output_null", "n", ["model", "stage", "output"], registry=reg)
score = Histogram("ml_output_value", "s", ["model", "stage", "output"],
                  buckets=[i / 10 for i in range(1, 11)], registry=reg)
lat = Histogram("ml_latency_seconds", "l", ["model", "stage"], registry=reg)
recs = Counter("ml_records", "r", ["model", "stage"], registry=reg)

children = {}


def child(metric, *labels):
    key = (metric, labels)
    c = children.get(key)
    if c is None:
        c = children[key] = metric.labels(*labels)
    return c


t0 = time.perf_counter()
n = 0
loads = json.loads
with open(sys.argv[1]) as f:
    for line in f:
        r = loads(line)
        m = r["model"]
        s = r["stage"]
        child(recs, m, s).inc()
        child(lat, m, s).observe(r["latency_seconds"])
        for k, v in r["inputs"].items():
            child(obs, m, s, k).inc()
            if v is None:
                child(miss, m, s, k).inc()
            elif isinstance(v, str):
                if k == "query":
                    child(tlen, m, s, k).observe(len(v))
                else:
                    child(cat, m, s, k, v).inc()
            else:
                child(feat, m, s, k).observe(v)
        for k, v in r["outputs"].items():
            if v is None or v == "":
                child(null, m, s, k).inc()
            elif isinstance(v, str):
                child(lab, m, s, k, v).inc()
            else:
                child(score, m, s, k).observe(v)
        n += 1
dt = time.perf_counter() - t0
out = generate_latest(reg)
if len(sys.argv) > 2:
    with open(sys.argv[2], "wb") as o:
        o.write(out)
print(f"records={n} seconds={dt:.3f}")
