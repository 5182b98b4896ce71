"""Self-test of check_dashboards.py and query_all.py: they catch what they
should. Run by ctest (grafana_checker_selftest) from grafana/tools:
  python3 -m unittest -v test_check_dashboards
"""
import copy
import os
import unittest

import check_dashboards as cd
import dashboard_queries as dq
import generate_dashboards as gen
import query_all as qa


def problems_of(dashboard, name="x.json"):
    p = cd.Problems()
    cd.check_structure(name, dashboard, p, {})
    for q in dq.queries(name, dashboard):
        cd.check_ranges(q, p)
    return p.items


def first_data_panel(d):
    return next(p for p in d["panels"] if p["type"] not in ("row", "text"))


class GeneratedDashboardsTest(unittest.TestCase):
    def test_generated_dashboards_have_no_problems(self):
        for name, make in gen.DASHBOARDS.items():
            self.assertEqual(problems_of(make().json(), name), [], name)

    def test_uids_are_stable_and_unique(self):
        uids = [make().json()["uid"] for make in gen.DASHBOARDS.values()]
        self.assertEqual(len(set(uids)), len(uids))
        self.assertIn("ml-overview", uids)


class StructureTest(unittest.TestCase):
    def setUp(self):
        self.d = gen.overview().json()

    def test_import_placeholder(self):
        d = copy.deepcopy(self.d)
        first_data_panel(d)["datasource"] = {"type": "prometheus",
                                             "uid": "${DS_PROMETHEUS}"}
        items = problems_of(d)
        self.assertTrue(any("${DS_...}" in i for i in items), items)
        self.assertTrue(any("does not query ${datasource}" in i for i in items))

    def test_inputs_section(self):
        d = copy.deepcopy(self.d)
        d["__inputs"] = []
        self.assertTrue(any("__inputs" in i for i in problems_of(d)))

    def test_missing_fields(self):
        for key in ("uid", "title", "schemaVersion"):
            d = copy.deepcopy(self.d)
            del d[key]
            self.assertTrue(any(f'"{key}"' in i for i in problems_of(d)), key)

    def test_panel_needs_unit_description_gridpos_targets(self):
        d = copy.deepcopy(self.d)
        p = first_data_panel(d)
        del p["fieldConfig"]["defaults"]["unit"]
        p["description"] = ""
        p["gridPos"]["w"] = 30
        items = problems_of(d)
        self.assertTrue(any("no unit" in i for i in items), items)
        self.assertTrue(any("no description" in i for i in items), items)
        self.assertTrue(any("24-column" in i for i in items), items)
        p["targets"] = []
        self.assertTrue(any("no targets" in i for i in problems_of(d)))

    def test_unknown_unit(self):
        d = copy.deepcopy(self.d)
        first_data_panel(d)["fieldConfig"]["defaults"]["unit"] = "percentunits"
        self.assertTrue(any('unit "percentunits"' in i for i in problems_of(d)))

    def test_duplicate_panel_id(self):
        d = copy.deepcopy(self.d)
        d["panels"][2]["id"] = d["panels"][1]["id"]
        self.assertTrue(any("duplicate panel id" in i for i in problems_of(d)))

    def test_datasource_variable_required(self):
        d = copy.deepcopy(self.d)
        d["templating"]["list"] = [v for v in d["templating"]["list"]
                                   if v["name"] != "datasource"]
        self.assertTrue(any('"datasource"' in i for i in problems_of(d)))

    def test_model_variables_multi_with_all(self):
        d = copy.deepcopy(self.d)
        for v in d["templating"]["list"]:
            if v["name"] == "model":
                v["includeAll"] = False
        self.assertTrue(any("multi-select with All" in i for i in problems_of(d)))

    def test_alert_annotation_required(self):
        d = copy.deepcopy(self.d)
        d["annotations"]["list"] = d["annotations"]["list"][:1]
        self.assertTrue(any("ALERTS" in i for i in problems_of(d)))

    def test_fixed_ranges(self):
        d = copy.deepcopy(self.d)
        first_data_panel(d)["targets"][0]["expr"] = \
            "sum(rate(ml_records_total[5m]))"
        self.assertTrue(any("fixed range [5m]" in i for i in problems_of(d)))
        first_data_panel(d)["targets"][0]["expr"] = \
            "sum(rate(ml_records_total[$__range]))"
        self.assertTrue(any("rate() must use [$__rate_interval]" in i
                            for i in problems_of(d)))
        first_data_panel(d)["targets"][0]["expr"] = \
            "sum(increase(ml_records_total[$__range]))"
        self.assertEqual(problems_of(d), [])


