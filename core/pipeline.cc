#include "ml_exporter/pipeline.h"

#include <chrono>
#include <cmath>

#include "core/build_info.h"
#include "core/label_value.h"
#include "core/per_thread.h"
#include "ml_exporter/metric_builder.h"

namespace ml_exporter {

std::string_view SourceName(IngestSource source) {
  switch (source) {
    case IngestSource::kHttp:
      return "http";
    case IngestSource::kFile:
      return "file";
    case IngestSource::kStdin:
      return "stdin";
    case IngestSource::kLibrary:
      return "library";
    case IngestSource::kCount:
      break;
  }
  return "unknown";
}

std::string_view ReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kInvalidJson:
      return "invalid_json";
    case RejectReason::kInvalidProtobuf:
      return "invalid_protobuf";
    case RejectReason::kNotAnObject:
      return "not_an_object";
    case RejectReason::kMissingField:
      return "missing_field";
    case RejectReason::kWrongType:
      return "wrong_type";
    case RejectReason::kUnsupportedValue:
      return "unsupported_value";
    case RejectReason::kInvalidValue:
      return "invalid_value";
    case RejectReason::kBodyTooLarge:
      return "too_large";
    case RejectReason::kCount:
      break;
  }
  return "unknown";
}

std::string_view LimitName(CardinalityLimit limit) {
  switch (limit) {
    case CardinalityLimit::kModels:
      return "max_models";
    case CardinalityLimit::kFeatures:
      return "max_features";
    case CardinalityLimit::kOutputs:
      return "max_outputs";
    case CardinalityLimit::kLabelValues:
      return "max_label_values";
    case CardinalityLimit::kCount:
      break;
  }
  return "unknown";
}

// The last model triple this thread saw, and its id: records of one stream
// nearly always repeat it, so the shared ModelTable lock is rarely taken.
struct Pipeline::ModelCache {
  std::string model, version, stage;
  ModelId id = 0;
  bool valid = false;
};

Pipeline::Pipeline(const PipelineOptions& options)
    : options_(options),
      models_(options.max_models, options.max_label_length),
      model_cache_(std::make_unique<internal::PerThread<ModelCache>>()) {}

Pipeline::~Pipeline() = default;

Status Pipeline::Create(const PipelineOptions& options,
                        std::unique_ptr<Pipeline>* pipeline) {
  if (options.max_models < 1 || options.max_features < 1 ||
      options.max_outputs < 1 || options.max_label_values < 1) {
    return Status::InvalidArgument(
        "max_models, max_features, max_outputs and max_label_values must be "
        "at least 1");
  }
  if (options.max_label_length < 8) {
    return Status::InvalidArgument("max_label_length must be at least 8");
  }
  if (options.histogram_quantile_buckets < 1 ||
      options.histogram_quantile_buckets > 100) {
    return Status::InvalidArgument(
        "histogram_quantile_buckets must be between 1 and 100");
  }
  std::unique_ptr<Pipeline> p(new Pipeline(options));
  std::vector<std::string> names = options.collectors;
  const CollectorRegistry& registry = CollectorRegistry::Global();
  if (names.empty()) {
    for (const auto* entry : registry.Entries()) {
      if (entry->enabled_by_default) names.push_back(entry->name);
    }
  }
  CollectorContext context;
  context.options = &p->options_;
  context.cardinality = &p->cardinality_;
  for (const std::string& name : names) {
    const CollectorRegistry::Entry* entry = registry.Find(name);
    if (entry == nullptr) {
      std::string known;
      for (const auto* e : registry.Entries()) {
        known += known.empty() ? "" : ", ";
        known += e->name;
      }
      return Status::InvalidArgument("unknown collector \"" + name +
                                     "\"; known collectors: " + known);
    }
    p->collectors_.push_back({name, entry->factory(context)});
  }
  *pipeline = std::move(p);
  return Status::Ok();
}

std::vector<std::string> Pipeline::collector_names() const {
  std::vector<std::string> names;
  for (const auto& c : collectors_) names.push_back(c.name);
  return names;
}

ModelId Pipeline::ResolveModel(std::string_view model, std::string_view version,
                               std::string_view stage) {
  ModelCache& cache = model_cache_->Local();
  if (cache.valid && cache.model == model && cache.version == version &&
      cache.stage == stage) {
    return cache.id;
  }
  const uint64_t overflowed_before = models_.overflowed();
  ModelId id = models_.Intern(model, version, stage);
  if (models_.overflowed() != overflowed_before) {
    cardinality_.AddOverflow(CardinalityLimit::kModels);
    return id;  // never cache an overflowing triple: it would pin memory
  }
  cache.model.assign(model);
  cache.version.assign(version);
  cache.stage.assign(stage);
  cache.id = id;
  cache.valid = true;
  return id;
}

