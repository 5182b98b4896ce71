#include "mltool/alert_rules.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace ml_exporter::mltool {
namespace {

// Template pieces shared by the annotations.
#define WHERE                                                     \
  "{{ $labels.model }} (version {{ $labels.version }}, stage {{ " \
  "$labels.stage }})"
#define DIRECTION \
  "{{ if eq $labels.bound \"lower\" }}below{{ else }}above{{ end }}"
#define BOUND " the {{ $labels.bound }} threshold for {{ $labels.metric }}."

constexpr std::string_view kValue = "model_feature:ml_alert_value:current";
constexpr std::string_view kThreshold = "model_feature:ml_alert_threshold:max";
constexpr std::string_view kMatch = "model, version, stage, feature, metric";

}  // namespace

const std::vector<ThresholdDefault>& ThresholdDefaults() {
  static const std::vector<ThresholdDefault> kDefaults = {
      {"error_ratio", "upper", 0.05},
      {"load_ratio", "upper", 0.91},
      {"missing_ratio", "upper", 0.5},
      {"null_output_ratio", "upper", 0.5},
      {"drift_psi", "upper", 0.25},
      {"accuracy_ratio", "lower", 0.8, true},
      {"click_through_ratio", "lower", 0.8, true},
      {"repeat_request_ratio", "upper", 0.15},
      {"modality_switch_ratio", "upper", 0.05},
  };
  return kDefaults;
}

