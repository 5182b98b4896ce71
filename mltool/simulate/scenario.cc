#include "mltool/simulate/scenario.h"

namespace ml_exporter::simulate {
namespace {

struct Entry {
  const char* name;
  const char* description;
  std::unique_ptr<Scenario> (*make)();
};

const Entry kScenarios[] = {
    {"speech_recognizer",
     "model asr, stages vad and decoder: audio length, SNR, language, query; "
     "transcripts, confidence; WAV blobs; sessions with repeats and switches "
     "to typing; impressions and clicks (examples/configs/demo.yaml)",
     NewSpeechRecognizerScenario},
    {"visual_inspection",
     "model vision: image brightness, size, camera; class and score; PNG "
     "blobs; late ground-truth labels",
     NewVisualInspectionScenario},
    {"structured_data",
     "model churn: age, income (with missing values), country, plan, "
     "tenure; churn score; late 0/1 labels",
     NewStructuredDataScenario},
    {"web_search",
     "model search, stage ranker: query, candidates; top score, result ids; "
     "sessions; impression and click events",
     NewWebSearchScenario},
    {"pipeline",
     "model assistant, stages vad -> asr -> ranker sharing a request id; "
     "requests stop at a stage with nothing to pass on",
     NewPipelineScenario},
};

}  // namespace

const std::vector<std::string>& ScenarioNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Entry& e : kScenarios) v.push_back(e.name);
    return v;
  }();
  return names;
}

std::string_view ScenarioDescription(std::string_view name) {
  for (const Entry& e : kScenarios) {
    if (name == e.name) return e.description;
  }
  return "";
}

std::unique_ptr<Scenario> MakeScenario(std::string_view name) {
  for (const Entry& e : kScenarios) {
    if (name == e.name) return e.make();
  }
  return nullptr;
}

}  // namespace ml_exporter::simulate
