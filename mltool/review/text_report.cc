#include "mltool/review/text_report.h"

#include <cmath>
#include <cstdio>

#include "mltool/review/time_range.h"

namespace ml_exporter::mltool::review {
namespace {

std::string Num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}

std::string Percent(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g%%", ratio * 100);
  return buf;
}

std::string LabelText(const Labels& labels,
                      std::initializer_list<const char*> skip) {
  std::string out;
  for (const auto& [k, v] : labels) {
    bool skipped = false;
    for (const char* s : skip) skipped = skipped || k == s;
    if (skipped) continue;
    out += (out.empty() ? "" : ", ") + k + "=\"" + v + "\"";
  }
  return "{" + out + "}";
}

std::string Indent(const std::string& text, const std::string& prefix) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += prefix + text.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

std::string DistributionText(const Distribution& d) {
  return "min " + Num(d.min) + ", p50 " + Num(d.p50) + ", p90 " + Num(d.p90) +
         ", p99 " + Num(d.p99) + ", max " + Num(d.max) + " (" +
         std::to_string(d.samples) + " samples)";
}

std::string ThresholdText(const AlertFinding& a) {
  if (!a.threshold) return "threshold in the rule's expression";
  if (a.threshold_source == "relative default") {
    return "threshold " + a.bound + " " + Num(*a.threshold) +
           " x its value one day earlier (default)";
  }
  return "threshold " + a.bound + " " + Num(*a.threshold) + " (" +
         a.threshold_source +
         (a.threshold_changed ? ", changed during the range" : "") + ")";
}

void RenderAlert(const AlertFinding& a, double top_percent, std::string* out) {
  const char* title = a.kind == AlertFindingKind::kNeverFired ? "NEVER FIRED"
                      : a.kind == AlertFindingKind::kFiringMostly
                          ? "FIRING MOSTLY"
                          : "FLAPPING";
  *out += "  " + std::string(title) + "  " + a.alertname + " " +
          LabelText(a.labels, {"model", "stage", "version"}) + "\n";
  std::string activity;
  if (a.kind == AlertFindingKind::kNeverFired) {
    activity = "never firing in the range";
    if (a.activations > 0) {
      activity += "; pending " + std::to_string(a.activations) +
                  " times without lasting its `for:`";
    }
  } else {
    activity = "firing " + Percent(a.activity.firing_ratio) +
               " of the range in " + std::to_string(a.activity.episodes) +
               " episodes (median " +
               FormatDuration(a.activity.median_episode_seconds) + ")";
  }
  *out += "    " + activity + "; " + ThresholdText(a) + "\n";
  if (a.distribution.samples > 0) {
    *out += "    metric behind it: " + DistributionText(a.distribution);
    if (a.threshold && a.threshold_source != "relative default") {
      *out += "; beyond the threshold " + Percent(a.beyond_ratio);
    }
    *out += "\n";
  }
  if (a.suggested_threshold) {
    *out += "    suggested: " + a.bound + " " + Num(*a.suggested_threshold) +
            " would have been crossed on the worst " + Num(top_percent) +
            "% of the range (stated, not applied; its `for:` makes it fire "
            "less)\n";
  } else if (a.kind == AlertFindingKind::kFlapping) {
    *out += "    suggested: a longer `for:` or a threshold further out\n";
  }
}

}  // namespace

