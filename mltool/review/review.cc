#include "mltool/review/review.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "mltool/alert_rules.h"
#include "mltool/review/config_suggestions.h"
#include "mltool/review/metric_owners.h"
#include "mltool/review/statistics.h"
#include "mltool/review/time_range.h"

namespace ml_exporter::mltool::review {
namespace {

constexpr char kAlertValue[] = "model_feature:ml_alert_value:current";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

std::string Get(const Labels& labels, const std::string& name) {
  const auto it = labels.find(name);
  return it == labels.end() ? "" : it->second;
}

Labels Without(Labels labels, std::initializer_list<const char*> names) {
  for (const char* n : names) labels.erase(n);
  return labels;
}

using ModelKey = std::pair<std::string, std::string>;  // model, stage
using GroupKey = std::tuple<std::string, std::string, std::string>;

struct ModelWork {
  ModelReview review;
  std::map<GroupKey, FlatGroup> groups;  // every judged group
};

ModelWork& WorkFor(std::map<ModelKey, ModelWork>* models,
                   const Labels& labels) {
  ModelWork& w = (*models)[{Get(labels, "model"), Get(labels, "stage")}];
  w.review.model = Get(labels, "model");
  w.review.stage = Get(labels, "stage");
  if (labels.count("version") != 0) {
    w.review.versions.insert(Get(labels, "version"));
  }
  return w;
}

// The threshold in force for a (value series, bound): configured, else the
// rule's default.
struct Threshold {
  bool found = false;
  double value = 0;
  std::string source;
  bool changed = false;
};

using ThresholdKey = std::tuple<std::string, std::string, std::string,
                                std::string, std::string, std::string>;

ThresholdKey KeyOf(const Labels& l, const std::string& metric,
                   const std::string& bound) {
  return {Get(l, "model"), Get(l, "version"),
          Get(l, "stage"), Get(l, "feature"),
          metric,          bound};
}

Threshold ThresholdFor(const std::map<ThresholdKey, Series>& configured,
                       const Labels& labels, const std::string& metric,
                       const std::string& bound) {
  Threshold t;
  if (const auto it = configured.find(KeyOf(labels, metric, bound));
      it != configured.end() && !it->second.samples.empty()) {
    t.found = true;
    t.value = it->second.samples.back().value;
    t.source = "configured";
    const Variation v = GaugeVariation(it->second.samples);
    t.changed = v.max != v.min;
    return t;
  }
  for (const ThresholdDefault& d : ThresholdDefaults()) {
    if (d.metric == metric && d.bound == bound) {
      t.found = true;
      t.value = d.value;
      t.source = d.relative_to_yesterday ? "relative default" : "default";
      return t;
    }
  }
  return t;
}

std::string AlertNameFor(const std::string& metric, const std::string& field) {
  for (const ThresholdAlert& a : ThresholdAlerts()) {
    if (std::find(a.metrics.begin(), a.metrics.end(), metric) ==
        a.metrics.end()) {
      continue;
    }
    if (a.extra_matcher.empty() ||
        a.extra_matcher == "field=\"" + field + "\"") {
      return std::string(a.name);
    }
  }
  return "";
}

// Every label of `subset` has the same value in `labels`.
bool Contains(const Labels& labels, const Labels& subset) {
  for (const auto& [k, v] : subset) {
    if (Get(labels, k) != v) return false;
  }
  return true;
}

std::vector<Sample> Merge(std::vector<Sample> a, const std::vector<Sample>& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end(),
            [](const Sample& x, const Sample& y) { return x.time < y.time; });
  return a;
}

size_t DistinctValues(const std::vector<Sample>& samples) {
  std::set<double> values;
  for (const Sample& s : samples) {
    if (!std::isnan(s.value)) values.insert(s.value);
  }
  return values.size();
}

bool Classify(const AlertActivity& a, const ReviewOptions& o,
              AlertFindingKind* kind) {
  if (a.firing_steps == 0) {
    *kind = AlertFindingKind::kNeverFired;
    return true;
  }
  if (a.firing_ratio > o.firing_mostly_ratio) {
    *kind = AlertFindingKind::kFiringMostly;
    return true;
  }
  if (IsFlapping(a, o.flap_min_episodes,
                 std::max(o.flap_max_median_seconds, o.step))) {
    *kind = AlertFindingKind::kFlapping;
    return true;
  }
  return false;
}

class Reviewer {
 public:
  Reviewer(const PrometheusClient& client, const ReviewOptions& options,
           Report* report)
      : client_(client), o_(options), report_(report) {}

