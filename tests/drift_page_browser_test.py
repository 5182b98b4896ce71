#!/usr/bin/env python3
"""ctest: the /drift page renders in a real browser (headless Chromium).

Starts the real ml_exporter with examples/configs/demo.yaml on 127.0.0.1
(with --mltool: and reference profiles of the demo models built by
`mltool profile` from the example stream), feeds it
examples/stream/generate_stream.py --full --shift for a few seconds, then
loads /drift in headless Chromium twice: --dump-dom (the page must hold the
charts, one <svg> per feature, and no error markers: NaN, inf, console
errors) and --screenshot (saved as OUT/drift-view.png; a PNG of the window
size that is not blank). With references it also checks that the
reference distributions are drawn and that the shifted features are
flagged. Chromium may only reach 127.0.0.1.

  drift_page_browser_test.py --exporter build/ml_exporter \\
      --mltool build/mltool --chromium /usr/bin/chromium \\
      --out build/tests/drift_page
"""
import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(REPO, "grafana", "tools"))
import demo_stack  # noqa: E402

WIDTH, HEIGHT = 1280, 1600


def chromium(binary, args, timeout=90):
    with tempfile.TemporaryDirectory() as profile:
        cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--disable-background-networking",
               "--disable-component-update", "--disable-sync",
               "--disable-default-apps", "--disable-extensions",
               "--disable-domain-reliability", "--no-first-run", "--no-pings",
               "--no-default-browser-check", "--hide-scrollbars",
               # No name resolves: nothing but 127.0.0.1 can be reached.
               "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
               "--enable-logging=stderr", "--v=0",
               f"--user-data-dir={profile}"] + args
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout)


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def series(metrics, name, **labels):
    """Lines of the exposition for `name` with these label values."""
    return [line for line in metrics.splitlines()
            if line.startswith(name + "{")
            and all(f'{k}="{v}"' in line for k, v in labels.items())]


