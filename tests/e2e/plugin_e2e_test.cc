// End-to-end: collector plugins named in the configuration file, loaded by
// the real ml_exporter binary at start and on reload, and checked by
// mltool check-config.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/e2e/exporter_process.h"

namespace ml_exporter::testing {
namespace {

std::string WithPlugins(const std::string& words) {
  return std::string("plugins:\n  - path: ") + BLOCKLIST_WORDS_PATH +
         "\n  - path: " + CLICK_RANK_PATH +
         "\n"
         "models:\n"
         "  - model: chat\n"
         "    collectors:\n"
         "      - name: software\n"
         "      - name: blocklist_words\n"
         "        params: {words: [" +
         words +
         "], outputs: [reply]}\n"
         "  - model: search\n"
         "    collectors:\n"
         "      - name: software\n"
         "      - name: click_rank\n";
}

const char kWithoutPlugins[] = R"(
models:
  - model: chat
    collectors: [{name: software}]
)";

const char kRecords[] =
    R"({"model":"chat","outputs":{"reply":"you idiot"}}
{"model":"chat","outputs":{"reply":"have a nice day"}}
{"model":"search","request_id":"r-1","outputs":{"items":["a","b","c"]}}
)";
const char kClick[] =
    R"({"events":[{"type":"click","request_id":"r-1","value":"b"}]})";

const std::string kChat = R"(model="chat",version="none",stage="none")";
const std::string kSearch = R"(model="search",version="none",stage="none")";

int RunMltool(const std::string& args, std::string* output) {
  return RunCommand(std::string(MLTOOL_BINARY) + " " + args, output);
}

TEST(PluginE2E, ConfiguredPluginsExportAndReloadKeepsAndDropsThem) {
  TempConfigFile config;
  config.Write(WithPlugins("idiot"));
  ExporterProcess exporter({"--config=" + config.path()});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  EXPECT_NE(exporter.log().find("loaded plugin blocklist_words 1.0.0 (ABI "
                                "1.0) from " +
                                std::string(BLOCKLIST_WORDS_PATH)),
            std::string::npos)
      << exporter.log();
  ASSERT_EQ(HttpPost(exporter.url("/api/v1/records"), "application/x-ndjson",
                     kRecords)
                .code,
            200);
  ASSERT_EQ(
      HttpPost(exporter.url("/api/v1/records"), "application/json", kClick)
          .code,
      200);
  auto m = exporter.Scrape();
  EXPECT_EQ(m["ml_blocklist_checked_total{" + kChat + ",output=\"reply\"}"], 2);
  EXPECT_EQ(m["ml_blocklist_matched_total{" + kChat + ",output=\"reply\"}"], 1);
  EXPECT_EQ(m["ml_click_rank_count{" + kSearch + "}"], 1);
  EXPECT_EQ(m["ml_click_rank_sum{" + kSearch + "}"], 2);
  EXPECT_EQ(m["ml_exporter_collector_success{collector=\"blocklist_words\"}"],
            1);
  EXPECT_EQ(m["ml_exporter_collector_success{collector=\"click_rank\"}"], 1);
  EXPECT_EQ(m["ml_exporter_plugin_info{plugin=\"blocklist_words\",version="
              "\"1.0.0\",abi=\"1.0\"}"],
            1);
  EXPECT_EQ(m["ml_exporter_plugin_info{plugin=\"click_rank\",version="
              "\"1.0.0\",abi=\"1.0\"}"],
            1);
  const HttpReply status = HttpGet(exporter.url("/api/v1/status"));
  EXPECT_NE(status.body.find("\"plugins\":[{\"path\":\"" +
                             std::string(BLOCKLIST_WORDS_PATH) +
                             "\",\"name\":\"blocklist_words\""),
            std::string::npos)
      << status.body;

  const HttpReply landing = HttpGet(exporter.url("/"));
  EXPECT_NE(landing.body.find("<h2>Plugins</h2>"), std::string::npos);
  EXPECT_NE(landing.body.find("<td>click_rank</td><td>1.0.0</td><td>1.0</td>"),
            std::string::npos)
      << landing.body;

  // Same plugins, a changed word list: the blocklist collector starts
  // afresh (its params changed); click_rank keeps its counts.
  config.Write(WithPlugins("idiot, nice"));
  HttpReply reply = HttpPost(exporter.url("/-/reload"), "text/plain", "");
  ASSERT_EQ(reply.code, 200) << reply.body;
  HttpPost(exporter.url("/api/v1/records"), "application/x-ndjson", kRecords);
  m = exporter.Scrape();
  EXPECT_EQ(m["ml_blocklist_checked_total{" + kChat + ",output=\"reply\"}"], 2);
  EXPECT_EQ(m["ml_blocklist_matched_total{" + kChat + ",output=\"reply\"}"], 2);
  EXPECT_EQ(m["ml_click_rank_count{" + kSearch + "}"], 1);
  EXPECT_EQ(m["ml_ranked_lists_total{" + kSearch + "}"], 2);

  // A plugin file that is not a plugin: the reload fails, naming it, and
  // the running collectors go on.
  const std::string not_a_plugin = config.path() + ".so";
  std::ofstream(not_a_plugin) << "not an ELF file";
  {
    std::string text = WithPlugins("idiot");
    text.replace(text.find("plugins:\n"), 9,
                 "plugins:\n  - path: " + not_a_plugin + "\n");
    config.Write(text);
  }
  reply = HttpPost(exporter.url("/-/reload"), "text/plain", "");
  EXPECT_EQ(reply.code, 400) << reply.body;
  EXPECT_NE(reply.body.find(not_a_plugin), std::string::npos) << reply.body;
  HttpPost(exporter.url("/api/v1/records"), "application/x-ndjson", kRecords);
  m = exporter.Scrape();
  EXPECT_EQ(m["ml_exporter_config_last_reload_successful"], 0);
  EXPECT_EQ(m["ml_blocklist_checked_total{" + kChat + ",output=\"reply\"}"], 4);

  // Without plugins: their metrics and info series are gone, the rest stays.
  config.Write(kWithoutPlugins);
  reply = HttpPost(exporter.url("/-/reload"), "text/plain", "");
  ASSERT_EQ(reply.code, 200) << reply.body;
  m = exporter.Scrape();
  EXPECT_EQ(m.count("ml_exporter_plugin_info{plugin=\"blocklist_words\","
                    "version=\"1.0.0\",abi=\"1.0\"}"),
            0u);
  EXPECT_EQ(
      m.count("ml_blocklist_checked_total{" + kChat + ",output=\"reply\"}"),
      0u);
  EXPECT_EQ(m["ml_records_total{" + kChat + "}"], 6);
  EXPECT_TRUE(exporter.running());
}

