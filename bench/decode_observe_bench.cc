// Microbenchmarks of the ingest hot path: decoding each wire format into
// records and observing them, the in-process RecordBuilder path, and the
// scrape-time Collect.
//
//   decode_observe_bench [--stream=FILE] [--stream_lines=N] [benchmark flags]
//   decode_observe_bench --write_stream=FILE [--stream_lines=N]
//
// --stream reads the first N lines (default 10000) of an NDJSON file such as
// the one gen_stream.py writes; without it the same shape is generated in
// process (--write_stream writes that generated stream to a file and
// exits, for when gen_stream.py is not at hand). Every pipeline is warmed up
// (histogram edges frozen, per-thread cells allocated) before timing, so the
// figures are steady state.
#include <benchmark/benchmark.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/example_stream.h"
#include "core/histogram.h"
#include "exporter/json_record_scanner.h"
#include "exporter/json_token_scanner.h"
#include "ml_exporter.pb.h"
#include "ml_exporter/collector.h"
#include "ml_exporter/ingest.h"
#include "ml_exporter/pipeline.h"
#include "ml_exporter/record_builder.h"
#include "profile.pb.h"
#include "profile/profile_builder.h"

namespace {

using ml_exporter::Ingestor;
using ml_exporter::IngestResult;
using ml_exporter::IngestSource;
using ml_exporter::Pipeline;
using ml_exporter::PipelineOptions;
using ml_exporter::RecordBuilder;
using ml_exporter::Status;

std::string g_stream_path;
size_t g_stream_lines = 10000;

// Observes nothing: with it alone a pipeline measures decoding plus the
// pipeline's own checks and model lookup, without the collectors.
class NoopCollector : public ml_exporter::Collector {
 public:
  void Observe(const ml_exporter::Record&,
               const ml_exporter::ObserveContext&) override {}
  Status Collect(const ml_exporter::ModelTable&,
                 std::vector<prometheus::MetricFamily>*) override {
    return Status::Ok();
  }
};

ML_EXPORTER_REGISTER_COLLECTOR(bench_noop, "bench_noop",
                               "benchmark baseline: observes nothing", false,
                               [](const ml_exporter::CollectorContext&)
                                   -> std::unique_ptr<ml_exporter::Collector> {
                                 return std::make_unique<NoopCollector>();
                               });

struct Corpus {
  std::vector<std::string> lines;
  std::vector<ml_exporter::v1::Record> protos;
  size_t bytes = 0;
};

const Corpus& GetCorpus() {
  static const Corpus* corpus = [] {
    auto* c = new Corpus;
    if (g_stream_path.empty()) {
      c->lines = ml_exporter_bench::GenerateExampleStream(g_stream_lines);
    } else {
      std::string error;
      if (!ml_exporter_bench::ReadLines(g_stream_path, g_stream_lines,
                                        &c->lines, &error) ||
          c->lines.empty()) {
        std::fprintf(stderr, "decode_observe_bench: --stream: %s\n",
                     error.empty() ? "no lines" : error.c_str());
        std::exit(2);
      }
    }
    c->protos.resize(c->lines.size());
    for (size_t i = 0; i < c->lines.size(); ++i) {
      c->bytes += c->lines[i].size() + 1;
      std::string error;
      if (!ml_exporter_bench::JsonLineToRecord(c->lines[i], &c->protos[i],
                                               &error)) {
        std::fprintf(stderr,
                     "decode_observe_bench: line %zu is not a v1.Record in "
                     "the proto3 JSON mapping: %s\n",
                     i + 1, error.c_str());
        std::exit(2);
      }
    }
    return c;
  }();
  return *corpus;
}

// A pipeline running the default collectors, or only the no-op one.
std::unique_ptr<Pipeline> NewPipeline(
    bool noop, size_t max_features = PipelineOptions().max_features) {
  PipelineOptions options;
  options.histogram_warmup_values = 100;
  options.max_features = max_features;
  if (noop) options.collectors = {"bench_noop"};
  std::unique_ptr<Pipeline> pipeline;
  Status s = Pipeline::Create(options, &pipeline);
  if (!s.ok()) {
    std::fprintf(stderr, "decode_observe_bench: %s\n", s.ToString().c_str());
    std::exit(2);
  }
  return pipeline;
}

enum class Format { kNdjson, kJsonArray, kProtobuf };

// Request bodies of `per_body` records each, cut from `lines` (NDJSON, JSON
// array) or `protos` (protobuf Batch, same records); a remainder shorter
// than `per_body` is dropped.
std::vector<std::string> MakeBodies(
    const std::vector<std::string>& lines,
    const std::vector<ml_exporter::v1::Record>& protos, size_t per_body,
    Format format) {
  std::vector<std::string> bodies;
  for (size_t begin = 0; begin + per_body <= lines.size(); begin += per_body) {
    const size_t end = begin + per_body;
    switch (format) {
      case Format::kNdjson:
        bodies.push_back(ml_exporter_bench::NdjsonBody(lines, begin, end));
        break;
      case Format::kJsonArray:
        bodies.push_back(ml_exporter_bench::JsonArrayBody(lines, begin, end));
        break;
      case Format::kProtobuf:
        bodies.push_back(ml_exporter_bench::ProtobufBody(protos, begin, end));
        break;
    }
  }
  return bodies;
}

// Feeds `bodies` of `per_body` records each through an Ingestor into
// `pipeline`: one untimed pass (which freezes every histogram and sizes every
// buffer), then one body per benchmark iteration, cycling. False, with the
// benchmark marked skipped, when a body is not fully accepted.
bool TimeIngest(benchmark::State& state, Pipeline* pipeline, Format format,
                const std::vector<std::string>& bodies, size_t per_body) {
  Ingestor ingestor(pipeline, IngestSource::kHttp);
  const auto ingest = [&](const std::string& body) {
    switch (format) {
      case Format::kNdjson:
        return ingestor.IngestNdjson(body);
      case Format::kJsonArray:
        return ingestor.IngestJson(body);
      case Format::kProtobuf:
        return ingestor.IngestProtobuf(body);
    }
    return IngestResult();
  };
  for (const std::string& body : bodies) {
    const IngestResult r = ingest(body);
    if (r.accepted != per_body) {
      const std::string why =
          r.errors.empty() ? r.body_status.ToString()
                           : r.errors.front().message + " (record " +
                                 std::to_string(r.errors.front().index) + ")";
      state.SkipWithError(("body not fully accepted: " + why).c_str());
      return false;
    }
  }
  size_t i = 0;
  for (auto _ : state) {
    const IngestResult r = ingest(bodies[i]);
    benchmark::DoNotOptimize(r.accepted);
    if (++i == bodies.size()) i = 0;
  }
  return true;
}

// Runs one decoder over request-sized bodies of `state.range(0)` records,
// cycling through the corpus; state.range(1) != 0 swaps the collectors for
// the no-op one.
void RunIngest(benchmark::State& state, Format format) {
  const Corpus& corpus = GetCorpus();
  const size_t per_body = static_cast<size_t>(state.range(0));
  const bool noop = state.range(1) != 0;
  if (per_body == 0 || per_body > corpus.lines.size()) {
    state.SkipWithError("records per body must be in [1, corpus size]");
    return;
  }
  const std::vector<std::string> bodies =
      MakeBodies(corpus.lines, corpus.protos, per_body, format);
  size_t bytes = 0;
  for (const std::string& body : bodies) bytes += body.size();
  std::unique_ptr<Pipeline> pipeline = NewPipeline(noop);
  if (!TimeIngest(state, pipeline.get(), format, bodies, per_body)) return;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * per_body));
  state.SetBytesProcessed(static_cast<int64_t>(
      state.iterations() * (bytes / static_cast<double>(bodies.size()))));
  state.counters["ns_per_record"] = benchmark::Counter(
      static_cast<double>(state.iterations() * per_body),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetLabel(noop ? "decode only (no-op collector)"
                      : "decode + default collectors");
}

