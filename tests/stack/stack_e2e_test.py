#!/usr/bin/env python3
"""ctest stack_e2e: the whole stack as a user runs it, on 127.0.0.1.

  ml_exporter (examples/configs/demo.yaml, reference profiles of the demo
  models from `mltool profile` of a fault-free simulated stream)
    <- mltool simulate (every scenario, 60 requests/s, a few client bugs)
  Prometheus "shipped": the shipped rule files of alerts/, verbatim
  Prometheus "fast":    the same files with every `for:` at 1s and the rate
                        windows [5m] [10m] [30m] [1h] at [20s], and
                        Alertmanager (alerts/alertmanager.yml, receivers
                        pointed at the webhook, group_wait/interval 1s)
                          -> mltool webhook (logs every notification)

Asserted through the Prometheus HTTP API, in order:
  1. `up` is 1 for the exporter;
  2. every ml_ metric family that README.md, docs/metrics.md,
     docs/collectors/*.md and docs/drift.md name is scraped;
  3. every recording rule of alerts/ returns data (all groups but
     ml_exporter.host, which needs node_exporter), and every rule (alerting
     ones too) evaluates without error;
  4. every Grafana dashboard query returns data (grafana/tools/query_all.py);
  5. no alert of the faults below is firing in normal traffic; then the
     faults null_outputs and latency run for 40 s: MLOutputNullRatioHigh
     and MLLatencyP99High of asr/decoder fire and reach the webhook through
     the routes of alertmanager.yml, and both resolve (resolved
     notifications at the webhook) once the faults stop.

The fast copy exists because the shipped windows make a fault take minutes
to leave a 5m rate (and `for:` up to 1h); the expressions are otherwise
the shipped ones, and the shipped files are checked verbatim in 1-4.
Bounded: every wait has a deadline, the whole run --timeout seconds.
Everything started is stopped at the end, pass or fail.

  stack_e2e_test.py --exporter BIN --mltool BIN --prometheus BIN \\
      --alertmanager BIN --workdir DIR
"""
import argparse
import datetime
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import stack as st  # noqa: E402

REPO = st.REPO
FAULT_START = 100   # simulated seconds: after the coverage checks
FAULT_LENGTH = 40
FAST_WINDOW = "20s"
EXPECTED = [  # (fault, alert, labels it must carry)
    ("null_outputs", "MLOutputNullRatioHigh",
     {"model": "asr", "stage": "decoder", "feature": "transcript",
      "severity": "critical"}),
    ("latency", "MLLatencyP99High",
     {"model": "asr", "stage": "decoder", "severity": "warning"}),
]
# Recording rules that stay empty with examples/configs/demo.yaml, and why
# (the test fails if one of them has data, so that this list is kept true).
# None: vision's `score` output has no explicit `buckets:` in demo.yaml, so
# it takes its reference profile's edges and the bin-based output PSI and
# Jensen-Shannon of drift.rules.yml have reference bins to join.
KNOWN_EMPTY = set()
# Shown by the dashboards before the exporter exports it (grafana/CMakeLists.txt).
PENDING_METRICS = ""


def log(msg, started=[time.time()]):  # noqa: B006 - start time, once
    print(f"[{time.time() - started[0]:5.1f}s] {msg}", flush=True)


def documented_families():
    """ml_ metric names the documentation gives (README's table, the
    metrics, collector and drift pages)."""
    files = [os.path.join(REPO, "README.md"),
             os.path.join(REPO, "docs", "metrics.md"),
             os.path.join(REPO, "docs", "drift.md")]
    files += glob.glob(os.path.join(REPO, "docs", "collectors", "*.md"))
    names = set()
    for path in files:
        with open(path, encoding="utf-8") as f:
            for code in re.findall(r"`([^`]*)`", f.read()):
                for m in re.finditer(r"\bml_[a-z0-9_]*[a-z0-9](?![a-z0-9_*:])", code):
                    names.add(m.group(0))
    names.discard("ml_exporter")  # the program
    return sorted(names)


def base_family(name):
    return re.sub(r"_(bucket|count|sum)$", "", name)


def check_families(prom):
    scraped = {r[0]["__name__"] for r in st.query(
        prom, 'count by (__name__) (last_over_time({__name__=~"ml_.+"}[10m]))')}
    scraped_base = {base_family(n) for n in scraped}
    missing = [n for n in documented_families()
               if n not in scraped and base_family(n) not in scraped_base]
    return missing