TEST(PluginE2E, BadPluginParamsStopTheStartWithTheirReason) {
  TempConfigFile config;
  std::string text = WithPlugins("idiot");
  text.replace(text.find("words: [idiot], "), 16, "");
  config.Write(text);
  ExporterProcess exporter({"--config=" + config.path()});
  EXPECT_FALSE(exporter.started());
  EXPECT_NE(exporter.log().find("parameter \"words\" is required"),
            std::string::npos)
      << exporter.log();
}

TEST(PluginE2E, CheckConfigLoadsPluginsAndBuildsTheirCollectors) {
  TempConfigFile good;
  good.Write(WithPlugins("idiot"));
  std::string out;
  EXPECT_EQ(RunMltool("check-config " + good.path(), &out), 0) << out;
  EXPECT_NE(out.find("2 plugins"), std::string::npos) << out;

  TempConfigFile bad_params;
  std::string text = WithPlugins("idiot");
  text.replace(text.find("words: [idiot], "), 16, "");
  bad_params.Write(text);
  EXPECT_EQ(RunMltool("check-config " + bad_params.path(), &out), 1) << out;
  EXPECT_NE(out.find("parameter \"words\" is required"), std::string::npos)
      << out;

  TempConfigFile wrong_abi;
  text = WithPlugins("idiot");
  text.replace(text.find(CLICK_RANK_PATH), std::string(CLICK_RANK_PATH).size(),
               TEST_RAW_WRONG_MAJOR_PLUGIN_PATH);
  wrong_abi.Write(text);
  EXPECT_EQ(RunMltool("check-config " + wrong_abi.path(), &out), 1) << out;
  EXPECT_NE(out.find("incompatible plugin ABI 2.0"), std::string::npos) << out;
}

}  // namespace
}  // namespace ml_exporter::testing
