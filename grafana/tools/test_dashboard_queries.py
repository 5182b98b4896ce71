#!/usr/bin/env python3
"""ctest: every dashboard query returns data from a real Prometheus.

Starts, on 127.0.0.1, the real ml_exporter with examples/configs/demo.yaml
(with --mltool: and reference profiles of the demo models from
`mltool profile`), feeds it examples/stream/generate_stream.py --full
--shift, and starts a real
Prometheus that scrapes it every 2 s with the alerts/ rule files loaded.
After --settle seconds it runs query_all.py (variables resolved against
Prometheus, $__rate_interval = 20s) and repeats every few seconds until
every query has data or --deadline passes; the last report is printed.

  test_dashboard_queries.py --exporter build/ml_exporter \\
      --mltool build/mltool --prometheus /usr/bin/prometheus \\
      --workdir build/grafana/queries
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import demo_stack  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exporter", required=True)
    p.add_argument("--mltool", help="build reference profiles with it")
    p.add_argument("--plugin", action="append", default=[],
                   help="a collector plugin (.so) to load too, for the "
                        "plugin panels; repeatable")
    p.add_argument("--prometheus", default=shutil.which("prometheus"))
    p.add_argument("--config", default=os.path.join(
        demo_stack.REPO, "examples", "configs", "demo.yaml"))
    p.add_argument("--workdir", required=True)
    p.add_argument("--settle", type=float, default=35,
                   help="seconds of traffic before the first attempt")
    p.add_argument("--deadline", type=float, default=100,
                   help="give up this many seconds after the start")
    p.add_argument("--rate", type=float, default=150, help="stream lines/s")
    p.add_argument("--optional-metrics", default="")
    a = p.parse_args()
    if not a.prometheus:
        print("prometheus not found (apt-get install prometheus)")
        return 1
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    if a.plugin:
        # The demo configuration plus a plugins: section.
        with open(a.config, encoding="utf-8") as f:
            text = f.read()
        config = os.path.join(a.workdir, "demo_with_plugins.yaml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(text.rstrip("\n") + "\n\nplugins:\n" + "".join(
                f"  - path: {os.path.abspath(x)}\n" for x in a.plugin))
        a.config = config
    start = time.time()
    with demo_stack.DemoStack(a.workdir, a.exporter, a.config) as stack:
        refs = stack.make_profiles(a.mltool) if a.mltool else None
        if refs:
            stack.extra_args.append("--reference=" + refs)
        start = time.time()  # the deadline counts from the exporter's start
        stack.start_exporter()
        stack.start_stream(rate=a.rate, duration=a.deadline + 30, shift=True)
        prom = stack.start_prometheus(a.prometheus, demo_stack.rule_files())
        print(f"ml_exporter {stack.exporter_url}, prometheus {prom}, "
              f"rules: {', '.join(os.path.basename(r) for r in demo_stack.rule_files())}, "
              f"references: {refs or 'none'}")
        time.sleep(max(0.0, a.settle - (time.time() - start)))
        cmd = [sys.executable, os.path.join(HERE, "query_all.py"),
               "--prometheus", prom, "--rate-interval", "20s",
               "--range", "2m", "--interval", "5s"]
        if a.optional_metrics:
            cmd += ["--optional-metrics", a.optional_metrics]
        attempt = 0
        while True:
            attempt += 1
            r = subprocess.run(cmd, capture_output=True, text=True)
            elapsed = time.time() - start
            if r.returncode != 1 or elapsed + 8 > a.deadline:
                break
            time.sleep(5)
        print(f"attempt {attempt} after {elapsed:.0f} s:")
        print(r.stdout + r.stderr)
        if r.returncode != 0:
            for name in ("ml_exporter", "generate_stream", "prometheus"):
                log = stack.log(name)
                if log.strip():
                    print(f"--- {name} log (last 2000 characters) ---")
                    print(log[-2000:])
        return r.returncode


if __name__ == "__main__":
    sys.exit(main())