void BM_IngestNdjson(benchmark::State& state) {
  RunIngest(state, Format::kNdjson);
}
void BM_IngestJsonArray(benchmark::State& state) {
  RunIngest(state, Format::kJsonArray);
}
void BM_IngestProtobuf(benchmark::State& state) {
  RunIngest(state, Format::kProtobuf);
}

BENCHMARK(BM_IngestNdjson)
    ->ArgNames({"records", "noop"})
    ->Args({1, 0})
    ->Args({100, 0})
    ->Args({1000, 0})
    ->Args({100, 1});
BENCHMARK(BM_IngestJsonArray)
    ->ArgNames({"records", "noop"})
    ->Args({100, 0})
    ->Args({1000, 0})
    ->Args({100, 1});
BENCHMARK(BM_IngestProtobuf)
    ->ArgNames({"records", "noop"})
    ->Args({100, 0})
    ->Args({1000, 0})
    ->Args({100, 1});

// NDJSON ingest as in BM_IngestNdjson/records:100/noop:0 (default
// collectors), of records with `state.range(0)` numeric input features plus
// one categorical input, a latency and two outputs (GenerateWideStream):
// how throughput falls with the width of a record. feature_values_per_second
// counts the numeric fields, nulls included.
constexpr size_t kWideRecords = 1000;
constexpr size_t kWideRecordsPerBody = 100;

