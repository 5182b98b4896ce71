#!/usr/bin/env python3
"""ctest stack_scale_out: three ml_exporter replicas behind a sticky load
balancer compute, in Prometheus, what one exporter computes on all the
traffic (docs/deployment.md, "Replicas").

  fleet:  mltool simulate --url R1,R2,R3 (each session or request to one
          replica by a hash of its id) -> 3 replicas <- Prometheus "fleet"
  single: mltool simulate --url S, same seed and rate -> 1 exporter
          <- Prometheus "single"

All four exporters run examples/configs/demo.yaml with the same reference
profiles (so numeric fields have the profile's histogram edges on every
replica); both Prometheus servers load alerts/ml_exporter.rules.yml and
alerts/drift.rules.yml verbatim and scrape every second. The stream runs
every scenario at --rate requests/s for --duration s, with a distribution
shift (fault shift) from a third of the way in, so that the drift scores
are far from zero. After the traffic stops and both servers have scraped
the last counts:

  1. Counters add up exactly: for every additive ml_ series (counters,
     histogram _count and _sum; buckets of the models with reference
     profiles), the sum over the replicas equals the single exporter's
     value (relative 1e-9, for float sums in another order).
  2. The fleet-level recording rules equal the single exporter's within
     the tolerances below: every series of the ratio rules (missing, null,
     error, category and label-match ratios, click-through, repeats,
     pipeline reach, latency quantiles) and of the drift rules (PSI, KS,
     Jensen-Shannon from summed buckets).

Why not exactly: rate() extrapolates each replica's counters from its own
first and last scrape, so a replica's share of a window is weighted
slightly differently from the single exporter's. Ratios of rates of one
stream are nearly immune (each replica sees the same mix); measured
differences are printed on every run.

  scale_out_test.py --exporter BIN --mltool BIN --prometheus BIN --workdir DIR
"""
import argparse
import math
import os
import shutil
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import stack as st  # noqa: E402

REPO = st.REPO
REPLICAS = 3
REFERENCE_MODELS = ("asr", "vision", "churn")
# Fleet against single exporter: |fleet - single| <= ABS + REL * |single|.
TOLERANCE = {
    "ratio": (0.01, 0.02),      # fractions 0..1
    "quantile": (0.0, 0.05),    # latency quantiles, seconds
    "drift": (0.01, 0.05),      # PSI, KS, Jensen-Shannon
}
RATIO_RULES = [
    "model:ml_prediction_errors:ratio_rate5m",
    "model_feature:ml_feature_missing:ratio_rate5m",
    "model_output:ml_output_null:ratio_rate5m",
    "model_feature_value:ml_feature_category:ratio_rate5m",
    "model_output_value:ml_output_category:ratio_rate5m",
    "model:ml_session_repeat_requests:ratio_rate10m",
    "model:ml_session_modality_switches:ratio_rate10m",
    "model:ml_feedback_click_through:ratio_rate30m",
    "model:ml_label_matches:ratio_rate1h",
    "model_stage:ml_pipeline_stage_reached:ratio_rate10m",
]
QUANTILE_RULES = ["model_quantile:ml_latency_seconds:histogram_quantile_rate5m"]
DRIFT_RULES = [
    "model_feature:ml_feature_drift:rate1h",
    "model_output:ml_output_drift:rate1h",
]
# Category counters are compared summed over `value`: which values get a
# series of their own and which go to __other__ is decided by each
# exporter's --max_label_values cap on the values it saw, so per value they
# add up only for fields under the cap (docs/deployment.md).
ADDITIVE = ('{__name__=~"ml_.+_total|ml_.+_count|ml_.+_sum",'
            '__name__!~"ml_reference_.+|ml_exporter_collector_.+|'
            'ml_exporter_cardinality_overflow_total|ml_(feature|output)_category_total"}')
CATEGORIES = ('sum without (instance, value) (last_over_time('
              '{__name__=~"ml_(feature|output)_category_total"}[30s]))')