const std::vector<ThresholdAlert>& ThresholdAlerts() {
  static const std::vector<ThresholdAlert> kAlerts = {
      {"MLRecordRateLow",
       "software",
       {"records_per_second"},
       "",
       "10m",
       "warning",
       "Records of {{ $labels.model }}/{{ $labels.stage }} at {{ printf "
       "\"%.3g\" $value }}/s, " DIRECTION " the threshold",
       "Model " WHERE " sends {{ printf \"%.3g\" $value }} records per second "
       "(5m rate), " DIRECTION BOUND
       " {{ if eq $labels.bound \"lower\" }}The model server stopped, lost "
       "its traffic, or stopped reporting to ml_exporter.{{ else }}More "
       "traffic than the model was sized for.{{ end }}"},
      {"MLPredictionErrorRatioHigh",
       "software",
       {"error_ratio"},
       "",
       "5m",
       "critical",
       "{{ $value | humanizePercentage }} of {{ $labels.model }}/{{ "
       "$labels.stage }} predictions fail",
       "Model " WHERE ": {{ $value | humanizePercentage }} of the records of "
       "the last 5m have error=true, " DIRECTION BOUND},
      {"MLLatencyP99High",
       "software",
       {"latency_p99_seconds"},
       "",
       "10m",
       "warning",
       "p99 latency of {{ $labels.model }}/{{ $labels.stage }} is {{ $value "
       "| humanizeDuration }}",
       "Model " WHERE ": the 99th percentile of latency_seconds over the "
       "last 5m is {{ $value | humanizeDuration }}, " DIRECTION BOUND},
      {"MLModelLoadHigh",
       "software",
       {"load_ratio"},
       "",
       "15m",
       "warning",
       "{{ $labels.model }}/{{ $labels.stage }} busy at {{ $value | "
       "humanizePercentage }} of its capacity",
       "Model " WHERE " is busy {{ $value | humanizePercentage }} of its "
       "configured capacity (busy seconds per second from "
       "ml_latency_seconds_sum over `capacity`, 5m), " DIRECTION BOUND
       " Requests queue as it nears 100%."},
      {"MLFeatureMissingRatioHigh",
       "inputs",
       {"missing_ratio"},
       "",
       "15m",
       "warning",
       "Feature {{ $labels.feature }} of {{ $labels.model }}/{{ "
       "$labels.stage }} missing in {{ $value | humanizePercentage }} of "
       "records",
       "Model " WHERE ": feature {{ $labels.feature }} is null or absent in "
       "{{ $value | humanizePercentage }} of the records of the last "
       "5m, " DIRECTION BOUND},
      {"MLOutputNullRatioHigh",
       "outputs",
       {"null_output_ratio"},
       "",
       "10m",
       "critical",
       "Output {{ $labels.feature }} of {{ $labels.model }}/{{ $labels.stage "
       "}} empty in {{ $value | humanizePercentage }} of records",
       "Model " WHERE ": output {{ $labels.feature }} is null, empty or "
       "absent in {{ $value | humanizePercentage }} of the records of the "
       "last 5m, " DIRECTION BOUND},
      {"MLCategoryRatioHigh",
       "outputs",
       {"category_ratio"},
       "",
       "30m",
       "warning",
       "One value makes up {{ $value | humanizePercentage }} of {{ "
       "$labels.field }} {{ $labels.feature }} of {{ $labels.model }}/{{ "
       "$labels.stage }}",
       "Model " WHERE ": the most common value of {{ $labels.field }} {{ "
       "$labels.feature }} makes up {{ $value | humanizePercentage }} of its "
       "values over the last 5m, " DIRECTION BOUND
       " The category mix changed: see model_{{ $labels.field }}_value:ml_{{ "
       "$labels.field }}_category:ratio_rate5m."},
      {"MLFeatureDrift",
       "drift",
       {"drift_psi", "drift_jensen_shannon", "drift_ks", "drift_wasserstein",
        "drift_wasserstein_normalized", "drift_chi2_p_value"},
       "field=\"feature\"",
       "30m",
       "warning",
       "Feature {{ $labels.feature }} of {{ $labels.model }}/{{ $labels.stage "
       "}} drifted ({{ $labels.method }} {{ printf \"%.3g\" $value }})",
       "Model " WHERE ": the {{ $labels.method }} score of feature {{ "
       "$labels.feature }} against its reference profile is {{ printf "
       "\"%.3g\" $value }}, " DIRECTION BOUND
       " The live inputs no longer look like the training data."},
      {"MLOutputDrift",
       "drift",
       {"drift_psi", "drift_jensen_shannon", "drift_ks", "drift_wasserstein",
        "drift_wasserstein_normalized", "drift_chi2_p_value"},
       "field=\"output\"",
       "30m",
       "warning",
       "Output {{ $labels.feature }} of {{ $labels.model }}/{{ $labels.stage "
       "}} drifted ({{ $labels.method }} {{ printf \"%.3g\" $value }})",
       "Model " WHERE ": the {{ $labels.method }} score of output {{ "
       "$labels.feature }} against its reference profile is {{ printf "
       "\"%.3g\" $value }}, " DIRECTION BOUND
       " The model predicts differently from what it did on the reference "
       "data."},
      {"MLUnseenCategoryRatioHigh",
       "drift",
       {"unseen_category_ratio"},
       "",
       "30m",
       "warning",
       "{{ $value | humanizePercentage }} of feature {{ $labels.feature }} "
       "values of {{ $labels.model }}/{{ $labels.stage }} are unseen in "
       "training",
       "Model " WHERE ": {{ $value | humanizePercentage }} of the values of "
       "feature {{ $labels.feature }} in the drift window are categories its "
       "reference profile does not have, " DIRECTION BOUND},
      {"MLAccuracyLow",
       "feedback",
       {"accuracy_ratio"},
       "",
       "1h",
       "critical",
       "Accuracy of {{ $labels.model }}/{{ $labels.stage }} at {{ $value | "
       "humanizePercentage }}",
       "Model " WHERE ": {{ $value | humanizePercentage }} of the delayed "
       "labels of the last hour equal the prediction, " DIRECTION BOUND},
      {"MLClickThroughLow",
       "feedback",
       {"click_through_ratio"},
       "",
       "1h",
       "warning",
       "Click-through of {{ $labels.model }}/{{ $labels.stage }} at {{ "
       "$value | humanizePercentage }}",
       "Model " WHERE ": clicks per impression over the last 30m are {{ "
       "$value | humanizePercentage }}, " DIRECTION BOUND
       " Users find the results less useful."},
      {"MLRepeatRequestRatioHigh",
       "sessions",
       {"repeat_request_ratio"},
       "",
       "15m",
       "warning",
       "{{ $value | humanizePercentage }} of {{ $labels.model }}/{{ "
       "$labels.stage }} queries are quick repeats",
       "Model " WHERE ": {{ $value | humanizePercentage }} of the session "
       "requests of the last 10m repeat an earlier query of the session "
       "within seconds, " DIRECTION BOUND
       " Users are not getting what they asked for."},
      {"MLModalitySwitchRatioHigh",
       "sessions",
       {"modality_switch_ratio"},
       "",
       "15m",
       "warning",
       "{{ $labels.model }}/{{ $labels.stage }} users switch modality after "
       "{{ $value | humanizePercentage }} of predictions",
       "Model " WHERE ": switch_to_* session events (from voice to typing, "
       "...) per prediction over the last 10m are {{ $value | "
       "humanizePercentage }}, " DIRECTION BOUND
       " Users give up on this way of asking."},
  };
  return kAlerts;
}