Status Pipeline::Observe(const Record& record) {
  if (record.model.empty()) {
    return Status::InvalidArgument("field \"model\" is required");
  }
  if (!std::isnan(record.latency_seconds) &&
      !(record.latency_seconds >= 0 && std::isfinite(record.latency_seconds))) {
    return Status::InvalidArgument(
        "field \"latency_seconds\" must be a finite number >= 0");
  }
  ObserveContext context{
      ResolveModel(record.model, record.version, record.stage)};
  for (auto& c : collectors_) c.collector->Observe(record, context);
  return Status::Ok();
}

Status Pipeline::ObserveEvent(const Event& event) {
  if (event.type.empty()) {
    return Status::InvalidArgument("field \"type\" is required in an event");
  }
  ObserveContext context{};
  if (!event.model.empty()) {
    context.model_id = ResolveModel(event.model, event.version, event.stage);
  } else {
    context.model_id = ObserveContext::kNoModel;
  }
  for (auto& c : collectors_) c.collector->ObserveEvent(event, context);
  return Status::Ok();
}

std::vector<prometheus::MetricFamily> Pipeline::Collect() {
  std::vector<prometheus::MetricFamily> out;
  auto duration = NewFamily(
      "ml_exporter_collector_duration_seconds",
      "Seconds each collector took to export its metrics at this scrape.",
      prometheus::MetricType::Gauge);
  auto success = NewFamily(
      "ml_exporter_collector_success",
      "1 if the collector exported its metrics at this scrape, 0 if it failed.",
      prometheus::MetricType::Gauge);
  for (auto& c : collectors_) {
    const auto start = std::chrono::steady_clock::now();
    Status status = c.collector->Collect(models_, &out);
    const std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - start;
    AddGauge(&duration, {{"collector", c.name}}, took.count());
    AddGauge(&success, {{"collector", c.name}}, status.ok() ? 1 : 0);
  }
  out.push_back(std::move(duration));
  out.push_back(std::move(success));

  auto ingested = NewFamily(
      "ml_exporter_ingested_records_total",
      "Records accepted and handed to the collectors, by input source.",
      prometheus::MetricType::Counter);
  auto ingested_events = NewFamily(
      "ml_exporter_ingested_events_total",
      "Events accepted and handed to the collectors, by input source.",
      prometheus::MetricType::Counter);
  auto rejected =
      NewFamily("ml_exporter_rejected_records_total",
                "Records and events rejected, by input source and reason.",
                prometheus::MetricType::Counter);
  for (size_t s = 0; s < static_cast<size_t>(IngestSource::kCount); ++s) {
    const auto source = static_cast<IngestSource>(s);
    const std::string source_name(SourceName(source));
    AddCounter(&ingested, {{"source", source_name}},
               static_cast<double>(ingest_stats_.accepted(source)));
    AddCounter(&ingested_events, {{"source", source_name}},
               static_cast<double>(ingest_stats_.accepted_events(source)));
    for (size_t r = 0; r < static_cast<size_t>(RejectReason::kCount); ++r) {
      const auto reason = static_cast<RejectReason>(r);
      AddCounter(&rejected,
                 {{"source", source_name},
                  {"reason", std::string(ReasonName(reason))}},
                 static_cast<double>(ingest_stats_.rejected(source, reason)));
    }
  }
  out.push_back(std::move(ingested));
  out.push_back(std::move(ingested_events));
  out.push_back(std::move(rejected));

  auto overflow = NewFamily(
      "ml_exporter_cardinality_overflow_total",
      "Values counted under \"__other__\" because a cardinality limit was "
      "reached, by limit.",
      prometheus::MetricType::Counter);
  for (size_t l = 0; l < static_cast<size_t>(CardinalityLimit::kCount); ++l) {
    const auto limit = static_cast<CardinalityLimit>(l);
    AddCounter(&overflow, {{"limit", std::string(LimitName(limit))}},
               static_cast<double>(cardinality_.overflow(limit)));
  }
  out.push_back(std::move(overflow));

  auto models = NewFamily("ml_exporter_models",
                          "Distinct (model, version, stage) series tracked.",
                          prometheus::MetricType::Gauge);
  AddGauge(&models, {}, static_cast<double>(models_.size()));
  out.push_back(std::move(models));

  auto build = NewFamily("ml_exporter_build_info",
                         "Always 1; the labels say which build is running.",
                         prometheus::MetricType::Gauge);
  AddGauge(&build,
           {{"version", internal::kBuildVersion},
            {"revision", internal::kBuildRevision}},
           1);
  out.push_back(std::move(build));
  return out;
}

namespace {

class PipelineCollectable : public prometheus::Collectable {
 public:
  explicit PipelineCollectable(Pipeline* pipeline) : pipeline_(pipeline) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    return pipeline_->Collect();
  }

 private:
  Pipeline* pipeline_;
};

}  // namespace

std::shared_ptr<prometheus::Collectable> Pipeline::AsCollectable() {
  return std::make_shared<PipelineCollectable>(this);
}

}  // namespace ml_exporter
