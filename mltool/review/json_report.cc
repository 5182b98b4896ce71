#include "mltool/review/json_report.h"

#include <cmath>
#include <cstdio>

#include "mltool/review/prometheus_client.h"
#include "mltool/review/time_range.h"

namespace ml_exporter::mltool::review {
namespace {

// A small streaming writer: commas and nesting, strings escaped.
class JsonWriter {
 public:
  JsonWriter& BeginObject() {
    Separate();
    out_ += '{';
    first_ = true;
    return *this;
  }
  JsonWriter& EndObject() {
    out_ += '}';
    first_ = false;
    return *this;
  }
  JsonWriter& BeginArray() {
    Separate();
    out_ += '[';
    first_ = true;
    return *this;
  }
  JsonWriter& EndArray() {
    out_ += ']';
    first_ = false;
    return *this;
  }
  JsonWriter& Key(std::string_view key) {
    Separate();
    String(key);
    out_ += ':';
    first_ = true;  // the value follows without a comma
    return *this;
  }
  JsonWriter& Value(std::string_view s) {
    Separate();
    String(s);
    return *this;
  }
  JsonWriter& Value(const char* s) { return Value(std::string_view(s)); }
  JsonWriter& Value(const std::string& s) { return Value(std::string_view(s)); }
  JsonWriter& Value(double v) {
    Separate();
    if (std::isfinite(v)) {
      out_ += FormatValue(v);
    } else {
      String(FormatValue(v));
    }
    return *this;
  }
  JsonWriter& Value(size_t v) {
    Separate();
    out_ += std::to_string(v);
    return *this;
  }
  JsonWriter& Value(bool v) {
    Separate();
    out_ += v ? "true" : "false";
    return *this;
  }
  JsonWriter& Null() {
    Separate();
    out_ += "null";
    return *this;
  }
  template <typename T>
  JsonWriter& Field(std::string_view key, const T& v) {
    Key(key);
    return Value(v);
  }
  JsonWriter& Labels(std::string_view key, const review::Labels& labels) {
    Key(key).BeginObject();
    for (const auto& [k, v] : labels) Field(k, v);
    return EndObject();
  }
  std::string Take() { return std::move(out_); }

 private:
  void Separate() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  void String(std::string_view s) {
    out_ += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '\t':
          out_ += "\\t";
          break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\u%04x", c);
            out_ += buf;
          } else {
            out_ += static_cast<char>(c);
          }
      }
    }
    out_ += '"';
  }

  std::string out_;
  bool first_ = true;
};

void WriteDistribution(JsonWriter& w, const Distribution& d) {
  w.Key("distribution").BeginObject();
  w.Field("samples", d.samples);
  if (d.samples > 0) {
    w.Field("min", d.min).Field("p50", d.p50).Field("p90", d.p90);
    w.Field("p99", d.p99).Field("max", d.max);
  }
  w.EndObject();
}

void WriteAlert(JsonWriter& w, const AlertFinding& a) {
  w.BeginObject();
  w.Field("finding", AlertFindingKindName(a.kind));
  w.Field("alertname", a.alertname);
  w.Labels("labels", a.labels);
  w.Field("bound", a.bound);
  w.Field("firing_ratio", a.activity.firing_ratio);
  w.Field("episodes", a.activity.episodes);
  w.Field("median_episode_seconds", a.activity.median_episode_seconds);
  w.Field("activations", a.activations);
  w.Key("threshold");
  if (a.threshold) {
    w.Value(*a.threshold);
  } else {
    w.Null();
  }
  w.Field("threshold_source", a.threshold_source);
  w.Field("threshold_changed", a.threshold_changed);
  WriteDistribution(w, a.distribution);
  w.Field("beyond_threshold_ratio", a.beyond_ratio);
  w.Key("suggested_threshold");
  if (a.suggested_threshold) {
    w.Value(*a.suggested_threshold);
  } else {
    w.Null();
  }
  w.EndObject();
}

}  // namespace