def log(msg, started=[time.time()]):  # noqa: B006 - start time, once
    print(f"[{time.time() - started[0]:5.1f}s] {msg}", flush=True)


def key(labels):
    return tuple(sorted((k, v) for k, v in labels.items()
                        if k not in ("instance", "job")))


def summed(prom, selector):
    """{labels without job/instance: value}, summed over replicas."""
    out = {}
    for labels, v in st.query(prom, selector):
        k = key(labels)
        out[k] = out.get(k, 0.0) + v
    return out


def without_overflowed_fields(*series):
    """Drops the category series of every field that has a __other__ value
    in any of `series` (dicts keyed by label tuples)."""
    def field(k):
        return tuple((n, v) for n, v in k if n != "value")
    capped = {field(k) for s in series for k in s if ("value", "__other__") in k}
    return [{k: v for k, v in s.items() if field(k) not in capped} for s in series]


def compare(name, fleet, single, tol, report, failures):
    abs_tol, rel_tol = tol
    if "_category:" in name:
        fleet, single = without_overflowed_fields(fleet, single)
    if not single:
        failures.append(f"{name}: no series in the single exporter's Prometheus")
        return
    worst = 0.0
    for k, want in single.items():
        got = fleet.get(k)
        if got is None:
            failures.append(f"{name}{dict(k)}: missing in the fleet")
            continue
        if math.isnan(want) and math.isnan(got):
            continue
        diff = abs(got - want)
        worst = max(worst, diff)
        if not diff <= abs_tol + rel_tol * abs(want):
            failures.append(f"{name}{dict(k)}: fleet {got:.6g}, single {want:.6g}")
    extra = set(fleet) - set(single)
    if extra:
        failures.append(f"{name}: {len(extra)} series only in the fleet, e.g. "
                        f"{dict(sorted(extra)[0])}")
    report.append((name, len(single), worst))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exporter", required=True)
    p.add_argument("--mltool", required=True)
    p.add_argument("--prometheus", default=shutil.which("prometheus"))
    p.add_argument("--workdir", required=True)
    p.add_argument("--rate", type=float, default=40)
    p.add_argument("--duration", type=float, default=75)
    p.add_argument("--timeout", type=float, default=280)
    a = p.parse_args()
    for b in (a.exporter, a.mltool, a.prometheus):
        if not b or not os.access(b, os.X_OK):
            print(f"not an executable: {b!r}")
            return 2
    shutil.rmtree(a.workdir, ignore_errors=True)
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(
        st.StackError(f"the whole test took more than {a.timeout:.0f}s")))
    signal.alarm(int(a.timeout))
    failures = []
    with st.Stack(a.workdir, a.exporter, a.mltool, a.prometheus) as s:
        try:
            run(s, a, failures)
        except st.StackError as e:
            failures.append(str(e))
        finally:
            signal.alarm(0)
        if failures:
            print(s.tail_logs())
    for f in failures[:60]:
        print("FAIL: " + f)
    if len(failures) > 60:
        print(f"... and {len(failures) - 60} more")
    if not failures:
        log("PASS")
    return 1 if failures else 0


