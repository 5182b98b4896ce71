// Reference profiles: building them from values, CSV and NDJSON, and
// checking them.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "profile/profile_builder.h"
#include "profile/reference.h"
#include "profile/training_data.h"

namespace ml_exporter::profile {
namespace {

using v1::FieldProfile;
using v1::ReferenceProfile;

std::vector<double> Edges(const v1::NumericProfile& n) {
  return {n.edges().begin(), n.edges().end()};
}

uint64_t Sum(const google::protobuf::RepeatedField<uint64_t>& counts) {
  uint64_t s = 0;
  for (uint64_t c : counts) s += c;
  return s;
}

TEST(RankEdges, ValuesAtEvenlySpacedRanks) {
  std::vector<double> v;
  for (int i = 0; i <= 1000; ++i) v.push_back(i * 0.5);
  EXPECT_EQ(RankEdges(v, 4), (std::vector<double>{0, 125, 250, 375, 500}));
  // Ranks floor(9 * k / 4) of 10 values: 0, 2, 4, 6, 9.
  EXPECT_EQ(RankEdges({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 4),
            (std::vector<double>{1, 3, 5, 7, 10}));
}

TEST(RankEdges, NoRepeatedValueOrLabel) {
  EXPECT_EQ(RankEdges(std::vector<double>(50, 7.25), 10),
            (std::vector<double>{7.25}));
  EXPECT_EQ(RankEdges({1, 1, 1, 1, 2}, 4), (std::vector<double>{1, 2}));
  // Distinct doubles that print alike in `le` (16 digits) keep one edge.
  const double a = 0.1, b = std::nextafter(0.1, 1.0);
  EXPECT_EQ(FormatBound(a), FormatBound(b));
  EXPECT_EQ(RankEdges({a, b}, 1), (std::vector<double>{a}));
  EXPECT_TRUE(RankEdges({}, 10).empty());
}

TEST(FormatBound, AsPrometheusPrintsLe) {
  EXPECT_EQ(FormatBound(0.1), "0.1");
  EXPECT_EQ(FormatBound(2.0 / 3), "0.6666666666666666");
  EXPECT_EQ(FormatBound(1e-7), "1e-07");
  EXPECT_EQ(FormatBound(1234567), "1234567");
  EXPECT_EQ(FormatBound(INFINITY), "+Inf");
  EXPECT_EQ(FormatBound(-INFINITY), "-Inf");
}

TEST(BuildNumericProfile, CountsSummaryAndQuantiles) {
  std::vector<double> v;
  for (int i = 1000; i >= 1; --i) v.push_back(i);
  v1::NumericProfile n;
  BuildNumericProfile(&v, BuildOptions{}, &n);
  EXPECT_EQ(n.count(), 1000u);
  EXPECT_EQ(n.min(), 1);
  EXPECT_EQ(n.max(), 1000);
  EXPECT_DOUBLE_EQ(n.mean(), 500.5);
  EXPECT_NEAR(n.stddev(), std::sqrt((1000.0 * 1000 - 1) / 12), 1e-9);
  EXPECT_EQ(n.edges_size() + 1, n.counts_size());
  EXPECT_EQ(Sum(n.counts()), 1000u);
  // 101 percentiles and finer steps in each tail: ranks 0 .. 8 (floor(999
  // k / 1000)) below the first percentile, 990 .. 998 above the last.
  EXPECT_EQ(n.quantile_edges_size(), 101 + 8 + 9);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(n.quantile_edges(i), i + 1);
  EXPECT_EQ(n.quantile_edges(n.quantile_edges_size() - 1), 1000);
  EXPECT_EQ(Sum(n.quantile_counts()), 1000u);
  EXPECT_EQ(n.quantile_counts(n.quantile_counts_size() - 1), 0u);
  ASSERT_EQ(n.quantile_point_counts_size(), n.quantile_edges_size());
  for (uint64_t p : n.quantile_point_counts()) EXPECT_EQ(p, 1u);
  ASSERT_EQ(n.quantile_bin_excess_size(), n.quantile_counts_size());
  // Every histogram edge is in the summary.
  for (double e : n.edges()) {
    EXPECT_NE(
        std::find(n.quantile_edges().begin(), n.quantile_edges().end(), e),
        n.quantile_edges().end());
  }
}

TEST(BuildNumericProfile, PointMassesAndBinExcess) {
  std::vector<double> v = {0, 0, 0, 0, 1, 1.5, 2};
  v1::NumericProfile n;
  BuildOptions options;
  options.quantiles = 2;
  options.bins = 1;
  BuildNumericProfile(&v, options, &n);
  // Ranks 0, 3, 6 (halves), tails floor(6k/20), 6 - floor(6k/20): 0..2, 4..6
  EXPECT_EQ(
      std::vector<double>(n.quantile_edges().begin(), n.quantile_edges().end()),
      (std::vector<double>{0, 1, 1.5, 2}));
  EXPECT_EQ(std::vector<uint64_t>(n.quantile_point_counts().begin(),
                                  n.quantile_point_counts().end()),
            (std::vector<uint64_t>{4, 1, 1, 1}));
  // (0, 1]: 1 -> 0; (1, 1.5]: 0; (1.5, 2]: 0; and (-inf, 0]: 0.
  EXPECT_EQ(std::vector<double>(n.quantile_bin_excess().begin(),
                                n.quantile_bin_excess().end()),
            (std::vector<double>{0, 0, 0, 0, 0}));
}

TEST(FieldAccumulator, DecidesTheKind) {
  FieldAccumulator numbers;
  numbers.AddPresent();
  numbers.AddNumber(1);
  numbers.AddPresent();
  numbers.AddNumber(NAN);
  numbers.AddPresent();
  numbers.AddString("n/a");
  numbers.AddNull();
  FieldProfile f = numbers.Finish("x", 5, BuildOptions{});
  EXPECT_EQ(f.kind(), FieldProfile::NUMERIC);
  EXPECT_EQ(f.count(), 5u);
  EXPECT_EQ(f.missing(), 2u);  // the null and the record without the field
  EXPECT_EQ(f.nonfinite(), 1u);
  EXPECT_EQ(f.wrong_type(), 1u);
  EXPECT_EQ(f.numeric().count(), 1u);

  FieldAccumulator categories;
  for (int i = 0; i < 30; ++i) categories.AddString(i % 3 ? "a" : "b");
  categories.AddBool(true);
  f = categories.Finish("c", 31, BuildOptions{});
  EXPECT_EQ(f.kind(), FieldProfile::CATEGORICAL);
  ASSERT_EQ(f.categorical().categories_size(), 3);
  EXPECT_EQ(f.categorical().categories(0).value(), "a");
  EXPECT_EQ(f.categorical().categories(0).count(), 20u);
  EXPECT_EQ(f.categorical().categories(2).value(), "true");

  BuildOptions few;
  few.max_categories = 5;
  FieldAccumulator text;
  for (int i = 0; i < 40; ++i)
    text.AddString("query number " + std::to_string(i));
  f = text.Finish("q", 40, few);
  EXPECT_EQ(f.kind(), FieldProfile::TEXT);
  EXPECT_EQ(f.numeric().count(), 40u);  // lengths in characters
  EXPECT_EQ(f.numeric().min(), 14);
  EXPECT_EQ(f.categorical().categories_size(), 5);
  EXPECT_EQ(f.categorical().other_count(), 35u);
  EXPECT_EQ(f.categorical().other_distinct(), 35u);

  FieldAccumulator empty;
  empty.AddNull();
  f = empty.Finish("e", 3, BuildOptions{});
  EXPECT_EQ(f.kind(), FieldProfile::KIND_UNSPECIFIED);
  EXPECT_EQ(f.missing(), 3u);
  EXPECT_TRUE(ValidateProfile([&] {
                ReferenceProfile p;
                *p.add_features() = f;
                return p;
              }())
                  .ok());
}

TEST(FieldAccumulator, SampleKeepsAUniformSubset) {
  FieldAccumulator sampled(100);
  for (int i = 0; i < 10000; ++i) sampled.AddNumber(i);
  const FieldProfile f = sampled.Finish("x", 10000, BuildOptions{});
  EXPECT_EQ(f.numeric().count(), 100u);
  EXPECT_NEAR(f.numeric().mean(), 5000, 1000);
}

TEST(Csv, QuotesLineBreaksAndEmptyCells) {
  std::vector<std::vector<std::string>> rows;
  std::vector<size_t> lines;
  const std::string text =
      "a,b,c\r\n"
      "1,\"x, y\",\n"
      "\"multi\nline\",\"say \"\"hi\"\"\",3\n"
      "\n"
      "4,,\"\"\n";
  ASSERT_TRUE(ForEachCsvRow(text, [&](const std::vector<std::string>& cells,
                                      size_t line) {
                rows.push_back(cells);
                lines.push_back(line);
                return Status::Ok();
              }).ok());
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1], (std::vector<std::string>{"1", "x, y", ""}));
  EXPECT_EQ(rows[2],
            (std::vector<std::string>{"multi\nline", "say \"hi\"", "3"}));
  EXPECT_EQ(rows[3], (std::vector<std::string>{"4", "", ""}));
  EXPECT_EQ(lines, (std::vector<size_t>{1, 2, 3, 6}));
}

TEST(Csv, ErrorsNameTheLine) {
  const auto error = [](const std::string& text) {
    ReferenceProfile p;
    TrainingDataStats stats;
    return ProfileCsv(text, "t.csv", TrainingDataOptions{}, &p, &stats)
        .message();
  };
  EXPECT_EQ(error("a,b\n1,2\n3\n"),
            "line 3: 1 cells, but the header has 2 columns");
  EXPECT_EQ(error("a,b\n1,\"2\n"),
            "line 2: a quoted cell is not closed before the end of the file");
  EXPECT_EQ(error("a,b\n1,\"2\"x\n"),
            "line 2: text after the closing quote of a cell (a quote inside a "
            "quoted cell is written \"\")");
  EXPECT_EQ(error("a,a\n1,2\n"),
            "line 1: column \"a\" appears twice in the header");
  EXPECT_EQ(error(""),
            "the file is empty (a header row with the column names "
            "is required)");
}

TEST(Csv, NumericColumnsMissingCellsAndOutputs) {
  const std::string text =
      "age,country,zip,label\n"
      "30,DE,01001,cat\n"
      ",FR,10115,dog\n"
      "+4.5e1,DE,,cat\n"
      "nan,US,80331,cat\n";
  TrainingDataOptions options;
  options.model = "tabular";
  options.outputs = {"label"};
  options.kinds["zip"] = FieldProfile::CATEGORICAL;
  ReferenceProfile p;
  TrainingDataStats stats;
  ASSERT_TRUE(ProfileCsv(text, "t.csv", options, &p, &stats).ok());
  EXPECT_EQ(p.model(), "tabular");
  EXPECT_EQ(p.records(), 4u);
  ASSERT_EQ(p.features_size(), 3);
  ASSERT_EQ(p.outputs_size(), 1);
  const FieldProfile& age = p.features(0);
  EXPECT_EQ(age.kind(), FieldProfile::NUMERIC);
  EXPECT_EQ(age.missing(), 1u);
  EXPECT_EQ(age.nonfinite(), 1u);
  EXPECT_EQ(age.numeric().count(), 2u);
  EXPECT_EQ(age.numeric().max(), 45);
  EXPECT_EQ(p.features(1).kind(), FieldProfile::CATEGORICAL);
  const FieldProfile& zip = p.features(2);
  EXPECT_EQ(zip.kind(), FieldProfile::CATEGORICAL);  // forced: keeps "01001"
  EXPECT_EQ(zip.missing(), 1u);
  EXPECT_EQ(zip.categorical().categories(0).value(), "01001");
  EXPECT_EQ(p.outputs(0).name(), "label");
  EXPECT_EQ(p.outputs(0).categorical().categories(0).count(), 3u);
  EXPECT_TRUE(ValidateProfile(p).ok());

  options.outputs = {"nope"};
  EXPECT_EQ(ProfileCsv(text, "t.csv", options, &p, &stats).message(),
            "--outputs: no column \"nope\" in the header");
}

TEST(Ndjson, InputsAndOutputsOfOneModel) {
  const std::string text =
      R"({"model":"asr","inputs":{"snr":10,"lang":"de"},"outputs":{"text":"hi","conf":0.9}})"
      "\n"
      R"({"records":[{"model":"asr","inputs":{"snr":null,"tags":[1,2]},"outputs":{"text":"","conf":0.5}}]})"
      "\n"
      "not json\n"
      R"({"model":"asr","inputs":{"snr":"loud"},"outputs":{"conf":[]}})"
      "\n"
      R"({"events":[{"type":"click","request_id":"r"}]})"
      "\n";
  TrainingDataOptions options;
  ReferenceProfile p;
  TrainingDataStats stats;
  ASSERT_TRUE(ProfileNdjson(text, "t.ndjson", options, &p, &stats).ok());
  EXPECT_EQ(stats.skipped, 1u);
  ASSERT_EQ(stats.warnings.size(), 1u);
  EXPECT_EQ(stats.warnings[0], "line 3: not valid JSON");
  EXPECT_EQ(p.model(), "asr");
  EXPECT_EQ(p.records(), 3u);
  ASSERT_EQ(p.features_size(), 3);  // snr, lang, tags
  const FieldProfile& snr = p.features(0);
  EXPECT_EQ(snr.name(), "snr");
  EXPECT_EQ(snr.kind(), FieldProfile::NUMERIC);
  EXPECT_EQ(snr.missing(), 1u);
  EXPECT_EQ(snr.wrong_type(), 1u);
  EXPECT_EQ(p.features(1).missing(), 2u);          // lang: absent twice
  EXPECT_EQ(p.features(2).numeric().count(), 2u);  // list elements
  ASSERT_EQ(p.outputs_size(), 2);
  EXPECT_EQ(p.outputs(0).name(), "text");
  EXPECT_EQ(p.outputs(0).missing(), 1u);  // absent from the third record
  EXPECT_EQ(p.outputs(0).categorical().count(), 2u);  // "" is a value
  EXPECT_EQ(p.outputs(1).missing(), 1u);              // the empty list
}

TEST(Ndjson, SeveralModelsNeedModel) {
  const std::string text =
      "{\"model\":\"a\",\"inputs\":{\"x\":1}}\n"
      "{\"model\":\"b\",\"inputs\":{\"y\":2}}\n";
  TrainingDataOptions options;
  ReferenceProfile p;
  TrainingDataStats stats;
  EXPECT_EQ(ProfileNdjson(text, "t", options, &p, &stats).message(),
            "the file has records of several models (a, b); choose one with "
            "--model");
  options.model = "b";
  ASSERT_TRUE(ProfileNdjson(text, "t", options, &p, &stats).ok());
  ASSERT_EQ(p.features_size(), 1);
  EXPECT_EQ(p.features(0).name(), "y");
  options.model = "c";
  EXPECT_EQ(ProfileNdjson(text, "t", options, &p, &stats).message(),
            "no record of model \"c\" in the file");
}

TEST(ValidateProfile, InconsistentCountsAreNamed) {
  ReferenceProfile p;
  FieldProfile* f = p.add_features();
  f->set_name("x");
  f->set_kind(FieldProfile::NUMERIC);
  std::vector<double> v = {1, 2, 3};
  BuildNumericProfile(&v, BuildOptions{}, f->mutable_numeric());
  ASSERT_TRUE(ValidateProfile(p).ok());
  f->mutable_numeric()->set_counts(0, 5);
  EXPECT_NE(ValidateProfile(p).message().find(
                "features[0] \"x\": numeric.counts sum to 7, not "
                "numeric.count 3"),
            std::string::npos)
      << ValidateProfile(p).message();
  f->mutable_numeric()->set_counts(0, 1);
  *p.add_features() = *f;
  EXPECT_EQ(ValidateProfile(p).message(), "features[1] \"x\" is listed twice");
  p.clear_features();
  FieldProfile* c = p.add_outputs();
  c->set_name("c");
  c->set_kind(FieldProfile::CATEGORICAL);
  c->mutable_categorical()->set_count(3);
  c->mutable_categorical()->add_categories()->set_value("a");
  c->mutable_categorical()->add_categories()->set_value("a");
  EXPECT_EQ(ValidateProfile(p).message(),
            "outputs[0] \"c\": category \"a\" is listed twice");
}

}  // namespace
}  // namespace ml_exporter::profile