std::string RenderJson(const Report& r) {
  JsonWriter w;
  w.BeginObject();
  w.Field("prometheus", r.prometheus);
  w.Field("selector", r.selector);
  w.Field("start", FormatTime(r.start)).Field("end", FormatTime(r.end));
  w.Field("step_seconds", r.step);
  w.Field("flat_level", r.flat_level).Field("top_percent", r.top_percent);
  w.Field("findings", r.FindingCount());
  w.Key("models").BeginArray();
  for (const ModelReview& m : r.models) {
    w.BeginObject();
    w.Field("model", m.model).Field("stage", m.stage);
    w.Key("versions").BeginArray();
    for (const std::string& v : m.versions) w.Value(v);
    w.EndArray();
    w.Key("flat").BeginArray();
    for (const FlatGroup& g : m.flat) {
      w.BeginObject();
      w.Field("collector", g.collector).Field("field_kind", g.field_kind);
      w.Field("field", g.field).Field("removable", g.removable());
      w.Field("total_series", g.total_series);
      w.Key("series").BeginArray();
      for (const FlatSeries& s : g.series) {
        w.BeginObject();
        w.Field("metric", s.metric).Field("kind", s.kind);
        w.Labels("labels", s.labels);
        w.Field("last", s.last);
        w.Field("relative_variation", s.relative_variation);
        w.EndObject();
      }
      w.EndArray().EndObject();
    }
    w.EndArray();
    w.Field("config_suggestion", m.config_suggestion);
    w.Key("alerts").BeginArray();
    for (const AlertFinding& a : m.alerts) WriteAlert(w, a);
    w.EndArray();
    w.Key("stale_references").BeginArray();
    for (const StaleReference& s : m.stale_references) {
      w.BeginObject();
      w.Field("field_kind", s.field_kind).Field("field", s.field);
      w.Field("version", s.version);
      w.Key("methods").BeginArray();
      for (const StaleReference::Method& x : s.methods) {
        w.BeginObject();
        w.Field("method", x.method).Field("bound", x.bound);
        w.Field("threshold", x.threshold);
        w.Field("threshold_source", x.threshold_source);
        WriteDistribution(w, x.distribution);
        w.EndObject();
      }
      w.EndArray().EndObject();
    }
    w.EndArray();
    w.Field("reprofile_suggestion", m.reprofile_suggestion);
    w.EndObject();
  }
  w.EndArray();
  w.Key("other_alerts").BeginArray();
  for (const AlertFinding& a : r.other_alerts) WriteAlert(w, a);
  w.EndArray();
  w.Key("never_fired_rules").BeginArray();
  for (const NeverFiredRule& n : r.never_fired_rules) {
    w.BeginObject();
    w.Field("finding", "never_fired_rule");
    w.Field("alertname", n.name);
    w.Field("file", n.file).Field("group", n.group);
    w.Field("expression", n.expression);
    w.Field("for_seconds", n.for_seconds);
    w.Labels("labels", n.labels);
    w.EndObject();
  }
  w.EndArray();
  w.Key("overflows").BeginArray();
  for (const CapOverflow& c : r.overflows) {
    w.BeginObject();
    w.Field("limit", c.limit).Field("increase", c.increase);
    w.Field("current", c.current).Field("suggested", c.suggested);
    w.Key("fields").BeginArray();
    for (const std::string& f : c.fields) w.Value(f);
    w.EndArray();
    w.Field("config_suggestion", c.config_suggestion);
    w.EndObject();
  }
  w.EndArray();
  w.Key("collector_failures").BeginArray();
  for (const CollectorFailure& f : r.collector_failures) {
    w.BeginObject();
    w.Field("instance", f.instance).Field("collector", f.collector);
    w.Field("failing_ratio", f.failing_ratio);
    w.EndObject();
  }
  w.EndArray();
  w.Key("collector_time").BeginArray();
  for (const CollectorTime& t : r.collector_time) {
    w.BeginObject();
    w.Field("collector", t.collector).Field("mean_seconds", t.mean_seconds);
    w.Field("max_seconds", t.max_seconds).Field("share", t.share);
    w.Field("slow", t.slow);
    w.EndObject();
  }
  w.EndArray();
  w.Key("notes").BeginArray();
  for (const std::string& n : r.notes) w.Value(n);
  w.EndArray();
  w.EndObject();
  return w.Take() + "\n";
}

}  // namespace ml_exporter::mltool::review
