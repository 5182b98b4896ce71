// memory_per_series: what one more unit of cardinality costs in heap bytes
// and in Prometheus series, and whether the heap stays flat over a long
// stream.
//
// Table mode (the default) builds pipelines through the public in-process
// API (Pipeline, RecordBuilder), feeds them, scrapes once so that every
// lazily built series exists, and measures the heap the pipeline holds as
// the bytes that destroying it returns (glibc mallinfo2: uordblks + hblkhd).
// Each row compares two pipelines that differ only in the unit counted (N
// numeric features against 2N, ...) and prints
//
//   (bytes(2N) - bytes(N)) / N    and    (series(2N) - series(N)) / N
//
// where series are the sample lines of the text exposition of Collect().
// One thread feeds every pipeline (per-thread cells exist once); random
// values come from fixed seeds, mmap's threshold is pinned and glibc's
// tcache is off, so the figures repeat from run to run. The drift rows align
// their feeding with the drift collector's time slots, so they take about a
// minute.
//
// Creep mode (--creep_records=N) replays an NDJSON stream the way
// `ml_exporter --input=-` does (1 MiB chunks of whole lines through
// Ingestor::IngestNdjson on an ingest thread, a scrape rendered as text on
// another thread every --scrape_seconds) and prints, every million
// records, the heap the pipeline and ingestor hold, the bytes malloc holds
// from the system, the anonymous RSS (the stream file is mapped, so it is
// not in it) and the whole RSS; at the end, RssAnon again after
// malloc_trim(0), and malloc_info's per-arena report.
//
//   memory_per_series                                    the table
//   memory_per_series --creep_records=10000000 --stream=stream.ndjson
#include <fcntl.h>
#include <gflags/gflags.h>
#include <malloc.h>
#include <prometheus/text_serializer.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/example_stream.h"
#include "ml_exporter/ingest.h"
#include "ml_exporter/pipeline.h"
#include "ml_exporter/record_builder.h"
#include "profile.pb.h"
#include "profile/profile_builder.h"

DEFINE_uint64(creep_records, 0,
              "Records to replay in creep mode; 0: print the table instead.");
DEFINE_string(stream, "",
              "Creep mode: NDJSON stream to replay, repeated as needed "
              "(default: 200,000 lines of the built-in example stream).");
DEFINE_double(scrape_seconds, 1,
              "Creep mode: seconds between scrapes (0: no scrapes).");
DEFINE_bool(trim_every_million, false,
            "Creep mode: call malloc_trim(0) after every million records.");
DEFINE_bool(drift, true, "Table mode: include the drift rows (slow).");

namespace {

using ml_exporter::Ingestor;
using ml_exporter::IngestSource;
using ml_exporter::Pipeline;
using ml_exporter::PipelineOptions;
using ml_exporter::RecordBuilder;
using ml_exporter::Status;

// Bytes of heap in use: small chunks in every arena plus mmapped chunks.
size_t HeapInUse() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

// Bytes malloc holds from the system: arena pages plus mmapped chunks.
size_t HeapFromSystem() {
  const struct mallinfo2 info = mallinfo2();
  return info.arena + info.hblkhd;
}

// Resident set size of this process, from /proc/self/statm.
size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// Sample lines (not comments) of the text exposition of `pipeline`: the
// series a /metrics scrape shows.
size_t ScrapeSeries(Pipeline* pipeline) {
  const std::string text =
      prometheus::TextSerializer().Serialize(pipeline->Collect());
  size_t series = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] != '#') ++series;
  }
  return series;
}

void Fail(const std::string& what) {
  std::fprintf(stderr, "memory_per_series: %s\n", what.c_str());
  std::exit(2);
}

// What one fed pipeline holds.
struct Footprint {
  size_t heap_bytes = 0;
  size_t series = 0;
};

// Creates a pipeline with `options`, calls feed(pipeline), scrapes it once
// and returns the series of that scrape and the heap bytes that destroying
// the pipeline frees. Whatever `feed` allocates outside the pipeline (a
// record builder) must be allocated before the call, or stay allocated.
Footprint Measure(const PipelineOptions& options,
                  const std::function<void(Pipeline*)>& feed) {
  Footprint footprint;
  std::unique_ptr<Pipeline> pipeline;
  const Status status = Pipeline::Create(options, &pipeline);
  if (!status.ok()) Fail(status.ToString());
  feed(pipeline.get());
  footprint.series = ScrapeSeries(pipeline.get());
  const size_t with_pipeline = HeapInUse();
  pipeline.reset();
  footprint.heap_bytes = with_pipeline - HeapInUse();
  return footprint;
}