def run(s, a, failures):
    config = os.path.join(REPO, "examples", "configs", "demo.yaml")
    rules = [os.path.join(REPO, "alerts", "ml_exporter.rules.yml"),
             os.path.join(REPO, "alerts", "drift.rules.yml")]
    refs = s.make_profiles(REFERENCE_MODELS)
    extra = ["--reference=" + refs, "--log_level=info"]
    replicas = [s.start_exporter(f"replica{i + 1}", config, extra) for i in range(REPLICAS)]
    single = s.start_exporter("single", config, extra)
    fleet_prom = s.start_prometheus("prometheus-fleet", {"ml_exporter": replicas}, rules)
    single_prom = s.start_prometheus("prometheus-single", {"ml_exporter": [single]}, rules)
    shift = f"shift@{a.duration / 3:.0f}"
    common = dict(rate=a.rate, duration=a.duration, seed=42, faults=[shift],
                  extra=["--invalid_fraction", "0.003"])
    fleet_sim = s.simulate("simulate-fleet", replicas, **common)
    single_sim = s.simulate("simulate-single", [single], **common)
    log(f"replicas {', '.join(replicas)} -> {fleet_prom}; single {single} -> "
        f"{single_prom}; {a.rate:g} requests/s for {a.duration:g}s, {shift}")
    for name, proc in (("simulate-fleet", fleet_sim), ("simulate-single", single_sim)):
        try:
            proc.wait(timeout=a.duration + 60)
        except Exception:  # noqa: BLE001
            raise st.StackError(f"{name} did not finish") from None
        if proc.returncode != 0:
            raise st.StackError(f"{name} exited {proc.returncode}:\n{s.log(name)}")
    log("traffic done: " + s.log("simulate-fleet").strip().splitlines()[-1])

    # Both servers have the final counts, and the rules have run on them.
    def settled():
        f = summed(fleet_prom, "ml_exporter_ingested_records_total")
        g = summed(single_prom, "ml_exporter_ingested_records_total")
        return f and f == g and sum(g.values()) > 0
    st.wait_until("the fleet's and the single exporter's record counts in "
                  "Prometheus agree", 30, settled, 1)
    # The pipeline collector counts a request when its join window
    # (join_window_seconds: 10 in demo.yaml) closes, which each exporter
    # notices on its own clock: wait until every window has closed, then
    # for two more scrapes and rule evaluations on the final counts.
    time.sleep(15)
    st.wait_until("the fleet's and the single exporter's pipeline counts agree",
                  20, lambda: summed(fleet_prom, "ml_pipeline_requests_total")
                  == summed(single_prom, "ml_pipeline_requests_total"), 1)
    time.sleep(3)
    at = time.time()

    # 1. exact sums
    fleet_c = summed(fleet_prom, f"last_over_time({ADDITIVE}[30s])")
    single_c = summed(single_prom, f"last_over_time({ADDITIVE}[30s])")
    buckets = ('last_over_time({__name__=~"ml_.+_bucket",__name__!~"ml_reference_.+",'
               f'model=~"{"|".join(REFERENCE_MODELS)}"}}[30s])')
    fleet_c.update(summed(fleet_prom, buckets))
    single_c.update(summed(single_prom, buckets))
    fleet_c.update(summed(fleet_prom, CATEGORIES))
    single_c.update(summed(single_prom, CATEGORIES))
    report = []
    before = len(failures)
    compare("additive series (sum over replicas)", fleet_c, single_c,
            (0.0, 1e-9), report, failures)
    log(f"1. {len(single_c)} additive series: the replicas' sums equal the single "
        f"exporter's{'' if len(failures) == before else ' -- NOT'}")

    # 2. recording rules
    for group, names in (("ratio", RATIO_RULES), ("quantile", QUANTILE_RULES),
                         ("drift", DRIFT_RULES)):
        for name in names:
            fleet_v = {key(labels): v for labels, v in st.query(fleet_prom, name, at)}
            single_v = {key(labels): v for labels, v in st.query(single_prom, name, at)}
            compare(name, fleet_v, single_v, TOLERANCE[group], report, failures)
    print("rule: series compared, largest |fleet - single|")
    for name, n, worst in report:
        print(f"  {name}: {n} series, {worst:.3g}")
    drift = st.query(single_prom, 'max(model_feature:ml_feature_drift:rate1h{method="psi"})', at)
    if not drift or not drift[0][1] > 0.1:
        failures.append(f"the shift did not move the drift scores (max PSI {drift})")
    else:
        log(f"largest feature PSI after the shift: {drift[0][1]:.3f}")


if __name__ == "__main__":
    sys.exit(main())
