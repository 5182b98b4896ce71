// A pipeline for the ingest fuzz targets: every built-in collector on, with
// small caps so that a short input reaches the overflow paths too.
#ifndef ML_EXPORTER_TESTS_FUZZ_FUZZ_PIPELINE_H_
#define ML_EXPORTER_TESTS_FUZZ_FUZZ_PIPELINE_H_

#include <google/protobuf/struct.pb.h>
#include <prometheus/text_serializer.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <sstream>
#include <string_view>
#include <vector>

#include "ml_exporter/ingest.h"
#include "ml_exporter/pipeline.h"

namespace ml_exporter::fuzz {

inline CollectorSpec Spec(const char* name, std::string params = "") {
  CollectorSpec spec;
  spec.name = name;
  spec.params = std::move(params);
  return spec;
}

// A fresh pipeline per input, so that every input replays alone exactly as
// it ran under the fuzzer.
inline std::unique_ptr<Pipeline> NewFuzzPipeline() {
  PipelineOptions options;
  // Join tables of 8 entries, so that evictions happen too.
  const auto small_table = [](const char* key) {
    google::protobuf::Struct params;
    (*params.mutable_fields())[key].set_number_value(8);
    return params;
  };
  std::vector<CollectorSpec> specs;
  for (const char* name :
       {"software", "inputs", "outputs", "audio", "image", "text", "drift"}) {
    specs.push_back(Spec(name));
  }
  specs.push_back(
      Spec("sessions", small_table("max_sessions").SerializeAsString()));
  specs.push_back(
      Spec("feedback", small_table("max_requests").SerializeAsString()));
  google::protobuf::Struct pipeline_params = small_table("max_requests");
  auto* stages =
      (*pipeline_params.mutable_fields())["stages"].mutable_list_value();
  for (const char* stage : {"asr", "nlu", "tts"}) {
    stages->add_values()->set_string_value(stage);
  }
  specs.push_back(Spec("pipeline", pipeline_params.SerializeAsString()));
  options.default_collectors = std::move(specs);
  options.max_models = 4;
  options.max_features = 8;
  options.max_outputs = 4;
  options.max_label_values = 4;
  options.max_label_length = 16;
  options.histogram_warmup_values = 4;
  options.drift.baseline_from_traffic = true;
  options.drift.min_count = 2;
  std::unique_ptr<Pipeline> pipeline;
  if (!Pipeline::Create(options, &pipeline).ok()) std::abort();
  return pipeline;
}

// Scrapes and renders, as GET /metrics would.
inline void Scrape(Pipeline& pipeline) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, pipeline.Collect());
}

// The body of the ingest fuzz targets: `ingest` (one of the Ingestor's
// decoders) runs on `body` twice in a fresh pipeline (the second pass finds
// the series, sessions and requests the first one created), then a scrape.
// Aborts when the result does not account for the records: more errors than
// rejections, more than kMaxErrors errors, or records accepted from a body
// rejected whole.
inline int FuzzIngest(
    std::string_view body,
    const std::function<IngestResult(Ingestor&, std::string_view)>& ingest) {
  auto pipeline = NewFuzzPipeline();
  Ingestor ingestor(pipeline.get(), IngestSource::kHttp);
  for (int pass = 0; pass < 2; ++pass) {
    const IngestResult result = ingest(ingestor, body);
    if (result.errors.size() > result.rejected ||
        result.errors.size() > IngestResult::kMaxErrors) {
      std::abort();
    }
    if (!result.body_status.ok() && result.accepted != 0) std::abort();
    IngestResultToJson(result);
  }
  Scrape(*pipeline);
  return 0;
}

}  // namespace ml_exporter::fuzz

#endif  // ML_EXPORTER_TESTS_FUZZ_FUZZ_PIPELINE_H_
