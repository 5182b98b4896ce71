#!/usr/bin/env python3
"""Checks that ml_exporter and the peers (mtail, Python prometheus_client)
computed the same metrics from one stream: for each family the peers export
(records, latency, per-feature values / missing / observations, categories,
text length, output classes / nulls / scores), the ml_exporter family that
corresponds to it must hold the same counts.

  compare_families.py RECORDS EXPORTER.txt [NAME=PEER.txt ...]

Prints one line per check and peer; exits 1 on a mismatch."""
import re
import sys

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(path):
    series = []
    for line in open(path, encoding="utf-8", errors="replace"):
        if line.startswith("#") or not line.strip():
            continue
        m = LINE.match(line)
        if not m:
            continue
        labels = dict(LABEL.findall(m.group(2) or ""))
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        series.append((m.group(1), labels, value))
    return series


def total(series, names, **want):
    found = False
    s = 0.0
    for name, labels, value in series:
        if name in names and all(labels.get(k) == v for k, v in want.items()):
            s += value
            found = True
    return s if found else None


FEATURES = [f"f{k}" for k in range(16)]
# (what, exporter names, peer names, labels for exporter, labels for peer)
CHECKS = [("records", ["ml_records_total"], ["ml_records", "ml_records_total"], {}, {}),
          ("latency count", ["ml_latency_seconds_count"], ["ml_latency_seconds_count"], {}, {})]
for f in FEATURES:
    CHECKS += [
        (f"{f} values", ["ml_feature_value_count"], ["ml_feature_value_count"],
         {"feature": f}, {"feature": f}),
        (f"{f} missing", ["ml_feature_missing_total"],
         ["ml_feature_missing", "ml_feature_missing_total"], {"feature": f}, {"feature": f}),
        (f"{f} observations", ["ml_feature_observations_total"],
         ["ml_feature_observations", "ml_feature_observations_total"],
         {"feature": f}, {"feature": f}),
    ]
for f, values in [("country", ["DE", "FR", "US", "IN", "BR", "JP"]),
                  ("device", ["ios", "android", "web"])]:
    for v in values:
        CHECKS.append((f"{f}={v}", ["ml_feature_category_total"],
                       ["ml_feature_category", "ml_feature_category_total"],
                       {"feature": f, "value": v}, {"feature": f, "value": v}))
CHECKS.append(("query length count", ["ml_feature_length_count"],
               ["ml_feature_text_length_count"], {"feature": "query"}, {"feature": "query"}))
for v in ["cat", "dog", "bird"]:
    CHECKS.append((f"label={v}", ["ml_output_category_total"],
                   ["ml_output_class", "ml_output_class_total"],
                   {"output": "label", "value": v}, {"output": "label", "value": v}))
CHECKS.append(("transcript null", ["ml_output_null_total"],
               ["ml_output_null", "ml_output_null_total"],
               {"output": "transcript"}, {"output": "transcript"}))
CHECKS.append(("score count", ["ml_output_value_count"], ["ml_output_value_count"],
               {"output": "score"}, {"output": "score"}))


def main():
    records = float(sys.argv[1])
    exporter = parse(sys.argv[2])
    peers = [(a.split("=", 1)[0], parse(a.split("=", 1)[1])) for a in sys.argv[3:]]
    bad = 0
    got = total(exporter, ["ml_records_total"])
    if got != records:
        print(f"MISMATCH ml_exporter records: {got} != {records}")
        bad += 1
    for what, enames, pnames, elabels, plabels in CHECKS:
        e = total(exporter, enames, **elabels)
        for peer, series in peers:
            p = total(series, pnames, **plabels)
            if e is None or p is None or e != p:
                print(f"MISMATCH {what}: ml_exporter {e} vs {peer} {p}")
                bad += 1
    names = ", ".join(p for p, _ in peers)
    print(f"families: {len(CHECKS)} checks x {len(peers)} peers ({names}): "
          f"{'all equal' if bad == 0 else f'{bad} mismatches'}")
    sys.exit(1 if bad else 0)


main()
