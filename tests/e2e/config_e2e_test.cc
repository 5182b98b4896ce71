// End-to-end: the configuration file, reload, /api/v1/status, and mltool.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/e2e/exporter_process.h"

namespace ml_exporter::testing {
namespace {

const char kConfig[] = R"(
global:
  limits: {max_label_values: 3}
models:
  - model: asr
    collectors:
      - name: software
      - name: inputs
        include: [age]
        buckets: {age: [18, 40, 65]}
    thresholds:
      - {metric: missing_ratio, feature: age, upper: 0.2}
)";

std::string Records(int n) {
  std::string body;
  for (int i = 0; i < n; ++i) {
    body += R"({"model":"asr","inputs":{"age":)" + std::to_string(20 + i) +
            R"(,"country":"DE"},"outputs":{"t":"x"}})" + "\n";
  }
  return body;
}

const std::string kAsr = R"(model="asr",version="none",stage="none")";

TEST(ConfigE2E, ConfigShapesMetricsAndReloadKeepsCounters) {
  TempConfigFile config;
  config.Write(kConfig);
  ExporterProcess exporter({"--config=" + config.path()});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  ASSERT_EQ(HttpPost(exporter.url("/api/v1/records"), "application/x-ndjson",
                     Records(5))
                .code,
            200);
  auto m = exporter.Scrape();
  EXPECT_EQ(m["ml_records_total{" + kAsr + "}"], 5);
  EXPECT_EQ(
      m["ml_feature_value_bucket{" + kAsr + ",feature=\"age\",le=\"40\"}"], 5);
  EXPECT_EQ(m.count("ml_feature_observations_total{" + kAsr +
                    ",feature=\"country\"}"),
            0u);  // not included
  EXPECT_EQ(m.count("ml_output_observations_total{" + kAsr + ",output=\"t\"}"),
            0u);  // outputs collector not configured for asr
  EXPECT_EQ(m["ml_alert_threshold{" + kAsr +
              ",feature=\"age\",metric=\"missing_ratio\",bound=\"upper\"}"],
            0.2);
  EXPECT_EQ(m["ml_exporter_config_last_reload_successful"], 1);
  EXPECT_GT(m["ml_exporter_config_last_reload_success_timestamp_seconds"], 1e9);

  // A new threshold, via POST /-/reload: counters are kept.
  std::string next = kConfig;
  next.replace(next.find("upper: 0.2"), 10, "upper: 0.05");
  config.Write(next);
  HttpReply reply = HttpPost(exporter.url("/-/reload"), "text/plain", "");
  EXPECT_EQ(reply.code, 200) << reply.body;
  HttpPost(exporter.url("/api/v1/records"), "application/x-ndjson", Records(1));
  m = exporter.Scrape();
  EXPECT_EQ(m["ml_records_total{" + kAsr + "}"], 6);
  EXPECT_EQ(
      m["ml_feature_value_bucket{" + kAsr + ",feature=\"age\",le=\"40\"}"], 6);
  EXPECT_EQ(m["ml_alert_threshold{" + kAsr +
              ",feature=\"age\",metric=\"missing_ratio\",bound=\"upper\"}"],
            0.05);

  // An invalid file is rejected; the running configuration stays.
  config.Write(
      "models:\n  - model: asr\n    collectors:\n      - name: nope\n");
  reply = HttpPost(exporter.url("/-/reload"), "text/plain", "");
  EXPECT_EQ(reply.code, 400);
  EXPECT_NE(
      reply.body.find(config.path() + ":4:15: unknown collector \"nope\""),
      std::string::npos)
      << reply.body;
  HttpPost(exporter.url("/api/v1/records"), "application/x-ndjson", Records(1));
  m = exporter.Scrape();
  EXPECT_EQ(m["ml_records_total{" + kAsr + "}"], 7);
  EXPECT_EQ(m["ml_exporter_config_last_reload_successful"], 0);
  EXPECT_EQ(m["ml_alert_threshold{" + kAsr +
              ",feature=\"age\",metric=\"missing_ratio\",bound=\"upper\"}"],
            0.05);

  // SIGHUP with a valid file again: the country feature now counts.
  next.replace(next.find("include: [age]"), 14, "include: [age, country]");
  config.Write(next);
  exporter.Signal(SIGHUP);
  EXPECT_EQ(exporter.WaitFor("ml_exporter_config_last_reload_successful", 1),
            1);
  HttpPost(exporter.url("/api/v1/records"), "application/x-ndjson", Records(2));
  m = exporter.Scrape();
  EXPECT_EQ(m["ml_records_total{" + kAsr + "}"], 9);
  EXPECT_EQ(
      m["ml_feature_observations_total{" + kAsr + ",feature=\"country\"}"], 2);
}

TEST(ConfigE2E, StatusShowsConfigModelsFeaturesAndCaps) {
  TempConfigFile config;
  config.Write(kConfig);
  ExporterProcess exporter({"--config=" + config.path()});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  std::string body;
  for (int i = 0; i < 5; ++i) {
    body += R"({"model":"vision","inputs":{"camera":"c)" + std::to_string(i) +
            R"("}})" + "\n";
  }
  HttpPost(exporter.url("/api/v1/records"), "application/x-ndjson",
           Records(1) + body);
  HttpReply status = HttpGet(exporter.url("/api/v1/status"));
  ASSERT_EQ(status.code, 200);
  const std::string& s = status.body;
  EXPECT_NE(s.find("\"config_file\":\"" + config.path() + "\""),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("\"max_label_values\":3"), std::string::npos) << s;
  EXPECT_NE(s.find("\"caps_reached\":{\"max_label_values\":2}"),
            std::string::npos)
      << s;
  EXPECT_NE(
      s.find("{\"model\":\"asr\",\"version\":\"none\",\"stage\":\"none\","
             "\"collectors\":[\"inputs\",\"software\"],\"features\":[\"age\"],"
             "\"outputs\":[]}"),
      std::string::npos)
      << s;
  // vision gets the default collectors (a list that grows).
  const size_t vision = s.find("{\"model\":\"vision\",\"version\":\"none\"");
  ASSERT_NE(vision, std::string::npos) << s;
  const std::string entry = s.substr(vision, s.find('}', vision) - vision);
  EXPECT_NE(entry.find("\"inputs\",\"outputs\""), std::string::npos) << entry;
  EXPECT_NE(entry.find("\"software\""), std::string::npos) << entry;
  EXPECT_NE(entry.find("\"features\":[\"camera\"],\"outputs\":[]"),
            std::string::npos)
      << entry;
  EXPECT_NE(s.find("\"thresholds\":[{\"metric\":\"missing_ratio\""),
            std::string::npos)
      << s;
  HttpReply landing = HttpGet(exporter.url("/"));
  EXPECT_NE(
      landing.body.find("max_label_values: 2 values counted as __other__"),
      std::string::npos)
      << landing.body;
}

