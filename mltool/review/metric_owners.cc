#include "mltool/review/metric_owners.h"

namespace ml_exporter::mltool::review {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string Label(const Labels& labels, const std::string& name) {
  const auto it = labels.find(name);
  return it == labels.end() ? "" : it->second;
}

}  // namespace

MetricOwner OwnerOf(std::string_view name, const Labels& labels) {
  MetricOwner owner;
  struct Prefix {
    std::string_view prefix;
    std::string_view collector;
  };
  // Longest prefixes first where one contains another.
  static constexpr Prefix kPrefixes[] = {
      {"ml_records_total", "software"},
      {"ml_prediction_errors_total", "software"},
      {"ml_latency_seconds", "software"},
      {"ml_feature_drift", "drift"},
      {"ml_output_drift", "drift"},
      {"ml_feature_unseen_category_ratio", "drift"},
      {"ml_output_unseen_category_ratio", "drift"},
      {"ml_feature_window_", "drift"},
      {"ml_output_window_", "drift"},
      {"ml_feature_", "inputs"},
      {"ml_output_", "outputs"},
      {"ml_audio_", "audio"},
      {"ml_image_", "image"},
      {"ml_text_", "text"},
      {"ml_session_", "sessions"},
      {"ml_feedback_", "feedback"},
      {"ml_label", "feedback"},
      {"ml_pipeline_", "pipeline"},
  };
  for (const Prefix& p : kPrefixes) {
    if (StartsWith(name, p.prefix)) {
      owner.collector = std::string(p.collector);
      break;
    }
  }
  if (name == "ml_blob_decode_errors_total") {
    owner.collector = Label(labels, "media");  // audio or image
  }
  if (labels.count("feature") != 0) {
    owner.field_kind = "feature";
    owner.field = Label(labels, "feature");
  } else if (labels.count("output") != 0) {
    owner.field_kind = "output";
    owner.field = Label(labels, "output");
  }
  return owner;
}

bool IsConstantByDesign(std::string_view name) {
  return StartsWith(name, "ml_exporter_") ||
         StartsWith(name, "ml_reference_") || name == "ml_alert_threshold" ||
         name == "ml_model_capacity" || name == "ml_drift_reference_info" ||
         name == "ml_drift_window_seconds";
}

}  // namespace ml_exporter::mltool::review