// `prefix` followed by `i` ("c7"). Appending, rather than "c" +
// std::to_string(i), avoids a false -Wrestrict warning of g++ 12.
std::string Numbered(const char* prefix, size_t i) {
  std::string s = prefix;
  s += std::to_string(i);
  return s;
}

// Feature names f0, f1, ... shared by every row.
const std::vector<std::string>& FeatureNames() {
  static const auto* names = [] {
    auto* n = new std::vector<std::string>;
    for (int k = 0; k < 4096; ++k) n->push_back(Numbered("f", k));
    return n;
  }();
  return *names;
}

// Records with a fixed seed: `features` numeric inputs f0.. (feature k
// normal around k), optionally one categorical input and one categorical
// output drawn from `categories` and `classes` values, for `models` models
// named m0...
struct Workload {
  size_t records = 1200;  // > the default histogram warm-up of 1000
  size_t models = 1;
  size_t features = 0;
  size_t categories = 0;  // values of input "country"; 0: no such input
  size_t classes = 0;     // values of output "label"; 0: no such output
};

// Feeds records [begin, end) of `w` through `builder` (which must already
// hold capacity for the widest record, see WarmBuilder) into `pipeline`.
// Record i is the same whichever slice it is fed in.
void Feed(const Workload& w, size_t begin, size_t end, RecordBuilder* builder,
          Pipeline* pipeline) {
  const std::vector<std::string>& names = FeatureNames();
  for (size_t i = begin; i < end; ++i) {
    // Seeded per record: any slice of the sequence gives the same records.
    std::mt19937_64 rng(1000003 * i + 17);
    std::normal_distribution<double> normal(0, 1);
    for (size_t m = 0; m < w.models; ++m) {
      builder->Reset();
      builder->Model(Numbered("m", m), "v1", "main");
      builder->Latency(0.001 * static_cast<double>(1 + rng() % 500));
      for (size_t k = 0; k < w.features; ++k) {
        builder->Input(names[k], static_cast<double>(k) + normal(rng));
      }
      if (w.categories > 0) {
        builder->Input("country", Numbered("c", i % w.categories));
      }
      if (w.classes > 0) {
        builder->Output("label", Numbered("k", i % w.classes));
      }
      const Status status = pipeline->Observe(builder->record());
      if (!status.ok()) Fail(status.ToString());
    }
  }
}

// Gives `builder` the capacity of a record of `features` features, a
// category and a class, so that feeding allocates nothing outside the
// pipeline.
void WarmBuilder(size_t features, RecordBuilder* builder) {
  builder->Reset();
  builder->Model("m000", "v1", "main");
  for (size_t k = 0; k < features; ++k) {
    builder->Input(FeatureNames()[k], 1.0);
  }
  builder->Input("country", "c000");
  builder->Output("label", "k000");
  builder->Reset();
}

Footprint MeasureWorkload(const PipelineOptions& options, const Workload& w) {
  RecordBuilder builder;
  WarmBuilder(w.features, &builder);
  return Measure(options, [&](Pipeline* pipeline) {
    Feed(w, 0, w.records, &builder, pipeline);
  });
}

// A reference profile of features f0..f(n-1), each normal around its
// index (what the records of Feed send), written as binary protobuf.
void WriteProfile(size_t features, const std::string& path) {
  ml_exporter::profile::v1::ReferenceProfile profile;
  profile.set_model("m0");
  std::mt19937_64 rng(9);
  std::normal_distribution<double> normal(0, 1);
  for (size_t k = 0; k < features; ++k) {
    ml_exporter::profile::FieldAccumulator values;
    for (int i = 0; i < 2000; ++i) {
      values.AddPresent();
      values.AddNumber(static_cast<double>(k) + normal(rng));
    }
    *profile.add_features() = values.Finish(
        FeatureNames()[k], 2000, ml_exporter::profile::BuildOptions{});
  }
  std::ofstream out(path, std::ios::binary);
  out << profile.SerializeAsString();
  if (!out) Fail("cannot write " + path);
}

