#!/usr/bin/env python3
"""Data and checks for the mltool review integration test.

  review_data.py generate --dir DIR --end UNIX
      writes DIR/data.om (OpenMetrics text for `promtool tsdb
      create-blocks-from openmetrics`: two days of ml_exporter series at one
      sample a minute, ending at --end) and DIR/expected.json (what the
      review must name, computed from the same values) and DIR/rules.yml
      (alerting rules loaded into the test Prometheus).
  review_data.py check --expected DIR/expected.json --report REPORT.json
      compares a `mltool review --format json` report with the expectations;
      exit 0 when they agree, 1 with the differences otherwise.

The planted findings: flat series (a feature that stopped moving entirely,
a missing counter that never rose, a constant gauge), a noisy alert whose
ALERTS series flap, a silent alert whose metric never reached its
configured threshold, a feature whose drift stayed high all along (stale
reference), an overflowing cardinality cap, a collector that failed, and
an alerting rule (rules.yml) that never fired.
Everything else moves, fires sensibly or stays within bounds, so the report
must name exactly the planted ones.
"""
import argparse
import json
import math
import random
import sys

STEP = 60            # seconds between samples
DAYS = 2
JOB = {"job": "ml_exporter", "instance": "127.0.0.1:9710"}
CHURN = {"model": "churn", "version": "v2", "stage": "main"}
ASR = {"model": "asr", "version": "v1", "stage": "decoder"}


def labels_text(labels):
    return ",".join('%s="%s"' % (k, v) for k, v in sorted(labels.items()))


class Writer:
    def __init__(self, times):
        self.times = times
        self.families = {}  # name -> list of (labels, values)

    def series(self, name, labels, values):
        """values: one per time, None for no sample."""
        assert len(values) == len(self.times), name
        self.families.setdefault(name, []).append((dict(labels), values))

    def text(self):
        out = []
        for name, series in self.families.items():
            for labels, values in series:
                lt = labels_text(labels)
                for t, v in zip(self.times, values):
                    if v is None:
                        continue
                    out.append("%s{%s} %r %d\n" % (name, lt, float(v), t))
        out.append("# EOF\n")
        return "".join(out)


def counter(rng, n, rate, start=0.0):
    v, out = start, []
    for _ in range(n):
        v += rng.uniform(0.5, 1.5) * rate
        out.append(round(v))
    return out


def quantile(values, q):
    """numpy.quantile's default (linear between closest ranks)."""
    v = sorted(values)
    rank = q * (len(v) - 1)
    lo = math.floor(rank)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (rank - lo)