const std::vector<FixedAlert>& FixedAlerts() {
  static const std::vector<FixedAlert> kAlerts = {
      {"MLExporterDown", "exporter",
       // With the models the exporter exported during the last hour, so
       // that Alertmanager can silence those models' other alerts.
       "(\n"
       "    (up{job=\"$JOB\"} == 0)\n"
       "  * on (job, instance) group_right ()\n"
       "    group by (job, instance, model, version, stage) "
       "(last_over_time(ml_records_total{job=\"$JOB\"}[1h]))\n"
       ")\n"
       "or on (job, instance)\n"
       "  (up{job=\"$JOB\"} == 0)\n"
       "or\n"
       "  absent(up{job=\"$JOB\"})\n",
       "2m", "critical",
       "ml_exporter{{ with $labels.instance }} {{ . }}{{ end }} is down",
       "Prometheus cannot scrape ml_exporter{{ with $labels.instance }} at {{ "
       ". }}{{ end }} (job {{ $labels.job }}){{ with $labels.model }}, which "
       "exported model {{ . }} (version {{ $labels.version }}, stage {{ "
       "$labels.stage }}){{ end }}. No ML metrics come from it, and "
       "Alertmanager silences the other alerts of its models."},
      {"MLExporterNoRecords", "exporter",
       "sum by (job, instance) "
       "(rate(ml_exporter_ingested_records_total{job=\"$JOB\"}[10m])) == 0\n",
       "10m", "warning",
       "ml_exporter {{ $labels.instance }} receives no records",
       "ml_exporter at {{ $labels.instance }} (job {{ $labels.job }}) "
       "accepted no records in the last 10 minutes from any source (HTTP, "
       "files, stdin, library). The model servers stopped sending or cannot "
       "reach it, and every model alert of this exporter is blind."},
      {"MLExporterRejectingRecords", "exporter",
       "instance:ml_exporter_rejected_records:ratio_rate5m{job=\"$JOB\"} > "
       "0.05\n",
       "10m", "warning",
       "ml_exporter {{ $labels.instance }} rejects {{ $value | "
       "humanizePercentage }} of records",
       "ml_exporter at {{ $labels.instance }} (job {{ $labels.job }}) "
       "rejected {{ $value | humanizePercentage }} of the records and events "
       "of the last 5m (more than 5%): see "
       "ml_exporter_rejected_records_total{reason} and the exporter log. Their "
       "predictions are missing from every metric."},
      {"MLExporterConfigReloadFailed", "exporter",
       "ml_exporter_config_last_reload_successful{job=\"$JOB\"} == 0\nor\n"
       "ml_exporter_web_config_last_reload_successful{job=\"$JOB\"} == 0\n",
       "5m", "warning",
       "ml_exporter {{ $labels.instance }} rejected its configuration",
       "The last reload of --config or --web_config of ml_exporter at {{ "
       "$labels.instance }} (job {{ $labels.job }}) failed; "
       "it still runs the previous one: the previous collectors and "
       "thresholds, or the previous users, tokens and certificate. The "
       "exporter log and POST /-/reload give the reason; check --config with "
       "mltool check-config."},
      {"MLExporterCollectorFailing", "exporter",
       "ml_exporter_collector_success{job=\"$JOB\"} == 0\n", "10m", "warning",
       "Collector {{ $labels.collector }} of ml_exporter {{ $labels.instance "
       "}} fails",
       "Collector {{ $labels.collector }} of ml_exporter at {{ "
       "$labels.instance }} (job {{ $labels.job }}) has failed to export its "
       "metrics at every scrape for 10 minutes; its metrics are missing."},
      {"MLExporterFileDescriptorsHigh", "exporter",
       "process_open_fds{job=\"$JOB\"} / process_max_fds{job=\"$JOB\"} > 0.8\n",
       "10m", "warning",
       "ml_exporter {{ $labels.instance }} uses {{ $value | "
       "humanizePercentage }} of its file descriptors",
       "ml_exporter at {{ $labels.instance }} (job {{ $labels.job }}) has {{ "
       "$value | humanizePercentage }} of its file descriptors open (more "
       "than 80%). At the limit it cannot accept connections from the model "
       "servers or Prometheus."},
      {"MLHostLoadHigh", "host",
       "instance:node_load1_per_cpu:ratio > $HOST_LOAD\n", "15m", "warning",
       "Load of host {{ $labels.instance }} at {{ printf \"%.2f\" $value }} "
       "per CPU",
       "node_exporter: the 1-minute load average per CPU of {{ "
       "$labels.instance }} is {{ printf \"%.2f\" $value }}, above "
       "$HOST_LOAD. "
       "Models served on this host slow down: compare "
       "model:ml_load:ratio_rate5m and their latency."},
  };
  return kAlerts;
}

