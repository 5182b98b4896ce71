// Drift end to end: mltool profile on a training file, ml_exporter with
// --reference, unshifted then shifted traffic over HTTP, scores on /metrics.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "tests/e2e/exporter_process.h"

namespace ml_exporter::testing {
namespace {

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/ml_exporter_drift_e2e_XXXXXX";
    path_ = mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// `n` records of model "churn": age ~ N(40 + shift, 10), plan from
// `plans` with weights, score ~ U(0, 1) (+ shift / 100).
std::string Records(int n, double shift, const std::vector<std::string>& plans,
                    const std::vector<double>& weights, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> age(40 + shift, 10);
  std::discrete_distribution<int> plan(weights.begin(), weights.end());
  std::uniform_real_distribution<double> score(0, 1);
  std::ostringstream out;
  out.precision(6);
  for (int i = 0; i < n; ++i) {
    out << R"({"model":"churn","version":"v2","inputs":{"age":)" << age(rng)
        << R"(,"plan":")" << plans[plan(rng)] << R"("},"outputs":{"score":)"
        << std::min(1.0, score(rng) + shift / 100) << "}}\n";
  }
  return out.str();
}

int RunCommand(const std::string& command, std::string* output) {
  const std::string out_file =
      "/tmp/ml_exporter_drift_e2e_cmd." + std::to_string(getpid());
  const int status =
      std::system((command + " > " + out_file + " 2>&1").c_str());
  std::ifstream in(out_file);
  std::stringstream text;
  text << in.rdbuf();
  *output = text.str();
  std::remove(out_file.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

const std::string kModel = R"(model="churn",version="v2",stage="none")";

std::string Series(const std::string& name, const std::string& labels) {
  return name + "{" + kModel + "," + labels + "}";
}

TEST(DriftE2E, ScoresRiseWhenTrafficShifts) {
  TempDir dir;
  const std::vector<std::string> plans = {"basic", "plus", "pro"};
  {
    std::ofstream train(dir.file("train.ndjson"));
    train << Records(20000, 0, plans, {0.5, 0.3, 0.2}, 1);
  }
  std::string output;
  ASSERT_EQ(RunCommand(std::string(MLTOOL_BINARY) +
                           " profile --input=" + dir.file("train.ndjson") +
                           " --output=" + dir.file("churn.profile"),
                       &output),
            0)
      << output;
  EXPECT_NE(output.find("profiled 20000 records of model \"churn\": 2 "
                        "features, 1 outputs"),
            std::string::npos)
      << output;
  ASSERT_EQ(RunCommand(std::string(MLTOOL_BINARY) + " profile --show " +
                           dir.file("churn.profile"),
                       &output),
            0)
      << output;
  EXPECT_NE(output.find("age"), std::string::npos) << output;
  EXPECT_NE(output.find("values 20000, 3 listed"), std::string::npos) << output;

  ExporterProcess exporter({"--reference=churn=" + dir.file("churn.profile"),
                            "--drift_window_seconds=3",
                            "--drift_min_count=500"});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  const auto post = [&](const std::string& body) {
    const HttpReply reply =
        HttpPost(exporter.url("/api/v1/records"), "application/x-ndjson", body);
    ASSERT_EQ(reply.code, 200) << reply.body;
  };

  // Traffic like the training data: low scores.
  post(Records(2000, 0, plans, {0.5, 0.3, 0.2}, 2));
  auto m = exporter.Scrape();
  EXPECT_EQ(m[Series("ml_feature_window_values", "feature=\"age\"")], 2000);
  const double psi_before =
      m[Series("ml_feature_drift", "feature=\"age\",method=\"psi\"")];
  const double ks_before =
      m[Series("ml_feature_drift", "feature=\"age\",method=\"ks\"")];
  const double w_before =
      m[Series("ml_feature_drift", "feature=\"age\",method=\"wasserstein\"")];
  const double plan_psi_before =
      m[Series("ml_feature_drift", "feature=\"plan\",method=\"psi\"")];
  EXPECT_LT(psi_before, 0.05);
  EXPECT_LT(ks_before, 0.06);
  EXPECT_LT(w_before, 1.5);
  EXPECT_LT(plan_psi_before, 0.02);
  EXPECT_GT(
      m[Series("ml_feature_drift", "feature=\"plan\",method=\"chi2_p_value\"")],
      1e-3);
  EXPECT_EQ(m[Series("ml_feature_unseen_category_ratio", "feature=\"plan\"")],
            0);
  EXPECT_LT(m[Series("ml_output_drift", "output=\"score\",method=\"ks\"")],
            0.06);
  // Live and reference histograms share their buckets (the PromQL rules
  // rely on it).
  std::set<std::string> live_le, ref_le;
  for (const auto& [series, value] : m) {
    const size_t le = series.find(",le=\"");
    if (le == std::string::npos ||
        series.find("feature=\"age\"") == std::string::npos) {
      continue;
    }
    const std::string bound =
        series.substr(le + 5, series.find('"', le + 5) - le - 5);
    if (series.rfind("ml_feature_value_bucket{", 0) == 0) live_le.insert(bound);
    if (series.rfind("ml_reference_feature_value_bucket{", 0) == 0) {
      ref_le.insert(bound);
    }
  }
  EXPECT_EQ(live_le.size(), 12u);  // 11 edges (10 bins and the min) + Inf
  EXPECT_EQ(live_le, ref_le);
  // What alerts/drift.rules.yml computes: live fractions per reference bin
  // (lower, upper] from the cumulative buckets, joined by label text. The
  // histogram and the window hold the same 2000 values here, so it must be
  // the exporter's own PSI.
  {
    const std::string age = "feature=\"age\"";
    const double total =
        m[Series("ml_feature_value_bucket", age + ",le=\"+Inf\"")];
    double psi = 0;
    size_t bins = 0;
    for (const auto& [series, ratio] : m) {
      if (series.rfind("ml_reference_feature_bin_ratio{", 0) != 0 ||
          series.find(age) == std::string::npos) {
        continue;
      }
      const auto label = [&](const std::string& name) {
        const size_t at = series.find("," + name + "=\"") + name.size() + 3;
        return series.substr(at, series.find('"', at) - at);
      };
      const std::string lower = label("lower"), upper = label("upper");
      const double at_upper = m.at(
          Series("ml_feature_value_bucket", age + ",le=\"" + upper + "\""));
      const double at_lower = lower == "-Inf"
                                  ? 0
                                  : m.at(Series("ml_feature_value_bucket",
                                                age + ",le=\"" + lower + "\""));
      const double a = (at_upper - at_lower) / total;
      psi += (a - ratio) * std::log((a + 1e-4) / (ratio + 1e-4));
      ++bins;
    }
    EXPECT_EQ(bins, 12u);
    psi /= 1 + 1e-4 * static_cast<double>(bins);
    EXPECT_NEAR(psi, psi_before, 1e-9);
  }

  // The window (3 s) forgets that traffic; then the shifted traffic: age
  // +15, another plan mix with a plan the training data never had.
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  post(Records(2000, 15, {"basic", "plus", "pro", "family"},
               {0.2, 0.2, 0.2, 0.4}, 3));
  m = exporter.Scrape();
  EXPECT_EQ(m[Series("ml_feature_window_values", "feature=\"age\"")], 2000);
  EXPECT_GT(m[Series("ml_feature_drift", "feature=\"age\",method=\"psi\"")],
            1.0);
  EXPECT_GT(m[Series("ml_feature_drift", "feature=\"age\",method=\"ks\"")],
            0.45);
  EXPECT_NEAR(
      m[Series("ml_feature_drift", "feature=\"age\",method=\"wasserstein\"")],
      15, 1.5);
  EXPECT_NEAR(m[Series("ml_feature_drift",
                       "feature=\"age\",method=\"wasserstein_normalized\"")],
              1.5, 0.15);
  EXPECT_GT(m[Series("ml_feature_drift",
                     "feature=\"age\",method=\"jensen_shannon\"")],
            0.4);
  EXPECT_GT(m[Series("ml_feature_drift", "feature=\"plan\",method=\"psi\"")],
            0.5);
  EXPECT_LT(
      m[Series("ml_feature_drift", "feature=\"plan\",method=\"chi2_p_value\"")],
      1e-6);
  EXPECT_NEAR(m[Series("ml_feature_unseen_category_ratio", "feature=\"plan\"")],
              0.4, 0.05);
  EXPECT_GT(m[Series("ml_output_drift", "output=\"score\",method=\"ks\"")],
            0.1);

#ifdef PROMTOOL
  const std::string exposition = HttpGet(exporter.url("/metrics")).body;
  {
    std::ofstream out(dir.file("metrics.txt"));
    out << exposition;
  }
  EXPECT_EQ(RunCommand(std::string(PROMTOOL) + " check metrics < " +
                           dir.file("metrics.txt"),
                       &output),
            0)
      << output;
#endif
}

TEST(DriftE2E, BadReferenceIsAStartupError) {
  TempDir dir;
  {
    std::ofstream bad(dir.file("bad.profile"));
    bad << "this is not a profile";
  }
  std::string output;
  const int code =
      RunCommand(std::string(ML_EXPORTER_BINARY) +
                     " --listen_address=127.0.0.1:0 --reference=churn=" +
                     dir.file("bad.profile"),
                 &output);
  EXPECT_EQ(code, 2);
  EXPECT_NE(
      output.find("--reference churn=" + dir.file("bad.profile") + ": \"" +
                  dir.file("bad.profile") + "\" is not a reference profile"),
      std::string::npos)
      << output;
  EXPECT_EQ(RunCommand(std::string(ML_EXPORTER_BINARY) +
                           " --listen_address=127.0.0.1:0 --reference=churn",
                       &output),
            2);
  EXPECT_NE(output.find("\"churn\" is not MODEL=PATH"), std::string::npos)
      << output;
}

TEST(DriftE2E, ProfileFromCsvAndErrors) {
  TempDir dir;
  {
    std::ofstream csv(dir.file("train.csv"));
    csv << "age,plan,score\n30,basic,0.5\n,pro,0.7\n41.5,\"basic\",0.1\n";
  }
  std::string output;
  ASSERT_EQ(RunCommand(std::string(MLTOOL_BINARY) +
                           " profile --input=" + dir.file("train.csv") +
                           " --output=" + dir.file("p.profile") +
                           " --model=churn --outputs=score --text",
                       &output),
            0)
      << output;
  std::ifstream in(dir.file("p.profile"));
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("model: \"churn\""), std::string::npos);
  EXPECT_NE(text.str().find("missing: 1"), std::string::npos);
  // The text form loads as a reference too.
  ExporterProcess exporter({"--reference=churn=" + dir.file("p.profile")});
  EXPECT_TRUE(exporter.started()) << exporter.log();

  EXPECT_EQ(RunCommand(std::string(MLTOOL_BINARY) +
                           " profile --input=" + dir.file("missing.csv") +
                           " --output=" + dir.file("x.profile"),
                       &output),
            1);
  EXPECT_NE(output.find("cannot read"), std::string::npos) << output;
  EXPECT_EQ(RunCommand(std::string(MLTOOL_BINARY) + " profile --input=x.csv",
                       &output),
            2);
  EXPECT_NE(output.find("give --output=FILE"), std::string::npos) << output;
}

}  // namespace
}  // namespace ml_exporter::testing
