#!/usr/bin/env python3
"""Generates the Grafana dashboards of ml_exporter (grafana/dashboards/*.json).

The dashboards are written by this program, not by hand, so that the
conventions hold by construction: every panel queries the `datasource`
template variable (file provisioning cannot resolve ${DS_PROMETHEUS}
import placeholders), every rate() uses $__rate_interval, every panel has a
unit and a description, uids are stable, and the thresholds drawn on panels
are the alert rules' own: the threshold expressions and defaults are read
from alerts/ml_exporter.alerts.yml (see threshold_target).

  grafana/tools/generate_dashboards.py            rewrite grafana/dashboards/
  grafana/tools/generate_dashboards.py --check    exit 1 if they differ
  grafana/tools/generate_dashboards.py --out DIR  write elsewhere

Only the Python standard library is used. check_dashboards.py (run by
ctest) verifies that the committed JSON equals this program's output.
"""
import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DASHBOARD_DIR = os.path.normpath(os.path.join(HERE, "..", "dashboards"))

SCHEMA_VERSION = 39  # Grafana 10.x / 11.x dashboard JSON
TAG = "ml_exporter"
DS = {"type": "prometheus", "uid": "${datasource}"}

# Label matchers of the model variables, and the labels that identify a
# model in `by` clauses.
MVS = 'model=~"$model", version=~"$version", stage=~"$stage"'
BY = "model, version, stage"
LEGEND_MVS = "{{model}} {{version}} {{stage}}"

ALERTS_FILE = os.path.normpath(os.path.join(HERE, "..", "..", "alerts",
                                           "ml_exporter.alerts.yml"))


def load_alert_thresholds(path=ALERTS_FILE):
    """The threshold expressions of the threshold alerts, by alert name and
    bound: the parenthesised operand each alert compares its quantity with
    (configured ml_alert_threshold, or the rule's default where the
    configuration sets none). Panels draw exactly these, so what a panel
    shows as the threshold is what the alert fires on."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    out = {}
    for block in re.split(r"\n\s*- alert: ", text)[1:]:
        name = block.split("\n", 1)[0].strip()
        for m in re.finditer(
                r"group_left \(\)\s*\n\s*\(\s*\n(.*?)\n\s*\),\s*\n\s*"
                r'"bound", "(upper|lower)"', block, re.S):
            out[(name, m.group(2))] = " ".join(m.group(1).split())
    return out


ALERT_THRESHOLDS = load_alert_thresholds()
# A default that is a constant: `... + 0.05`.
DEFAULT_RE = re.compile(r"\+ ([0-9.]+(?:e-?[0-9]+)?)$")


def alert_default(alert, bound):
    """The alert's constant default for `bound`, or None."""
    m = DEFAULT_RE.search(ALERT_THRESHOLDS.get((alert, bound), ""))
    return float(m.group(1)) if m else None


DRIFT_METHODS = ["psi", "jensen_shannon", "ks", "wasserstein",
                 "wasserstein_normalized", "chi2_p_value"]


# --- building blocks ----------------------------------------------------------


def rate(metric, selector, interval="$__rate_interval"):
    return f"rate({metric}{{{selector}}}[{interval}])"


def ratio(num, den, by, selector, num_extra="", den_extra=""):
    """sum by (by) (rate(num)) / sum by (by) (rate(den))."""
    ns = selector + (", " + num_extra if num_extra else "")
    ds = selector + (", " + den_extra if den_extra else "")
    return (f"sum by ({by}) ({rate(num, ns)})\n"
            f"  / sum by ({by}) ({rate(den, ds)})")


def quantile(q, bucket_metric, by, selector):
    labels = f"{by}, le" if by else "le"
    return (f"histogram_quantile({q}, sum by ({labels}) "
            f"({rate(bucket_metric, selector)}))")


def target(expr, legend="", ref="A", instant=False, fmt="time_series",
           interval=""):
    t = {
        "datasource": DS,
        "editorMode": "code",
        "expr": expr,
        "format": fmt,
        "instant": instant,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "refId": ref,
    }
    if interval:
        t["interval"] = interval
    return t


def threshold_target(alert, matchers, legend, ref="T"):
    """The alert's thresholds (both bounds) as dashed series, restricted by
    `matchers` (injected into every series selector of the expression)."""
    parts = []
    for bound in ("upper", "lower"):
        expr = ALERT_THRESHOLDS.get((alert, bound))
        if expr is None:
            raise KeyError(f"alert {alert} has no {bound} threshold in "
                           f"{ALERT_THRESHOLDS_SOURCE}")
        parts.append("(" + inject(expr, matchers) + ")")
    return target("\n  or\n".join(parts), legend=legend, ref=ref)


ALERT_THRESHOLDS_SOURCE = "alerts/ml_exporter.alerts.yml"


def inject(expr, matchers):
    return re.sub(r"(model_feature:ml_alert_(?:threshold:max|value:current))\{",
                  lambda m: m.group(1) + "{" + matchers + ", ", expr)


def threshold_steps(alert):
    """Grafana threshold steps from the alert's constant defaults: red above
    an upper default, red below a lower one."""
    upper = alert_default(alert, "upper")
    lower = alert_default(alert, "lower")
    if lower is not None:
        steps = [{"color": "red", "value": None},
                 {"color": "green", "value": lower}]
    else:
        steps = [{"color": "green", "value": None}]
    if upper is not None:
        steps.append({"color": "red", "value": upper})
    return steps


def threshold_override(ref):
    """Threshold series: thin dashed red lines."""
    return {"matcher": {"id": "byFrameRefID", "options": ref},
            "properties": THRESHOLD_PROPERTIES}


THRESHOLD_PROPERTIES = [
    {"id": "color", "value": {"fixedColor": "red", "mode": "fixed"}},
    {"id": "custom.lineStyle", "value": {"dash": [10, 10], "fill": "dash"}},
    {"id": "custom.fillOpacity", "value": 0},
    {"id": "custom.lineWidth", "value": 1},
]
THRESHOLD_OVERRIDE = threshold_override("T")