// The drift collector's clock (CLOCK_MONOTONIC_COARSE) and its slot index.
double DriftClockSeconds() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<double>(ts.tv_sec) +
         1e-9 * static_cast<double>(ts.tv_nsec);
}
int64_t SlotAt(double seconds, double slot_seconds) {
  return static_cast<int64_t>(std::floor(seconds / slot_seconds));
}
// Sleeps until the clock is in slot `slot` or later.
void WaitForSlot(int64_t slot, double slot_seconds) {
  while (SlotAt(DriftClockSeconds(), slot_seconds) < slot) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// The drift collector keeps a window of 10 slots (docs/drift.md).
constexpr int kDriftSlots = 10;

// Default collectors and a reference profile of `features` features for
// model m0. `full_window`: the records are spread over 12 consecutive
// slots of a 20 s window, so that every slot of the window's ring has
// counts; otherwise they all fall in one slot of a 3600 s window (the ring
// is still empty: only the ingest thread's cells of the current slot).
Footprint MeasureDrift(size_t features, bool full_window,
                       const std::string& dir) {
  const std::string path = dir + "/m0_" + std::to_string(features) + ".profile";
  WriteProfile(features, path);
  PipelineOptions options;
  options.max_features = 4096;
  options.references = {{"m0", "*", "*", path}};
  options.drift.window_seconds = full_window ? 20 : 3600;
  const double slot_seconds = options.drift.window_seconds / kDriftSlots;
  Workload w;
  w.features = features;
  RecordBuilder builder;
  WarmBuilder(features, &builder);
  const Footprint footprint = Measure(options, [&](Pipeline* pipeline) {
    if (!full_window) {
      // Not within 30 s of the end of a 360 s slot: all in one slot.
      const double now = DriftClockSeconds();
      if (SlotAt(now + 30, slot_seconds) != SlotAt(now, slot_seconds)) {
        WaitForSlot(SlotAt(now, slot_seconds) + 1, slot_seconds);
      }
      Feed(w, 0, w.records, &builder, pipeline);
      return;
    }
    const int64_t first = SlotAt(DriftClockSeconds(), slot_seconds) + 1;
    constexpr int kSlotsFed = kDriftSlots + 2;
    for (int s = 0; s < kSlotsFed; ++s) {
      WaitForSlot(first + s, slot_seconds);
      Feed(w, w.records * s / kSlotsFed, w.records * (s + 1) / kSlotsFed,
           &builder, pipeline);
    }
  });
  std::remove(path.c_str());
  return footprint;
}

struct Row {
  std::string unit;
  std::string setting;
  size_t from = 0;  // units in the smaller pipeline
  size_t to = 0;    // units in the larger one
  Footprint small;
  Footprint large;
};

void PrintTable(const std::vector<Row>& rows) {
  std::printf(
      "| unit | setting | units | heap bytes | bytes per unit | series | "
      "series per unit |\n"
      "| --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
  for (const Row& r : rows) {
    const double added = static_cast<double>(r.to - r.from);
    const double bytes = (static_cast<double>(r.large.heap_bytes) -
                          static_cast<double>(r.small.heap_bytes)) /
                         added;
    const double series = (static_cast<double>(r.large.series) -
                           static_cast<double>(r.small.series)) /
                          added;
    std::printf(
        "| %s | %s | %zu -> %zu | %zu -> %zu | %.0f | %zu -> %zu | "
        "%.2f |\n",
        r.unit.c_str(), r.setting.c_str(), r.from, r.to, r.small.heap_bytes,
        r.large.heap_bytes, bytes, r.small.series, r.large.series, series);
    std::fflush(stdout);
  }
}

int RunTable() {
  // A fixed mmap threshold: glibc otherwise raises it as large blocks are
  // freed, which moves blocks between hblkhd and uordblks from one
  // pipeline to the next. (Creep mode keeps glibc's defaults, as the
  // exporter runs with them.)
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  std::vector<Row> rows;
  const auto add = [&rows](Row row) {
    rows.push_back(std::move(row));
    std::fprintf(stderr, "measured: %s, %s\n", rows.back().unit.c_str(),
                 rows.back().setting.c_str());
  };
  PipelineOptions options;
  options.max_features = 4096;
  for (size_t n : {100, 1000}) {
    Workload small, large;
    small.features = n;
    large.features = 2 * n;
    add({"numeric input feature", "default collectors, no profile", n, 2 * n,
         MeasureWorkload(options, small), MeasureWorkload(options, large)});
  }
  {
    Workload small, large;
    small.features = large.features = 20;
    small.categories = 25;
    large.categories = 50;
    add({"category value of an input", "max_label_values 50 (default)", 25, 50,
         MeasureWorkload(options, small), MeasureWorkload(options, large)});
  }
  {
    PipelineOptions wide = options;
    wide.max_label_values = 1000;
    Workload small, large;
    small.features = large.features = 20;
    small.categories = 500;
    large.categories = 1000;
    add({"category value of an input", "max_label_values 1000", 500, 1000,
         MeasureWorkload(wide, small), MeasureWorkload(wide, large)});
  }
  {
    Workload small, large;
    small.features = large.features = 20;
    small.classes = 25;
    large.classes = 50;
    add({"output class", "max_label_values 50 (default)", 25, 50,
         MeasureWorkload(options, small), MeasureWorkload(options, large)});
  }
  {
    Workload small, large;
    small.features = large.features = 20;
    small.classes = large.classes = 3;
    small.records = large.records = 1200;
    small.models = 10;
    large.models = 20;
    add({"model (20 numeric features, 3 classes)", "default collectors", 10, 20,
         MeasureWorkload(options, small), MeasureWorkload(options, large)});
  }
  if (FLAGS_drift) {
    char dir[] = "/tmp/memory_per_series_XXXXXX";
    if (mkdtemp(dir) == nullptr) Fail("mkdtemp failed");
    for (size_t n : {100, 1000}) {
      add({"numeric input feature with a reference profile",
           "default collectors, window ring empty (one slot)", n, 2 * n,
           MeasureDrift(n, false, dir), MeasureDrift(2 * n, false, dir)});
      add({"numeric input feature with a reference profile",
           "default collectors, all 10 slots of the window filled", n, 2 * n,
           MeasureDrift(n, true, dir), MeasureDrift(2 * n, true, dir)});
    }
    rmdir(dir);
  }
  PrintTable(rows);
  return 0;
}

// Creep mode ---------------------------------------------------------------

// Anonymous resident bytes of this process (RssAnon in /proc/self/status):
// the heap's share of RSS, without the pages of a mapped stream file.
size_t AnonymousResidentBytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("RssAnon:")) {
      return std::strtoull(line.c_str() + std::strlen("RssAnon:"), nullptr,
                           10) *
             1024;
    }
  }
  return 0;
}