  Status Run() {
    report_->prometheus = client_.base_url();
    report_->selector = o_.selector_text;
    report_->start = o_.start;
    report_->end = o_.end;
    report_->step = o_.step;
    report_->flat_level = o_.flat_level;
    report_->top_percent = o_.top_percent;
    Status s = FlatSeriesPass();
    if (s.ok()) s = AlertPass();
    if (s.ok()) s = RulesPass();
    if (s.ok()) s = DriftPass();
    if (s.ok()) s = OverflowPass();
    if (s.ok()) s = CollectorPass();
    if (!s.ok()) return s;
    Finish();
    return Status::Ok();
  }

 private:
  Status Query(const std::string& query, std::vector<Series>* out) {
    return client_.QueryRange(query, o_.start, o_.end, o_.step, out);
  }

  Status FlatSeriesPass() {
    std::vector<std::string> names;
    Status s = client_.LabelValues("__name__",
                                   o_.selector.Apply("", "__name__=~\"ml_.+\""),
                                   o_.start, o_.end, &names);
    if (!s.ok()) return s;
    if (names.empty()) {
      report_->notes.push_back("no ml_ series in the range" +
                               (o_.selector_text.empty()
                                    ? std::string()
                                    : " for selector " + o_.selector_text) +
                               ": is Prometheus scraping ml_exporter?");
    }
    const std::set<std::string> name_set(names.begin(), names.end());
    for (const std::string& name : names) {
      if (IsConstantByDesign(name) || EndsWith(name, "_bucket")) continue;
      std::string family = name;
      std::string kind = EndsWith(name, "_total") ? "counter" : "gauge";
      for (const char* suffix : {"_sum", "_count"}) {
        if (!EndsWith(name, suffix)) continue;
        const std::string base =
            name.substr(0, name.size() - std::string_view(suffix).size());
        if (name_set.count(base + "_bucket") != 0) {
          family = base;
          kind = "histogram";
        }
      }
      if (kind == "histogram" && EndsWith(name, "_sum")) continue;
      std::vector<Series> series;
      s = Query(o_.selector.Apply(name), &series);
      if (!s.ok()) return s;
      for (Series& one : series) {
        Labels labels = Without(one.labels, {"__name__"});
        if (labels.count("model") == 0) continue;
        const MetricOwner owner = OwnerOf(family, labels);
        ModelWork& work = WorkFor(&models_, labels);
        FlatGroup& group =
            work.groups[{owner.collector, owner.field_kind, owner.field}];
        group.collector = owner.collector;
        group.field_kind = owner.field_kind;
        group.field = owner.field;
        ++group.total_series;
        const bool flat = kind == "gauge"
                              ? IsFlatGauge(one.samples, o_.flat_level)
                              : IsFlatCounter(one.samples);
        if (!flat) continue;
        FlatSeries f;
        f.metric = family;
        f.labels = labels;
        f.kind = kind;
        f.last = one.samples.empty() ? 0 : one.samples.back().value;
        f.relative_variation =
            kind == "gauge" ? GaugeVariation(one.samples).relative : 0;
        group.series.push_back(std::move(f));
      }
      if (name == "ml_feature_drift" || name == "ml_output_drift") {
        drift_[name] = std::move(series);
      }
    }
    return Status::Ok();
  }