class Dashboard:
    """Panels laid out left to right, top to bottom, on Grafana's 24-column
    grid; ids are assigned in order, so they are stable."""

    def __init__(self, uid, title, description, variables, links=()):
        self.uid = uid
        self.title = title
        self.description = description
        self.variables = variables
        self.links = list(links)
        self.panels = []
        self.x = 0
        self.y = 0
        self.row_height = 0

    def _place(self, w, h):
        if self.x + w > 24:
            self.x = 0
            self.y += self.row_height
            self.row_height = 0
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_height = max(self.row_height, h)
        return pos

    def row(self, title, repeat=None):
        if self.x:
            self.x = 0
            self.y += self.row_height
            self.row_height = 0
        p = {
            "collapsed": False,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
            "id": len(self.panels) + 1,
            "panels": [],
            "title": title,
            "type": "row",
        }
        if repeat:
            p["repeat"] = repeat
        self.y += 1
        self.panels.append(p)

    def add(self, kind, title, description, targets, unit, w=12, h=8,
            alert=None, options=None, field=None, overrides=(),
            links=(), transformations=None, decimals=None, min_value=None,
            max_value=None, steps=None):
        """A panel. `alert` names the alert rule whose constant defaults
        become the panel's Grafana thresholds (its threshold series is a
        target made by threshold_target); `steps` gives steps for panels no
        alert rule watches."""
        if any(t["refId"] == "T" for t in targets):
            overrides = list(overrides) + [THRESHOLD_OVERRIDE]
        defaults = {
            "color": {"mode": "palette-classic"},
            "unit": unit,
            "thresholds": {
                "mode": "absolute",
                "steps": (threshold_steps(alert) if alert
                          else steps or [{"color": "green", "value": None}]),
            },
        }
        if decimals is not None:
            defaults["decimals"] = decimals
        if min_value is not None:
            defaults["min"] = min_value
        if max_value is not None:
            defaults["max"] = max_value
        if links:
            defaults["links"] = list(links)
        custom = {}
        if kind == "timeseries":
            custom = {
                "drawStyle": "line",
                "fillOpacity": 10,
                "lineWidth": 1,
                "showPoints": "never",
                "spanNulls": False,
                # The alert's threshold is a series (threshold_target):
                # per model, configured or default. A static line of the
                # default would contradict a configured value.
                "thresholdsStyle": {"mode": "off"},
            }
        if kind == "heatmap":
            custom = {"hideFrom": {"legend": False, "tooltip": False,
                                   "viz": False},
                      "scaleDistribution": {"type": "linear"}}
        if field:
            custom.update(field)
        if custom:
            defaults["custom"] = custom
        if kind in ("stat", "bargauge") and (alert or steps):
            defaults["color"] = {"mode": "thresholds"}
        panel = {
            "datasource": DS,
            "description": description,
            "fieldConfig": {"defaults": defaults, "overrides": list(overrides)},
            "gridPos": self._place(w, h),
            "id": len(self.panels) + 1,
            "options": options if options is not None
            else default_options(kind),
            "targets": targets,
            "title": title,
            "type": kind,
        }
        if transformations:
            panel["transformations"] = transformations
        self.panels.append(panel)

    def text(self, title, description, content, w=24, h=3):
        self.panels.append({
            "description": description,
            "gridPos": self._place(w, h),
            "id": len(self.panels) + 1,
            "options": {"code": {"language": "plaintext",
                                 "showLineNumbers": False,
                                 "showMiniMap": False},
                        "content": content, "mode": "markdown"},
            "title": title,
            "type": "text",
        })

    def json(self):
        return {
            "annotations": {"list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                },
                {
                    "datasource": DS,
                    "enable": True,
                    "expr": ('ALERTS{alertstate="firing", '
                             + ('model=~"$model"' if has_var(self, "model")
                                else 'job=~"$job"') + "}"),
                    "iconColor": "red",
                    "name": "ml_exporter alerts",
                    "step": "60s",
                    "tagKeys": "severity,model,version,stage,feature",
                    "textFormat": "{{model}} {{version}} {{stage}} {{feature}}",
                    "titleFormat": "{{alertname}}",
                    "useValueForTime": False,
                },
            ]},
            "description": self.description,
            "editable": True,
            "fiscalYearStartMonth": 0,
            "graphTooltip": 1,
            "id": None,
            "links": self.links + [{
                "asDropdown": True,
                "icon": "external link",
                "includeVars": True,
                "keepTime": True,
                "tags": [TAG],
                "targetBlank": False,
                "title": "ML dashboards",
                "type": "dashboards",
            }],
            "panels": self.panels,
            "refresh": "30s",
            "schemaVersion": SCHEMA_VERSION,
            "tags": [TAG],
            "templating": {"list": self.variables},
            "time": {"from": "now-3h", "to": "now"},
            "timepicker": {},
            "timezone": "browser",
            "title": self.title,
            "uid": self.uid,
            "version": 1,
            "weekStart": "",
        }


def has_var(board, name):
    return any(v["name"] == name for v in board.variables)


def default_options(kind):
    reduce = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    if kind == "timeseries":
        return {"legend": {"calcs": [], "displayMode": "list",
                           "placement": "bottom", "showLegend": True},
                "tooltip": {"mode": "multi", "sort": "desc"}}
    if kind == "stat":
        return {"colorMode": "value", "graphMode": "area",
                "justifyMode": "auto", "orientation": "auto",
                "reduceOptions": reduce, "textMode": "auto"}
    if kind == "bargauge":
        return {"displayMode": "gradient", "minVizHeight": 10,
                "minVizWidth": 0, "orientation": "horizontal",
                "reduceOptions": reduce, "showUnfilled": True,
                "valueMode": "color"}
    if kind == "heatmap":
        return {
            "calculate": False,
            "cellGap": 1,
            "color": {"exponent": 0.5, "fill": "dark-orange",
                      "mode": "scheme", "reverse": False, "scale": "exponential",
                      "scheme": "Oranges", "steps": 64},
            "exemplars": {"color": "rgba(255,0,255,0.7)"},
            "filterValues": {"le": 1e-9},
            "legend": {"show": True},
            "rowsFrame": {"layout": "auto"},
            "tooltip": {"mode": "single", "showColorScale": False,
                        "yHistogram": True},
            "yAxis": {"axisPlacement": "left", "reverse": False},
        }
    if kind == "table":
        return {"cellHeight": "sm", "footer": {"show": False},
                "showHeader": True}
    if kind == "state-timeline":
        return {"alignValue": "left", "mergeValues": True,
                "rowHeight": 0.9, "showValue": "auto",
                "legend": {"displayMode": "list", "placement": "bottom",
                           "showLegend": True},
                "tooltip": {"mode": "single", "sort": "none"}}
    raise ValueError(kind)


# --- template variables -------------------------------------------------------


def datasource_variable():
    return {
        "current": {},
        "hide": 0,
        "includeAll": False,
        "label": "Data source",
        "multi": False,
        "name": "datasource",
        "options": [],
        "query": "prometheus",
        "refresh": 1,
        "regex": "",
        "skipUrlSync": False,
        "type": "datasource",
    }


