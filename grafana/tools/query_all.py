#!/usr/bin/env python3
"""Runs every dashboard query against a real Prometheus; fails on no data.

  grafana/tools/query_all.py --prometheus http://127.0.0.1:9090
      [--dashboards grafana/dashboards] [--rate-interval 1m] [--range 15m]
      [--optional-metrics REGEX] [--verbose]

For each dashboard, the template variables are resolved first, the way
Grafana does: every label_values(selector, label) variable is asked of
Prometheus (its selector with the variables before it substituted), and
"All" becomes the alternation of the values found; a variable with no
values is itself a failure. Then every panel target runs, with
$__rate_interval, $__range and $__interval replaced: a range query over
the last --range (or an instant query for instant targets). A target whose
result is empty, or only NaN, is a failure.

--optional-metrics: targets that read a metric matching this regex and
return nothing are reported as skipped, not failed (for collectors a
deployment does not run). Annotation queries (ALERTS) are not run: no alert
firing is the normal case.

Exit status: 0 when every query returned data, 1 otherwise (each failing
query listed with the expression that was sent), 2 when Prometheus cannot
be reached. Standard library only.
"""
import argparse
import json
import math
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dashboard_queries as dq  # noqa: E402


class Prometheus:
    def __init__(self, url, timeout=30):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def get(self, path, params, post=True):
        """The `data` of a Prometheus API answer. Queries are POSTed (long
        expressions do not fit in a URL)."""
        query = urllib.parse.urlencode(params, doseq=True)
        if post:
            req = urllib.request.Request(
                f"{self.url}{path}", data=query.encode(), method="POST",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
        else:
            req = urllib.request.Request(f"{self.url}{path}?{query}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            try:
                body = json.load(e)
            except Exception:  # noqa: BLE001
                raise RuntimeError(f"HTTP {e.code} from {path}") from e
        if body.get("status") != "success":
            raise RuntimeError(f'{body.get("errorType")}: {body.get("error")}')
        return body["data"]

    def label_values(self, selector, label, start, end):
        data = self.get("/api/v1/series",
                        {"match[]": selector, "start": start, "end": end})
        return sorted({s[label] for s in data if label in s})

    def query(self, expr, instant, start, end, step):
        if instant:
            return self.get("/api/v1/query", {"query": expr, "time": end})
        return self.get("/api/v1/query_range", {
            "query": expr, "start": start, "end": end, "step": step})


def has_data(data):
    """True if a query result holds at least one number that is not NaN."""
    def number(v):
        try:
            return not math.isnan(float(v))
        except ValueError:
            return False
    result = data.get("result")
    if data.get("resultType") in ("scalar", "string"):
        return bool(result) and number(result[1])
    for series in result or []:
        points = series.get("values") or (
            [series["value"]] if "value" in series else [])
        if any(number(v) for _, v in points):
            return True
    return False


def regex_escape(value):
    """Escapes a label value for a regex inside a PromQL string literal, as
    Grafana does: RE2 metacharacters get a backslash, itself escaped for
    the string (a.b -> a\\\\.b)."""
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\\\1", value)


def resolve_variables(prom, dashboard, args, start, end, failures):
    """Variable name -> substitution text."""
    values = {}
    for v in dashboard.get("templating", {}).get("list", []):
        name = v.get("name")
        kind = v.get("type")
        if kind == "datasource":
            values[name] = "prometheus"
        elif kind in ("custom", "textbox", "constant"):
            cur = (v.get("current") or {}).get("value")
            values[name] = cur if isinstance(cur, str) else v.get("query", "")
        elif kind == "query":
            sel = dq.variable_selector(v)
            if not sel:
                failures.append(f'variable "{name}": cannot run query '
                                f"{dq.variable_query_text(v)!r}")
                values[name] = ".*"
                continue
            selector = dq.substitute(sel[0], values, args.rate_interval,
                                     args.range, args.interval)
            try:
                found = prom.label_values(selector, sel[1], start, end)
            except RuntimeError as e:
                failures.append(f'variable "{name}": {selector}: {e}')
                found = []
            if not found:
                failures.append(f'variable "{name}": label_values({selector}, '
                                f"{sel[1]}) has no values")
                values[name] = ".*"
            else:
                values[name] = "|".join(regex_escape(x) for x in found)
                if args.verbose:
                    print(f"  ${name} = {', '.join(found)}")
    return values


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--prometheus", required=True, help="Prometheus base URL")
    p.add_argument("--dashboards", default=os.path.join(HERE, "..", "dashboards"))
    p.add_argument("--rate-interval", default="1m",
                   help="what $__rate_interval becomes (default 1m)")
    p.add_argument("--range", default="15m",
                   help="the dashboard time range: $__range and the span of "
                        "range queries (default 15m)")
    p.add_argument("--interval", default="15s",
                   help="$__interval and the step of range queries")
    p.add_argument("--optional-metrics", default="",
                   help="regex of metric names whose queries may be empty")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()

    prom = Prometheus(args.prometheus)
    try:
        prom.get("/api/v1/status/buildinfo", {}, post=False)
    except Exception as e:  # noqa: BLE001
        print(f"cannot reach Prometheus at {args.prometheus}: {e}",
              file=sys.stderr)
        return 2
    span = parse_duration(args.range)
    step = parse_duration(args.interval)
    end = time.time()
    start = end - span
    optional = re.compile(args.optional_metrics) if args.optional_metrics else None

    failures, skipped = [], []
    total = 0
    for name, dashboard in dq.load_dashboards(args.dashboards):
        if args.verbose:
            print(f"{name}:")
        var_failures = []
        values = resolve_variables(prom, dashboard, args, start, end,
                                   var_failures)
        failures += [f"{name}: {f}" for f in var_failures]
        for q in dq.queries(name, dashboard):
            if q.kind != "panel":
                continue
            total += 1
            expr = dq.substitute(q.expr, values, args.rate_interval,
                                 args.range, args.interval)
            try:
                ok = has_data(prom.query(expr, q.instant, start, end, step))
                error = ""
            except RuntimeError as e:
                ok, error = False, str(e)
            if ok:
                if args.verbose:
                    print(f"  ok    {q.where}")
                continue
            names = dq.metric_names(q.expr)
            line = (f"{name}: {q.where}: "
                    f"{error or 'no data'}\n    {expr.replace(chr(10), ' ')}")
            if not error and optional and any(optional.search(n) for n in names):
                skipped.append(line)
                if args.verbose:
                    print(f"  skip  {q.where}")
            else:
                failures.append(line)
                if args.verbose:
                    print(f"  FAIL  {q.where}")
    for s in skipped:
        print("skipped (optional metric): " + s)
    for f in failures:
        print("FAILED: " + f)
    print(f"{total} queries: {total - len(failures) - len(skipped)} with data, "
          f"{len(skipped)} skipped, {len(failures)} failures")
    return 1 if failures else 0


def parse_duration(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", text)
    if not m:
        raise SystemExit(f"bad duration {text!r}")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    return float(m.group(1)) * scale


if __name__ == "__main__":
    sys.exit(main())