  Status AlertPass() {
    std::vector<Series> firing, for_state, values, thresholds;
    Status s =
        Query(o_.selector.Apply("ALERTS", "alertstate=\"firing\""), &firing);
    if (s.ok()) s = Query(o_.selector.Apply("ALERTS_FOR_STATE"), &for_state);
    if (s.ok()) s = Query(o_.selector.Apply(kAlertValue), &values);
    if (s.ok()) {
      s = Query("max by (model, version, stage, feature, metric, bound) (" +
                    o_.selector.Apply("ml_alert_threshold") + ")",
                &thresholds);
    }
    if (!s.ok()) return s;
    for (Series& t : thresholds) {
      configured_[KeyOf(t.labels, Get(t.labels, "metric"),
                        Get(t.labels, "bound"))] = std::move(t);
    }
    if (values.empty()) {
      report_->notes.push_back(
          std::string("no ") + kAlertValue +
          " series in the range: load alerts/ml_exporter.rules.yml into "
          "Prometheus, or alerts cannot be matched with the metric behind "
          "them (thresholds, quantiles and silent alerts are not reviewed)");
    }
    std::vector<bool> used(firing.size(), false);
    for (const Series& v : values) {
      const Labels labels = Without(v.labels, {"__name__"});
      const std::string metric = Get(labels, "metric");
      const std::string alertname = AlertNameFor(metric, Get(labels, "field"));
      if (alertname.empty() || labels.count("model") == 0) continue;
      for (const std::string bound : {"upper", "lower"}) {
        const Threshold t = ThresholdFor(configured_, labels, metric, bound);
        if (!t.found) continue;
        Labels alert_labels = labels;
        alert_labels["alertname"] = alertname;
        alert_labels["bound"] = bound;
        std::vector<Sample> fired;
        for (size_t i = 0; i < firing.size(); ++i) {
          if (Contains(firing[i].labels, alert_labels)) {
            fired = Merge(std::move(fired), firing[i].samples);
            used[i] = true;
          }
        }
        std::vector<Sample> pending;
        for (const Series& f : for_state) {
          if (Contains(f.labels, alert_labels)) {
            pending = Merge(std::move(pending), f.samples);
          }
        }
        const AlertActivity activity =
            ActivityOnGrid(fired, o_.start, o_.end, o_.step);
        AlertFindingKind kind;
        if (!Classify(activity, o_, &kind)) continue;
        if (kind == AlertFindingKind::kNeverFired &&
            GaugeVariation(v.samples).samples < o_.min_samples) {
          continue;
        }
        AlertFinding a;
        a.kind = kind;
        a.alertname = alertname;
        a.labels = labels;
        a.bound = bound;
        a.activity = activity;
        a.activations = DistinctValues(pending);
        a.threshold = t.value;
        a.threshold_source = t.source;
        a.threshold_changed = t.changed;
        a.distribution = Distribute(v.samples);
        if (t.source != "relative default") {
          a.beyond_ratio = FractionBeyond(v.samples, t.value, bound == "upper");
        }
        a.suggested_threshold =
            SuggestThreshold(v.samples, bound == "upper", o_.top_percent);
        WorkFor(&models_, labels).review.alerts.push_back(std::move(a));
      }
    }
    // Alerts not compared with a threshold series: the exporter's own, and
    // any other rule matching the selector.
    std::map<Labels, std::vector<Sample>> others;
    for (size_t i = 0; i < firing.size(); ++i) {
      if (used[i]) continue;
      Labels key = Without(firing[i].labels, {"__name__", "alertstate"});
      others[key] = Merge(std::move(others[key]), firing[i].samples);
    }
    for (const auto& [labels, samples] : others) {
      const AlertActivity activity =
          ActivityOnGrid(samples, o_.start, o_.end, o_.step);
      AlertFindingKind kind;
      if (!Classify(activity, o_, &kind)) continue;
      AlertFinding a;
      a.kind = kind;
      a.alertname = Get(labels, "alertname");
      a.labels = Without(labels, {"alertname"});
      a.bound = Get(labels, "bound");
      a.activity = activity;
      a.threshold_source = "rule expression";
      for (const Series& f : for_state) {
        if (Contains(f.labels, labels))
          a.activations += DistinctValues(f.samples);
      }
      if (labels.count("model") != 0) {
        WorkFor(&models_, labels).review.alerts.push_back(std::move(a));
      } else {
        report_->other_alerts.push_back(std::move(a));
      }
    }
    return Status::Ok();
  }

  // Alerting rules with no ALERTS series at all in the range. Rules are not
  // one model's, so they are checked only without a selector.
  Status RulesPass() {
    if (!o_.selector_text.empty()) {
      report_->notes.push_back(
          "alerting rules that never fired are not listed with a selector "
          "(a rule is not one model's): run without --selector for them");
      return Status::Ok();
    }
    std::vector<AlertingRule> rules;
    if (Status s = client_.AlertingRules(&rules); !s.ok()) {
      report_->notes.push_back(
          "the alerting rules could not be listed, so rules that never "
          "fired are not reported (a querier such as Thanos Query or Mimir "
          "may not serve /api/v1/rules; point --prometheus at the server or "
          "ruler that evaluates them): " +
          s.message());
      return Status::Ok();
    }
    if (rules.empty()) return Status::Ok();
    std::vector<std::string> names;
    Status s =
        client_.LabelValues("alertname", "ALERTS", o_.start, o_.end, &names);
    if (!s.ok()) return s;
    std::set<std::string> seen(names.begin(), names.end());
    for (const auto& [key, work] : models_) {
      for (const AlertFinding& a : work.review.alerts) seen.insert(a.alertname);
    }
    for (const AlertFinding& a : report_->other_alerts) {
      seen.insert(a.alertname);
    }
    for (const AlertingRule& r : rules) {
      if (seen.count(r.name) != 0) continue;
      report_->never_fired_rules.push_back(
          {r.file, r.group, r.name, r.query, r.for_seconds, r.labels});
    }
    std::sort(report_->never_fired_rules.begin(),
              report_->never_fired_rules.end(),
              [](const NeverFiredRule& a, const NeverFiredRule& b) {
                return std::tie(a.file, a.group, a.name) <
                       std::tie(b.file, b.group, b.name);
              });
    return Status::Ok();
  }