def generate(args):
    rng = random.Random(20261128)
    end = args.end - args.end % STEP
    start = end - DAYS * 86400
    times = list(range(start, end + 1, STEP))
    n = len(times)
    w = Writer(times)
    churn = dict(CHURN, **JOB)
    asr = dict(ASR, **JOB)

    # --- software: moving ---------------------------------------------------
    w.series("ml_records_total", churn, counter(rng, n, 50))
    w.series("ml_prediction_errors_total", churn, counter(rng, n, 0.5))
    count = counter(rng, n, 50)
    w.series("ml_latency_seconds_count", churn, count)
    w.series("ml_latency_seconds_sum", churn, [c * 0.2 for c in count])
    w.series("ml_latency_seconds_bucket", dict(churn, le="0.5"),
             [round(c * 0.9) for c in count])
    w.series("ml_latency_seconds_bucket", dict(churn, le="+Inf"), count)
    w.series("ml_records_total", asr, counter(rng, n, 10))
    w.series("ml_output_observations_total", dict(asr, output="transcript"),
             counter(rng, n, 10))
    w.series("ml_output_null_total", dict(asr, output="transcript"),
             counter(rng, n, 0.3))

    # --- inputs -------------------------------------------------------------
    age = dict(churn, feature="age")
    w.series("ml_feature_observations_total", age, counter(rng, n, 50))
    w.series("ml_feature_missing_total", age, counter(rng, n, 5))
    age_count = counter(rng, n, 45)
    w.series("ml_feature_value_count", age, age_count)
    w.series("ml_feature_value_sum", age, [c * 41 for c in age_count])
    w.series("ml_feature_value_bucket", dict(age, le="+Inf"), age_count)
    # PLANTED: a feature nobody sends any more: every series flat.
    legacy = dict(churn, feature="legacy_code")
    w.series("ml_feature_observations_total", legacy, [500] * n)
    w.series("ml_feature_missing_total", legacy, [0] * n)
    w.series("ml_feature_category_total", dict(legacy, value="A"), [500] * n)
    # PLANTED: country is never missing (flat), its categories move and
    # overflow to __other__ (the max_label_values cap).
    country = dict(churn, feature="country")
    w.series("ml_feature_observations_total", country, counter(rng, n, 50))
    w.series("ml_feature_missing_total", country, [0] * n)
    w.series("ml_feature_category_total", dict(country, value="DE"),
             counter(rng, n, 30))
    first_day = n // 2
    other = counter(rng, first_day, 3) + [None] * 0
    other += [other[-1]] * (n - first_day)
    w.series("ml_feature_category_total", dict(country, value="__other__"),
             other)
    income = dict(churn, feature="income")
    w.series("ml_feature_observations_total", income, counter(rng, n, 50))
    w.series("ml_feature_missing_total", income, counter(rng, n, 1))
    w.series("ml_output_observations_total", dict(churn, output="score"),
             counter(rng, n, 50))
    w.series("ml_output_null_total", dict(churn, output="score"),
             counter(rng, n, 1.5))

    # --- drift --------------------------------------------------------------
    w.series("ml_feature_drift", dict(age, method="psi"),
             [rng.uniform(0.02, 0.08) for _ in range(n)])
    # PLANTED: stale reference: PSI above the 0.25 default all along.
    w.series("ml_feature_drift", dict(income, method="psi"),
             [rng.uniform(0.3, 0.5) for _ in range(n)])
    # PLANTED: a constant gauge.
    w.series("ml_feature_window_values", age, [1000] * n)

    # --- thresholds and the quantities the alerts compare --------------------
    w.series("ml_alert_threshold",
             dict(churn, feature="score", metric="null_output_ratio",
                  bound="upper"), [0.08] * n)
    w.series("ml_alert_threshold",
             dict(churn, metric="records_per_second", bound="lower"), [1] * n)
    value = "model_feature:ml_alert_value:current"
    # PLANTED noisy alert: the missing ratio of age crosses the 0.5 default
    # for 15 minutes ten times: ALERTS flaps.
    episodes = [int(n * (i + 0.5) / 10) for i in range(10)]
    missing, firing, for_state = [], [], []
    active_since = None
    for i in range(n):
        in_episode = any(e <= i < e + 15 for e in episodes)
        missing.append(rng.uniform(0.55, 0.7) if in_episode
                       else rng.uniform(0.1, 0.4))
        if in_episode and active_since is None:
            active_since = times[i]
        if not in_episode:
            active_since = None
        firing.append(1 if in_episode else None)
        for_state.append(active_since)
    metric_age = {"metric": "missing_ratio", "feature": "age",
                  "field": "feature"}
    w.series(value, dict(CHURN, **metric_age), missing)
    alert_age = dict(CHURN, alertname="MLFeatureMissingRatioHigh",
                     bound="upper", severity="warning", **metric_age)
    w.series("ALERTS", dict(alert_age, alertstate="firing"), firing)
    w.series("ALERTS_FOR_STATE", alert_age, for_state)
    # PLANTED silent alert: the null ratio of score stays far below 0.08.
    null_ratio = [rng.uniform(0.01, 0.05) for _ in range(n)]
    metric_score = {"metric": "null_output_ratio", "feature": "score",
                    "field": "output"}
    w.series(value, dict(CHURN, **metric_score), null_ratio)
    # A useful alert: the record rate fell below 1/s once, for two hours.
    dip = range(n // 3, n // 3 + 120)
    rate = [rng.uniform(0.2, 0.6) if i in dip else rng.uniform(4, 6)
            for i in range(n)]
    w.series(value, dict(CHURN, metric="records_per_second"), rate)
    w.series("ALERTS", dict(CHURN, alertname="MLRecordRateLow",
                            alertstate="firing", bound="lower",
                            metric="records_per_second", severity="warning"),
             [1 if i in dip else None for i in range(n)])

    # --- the exporter itself ------------------------------------------------
    w.series("ml_exporter_cardinality_overflow_total",
             dict(JOB, limit="max_label_values"), other)
    w.series("ml_exporter_cardinality_overflow_total",
             dict(JOB, limit="max_features"), [0] * n)
    # PLANTED: the drift collector failed for an hour on the first day.
    failing = range(n // 4, n // 4 + 60)
    for collector in ("software", "inputs", "outputs", "drift"):
        labels = dict(JOB, collector=collector)
        w.series("ml_exporter_collector_success", labels,
                 [0 if collector == "drift" and i in failing else 1
                  for i in range(n)])
        scale = 0.004 if collector == "drift" else 0.0005
        w.series("ml_exporter_collector_duration_seconds", labels,
                 [rng.uniform(0.5, 1.5) * scale for _ in range(n)])
    w.series("ml_exporter_build_info", dict(JOB, version="0.1.0"), [1] * n)

    with open(args.dir + "/data.om", "w") as f:
        f.write(w.text())

    # The review queries at a step of ChooseStep(2 days) = 3 minutes on a
    # grid from `start`; samples fall on it, so its values are these.
    step = 180
    on_grid = [v for t, v in zip(times, null_ratio) if (t - start) % step == 0]
    expected = {
        "start": start,
        "end": end,
        "second_day_start": times[first_day + 60],
        "flat": sorted([
            ["churn", "main", "ml_feature_observations_total", "legacy_code"],
            ["churn", "main", "ml_feature_missing_total", "legacy_code"],
            ["churn", "main", "ml_feature_category_total", "legacy_code"],
            ["churn", "main", "ml_feature_missing_total", "country"],
            ["churn", "main", "ml_feature_window_values", "age"],
        ]),
        "removable": [["churn", "main", "inputs", "legacy_code"]],
        "alerts": sorted([
            ["churn", "main", "flapping", "MLFeatureMissingRatioHigh", "age"],
            ["churn", "main", "never_fired", "MLOutputNullRatioHigh", "score"],
        ]),
        "silent_threshold": 0.08,
        "silent_suggested": quantile(on_grid, 0.95),
        "silent_p50": quantile(on_grid, 0.5),
        "flapping_episodes": 10,
        "stale": [["churn", "main", "income", "psi"]],
        "overflows": ["max_label_values"],
        "overflow_fields": ["churn/main feature country"],
        "failures": ["drift"],
    }
    with open(args.dir + "/expected.json", "w") as f:
        json.dump(expected, f, indent=1)
    with open(args.dir + "/rules.yml", "w") as f:
        f.write(RULES)


# Loaded into the test Prometheus. None fires now (the range ends an hour
# ago anyway). PLANTED: MLReviewTestNeverFires has no ALERTS series at all;
# MLFeatureMissingRatioHigh has some (flapping) and MLOutputNullRatioHigh is
# already a threshold alert finding (silent), so neither is a never-fired
# rule.
RULES = """groups:
  - name: review-test
    rules:
      - alert: MLReviewTestNeverFires
        expr: vector(1) > 2
        for: 5m
        labels:
          severity: warning
      - alert: MLFeatureMissingRatioHigh
        expr: vector(1) > 2
      - alert: MLOutputNullRatioHigh
        expr: vector(1) > 2
"""
NEVER_FIRED_RULES = [{"alertname": "MLReviewTestNeverFires",
                      "group": "review-test", "expression": "vector(1) > 2",
                      "for_seconds": 300, "labels": {"severity": "warning"}}]


def check(args):
    with open(args.expected) as f:
        exp = json.load(f)
    with open(args.report) as f:
        rep = json.load(f)
    errors = []

    def same(what, got, want):
        if got != want:
            errors.append("%s:\n  got  %s\n  want %s" % (what, got, want))

    flat, removable, alerts, stale = [], [], [], []
    for m in rep["models"]:
        for g in m["flat"]:
            for s in g["series"]:
                flat.append([m["model"], m["stage"], s["metric"], g["field"]])
            if g["removable"]:
                removable.append([m["model"], m["stage"], g["collector"],
                                  g["field"]])
        for a in m["alerts"]:
            alerts.append([m["model"], m["stage"], a["finding"],
                           a["alertname"], a["labels"].get("feature", "")])
        for s in m["stale_references"]:
            for x in s["methods"]:
                stale.append([m["model"], m["stage"], s["field"], x["method"]])
        if m["model"] == "churn":
            if "exclude: [legacy_code]" not in m["config_suggestion"]:
                errors.append("config suggestion lacks exclude: [legacy_code]:"
                              "\n" + m["config_suggestion"])
            if "mltool profile" not in m["reprofile_suggestion"]:
                errors.append("no mltool profile suggestion for churn")
            for a in m["alerts"]:
                if a["finding"] == "never_fired":
                    same("silent alert threshold", a["threshold"],
                         exp["silent_threshold"])
                    same("silent alert threshold source",
                         a["threshold_source"], "configured")
                    if abs(a["suggested_threshold"] -
                           exp["silent_suggested"]) > 1e-9:
                        same("silent alert suggested threshold",
                             a["suggested_threshold"], exp["silent_suggested"])
                    if abs(a["distribution"]["p50"] - exp["silent_p50"]) > 1e-9:
                        same("silent alert p50", a["distribution"]["p50"],
                             exp["silent_p50"])
                    same("silent alert beyond threshold",
                         a["beyond_threshold_ratio"], 0)
                if a["finding"] == "flapping":
                    same("flapping episodes", a["episodes"],
                         exp["flapping_episodes"])
                    same("flapping activations", a["activations"],
                         exp["flapping_episodes"])
                    same("flapping threshold", [a["threshold"],
                         a["threshold_source"]], [0.5, "default"])
    same("flat series", sorted(flat), exp["flat"])
    same("removable groups", sorted(removable), exp["removable"])
    same("alerts", sorted(alerts), exp["alerts"])
    same("alerts without a model", rep["other_alerts"], [])
    same("never-fired rules",
         [{k: n[k] for k in NEVER_FIRED_RULES[0]}
          for n in rep["never_fired_rules"]], NEVER_FIRED_RULES)
    for n in rep["never_fired_rules"]:
        if not n["file"].endswith("/rules.yml"):
            errors.append("never-fired rule file: " + n["file"])
    same("notes", rep["notes"], [])
    same("stale references", sorted(stale), exp["stale"])
    same("overflowed caps", sorted(o["limit"] for o in rep["overflows"]),
         exp["overflows"])
    for o in rep["overflows"]:
        same("overflowing fields", o["fields"], exp["overflow_fields"])
        same("suggested limit", [o["current"], o["suggested"]], [50, 100])
    same("failing collectors",
         sorted(f["collector"] for f in rep["collector_failures"]),
         exp["failures"])
    same("slowest collector", rep["collector_time"][0]["collector"], "drift")
    if errors:
        print("review report does not match the planted findings:")
        for e in errors:
            print(" -", e)
        return 1
    print("review report names exactly the planted findings")
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--dir", required=True)
    g.add_argument("--end", type=int, required=True)
    c = sub.add_parser("check")
    c.add_argument("--expected", required=True)
    c.add_argument("--report", required=True)
    args = p.parse_args()
    if args.cmd == "generate":
        generate(args)
        return 0
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
