// End-to-end tests: the real ml_exporter binary, over real HTTP and files.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "ml_exporter.pb.h"
#include "tests/e2e/exporter_process.h"

namespace ml_exporter::testing {
namespace {

const std::string kModel = R"(model="asr",version="v3",stage="decoder")";

std::string Series(const std::string& name, const std::string& extra = "") {
  return name + "{" + kModel + (extra.empty() ? "" : "," + extra) + "}";
}

std::string Record(int i, bool with_age) {
  std::string age = with_age ? std::to_string(20 + i) : "null";
  return R"({"model":"asr","version":"v3","stage":"decoder","latency_seconds":)" +
         std::to_string(0.01 * (i % 10)) + R"(,"error":)" +
         (i % 5 == 0 ? "true" : "false") + R"(,"inputs":{"age":)" + age +
         R"(,"country":")" + (i % 2 ? "DE" : "FR") +
         R"("},"outputs":{"transcript":)" + (i % 4 == 0 ? "\"\"" : "\"ok\"") +
         R"(,"score":)" + std::to_string(0.1 * (i % 10)) + "}}";
}

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/ml_exporter_e2e_dir_XXXXXX";
    path_ = mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void AppendTo(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::app);
  out << text;
}

TEST(ExporterE2E, PostedJsonGivesExactMetrics) {
  ExporterProcess exporter(
      {"--buckets=age=25,30;score=0.5", "--latency_buckets=0.025,0.05"});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  std::string body = "[";
  for (int i = 0; i < 20; ++i) {
    body += (i ? "," : "") + Record(i, i % 3 != 0);
  }
  body += "]";
  HttpReply reply =
      HttpPost(exporter.url("/api/v1/records"), "application/json", body);
  ASSERT_EQ(reply.code, 200) << reply.body;
  EXPECT_EQ(reply.body, "{\"accepted\":20,\"rejected\":0,\"errors\":[]}\n");

  auto m = exporter.Scrape();
  EXPECT_EQ(m[Series("ml_records_total")], 20);
  EXPECT_EQ(m[Series("ml_prediction_errors_total")], 4);  // i % 5 == 0
  // latency 0.00 .. 0.09; le=0.025: 0, 0.01, 0.02 -> 3 of every 10.
  EXPECT_EQ(m[Series("ml_latency_seconds_bucket", "le=\"0.025\"")], 6);
  EXPECT_EQ(m[Series("ml_latency_seconds_bucket", "le=\"0.05\"")], 12);
  EXPECT_EQ(m[Series("ml_latency_seconds_count")], 20);
  // age is null for i % 3 == 0: i = 0,3,...,18 -> 7 records.
  EXPECT_EQ(m[Series("ml_feature_observations_total", "feature=\"age\"")], 20);
  EXPECT_EQ(m[Series("ml_feature_missing_total", "feature=\"age\"")], 7);
  // ages 20+i for the 13 others: <=25 -> i in {1,2,4,5}; <=30 -> +{7,8,10}.
  EXPECT_EQ(m[Series("ml_feature_value_bucket", "feature=\"age\",le=\"25\"")],
            4);
  EXPECT_EQ(m[Series("ml_feature_value_bucket", "feature=\"age\",le=\"30\"")],
            7);
  EXPECT_EQ(m[Series("ml_feature_value_bucket", "feature=\"age\",le=\"+Inf\"")],
            13);
  EXPECT_EQ(m[Series("ml_feature_category_total",
                     "feature=\"country\",value=\"DE\"")],
            10);
  EXPECT_EQ(m[Series("ml_feature_category_total",
                     "feature=\"country\",value=\"FR\"")],
            10);
  EXPECT_EQ(m[Series("ml_feature_length_count", "feature=\"country\"")], 20);
  EXPECT_EQ(m[Series("ml_output_null_total", "output=\"transcript\"")], 5);
  EXPECT_EQ(m[Series("ml_output_value_bucket", "output=\"score\",le=\"0.5\"")],
            12);
  EXPECT_EQ(m["ml_exporter_ingested_records_total{source=\"http\"}"], 20);
}