namespace {

std::string Replace(std::string s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos;
       at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// Shortest text that reads back as the same double.
std::string Number(double v) {
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string YamlQuoted(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

// A PromQL double-quoted string literal.
std::string Quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string RegexEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) {
      out += '\\';
    }
    out += c;
  }
  return out;
}

// A matcher for a configuration pattern ("*" globs), or "" for any value.
std::string PatternMatcher(std::string_view label, std::string_view pattern) {
  if (pattern.empty()) return "";
  if (pattern.find('*') == std::string_view::npos) {
    return std::string(label) + "=" + Quoted(pattern);
  }
  if (pattern.find_first_not_of('*') == std::string_view::npos) return "";
  std::string regex;
  for (char c : pattern) {
    regex += c == '*' ? std::string(".*") : RegexEscape(std::string(1, c));
  }
  return std::string(label) + "=~" + Quoted(regex);
}

std::string Selector(std::string_view metric,
                     const std::vector<std::string>& matchers) {
  std::string out(metric);
  out += "{";
  bool first = true;
  for (const auto& m : matchers) {
    if (m.empty()) continue;
    if (!first) out += ", ";
    out += m;
    first = false;
  }
  return out + "}";
}

std::string MetricMatcher(const std::vector<std::string_view>& metrics) {
  if (metrics.size() == 1) return "metric=" + Quoted(metrics[0]);
  std::string regex;
  for (auto m : metrics) regex += (regex.empty() ? "" : "|") + RegexEscape(m);
  return "metric=~" + Quoted(regex);
}

std::string Indent(const std::string& text, int spaces) {
  std::string out;
  const std::string pad(spaces, ' ');
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out += pad + text.substr(start, end - start);
    out += "\n";
    start = end + 1;
  }
  return out;
}

bool Contains(const std::vector<std::string_view>& v, std::string_view s) {
  for (auto x : v) {
    if (x == s) return true;
  }
  return false;
}

std::vector<ThresholdDefault> DefaultsOf(const ThresholdAlert& a) {
  std::vector<ThresholdDefault> out;
  for (const auto& d : ThresholdDefaults()) {
    if (Contains(a.metrics, d.metric)) {
      out.push_back(d);
    }
  }
  return out;
}

std::string DefaultsText(const ThresholdAlert& a) {
  const auto defaults = DefaultsOf(a);
  if (defaults.empty()) {
    return " Without a configured threshold the alert stays quiet.";
  }
  std::string out = " Without a configured threshold:";
  for (size_t i = 0; i < defaults.size(); ++i) {
    const auto& d = defaults[i];
    out += i == 0 ? " " : "; ";
    if (a.metrics.size() > 1) out += std::string(d.metric) + " ";
    out += std::string(d.bound) + " ";
    if (d.relative_to_yesterday) {
      out += Number(d.value) + " times its value one day earlier";
    } else {
      out += Number(d.value);
    }
  }
  if (a.metrics.size() > defaults.size()) out += "; the others stay quiet";
  return out + ".";
}

// The quantity a default compares with, for the value series `value`.
std::string DefaultTerm(const ThresholdDefault& d, const std::string& value,
                        bool scalar_allowed) {
  if (d.relative_to_yesterday) {
    return Number(d.value) + " * (" + value + " offset 1d)";
  }
  if (scalar_allowed) return Number(d.value);
  return "0 * " + value + " + " + Number(d.value);
}

std::string BoundLabel(const std::string& inner, std::string_view bound) {
  std::string body = Indent(inner, 2);
  body.pop_back();
  return "label_replace(\n" + body + ",\n  \"bound\", \"" + std::string(bound) +
         "\", \"\", \"\"\n)";
}