// --- the configuration file: models[].reference and drift params -----------

namespace ml_exporter::profile {
namespace {

const std::vector<std::string> kKnown = {"drift", "inputs", "outputs",
                                         "software"};

class ReferenceConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/ml_exporter_profile_cfg_XXXXXX";
    dir_ = mkdtemp(t);
    ReferenceProfile p;
    FieldAccumulator acc;
    acc.AddNumber(1);
    *p.add_features() = acc.Finish("x", 1, BuildOptions{});
    std::ofstream(dir_ + "/churn.profile") << p.SerializeAsString();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Status Load(const std::string& yaml, config::LoadedConfig* loaded,
              const PipelineOptions& base = {}) {
    return config::LoadConfigText(yaml, dir_ + "/c.yaml", base, kKnown, loaded);
  }

  std::string dir_;
};

TEST_F(ReferenceConfig, PathsAreRelativeToTheFileAndComeFirst) {
  PipelineOptions base;
  base.references = {{"churn", "", "", "/from/flag.profile"}};
  config::LoadedConfig loaded;
  ASSERT_TRUE(Load("models:\n"
                   "  - model: churn\n"
                   "    stage: main\n"
                   "    reference: churn.profile\n",
                   &loaded, base)
                  .ok());
  ASSERT_EQ(loaded.options.references.size(), 2u);
  EXPECT_EQ(loaded.options.references[0],
            (ReferenceSpec{"churn", "", "main", dir_ + "/churn.profile"}));
  EXPECT_EQ(loaded.options.references[1].path, "/from/flag.profile");
}

TEST_F(ReferenceConfig, ErrorsHaveTheirPosition) {
  config::LoadedConfig loaded;
  Status s = Load(
      "models:\n"
      "  - model: churn\n"
      "    reference: nope.profile\n",
      &loaded);
  EXPECT_EQ(s.message(),
            dir_ + "/c.yaml:3:16: cannot read reference profile \"" + dir_ +
                "/nope.profile\": No such file or directory");
  s = Load(
      "default_collectors:\n"
      "  - name: drift\n"
      "    params: {window_seconds: 0}\n",
      &loaded);
  EXPECT_EQ(s.message(), dir_ +
                             "/c.yaml:3:13: drift param \"window_seconds\" "
                             "must be a number > 0");
  s = Load(
      "default_collectors:\n"
      "  - name: drift\n"
      "    params: {methods: [psi, kl]}\n",
      &loaded);
  EXPECT_NE(s.message().find("c.yaml:3:13: unknown drift method \"kl\"; known: "
                             "psi, jensen_shannon, ks, wasserstein, "
                             "wasserstein_normalized, chi2_p_value"),
            std::string::npos)
      << s.message();
  EXPECT_TRUE(Load("default_collectors:\n"
                   "  - name: drift\n"
                   "    params: {window_seconds: 600, min_count: 200, "
                   "baseline: true, methods: [psi, ks]}\n",
                   &loaded)
                  .ok());
}

}  // namespace
}  // namespace ml_exporter::profile