// Slices of `stream` of whole lines, about 1 MiB each, as FileFollower
// hands them to the ingestor when it reads standard input in 1 MiB chunks;
// and the lines in each.
std::vector<std::string_view> ChunkBodies(std::string_view stream,
                                          std::vector<size_t>* lines_per_body) {
  constexpr size_t kChunkBytes = 1 << 20;
  std::vector<std::string_view> bodies;
  while (!stream.empty()) {
    size_t end = stream.size();
    if (end > kChunkBytes) {
      end = stream.rfind('\n', kChunkBytes);
      end = end == std::string_view::npos ? stream.find('\n', kChunkBytes) + 1
                                          : end + 1;
      if (end == 0) end = stream.size();
    }
    const std::string_view body = stream.substr(0, end);
    size_t lines = 0;
    for (size_t i = 0; i < body.size(); ++i) {
      if (body[i] == '\n' && i > 0 && body[i - 1] != '\n') ++lines;
    }
    if (!body.empty() && body.back() != '\n') ++lines;
    bodies.push_back(body);
    lines_per_body->push_back(lines);
    stream.remove_prefix(end);
  }
  return bodies;
}

int RunCreep() {
  // The stream: a mapped file (not on the heap, and not in RssAnon), or the
  // built-in example stream in one string (on the heap, before the
  // baseline below is taken).
  std::string generated;
  std::string_view stream;
  if (FLAGS_stream.empty()) {
    for (const std::string& line :
         ml_exporter_bench::GenerateExampleStream(200000)) {
      generated += line;
      generated += '\n';
    }
    stream = generated;
  } else {
    const int fd = open(FLAGS_stream.c_str(), O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
      Fail("cannot read " + FLAGS_stream);
    }
    void* map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ,
                     MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) Fail("cannot map " + FLAGS_stream);
    stream = std::string_view(static_cast<const char*>(map),
                              static_cast<size_t>(st.st_size));
  }
  std::vector<size_t> lines_per_body;
  const std::vector<std::string_view> bodies =
      ChunkBodies(stream, &lines_per_body);
  const size_t baseline = HeapInUse();

  PipelineOptions options;
  std::unique_ptr<Pipeline> pipeline;
  const Status status = Pipeline::Create(options, &pipeline);
  if (!status.ok()) Fail(status.ToString());

  std::printf(
      "| records | pipeline heap in use MiB | malloc from system MiB | "
      "RssAnon MiB | RSS MiB | scrapes |\n"
      "| ---: | ---: | ---: | ---: | ---: | ---: |\n");
  const auto mib = [](size_t bytes) {
    return static_cast<double>(bytes) / (1 << 20);
  };
  std::atomic<bool> done{false};
  std::atomic<uint64_t> scrapes{0};
  std::mutex mu;
  std::condition_variable wake;
  // The scraper: a thread of its own, as a civetweb worker is.
  std::thread scraper([&] {
    if (FLAGS_scrape_seconds <= 0) return;
    std::unique_lock<std::mutex> lock(mu);
    while (!done) {
      wake.wait_for(lock, std::chrono::duration<double>(FLAGS_scrape_seconds));
      if (done) break;
      lock.unlock();
      ScrapeSeries(pipeline.get());
      ++scrapes;
      lock.lock();
    }
  });
  // The ingest thread, as FileFollower's.
  std::thread ingest([&] {
    Ingestor ingestor(pipeline.get(), IngestSource::kStdin);
    uint64_t records = 0;
    uint64_t next_report = 1000000;
    size_t i = 0;
    while (records < FLAGS_creep_records) {
      const ml_exporter::IngestResult result = ingestor.IngestNdjson(bodies[i]);
      if (result.accepted != lines_per_body[i]) Fail("records rejected");
      records += result.accepted;
      if (++i == bodies.size()) i = 0;
      if (records >= next_report) {
        if (FLAGS_trim_every_million) malloc_trim(0);
        std::printf("| %llu | %.3f | %.2f | %.2f | %.2f | %llu |\n",
                    static_cast<unsigned long long>(records),
                    mib(HeapInUse() - baseline), mib(HeapFromSystem()),
                    mib(AnonymousResidentBytes()), mib(ResidentBytes()),
                    static_cast<unsigned long long>(scrapes.load()));
        std::fflush(stdout);
        next_report += 1000000;
      }
    }
  });
  ingest.join();
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  wake.notify_all();
  scraper.join();
  const size_t anon_before_trim = AnonymousResidentBytes();
  malloc_trim(0);
  std::printf(
      "\nafter the run: pipeline heap in use %.3f MiB, malloc from system "
      "%.2f MiB, RssAnon %.2f MiB; after malloc_trim(0): RssAnon %.2f MiB\n",
      mib(HeapInUse() - baseline), mib(HeapFromSystem()), mib(anon_before_trim),
      mib(AnonymousResidentBytes()));
  std::printf("\nmalloc_info (per arena):\n");
  std::fflush(stdout);
  malloc_info(0, stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // glibc counts chunks parked in its per-thread cache (tcache) as in use,
  // so how many a pipeline's destruction parks there would blur the table
  // by a few hundred bytes from run to run: the table runs with the cache
  // off (this re-executes itself once with GLIBC_TUNABLES set).
  constexpr const char* kNoTcache = "glibc.malloc.tcache_count=0";
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  bool creep = false;
  for (int i = 1; i < argc; ++i) {
    creep =
        creep || (std::string_view(argv[i]).starts_with("--creep_records") &&
                  std::string_view(argv[i]) != "--creep_records=0");
  }
  if (!creep &&
      (tunables == nullptr ||
       std::string_view(tunables).find(kNoTcache) == std::string_view::npos)) {
    std::string value = tunables == nullptr ? "" : std::string(tunables) + ":";
    value += kNoTcache;
    setenv("GLIBC_TUNABLES", value.c_str(), 1);
    execv("/proc/self/exe", argv);
    std::perror("memory_per_series: re-executing with the tcache off");
  }
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  return FLAGS_creep_records > 0 ? RunCreep() : RunTable();
}