// The expression comparing with ml_alert_threshold (and the defaults).
std::string ThresholdMatchingExpr(const ThresholdAlert& a) {
  std::string out;
  for (std::string_view bound : {"upper", "lower"}) {
    const std::string op = bound == "upper" ? ">" : "<";
    const std::string value = Selector(
        kValue, {MetricMatcher(a.metrics), std::string(a.extra_matcher)});
    std::string right = Selector(
        kThreshold, {MetricMatcher(a.metrics), "bound=" + Quoted(bound)});
    for (const auto& d : DefaultsOf(a)) {
      if (d.bound != bound) continue;
      const std::string own = Selector(
          kValue, {"metric=" + Quoted(d.metric), std::string(a.extra_matcher)});
      right += "\nor on (" + std::string(kMatch) + ")\n  " +
               DefaultTerm(d, own, false);
    }
    const std::string inner = value + "\n  " + op + " on (" +
                              std::string(kMatch) + ") group_left ()\n(\n" +
                              Indent(right, 2) + ")";
    if (!out.empty()) out += "\nor\n";
    out += BoundLabel(inner, bound);
  }
  return out + "\n";
}

struct Entry {
  std::vector<std::string> selector;  // model, version, stage matchers
  const config::v1::ModelConfig* config;
};

std::string StaticComment(const ThresholdAlert& a) {
  return "# " + std::string(a.name) +
         ": no threshold in the configuration and no default: not rendered\n";
}

struct StaticRule {
  std::string expr;
  std::string comment;
};

// Static rules for one alert: one per configured threshold and bound, and
// one per default, which excludes what the configuration sets.
std::vector<StaticRule> StaticExprs(const ThresholdAlert& a,
                                    const std::vector<Entry>& entries) {
  std::vector<StaticRule> out;
  const std::string extra(a.extra_matcher);
  for (std::string_view metric : a.metrics) {
    const std::string metric_matcher = "metric=" + Quoted(metric);
    auto earlier = [&](size_t i) {
      std::string s;
      for (size_t j = 0; j < i; ++j) {
        std::vector<std::string> m = entries[j].selector;
        m.insert(m.begin(), metric_matcher);
        s += "\nunless on (model, version, stage)\n  " + Selector(kValue, m);
      }
      return s;
    };
    for (std::string_view bound : {"upper", "lower"}) {
      const std::string op = bound == "upper" ? ">" : "<";
      // The (model, version, stage, feature) this bound is configured for.
      std::vector<std::string> configured;
      for (size_t i = 0; i < entries.size(); ++i) {
        std::vector<std::string> features;
        bool model_wide = false;
        for (const auto& t : entries[i].config->thresholds()) {
          if (t.metric() != metric) continue;
          const bool has = bound == "upper" ? t.has_upper() : t.has_lower();
          if (!has) continue;
          const double v = bound == "upper" ? t.upper() : t.lower();
          std::vector<std::string> m = entries[i].selector;
          m.insert(m.begin(), {metric_matcher, extra});
          if (!t.feature().empty()) {
            m.push_back("feature=" + Quoted(t.feature()));
            features.push_back(RegexEscape(t.feature()));
          } else {
            model_wide = true;
          }
          out.push_back({BoundLabel(Selector(kValue, m) + " " + op + " " +
                                        Number(v) + earlier(i),
                                    bound) +
                             "\n",
                         "# models[" + std::to_string(i) + "] " +
                             entries[i].config->model() + ": " +
                             std::string(metric) + " " + std::string(bound) +
                             " " + Number(v) + "\n"});
        }
        if (features.empty() && !model_wide) continue;
        std::vector<std::string> m = entries[i].selector;
        m.insert(m.begin(), metric_matcher);
        if (!model_wide) {
          std::string alternatives;
          for (const auto& f : features) {
            alternatives += (alternatives.empty() ? "" : "|") + f;
          }
          m.push_back("feature=~" + Quoted(alternatives));
        }
        std::string set = Selector(kValue, m);
        if (i > 0) set = "(" + set + Replace(earlier(i), "\n", " ") + ")";
        configured.push_back(set);
      }
      for (const auto& d : DefaultsOf(a)) {
        if (d.metric != metric || d.bound != bound) continue;
        const std::string value = Selector(kValue, {metric_matcher, extra});
        std::string expr = value + " " + op + " " + DefaultTerm(d, value, true);
        if (!configured.empty()) {
          std::string set;
          for (const auto& c : configured) {
            set += (set.empty() ? "" : "\nor\n") + c;
          }
          expr += "\nunless on (model, version, stage, feature)\n(\n" +
                  Indent(set, 2) + ")";
        }
        out.push_back({BoundLabel(expr, bound) + "\n",
                       "# " + std::string(metric) + " " + std::string(bound) +
                           ": the default where the configuration sets "
                           "none\n"});
      }
    }
  }
  return out;
}