TEST(ConfigE2E, InvalidConfigAtStartExitsWithPositions) {
  TempConfigFile config;
  config.Write("global:\n  limits:\n    max_featurs: 3\n");
  ExporterProcess exporter({"--config=" + config.path()});
  EXPECT_FALSE(exporter.started());
  EXPECT_NE(exporter.log().find(config.path() +
                                ":3:5: unknown key \"max_featurs\" in "
                                "\"global.limits\"; did you mean "
                                "\"max_features\"?"),
            std::string::npos)
      << exporter.log();
}

int RunMltool(const std::string& args, std::string* output) {
  return RunCommand(std::string(MLTOOL_BINARY) + " " + args, output);
}

TEST(MltoolE2E, CheckConfigExitCodes) {
  TempConfigFile good;
  good.Write(kConfig);
  std::string out;
  EXPECT_EQ(RunMltool("check-config " + good.path(), &out), 0) << out;
  EXPECT_NE(out.find("SUCCESS: 1 model entries, 2 collector settings, 1 "
                     "thresholds, 0 plugins"),
            std::string::npos)
      << out;
  TempConfigFile bad;
  bad.Write("models:\n  - model: a\n    collectors: [{name: softwar}]\n");
  EXPECT_EQ(RunMltool("check-config " + good.path() + " " + bad.path(), &out),
            1);
  EXPECT_NE(out.find(bad.path() + ":3:25: unknown collector \"softwar\" (did "
                                  "you mean \"software\"?)"),
            std::string::npos)
      << out;
  EXPECT_EQ(RunMltool("check-config /no/such/file.yaml", &out), 1);
  EXPECT_NE(out.find("cannot read configuration file \"/no/such/file.yaml\""),
            std::string::npos)
      << out;
  EXPECT_EQ(RunMltool("check-config", &out), 2);
  EXPECT_EQ(RunMltool("frobnicate", &out), 2);
}

TEST(MltoolE2E, ShippedExampleConfigsAreValid) {
  for (const auto& entry :
       std::filesystem::directory_iterator(EXAMPLES_DIR "/configs")) {
    std::string out;
    EXPECT_EQ(RunMltool("check-config " + entry.path().string(), &out), 0)
        << out;
  }
}

}  // namespace
}  // namespace ml_exporter::testing
