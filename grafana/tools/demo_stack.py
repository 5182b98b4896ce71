"""A throw-away demo stack on 127.0.0.1 for tests: ml_exporter with a
configuration, the example stream feeding it, and optionally a Prometheus
that scrapes it with the alerts/ rule files loaded. Standard library only.

    with DemoStack(workdir, exporter=..., config=...) as stack:
        stack.start_exporter()
        stack.start_stream(rate=150, duration=60)
        stack.start_prometheus(prometheus_binary, rule_files)
        ...
Every process is started in its own process group and stopped (SIGTERM,
then SIGKILL) on exit.
"""
import glob
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                     "..", ".."))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode("utf-8", "replace")


class DemoStack:
    def __init__(self, workdir, exporter, config=None, extra_args=()):
        self.workdir = workdir
        self.exporter = exporter
        self.config = config
        self.extra_args = list(extra_args)
        self.procs = []  # (name, Popen, log path)
        self.exporter_url = None
        self.prometheus_url = None
        os.makedirs(workdir, exist_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _spawn(self, name, args):
        log = os.path.join(self.workdir, name + ".log")
        f = open(log, "w")
        p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        f.close()
        self.procs.append((name, p, log))
        return p, log

    def log(self, name):
        for n, _, path in self.procs:
            if n == name:
                with open(path, encoding="utf-8", errors="replace") as f:
                    return f.read()
        return ""

    def start_exporter(self, timeout=20):
        args = [self.exporter, "--listen_address=127.0.0.1:0"]
        if self.config:
            args.append("--config=" + self.config)
        p, log = self._spawn("ml_exporter", args + self.extra_args)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if p.poll() is not None:
                raise RuntimeError("ml_exporter exited:\n" + self.log("ml_exporter"))
            m = re.search(r"port=(\d+)", self.log("ml_exporter"))
            if m:
                self.exporter_url = f"http://127.0.0.1:{m.group(1)}"
                return self.exporter_url
            time.sleep(0.1)
        raise RuntimeError("ml_exporter did not report its port:\n" +
                           self.log("ml_exporter"))

    def start_stream(self, rate=150, duration=60, full=True, seed=1,
                     shift=False):
        args = [sys.executable, os.path.join(REPO, "examples", "stream",
                                             "generate_stream.py"),
                "--url", self.exporter_url, "--rate", str(rate),
                "--duration", str(duration), "--batch", "25",
                "--seed", str(seed)]
        if full:
            args.append("--full")
        if shift:
            args.append("--shift")
        return self._spawn("generate_stream", args)[0]

    def make_profiles(self, mltool, models=("asr", "vision", "churn"),
                      count=4000, seed=2):
        """Reference profiles of the demo models from the unshifted stream
        (`mltool profile`); returns the --reference flag value, or None if
        this mltool cannot profile."""
        r = subprocess.run([mltool, "profile", "--help"], capture_output=True)
        if r.returncode != 0:
            return None
        train = os.path.join(self.workdir, "train.ndjson")
        subprocess.run([sys.executable, os.path.join(
            REPO, "examples", "stream", "generate_stream.py"), "--full",
            "--count", str(count), "--seed", str(seed), "--output", train],
            check=True)
        refs = []
        for m in models:
            out = os.path.join(self.workdir, m + ".profile")
            subprocess.run([mltool, "profile", "--input=" + train,
                            "--model=" + m, "--output=" + out],
                           check=True, capture_output=True)
            refs.append(f"{m}={out}")
        return ",".join(refs)

    def start_prometheus(self, binary, rule_files=(), scrape_interval="2s",
                         timeout=30):
        port = free_port()
        data = os.path.join(self.workdir, "prometheus-data")
        cfg = os.path.join(self.workdir, "prometheus.yml")
        target = self.exporter_url.split("//", 1)[1]
        with open(cfg, "w") as f:
            f.write("global:\n"
                    f"  scrape_interval: {scrape_interval}\n"
                    f"  evaluation_interval: {scrape_interval}\n"
                    "rule_files:\n" +
                    "".join(f"  - {r}\n" for r in rule_files) +
                    "scrape_configs:\n"
                    "  - job_name: ml_exporter\n"
                    "    static_configs:\n"
                    f"      - targets: ['{target}']\n")
        p, _ = self._spawn("prometheus", [
            binary, "--config.file=" + cfg, "--storage.tsdb.path=" + data,
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
            "--storage.tsdb.retention.time=1h"])
        self.prometheus_url = f"http://127.0.0.1:{port}"
        deadline = time.time() + timeout
        while time.time() < deadline:
            if p.poll() is not None:
                raise RuntimeError("prometheus exited:\n" + self.log("prometheus"))
            try:
                if http_get(self.prometheus_url + "/-/ready")[0] == 200:
                    return self.prometheus_url
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("prometheus did not become ready:\n" +
                           self.log("prometheus"))

    def stop(self):
        for _, p, _ in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for _, p, _ in reversed(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.procs = []


def rule_files():
    """The recording and alerting rule files of alerts/."""
    return sorted(f for f in glob.glob(os.path.join(REPO, "alerts", "*.yml"))
                  if f.endswith((".rules.yml", ".alerts.yml")))
