"""The whole ml_exporter stack on 127.0.0.1 for the end-to-end tests:
ml_exporter replicas, `mltool simulate`, Prometheus, Alertmanager and the
`mltool webhook` receiver, each on a free port, each in its own process
group, all stopped (SIGTERM, then SIGKILL) when the `with` block ends,
whatever happened inside it. Standard library only.

    with Stack(workdir, binaries) as s:
        url = s.start_exporter("exporter", config=..., extra=[...])
        prom = s.start_prometheus("prometheus", {"ml_exporter": [url]}, rules)
        s.simulate("traffic", [url], rate=60, duration=90, faults=[...])
        s.query(prom, "up")
"""
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                     "..", ".."))


class StackError(Exception):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode("utf-8", "replace")


def wait_until(what, timeout, check, interval=0.5):
    """Polls check() until it returns a true value, which is returned;
    StackError after `timeout` seconds (with the last exception, if any)."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            v = check()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - reported on timeout
            last = e
        time.sleep(interval)
    raise StackError(f"{what}: not within {timeout:.0f}s"
                     + (f" (last error: {last})" if last else ""))


class Stack:
    def __init__(self, workdir, exporter, mltool, prometheus=None,
                 alertmanager=None):
        self.workdir = workdir
        self.exporter = exporter
        self.mltool = mltool
        self.prometheus = prometheus
        self.alertmanager = alertmanager
        self.procs = []  # (name, Popen, log path)
        os.makedirs(workdir, exist_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- processes -------------------------------------------------------------
    def spawn(self, name, args, cwd=None):
        log = os.path.join(self.workdir, name + ".log")
        with open(log, "w") as f:
            p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, cwd=cwd,
                                 start_new_session=True)
        self.procs.append((name, p, log))
        return p

    def proc(self, name):
        for n, p, _ in self.procs:
            if n == name:
                return p
        raise KeyError(name)

    def log(self, name):
        for n, _, path in self.procs:
            if n == name:
                with open(path, encoding="utf-8", errors="replace") as f:
                    return f.read()
        return ""

    def tail_logs(self, lines=25):
        out = []
        for name, _, path in self.procs:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read().splitlines()[-lines:]
            except OSError:
                continue
            out.append(f"--- {name}.log (last {lines} lines)\n" + "\n".join(text))
        return "\n".join(out)

    def stop_one(self, name, timeout=10):
        for n, p, _ in self.procs:
            if n == name and p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()

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
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()

    def _wait_ready(self, name, url, timeout):
        p = self.proc(name)

        def ready():
            if p.poll() is not None:
                raise StackError(f"{name} exited ({p.returncode}):\n"
                                 + self.log(name)[-3000:])
            try:
                return http_get(url, timeout=2)[0] == 200
            except OSError:
                return False
        try:
            wait_until(f"{name} ready at {url}", timeout, ready, 0.2)
        except StackError as e:
            if "exited" in str(e):
                raise
            raise StackError(f"{e}\n{self.log(name)[-3000:]}") from None

    # --- the servers -------------------------------------------------------------
    def start_exporter(self, name, config=None, extra=(), timeout=30):
        """ml_exporter on a free port (it picks one: port 0); its base URL."""
        args = [self.exporter, "--listen_address=127.0.0.1:0"]
        if config:
            args.append("--config=" + config)
        p = self.spawn(name, args + list(extra))

        def port():
            if p.poll() is not None:
                raise StackError(f"{name} exited ({p.returncode}):\n"
                                 + self.log(name)[-3000:])
            m = re.search(r"port=(\d+)", self.log(name))
            return m and m.group(1)
        url = "http://127.0.0.1:" + wait_until(f"{name} port", timeout, port, 0.1)
        self._wait_ready(name, url + "/-/ready", timeout)
        return url

    def start_webhook(self, name="webhook", extra=(), timeout=20):
        """`mltool webhook` logging to WORKDIR/NAME.jsonl; (URL, log path)."""
        port = free_port()
        path = os.path.join(self.workdir, name + ".jsonl")
        self.spawn(name, [self.mltool, "webhook", "--listen",
                          f"127.0.0.1:{port}", "--log", path] + list(extra))
        url = f"http://127.0.0.1:{port}"
        self._wait_ready(name, url + "/-/healthy", timeout)
        return url, path

    def start_alertmanager(self, name, config_text, timeout=30):
        port = free_port()
        cfg = os.path.join(self.workdir, name + ".yml")
        with open(cfg, "w") as f:
            f.write(config_text)
        self.spawn(name, [self.alertmanager, "--config.file=" + cfg,
                          "--storage.path=" + os.path.join(self.workdir, name + "-data"),
                          f"--web.listen-address=127.0.0.1:{port}",
                          "--cluster.listen-address=", "--log.level=warn"])
        url = f"http://127.0.0.1:{port}"
        self._wait_ready(name, url + "/-/ready", timeout)
        return url

    def start_prometheus(self, name, jobs, rule_files=(), alertmanager=None,
                         interval="1s", timeout=40):
        """Prometheus scraping jobs {job: [base URL, ...]} every `interval`
        and evaluating `rule_files` as often; its base URL."""
        port = free_port()
        cfg = os.path.join(self.workdir, name + ".yml")
        text = ("global:\n"
                f"  scrape_interval: {interval}\n"
                f"  evaluation_interval: {interval}\n"
                "rule_files:\n" + "".join(f"  - {r}\n" for r in rule_files))
        if alertmanager:
            host = alertmanager.split("//", 1)[1]
            text += ("alerting:\n  alertmanagers:\n"
                     f"    - static_configs: [{{targets: ['{host}']}}]\n")
        text += "scrape_configs:\n"
        for job, urls in jobs.items():
            targets = ", ".join(f"'{u.split('//', 1)[1]}'" for u in urls)
            text += (f"  - job_name: {job}\n"
                     f"    static_configs: [{{targets: [{targets}]}}]\n")
        with open(cfg, "w") as f:
            f.write(text)
        self.spawn(name, [self.prometheus, "--config.file=" + cfg,
                          "--storage.tsdb.path=" + os.path.join(self.workdir, name + "-data"),
                          f"--web.listen-address=127.0.0.1:{port}",
                          "--storage.tsdb.retention.time=1h",
                          "--rules.alert.resend-delay=1s", "--log.level=warn"])
        url = f"http://127.0.0.1:{port}"
        self._wait_ready(name, url + "/-/ready", timeout)
        return url

    # --- traffic ----------------------------------------------------------------
    def simulate(self, name, urls, rate, duration=None, seed=1, faults=(),
                 scenario="all", extra=()):
        args = [self.mltool, "simulate", "--url", ",".join(urls),
                "--rate", str(rate), "--seed", str(seed),
                "--scenario", scenario, "--batch", "25"]
        if duration:
            args += ["--duration", str(duration)]
        for f in faults:
            args += ["--fault", f]
        return self.spawn(name, args + list(extra))

    def make_profiles(self, models, count=6000, seed=99,
                      scenario="speech_recognizer,visual_inspection,structured_data"):
        """Reference profiles of `models` from a fault-free simulated
        stream; the value of ml_exporter's --reference flag."""
        train = os.path.join(self.workdir, "train.ndjson")
        subprocess.run([self.mltool, "simulate", "--output", train, "--fast",
                        "--count", str(count), "--seed", str(seed),
                        "--scenario", scenario, "--start_time", "1800000000"],
                       check=True, capture_output=True, timeout=120)
        refs = []
        for m in models:
            out = os.path.join(self.workdir, m + ".profile")
            subprocess.run([self.mltool, "profile", "--input=" + train,
                            "--model=" + m, "--output=" + out],
                           check=True, capture_output=True, timeout=120)
            refs.append(f"{m}={out}")
        return ",".join(refs)


