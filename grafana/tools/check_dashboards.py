#!/usr/bin/env python3
"""Checks the Grafana dashboards without a Grafana server (run by ctest).

  grafana/tools/check_dashboards.py [--promtool PATH] [--repo DIR]

Verifies, for every grafana/dashboards/*.json:

  * it is what generate_dashboards.py writes (edit the generator, not the
    JSON);
  * it is valid JSON with what Grafana needs: uid, title, schemaVersion,
    panels with unique ids and a gridPos inside the 24-column grid, targets
    with a refId and an expr on every data panel;
  * conventions: a `datasource` template variable of type datasource that
    every panel, target, variable and annotation queries through (no
    ${DS_...} import placeholders: file provisioning cannot resolve them;
    no __inputs, import works without it); model/version/stage/feature
    variables multi-select with All; a unit and a description on every
    panel; stable, unique uids; rate() and irate() over $__rate_interval,
    increase() over $__rate_interval or $__range, no fixed range anywhere;
    a threshold series on a panel is an alert rule's own threshold
    expression from alerts/ml_exporter.alerts.yml (configured
    ml_alert_threshold, or the rule's default) and the rule's constant
    default is also a Grafana threshold of the panel;
    alert annotations (ALERTS);
  * every PromQL expression (targets, variable selectors, annotations),
    variables substituted with sample values, parses: they are written
    into a temporary rule file as recording rules and `promtool check
    rules` must accept it;
  * every metric an expression reads is one the exporter exports or a
    recording rule defines. The exporter's metrics are the names
    documented in docs/*.md and docs/collectors/*.md (the documentation is
    the contract: a metric a dashboard uses must be documented), the rules'
    are the `record:` names of alerts/*.yml, plus the series Prometheus
    makes itself (up, ALERTS, ...);
  * the provisioning files in grafana/provisioning/ point at the
    dashboards and a Prometheus data source;
  * the panel reference in docs/dashboards.md is the generator's (the
    panels' own descriptions).

Exit status 0 when all hold; otherwise every problem is printed, one per
line, and the status is 1.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import dashboard_queries as dq  # noqa: E402
import generate_dashboards as gen  # noqa: E402

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
MODEL_VARIABLES = ("model", "version", "stage", "feature", "output")
NO_UNIT_TYPES = {"row", "text"}
# Grafana unit ids (packages/grafana-data/src/valueFormats/categories.ts)
# the dashboards may use; a typo would silently show raw numbers.
GRAFANA_UNITS = {
    "none", "short", "percent", "percentunit", "s", "ms", "bytes", "reqps",
    "ops", "bool_yes_no", "bool_on_off", "dB", "hertz", "pixel", "dtdurations",
    "locale", "sci",
}

# Sample values for the variables when checking that expressions parse.
SAMPLE_VALUES = {
    "datasource": "prometheus", "model": "asr|vision", "version": ".*",
    "stage": "decoder", "feature": "audio_seconds", "output": "transcript",
    "drift_method": "psi", "job": "ml_exporter", "instance": ".*",
    "exporter_url": "http://127.0.0.1:9710",
}


class Problems:
    def __init__(self):
        self.items = []

    def add(self, where, what):
        self.items.append(f"{where}: {what}")


def documented_metrics(repo):
    """Metric names documented in docs/ (not docs/dashboards.md, which
    describes the dashboards and would make the check circular)."""
    names = set()
    files = sorted(glob.glob(os.path.join(repo, "docs", "*.md")) +
                   glob.glob(os.path.join(repo, "docs", "*", "*.md")))
    for path in files:
        if os.path.basename(path) == "dashboards.md":
            continue
        with open(path, encoding="utf-8") as f:
            text = f.read()
        names.update(re.findall(r"\b((?:ml|process)_[a-z0-9_]+)\b", text))
    return names


def recording_rules(repo):
    """`record:` names of alerts/*.yml and alerts/*.yaml."""
    names = set()
    for path in sorted(glob.glob(os.path.join(repo, "alerts", "*.y*ml"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"\s*-?\s*record:\s*['\"]?([A-Za-z_:][A-Za-z0-9_:]*)",
                             line)
                if m:
                    names.add(m.group(1))
    return names


def check_structure(name, d, problems, seen_uids):
    where = name
    for key, kind in (("uid", str), ("title", str), ("schemaVersion", int),
                      ("panels", list), ("templating", dict)):
        if not isinstance(d.get(key), kind):
            problems.add(where, f'"{key}" missing or not a {kind.__name__}')
    uid = d.get("uid", "")
    if isinstance(uid, str):
        if not re.fullmatch(r"ml-[a-z0-9-]{1,37}", uid):
            problems.add(where, f'uid "{uid}" is not a stable ml-... uid of '
                         "at most 40 characters")
        if uid in seen_uids:
            problems.add(where, f'uid "{uid}" also used by {seen_uids[uid]}')
        seen_uids[uid] = name
    if "__inputs" in d:
        problems.add(where, "has __inputs: import placeholders are not "
                     "needed with the datasource variable")
    text = json.dumps(d)
    if "${DS_" in text or "$DS_" in text:
        problems.add(where, "uses a ${DS_...} import placeholder, which file "
                     "provisioning cannot resolve; use ${datasource}")

    variables = {v.get("name"): v for v in
                 d.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.add(where, 'no template variable "datasource" of type '
                     'datasource for prometheus')
    for v in variables.values():
        if v.get("type") == "query":
            if v.get("datasource") != DATASOURCE:
                problems.add(where, f'variable "{v["name"]}" does not query '
                             "${datasource}")
            if v.get("name") in MODEL_VARIABLES and not (
                    v.get("multi") and v.get("includeAll")):
                problems.add(where, f'variable "{v["name"]}" is not '
                             "multi-select with All")
    if "model" in variables:
        for needed in ("version", "stage"):
            if needed not in variables:
                problems.add(where, f'has "model" but no "{needed}" variable')
    anns = d.get("annotations", {}).get("list", [])
    if not any("ALERTS" in (a.get("expr") or "") for a in anns):
        problems.add(where, "no alert annotation (ALERTS) query")
    for a in anns:
        if a.get("expr") and a.get("datasource") != DATASOURCE:
            problems.add(where, f'annotation "{a.get("name")}" does not query '
                         "${datasource}")

    ids = set()
    for p in dq.all_panels(d):
        pw = f'{name}: panel {p.get("id")} "{p.get("title")}"'
        pid = p.get("id")
        if not isinstance(pid, int):
            problems.add(pw, "no integer id")
        elif pid in ids:
            problems.add(pw, "duplicate panel id")
        ids.add(pid)
        if not p.get("type"):
            problems.add(pw, "no type")
        if not p.get("title"):
            problems.add(pw, "no title")
        g = p.get("gridPos")
        if not isinstance(g, dict) or not all(
                isinstance(g.get(k), int) for k in ("h", "w", "x", "y")):
            problems.add(pw, "gridPos needs integer h, w, x, y")
        elif g["x"] < 0 or g["w"] < 1 or g["x"] + g["w"] > 24 or g["h"] < 1:
            problems.add(pw, f"gridPos {g} is outside the 24-column grid")
        if p.get("type") == "row":
            continue
        if not p.get("description"):
            problems.add(pw, "no description")
        if p.get("type") in NO_UNIT_TYPES:
            continue
        unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit")
        if not unit:
            problems.add(pw, "no unit (fieldConfig.defaults.unit)")
        elif unit not in GRAFANA_UNITS:
            problems.add(pw, f'unit "{unit}" is not a Grafana unit id this '
                         "check knows (GRAFANA_UNITS)")
        if p.get("datasource") != DATASOURCE:
            problems.add(pw, "does not query ${datasource}")
        targets = p.get("targets") or []
        if not targets:
            problems.add(pw, "no targets")
        refs = set()
        for t in targets:
            if not t.get("refId") or t["refId"] in refs:
                problems.add(pw, f'target refId "{t.get("refId")}" missing '
                             "or repeated")
            refs.add(t.get("refId"))
            if not t.get("expr"):
                problems.add(pw, f'target {t.get("refId")} has no expr')
            if t.get("datasource") != DATASOURCE:
                problems.add(pw, f'target {t.get("refId")} does not query '
                             "${datasource}")
        check_thresholds(p, pw, problems)
        if p.get("repeat") and p["repeat"] not in variables:
            problems.add(pw, f'repeats by unknown variable "{p["repeat"]}"')
    for p in d.get("panels", []):
        if p.get("type") == "row" and p.get("repeat") and \
                p["repeat"] not in variables:
            problems.add(f'{name}: row "{p.get("title")}"',
                         f'repeats by unknown variable "{p["repeat"]}"')


INJECTED_RE = re.compile(
    r"(model_feature:ml_alert_(?:threshold:max|value:current))\{[^}]*?, "
    r'((?:metric=~?"[^"]*"|bound="[^"]*"|field="[^"]*")'
    r'(?:, (?:bound|field)="[^"]*")*)\}')


def threshold_parts(expr):
    """The alert threshold expressions a threshold target draws, with the
    dashboard's own label matchers removed, and whether the rule's default
    can apply (not when the dashboard selects another metric)."""
    parts = []
    for part in re.split(r"\)\s*or\s*\(", " ".join(expr.split())):
        part = part.strip().removeprefix("(").removesuffix(")")
        reachable = True
        for sel in re.findall(r"ml_alert_value:current\{([^}]*)\}", part):
            wanted = set(re.findall(r'(?<![\w])metric="([^"]*)"', sel))
            if len(wanted) > 1:
                reachable = False
        parts.append((INJECTED_RE.sub(r"\1{\2}", part), reachable))
    return parts


def check_thresholds(panel, where, problems):
    """A target drawing a threshold must draw the alert rules' threshold
    expression (configured ml_alert_threshold or the rule's default), and
    the panel's Grafana thresholds must include the rules' constant
    defaults."""
    alert_exprs = set(gen.load_alert_thresholds().values())
    steps = panel.get("fieldConfig", {}).get("defaults", {}).get(
        "thresholds", {}).get("steps", [])
    values = {s.get("value") for s in steps}
    for t in panel.get("targets", []):
        expr = t.get("expr", "")
        if "ml_alert_threshold" not in expr:
            continue
        for part, reachable in threshold_parts(expr):
            if part not in alert_exprs:
                problems.add(where, f"target {t.get('refId')} draws a "
                             "threshold that is not an alert rule's in "
                             f"{gen.ALERT_THRESHOLDS_SOURCE}: {part}")
                continue
            m = gen.DEFAULT_RE.search(part)
            if m and reachable and float(m.group(1)) not in values:
                problems.add(where, "its Grafana thresholds lack the alert "
                             f"rule's default {m.group(1)}")


RANGE_RE = re.compile(r"\b(rate|irate|increase|delta|idelta|deriv|"
                      r"[a-z_]+_over_time|changes|resets)\s*\(")


def check_ranges(q, problems):
    expr = dq.strip_strings(q.expr)
    for m in re.finditer(r"\[([^\]]*)\]", expr):
        rng = m.group(1).strip()
        if rng not in ("$__rate_interval", "$__range"):
            problems.add(f"{q.dashboard}: {q.where}",
                         f"fixed range [{rng}]: use $__rate_interval "
                         "(or $__range for totals over the time range)")
    for m in RANGE_RE.finditer(expr):
        fn = m.group(1)
        depth, i = 1, m.end()
        while i < len(expr) and depth:
            depth += {"(": 1, ")": -1}.get(expr[i], 0)
            i += 1
        args = expr[m.end():i - 1]
        ranges = re.findall(r"\[([^\]]*)\]", args)
        if fn in ("rate", "irate") and any(r != "$__rate_interval"
                                           for r in ranges):
            problems.add(f"{q.dashboard}: {q.where}",
                         f"{fn}() must use [$__rate_interval]")


def check_metrics(all_queries, known, problems, pending=None):
    """One problem per unknown metric and dashboard, naming where it is
    used first. Metrics matching `pending` (a compiled regex: collectors
    being written) are listed as notes instead."""
    unknown = {}
    notes = set()
    for q in all_queries:
        for name in sorted(dq.metric_names(q.expr)):
            if dq.base_metric(name, known) not in known:
                if pending and pending.search(name):
                    notes.add(name)
                    continue
                unknown.setdefault((q.dashboard, name), []).append(q)
    for name in sorted(notes):
        print(f'note: metric "{name}" is not documented yet (--pending-metrics)')
    for (dash, name), qs in sorted(unknown.items()):
        more = f" (and {len(qs) - 1} more)" if len(qs) > 1 else ""
        problems.add(f"{dash}: {qs[0].where}{more}",
                     f'metric "{name}" is neither documented in docs/ nor a '
                     "recording rule in alerts/")


def check_promql(all_queries, promtool, problems):
    """Every expression, variables substituted, through promtool."""
    lines = ["groups:"]
    index = {}
    by_dashboard = {}
    for q in all_queries:
        by_dashboard.setdefault(q.dashboard, []).append(q)
    for g, (dash, qs) in enumerate(sorted(by_dashboard.items())):
        lines.append(f"  - name: {json.dumps(dash)}")
        lines.append("    rules:")
        for i, q in enumerate(qs):
            record = f"dashboard_check:q{g}_{i}"
            index[record] = q
            expr = dq.substitute(q.expr, SAMPLE_VALUES)
            lines.append(f"      - record: {record}")
            lines.append(f"        expr: {json.dumps(expr)}")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dashboard_queries.yml")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        r = subprocess.run([promtool, "check", "rules", path],
                           capture_output=True, text=True)
    if r.returncode != 0:
        output = (r.stdout + r.stderr).strip()
        blamed = False
        for line in output.splitlines():
            for record, q in index.items():
                if re.search(re.escape(record) + r"\b", line):
                    problems.add(f"{q.dashboard}: {q.where}",
                                 "PromQL does not parse: " + line.strip())
                    blamed = True
        if not blamed:
            problems.add("promtool check rules", output)
    return len(index)


def check_provisioning(repo, dashboards, problems):
    base = os.path.join(repo, "grafana", "provisioning")
    ds_files = glob.glob(os.path.join(base, "datasources", "*.y*ml"))
    db_files = glob.glob(os.path.join(base, "dashboards", "*.y*ml"))
    if not ds_files:
        problems.add(base, "no datasources/*.yml")
    if not db_files:
        problems.add(base, "no dashboards/*.yml")
    for path in ds_files:
        text = open(path, encoding="utf-8").read()
        if not re.search(r"^apiVersion:\s*1\s*$", text, re.M):
            problems.add(path, "needs apiVersion: 1")
        if not re.search(r"^\s+type:\s*prometheus\s*$", text, re.M):
            problems.add(path, "declares no prometheus data source")
        if "timeInterval" not in text:
            problems.add(path, "no jsonData.timeInterval (the scrape "
                         "interval $__rate_interval is computed from)")
    for path in db_files:
        text = open(path, encoding="utf-8").read()
        if not re.search(r"^apiVersion:\s*1\s*$", text, re.M):
            problems.add(path, "needs apiVersion: 1")
        if not re.search(r"^\s+type:\s*file\s*$", text, re.M):
            problems.add(path, "no provider of type file")
        if not re.search(r"^\s+path:\s*\S+", text, re.M):
            problems.add(path, "no options.path")


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repo", default=os.path.normpath(os.path.join(HERE, "..", "..")))
    p.add_argument("--promtool", default=shutil.which("promtool"))
    p.add_argument("--pending-metrics", default="",
                   help="regex of metric names that may be undocumented for "
                        "now (collectors being written); listed as notes")
    a = p.parse_args()
    problems = Problems()
    directory = os.path.join(a.repo, "grafana", "dashboards")

    generated = gen.generate()
    on_disk = sorted(f for f in os.listdir(directory) if f.endswith(".json"))
    for name in sorted(set(generated) | set(on_disk)):
        path = os.path.join(directory, name)
        if name not in generated:
            problems.add(path, "not written by generate_dashboards.py")
        elif name not in on_disk:
            problems.add(path, "missing; run grafana/tools/generate_dashboards.py")
        elif open(path, encoding="utf-8").read() != generated[name]:
            problems.add(path, "differs from generate_dashboards.py output; "
                         "edit the generator and run it")

    docs = os.path.join(a.repo, "docs", "dashboards.md")
    try:
        with open(docs, encoding="utf-8") as f:
            text = f.read()
        updated = gen.docs_with_reference(text)
        if updated is None:
            problems.add(docs, "has no generated panel reference markers")
        elif updated != text:
            problems.add(docs, "panel reference is out of date; run "
                         "grafana/tools/generate_dashboards.py --docs")
    except FileNotFoundError:
        problems.add(docs, "missing")

    try:
        dashboards = dq.load_dashboards(directory)
    except ValueError as e:
        print(e)
        return 1
    known = (documented_metrics(a.repo) | recording_rules(a.repo) |
             dq.PROMETHEUS_METRICS)
    seen_uids = {}
    all_queries = []
    for name, d in dashboards:
        check_structure(name, d, problems, seen_uids)
        for q in dq.queries(name, d):
            all_queries.append(q)
            check_ranges(q, problems)
    check_metrics(all_queries, known, problems,
                  re.compile(a.pending_metrics) if a.pending_metrics else None)
    check_provisioning(a.repo, dashboards, problems)
    if not a.promtool:
        problems.add("promtool", "not found (apt-get install prometheus); "
                     "PromQL not checked")
        parsed = 0
    else:
        parsed = check_promql(all_queries, a.promtool, problems)

    for item in problems.items:
        print(item)
    panels = sum(1 for _, d in dashboards for p in dq.all_panels(d)
                 if p.get("type") != "row")
    print(f"{len(dashboards)} dashboards, {panels} panels, {parsed} "
          f"expressions: {len(problems.items)} problems")
    return 1 if problems.items else 0


if __name__ == "__main__":
    sys.exit(main())