  Status DriftPass() {
    for (const char* name : {"ml_feature_drift", "ml_output_drift"}) {
      const auto it = drift_.find(name);
      if (it == drift_.end()) continue;
      const std::string field_kind =
          std::string(name) == "ml_feature_drift" ? "feature" : "output";
      for (const Series& series : it->second) {
        const Labels labels = Without(series.labels, {"__name__"});
        if (labels.count("model") == 0) continue;
        const std::string method = Get(labels, "method");
        // Thresholds name an output's drift by `feature` too.
        Labels as_threshold = labels;
        as_threshold["feature"] = Get(labels, field_kind);
        for (const std::string bound : {"upper", "lower"}) {
          const Threshold t =
              ThresholdFor(configured_, as_threshold, "drift_" + method, bound);
          if (!t.found || t.source == "relative default") continue;
          if (Coverage(series.samples, o_.start, o_.end, o_.step) < 0.5 ||
              FractionBeyond(series.samples, t.value, bound == "upper") < 1) {
            continue;
          }
          ModelReview& m = WorkFor(&models_, labels).review;
          const std::string field = Get(labels, field_kind);
          const std::string version = Get(labels, "version");
          auto ref =
              std::find_if(m.stale_references.begin(), m.stale_references.end(),
                           [&](const StaleReference& r) {
                             return r.field_kind == field_kind &&
                                    r.field == field && r.version == version;
                           });
          if (ref == m.stale_references.end()) {
            m.stale_references.push_back({field_kind, field, version, {}});
            ref = std::prev(m.stale_references.end());
          }
          ref->methods.push_back(
              {method, bound, t.value, t.source, Distribute(series.samples)});
        }
      }
    }
    return Status::Ok();
  }

  Status OverflowPass() {
    std::vector<Series> series;
    Status s = Query(o_.selector.Apply("ml_exporter_cardinality_overflow_total",
                                       "", /*for_model_metrics=*/false),
                     &series);
    if (!s.ok()) return s;
    std::map<std::string, double> increase;
    for (const Series& one : series) {
      const double inc = CounterIncrease(one.samples);
      if (inc > 0) increase[Get(one.labels, "limit")] += inc;
    }
    if (increase.empty()) return Status::Ok();
    std::vector<Series> others;
    s = Query(
        o_.selector.Apply("",
                          "__name__=~\"ml_(feature|output)_category_total\", "
                          "value=\"__other__\""),
        &others);
    if (!s.ok()) return s;
    std::set<std::string> fields;
    for (const Series& one : others) {
      if (CounterIncrease(one.samples) <= 0) continue;
      const bool output =
          Get(one.labels, "__name__").find("_output_") != std::string::npos;
      fields.insert(Get(one.labels, "model") + "/" + Get(one.labels, "stage") +
                    " " + (output ? "output " : "feature ") +
                    Get(one.labels, output ? "output" : "feature"));
    }
    for (const auto& [limit, inc] : increase) {
      CapOverflow c;
      c.limit = limit;
      c.increase = inc;
      c.current = LimitInForce(o_.config, limit);
      c.suggested = SuggestLimit(c.current);
      if (limit == "max_label_values") {
        c.fields.assign(fields.begin(), fields.end());
      }
      if (c.suggested > 0) {
        c.config_suggestion =
            SuggestLimitConfig(limit, c.current, c.suggested, inc);
      }
      report_->overflows.push_back(std::move(c));
    }
    return Status::Ok();
  }