def data_ready(metrics, with_reference):
    """Whether the exposition has what the checks need; else why not."""
    features = {re.search(r'model="([^"]*)".*feature="([^"]*)"', line).groups()
                for line in series(metrics, "ml_feature_observations_total")}
    if len(features) < 12:
        return False, f"{len(features)} features seen, waiting for 12"
    if not with_reference:
        return True, ""
    for feature in ("brightness", "snr_db"):
        if not series(metrics, "ml_feature_drift", feature=feature, method="psi"):
            return False, f"no PSI of {feature} yet"
    refs = {re.search(r'feature="([^"]*)"', line).group(1)
            for line in series(metrics, "ml_reference_feature_value_count")}
    if len(refs) < 5:
        return False, f"reference histograms of {len(refs)} features, waiting for 5"
    return True, ""


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exporter", required=True)
    p.add_argument("--mltool", help="build reference profiles with it")
    p.add_argument("--chromium", default=shutil.which("chromium"))
    p.add_argument("--config", default=os.path.join(REPO, "examples", "configs",
                                                    "demo.yaml"))
    p.add_argument("--out", required=True)
    p.add_argument("--seconds", type=float, default=12,
                   help="seconds of traffic at least before the page is loaded")
    p.add_argument("--timeout", type=float, default=90,
                   help="seconds to wait at most for the data the checks need")
    a = p.parse_args()
    if not a.chromium:
        print("chromium not found (apt-get install chromium)")
        return 1
    shutil.rmtree(a.out, ignore_errors=True)
    os.makedirs(a.out)
    failures = []

    def check(ok, what):
        print(("ok    " if ok else "FAIL  ") + what)
        if not ok:
            failures.append(what)

    with demo_stack.DemoStack(os.path.join(a.out, "stack"), a.exporter,
                              a.config) as stack:
        refs = stack.make_profiles(a.mltool) if a.mltool else None
        print("reference profiles: " + (refs or "none (no mltool profile)"))
        if refs:
            stack.extra_args.append("--reference=" + refs)
        url = stack.start_exporter()
        start = time.time()
        stack.start_stream(rate=250, duration=a.timeout + 30, shift=True)
        time.sleep(2)
        # A first view, so that the next ones can show a window.
        urllib.request.urlopen(url + "/drift", timeout=10).read()
        # Then wait for what the checks need (a loaded machine feeds the
        # exporter slowly): values of every demo feature and, with
        # references, the reference histograms and drift scores of the
        # shifted features.
        ready, why = False, ""
        while not ready and time.time() - start < a.timeout:
            time.sleep(1)
            ready, why = data_ready(demo_stack.http_get(url + "/metrics")[1],
                                    bool(refs))
            ready = ready and time.time() - start >= a.seconds
        print(f"after {time.time() - start:.0f} s: " +
              ("the metrics the checks need are there" if ready else why))

        status, landing = demo_stack.http_get(url + "/")
        check(status == 200 and 'href="/drift"' in landing,
              "the landing page links to /drift")
        with urllib.request.urlopen(url + "/drift", timeout=10) as r:
            page = r.read().decode()
            check(r.status == 200 and r.headers.get_content_type() == "text/html",
                  "GET /drift answers 200 text/html")
        with open(os.path.join(a.out, "drift.html"), "w") as f:
            f.write(page)

        r = chromium(a.chromium, ["--dump-dom", url + "/drift"])
        dom = r.stdout
        with open(os.path.join(a.out, "drift.dom.html"), "w") as f:
            f.write(dom)
        with open(os.path.join(a.out, "chromium-dump-dom.log"), "w") as f:
            f.write(r.stderr)
        check(r.returncode == 0, f"chromium --dump-dom exits 0 ({r.returncode})")
        sections = len(re.findall(r'<section class="feature', dom))
        charts = len(re.findall(r"<svg", dom))
        check(sections >= 8, f"{sections} feature sections (at least 8: the "
              "demo models' features)")
        check(charts >= sections - 2,
              f"{charts} charts for {sections} features")
        check(len(re.findall(r'class="live"', dom)) >= 20,
              "live distribution bars are drawn")
        check("<table class=\"summary\">" in dom, "the summary table is there")
        for feature in ("audio_seconds", "brightness", "age", "country"):
            check(f">{feature}</a>" in dom, f"feature {feature} is shown")
        if refs:
            check(len(re.findall(r'class="reference"', dom)) >= 20,
                  "reference distributions are drawn")
            check("id=\"no-reference\"" not in dom, "no 'no reference' note")
            for feature in ("brightness", "snr_db"):  # shifted by --shift
                m = re.search(r'<section class="feature alert"[^>]*><h2>[^<]*'
                              r'<small>[^<]*</small>\s*(?:&middot;|\u00b7)\s*<a [^>]*>' +
                              feature + "</a>", dom)
                check(m is not None, f"shifted feature {feature} is flagged")
            check(re.search(r">brightness</a></td><td class=\"bad\">", dom)
                  is not None, "brightness is over its drift threshold")
        text = re.sub(r"<[^>]*>", " ", dom)
        for marker in ("NaN", "nan%", "inf%", "undefined"):
            check(marker not in text, f"no {marker!r} in the page text")
        console_errors = [line for line in r.stderr.splitlines()
                          if "CONSOLE" in line and ("ERROR" in line or
                                                    "Failed" in line)]
        check(not console_errors, "no console errors: " + " | ".join(console_errors))

        shot = os.path.join(a.out, "drift-view.png")
        r = chromium(a.chromium, [f"--screenshot={shot}",
                                  f"--window-size={WIDTH},{HEIGHT}",
                                  url + "/drift"])
        with open(os.path.join(a.out, "chromium-screenshot.log"), "w") as f:
            f.write(r.stderr)
        check(r.returncode == 0 and os.path.exists(shot),
              f"chromium --screenshot wrote {shot}")
        if os.path.exists(shot):
            check(png_size(shot) == (WIDTH, HEIGHT),
                  f"the screenshot is a {WIDTH}x{HEIGHT} PNG ({png_size(shot)})")
            check(os.path.getsize(shot) > 40_000,
                  f"the screenshot is not blank ({os.path.getsize(shot)} bytes)")
        # One model: categories and missing values (docs/dashboards.md).
        shot = os.path.join(a.out, "drift-view-churn.png")
        r = chromium(a.chromium, [f"--screenshot={shot}",
                                  f"--window-size={WIDTH},1100",
                                  url + "/drift?model=churn"])
        check(r.returncode == 0 and os.path.exists(shot),
              f"chromium --screenshot wrote {shot}")
    print(f"output in {a.out}")
    if failures:
        print(f"{len(failures)} checks failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