TEST(ExporterE2E, BadRecordsAreRejectedAloneAndBadBodiesWhole) {
  ExporterProcess exporter({});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  const std::string ndjson = Record(1, true) + "\n" +
                             R"({"model":"asr","latency_seconds":"slow"})" +
                             "\n{not json\n\n" + Record(2, true) + "\n";
  HttpReply reply =
      HttpPost(exporter.url("/api/v1/records"), "application/x-ndjson", ndjson);
  ASSERT_EQ(reply.code, 200) << reply.body;
  EXPECT_NE(reply.body.find("\"accepted\":2,\"rejected\":2"), std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find(
                "{\"index\":1,\"line\":2,\"reason\":\"wrong_type\",\"error\":"
                "\"field \\\"latency_seconds\\\": expected a number, got a "
                "string\"}"),
            std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find("\"line\":3,\"reason\":\"invalid_json\""),
            std::string::npos)
      << reply.body;

  reply = HttpPost(exporter.url("/api/v1/records"), "application/json",
                   "[" + Record(3, true) + ",\n{\"model\": }]");
  EXPECT_EQ(reply.code, 400);
  EXPECT_NE(reply.body.find("line 2, column 11"), std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find("\"accepted\":0"), std::string::npos);

  reply = HttpPost(exporter.url("/api/v1/records"), "application/x-protobuf",
                   "\xff\xff\xff garbage");
  EXPECT_EQ(reply.code, 400) << reply.body;

  reply = HttpPost(exporter.url("/api/v1/records"), "image/png", "x");
  EXPECT_EQ(reply.code, 415);

  // Only the two good NDJSON records were observed; the server is alive.
  auto m = exporter.Scrape();
  EXPECT_EQ(m[Series("ml_records_total")], 2);
  EXPECT_EQ(m["ml_exporter_rejected_records_total{source=\"http\",reason="
              "\"wrong_type\"}"],
            1);
  EXPECT_EQ(m["ml_exporter_rejected_records_total{source=\"http\",reason="
              "\"invalid_json\"}"],
            2);
  EXPECT_EQ(m["ml_exporter_rejected_records_total{source=\"http\",reason="
              "\"invalid_protobuf\"}"],
            1);
  EXPECT_EQ(HttpGet(exporter.url("/-/healthy")).code, 200);
  EXPECT_EQ(exporter.Stop(), 0);
}

// Bodies without a Content-Length (chunked) are read 64 KiB at a time:
// one of several hundred kilobytes in small pieces is ingested whole, and
// one past --max_body_bytes gets 413 with nothing accepted.
TEST(ExporterE2E, ChunkedBodiesAreReadWholeAndLimited) {
  ExporterProcess exporter({"--max_body_bytes=400000"});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  std::string body;
  int records = 0;
  while (body.size() < 300000) body += Record(records++, true) + "\n";
  const HttpReply whole = HttpPostChunked(exporter.url("/api/v1/records"),
                                          "application/x-ndjson", body, 7000);
  EXPECT_EQ(whole.code, 200) << whole.body;
  EXPECT_NE(whole.body.find("\"accepted\":" + std::to_string(records)),
            std::string::npos)
      << whole.body;
  std::string big = body + body;  // 600 KB
  const HttpReply over = HttpPostChunked(exporter.url("/api/v1/records"),
                                         "application/x-ndjson", big, 50000);
  EXPECT_EQ(over.code, 413) << over.body;
  auto m = exporter.Scrape();
  EXPECT_EQ(m[Series("ml_records_total")], records);
  EXPECT_EQ(m["ml_exporter_rejected_records_total{source=\"http\",reason="
              "\"too_large\"}"],
            1);
}

TEST(ExporterE2E, BodyOverLimitGets413) {
  ExporterProcess exporter({"--max_body_bytes=1000"});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  std::string body = "[";
  for (int i = 0; i < 20; ++i) body += (i ? "," : "") + Record(i, true);
  body += "]";
  ASSERT_GT(body.size(), 1000u);
  EXPECT_EQ(
      HttpPost(exporter.url("/api/v1/records"), "application/json", body).code,
      413);
  EXPECT_EQ(HttpPost(exporter.url("/api/v1/records"), "application/json",
                     Record(1, true))
                .code,
            200);
  auto m = exporter.Scrape();
  EXPECT_EQ(m[Series("ml_records_total")], 1);
  EXPECT_EQ(m["ml_exporter_rejected_records_total{source=\"http\",reason="
              "\"too_large\"}"],
            1);
}

TEST(ExporterE2E, ProtobufBatch) {
  ExporterProcess exporter({});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  v1::Batch batch;
  for (int i = 0; i < 3; ++i) {
    v1::Record* r = batch.add_records();
    r->set_model("asr");
    r->set_version("v3");
    r->set_stage("decoder");
    r->set_latency_seconds(0.2);
    (*r->mutable_inputs()->mutable_fields())["age"].set_number_value(30 + i);
    (*r->mutable_outputs()->mutable_fields())["transcript"].set_string_value(
        i == 0 ? "" : "hello");
  }
  v1::Event* e = batch.add_events();
  e->set_type("click");
  e->set_request_id("r-1");
  HttpReply reply =
      HttpPost(exporter.url("/api/v1/records"), "application/x-protobuf",
               batch.SerializeAsString());
  ASSERT_EQ(reply.code, 200) << reply.body;
  EXPECT_EQ(reply.body, "{\"accepted\":4,\"rejected\":0,\"errors\":[]}\n");
  auto m = exporter.Scrape();
  EXPECT_EQ(m[Series("ml_records_total")], 3);
  EXPECT_EQ(m[Series("ml_output_null_total", "output=\"transcript\"")], 1);
  EXPECT_EQ(m["ml_exporter_ingested_events_total{source=\"http\"}"], 1);
}