  Status CollectorPass() {
    std::vector<Series> success, duration;
    Status s = Query(o_.selector.Apply("ml_exporter_collector_success", "",
                                       /*for_model_metrics=*/false),
                     &success);
    if (s.ok()) {
      s = Query(o_.selector.Apply("ml_exporter_collector_duration_seconds", "",
                                  /*for_model_metrics=*/false),
                &duration);
    }
    if (!s.ok()) return s;
    for (const Series& one : success) {
      size_t n = 0, failed = 0;
      for (const Sample& x : one.samples) {
        if (std::isnan(x.value)) continue;
        ++n;
        if (x.value == 0) ++failed;
      }
      if (failed == 0) continue;
      report_->collector_failures.push_back(
          {Get(one.labels, "instance"), Get(one.labels, "collector"),
           static_cast<double>(failed) / static_cast<double>(n)});
    }
    std::map<std::string, std::vector<Sample>> by_collector;
    for (const Series& one : duration) {
      auto& all = by_collector[Get(one.labels, "collector")];
      all.insert(all.end(), one.samples.begin(), one.samples.end());
    }
    double total = 0;
    for (const auto& [collector, samples] : by_collector) {
      const Variation v = GaugeVariation(samples);
      if (v.samples == 0) continue;
      report_->collector_time.push_back(
          {collector, v.mean, v.max, 0, v.max > o_.slow_collector_seconds});
      total += v.mean;
    }
    for (CollectorTime& t : report_->collector_time) {
      t.share = total > 0 ? t.mean_seconds / total : 0;
    }
    std::sort(report_->collector_time.begin(), report_->collector_time.end(),
              [](const CollectorTime& a, const CollectorTime& b) {
                return a.mean_seconds > b.mean_seconds;
              });
    return Status::Ok();
  }

  void Finish() {
    for (auto& [key, work] : models_) {
      ModelReview& m = work.review;
      std::map<std::string, std::pair<size_t, size_t>> per_collector;
      for (auto& [gkey, group] : work.groups) {
        auto& [removable, all] = per_collector[group.collector];
        ++all;
        if (group.removable()) ++removable;
        if (!group.series.empty()) m.flat.push_back(group);
      }
      std::vector<CollectorRemoval> removals;
      for (const auto& [collector, counts] : per_collector) {
        if (collector.empty()) continue;  // a plugin's: name unknown
        CollectorRemoval r;
        r.collector = collector;
        r.whole_collector = counts.first == counts.second;
        if (!r.whole_collector) {
          for (const FlatGroup& g : m.flat) {
            if (g.collector == collector && g.removable() && !g.field.empty()) {
              r.fields.push_back(g.field);
            }
          }
        }
        if (r.whole_collector || !r.fields.empty()) {
          removals.push_back(std::move(r));
        }
      }
      const ModelId id{m.model, m.versions.empty() ? "" : *m.versions.begin(),
                       m.stage};
      m.config_suggestion =
          SuggestCollectorConfig(id, removals, o_.config, o_.config_path,
                                 o_.builtin_default_collectors);
      if (!m.stale_references.empty()) {
        std::string fields;
        for (const StaleReference& r : m.stale_references) {
          fields += (fields.empty() ? "" : ", ") + r.field;
        }
        m.reprofile_suggestion =
            "# " + fields +
            " drifted all along: the reference no longer describes normal "
            "traffic.\n# Re-profile from recent traffic you trust (or the "
            "new training set):\nmltool profile --input=recent.ndjson "
            "--output=" +
            m.model + ".profile --model=" + m.model +
            "\n# then point `reference:` of its models entry (or "
            "--reference=" +
            m.model + "=" + m.model + ".profile) at it and restart\n";
      }
      std::sort(m.alerts.begin(), m.alerts.end(),
                [](const AlertFinding& a, const AlertFinding& b) {
                  return std::tie(a.kind, a.alertname, a.labels) <
                         std::tie(b.kind, b.alertname, b.labels);
                });
      if (m.flat.empty() && m.alerts.empty() && m.stale_references.empty()) {
        continue;
      }
      report_->models.push_back(std::move(m));
    }
  }

  const PrometheusClient& client_;
  const ReviewOptions& o_;
  Report* report_;
  std::map<ModelKey, ModelWork> models_;
  std::map<std::string, std::vector<Series>> drift_;
  std::map<ThresholdKey, Series> configured_;
};

}  // namespace

Status RunReview(const PrometheusClient& client, const ReviewOptions& options,
                 Report* report) {
  *report = Report{};
  return Reviewer(client, options, report).Run();
}

}  // namespace ml_exporter::mltool::review