# --- Prometheus HTTP API ----------------------------------------------------------
def prom_api(base, path, params=None, timeout=30):
    """The `data` of a Prometheus API answer: POSTed with params (long
    queries do not fit in a URL), a GET without."""
    if params:
        data = urllib.parse.urlencode(params, doseq=True).encode()
        req = urllib.request.Request(
            base + path, data=data, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
    else:
        req = urllib.request.Request(base + path)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        try:
            body = json.load(e)
        except ValueError:
            raise StackError(f"{path}: HTTP {e.code}") from None
    if body.get("status") != "success":
        raise StackError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
    return body["data"]


def query(base, expr, at=None):
    """Instant query: [(labels dict, float value)]."""
    params = {"query": expr}
    if at is not None:
        params["time"] = at
    data = prom_api(base, "/api/v1/query", params)
    if data["resultType"] == "scalar":
        return [({}, float(data["result"][1]))]
    return [(r["metric"], float(r["value"][1])) for r in data["result"]]


def rule_groups(base):
    return prom_api(base, "/api/v1/rules")["groups"]


def read_jsonl(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def fast_rules(src, dst, for_duration="1s", windows=None):
    """A copy of rule file `src` at `dst` with every `for:` set to
    `for_duration` and, with `windows` ({"5m": "30s", ...}), those range
    windows replaced; everything else as shipped."""
    with open(src, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"^(\s+for: ).*$", r"\g<1>" + for_duration, text, flags=re.M)
    for old, new in (windows or {}).items():
        text = text.replace(f"[{old}]", f"[{new}]")
    with open(dst, "w", encoding="utf-8") as f:
        f.write(text)
    return dst
