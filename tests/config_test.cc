// The configuration file: conversion, every error with its position, and
// the options it produces.
#include <gtest/gtest.h>

#include "config/config_loader.h"
#include "config/yaml_to_proto.h"

namespace ml_exporter::config {
namespace {

const std::vector<std::string> kKnown = {"inputs", "outputs", "software"};

std::string Errors(const std::string& yaml) {
  LoadedConfig loaded;
  Status s = LoadConfigText(yaml, "c.yaml", PipelineOptions{}, kKnown, &loaded);
  return s.ok() ? "OK" : s.message();
}

TEST(ConfigTest, EmptyFileIsValidAndChangesNothing) {
  LoadedConfig loaded;
  PipelineOptions base;
  base.max_features = 7;
  ASSERT_TRUE(LoadConfigText("", "c.yaml", base, kKnown, &loaded).ok());
  EXPECT_EQ(loaded.options.max_features, 7u);
  EXPECT_TRUE(loaded.options.routes.empty());
  EXPECT_FALSE(loaded.options.default_collectors.has_value());
}

TEST(ConfigTest, UnknownKeyWithDidYouMean) {
  EXPECT_EQ(Errors("global:\n  listen_adress: x:1\n"),
            "c.yaml:2:3: unknown key \"listen_adress\" in \"global\"; did you "
            "mean \"listen_address\"?");
}

TEST(ConfigTest, UnknownKeyListsValidKeys) {
  EXPECT_EQ(Errors("zzz: 1\n"),
            "c.yaml:1:1: unknown key \"zzz\" in the top level; valid keys: "
            "global, plugins, default_collectors, models");
}

TEST(ConfigTest, WrongTypes) {
  EXPECT_EQ(Errors("global:\n  limits:\n    max_features: many\n"),
            "c.yaml:3:19: expected a non-negative integer for "
            "\"global.limits.max_features\", got \"many\"");
  EXPECT_EQ(Errors("global: 3\n"),
            "c.yaml:1:9: expected a mapping for \"global\", got \"3\"");
  EXPECT_EQ(Errors("models: {model: a}\n"),
            "c.yaml:1:9: expected a list for \"models\", got a mapping");
  EXPECT_EQ(Errors("global:\n  histograms:\n    warmup_seconds: soon\n"),
            "c.yaml:3:21: expected a number for "
            "\"global.histograms.warmup_seconds\", got \"soon\"");
  EXPECT_EQ(Errors("global:\n  limits:\n    max_features: -3\n"),
            "c.yaml:3:19: \"global.limits.max_features\" is -3, out of range "
            "for a non-negative integer");
}

TEST(ConfigTest, ValuesOutOfRange) {
  EXPECT_EQ(
      Errors("global:\n  limits:\n    max_models: 0\n"),
      "c.yaml:3:17: \"global.limits.max_models\" is 0, must be at least 1");
  EXPECT_EQ(Errors("global:\n  histograms:\n    buckets: 101\n"),
            "c.yaml:3:14: \"global.histograms.buckets\" is 101, must be at "
            "most 100");
}

TEST(ConfigTest, ByteSizesWithUnits) {
  LoadedConfig loaded;
  ASSERT_TRUE(LoadConfigText("global:\n  max_body_bytes: 2MiB\n", "c.yaml", {},
                             kKnown, &loaded)
                  .ok());
  EXPECT_EQ(loaded.max_body_bytes, 2u * 1024 * 1024);
  EXPECT_EQ(Errors("global:\n  max_body_bytes: 2 lots\n"),
            "c.yaml:2:19: expected a non-negative integer or byte size (e.g. "
            "16MiB) for \"global.max_body_bytes\", got \"2 lots\"");
}

TEST(ConfigTest, UnknownCollectorListsKnownOnes) {
  EXPECT_EQ(Errors("models:\n  - model: a\n    collectors:\n      - name: "
                   "outptus\n"),
            "c.yaml:4:15: unknown collector \"outptus\" (did you mean "
            "\"outputs\"?); known collectors: inputs, outputs, software");
  EXPECT_EQ(Errors("default_collectors:\n  - name: gpu\n"),
            "c.yaml:2:11: unknown collector \"gpu\"; known collectors: "
            "inputs, outputs, software");
}

TEST(ConfigTest, MissingRequiredKeys) {
  EXPECT_EQ(Errors("models:\n  - stage: s\n"),
            "c.yaml:2:5: missing required key \"model\" in \"models[0]\"");
  EXPECT_EQ(Errors("plugins:\n  - {}\n"),
            "c.yaml:2:5: missing required key \"path\" in \"plugins[0]\"");
}

TEST(ConfigTest, CollectorChecks) {
  EXPECT_EQ(Errors("models:\n  - model: a\n    collectors:\n      - name: "
                   "inputs\n      - name: inputs\n"),
            "c.yaml:5:15: collector \"inputs\" is listed twice; give it once "
            "with all its settings");
  EXPECT_EQ(Errors("default_collectors:\n  - name: inputs\n    buckets:\n      "
                   "age: [3, 2]\n"),
            "c.yaml:4:16: bucket edges must be strictly increasing (3 then 2)");
  EXPECT_EQ(Errors("default_collectors:\n  - name: inputs\n    limits:\n      "
                   "max_models: 3\n"),
            "c.yaml:4:7: max_models and max_label_length can only be set in "
            "global.limits");
}

TEST(ConfigTest, ThresholdChecks) {
  const std::string head = "models:\n  - model: a\n    thresholds:\n";
  EXPECT_EQ(
      Errors(head + "      - {metric: missing_ratoi, feature: x, upper: 1}\n"),
      "c.yaml:4:18: unknown threshold metric \"missing_ratoi\"; did you "
      "mean \"missing_ratio\"?");
  EXPECT_EQ(Errors(head + "      - {metric: missing_ratio, upper: 1}\n"),
            "c.yaml:4:9: threshold \"missing_ratio\" needs \"feature\" (the "
            "feature or output it is for)");
  EXPECT_EQ(
      Errors(head + "      - {metric: error_ratio, feature: x, upper: 1}\n"),
      "c.yaml:4:40: threshold \"error_ratio\" is model-wide; remove "
      "\"feature\"");
  EXPECT_EQ(Errors(head + "      - {metric: error_ratio}\n"),
            "c.yaml:4:9: a threshold needs \"upper\", \"lower\" or both");
  EXPECT_EQ(
      Errors(head + "      - {metric: error_ratio, upper: 0.1, lower: 0.5}\n"),
      "c.yaml:4:50: lower (0.5) is above upper (0.1)");
}

TEST(ConfigTest, ListenAddressAndPluginPath) {
  EXPECT_EQ(Errors("global:\n  listen_address: localhost\n"),
            "c.yaml:2:19: listen_address \"localhost\" is not host:port (e.g. "
            "127.0.0.1:9710)");
  EXPECT_EQ(Errors("plugins:\n  - path: /no/such/plugin.so\n"),
            "c.yaml:2:11: plugin file \"/no/such/plugin.so\" does not exist");
}

TEST(ConfigTest, InvalidYamlHasAPosition) {
  EXPECT_EQ(Errors("global:\n  limits: [1, 2\n"),
            "c.yaml:3:1: invalid YAML: end of sequence flow not found");
}

TEST(ConfigTest, AllErrorsInFileOrder) {
  const std::string errors = Errors(
      "global:\n  limits:\n    max_models: 0\n  latency_buckets: [2, 1]\n"
      "zzz: 1\n");
  EXPECT_EQ(
      errors,
      "c.yaml:3:17: \"global.limits.max_models\" is 0, must be at least 1\n"
      "c.yaml:4:24: bucket edges must be strictly increasing (2 then 1)\n"
      "c.yaml:5:1: unknown key \"zzz\" in the top level; valid keys: "
      "global, plugins, default_collectors, models");
}

TEST(ConfigTest, ProducesOptions) {
  LoadedConfig loaded;
  const std::string yaml = R"(
global:
  listen_address: 127.0.0.1:9999
  limits: {max_features: 10, max_label_values: 5}
  histograms: {warmup_values: 20, warmup_seconds: 5, buckets: 4}
  latency_buckets: [0.1, 0.5]
default_collectors:
  - name: software
models:
  - model: asr-*
    stage: decoder
    collectors:
      - name: inputs
        include: [a, b]
        exclude: [c]
        buckets: {a: [1, 2, 3]}
        limits: {max_label_values: 9}
        histograms: {warmup_values: 7}
        params: {words: [x, "y"], n: 3, on: true, quoted: "3"}
    thresholds:
      - {metric: missing_ratio, feature: a, upper: 0.2}
      - {metric: records_per_second, lower: 1}
  - model: vision
)";
  ASSERT_TRUE(
      LoadConfigText(yaml, "/etc/mlx/c.yaml", {}, kKnown, &loaded).ok());
  const PipelineOptions& o = loaded.options;
  EXPECT_EQ(loaded.listen_address, "127.0.0.1:9999");
  EXPECT_EQ(o.max_features, 10u);
  EXPECT_EQ(o.max_label_values, 5u);
  EXPECT_EQ(o.histogram_warmup_values, 20u);
  EXPECT_EQ(o.histogram_warmup_seconds, 5);
  EXPECT_EQ(o.histogram_quantile_buckets, 4u);
  EXPECT_EQ(o.latency_buckets, (std::vector<double>{0.1, 0.5}));
  ASSERT_TRUE(o.default_collectors.has_value());
  ASSERT_EQ(o.default_collectors->size(), 1u);
  EXPECT_EQ((*o.default_collectors)[0].name, "software");
  ASSERT_EQ(o.routes.size(), 2u);
  const ModelRoute& r = o.routes[0];
  EXPECT_EQ(r.model, "asr-*");
  EXPECT_EQ(r.stage, "decoder");
  EXPECT_EQ(r.version, "");
  ASSERT_TRUE(r.collectors.has_value());
  const CollectorSpec& c = (*r.collectors)[0];
  EXPECT_EQ(c.name, "inputs");
  EXPECT_EQ(c.include, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.exclude, (std::vector<std::string>{"c"}));
  EXPECT_EQ(c.buckets.at("a"), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(c.max_label_values, 9u);
  EXPECT_EQ(c.histogram_warmup_values, 7u);
  google::protobuf::Struct params;
  ASSERT_TRUE(params.ParseFromString(c.params));
  EXPECT_EQ(params.fields().at("n").number_value(), 3);
  EXPECT_EQ(params.fields().at("on").bool_value(), true);
  EXPECT_EQ(params.fields().at("quoted").string_value(), "3");
  EXPECT_EQ(params.fields().at("words").list_value().values(1).string_value(),
            "y");
  ASSERT_EQ(r.thresholds.size(), 2u);
  EXPECT_EQ(r.thresholds[0].metric, "missing_ratio");
  EXPECT_EQ(r.thresholds[0].upper, 0.2);
  EXPECT_FALSE(r.thresholds[0].lower.has_value());
  EXPECT_EQ(r.thresholds[1].lower, 1);
  EXPECT_FALSE(o.routes[1].collectors.has_value());
}

TEST(ConfigTest, PluginPathsResolveAgainstTheConfigDirectory) {
  LoadedConfig loaded;
  // A path that exists relative to /, the file's directory. It is not a
  // shared library, so loading it fails, naming the resolved path at the
  // entry's position.
  Status s = LoadConfigText("plugins:\n  - path: etc/hostname\n", "/c.yaml", {},
                            kKnown, &loaded);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("/c.yaml:2:11: ", 0), 0u) << s.message();
  EXPECT_NE(s.message().find("plugin /etc/hostname"), std::string::npos)
      << s.message();
  s = LoadConfigText("plugins:\n  - path: no/such.so\n", "/c.yaml", {}, kKnown,
                     &loaded);
  EXPECT_EQ(s.message(),
            "/c.yaml:2:11: plugin file \"no/such.so\" does not exist");
}

TEST(DidYouMeanTest, Distances) {
  EXPECT_EQ(DidYouMean("listn_address", {"listen_address", "limits"}),
            "listen_address");
  EXPECT_EQ(DidYouMean("xyz", {"listen_address", "limits"}), "");
}

}  // namespace
}  // namespace ml_exporter::config
