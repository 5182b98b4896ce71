#include "mltool/simulate/fault.h"

#include <charconv>
#include <cmath>

namespace ml_exporter::simulate {
namespace {

struct KindInfo {
  FaultKind kind;
  std::string_view name;
  std::string_view description;
};

constexpr KindInfo kKinds[] = {
    {FaultKind::kEmptyFeature, "empty_feature",
     "one input per model arrives null in 90% of records (asr audio_seconds, "
     "vision camera, churn age, search num_candidates, assistant "
     "audio_seconds)"},
    {FaultKind::kQuieterAudio, "quieter_audio",
     "audio 20 dB quieter (WAV blobs and snr_db); the assistant's VAD finds "
     "less speech"},
    {FaultKind::kDarkerImages, "darker_images",
     "inspection images at half their brightness (PNG pixels and the "
     "brightness input)"},
    {FaultKind::kNullOutputs, "null_outputs",
     "outputs null or empty: 60% empty transcripts, vision label and churn "
     "score null, search results empty"},
    {FaultKind::kRepeatQueries, "repeat_queries",
     "users repeat their last query in 60% of session requests (asr, "
     "search, assistant)"},
    {FaultKind::kLatency, "latency",
     "every prediction takes 5 times longer plus 0.3 s"},
    {FaultKind::kShift, "shift",
     "distribution shift: language, label and country mixes move, churn age "
     "and income rise, a new country appears, search queries get longer and "
     "clicks rarer"},
};

}  // namespace

const std::vector<FaultKind>& AllFaultKinds() {
  static const std::vector<FaultKind> kinds = [] {
    std::vector<FaultKind> v;
    for (const KindInfo& k : kKinds) v.push_back(k.kind);
    return v;
  }();
  return kinds;
}

std::string_view FaultName(FaultKind kind) {
  for (const KindInfo& k : kKinds) {
    if (k.kind == kind) return k.name;
  }
  return "?";
}

std::string_view FaultDescription(FaultKind kind) {
  for (const KindInfo& k : kKinds) {
    if (k.kind == kind) return k.description;
  }
  return "";
}

bool FaultKindFromName(std::string_view name, FaultKind* kind) {
  for (const KindInfo& k : kKinds) {
    if (k.name == name) {
      *kind = k.kind;
      return true;
    }
  }
  return false;
}

bool ParseDurationSeconds(std::string_view text, double* seconds) {
  double scale = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 's':
        text.remove_suffix(1);
        break;
      case 'm':
        scale = 60;
        text.remove_suffix(1);
        break;
      case 'h':
        scale = 3600;
        text.remove_suffix(1);
        break;
      default:
        break;
    }
  }
  if (text.empty()) return false;
  double value = 0;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  if (!std::isfinite(value) || value < 0) return false;
  *seconds = value * scale;
  return true;
}

Status ParseFault(std::string_view text, Fault* fault) {
  auto kinds = [] {
    std::string list;
    for (const KindInfo& k : kKinds) {
      if (!list.empty()) list += ", ";
      list += k.name;
    }
    return list;
  };
  const size_t at = text.find('@');
  if (at == std::string_view::npos) {
    return Status::InvalidArgument(
        "--fault \"" + std::string(text) +
        "\": expected KIND@START[+DURATION], e.g. null_outputs@3m+2m");
  }
  const std::string_view name = text.substr(0, at);
  Fault f;
  if (!FaultKindFromName(name, &f.kind)) {
    return Status::InvalidArgument("--fault \"" + std::string(text) +
                                   "\": unknown kind \"" + std::string(name) +
                                   "\" (kinds: " + kinds() + ")");
  }
  std::string_view when = text.substr(at + 1);
  std::string_view length;
  const size_t plus = when.find('+');
  if (plus != std::string_view::npos) {
    length = when.substr(plus + 1);
    when = when.substr(0, plus);
  }
  if (!ParseDurationSeconds(when, &f.start_seconds)) {
    return Status::InvalidArgument("--fault \"" + std::string(text) +
                                   "\": start \"" + std::string(when) +
                                   "\" is not a time like 90, 90s, 1.5m or 1h");
  }
  if (plus != std::string_view::npos) {
    if (!ParseDurationSeconds(length, &f.duration_seconds) ||
        f.duration_seconds <= 0) {
      return Status::InvalidArgument(
          "--fault \"" + std::string(text) + "\": duration \"" +
          std::string(length) +
          "\" is not a positive time like 60, 60s, 2m or 1h");
    }
  }
  *fault = f;
  return Status::Ok();
}

}  // namespace ml_exporter::simulate