TEST(ExporterE2E, EndpointsAndMethods) {
  ExporterProcess exporter({});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  EXPECT_EQ(HttpGet(exporter.url("/-/healthy")).code, 200);
  EXPECT_EQ(HttpGet(exporter.url("/-/ready")).code, 200);
  HttpReply landing = HttpGet(exporter.url("/"));
  EXPECT_EQ(landing.code, 200);
  EXPECT_NE(landing.body.find("/metrics"), std::string::npos);
  EXPECT_EQ(HttpGet(exporter.url("/nope")).code, 404);
  EXPECT_EQ(HttpGet(exporter.url("/api/v1/records")).code, 405);
  EXPECT_EQ(HttpPost(exporter.url("/metrics"), "text/plain", "").code, 405);
  auto m = exporter.Scrape();
  EXPECT_EQ(m.count("process_resident_memory_bytes"), 1u);
  EXPECT_EQ(m.count("process_cpu_seconds_total"), 1u);
  EXPECT_EQ(m.count("process_open_fds"), 1u);
  EXPECT_EQ(m.count("process_max_fds"), 1u);
  EXPECT_EQ(m.count("process_start_time_seconds"), 1u);
  EXPECT_EQ(m.count("process_virtual_memory_bytes"), 1u);
  EXPECT_EQ(m["ml_exporter_collector_success{collector=\"inputs\"}"], 1);
}

TEST(ExporterE2E, FollowsFileThroughRotationAndTruncation) {
  TempDir dir;
  const std::string path = dir.file("records.ndjson");
  AppendTo(path, Record(0, true) + "\n" + Record(1, true) + "\n");
  ExporterProcess exporter({"--input=" + path, "--input_from_start"});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  const std::string records = Series("ml_records_total");
  EXPECT_EQ(exporter.WaitFor(records, 2), 2);

  // Appended lines, one bad, and a line written in two pieces.
  const std::string third = Record(2, true);
  AppendTo(path, "{broken\n" + third.substr(0, 20));
  usleep(400 * 1000);
  AppendTo(path, third.substr(20) + "\n");
  EXPECT_EQ(exporter.WaitFor(records, 3), 3);
  EXPECT_EQ(exporter.WaitFor("ml_exporter_rejected_records_total{source="
                             "\"file\",reason=\"invalid_json\"}",
                             1),
            1);
  EXPECT_NE(exporter.log().find(path + ":3: invalid JSON"), std::string::npos)
      << exporter.log();

  // Rotation: rename, then a new file at the same path.
  std::filesystem::rename(path, path + ".1");
  AppendTo(path + ".1", Record(3, true) + "\n");  // late write to the old file
  AppendTo(path, Record(4, true) + "\n");
  EXPECT_EQ(exporter.WaitFor(records, 5), 5);

  // Truncation in place.
  { std::ofstream truncate(path, std::ios::trunc); }
  usleep(400 * 1000);
  AppendTo(path, Record(5, true) + "\n");
  EXPECT_EQ(exporter.WaitFor(records, 6), 6);

  // Deleted and recreated.
  std::filesystem::remove(path);
  usleep(400 * 1000);
  AppendTo(path, Record(6, true) + "\n" + Record(7, true) + "\n");
  EXPECT_EQ(exporter.WaitFor(records, 8), 8);
  EXPECT_EQ(exporter.Scrape()["ml_exporter_ingested_records_total{source="
                              "\"file\"}"],
            8);
}