void AppendRule(std::string_view name, const std::string& expr,
                std::string_view for_duration, std::string_view severity,
                const std::string& summary, const std::string& description,
                const RenderOptions& o, const std::string& comment,
                std::string* out) {
  if (!comment.empty()) *out += Indent(comment, 6);
  *out += "      - alert: " + std::string(name) + "\n";
  *out += "        expr: |\n" + Indent(expr, 10);
  *out += "        for: " + std::string(for_duration) + "\n";
  *out +=
      "        labels:\n          severity: " + std::string(severity) + "\n";
  *out += "        annotations:\n";
  *out += "          summary: " + YamlQuoted(summary) + "\n";
  *out += "          description: " + YamlQuoted(description) + "\n";
  *out += "          runbook_url: " +
          YamlQuoted(o.runbook_url_base + "/" + std::string(name) + ".md") +
          "\n";
}

}  // namespace

std::string RenderAlertRules(const RenderOptions& o) {
  std::string out;
  if (o.config == nullptr) {
    out +=
        "# Alerting rules for ml_exporter. Generated by `mltool rules` from "
        "mltool/alert_rules.cc:\n"
        "# edit there and regenerate (a test checks that this file is in "
        "sync).\n"
        "#\n"
        "# Threshold alerts compare model_feature:ml_alert_value:current "
        "with the thresholds\n"
        "# of the exporter configuration (ml_alert_threshold), so one file "
        "serves every model\n"
        "# and a threshold changes with a configuration reload. Needs the "
        "recording rules of\n"
        "# ml_exporter.rules.yml. See docs/alerting.md.\n";
  } else {
    out +=
        "# Alerting rules for ml_exporter with the thresholds of " + o.source +
        ",\n"
        "# rendered by `mltool rules --config`: regenerate after changing "
        "them. Needs the\n"
        "# recording rules of ml_exporter.rules.yml. See docs/alerting.md.\n";
  }
  out += "groups:\n";
  std::vector<Entry> entries;
  if (o.config != nullptr) {
    for (const auto& m : o.config->models()) {
      entries.push_back({{PatternMatcher("model", m.model()),
                          PatternMatcher("version", m.version()),
                          PatternMatcher("stage", m.stage())},
                         &m});
    }
  }
  const std::string host_load = Number(o.host_load_ratio);
  for (std::string_view group : {"exporter", "host", "software", "inputs",
                                 "outputs", "drift", "feedback", "sessions"}) {
    std::string rules;
    for (const auto& a : FixedAlerts()) {
      if (a.group != group) continue;
      std::string expr = Replace(std::string(a.expr), "$JOB", o.job);
      expr = Replace(expr, "$HOST_LOAD", host_load);
      AppendRule(a.name, expr, a.for_duration, a.severity,
                 std::string(a.summary),
                 Replace(std::string(a.description), "$HOST_LOAD", host_load),
                 o, "", &rules);
    }
    for (const auto& a : ThresholdAlerts()) {
      if (a.group != group) continue;
      const std::string description =
          std::string(a.description) + DefaultsText(a);
      if (o.config == nullptr) {
        AppendRule(a.name, ThresholdMatchingExpr(a), a.for_duration, a.severity,
                   std::string(a.summary), description, o, "", &rules);
        continue;
      }
      // One rule per alert (promtool rejects two rules of one name and
      // labels), its parts joined with `or`: they select disjoint series.
      const auto exprs = StaticExprs(a, entries);
      if (exprs.empty()) {
        rules += Indent(StaticComment(a), 6);
        continue;
      }
      std::string expr;
      for (const auto& e : exprs) {
        if (!expr.empty()) expr += "or\n";
        expr += e.comment + e.expr;
      }
      AppendRule(a.name, expr, a.for_duration, a.severity,
                 std::string(a.summary), description, o, "", &rules);
    }
    if (rules.find("- alert:") == std::string::npos) {
      out += rules;  // comments only
      continue;
    }
    out += "  - name: ml_exporter.alerts." + std::string(group) + "\n";
    out += "    rules:\n" + rules;
  }
  return out;
}

}  // namespace ml_exporter::mltool
