#include "exporter/drift_page.h"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <utility>

namespace ml_exporter::internal {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using FeatureKey = DriftPage::FeatureKey;
using ModelKey = std::tuple<std::string, std::string, std::string>;

// The drift methods the page shows, in order. "lower is worse": the
// p-value, whose threshold is a lower bound.
struct MethodInfo {
  const char* method;
  const char* title;
  const char* abbreviation;  // table header
  bool lower_is_worse;
};
constexpr MethodInfo kMethods[] = {
    {"psi", "PSI", "PSI", false},
    {"jensen_shannon", "Jensen-Shannon", "JS", false},
    {"ks", "KS", "KS", false},
    {"wasserstein", "Wasserstein", "W", false},
    {"wasserstein_normalized", "Wasserstein / sd", "W/sd", false},
    {"chi2_p_value", "&chi;&sup2; p-value", "&chi;&sup2; p", true},
};
constexpr double kNone = std::numeric_limits<double>::quiet_NaN();

double DefaultThreshold(std::string_view metric) {
  for (const auto& [name, value] : DriftPage::DefaultThresholds()) {
    if (name == metric) return value;
  }
  return kNone;
}

// A ratio to a threshold above this sorts like this (a p-value of 1e-30
// is not a thousand times worse than one of 1e-27).
constexpr double kMaxSeverity = 100;

std::string LabelOf(const ClientMetric& m, std::string_view name) {
  for (const auto& l : m.label) {
    if (l.name == name) return l.value;
  }
  return "";
}

FeatureKey KeyOf(const ClientMetric& m) {
  return {LabelOf(m, "model"), LabelOf(m, "version"), LabelOf(m, "stage"),
          LabelOf(m, "feature")};
}

ModelKey ModelOf(const FeatureKey& k) {
  return {std::get<0>(k), std::get<1>(k), std::get<2>(k)};
}

double ValueOf(const MetricFamily& f, const ClientMetric& m) {
  switch (f.type) {
    case prometheus::MetricType::Counter:
      return m.counter.value;
    case prometheus::MetricType::Gauge:
      return m.gauge.value;
    default:
      return m.untyped.value;
  }
}

// A histogram as edges and cumulative counts (+Inf last).
void ReadHistogram(const ClientMetric& m, std::vector<double>* edges,
                   std::vector<double>* cumulative) {
  edges->clear();
  cumulative->clear();
  for (const auto& b : m.histogram.bucket) {
    if (!std::isinf(b.upper_bound)) edges->push_back(b.upper_bound);
    cumulative->push_back(static_cast<double>(b.cumulative_count));
  }
  if (cumulative->size() == edges->size()) {
    cumulative->push_back(static_cast<double>(m.histogram.sample_count));
  }
}

// Per-bucket fractions (summing to 1) from cumulative counts; empty when
// there is nothing.
std::vector<double> Fractions(const std::vector<double>& cumulative) {
  std::vector<double> out(cumulative.size());
  const double total = cumulative.empty() ? 0 : cumulative.back();
  if (total <= 0) return {};
  double below = 0;
  for (size_t i = 0; i < cumulative.size(); ++i) {
    out[i] = std::max(0.0, cumulative[i] - below) / total;
    below = std::max(below, cumulative[i]);
  }
  return out;
}

// The fraction of a reference (edges, cumulative) at or below x, linear
// inside a bucket; for re-binning a reference whose edges differ from the
// live histogram's.
double CdfAt(const std::vector<double>& edges,
             const std::vector<double>& cumulative, double x) {
  const double total = cumulative.back();
  if (edges.empty() || total <= 0) return 0;
  if (x < edges.front()) return 0;
  for (size_t i = 0; i < edges.size(); ++i) {
    if (x == edges[i]) return cumulative[i] / total;
    if (x < edges[i]) {
      const double lo = edges[i - 1], hi = edges[i];
      const double t = (x - lo) / (hi - lo);
      return (cumulative[i - 1] + t * (cumulative[i] - cumulative[i - 1])) /
             total;
    }
  }
  return cumulative[edges.size() - 1] / total;
}

std::vector<double> Rebin(const std::vector<double>& ref_edges,
                          const std::vector<double>& ref_cumulative,
                          const std::vector<double>& edges) {
  if (ref_edges == edges) return Fractions(ref_cumulative);
  std::vector<double> cum;
  for (double e : edges) cum.push_back(CdfAt(ref_edges, ref_cumulative, e));
  cum.push_back(1);
  return Fractions(cum);
}

std::string Escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string UrlEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string UrlDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() &&
               std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(
          std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Short, readable numbers for axes and scores: 0.123, 45.6, 12k, 1.5M.
std::string Number(double v) {
  if (std::isnan(v)) return "&ndash;";
  if (std::isinf(v)) return v > 0 ? "+&infin;" : "&minus;&infin;";
  char buf[32];
  const double a = std::fabs(v);
  if (a >= 1e3 && a < 1e4) {
    std::snprintf(buf, sizeof buf, "%.4g", v);
  } else if (a >= 1e4 && a < 1e12) {
    const char* suffix = a >= 1e9 ? "G" : a >= 1e6 ? "M" : "k";
    const double scale = a >= 1e9 ? 1e9 : a >= 1e6 ? 1e6 : 1e3;
    std::snprintf(buf, sizeof buf, "%.3g%s", v / scale, suffix);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  }
  return buf;
}

std::string Percent(double v) {
  if (std::isnan(v)) return "&ndash;";
  char buf[32];
  std::snprintf(buf, sizeof buf, v > 0 && v < 0.001 ? "%.2g%%" : "%.1f%%",
                100 * v);
  return buf;
}

std::string Fixed(double v, int digits = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string Clock(std::chrono::system_clock::time_point t) {
  const time_t s = std::chrono::system_clock::to_time_t(t);
  struct tm tm;
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S UTC", &tm);
  return buf;
}

std::string Duration(double seconds) {
  if (seconds < 120) return Fixed(seconds, 0) + " s";
  if (seconds < 7200) return Fixed(seconds / 60, 0) + " min";
  return Fixed(seconds / 3600, 1) + " h";
}

// Everything the page knows about one feature.
struct FeatureView {
  FeatureKey key;
  DriftPage::Counters live;    // over the window
  double period_seconds = -1;  // the window; -1: since start
  std::chrono::system_clock::time_point since;
  std::vector<double> ref_edges, ref_cumulative;  // numeric reference
  std::map<std::string, double> ref_categories;   // categorical reference
  std::map<std::string, double> drift;            // method -> score
  double unseen = std::numeric_limits<double>::quiet_NaN();
  double window_count = std::numeric_limits<double>::quiet_NaN();
  double drift_window_seconds = 0;
  // metric (drift_psi, missing_ratio, ...) -> threshold
  std::map<std::string, double> thresholds;

  double severity = 0;  // max of score / threshold over the methods
  std::string worst;    // method with that severity

  double missing_ratio() const {
    return live.observations > 0 ? live.missing / live.observations
                                 : std::numeric_limits<double>::quiet_NaN();
  }
  // The configured threshold, or the alert rules' default, or NaN.
  double Threshold(const std::string& metric) const {
    auto it = thresholds.find(metric);
    return it != thresholds.end() ? it->second : DefaultThreshold(metric);
  }
  bool has_reference() const {
    return !ref_cumulative.empty() || !ref_categories.empty();
  }
  double live_values() const {
    if (!live.cumulative.empty()) return live.cumulative.back();
    double n = 0;
    for (const auto& [v, c] : live.categories) n += c;
    return n;
  }
};

bool Matches(const FeatureKey& k, const DriftPageQuery& q) {
  return (q.model.empty() || std::get<0>(k) == q.model) &&
         (q.feature.empty() || std::get<3>(k) == q.feature);
}

// The change of the counters since `base` (same edges, nothing went
// down); nullopt when the series restarted in between.
std::optional<DriftPage::Counters> Since(const DriftPage::Counters& now,
                                         const DriftPage::Counters& base) {
  DriftPage::Counters d;
  if (now.missing < base.missing || now.observations < base.observations) {
    return std::nullopt;
  }
  d.missing = now.missing - base.missing;
  d.observations = now.observations - base.observations;
  if (!now.cumulative.empty()) {
    if (!base.cumulative.empty() && base.edges != now.edges) {
      return std::nullopt;
    }
    d.edges = now.edges;
    d.cumulative = now.cumulative;
    for (size_t i = 0; i < base.cumulative.size(); ++i) {
      if (now.cumulative[i] < base.cumulative[i]) return std::nullopt;
      d.cumulative[i] -= base.cumulative[i];
    }
  }
  for (const auto& [value, count] : now.categories) {
    auto it = base.categories.find(value);
    const double before = it == base.categories.end() ? 0 : it->second;
    if (count < before) return std::nullopt;
    if (count > before) d.categories[value] = count - before;
  }
  return d;
}

constexpr const char* kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 6px}
p.meta{color:#59636e;margin:0 0 16px;font-size:13px}
table.summary{border-collapse:collapse;font-size:13px;margin-bottom:24px}
table.summary th,table.summary td{border-bottom:1px solid #d1d9e0;padding:4px 8px;text-align:right;white-space:nowrap}
table.summary th{background:#f6f8fa}
table.summary td.name,table.summary th.name{text-align:left}
.bad{color:#cf222e;font-weight:600}.ok{color:#1a7f37}
div.features{display:grid;grid-template-columns:repeat(auto-fill,minmax(580px,1fr));gap:16px}
section.feature{border:1px solid #d1d9e0;border-radius:6px;padding:12px 16px;min-width:0}
svg.chart{max-width:100%;height:auto}
section.feature.alert{border-color:#cf222e;border-width:2px}
.chips span{display:inline-block;background:#f6f8fa;border:1px solid #d1d9e0;border-radius:12px;padding:1px 8px;margin:0 6px 6px 0;font-size:12px}
.chips span.bad{background:#ffebe9;border-color:#ff8182}
p.note{color:#59636e;font-size:12px;margin:4px 0}
a{color:#0969da}
svg text{font-family:system-ui,sans-serif}
)";

constexpr const char* kLive = "#2f6fbf";
constexpr const char* kRef = "#e8710a";

// Bars of the live distribution over the reference's outline, one slot per
// histogram bucket (equal widths: the edges are quantiles, not a scale).
std::string NumericChart(const FeatureView& f) {
  const std::vector<double> live = Fractions(f.live.cumulative);
  std::vector<double> ref;
  if (!f.ref_cumulative.empty()) {
    ref = Rebin(f.ref_edges, f.ref_cumulative, f.live.edges);
  }
  const size_t n = f.live.cumulative.size();
  const double width = 560, height = 230, left = 52, right = 12, top = 26,
               bottom = 50;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  double max = 0;
  for (double v : live) max = std::max(max, v);
  for (double v : ref) max = std::max(max, v);
  max = max <= 0 ? 1 : std::min(1.0, max * 1.1);
  const double slot = plot_w / static_cast<double>(n);
  std::string s =
      "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
      "width=\"" +
      Fixed(width, 0) + "\" height=\"" + Fixed(height, 0) +
      "\" viewBox=\"0 0 " + Fixed(width, 0) + " " + Fixed(height, 0) +
      "\" role=\"img\" aria-label=\"" + Escape(std::get<3>(f.key)) +
      " distribution\">";
  for (int g = 0; g <= 4; ++g) {
    const double v = max * g / 4;
    const double y = top + plot_h - plot_h * g / 4;
    s += "<line x1=\"" + Fixed(left) + "\" y1=\"" + Fixed(y) + "\" x2=\"" +
         Fixed(width - right) + "\" y2=\"" + Fixed(y) +
         "\" stroke=\"#d1d9e0\" stroke-width=\"1\"/>";
    s += "<text x=\"" + Fixed(left - 6) + "\" y=\"" + Fixed(y + 4) +
         "\" font-size=\"11\" text-anchor=\"end\" fill=\"#59636e\">" +
         Percent(v) + "</text>";
  }
  const auto bucket_name = [&](size_t i) {
    const std::string lo =
        i == 0 ? std::string("&minus;&infin;") : Number(f.live.edges[i - 1]);
    const std::string hi =
        i < f.live.edges.size() ? Number(f.live.edges[i]) : "+&infin;";
    return "(" + lo + ", " + hi + "]";
  };
  for (size_t i = 0; i < n; ++i) {
    const double x = left + slot * static_cast<double>(i);
    const double lv = i < live.size() ? live[i] : 0;
    const double h = plot_h * lv / max;
    std::string tip = bucket_name(i) + ": live " + Percent(lv);
    if (!ref.empty()) tip += ", reference " + Percent(ref[i]);
    s += "<rect class=\"live\" x=\"" + Fixed(x + slot * 0.12) + "\" y=\"" +
         Fixed(top + plot_h - h) + "\" width=\"" + Fixed(slot * 0.76) +
         "\" height=\"" + Fixed(h) + "\" fill=\"" + kLive +
         "\" fill-opacity=\"0.75\"><title>" + tip + "</title></rect>";
    if (!ref.empty()) {
      const double rh = plot_h * ref[i] / max;
      s += "<rect class=\"reference\" x=\"" + Fixed(x + slot * 0.06) +
           "\" y=\"" + Fixed(top + plot_h - rh) + "\" width=\"" +
           Fixed(slot * 0.88) + "\" height=\"" + Fixed(rh) +
           "\" fill=\"none\" stroke=\"" + kRef +
           "\" stroke-width=\"2.5\"><title>" + tip + "</title></rect>";
    }
  }
  // Edge labels on the slot boundaries, thinned to at most ~24.
  const size_t step = std::max<size_t>(1, (f.live.edges.size() + 23) / 24);
  for (size_t e = 0; e < f.live.edges.size(); e += step) {
    const double x = left + slot * static_cast<double>(e + 1);
    const double y = top + plot_h + 12;
    s += "<text x=\"" + Fixed(x) + "\" y=\"" + Fixed(y) +
         "\" font-size=\"11\" text-anchor=\"end\" fill=\"#1f2328\" "
         "transform=\"rotate(-40 " +
         Fixed(x) + " " + Fixed(y) + ")\">" + Number(f.live.edges[e]) +
         "</text>";
  }
  s += "<line x1=\"" + Fixed(left) + "\" y1=\"" + Fixed(top + plot_h) +
       "\" x2=\"" + Fixed(width - right) + "\" y2=\"" + Fixed(top + plot_h) +
       "\" stroke=\"#59636e\"/>";
  // Legend.
  s += "<rect x=\"" + Fixed(left) +
       "\" y=\"6\" width=\"14\" height=\"12\" "
       "fill=\"" +
       std::string(kLive) +
       "\" fill-opacity=\"0.75\"/>"
       "<text x=\"" +
       Fixed(left + 20) + "\" y=\"16\" font-size=\"12\">live (" +
       Fixed(f.live_values(), 0) + " values)</text>";
  if (!ref.empty()) {
    s += "<rect x=\"" + Fixed(left + 190) +
         "\" y=\"6\" width=\"14\" "
         "height=\"12\" fill=\"none\" stroke=\"" +
         std::string(kRef) + "\" stroke-width=\"2.5\"/><text x=\"" +
         Fixed(left + 210) + "\" y=\"16\" font-size=\"12\">reference (" +
         Fixed(f.ref_cumulative.back(), 0) + " values)</text>";
  }
  s += "</svg>";
  return s;
}

// Horizontal bars per category: live share over the reference share.
std::string CategoryChart(const FeatureView& f) {
  double live_total = 0;
  for (const auto& [v, c] : f.live.categories) live_total += c;
  std::map<std::string, std::pair<double, double>> shares;  // live, ref
  for (const auto& [v, c] : f.live.categories) {
    shares[v].first = live_total > 0 ? c / live_total : 0;
  }
  for (const auto& [v, r] : f.ref_categories) shares[v].second = r;
  std::vector<std::pair<std::string, std::pair<double, double>>> rows(
      shares.begin(), shares.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    const double ma = std::max(a.second.first, a.second.second);
    const double mb = std::max(b.second.first, b.second.second);
    return ma != mb ? ma > mb : a.first < b.first;
  });
  constexpr size_t kMaxRows = 15;
  if (rows.size() > kMaxRows) {
    std::pair<double, double> rest{0, 0};
    for (size_t i = kMaxRows - 1; i < rows.size(); ++i) {
      rest.first += rows[i].second.first;
      rest.second += rows[i].second.second;
    }
    rows.resize(kMaxRows - 1);
    rows.emplace_back(
        "(" + std::to_string(shares.size() - kMaxRows + 1) + " more values)",
        rest);
  }
  const bool has_ref = !f.ref_categories.empty();
  const double width = 560, left = 150, right = 60, top = 26, row_h = 22;
  const double height = top + row_h * static_cast<double>(rows.size()) + 8;
  const double plot_w = width - left - right;
  double max = 0;
  for (const auto& r : rows) {
    max = std::max({max, r.second.first, r.second.second});
  }
  if (max <= 0) max = 1;
  std::string s =
      "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
      "width=\"" +
      Fixed(width, 0) + "\" height=\"" + Fixed(height, 0) +
      "\" viewBox=\"0 0 " + Fixed(width, 0) + " " + Fixed(height, 0) +
      "\" role=\"img\" aria-label=\"" + Escape(std::get<3>(f.key)) +
      " categories\">";
  s += "<rect x=\"" + Fixed(left) +
       "\" y=\"6\" width=\"14\" height=\"12\" "
       "fill=\"" +
       std::string(kLive) +
       "\" fill-opacity=\"0.75\"/>"
       "<text x=\"" +
       Fixed(left + 20) + "\" y=\"16\" font-size=\"12\">live (" +
       Fixed(live_total, 0) + " values)</text>";
  if (has_ref) {
    s += "<rect x=\"" + Fixed(left + 190) +
         "\" y=\"6\" width=\"14\" "
         "height=\"12\" fill=\"none\" stroke=\"" +
         std::string(kRef) + "\" stroke-width=\"2.5\"/><text x=\"" +
         Fixed(left + 210) + "\" y=\"16\" font-size=\"12\">reference</text>";
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& [name, v] = rows[i];
    const double y = top + row_h * static_cast<double>(i);
    std::string label = name;
    if (label.size() > 20) {  // cut at a character boundary, add "…"
      size_t cut = 19;
      while (cut > 0 &&
             (static_cast<unsigned char>(label[cut]) & 0xC0) == 0x80) {
        --cut;
      }
      label = label.substr(0, cut) + "\xE2\x80\xA6";
    }
    std::string tip = Escape(name) + ": live " + Percent(v.first);
    if (has_ref) tip += ", reference " + Percent(v.second);
    s += "<text x=\"" + Fixed(left - 8) + "\" y=\"" + Fixed(y + 15) +
         "\" font-size=\"12\" text-anchor=\"end\">" +
         (name.empty() ? std::string("(empty)") : Escape(label)) + "</text>";
    s += "<rect class=\"live\" x=\"" + Fixed(left) + "\" y=\"" + Fixed(y + 4) +
         "\" width=\"" + Fixed(plot_w * v.first / max) + "\" height=\"" +
         Fixed(row_h - 8) + "\" fill=\"" + kLive +
         "\" fill-opacity=\"0.75\"><title>" + tip + "</title></rect>";
    if (has_ref) {
      s += "<rect class=\"reference\" x=\"" + Fixed(left) + "\" y=\"" +
           Fixed(y + 2) + "\" width=\"" + Fixed(plot_w * v.second / max) +
           "\" height=\"" + Fixed(row_h - 4) + "\" fill=\"none\" stroke=\"" +
           kRef + "\" stroke-width=\"2.5\"><title>" + tip + "</title></rect>";
    }
    s += "<text x=\"" +
         Fixed(left + plot_w * std::max(v.first, v.second) / max + 6) +
         "\" y=\"" + Fixed(y + 15) + "\" font-size=\"11\" fill=\"#59636e\">" +
         Percent(v.first) + "</text>";
  }
  s += "</svg>";
  return s;
}

std::string PeriodText(const FeatureView& f) {
  if (f.period_seconds < 0) {
    return "since the counters started (no view of this page a window ago "
           "yet, or the series restarted)";
  }
  return "over the last " + Duration(f.period_seconds) + " (since " +
         Clock(f.since) + ")";
}

std::string FeatureLink(const FeatureKey& k, double window) {
  std::string q = "?model=" + UrlEncode(std::get<0>(k)) +
                  "&feature=" + UrlEncode(std::get<3>(k));
  if (window > 0) q += "&window=" + Fixed(window, 0);
  return "/drift" + q;
}

}  // namespace

const std::vector<std::pair<std::string, double>>&
DriftPage::DefaultThresholds() {
  static const auto* defaults = new std::vector<std::pair<std::string, double>>{
      {"drift_psi", 0.25}, {"missing_ratio", 0.5}};
  return *defaults;
}

DriftPageQuery DriftPageQuery::Parse(std::string_view query_string) {
  DriftPageQuery q;
  while (!query_string.empty()) {
    const size_t amp = query_string.find('&');
    const std::string_view pair = query_string.substr(0, amp);
    query_string = amp == std::string_view::npos ? std::string_view()
                                                 : query_string.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string key = UrlDecode(pair.substr(0, eq));
    const std::string value = UrlDecode(pair.substr(eq + 1));
    if (key == "model") {
      q.model = value;
    } else if (key == "feature") {
      q.feature = value;
    } else if (key == "window") {
      char* end = nullptr;
      const double w = std::strtod(value.c_str(), &end);
      if (end != value.c_str() && *end == '\0' && std::isfinite(w) && w > 0) {
        q.window_seconds = w;
      }
    }
  }
  return q;
}

std::string DriftPage::Render(const std::vector<MetricFamily>& families,
                              const DriftPageQuery& query,
                              std::chrono::system_clock::time_point now) {
  auto current = std::make_shared<Snapshot>();
  current->time = now;
  std::map<FeatureKey, FeatureView> views;
  std::map<ModelKey, double> drift_window;
  std::map<ModelKey, std::map<std::string, double>> model_thresholds;
  for (const MetricFamily& f : families) {
    const std::string& name = f.name;
    for (const ClientMetric& m : f.metric) {
      if (name == "ml_alert_threshold") {
        // The bound the page judges by: lower for p-values, else upper.
        const std::string metric = LabelOf(m, "metric");
        const bool p_value = metric.ends_with("_p_value");
        if (LabelOf(m, "bound") != (p_value ? "lower" : "upper")) continue;
        const std::string feature = LabelOf(m, "feature");
        const FeatureKey k{LabelOf(m, "model"), LabelOf(m, "version"),
                           LabelOf(m, "stage"), feature};
        if (feature.empty()) {
          model_thresholds[ModelOf(k)][metric] = ValueOf(f, m);
        } else {
          views[k].thresholds[metric] = ValueOf(f, m);
        }
        continue;
      }
      if (name == "ml_drift_window_seconds") {
        drift_window[{LabelOf(m, "model"), LabelOf(m, "version"),
                      LabelOf(m, "stage")}] = ValueOf(f, m);
        continue;
      }
      if (name.rfind("ml_feature_", 0) != 0 &&
          name.rfind("ml_reference_feature_", 0) != 0) {
        continue;
      }
      const FeatureKey k = KeyOf(m);
      if (std::get<3>(k).empty()) continue;
      if (name == "ml_feature_value") {
        Counters& c = current->features[k];
        ReadHistogram(m, &c.edges, &c.cumulative);
      } else if (name == "ml_feature_missing_total") {
        current->features[k].missing = ValueOf(f, m);
      } else if (name == "ml_feature_observations_total") {
        current->features[k].observations = ValueOf(f, m);
      } else if (name == "ml_feature_category_total") {
        current->features[k].categories[LabelOf(m, "value")] = ValueOf(f, m);
      } else if (name == "ml_reference_feature_value") {
        FeatureView& v = views[k];
        ReadHistogram(m, &v.ref_edges, &v.ref_cumulative);
      } else if (name == "ml_reference_feature_category_ratio") {
        views[k].ref_categories[LabelOf(m, "value")] = ValueOf(f, m);
      } else if (name == "ml_feature_drift") {
        views[k].drift[LabelOf(m, "method")] = ValueOf(f, m);
      } else if (name == "ml_feature_unseen_category_ratio") {
        views[k].unseen = ValueOf(f, m);
      } else if (name == "ml_feature_window_values") {
        views[k].window_count = ValueOf(f, m);
      }
    }
  }

  // The baseline of each feature: the newest snapshot at least its window
  // old. Keep this view as a snapshot unless one is very recent.
  std::deque<std::shared_ptr<const Snapshot>> snapshots;
  std::chrono::system_clock::time_point first_view;
  {
    std::lock_guard<std::mutex> lock(mu_);
    snapshots = snapshots_;
    if (snapshots_.empty() ||
        now - snapshots_.back()->time >= kSnapshotSpacing) {
      snapshots_.push_back(current);
      // Thin out: drop the snapshot whose neighbours are closest, so the
      // kept ones thin with age and still reach back in time.
      while (snapshots_.size() > kMaxSnapshots) {
        size_t drop = 1;
        auto gap = snapshots_.back()->time - snapshots_.front()->time;
        for (size_t i = 1; i + 1 < snapshots_.size(); ++i) {
          const auto g = snapshots_[i + 1]->time - snapshots_[i - 1]->time;
          if (g < gap) {
            gap = g;
            drop = i;
          }
        }
        snapshots_.erase(snapshots_.begin() + static_cast<long>(drop));
      }
    }
    first_view = snapshots_.front()->time;
  }
  for (auto& [k, c] : current->features) {
    FeatureView& v = views[k];
    v.key = k;
    auto w = drift_window.find(ModelOf(k));
    v.drift_window_seconds = w == drift_window.end() ? 0 : w->second;
    const double window = query.window_seconds > 0     ? query.window_seconds
                          : v.drift_window_seconds > 0 ? v.drift_window_seconds
                                                       : kDefaultWindowSeconds;
    v.live = c;
    v.since = first_view;
    for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
      const auto age = std::chrono::duration<double>(now - (*it)->time);
      if (age.count() < window) continue;
      auto base = (*it)->features.find(k);
      std::optional<Counters> d = base == (*it)->features.end()
                                      ? std::optional<Counters>(c)
                                      : Since(c, base->second);
      if (d) {
        v.live = std::move(*d);
        v.period_seconds = age.count();
        v.since = (*it)->time;
      }
      break;
    }
  }
  for (auto& [k, v] : views) {
    v.key = k;
    auto mt = model_thresholds.find(ModelOf(k));
    if (mt != model_thresholds.end()) {
      for (const auto& [metric, value] : mt->second) {
        v.thresholds.emplace(metric, value);
      }
    }
    for (const MethodInfo& mi : kMethods) {
      auto it = v.drift.find(mi.method);
      if (it == v.drift.end() || std::isnan(it->second)) continue;
      const double t = v.Threshold(std::string("drift_") + mi.method);
      if (!(t > 0)) continue;
      const double r =
          mi.lower_is_worse ? t / std::max(it->second, 1e-300) : it->second / t;
      if (std::min(r, kMaxSeverity) > v.severity) {
        v.severity = std::min(r, kMaxSeverity);
        v.worst = mi.method;
      }
    }
    if (!std::isnan(v.unseen)) {
      const double t = v.Threshold("unseen_category_ratio");
      if (t > 0 && v.unseen / t > v.severity) {
        v.severity = std::min(v.unseen / t, kMaxSeverity);
        v.worst = "unseen";
      }
    }
  }

  std::vector<const FeatureView*> order;
  for (const auto& [k, v] : views) {
    if (!Matches(k, query)) continue;
    // Features with values or scores: not thresholds alone, nor fields of
    // a reference profile this model stage never sends.
    const bool seen = v.live.observations > 0 || v.live_values() > 0 ||
                      current->features.count(k) > 0;
    if (!seen && v.drift.empty()) continue;
    order.push_back(&v);
  }
  std::sort(order.begin(), order.end(),
            [](const FeatureView* a, const FeatureView* b) {
              if (a->severity != b->severity) return a->severity > b->severity;
              const double ma = a->missing_ratio(), mb = b->missing_ratio();
              const double xa = std::isnan(ma) ? -1 : ma,
                           xb = std::isnan(mb) ? -1 : mb;
              if (xa != xb) return xa > xb;
              return a->key < b->key;
            });

  const bool any_reference =
      std::any_of(order.begin(), order.end(),
                  [](const FeatureView* v) { return v->has_reference(); });
  std::string html =
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width\">"
      "<title>ml_exporter: distributions and drift</title><style>" +
      std::string(kStyle) +
      "</style></head><body><h1>Live distributions against the reference</h1>"
      "<p class=\"meta\">Generated " +
      Clock(now) +
      ". Features sorted by "
      "their worst drift score relative to its alert threshold (configured, "
      "or the default), then by missing fraction. Live values are the "
      "change of the exporter's counters over the window; reload the page "
      "to follow them. <a href=\"/\">ml_exporter</a> &middot; "
      "<a href=\"/drift\">all features</a>";
  if (!query.model.empty() || !query.feature.empty()) {
    html += " &middot; showing";
    if (!query.model.empty()) html += " model " + Escape(query.model);
    if (!query.feature.empty()) html += " feature " + Escape(query.feature);
  }
  html += "</p>";
  if (!any_reference) {
    html +=
        "<p class=\"note\" id=\"no-reference\">No reference: no model "
        "has a reference distribution, so there are no drift scores. "
        "Enable the <code>drift</code> collector with a profile from "
        "<code>mltool profile</code> (docs/drift.md) to compare with "
        "the training data.</p>";
  }
  if (order.empty()) {
    html +=
        "<p id=\"empty\">No features yet: send records with inputs to "
        "POST /api/v1/records.</p></body></html>\n";
    return html;
  }

  html +=
      "<table class=\"summary\"><tr><th class=\"name\">model</th>"
      "<th class=\"name\">version</th><th class=\"name\">stage</th>"
      "<th class=\"name\">feature</th><th>worst</th>";
  for (const MethodInfo& mi : kMethods) {
    html += "<th title=\"" + std::string(mi.title) + "\">" + mi.abbreviation +
            "</th>";
  }
  html += "<th>unseen</th><th>missing</th><th>live values</th></tr>";
  size_t index = 0;
  for (const FeatureView* v : order) {
    const auto& [model, version, stage, feature] = v->key;
    html += "<tr><td class=\"name\">" + Escape(model) +
            "</td><td class=\"name\">" + Escape(version) +
            "</td><td class=\"name\">" + Escape(stage) +
            "</td><td class=\"name\"><a href=\"#f" + std::to_string(index) +
            "\">" + Escape(feature) + "</a></td>";
    html += v->severity >= 1 ? "<td class=\"bad\">" + Fixed(v->severity, 1) +
                                   "&times; " + Escape(v->worst) + "</td>"
            : v->severity > 0 ? "<td>" + Fixed(v->severity, 2) + "&times; " +
                                    Escape(v->worst) + "</td>"
                              : "<td>&ndash;</td>";
    for (const MethodInfo& mi : kMethods) {
      auto it = v->drift.find(mi.method);
      if (it == v->drift.end()) {
        html += "<td>&ndash;</td>";
        continue;
      }
      const double t = v->Threshold(std::string("drift_") + mi.method);
      const bool over =
          t > 0 && (mi.lower_is_worse ? it->second < t : it->second > t);
      html += std::string(over ? "<td class=\"bad\">" : "<td>") +
              Number(it->second) + "</td>";
    }
    const double unseen_t = v->Threshold("unseen_category_ratio");
    html += std::string(!std::isnan(v->unseen) && v->unseen > unseen_t
                            ? "<td class=\"bad\">"
                            : "<td>") +
            Percent(v->unseen) + "</td>";
    const double missing = v->missing_ratio();
    const double missing_t = v->Threshold("missing_ratio");
    html += std::string(!std::isnan(missing) && missing > missing_t
                            ? "<td class=\"bad\">"
                            : "<td>") +
            Percent(missing) + "</td><td>" + Fixed(v->live_values(), 0) +
            "</td></tr>";
    ++index;
  }
  html += "</table>";

  html += "<div class=\"features\">";
  index = 0;
  for (const FeatureView* v : order) {
    const auto& [model, version, stage, feature] = v->key;
    const double missing = v->missing_ratio();
    const double missing_t = v->Threshold("missing_ratio");
    const bool missing_bad = !std::isnan(missing) && missing > missing_t;
    html += "<section class=\"feature" +
            std::string(v->severity >= 1 || missing_bad ? " alert" : "") +
            "\" id=\"f" + std::to_string(index++) + "\"><h2>" + Escape(model) +
            " <small>" + Escape(version) + " / " + Escape(stage) +
            "</small> &middot; <a href=\"" +
            Escape(FeatureLink(v->key, query.window_seconds)) + "\">" +
            Escape(feature) + "</a></h2><div class=\"chips\">";
    for (const MethodInfo& mi : kMethods) {
      auto it = v->drift.find(mi.method);
      if (it == v->drift.end()) continue;
      const double t = v->Threshold(std::string("drift_") + mi.method);
      const bool over =
          t > 0 && (mi.lower_is_worse ? it->second < t : it->second > t);
      html += std::string(over ? "<span class=\"bad\">" : "<span>") + mi.title +
              " " + Number(it->second) +
              (t > 0 ? std::string(mi.lower_is_worse ? " (alert below "
                                                     : " (alert above ") +
                           Number(t) + ")"
                     : std::string()) +
              "</span>";
    }
    if (!std::isnan(v->unseen)) {
      html += "<span>unseen categories " + Percent(v->unseen) + "</span>";
    }
    html += std::string(missing_bad ? "<span class=\"bad\">" : "<span>") +
            "missing " + Percent(missing) +
            (missing_t > 0 ? " (alert above " + Percent(missing_t) + ")"
                           : std::string()) +
            "</span>";
    if (!std::isnan(v->window_count)) {
      html +=
          "<span>" + Fixed(v->window_count, 0) + " values in the drift window";
      if (v->drift_window_seconds > 0) {
        html += " of " + Duration(v->drift_window_seconds);
      }
      html += "</span>";
    }
    html += "</div>";
    if (!v->live.cumulative.empty()) {
      html += NumericChart(*v);
    } else if (!v->live.categories.empty() || !v->ref_categories.empty()) {
      html += CategoryChart(*v);
    } else {
      html +=
          "<p class=\"note\">No values to draw yet: the feature has "
          "been missing, or its histogram edges are still being learned "
          "(warm-up, docs/metrics.md).</p>";
    }
    if (v->live_values() == 0 && v->has_reference()) {
      html +=
          "<p class=\"note\">No live values: the inputs collector does "
          "not watch this feature (its include or exclude list), or none "
          "arrived in the window.</p>";
    }
    html += "<p class=\"note\">Live: " + Fixed(v->live_values(), 0) +
            " values and " + Fixed(v->live.observations, 0) + " observations " +
            PeriodText(*v) + ".";
    if (!v->has_reference()) {
      html +=
          " <span class=\"no-reference\">No reference for this "
          "feature.</span>";
    }
    html += "</p></section>";
  }
  html += "</div></body></html>\n";
  return html;
}

}  // namespace ml_exporter::internal