// The follower reads a chunk at a time into its line buffer: lines that
// cross chunk boundaries, a bad line and a line longer than the limit that
// spans several chunks keep their line numbers, and no other line is lost.
TEST(ExporterE2E, FileLinesAcrossManyReadChunksKeepTheirNumbers) {
  TempDir dir;
  const std::string path = dir.file("records.ndjson");
  constexpr int kLines = 4000;
  constexpr int kBadLine = 1234;
  constexpr int kLongLine = 2345;
  std::string text;
  for (int line = 1; line <= kLines; ++line) {
    if (line == kBadLine) {
      text += "{broken\n";
    } else if (line == kLongLine) {
      text += std::string(300000, 'x') + "\n";  // several read chunks
    } else {
      text += Record(line, true) + "\n";
    }
  }
  AppendTo(path, text);
  ExporterProcess exporter(
      {"--input=" + path, "--input_from_start", "--max_body_bytes=4096"});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  EXPECT_EQ(exporter.WaitFor(Series("ml_records_total"), kLines - 2),
            kLines - 2);
  auto m = exporter.Scrape();
  EXPECT_EQ(m["ml_exporter_ingested_records_total{source=\"file\"}"],
            kLines - 2);
  EXPECT_EQ(m["ml_exporter_rejected_records_total{source=\"file\",reason="
              "\"invalid_json\"}"],
            1);
  EXPECT_EQ(m["ml_exporter_rejected_records_total{source=\"file\",reason="
              "\"too_large\"}"],
            1);
  EXPECT_NE(exporter.log().find(path + ":" + std::to_string(kBadLine) +
                                ": invalid JSON"),
            std::string::npos)
      << exporter.log();
  EXPECT_NE(exporter.log().find(path + ":" + std::to_string(kLongLine) +
                                ": line longer than 4096 bytes, skipped"),
            std::string::npos)
      << exporter.log();

  // Appended later, after the long line: numbered on from there.
  AppendTo(path, "oops\n");
  EXPECT_EQ(exporter.WaitFor("ml_exporter_rejected_records_total{source="
                             "\"file\",reason=\"invalid_json\"}",
                             2),
            2);
  EXPECT_NE(exporter.log().find(path + ":" + std::to_string(kLines + 1) +
                                ": invalid JSON"),
            std::string::npos)
      << exporter.log();
}

TEST(ExporterE2E, FileStartsAtEndByDefault) {
  TempDir dir;
  const std::string path = dir.file("records.ndjson");
  AppendTo(path, Record(0, true) + "\n" + Record(1, true) + "\n");
  ExporterProcess exporter({"--input=" + path});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  usleep(500 * 1000);
  AppendTo(path, Record(2, true) + "\n");
  const std::string records = Series("ml_records_total");
  EXPECT_EQ(exporter.WaitFor(records, 1), 1);
  AppendTo(path, "oops\n");
  EXPECT_EQ(exporter.WaitFor("ml_exporter_rejected_records_total{source="
                             "\"file\",reason=\"invalid_json\"}",
                             1),
            1);
  // Line numbers count the lines that were there before the start.
  EXPECT_NE(exporter.log().find(path + ":4: invalid JSON"), std::string::npos)
      << exporter.log();
}

TEST(ExporterE2E, ReadsStandardInput) {
  ExporterProcess exporter({"--input=-"}, /*stdin_pipe=*/true);
  ASSERT_TRUE(exporter.started()) << exporter.log();
  exporter.WriteStdin(Record(0, true) + "\n" + Record(1, false) + "\nnope\n" +
                      Record(2, true));  // last line without newline
  exporter.CloseStdin();
  EXPECT_EQ(exporter.WaitFor(Series("ml_records_total"), 3), 3);
  auto m = exporter.Scrape();
  EXPECT_EQ(m["ml_exporter_ingested_records_total{source=\"stdin\"}"], 3);
  EXPECT_EQ(m["ml_exporter_rejected_records_total{source=\"stdin\",reason="
              "\"invalid_json\"}"],
            1);
  EXPECT_TRUE(exporter.running());  // serves metrics after EOF
}

TEST(ExporterE2E, BadFlagsFailClearly) {
  ExporterProcess exporter({"--collectors=inputs,nonesuch"});
  EXPECT_FALSE(exporter.started());
  EXPECT_NE(exporter.log().find("unknown collector \"nonesuch\"; known "
                                "collectors: "),
            std::string::npos)
      << exporter.log();
  EXPECT_NE(exporter.log().find("software"), std::string::npos)
      << exporter.log();
}

#ifdef PROMTOOL
TEST(ExporterE2E, PromtoolAcceptsTheExposition) {
  ExporterProcess exporter({"--histogram_warmup_values=5"});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  std::string body = "[";
  for (int i = 0; i < 50; ++i) body += (i ? "," : "") + Record(i, i % 3 != 0);
  body += "]";
  ASSERT_EQ(
      HttpPost(exporter.url("/api/v1/records"), "application/json", body).code,
      200);
  TempDir dir;
  const std::string scrape = dir.file("scrape.txt");
  {
    std::ofstream out(scrape);
    out << HttpGet(exporter.url("/metrics")).body;
  }
  const std::string command = std::string(PROMTOOL) + " check metrics < " +
                              scrape + " > " + dir.file("promtool.out") +
                              " 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(dir.file("promtool.out"));
  const std::string output((std::istreambuf_iterator<char>(in)),
                           std::istreambuf_iterator<char>());
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;
  EXPECT_EQ(output, "") << output;
}
#endif

}  // namespace
}  // namespace ml_exporter::testing