def query_variable(name, label, query, multi=True, include_all=True,
                   hide=0):
    v = {
        "current": {},
        "datasource": DS,
        "definition": query,
        "hide": hide,
        "includeAll": include_all,
        "label": label,
        "multi": multi,
        "name": name,
        "options": [],
        "query": {"query": query,
                  "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2,  # on time range change: new models appear
        "regex": "",
        "skipUrlSync": False,
        "sort": 1,
        "type": "query",
    }
    if include_all:
        v["allValue"] = ".*"
    return v


def custom_variable(name, label, values, default):
    return {
        "current": {"selected": True, "text": default, "value": default},
        "hide": 0,
        "includeAll": False,
        "label": label,
        "multi": False,
        "name": name,
        "options": [{"selected": v == default, "text": v, "value": v}
                    for v in values],
        "query": ",".join(values),
        "skipUrlSync": False,
        "type": "custom",
    }


def textbox_variable(name, label, default):
    return {
        "current": {"selected": False, "text": default, "value": default},
        "hide": 0,
        "label": label,
        "name": name,
        "options": [{"selected": True, "text": default, "value": default}],
        "query": default,
        "skipUrlSync": False,
        "type": "textbox",
    }


def model_variables(source="ml_records_total"):
    return [
        datasource_variable(),
        query_variable("model", "Model", f"label_values({source}, model)"),
        query_variable("version", "Version",
                       f'label_values({source}{{model=~"$model"}}, version)'),
        query_variable(
            "stage", "Stage",
            f'label_values({source}{{model=~"$model", version=~"$version"}}, '
            "stage)"),
    ]


def detail_link(uid, slug, title, labels):
    """A data link to another dashboard, for the clicked series."""
    params = "&".join(f"var-{label}=${{__field.labels.{label}}}"
                      for label in labels)
    return {"targetBlank": False, "title": title,
            "url": f"/d/{uid}/{slug}?${{__url_time_range}}"
                   f"&${{datasource:queryparam}}&{params}"}


# --- the dashboards -----------------------------------------------------------
#
# Panels that show what an alert compares read the recording rules of
# alerts/ml_exporter.rules.yml (fixed windows, the very series the alert
# evaluates) and draw the alert's threshold; distributions and breakdowns
# use rate() over $__rate_interval.

DASHED = {"dash": [4, 6], "fill": "dash"}


def dotted(*refs):
    return [{"matcher": {"id": "byFrameRefID", "options": ref},
             "properties": [{"id": "custom.lineStyle",
                             "value": {"dash": [0, 10], "fill": "dot"}},
                            {"id": "custom.lineWidth", "value": 2}]}
            for ref in refs]


def dashed(*refs):
    return [{"matcher": {"id": "byFrameRefID", "options": ref},
             "properties": [{"id": "custom.lineStyle", "value": DASHED}]}
            for ref in refs]


def overview():
    d = Dashboard(
        "ml-overview", "ML / Overview",
        "Every model at a glance: traffic, errors, latency, load, the "
        "exporter's CPU and memory, and the features that drifted most or "
        "went missing. Click a series or bar to open the detail dashboard.",
        model_variables() + [custom_variable(
            "drift_method", "Drift method", DRIFT_METHODS[:5], "psi")])
    link_inputs = detail_link("ml-inputs", "ml-inputs",
                              "Inputs: ${__field.labels.model} / "
                              "${__field.labels.feature}",
                              ["model", "version", "stage", "feature"])
    link_outputs = detail_link("ml-outputs", "ml-outputs",
                               "Outputs and users: ${__field.labels.model}",
                               ["model", "version", "stage"])

    d.row("Now")
    d.add("stat", "Records per second",
          "Prediction records per second of the selected models, 5m rate "
          "(model:ml_records:rate5m).",
          [target(f"sum(model:ml_records:rate5m{{{MVS}}})", "records/s")],
          "reqps", w=6, h=4)
    d.add("stat", "Error ratio",
          "Share of the selected models' records with error=true over the "
          "last 5m. Red above the MLPredictionErrorRatioHigh default.",
          [target(f"sum(model:ml_prediction_errors:rate5m{{{MVS}}})\n"
                  f"  / sum(model:ml_records:rate5m{{{MVS}}})", "errors")],
          "percentunit", w=6, h=4, alert="MLPredictionErrorRatioHigh",
          decimals=2)
    d.add("stat", "Latency p99",
          "99th percentile of latency_seconds over all selected models, "
          "last 5m (from model_le:ml_latency_seconds_bucket:rate5m).",
          [target("histogram_quantile(0.99, sum by (le) "
                  f"(model_le:ml_latency_seconds_bucket:rate5m{{{MVS}}}))",
                  "p99")],
          "s", w=6, h=4)
    d.add("stat", "Models tracked",
          "Distinct (model, version, stage) triples the exporter tracks "
          "(ml_exporter_models); capped by max_models.",
          [target("max(ml_exporter_models)", "models")],
          "short", w=6, h=4, decimals=0)

    d.row("Traffic, errors, latency, load")
    d.add("timeseries", "Request rate",
          "Prediction records per second per model, version and stage "
          "(model:ml_records:rate5m). Dashed red: the MLRecordRateLow "
          "thresholds of the configuration (records_per_second; usually a "
          "lower bound that catches traffic stopping).",
          [target(f"model:ml_records:rate5m{{{MVS}}}", LEGEND_MVS),
           threshold_target("MLRecordRateLow", MVS,
                            "threshold " + LEGEND_MVS)],
          "reqps", w=12, links=[link_outputs], min_value=0)
    d.add("timeseries", "Error ratio",
          "Share of records with error=true per model "
          "(model:ml_prediction_errors:ratio_rate5m). Dashed red: the "
          "MLPredictionErrorRatioHigh threshold, configured error_ratio or "
          "the rule's default.",
          [target(f"model:ml_prediction_errors:ratio_rate5m{{{MVS}}}",
                  LEGEND_MVS),
           threshold_target("MLPredictionErrorRatioHigh", MVS,
                            "threshold " + LEGEND_MVS)],
          "percentunit", w=12, alert="MLPredictionErrorRatioHigh",
          min_value=0, links=[link_outputs])
    d.add("timeseries", "Latency quantiles",
          "p50, p90 and p99 of the records' latency_seconds per model "
          "(model_quantile:ml_latency_seconds:histogram_quantile_rate5m). "
          "Dashed red: the MLLatencyP99High threshold "
          "(latency_p99_seconds).",
          [target("model_quantile:ml_latency_seconds:histogram_quantile_rate5m"
                  f"{{{MVS}}}", "p{{quantile}} " + LEGEND_MVS),
           threshold_target("MLLatencyP99High", MVS,
                            "p99 threshold " + LEGEND_MVS)],
          "s", w=12, alert="MLLatencyP99High", min_value=0)
    d.add("timeseries", "Load",
          "Busy seconds per second over the configured capacity "
          "(model:ml_load:ratio_rate5m; models with `capacity` in the "
          "configuration): 1 is every worker busy all the time. Dashed red: "
          "the MLModelLoadHigh threshold.",
          [target(f"model:ml_load:ratio_rate5m{{{MVS}}}", LEGEND_MVS),
           threshold_target("MLModelLoadHigh", MVS,
                            "threshold " + LEGEND_MVS)],
          "percentunit", w=12, alert="MLModelLoadHigh", min_value=0)

    d.row("Exporter resources")
    d.add("timeseries", "CPU",
          "CPU time of the ml_exporter process per second of wall time "
          "(1 = one core busy), per instance.",
          [target("rate(process_cpu_seconds_total[$__rate_interval])\n"
                  "  * on (job, instance) group_left () "
                  "max by (job, instance) (ml_exporter_build_info)",
                  "{{instance}}")],
          "percentunit", w=12, min_value=0)
    d.add("timeseries", "Memory",
          "Resident and virtual memory of the ml_exporter process, per "
          "instance.",
          [target("process_resident_memory_bytes\n"
                  "  * on (job, instance) group_left () "
                  "max by (job, instance) (ml_exporter_build_info)",
                  "resident {{instance}}", "A"),
           target("process_virtual_memory_bytes\n"
                  "  * on (job, instance) group_left () "
                  "max by (job, instance) (ml_exporter_build_info)",
                  "virtual {{instance}}", "B")],
          "bytes", w=12, min_value=0)

    d.row("Worst features")
    d.add("bargauge", "Worst features by drift ($drift_method)",
          "The ten features with the highest drift score of the chosen "
          "method against the reference, now (ml_feature_drift, the largest "
          "over replicas, as the MLFeatureDrift alert takes it). Red above "
          "the alert's default drift_psi threshold. Click a bar to open the "
          "feature in ML / Inputs.",
          [target(f"topk(10, max by ({BY}, feature) (ml_feature_drift{{{MVS}, "
                  f'method="$drift_method"}}))',
                  "{{model}} {{stage}} {{feature}}", instant=True)],
          "short", w=8, h=10, alert="MLFeatureDrift", decimals=3,
          links=[link_inputs], min_value=0)
    d.add("bargauge", "Worst features by missing fraction",
          "The ten features most often missing (null, or absent after they "
          "were first seen) over the last 5m "
          "(model_feature:ml_feature_missing:ratio_rate5m). Red above the "
          "MLFeatureMissingRatioHigh default. Click a bar to open the "
          "feature in ML / Inputs.",
          [target("topk(10, model_feature:ml_feature_missing:ratio_rate5m"
                  f"{{{MVS}}})", "{{model}} {{stage}} {{feature}}",
                  instant=True)],
          "percentunit", w=8, h=10, alert="MLFeatureMissingRatioHigh",
          links=[link_inputs], min_value=0, max_value=1)
    d.add("bargauge", "Worst outputs by null fraction",
          "The ten outputs most often null or empty over the last 5m (the "
          "speech recognizer that returns nothing; "
          "model_output:ml_output_null:ratio_rate5m). Red above the "
          "MLOutputNullRatioHigh default. Click a bar for ML / Outputs and "
          "users.",
          [target("topk(10, model_output:ml_output_null:ratio_rate5m"
                  f"{{{MVS}}})", "{{model}} {{stage}} {{output}}",
                  instant=True)],
          "percentunit", w=8, h=10, alert="MLOutputNullRatioHigh",
          links=[link_outputs], min_value=0, max_value=1)
    return d


def inputs():
    feature_var = query_variable(
        "feature", "Feature",
        f"label_values(ml_feature_observations_total{{{MVS}}}, feature)")
    d = Dashboard(
        "ml-inputs", "ML / Inputs",
        "Per feature: the live distribution against the reference profile, "
        "the missing fraction, the category mix and the drift scores over "
        "time; then the audio, image and text measurements where the media "
        "collectors run. One row per selected feature.",
        model_variables() + [
            feature_var,
            textbox_variable("exporter_url", "ml_exporter URL",
                             "http://127.0.0.1:9710")],
        links=[{"asDropdown": False, "icon": "external link",
                "includeVars": False, "keepTime": False, "tags": [],
                "targetBlank": True,
                "title": "Distribution view (ml_exporter /drift)",
                "tooltip": "The exporter's built-in live-vs-reference view",
                "type": "link", "url": "${exporter_url}/drift"}])
    f = MVS + ', feature=~"$feature"'
    by_f = BY + ", feature"
    legend_f = "{{model}} {{stage}} {{feature}}"
    heatmap_options = dict(default_options("heatmap"),
                           yAxis={"axisPlacement": "left", "reverse": False,
                                  "unit": "short"})

    d.row("References")
    d.add("table", "Reference profiles",
          "Where each model's drift scores compare with: a reference "
          "profile file (source=profile) or the model's own first window "
          "of traffic (source=traffic), and the length of the sliding "
          "window the scores use (ml_drift_reference_info, "
          "ml_drift_window_seconds).",
          [target(f"max by ({BY}, source, path) "
                  f"(ml_drift_reference_info{{{MVS}}})",
                  instant=True, fmt="table", ref="A"),
           target(f"max by ({BY}) (ml_drift_window_seconds{{{MVS}}})",
                  instant=True, fmt="table", ref="B")],
          "short", w=24, h=5,
          transformations=[
              {"id": "merge", "options": {}},
              {"id": "organize", "options": {
                  "excludeByName": {"Time": True, "Value #A": True},
                  "renameByName": {"Value #B": "window seconds"}}}])

    d.row("Feature $feature", repeat="feature")
    d.add("heatmap", "Live distribution: $feature",
          "Values of the feature per second, by ml_feature_value histogram "
          "bucket (y: bucket upper bound). A band moving up or down is the "
          "distribution shifting; compare with the reference beside it. "
          "Numeric features only; the edges are learned at start-up, set in "
          "the configuration, or taken from the reference profile.",
          [target(f"sum by (le) ({rate('ml_feature_value_bucket', f)})",
                  "{{le}}", fmt="heatmap")],
          "short", w=8, h=9, options=heatmap_options)
    d.add("heatmap", "Reference distribution: $feature",
          "The reference profile's distribution of the feature on the same "
          "buckets (ml_reference_feature_value, exported by the drift "
          "collector from a `mltool profile` file): what the training data "
          "looked like. Empty without a reference profile.",
          [target(f"sum by (le) (ml_reference_feature_value_bucket{{{f}}})",
                  "{{le}}", fmt="heatmap")],
          "short", w=8, h=9, options=heatmap_options)
    d.add("timeseries", "Quantiles, live vs reference: $feature",
          "Median and 10th/90th percentiles of the live values (solid) and "
          "of the reference profile (dashed, flat). The live lines leaving "
          "the reference band is drift you can read in the feature's own "
          "unit.",
          [target(quantile(q, "ml_feature_value_bucket", by_f, f),
                  f"live p{int(q * 100)} " + legend_f, ref)
           for q, ref in ((0.1, "A"), (0.5, "B"), (0.9, "C"))] +
          [target(f"histogram_quantile({q}, sum by ({by_f}, le) "
                  f"(ml_reference_feature_value_bucket{{{f}}}))",
                  f"reference p{int(q * 100)} " + legend_f, ref)
           for q, ref in ((0.1, "R"), (0.5, "S"), (0.9, "U"))],
          "short", w=8, h=9, overrides=dashed("R", "S", "U"))
    d.add("timeseries", "Missing fraction: $feature",
          "Share of records in which the feature was null, or absent after "
          "it was first seen (model_feature:ml_feature_missing:ratio_rate5m). "
          "Dashed red: the MLFeatureMissingRatioHigh threshold "
          "(missing_ratio, configured or the rule's default).",
          [target(f"model_feature:ml_feature_missing:ratio_rate5m{{{f}}}",
                  legend_f),
           threshold_target("MLFeatureMissingRatioHigh", f,
                            "threshold " + legend_f)],
          "percentunit", w=8, alert="MLFeatureMissingRatioHigh", min_value=0)
    d.add("timeseries", "Category mix: $feature",
          "Share of each value among the feature's string and boolean "
          "values over the last 5m "
          "(model_feature_value:ml_feature_category:ratio_rate5m, solid), "
          "and in the reference profile "
          "(ml_reference_feature_category_ratio, dashed). __other__ "
          "collects values past max_label_values.",
          [target("model_feature_value:ml_feature_category:ratio_rate5m"
                  f"{{{f}}}", "{{value}} " + legend_f, "A"),
           target(f"max by ({by_f}, value) "
                  f"(ml_reference_feature_category_ratio{{{f}}})",
                  "reference {{value}} " + legend_f, "R")],
          "percentunit", w=8, min_value=0, max_value=1,
          overrides=dashed("R"))
    d.add("timeseries", "Commonest category and unseen values: $feature",
          "Share of the most common value "
          "(model_feature:ml_feature_category:max_ratio_rate5m; "
          "MLCategoryRatioHigh) and share of the window's values the "
          "reference never listed (ml_feature_unseen_category_ratio; "
          "MLUnseenCategoryRatioHigh). Dashed red: their thresholds.",
          [target("model_feature:ml_feature_category:max_ratio_rate5m"
                  f"{{{f}}}", "commonest " + legend_f, "A"),
           target(f"max by ({by_f}) "
                  f"(ml_feature_unseen_category_ratio{{{f}}})",
                  "unseen " + legend_f, "B"),
           threshold_target("MLCategoryRatioHigh", f,
                            "commonest threshold " + legend_f),
           threshold_target("MLUnseenCategoryRatioHigh", f,
                            "unseen threshold " + legend_f, ref="V")],
          "percentunit", w=8, min_value=0, max_value=1,
          overrides=[threshold_override("V")])
    d.add("timeseries", "Drift scores: $feature",
          "Drift of the feature's window of recent values against the "
          "reference, by method (ml_feature_drift, the largest over "
          "replicas): PSI, Jensen-Shannon distance, Kolmogorov-Smirnov "
          "statistic, Wasserstein distance (raw and over the reference's "
          "standard deviation); higher is more drift. Dotted: PSI, KS and "
          "Jensen-Shannon of the last hour summed over every replica, "
          "computed in PromQL (model_feature:ml_feature_drift:rate1h, "
          "alerts/drift.rules.yml). Dashed red: the MLFeatureDrift "
          "thresholds (configured drift_<method>, or the rule's PSI "
          "default).",
          [target(f"max by ({by_f}, method) (ml_feature_drift{{{f}, "
                  f'method!="chi2_p_value"}})',
                  "{{method}} " + legend_f),
           target(f"model_feature:ml_feature_drift:rate1h{{{f}}}",
                  "{{method}} all replicas 1h " + legend_f, "F"),
           threshold_target("MLFeatureDrift",
                            f + ', metric!="drift_chi2_p_value"',
                            "threshold {{metric}} " + legend_f)],
          "short", w=8, alert="MLFeatureDrift", min_value=0, decimals=3,
          overrides=dotted("F"))
    d.add("timeseries", "Chi-squared p-value: $feature",
          "p-value of a chi-squared test of the feature's recent values "
          "against the reference (ml_feature_drift{method=\"chi2_p_value\"}); "
          "low means the live distribution is unlikely under the reference. "
          "Dashed red: a configured drift_chi2_p_value threshold (usually a "
          "lower bound).",
          [target(f"min by ({by_f}) (ml_feature_drift{{{f}, "
                  f'method="chi2_p_value"}})', legend_f),
           threshold_target("MLFeatureDrift",
                            f + ', metric="drift_chi2_p_value"',
                            "threshold " + legend_f)],
          "percentunit", w=8, min_value=0, max_value=1, decimals=3)
    d.add("timeseries", "Values in the drift window: $feature",
          "Values of the feature in the drift collector's sliding window "
          "(ml_feature_window_values): the sample the scores are computed "
          "from. Below the collector's min_count there is no score.",
          [target(f"max by ({by_f}) (ml_feature_window_values{{{f}}})",
                  legend_f)],
          "short", w=8, min_value=0, decimals=0)

    d.row("Audio (audio collector)")
    media_hist(d, "audio", [
        ("ml_audio_duration_seconds", "Clip duration", "s",
         "Length of the audio clips."),
        ("ml_audio_rms_dbfs", "Loudness (RMS)", "dB",
         "RMS level in dBFS (0 is full scale); a gain change moves it."),
        ("ml_audio_peak_dbfs", "Peak level", "dB", "Peak level in dBFS."),
        ("ml_audio_clipped_ratio", "Clipped samples", "percentunit",
         "Share of samples at or above the clip level (distortion)."),
        ("ml_audio_silence_ratio", "Silence", "percentunit",
         "Share of the clip below the silence level (a dead microphone "
         "goes to 1)."),
        ("ml_audio_sample_rate_hertz", "Sample rate", "hertz",
         "Sample rate of the clips."),
    ])
    d.row("Images (image collector)")
    media_hist(d, "image", [
        ("ml_image_brightness_ratio", "Brightness", "percentunit",
         "Mean brightness, 0 black to 1 white; a new camera or lighting "
         "moves it."),
        ("ml_image_contrast_ratio", "Contrast", "percentunit",
         "Contrast (standard deviation of brightness)."),
        ("ml_image_width_pixels", "Width", "pixel", "Image width in pixels."),
        ("ml_image_height_pixels", "Height", "pixel",
         "Image height in pixels."),
        ("ml_image_overexposed_ratio", "Overexposed", "percentunit",
         "Share of pixels at the top of the range."),
        ("ml_image_underexposed_ratio", "Underexposed", "percentunit",
         "Share of pixels at the bottom of the range."),
    ])
    d.row("Text (text collector)")
    d.add("timeseries", "Empty texts",
          "Share of texts that were empty (ml_text_empty_total / "
          "ml_text_observations_total), per text field.",
          [target(ratio("ml_text_empty_total", "ml_text_observations_total",
                        by_f, MVS), legend_f)],
          "percentunit", w=8, min_value=0)
    media_hist(d, "text", [
        ("ml_text_length_characters", "Length (characters)", "none",
         "Text length in characters."),
        ("ml_text_length_tokens", "Length (tokens)", "none",
         "Text length in tokens (runs of non-whitespace)."),
        ("ml_text_non_ascii_ratio", "Non-ASCII share", "percentunit",
         "Share of non-ASCII characters; a change of language or encoding "
         "moves it."),
        ("ml_text_unknown_ratio", "Unknown characters", "percentunit",
         "Share of invalid, replacement, control or out-of-alphabet "
         "characters."),
    ])
    d.row("Decode errors")
    d.add("timeseries", "Blob decode errors",
          "Blobs the media collectors could not decode, per second, by "
          "media and reason (ml_blob_decode_errors_total): not base64, not "
          "a WAV/PNG/JPEG, unsupported format, truncated.",
          [target(f"sum by ({BY}, media, reason) "
                  f"({rate('ml_blob_decode_errors_total', MVS)})",
                  "{{media}} {{reason}} " + LEGEND_MVS)],
          "reqps", w=24, min_value=0)
    return d


def media_hist(d, media, metrics):
    # Not filtered by $feature: the media collectors' `feature` is a blob
    # or text field name, which the inputs collector does not list.
    f = MVS
    by_f = BY + ", feature"
    for name, title, unit, what in metrics:
        d.add("timeseries", title,
              what + f" Median (solid) and 10th/90th percentiles (dashed) of "
              f"{name} per {media} field; empty unless the {media} collector "
              "watches the model.",
              [target(quantile(0.5, name + "_bucket", by_f, f),
                      "p50 {{model}} {{feature}}", "A"),
               target(quantile(0.1, name + "_bucket", by_f, f),
                      "p10 {{model}} {{feature}}", "B"),
               target(quantile(0.9, name + "_bucket", by_f, f),
                      "p90 {{model}} {{feature}}", "C")],
              unit, w=8, overrides=dashed("B", "C"))


def outputs():
    d = Dashboard(
        "ml-outputs", "ML / Outputs and users",
        "What the model answered and what users did next: empty outputs, "
        "the class mix and confidence, accuracy once labels arrive, "
        "click-through, quick repeated queries and switches from voice to "
        "typing.",
        model_variables() + [query_variable(
            "output", "Output",
            f"label_values(ml_output_observations_total{{{MVS}}}, output)")])
    o = MVS + ', output=~"$output"'
    o_thr = MVS + ', feature=~"$output"'  # thresholds name outputs `feature`
    by_o = BY + ", output"
    legend_o = "{{model}} {{stage}} {{output}}"

    d.row("Outputs")
    d.add("timeseries", "Null-output fraction",
          "Share of records whose output was null, \"\", [] or absent "
          "(model_output:ml_output_null:ratio_rate5m), per output. Dashed "
          "red: the MLOutputNullRatioHigh threshold (null_output_ratio, "
          "configured or the rule's default).",
          [target(f"model_output:ml_output_null:ratio_rate5m{{{o}}}",
                  legend_o),
           threshold_target("MLOutputNullRatioHigh", o_thr,
                            "threshold {{model}} {{stage}} {{feature}}")],
          "percentunit", w=12, alert="MLOutputNullRatioHigh", min_value=0)
    d.add("timeseries", "Class mix",
          "Share of each value of the string and boolean outputs over the "
          "last 5m (model_output_value:ml_output_category:ratio_rate5m), "
          "stacked to 100% per output.",
          [target("model_output_value:ml_output_category:ratio_rate5m"
                  f"{{{o}}}", "{{value}} " + legend_o)],
          "percentunit", w=12, min_value=0, max_value=1,
          field={"stacking": {"group": "A", "mode": "normal"},
                 "fillOpacity": 60})
    d.add("timeseries", "Share of the commonest class",
          "The largest class share per output "
          "(model_output:ml_output_category:max_ratio_rate5m): a classifier "
          "that starts answering one class for everything goes towards 1. "
          "Dashed red: the MLCategoryRatioHigh threshold (category_ratio).",
          [target(f"model_output:ml_output_category:max_ratio_rate5m{{{o}}}",
                  legend_o),
           threshold_target("MLCategoryRatioHigh", o_thr,
                            "threshold {{model}} {{stage}} {{feature}}")],
          "percentunit", w=12, alert="MLCategoryRatioHigh", min_value=0,
          max_value=1)
    d.add("timeseries", "Confidence and scores",
          "Median (solid) and 10th/90th percentiles (dashed) of the numeric "
          "outputs (ml_output_value): confidence, scores, regressions. "
          "Falling confidence is often the first sign of drift.",
          [target(quantile(q, "ml_output_value_bucket", by_o, o),
                  f"p{int(q * 100)} " + legend_o, ref)
           for q, ref in ((0.5, "A"), (0.1, "B"), (0.9, "C"))],
          "short", w=12, overrides=dashed("B", "C"))
    d.add("heatmap", "Score distribution: $output",
          "Numeric output values per second by histogram bucket "
          "(ml_output_value); a band moving is the score distribution "
          "shifting.",
          [target(f"sum by (le) ({rate('ml_output_value_bucket', o)})",
                  "{{le}}", fmt="heatmap")],
          "short", w=12,
          options=dict(default_options("heatmap"),
                       yAxis={"axisPlacement": "left", "reverse": False,
                              "unit": "short"}))
    d.add("timeseries", "Output drift",
          "Drift of the outputs' recent distribution against the reference "
          "profile, by method (ml_output_drift, drift collector). Dotted: "
          "the last hour over every replica, in PromQL "
          "(model_output:ml_output_drift:rate1h). Dashed red: the "
          "MLOutputDrift thresholds.",
          [target(f"max by ({by_o}, method) (ml_output_drift{{{o}, "
                  f'method!="chi2_p_value"}})',
                  "{{method}} " + legend_o),
           target(f"model_output:ml_output_drift:rate1h{{{o}}}",
                  "{{method}} all replicas 1h " + legend_o, "F"),
           threshold_target("MLOutputDrift",
                            o_thr + ', metric!="drift_chi2_p_value"',
                            "threshold {{metric}} {{model}} {{feature}}")],
          "short", w=12, alert="MLOutputDrift", min_value=0, decimals=3,
          overrides=dotted("F"))

    d.row("Delayed labels (feedback collector)")
    d.add("timeseries", "Accuracy from delayed labels",
          "Share of labels (ground truth arriving later as label events) "
          "equal to the prediction over the last hour "
          "(model:ml_label_matches:ratio_rate1h). Dashed red: the "
          "MLAccuracyLow threshold (accuracy_ratio; without one, 0.8 times "
          "yesterday's accuracy).",
          [target(f"model:ml_label_matches:ratio_rate1h{{{MVS}}}",
                  LEGEND_MVS),
           threshold_target("MLAccuracyLow", MVS, "threshold " + LEGEND_MVS)],
          "percentunit", w=8, alert="MLAccuracyLow", min_value=0,
          max_value=1)
    d.add("timeseries", "Labels per second",
          "Label events joined to a prediction, and those that found none "
          "(expired, unknown or duplicate request ids).",
          [target(f"sum by ({BY}) ({rate('ml_labels_total', MVS)})",
                  "joined " + LEGEND_MVS, "A"),
           target(f"sum by ({BY}, reason) "
                  f"({rate('ml_labels_unmatched_total', MVS)})",
                  "unmatched {{reason}} " + LEGEND_MVS, "B")],
          "reqps", w=8, min_value=0)
    d.add("timeseries", "Label error (numeric outputs)",
          "Median and 90th percentile of |prediction - label| for numeric "
          "outputs (ml_label_absolute_error).",
          [target(quantile(0.5, "ml_label_absolute_error_bucket", BY, MVS),
                  "p50 " + LEGEND_MVS, "A"),
           target(quantile(0.9, "ml_label_absolute_error_bucket", BY, MVS),
                  "p90 " + LEGEND_MVS, "B")],
          "short", w=8, min_value=0)
    d.add("table", "Confusion over the time range",
          "Labelled predictions by predicted and actual class over the "
          "dashboard's time range (ml_label_confusion_total); the rows "
          "where predicted equals actual are right.",
          [target(f"sum by (model, predicted, actual) (increase("
                  f"ml_label_confusion_total{{{MVS}}}[$__range]))",
                  instant=True, fmt="table")],
          "short", w=24, h=8, decimals=0,
          transformations=[{"id": "organize", "options": {
              "excludeByName": {"Time": True},
              "renameByName": {"Value": "labels"}}}])

    d.row("Users (feedback and sessions collectors)")
    d.add("timeseries", "Click-through rate",
          "Clicks per impression over the last 30m "
          "(model:ml_feedback_click_through:ratio_rate30m). Dashed red: the "
          "MLClickThroughLow threshold (click_through_ratio; without one, "
          "0.8 times yesterday's rate).",
          [target(f"model:ml_feedback_click_through:ratio_rate30m{{{MVS}}}",
                  LEGEND_MVS),
           threshold_target("MLClickThroughLow", MVS,
                            "threshold " + LEGEND_MVS)],
          "percentunit", w=8, alert="MLClickThroughLow", min_value=0)
    d.add("timeseries", "Quick repeated queries",
          "Share of session requests that repeat the session's previous "
          "query within the repeat window "
          "(model:ml_session_repeat_requests:ratio_rate10m): users saying it "
          "again because the answer was wrong. Dashed red: the "
          "MLRepeatRequestRatioHigh threshold.",
          [target(f"model:ml_session_repeat_requests:ratio_rate10m{{{MVS}}}",
                  LEGEND_MVS),
           threshold_target("MLRepeatRequestRatioHigh", MVS,
                            "threshold " + LEGEND_MVS)],
          "percentunit", w=8, alert="MLRepeatRequestRatioHigh", min_value=0)
    d.add("timeseries", "Modality switches",
          "Switches from voice to typing (session events of a type "
          "switch_to_*) per prediction "
          "(model:ml_session_modality_switches:ratio_rate10m): users giving "
          "up on the model. Dashed red: the MLModalitySwitchRatioHigh "
          "threshold.",
          [target("model:ml_session_modality_switches:ratio_rate10m"
                  f"{{{MVS}}}", LEGEND_MVS),
           threshold_target("MLModalitySwitchRatioHigh", MVS,
                            "threshold " + LEGEND_MVS)],
          "percentunit", w=8, alert="MLModalitySwitchRatioHigh", min_value=0)
    return d


def pipeline():
    source = "ml_pipeline_stage_reached_total"
    d = Dashboard(
        "ml-pipeline", "ML / Pipeline",
        "Requests across the stages of a multi-stage model (pipeline "
        "collector): how far they get, where they die, how long the whole "
        "trip takes; then one row per stage.",
        model_variables(source))
    m = 'model=~"$model", version=~"$version"'
    s = MVS
    d.row("Across the stages")
    d.add("timeseries", "Pipeline requests",
          "Requests that entered the first stage and completed (all stages "
          "reported, or the join window passed), per second.",
          [target(f"sum by (model, version) "
                  f"({rate('ml_pipeline_requests_total', m)})",
                  "{{model}} {{version}}")],
          "reqps", w=8, min_value=0)
    d.add("timeseries", "Reach fraction per stage",
          "Share of pipeline requests that reached each stage over the last "
          "10m (model_stage:ml_pipeline_stage_reached:ratio_rate10m). The "
          "first stage is 1; a drop at a stage is requests lost before it.",
          [target("model_stage:ml_pipeline_stage_reached:ratio_rate10m"
                  '{model=~"$model", stage=~"$stage"}', "{{model}} {{stage}}")],
          "percentunit", w=8, min_value=0, max_value=1)
    d.add("timeseries", "End-to-end latency",
          "p50, p90 and p99 of the time from a request's first record to "
          "the end of its last stage (ml_pipeline_latency_seconds), for "
          "requests that reached every stage.",
          [target(quantile(q, "ml_pipeline_latency_seconds_bucket", "model",
                           m), f"p{int(q * 100)} {{{{model}}}}", ref)
           for q, ref in ((0.5, "A"), (0.9, "B"), (0.99, "C"))],
          "s", w=8, min_value=0)
    d.add("bargauge", "First empty stage",
          "Where requests died over the time range: per stage, the share of "
          "pipeline requests whose first empty (all outputs null, or error) "
          "stage it was (ml_pipeline_first_empty_stage_total).",
          [target(f"sum by (model, stage) (increase("
                  f"ml_pipeline_first_empty_stage_total{{{s}}}[$__range]))\n"
                  f"  / on (model) group_left () sum by (model) (increase("
                  f"ml_pipeline_requests_total{{{m}}}[$__range]))",
                  "{{model}} {{stage}}", instant=True)],
          "percentunit", w=12, h=7, min_value=0, max_value=1)
    d.add("timeseries", "First empty stage over time",
          "Requests per second whose first empty stage was each stage.",
          [target(f"sum by (model, stage) "
                  f"({rate('ml_pipeline_first_empty_stage_total', s)})",
                  "{{model}} {{stage}}")],
          "reqps", w=12, h=7, min_value=0)

    d.row("Stage $stage", repeat="stage")
    d.add("timeseries", "Records and errors: $stage",
          "Records per second of this stage, and those with error=true "
          "(model:ml_records:rate5m, model:ml_prediction_errors:rate5m).",
          [target(f"model:ml_records:rate5m{{{s}}}",
                  "records " + LEGEND_MVS, "A"),
           target(f"model:ml_prediction_errors:rate5m{{{s}}}",
                  "errors " + LEGEND_MVS, "B")],
          "reqps", w=6, min_value=0)
    d.add("timeseries", "Reach fraction: $stage",
          "Share of pipeline requests that reached this stage.",
          [target("model_stage:ml_pipeline_stage_reached:ratio_rate10m"
                  '{model=~"$model", stage=~"$stage"}', "{{model}} {{stage}}")],
          "percentunit", w=6, min_value=0, max_value=1)
    d.add("timeseries", "Latency: $stage",
          "p50, p90 and p99 of this stage's own latency_seconds. Dashed "
          "red: the MLLatencyP99High threshold.",
          [target("model_quantile:ml_latency_seconds:histogram_quantile_rate5m"
                  f"{{{s}}}", "p{{quantile}} " + LEGEND_MVS),
           threshold_target("MLLatencyP99High", s, "threshold " + LEGEND_MVS)],
          "s", w=6, alert="MLLatencyP99High", min_value=0)
    d.add("timeseries", "Null outputs: $stage",
          "Share of this stage's records with each output null or empty. "
          "Dashed red: the MLOutputNullRatioHigh threshold.",
          [target(f"model_output:ml_output_null:ratio_rate5m{{{s}}}",
                  "{{output}} " + LEGEND_MVS),
           threshold_target("MLOutputNullRatioHigh", s,
                            "threshold {{feature}} " + LEGEND_MVS)],
          "percentunit", w=6, alert="MLOutputNullRatioHigh", min_value=0)
    return d


def exporter_health():
    j = 'job=~"$job", instance=~"$instance"'
    d = Dashboard(
        "ml-exporter-health", "ML / Exporter health",
        "Is the exporter itself healthy: scrapes and collectors "
        "succeeding, input accepted or rejected and why, cardinality caps "
        "reached, configuration reloads, plugins.",
        [datasource_variable(),
         query_variable("job", "Job",
                        "label_values(ml_exporter_build_info, job)"),
         query_variable("instance", "Instance",
                        'label_values(ml_exporter_build_info{job=~"$job"}, '
                        "instance)")])
    d.row("Scrapes and collectors")
    d.add("stat", "Scrape success",
          "Share of the selected exporters whose last scrape succeeded "
          "(Prometheus' up series). Below 100% means Prometheus cannot "
          "reach an exporter (MLExporterDown).",
          [target(f"avg(up{{{j}}})", "up")],
          "percentunit", w=6, h=4, min_value=0, max_value=1,
          steps=[{"color": "red", "value": None},
                 {"color": "green", "value": 1}])
    d.add("stat", "Collectors failing",
          "Collectors whose last export failed "
          "(ml_exporter_collector_success == 0; MLExporterCollectorFailing). "
          "Anything but 0 needs the log.",
          [target(f"count(ml_exporter_collector_success{{{j}}} == 0) or "
                  f"vector(0)", "failing")],
          "short", w=6, h=4, decimals=0,
          steps=[{"color": "green", "value": None},
                 {"color": "red", "value": 1}])
    d.add("stat", "Last configuration reload",
          "Whether the last configuration reload succeeded "
          "(ml_exporter_config_last_reload_successful; "
          "MLExporterConfigReloadFailed); No means the running "
          "configuration is older than the file.",
          [target(f"min(ml_exporter_config_last_reload_successful{{{j}}})",
                  "reload ok")],
          "bool_yes_no", w=6, h=4,
          steps=[{"color": "red", "value": None},
                 {"color": "green", "value": 1}])
    d.add("stat", "Uptime",
          "Time since the exporter process started.",
          [target(f"time() - max(process_start_time_seconds{{{j}}} * on "
                  f"(job, instance) group_left () max by (job, instance) "
                  f"(ml_exporter_build_info{{{j}}}))", "uptime")],
          "s", w=6, h=4)
    d.add("timeseries", "Scrape duration",
          "Seconds Prometheus took to scrape the exporter "
          "(scrape_duration_seconds).",
          [target(f"scrape_duration_seconds{{{j}}}", "{{instance}}")],
          "s", w=8, min_value=0)
    d.add("state-timeline", "Collector success",
          "Per collector, whether its last export succeeded "
          "(ml_exporter_collector_success): green 1, red 0.",
          [target(f"min by (collector) "
                  f"(ml_exporter_collector_success{{{j}}})",
                  "{{collector}}")],
          "bool_yes_no", w=8, field={"fillOpacity": 70, "lineWidth": 0},
          steps=[{"color": "red", "value": None},
                 {"color": "green", "value": 1}])
    d.add("timeseries", "Collector export time",
          "Seconds each collector took to export its metrics at the last "
          "scrape (ml_exporter_collector_duration_seconds).",
          [target(f"max by (collector) "
                  f"(ml_exporter_collector_duration_seconds{{{j}}})",
                  "{{collector}}")],
          "s", w=8, min_value=0)

    d.row("Input")
    d.add("timeseries", "Records and events accepted",
          "Records and events accepted per second, by input source (http, "
          "file, stdin, library).",
          [target(f"sum by (source) "
                  f"({rate('ml_exporter_ingested_records_total', j)})",
                  "records {{source}}", "A"),
           target(f"sum by (source) "
                  f"({rate('ml_exporter_ingested_events_total', j)})",
                  "events {{source}}", "B")],
          "reqps", w=8, min_value=0)
    d.add("timeseries", "Rejected by reason",
          "Records, events or bodies rejected per second, by source and "
          "reason, where not zero (ml_exporter_rejected_records_total; "
          "reasons in docs/records.md).",
          [target(f"sum by (source, reason) "
                  f"({rate('ml_exporter_rejected_records_total', j)}) > 0",
                  "{{source}} {{reason}}")],
          "reqps", w=8, min_value=0)
    d.add("timeseries", "Rejected share",
          "Rejected / (accepted + rejected) records over the last 5m "
          "(instance:ml_exporter_rejected_records:ratio_rate5m). Red above "
          "0.05, where MLExporterRejectingRecords fires.",
          [target("instance:ml_exporter_rejected_records:ratio_rate5m"
                  f"{{{j}}}", "{{instance}}")],
          "percentunit", w=8, min_value=0,
          steps=[{"color": "green", "value": None},
                 {"color": "red", "value": 0.05}],
          field={"thresholdsStyle": {"mode": "dashed"}})

    d.row("Limits")
    d.add("timeseries", "Caps reached",
          "Values sent to __other__ per second because a cardinality limit "
          "was reached, by limit (ml_exporter_cardinality_overflow_total). "
          "Raise the limit or exclude the field.",
          [target(f"sum by (limit) "
                  f"({rate('ml_exporter_cardinality_overflow_total', j)})",
                  "{{limit}}")],
          "reqps", w=6, min_value=0)
    d.add("timeseries", "Models tracked",
          "(model, version, stage) triples tracked (ml_exporter_models), "
          "capped by max_models.",
          [target(f"max by (instance) (ml_exporter_models{{{j}}})",
                  "{{instance}}")],
          "short", w=6, min_value=0, decimals=0)
    d.add("timeseries", "Join tables",
          "Entries held in the sessions, feedback and pipeline join tables "
          "(ml_exporter_join_table_entries), and evictions per second "
          "before expiry (raise max_sessions / max_requests if not 0).",
          [target(f"max by (collector) "
                  f"(ml_exporter_join_table_entries{{{j}}})",
                  "entries {{collector}}", "A"),
           target(f"sum by (collector) "
                  f"({rate('ml_exporter_join_table_evictions_total', j)})",
                  "evictions/s {{collector}}", "B")],
          "short", w=6, min_value=0)
    d.add("timeseries", "Events without a prediction",
          "Events that named no model and matched no prediction or session "
          "(ml_exporter_unattributed_events_total), per collector.",
          [target(f"sum by (collector) "
                  f"({rate('ml_exporter_unattributed_events_total', j)})",
                  "{{collector}}")],
          "reqps", w=6, min_value=0)

    d.row("Configuration and plugins")
    d.add("timeseries", "Configuration reloads",
          "Whether the last reload succeeded (1) and the age of the running "
          "configuration: time since the last successful reload.",
          [target(f"min(ml_exporter_config_last_reload_successful{{{j}}})",
                  "last reload successful", "A"),
           target(f"time() - max("
                  f"ml_exporter_config_last_reload_success_timestamp_seconds"
                  f"{{{j}}})", "seconds since last successful reload", "B")],
          "short", w=12, min_value=0,
          overrides=[{"matcher": {"id": "byFrameRefID", "options": "B"},
                      "properties": [{"id": "unit", "value": "s"},
                                     {"id": "custom.axisPlacement",
                                      "value": "right"}]}])
    d.add("table", "Plugins",
          "Collector plugins loaded (ml_exporter_plugin_info): name, version "
          "and the plugin ABI they were built for. Their collectors' success "
          "is in Collector success above.",
          [target(f"max by (instance, plugin, version, abi) "
                  f"(ml_exporter_plugin_info{{{j}}})",
                  instant=True, fmt="table")],
          "short", w=12,
          transformations=[{"id": "organize", "options": {
              "excludeByName": {"Time": True, "Value": True}}}])
    d.add("table", "Builds",
          "Version and git revision of each exporter "
          "(ml_exporter_build_info).",
          [target(f"max by (job, instance, version, revision) "
                  f"(ml_exporter_build_info{{{j}}})",
                  instant=True, fmt="table")],
          "short", w=24, h=5,
          transformations=[{"id": "organize", "options": {
              "excludeByName": {"Time": True, "Value": True}}}])
    return d


DASHBOARDS = {
    "overview.json": overview,
    "inputs.json": inputs,
    "outputs.json": outputs,
    "pipeline.json": pipeline,
    "exporter_health.json": exporter_health,
}


DOCS_FILE = os.path.normpath(os.path.join(HERE, "..", "..", "docs",
                                         "dashboards.md"))
DOCS_BEGIN = "<!-- panels: generated by grafana/tools/generate_dashboards.py --docs -->"
DOCS_END = "<!-- end of generated panels -->"


def panel_reference():
    """Markdown: every dashboard's panels and their descriptions."""
    out = []
    for make in DASHBOARDS.values():
        board = make()
        out.append(f"### {board.title} (`{board.uid}`)\n\n{board.description}")
        for p in board.panels:
            if p["type"] == "row":
                repeat = (f" (repeated for each `${p['repeat']}`)"
                          if p.get("repeat") else "")
                out.append(f"\n**{p['title']}**{repeat}\n")
            else:
                out.append(f"- *{p['title']}* ({p['type']}): "
                           f"{p['description']}")
        out.append("")
    return "\n".join(out)


def docs_with_reference(text):
    """`text` with the part between the markers replaced, or None if the
    markers are missing."""
    if DOCS_BEGIN not in text or DOCS_END not in text:
        return None
    head, rest = text.split(DOCS_BEGIN, 1)
    _, tail = rest.split(DOCS_END, 1)
    return head + DOCS_BEGIN + "\n\n" + panel_reference() + "\n" + DOCS_END + tail


def render(board):
    return json.dumps(board.json(), indent=2, sort_keys=False) + "\n"


def generate():
    """File name -> JSON text of every dashboard."""
    return {name: render(make()) for name, make in DASHBOARDS.items()}


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=DASHBOARD_DIR)
    p.add_argument("--check", action="store_true",
                   help="compare with the files in --out instead of writing")
    p.add_argument("--docs", action="store_true",
                   help="also rewrite the panel reference in docs/dashboards.md")
    a = p.parse_args()
    if a.docs:
        with open(DOCS_FILE, encoding="utf-8") as f:
            text = f.read()
        updated = docs_with_reference(text)
        if updated is None:
            print(f"{DOCS_FILE}: markers not found", file=sys.stderr)
            return 1
        if updated != text:
            with open(DOCS_FILE, "w", encoding="utf-8") as f:
                f.write(updated)
    stale = []
    for name, text in generate().items():
        path = os.path.join(a.out, name)
        if a.check:
            try:
                with open(path, encoding="utf-8") as f:
                    if f.read() != text:
                        stale.append(path)
            except FileNotFoundError:
                stale.append(path)
            continue
        os.makedirs(a.out, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    if stale:
        print("out of date (run grafana/tools/generate_dashboards.py): "
              + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