def recording_rules_without_data(prom):
    """'group: record{labels}' of every recording rule with no data, and
    every rule whose last evaluation failed."""
    bad = []
    for g in st.rule_groups(prom):
        for r in g["rules"]:
            if r.get("health") != "ok":
                bad.append(f'{g["name"]}: {r["name"]}: health {r.get("health")}: '
                           f'{r.get("lastError")}')
                continue
            if r["type"] != "recording" or g["name"] == "ml_exporter.host":
                continue
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(r.get("labels", {}).items()))
            sel = f'{r["name"]}{{{labels}}}'
            has_data = bool(st.query(prom, f"last_over_time({sel}[1m])"))
            if has_data == (sel in KNOWN_EMPTY):
                bad.append(f'{g["name"]}: {sel}: '
                           + ("data, although listed in KNOWN_EMPTY" if has_data
                              else "no data"))
    return bad


def notifications(path, alert, status, after=0):
    """Notifications of `alert` with `status` the webhook logged at or after
    Unix time `after`."""
    return [n for n in st.read_jsonl(path)
            if n.get("alertname") == alert and n.get("alert", {}).get("status") == status
            and note_time(n) >= after]


def note_time(note):
    return datetime.datetime.strptime(note["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def matching(notes, labels):
    return [n for n in notes
            if all(n["alert"]["labels"].get(k) == v for k, v in labels.items())]


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exporter", required=True)
    p.add_argument("--mltool", required=True)
    p.add_argument("--prometheus", default=shutil.which("prometheus"))
    p.add_argument("--alertmanager", default=shutil.which("prometheus-alertmanager")
                   or shutil.which("alertmanager"))
    p.add_argument("--workdir", required=True)
    p.add_argument("--plugin", action="append", default=[],
                   help="a collector plugin (.so) to load too (the plugin "
                        "panels and ml_exporter_plugin_info); repeatable")
    p.add_argument("--rate", type=float, default=60)
    p.add_argument("--timeout", type=float, default=330)
    a = p.parse_args()
    for b in (a.exporter, a.mltool, a.prometheus, a.alertmanager):
        if not b or not os.access(b, os.X_OK):
            print(f"not an executable: {b!r}")
            return 2
    shutil.rmtree(a.workdir, ignore_errors=True)
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(
        st.StackError(f"the whole test took more than {a.timeout:.0f}s")))
    signal.alarm(int(a.timeout))
    failures = []
    with st.Stack(a.workdir, a.exporter, a.mltool, a.prometheus,
                  a.alertmanager) as s:
        try:
            run(s, a, failures)
        except st.StackError as e:
            failures.append(str(e))
        finally:
            signal.alarm(0)
        if failures:
            print(s.tail_logs())
    for f in failures:
        print("FAIL: " + f)
    if not failures:
        log("PASS")
    return 1 if failures else 0


def run(s, a, failures):
    rules = sorted(glob.glob(os.path.join(REPO, "alerts", "*.rules.yml")) +
                   glob.glob(os.path.join(REPO, "alerts", "*.alerts.yml")))
    fast = [st.fast_rules(r, os.path.join(a.workdir, "fast-" + os.path.basename(r)),
                          "1s", {w: FAST_WINDOW for w in ("5m", "10m", "30m", "1h")})
            for r in rules]

    log("reference profiles of asr, vision, churn (mltool simulate | mltool profile)")
    refs = s.make_profiles(["asr", "vision", "churn"])
    config = os.path.join(REPO, "examples", "configs", "demo.yaml")
    if a.plugin:  # the demo configuration plus a plugins: section
        with open(config, encoding="utf-8") as f:
            text = f.read()
        config = os.path.join(a.workdir, "demo_with_plugins.yaml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(text.rstrip("\n") + "\n\nplugins:\n" + "".join(
                f"  - path: {os.path.abspath(x)}\n" for x in a.plugin))
    exporter = s.start_exporter("ml_exporter", config=config,
                                extra=["--reference=" + refs])
    webhook, webhook_log = s.start_webhook()
    with open(os.path.join(REPO, "alerts", "alertmanager.yml"), encoding="utf-8") as f:
        am_config = f.read()
    am_config = am_config.replace("http://127.0.0.1:9095", webhook)
    am_config = re.sub(r"(group_wait|group_interval): .*", r"\1: 1s", am_config)
    alertmanager = s.start_alertmanager("alertmanager", am_config)
    shipped = s.start_prometheus("prometheus-shipped", {"ml_exporter": [exporter]}, rules)
    fastp = s.start_prometheus("prometheus-fast", {"ml_exporter": [exporter]}, fast,
                               alertmanager=alertmanager)
    faults = [f"{kind}@{FAULT_START}+{FAULT_LENGTH}" for kind, _, _ in EXPECTED]
    s.simulate("simulate", [exporter], a.rate, duration=FAULT_START + FAULT_LENGTH + 120,
               faults=faults, extra=["--invalid_fraction", "0.003"])
    started = time.time()
    log(f"exporter {exporter}, prometheus shipped {shipped} fast {fastp}, "
        f"alertmanager {alertmanager}, webhook {webhook}; faults {', '.join(faults)}")

    # 1. up
    st.wait_until("up == 1", 30, lambda: st.query(shipped, 'up{job="ml_exporter"} == 1'))
    log("up is 1")

    # 2. documented families (the drift windows and histogram warm-up
    # need a few tens of seconds of traffic)
    missing = []

    def families_ok():
        missing[:] = check_families(shipped)
        return not missing
    try:
        st.wait_until("every documented ml_ family scraped", 80, families_ok, 3)
        log(f"all {len(documented_families())} documented ml_ families are scraped")
    except st.StackError as e:
        failures.append(f"documented families never scraped ({e}): " + ", ".join(missing))

    # 3. recording rules
    bad = []

    def rules_ok():
        bad[:] = recording_rules_without_data(shipped)
        return not bad
    try:
        st.wait_until("every recording rule has data", 40, rules_ok, 3)
        count = sum(1 for g in st.rule_groups(shipped) for r in g["rules"]
                    if r["type"] == "recording" and g["name"] != "ml_exporter.host")
        log(f"{count - len(KNOWN_EMPTY)} of {count} recording rules (but "
            f"ml_exporter.host) have data, the {len(KNOWN_EMPTY)} of KNOWN_EMPTY "
            "none; every rule healthy")
    except st.StackError as e:
        failures.append(f"recording rules ({e}):\n  " + "\n  ".join(bad))

    # 4. dashboards
    cmd = [sys.executable, os.path.join(REPO, "grafana", "tools", "query_all.py"),
           "--prometheus", shipped, "--rate-interval", "20s", "--range", "2m",
           "--interval", "5s", "--optional-metrics", PENDING_METRICS]
    deadline = started + FAULT_START - 5
    while True:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode == 0 or time.time() > deadline:
            break
        time.sleep(3)
    summary = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr
    if r.returncode != 0:
        failures.append("dashboard queries:\n" + r.stdout[-4000:] + r.stderr[-1000:])
    else:
        log("dashboards: " + summary)

    # 5. faults -> alerts -> webhook -> resolved
    alerts = [alert for _, alert, _ in EXPECTED]
    quiet_until = started + FAULT_START - 2
    while time.time() < quiet_until:
        firing = st.query(fastp, 'ALERTS{alertstate="firing",alertname=~"%s",model="asr"}'
                          % "|".join(alerts))
        if firing:
            failures.append(f"firing before the faults: {firing}")
            break
        time.sleep(2)
    for _, alert, labels in EXPECTED:
        if matching(notifications(webhook_log, alert, "firing"), labels):
            failures.append(f"{alert} reached the webhook before its fault")
    log(f"normal traffic: {', '.join(alerts)} quiet; faults start")
    fault_start = started + FAULT_START
    fault_end = fault_start + FAULT_LENGTH
    for kind, alert, labels in EXPECTED:
        try:
            note = st.wait_until(
                f"{alert} {labels} firing at the webhook after fault {kind}",
                max(5, fault_end - time.time()),
                lambda: matching(notifications(webhook_log, alert, "firing",
                                               fault_start), labels))[0]
            log(f"{kind}: {alert} fired, {time.time() - started - FAULT_START:.0f}s "
                f"into the fault, receiver {note['receiver']}: "
                f"{note['alert']['annotations'].get('summary')}")
        except st.StackError as e:
            failures.append(str(e))
    for kind, alert, labels in EXPECTED:
        try:
            st.wait_until(f"{alert} resolved at the webhook after fault {kind} stopped",
                          max(5, fault_end + 90 - time.time()),
                          lambda: matching(notifications(webhook_log, alert, "resolved",
                                                         fault_end), labels))
            log(f"{kind}: {alert} resolved, {time.time() - fault_end:.0f}s after "
                "the fault stopped")
        except st.StackError as e:
            failures.append(str(e))


if __name__ == "__main__":
    sys.exit(main())