void BM_IngestNdjsonFeatures(benchmark::State& state) {
  const int features = static_cast<int>(state.range(0));
  // Generated once per width: Google Benchmark calls this function several
  // times per width (iteration estimate, repetitions).
  static std::map<int, std::vector<std::string>> bodies_by_width;
  std::vector<std::string>& bodies = bodies_by_width[features];
  if (bodies.empty()) {
    bodies = MakeBodies(
        ml_exporter_bench::GenerateWideStream(kWideRecords, features), {},
        kWideRecordsPerBody, Format::kNdjson);
  }
  // Room for every feature (the default max_features is 1,000), so no
  // field is folded into feature="__other__".
  std::unique_ptr<Pipeline> pipeline =
      NewPipeline(/*noop=*/false, static_cast<size_t>(features) + 1);
  if (!TimeIngest(state, pipeline.get(), Format::kNdjson, bodies,
                  kWideRecordsPerBody)) {
    return;
  }
  const double records =
      static_cast<double>(state.iterations() * kWideRecordsPerBody);
  state.counters["records_per_second"] =
      benchmark::Counter(records, benchmark::Counter::kIsRate);
  state.counters["feature_values_per_second"] =
      benchmark::Counter(records * features, benchmark::Counter::kIsRate);
  state.counters["ns_per_record"] = benchmark::Counter(
      records, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_IngestNdjsonFeatures)
    ->ArgNames({"features"})
    ->Arg(1)
    ->Arg(5)
    ->Arg(10)
    ->Arg(20)
    ->Arg(50)
    ->Arg(100)
    ->Arg(200)
    ->Arg(500)
    ->Arg(1000);

// The protobuf parse alone (what IngestProtobuf does before decoding), to
// separate wire parsing from record decoding.
void BM_ProtobufParseOnly(benchmark::State& state) {
  const Corpus& corpus = GetCorpus();
  const size_t per_body = static_cast<size_t>(state.range(0));
  const std::vector<std::string> bodies =
      MakeBodies(corpus.lines, corpus.protos, per_body, Format::kProtobuf);
  size_t i = 0;
  for (auto _ : state) {
    ml_exporter::v1::Batch batch;
    bool ok = batch.ParseFromString(bodies[i]);
    benchmark::DoNotOptimize(ok);
    if (++i == bodies.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * per_body));
}
BENCHMARK(BM_ProtobufParseOnly)->ArgNames({"records"})->Arg(100);

// One JSON record scanned into a Record, nothing observed: the byte
// scanner (path 0) against the token scanner (path 1, AVX-512 only).
void BM_ScanJsonRecord(benchmark::State& state) {
  const Corpus& corpus = GetCorpus();
  const bool tokens = state.range(0) == 1;
  if (tokens && !ml_exporter::internal::JsonTokenScannerAvailable()) {
    state.SkipWithError("this CPU has no token scanner (AVX-512 VBMI2)");
    return;
  }
  ml_exporter::Record record;
  size_t i = 0;
  for (auto _ : state) {
    const std::string& line = corpus.lines[i];
    const bool ok =
        tokens ? ml_exporter::internal::ScanJsonRecordByTokens(line, &record)
               : ml_exporter::internal::ScanJsonRecordByBytes(line, &record);
    if (!ok) {
      state.SkipWithError("a line of the stream was declined");
      return;
    }
    benchmark::DoNotOptimize(record);
    if (++i == corpus.lines.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ScanJsonRecord)->ArgNames({"path"})->Arg(0)->Arg(1);

// --- the in-process path ----------------------------------------------------

constexpr int kNumericFeatures = 20;
constexpr size_t kPrebuilt = 256;  // distinct records cycled through

const std::vector<std::string>& FeatureNames() {
  static const auto* names = [] {
    auto* v = new std::vector<std::string>;
    for (int k = 0; k < kNumericFeatures; ++k) {
      std::string name = "x";
      name += std::to_string(k);  // not "x" + ...: GCC 12 -Wrestrict
      v->push_back(std::move(name));
    }
    return v;
  }();
  return *names;
}

// Values of feature k drawn around k, so each histogram spreads over its
// buckets the way a real feature does.
std::vector<double> FeatureValues(size_t n) {
  std::mt19937_64 rng(11);
  std::vector<double> v(n * kNumericFeatures);
  for (size_t i = 0; i < n; ++i) {
    for (int k = 0; k < kNumericFeatures; ++k) {
      std::normal_distribution<double> d(k, 1 + k / 4.0);
      v[i * kNumericFeatures + k] = d(rng);
    }
  }
  return v;
}

void Build(RecordBuilder* b, const double* values, double latency) {
  b->Reset();
  b->Model("bench", "v1", "main").Latency(latency);
  const auto& names = FeatureNames();
  for (int k = 0; k < kNumericFeatures; ++k) b->Input(names[k], values[k]);
}

// One warmed-up pipeline shared by the single- and multi-threaded runs.
struct InProcess {
  std::unique_ptr<Pipeline> pipeline;
  std::vector<double> values;
  std::vector<RecordBuilder> records;
};

InProcess& GetInProcess() {
  static InProcess* state = [] {
    auto* s = new InProcess;
    s->pipeline = NewPipeline(false);
    s->values = FeatureValues(kPrebuilt);
    s->records.resize(kPrebuilt);
    for (size_t i = 0; i < kPrebuilt; ++i) {
      Build(&s->records[i], &s->values[i * kNumericFeatures],
            0.001 * static_cast<double>(i % 100));
    }
    for (int pass = 0; pass < 4; ++pass) {
      for (const RecordBuilder& r : s->records) {
        (void)s->pipeline->Observe(r.record());
      }
    }
    return s;
  }();
  return *state;
}

// Pipeline::Observe of a prebuilt record with 20 numeric features.
void BM_PipelineObserve(benchmark::State& state) {
  InProcess& in = GetInProcess();
  size_t i = static_cast<size_t>(state.thread_index()) * 17;
  for (auto _ : state) {
    Status s = in.pipeline->Observe(in.records[i % kPrebuilt].record());
    benchmark::DoNotOptimize(s);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["ns_per_record"] = benchmark::Counter(
      static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
// One thread is timed in CPU time (robust to other load on the machine);
// two threads need wall time to show the combined rate.
BENCHMARK(BM_PipelineObserve);
BENCHMARK(BM_PipelineObserve)->Threads(2)->UseRealTime();

// RecordBuilder::Reset + 20 Input calls + Pipeline::Observe: what a C++
// model server pays per prediction.
void BM_RecordBuilderBuildAndObserve(benchmark::State& state) {
  InProcess& in = GetInProcess();
  RecordBuilder b;
  size_t i = static_cast<size_t>(state.thread_index()) * 17;
  for (auto _ : state) {
    const size_t r = i % kPrebuilt;
    Build(&b, &in.values[r * kNumericFeatures], 0.001 * (r % 100));
    Status s = in.pipeline->Observe(b.record());
    benchmark::DoNotOptimize(s);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["ns_per_record"] = benchmark::Counter(
      static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_RecordBuilderBuildAndObserve);
BENCHMARK(BM_RecordBuilderBuildAndObserve)->Threads(2)->UseRealTime();

// The same per call, timed one by one: p50 and p99 of RecordBuilder +
// Observe (20 features) in ns, including the two clock reads (about
// 20-40 ns) around each call.
void BM_RecordBuilderObserveLatency(benchmark::State& state) {
  InProcess& in = GetInProcess();
  RecordBuilder b;
  std::vector<int64_t> ns;
  ns.reserve(1 << 22);
  size_t i = 0;
  for (auto _ : state) {
    const size_t r = i % kPrebuilt;
    const auto t0 = std::chrono::steady_clock::now();
    Build(&b, &in.values[r * kNumericFeatures], 0.001 * (r % 100));
    Status s = in.pipeline->Observe(b.record());
    const auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(s);
    if (ns.size() < ns.capacity()) {
      ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0)
                       .count());
    }
    ++i;
  }
  if (ns.empty()) return;
  std::sort(ns.begin(), ns.end());
  state.counters["p50_ns"] = static_cast<double>(ns[ns.size() / 2]);
  state.counters["p99_ns"] = static_cast<double>(ns[ns.size() * 99 / 100]);
  state.counters["p999_ns"] = static_cast<double>(ns[ns.size() * 999 / 1000]);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordBuilderObserveLatency);

// RecordBuilder alone, to split the figure above.
void BM_RecordBuilderBuildOnly(benchmark::State& state) {
  InProcess& in = GetInProcess();
  RecordBuilder b;
  size_t i = 0;
  for (auto _ : state) {
    const size_t r = i % kPrebuilt;
    Build(&b, &in.values[r * kNumericFeatures], 0.001 * (r % 100));
    benchmark::DoNotOptimize(b.record().inputs.data());
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordBuilderBuildOnly);

// --- each collector alone ----------------------------------------------------

// The corpus decoded once (strings point into the corpus lines).
const std::vector<ml_exporter::Record>& CorpusRecords() {
  static const auto* records = [] {
    const Corpus& corpus = GetCorpus();
    auto* v = new std::vector<ml_exporter::Record>(corpus.lines.size());
    for (size_t i = 0; i < corpus.lines.size(); ++i) {
      if (!ml_exporter::internal::ScanJsonRecord(corpus.lines[i], &(*v)[i])) {
        std::fprintf(stderr, "decode_observe_bench: line %zu not scanned\n",
                     i + 1);
        std::exit(2);
      }
    }
    return v;
  }();
  return *records;
}

// Pipeline::Observe of decoded example records with only the collector
// named by the benchmark's argument: what each collector costs per record.
void BM_CollectorObserve(benchmark::State& state, const char* collector) {
  const auto& records = CorpusRecords();
  PipelineOptions options;
  options.histogram_warmup_values = 100;
  options.collectors = {collector};
  std::unique_ptr<Pipeline> pipeline;
  if (Status s = Pipeline::Create(options, &pipeline); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  for (const auto& r : records) (void)pipeline->Observe(r);
  size_t i = 0;
  for (auto _ : state) {
    Status s = pipeline->Observe(records[i]);
    benchmark::DoNotOptimize(s);
    if (++i == records.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["ns_per_record"] = benchmark::Counter(
      static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK_CAPTURE(BM_CollectorObserve, software, "software");
BENCHMARK_CAPTURE(BM_CollectorObserve, inputs, "inputs");
BENCHMARK_CAPTURE(BM_CollectorObserve, outputs, "outputs");
BENCHMARK_CAPTURE(BM_CollectorObserve, drift, "drift");
BENCHMARK_CAPTURE(BM_CollectorObserve, audio, "audio");
BENCHMARK_CAPTURE(BM_CollectorObserve, image, "image");
BENCHMARK_CAPTURE(BM_CollectorObserve, text, "text");
BENCHMARK_CAPTURE(BM_CollectorObserve, feedback, "feedback");

// The histogram bucket search alone, over `state.range(0)` edges.
// path: 0 BucketOf (as the collectors call it), 1 the SSE2 linear count,
// 2 the AVX-512 one (linear counts up to 16 edges only).
void BM_BucketOf(benchmark::State& state) {
  std::vector<double> edges;
  for (int64_t i = 0; i < state.range(0); ++i) {
    edges.push_back(static_cast<double>(i));
  }
  const ml_exporter::internal::BucketEdges b(edges);
  const int64_t path = state.range(1);
  if (path == 2 && !ml_exporter::internal::BucketEdges::CpuHasAvx512()) {
    state.SkipWithError("this CPU has no AVX-512F");
    return;
  }
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-1,
                                           static_cast<double>(edges.size()));
  std::vector<double> values(4096);
  for (double& v : values) v = u(rng);
  size_t i = 0, sum = 0;
  for (auto _ : state) {
    const double v = values[i++ & 4095];
    sum += path == 0   ? b.BucketOf(v)
           : path == 1 ? b.BucketOfSse2(v)
                       : b.BucketOfAvx512(v);
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BucketOf)
    ->ArgNames({"edges", "path"})
    ->Args({11, 0})
    ->Args({11, 1})
    ->Args({11, 2})
    ->Args({13, 0})
    ->Args({40, 0});

// Drift scores at scrape time: one model with `state.range(0)` numeric
// features and a reference profile of all of them; Collect computes every
// method's score for every feature.
void BM_DriftCollect(benchmark::State& state) {
  const int features = static_cast<int>(state.range(0));
  std::mt19937_64 rng(9);
  std::normal_distribution<double> d(0, 1);
  std::vector<std::string> names;
  ml_exporter::profile::v1::ReferenceProfile profile;
  profile.set_model("wide");
  for (int k = 0; k < features; ++k) {
    names.push_back("d" + std::to_string(k));
    ml_exporter::profile::FieldAccumulator acc;
    for (int i = 0; i < 2000; ++i) {
      acc.AddPresent();
      acc.AddNumber(d(rng) + k);
    }
    *profile.add_features() =
        acc.Finish(names.back(), 2000, ml_exporter::profile::BuildOptions{});
  }
  char dir[] = "/tmp/ml_exporter_bench_XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  const std::string path = std::string(dir) + "/wide.profile";
  {
    std::ofstream out(path, std::ios::binary);
    out << profile.SerializeAsString();
  }
  PipelineOptions options;
  options.collectors = {"drift"};
  options.references = {{"wide", "*", "*", path}};
  options.drift.min_count = 100;
  std::unique_ptr<Pipeline> pipeline;
  Status s = Pipeline::Create(options, &pipeline);
  // The profile is loaded at the model's first record.
  const auto remove_profile = [&] {
    std::remove(path.c_str());
    rmdir(dir);
  };
  if (!s.ok()) {
    remove_profile();
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  RecordBuilder b;
  for (int i = 0; i < 500; ++i) {
    b.Reset();
    b.Model("wide", "", "");
    for (int k = 0; k < features; ++k) b.Input(names[k], d(rng) + k + 0.1);
    (void)pipeline->Observe(b.record());
  }
  remove_profile();
  size_t scores = 0;
  for (const auto& f : pipeline->Collect()) {
    if (f.name == "ml_feature_drift") scores = f.metric.size();
  }
  for (auto _ : state) {
    auto families = pipeline->Collect();
    benchmark::DoNotOptimize(families.data());
  }
  state.counters["scores"] = static_cast<double>(scores);
}
BENCHMARK(BM_DriftCollect)
    ->ArgNames({"features"})
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond);

// --- scrape time
// --------------------------------------------------------------

// Time series in the exposition: one per counter or gauge, buckets + 2 per
// histogram.
size_t CountSeries(const std::vector<prometheus::MetricFamily>& families) {
  size_t n = 0;
  for (const auto& f : families) {
    for (const auto& m : f.metric) {
      n += f.type == prometheus::MetricType::Histogram
               ? m.histogram.bucket.size() + 2
               : 1;
    }
  }
  return n;
}

// A pipeline with `models` models of `features` numeric features each,
// every histogram frozen: each feature exports observations, missing and a
// value histogram (about 16 series), so 600 features give about 10,000
// series per model.
std::unique_ptr<Pipeline> WidePipeline(int features, int models = 1) {
  std::unique_ptr<Pipeline> pipeline = NewPipeline(false);
  std::mt19937_64 rng(3);
  std::normal_distribution<double> d(0, 1);
  std::vector<std::string> names;
  for (int k = 0; k < features; ++k) {
    names.emplace_back("w");
    names.back() += std::to_string(k);
  }
  RecordBuilder b;
  for (int i = 0; i < 200 * models; ++i) {
    b.Reset();
    const std::string model = "wide" + std::to_string(i % models);
    b.Model(model, "v1", "main").Latency(0.01);
    // Spread proportional to the magnitude: learned edges are rounded to
    // three significant digits, so a narrow spread far from zero (d + 500)
    // would collapse to a few buckets.
    for (int k = 0; k < features; ++k) b.Input(names[k], d(rng) * (k + 1));
    b.Output("score", d(rng)).Output("label", i % 2 ? "a" : "b");
    (void)pipeline->Observe(b.record());
  }
  return pipeline;
}

void BM_PipelineCollect(benchmark::State& state) {
  std::unique_ptr<Pipeline> pipeline = WidePipeline(
      static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  size_t series = CountSeries(pipeline->Collect());
  for (auto _ : state) {
    auto families = pipeline->Collect();
    benchmark::DoNotOptimize(families.data());
  }
  state.counters["series"] = static_cast<double>(series);
  state.counters["ns_per_series"] = benchmark::Counter(
      static_cast<double>(state.iterations() * series),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_PipelineCollect)
    ->ArgNames({"features", "models"})
    ->Args({600, 1})
    ->Args({600, 10})
    ->Unit(benchmark::kMillisecond);

// Collect plus the text rendering that GET /metrics does.
void BM_PipelineCollectAndSerialize(benchmark::State& state) {
  std::unique_ptr<Pipeline> pipeline = WidePipeline(
      static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  size_t series = CountSeries(pipeline->Collect());
  size_t bytes = 0;
  for (auto _ : state) {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, pipeline->Collect());
    bytes = out.str().size();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["series"] = static_cast<double>(series);
  state.counters["exposition_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_PipelineCollectAndSerialize)
    ->ArgNames({"features", "models"})
    ->Args({600, 1})
    ->Args({600, 10})
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  // Take our flags out before Google Benchmark checks the rest.
  std::string write_path;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--stream=")) {
      g_stream_path = std::string(arg.substr(std::strlen("--stream=")));
    } else if (arg.starts_with("--write_stream=")) {
      write_path = std::string(arg.substr(std::strlen("--write_stream=")));
    } else if (arg.starts_with("--stream_lines=")) {
      g_stream_lines =
          std::strtoull(argv[i] + std::strlen("--stream_lines="), nullptr, 10);
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (!write_path.empty()) {
    std::FILE* out = std::fopen(write_path.c_str(), "w");
    if (out == nullptr) {
      std::perror(write_path.c_str());
      return 2;
    }
    for (const std::string& line :
         ml_exporter_bench::GenerateExampleStream(g_stream_lines)) {
      std::fputs(line.c_str(), out);
      std::fputc('\n', out);
    }
    return std::fclose(out) == 0 ? 0 : 2;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  GetCorpus();  // fail early on a bad --stream
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