std::string RenderText(const Report& r) {
  std::string out;
  out += "mltool review of " + r.prometheus + ", " + FormatTime(r.start) +
         " to " + FormatTime(r.end) + " (" + FormatDuration(r.end - r.start) +
         ", step " + FormatDuration(r.step) + ")\n";
  out += "selector " + (r.selector.empty() ? "(none)" : r.selector) +
         "; flat: no counter increase, gauges varying less than " +
         Percent(r.flat_level) + "; suggested thresholds: worst " +
         Num(r.top_percent) + "%\n";
  for (const ModelReview& m : r.models) {
    std::string versions;
    for (const std::string& v : m.versions) {
      versions += (versions.empty() ? "" : ", ") + v;
    }
    out += "\n== " + m.model + " / " + m.stage +
           (versions.empty() ? "" : " (versions " + versions + ")") + " ==\n";
    if (!m.flat.empty()) {
      size_t n = 0;
      for (const FlatGroup& g : m.flat) n += g.series.size();
      out += "\nSeries that did not move (" + std::to_string(n) + "):\n";
      for (const FlatGroup& g : m.flat) {
        out += "  " + (g.collector.empty() ? "(plugin)" : g.collector) +
               (g.field.empty() ? "" : ", " + g.field_kind + " " + g.field) +
               ": " +
               (g.removable() ? "all " + std::to_string(g.total_series) +
                                    " series flat (removable)"
                              : std::to_string(g.series.size()) + " of " +
                                    std::to_string(g.total_series) +
                                    " series flat (the others move: keep)") +
               "\n";
        for (const FlatSeries& s : g.series) {
          out += "    " + s.metric + " " +
                 LabelText(s.labels,
                           {"model", "stage", "version", "feature", "output"}) +
                 "  " + s.kind + ", ";
          if (s.kind == "gauge") {
            out += "at " + Num(s.last) + ", varied " +
                   Percent(s.relative_variation) + "\n";
          } else {
            out += "no increase (at " + Num(s.last) + ")\n";
          }
        }
      }
      if (!m.config_suggestion.empty()) {
        out += "  Configuration that would remove the removable ones:\n";
        out += Indent(m.config_suggestion, "    ");
      }
    }
    if (!m.alerts.empty()) {
      out += "\nAlerts:\n";
      for (const AlertFinding& a : m.alerts)
        RenderAlert(a, r.top_percent, &out);
    }
    if (!m.stale_references.empty()) {
      out += "\nDrift high all along (stale reference profile?):\n";
      for (const StaleReference& s : m.stale_references) {
        out += "  " + s.field_kind + " " + s.field +
               (s.version.empty() ? "" : " (version " + s.version + ")") +
               ":\n";
        for (const StaleReference::Method& x : s.methods) {
          out += "    " + x.method + " stayed " +
                 (x.bound == "upper" ? "above " : "below ") + Num(x.threshold) +
                 " (" + x.threshold_source +
                 ") all along: " + DistributionText(x.distribution) + "\n";
        }
      }
      out += Indent(m.reprofile_suggestion, "  ");
    }
  }
  if (!r.other_alerts.empty()) {
    out += "\n== alerts without a model ==\n";
    for (const AlertFinding& a : r.other_alerts) {
      RenderAlert(a, r.top_percent, &out);
    }
  }
  if (!r.never_fired_rules.empty()) {
    out += "\n== alerting rules that never fired ==\n";
    for (const NeverFiredRule& n : r.never_fired_rules) {
      out += "  NEVER FIRED  " + n.name + "  group " + n.group +
             (n.file.empty() ? "" : " (" + n.file + ")") + "\n";
      out += "    expr: " + n.expression + "\n";
      out += "    for: " +
             (n.for_seconds > 0 ? FormatDuration(n.for_seconds)
                                : std::string("0 (fires at once)")) +
             (n.labels.empty() ? "" : "; labels " + LabelText(n.labels, {})) +
             "\n";
      out +=
          "    no ALERTS series (pending or firing) in the range: is the "
          "condition reachable, or can the rule go?\n";
    }
  }
  out += "\n== exporters ==\n";
  if (!r.overflows.empty()) {
    out += "\nCaps that overflowed:\n";
    for (const CapOverflow& c : r.overflows) {
      out += "  " + c.limit + ": " + Num(c.increase) +
             " values went to __other__ (limit in force " + Num(c.current) +
             ")\n";
      for (const std::string& f : c.fields) {
        out += "    overflowing: " + f + "\n";
      }
      out +=
          "    Is the label bounded (a category) or an id? If bounded, "
          "raise the limit:\n";
      out += Indent(c.config_suggestion, "      ");
    }
  }
  if (!r.collector_failures.empty()) {
    out += "\nCollectors that failed:\n";
    for (const CollectorFailure& f : r.collector_failures) {
      out += "  " + f.collector + " on " + f.instance + ": failed at " +
             Percent(f.failing_ratio) +
             " of the scrapes (see the exporter log; runbook "
             "MLExporterCollectorFailing)\n";
    }
  }
  if (!r.collector_time.empty()) {
    out += "\nScrape time by collector (mean, max, share of the total):\n";
    size_t shown = 0;
    for (const CollectorTime& t : r.collector_time) {
      if (shown++ >= 5 && !t.slow) continue;
      out += "  " + t.collector + ": " + Num(t.mean_seconds) + " s, max " +
             Num(t.max_seconds) + " s, " + Percent(t.share) +
             (t.slow ? "  SLOW" : "") + "\n";
    }
  }
  if (r.overflows.empty() && r.collector_failures.empty() &&
      r.collector_time.empty()) {
    out += "  nothing to report\n";
  }
  for (const std::string& note : r.notes) out += "\nnote: " + note + "\n";
  const size_t n = r.FindingCount();
  out += "\n" +
         (n == 0 ? std::string("Nothing found.")
                 : std::to_string(n) + " finding" + (n == 1 ? "" : "s") + ".") +
         "\n";
  return out;
}

}  // namespace ml_exporter::mltool::review
