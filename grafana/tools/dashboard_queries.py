"""Reading the queries out of Grafana dashboard JSON; shared by
check_dashboards.py and query_all.py. Standard library only."""
import json
import os
import re

# Identifiers in PromQL that are not metric names.
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "atan2", "inf", "nan", "le",
}

# Metrics Prometheus itself creates: scrape health and alert state.
PROMETHEUS_METRICS = {
    "up", "scrape_duration_seconds", "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling", "scrape_series_added",
    "ALERTS", "ALERTS_FOR_STATE",
}

HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

VARIABLE_RE = re.compile(r"\$(\{[A-Za-z0-9_]+(?::[a-z]+)?\}|[A-Za-z0-9_]+)")


def load_dashboards(directory):
    """(file name, parsed JSON) of every *.json file, sorted by name.
    Raises ValueError naming the file for invalid JSON."""
    out = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        path = os.path.join(directory, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            out.append((name, json.loads(text)))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{e.lineno}:{e.colno}: invalid JSON: "
                             f"{e.msg}") from e
    return out


def all_panels(dashboard):
    """Every panel, rows' nested panels included, in order."""
    for p in dashboard.get("panels", []):
        yield p
        for q in p.get("panels", []) or []:
            yield q


class Query:
    """One PromQL expression of a dashboard and where it is."""

    def __init__(self, dashboard, where, expr, kind, instant=False,
                 panel=None, ref=""):
        self.dashboard = dashboard  # file name
        self.where = where          # human-readable location
        self.expr = expr
        self.kind = kind            # "panel", "variable", "annotation"
        self.instant = instant
        self.panel = panel
        self.ref = ref


LABEL_VALUES_RE = re.compile(r"^\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$",
                             re.S)


def variable_query_text(variable):
    q = variable.get("query")
    if isinstance(q, dict):
        q = q.get("query", "")
    return q or ""


def variable_selector(variable):
    """For label_values(selector, label): (selector, label), else None."""
    m = LABEL_VALUES_RE.match(variable_query_text(variable))
    return (m.group(1).strip(), m.group(2)) if m else None


def queries(name, dashboard):
    """Every PromQL expression: panel targets, query variables (the
    selector of label_values) and annotation queries."""
    out = []
    for p in all_panels(dashboard):
        for t in p.get("targets", []) or []:
            if "expr" in t:
                out.append(Query(
                    name, f'panel {p.get("id")} "{p.get("title")}" target '
                    f'{t.get("refId")}', t["expr"], "panel",
                    instant=bool(t.get("instant")), panel=p,
                    ref=t.get("refId", "")))
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            sel = variable_selector(v)
            if sel:
                out.append(Query(name, f'variable "{v["name"]}"', sel[0],
                                 "variable"))
            else:
                out.append(Query(name, f'variable "{v["name"]}"',
                                 variable_query_text(v), "variable"))
    for a in dashboard.get("annotations", {}).get("list", []):
        if a.get("expr"):
            out.append(Query(name, f'annotation "{a.get("name")}"', a["expr"],
                             "annotation", instant=False))
    return out


def substitute(expr, values, rate_interval="1m", range_="5m",
               interval="15s"):
    """Replaces Grafana variables: $__rate_interval, $__range, $__interval
    and the dashboard variables in `values` (name -> regex text)."""
    def repl(m):
        name = m.group(1)
        if name.startswith("{"):
            name = name[1:-1].split(":")[0]
        if name == "__rate_interval":
            return rate_interval
        if name in ("__range", "__range_s"):
            return range_
        if name in ("__interval", "__interval_ms"):
            return interval
        if name in values:
            return values[name]
        return m.group(0)
    return VARIABLE_RE.sub(repl, expr)


def strip_strings(expr):
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)


def metric_names(expr):
    """Metric names an expression reads. Sound for the PromQL the
    generator writes: selectors, functions, aggregations with by/without,
    vector matching with on/ignoring/group_left/group_right."""
    e = strip_strings(expr)
    e = re.sub(r"\{[^}]*\}", " ", e)            # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)           # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)",
               " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w.$])([A-Za-z_:][A-Za-z0-9_:]*)\s*(\()?", e):
        ident, call = m.group(1), m.group(2)
        if call or ident in KEYWORDS:
            continue
        names.add(ident)
    return names


def base_metric(name, known):
    """The family a series name belongs to (histogram suffixes removed
    when the base name is known)."""
    if name in known:
        return name
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name[:-len(suffix)] in known:
            return name[:-len(suffix)]
    return name