class ThresholdTest(unittest.TestCase):
    def panel(self, title):
        d = gen.overview().json()
        return next(p for p in d["panels"] if p["title"] == title
                    and p["type"] == "timeseries")

    def problems(self, panel):
        p = cd.Problems()
        cd.check_thresholds(panel, "panel", p)
        return p.items

    def test_generated_threshold_is_the_alert_rule(self):
        self.assertEqual(self.problems(self.panel("Error ratio")), [])

    def test_changed_threshold_expression(self):
        panel = self.panel("Error ratio")
        t = next(t for t in panel["targets"] if t["refId"] == "T")
        self.assertIn("+ 0.05", t["expr"])
        t["expr"] = t["expr"].replace("+ 0.05", "+ 0.1")
        self.assertTrue(any("not an alert rule's" in i
                            for i in self.problems(panel)))

    def test_missing_default_step(self):
        panel = self.panel("Error ratio")
        panel["fieldConfig"]["defaults"]["thresholds"]["steps"] = [
            {"color": "green", "value": None}]
        self.assertTrue(any("lack the alert rule's default 0.05" in i
                            for i in self.problems(panel)))

    def test_alert_defaults_are_read_from_the_rules(self):
        self.assertEqual(gen.alert_default("MLPredictionErrorRatioHigh",
                                           "upper"), 0.05)
        self.assertIsNone(gen.alert_default("MLLatencyP99High", "upper"))


class MetricNamesTest(unittest.TestCase):
    def test_names(self):
        expr = ('histogram_quantile(0.99, sum by (model, le) (rate('
                'ml_latency_seconds_bucket{model=~"a|b", le!="1e-9"}'
                '[$__rate_interval])))\n  / on (model) group_left () '
                'max by (model) (model:ml_records:rate5m) > 0.5 or vector(0)')
        self.assertEqual(dq.metric_names(expr),
                         {"ml_latency_seconds_bucket", "model:ml_records:rate5m"})

    def test_unknown_metric_reported_once_per_dashboard(self):
        d = gen.overview().json()
        first_data_panel(d)["targets"][0]["expr"] = "ml_no_such_metric_total + ml_no_such_metric_total"
        p = cd.Problems()
        cd.check_metrics(dq.queries("x.json", d), {"ml_records_total"}, p)
        self.assertEqual(sum("ml_no_such_metric_total" in i for i in p.items), 1)

    def test_histogram_suffixes(self):
        known = {"ml_latency_seconds"}
        self.assertEqual(dq.base_metric("ml_latency_seconds_bucket", known),
                         "ml_latency_seconds")
        self.assertEqual(dq.base_metric("ml_other_bucket", known),
                         "ml_other_bucket")

    def test_documented_metrics_found(self):
        names = cd.documented_metrics(cd.os.path.join(cd.HERE, "..", ".."))
        self.assertIn("ml_feature_missing_total", names)
        self.assertIn("process_resident_memory_bytes", names)


class PromqlTest(unittest.TestCase):
    @unittest.skipUnless(os.path.isfile(os.environ.get("PROMTOOL", "")),
                         "PROMTOOL not set")
    def test_bad_expression_is_blamed_on_its_panel(self):
        d = gen.overview().json()
        first_data_panel(d)["targets"][0]["expr"] = "sum(rate(ml_records_total[$__rate_interval])"
        p = cd.Problems()
        n = cd.check_promql(dq.queries("x.json", d), os.environ["PROMTOOL"], p)
        self.assertGreater(n, 10)
        self.assertEqual(len(p.items), 1, p.items)
        self.assertIn("does not parse", p.items[0])
        self.assertIn("target A", p.items[0])


class QueryAllTest(unittest.TestCase):
    def test_substitute(self):
        self.assertEqual(
            dq.substitute('rate(x{a=~"$model", b="${stage}"}[$__rate_interval]) '
                          '[$__range] ${datasource:queryparam}',
                          {"model": "a|b", "stage": "s", "datasource": "p"},
                          "20s", "2m"),
            'rate(x{a=~"a|b", b="s"}[20s]) [2m] p')

    def test_regex_escape(self):
        self.assertEqual(qa.regex_escape("2026.11+x|y"),
                         r"2026\\.11\\+x\\|y")

    def test_has_data(self):
        self.assertFalse(qa.has_data({"resultType": "matrix", "result": []}))
        self.assertFalse(qa.has_data({"resultType": "matrix", "result": [
            {"metric": {}, "values": [[1, "NaN"], [2, "NaN"]]}]}))
        self.assertTrue(qa.has_data({"resultType": "matrix", "result": [
            {"metric": {}, "values": [[1, "NaN"], [2, "0"]]}]}))
        self.assertTrue(qa.has_data({"resultType": "vector", "result": [
            {"metric": {}, "value": [1, "3"]}]}))
        self.assertTrue(qa.has_data({"resultType": "scalar", "result": [1, "1"]}))


if __name__ == "__main__":
    unittest.main()
