// The bytes that cross the plugin boundary: what the host writes parses
// with the plugin side's messages and the v1 schema, and what the SDK writes
// parses with the host's; and the host's checks of plugin metrics.
#include <google/protobuf/struct.pb.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/plugin_families.h"
#include "core/plugin_wire_encoder.h"
#include "exporter/record_decoder.h"
#include "ml_exporter.pb.h"
#include "ml_exporter/plugin_sdk.h"
#include "ml_exporter/record_builder.h"
#include "plugin_host.pb.h"
#include "plugin_wire.pb.h"

namespace ml_exporter {
namespace {

namespace wire = plugin::v1;
namespace host = pluginhost::v1;
using internal::ConvertPluginFamilies;
using internal::DecodeBase64;
using internal::EncodeEventForPlugin;
using internal::EncodeRecordForPlugin;

Record FullRecord(RecordBuilder* b) {
  b->Model("asr", "v3", "decoder")
      .RequestId("r-1")
      .SessionId("s-1")
      .Time(1700000000.25)
      .Latency(0.5)
      .Error()
      .Input("age", 41.0)
      .Input("country", "DE")
      .InputBool("consent", false)
      .MissingInput("income")
      .InputList("embedding", {1, -2.5, 3})
      .Output("transcript", "wetter in berlin \xC3\xBC")
      .Output("score", 0.0)
      .Blob("audio", std::string("\0\1\2", 3));
  return b->record();
}

std::string Describe(const FieldValue& v,
                     const std::vector<FieldValue>& items) {
  switch (v.kind) {
    case FieldValue::Kind::kNull:
      return "null";
    case FieldValue::Kind::kNumber: {
      std::ostringstream s;
      s << v.number;
      return s.str();
    }
    case FieldValue::Kind::kString:
      return "'" + std::string(v.text) + "'";
    case FieldValue::Kind::kBool:
      return v.boolean ? "true" : "false";
    case FieldValue::Kind::kList: {
      std::string out = "[";
      for (uint32_t i = 0; i < v.list_size; ++i) {
        out += (i ? "," : "") + Describe(items[v.list_begin + i], items);
      }
      return out + "]";
    }
  }
  return "?";
}

// Everything in a record view, in a comparable form (fields sorted: a
// Struct is a map, its order is not part of the contract).
std::string Describe(const Record& r) {
  std::ostringstream s;
  s << r.model << "|" << r.version << "|" << r.stage << "|" << r.request_id
    << "|" << r.session_id << "|" << std::fixed << r.time_seconds << "|"
    << r.latency_seconds << "|" << r.error;
  for (const auto* fields : {&r.inputs, &r.outputs}) {
    std::vector<std::string> parts;
    for (const Field& f : *fields) {
      parts.push_back(std::string(f.name) + "=" +
                      Describe(f.value, r.list_items));
    }
    std::sort(parts.begin(), parts.end());
    s << "|";
    for (const auto& p : parts) s << p << ";";
  }
  for (const Blob& b : r.blobs) {
    s << "|" << b.name << ":" << b.data.size() << ":" << b.base64;
  }
  return s.str();
}

TEST(PluginWireTest, RecordBytesParseAsV1RecordAndDecodeToTheSameView) {
  RecordBuilder b;
  const Record& record = FullRecord(&b);
  std::string bytes, scratch;
  EncodeRecordForPlugin(record, &bytes, &scratch);

  v1::Record message;
  ASSERT_TRUE(message.ParseFromString(bytes));
  EXPECT_EQ(message.time().seconds(), 1700000000);
  EXPECT_EQ(message.time().nanos(), 250000000);
  EXPECT_TRUE(message.has_latency_seconds());
  EXPECT_EQ(message.inputs().fields().at("income").kind_case(),
            google::protobuf::Value::kNullValue);
  EXPECT_EQ(message.blobs().at("audio"), std::string("\0\1\2", 3));

  Record decoded;
  internal::DecodeError error;
  ASSERT_TRUE(internal::DecodeProtoRecord(message, &decoded, &error))
      << error.message;
  EXPECT_EQ(Describe(decoded), Describe(record));
  EXPECT_EQ(Describe(record),
            "asr|v3|decoder|r-1|s-1|1700000000.250000|0.500000|1"
            "|age=41;consent=false;country='DE';embedding=[1,-2.5,3];"
            "income=null;|score=0;transcript='wetter in berlin \xC3\xBC';"
            "|audio:3:0");
}

TEST(PluginWireTest, RecordBytesParseWithThePluginSideMessages) {
  RecordBuilder b;
  const Record& record = FullRecord(&b);
  std::string bytes, scratch;
  EncodeRecordForPlugin(record, &bytes, &scratch);

  // The generated plugin-side message parses them...
  wire::Record message;
  ASSERT_TRUE(message.ParseFromString(bytes));
  EXPECT_EQ(message.model(), "asr");
  EXPECT_EQ(message.inputs().fields_size(), 5);
  EXPECT_EQ(message.blobs(0).value(), std::string("\0\1\2", 3));
  // ...and so does the SDK's reader, into the same view.
  Record view;
  ASSERT_TRUE(plugin::sdk_internal::ReadRecord(bytes, &view));
  EXPECT_EQ(Describe(view), Describe(record));
  ASSERT_EQ(view.inputs.size(), 5u);  // in wire order
  EXPECT_EQ(view.inputs[0].name, "age");
  EXPECT_EQ(view.inputs[4].name, "embedding");
  // The views point into the bytes: nothing was copied.
  EXPECT_GE(view.model.data(), bytes.data());
  EXPECT_LT(view.model.data(), bytes.data() + bytes.size());
}

TEST(PluginWireTest, TheSdkReaderSkipsUnknownFieldsAndRejectsTruncatedBytes) {
  wire::Record message;
  message.set_model("m");
  message.set_latency_seconds(0.5);
  auto* field = message.mutable_outputs()->add_fields();
  field->set_key("label");
  field->mutable_value()->set_string_value("cat");
  std::string bytes = message.SerializeAsString();
  // A field a newer host might add: number 15, varint and bytes.
  bytes += std::string("\x78\x05\x7a\x03xyz", 7);
  Record view;
  ASSERT_TRUE(plugin::sdk_internal::ReadRecord(bytes, &view));
  EXPECT_EQ(view.model, "m");
  EXPECT_EQ(view.latency_seconds, 0.5);
  ASSERT_EQ(view.outputs.size(), 1u);
  EXPECT_EQ(view.outputs[0].value.text, "cat");

  // A length past the end, a varint that never ends, a bad wire type.
  EXPECT_FALSE(plugin::sdk_internal::ReadRecord(
      std::string_view(bytes).substr(0, bytes.size() - 1), &view));
  EXPECT_FALSE(plugin::sdk_internal::ReadRecord(
      std::string("\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11), &view));
  EXPECT_FALSE(
      plugin::sdk_internal::ReadRecord(std::string("\x0f\x00", 2), &view));
}

TEST(PluginWireTest, AbsentValuesStayAbsentAndZerosStayZero) {
  RecordBuilder b;
  b.Model("m").Latency(0);
  std::string bytes, scratch;
  EncodeRecordForPlugin(b.record(), &bytes, &scratch);
  wire::Record message;
  ASSERT_TRUE(message.ParseFromString(bytes));
  EXPECT_FALSE(message.has_time());
  EXPECT_TRUE(message.has_latency_seconds());
  EXPECT_EQ(message.latency_seconds(), 0);
  Record view;
  ASSERT_TRUE(plugin::sdk_internal::ReadRecord(bytes, &view));
  EXPECT_TRUE(std::isnan(view.time_seconds));
  EXPECT_EQ(view.latency_seconds, 0);
  EXPECT_EQ(view.version, "");

  b.Reset();
  b.Model("m").Time(-1.5);  // before the epoch: seconds -2, nanos 5e8
  EncodeRecordForPlugin(b.record(), &bytes, &scratch);
  ASSERT_TRUE(message.ParseFromString(bytes));
  EXPECT_EQ(message.time().seconds(), -2);
  EXPECT_EQ(message.time().nanos(), 500000000);
  EXPECT_FALSE(message.has_latency_seconds());
  ASSERT_TRUE(plugin::sdk_internal::ReadRecord(bytes, &view));
  EXPECT_EQ(view.time_seconds, -1.5);
}

TEST(PluginWireTest, Base64BlobsAreDecodedAndInvalidOnesLeftOut) {
  Record record;
  record.model = "m";
  record.blobs.push_back(Blob{"good", "AAEC", true});
  record.blobs.push_back(Blob{"bad", "A$==", true});
  record.blobs.push_back(Blob{"raw", "xyz", false});
  std::string bytes, scratch;
  EncodeRecordForPlugin(record, &bytes, &scratch);
  v1::Record message;
  ASSERT_TRUE(message.ParseFromString(bytes));
  EXPECT_EQ(message.blobs().size(), 2u);
  EXPECT_EQ(message.blobs().at("good"), std::string("\0\1\2", 3));
  EXPECT_EQ(message.blobs().at("raw"), "xyz");

  std::string out;
  EXPECT_TRUE(DecodeBase64("aGVsbG8=", &out));
  EXPECT_EQ(out, "hello");
  EXPECT_TRUE(DecodeBase64("aGVsbG8", &out));
  EXPECT_EQ(out, "hello");
  EXPECT_TRUE(DecodeBase64("-_8", &out));  // URL-safe alphabet
  EXPECT_EQ(out, "\xFB\xFF");
  EXPECT_TRUE(DecodeBase64("", &out));
  EXPECT_EQ(out, "");
  EXPECT_FALSE(DecodeBase64("A", &out));
  EXPECT_FALSE(DecodeBase64("aGVs bG8=", &out));
}

TEST(PluginWireTest, EventBytesParseOnBothSides) {
  Event event;
  event.type = "label";
  event.model = "churn";
  event.request_id = "r-9";
  event.time_seconds = 12.5;
  event.list_items = {FieldValue::String("a"), FieldValue::Number(2)};
  event.value.kind = FieldValue::Kind::kList;
  event.value.list_size = 2;
  std::string bytes;
  EncodeEventForPlugin(event, &bytes);

  v1::Event message;
  ASSERT_TRUE(message.ParseFromString(bytes));
  Event decoded;
  internal::DecodeError error;
  ASSERT_TRUE(internal::DecodeProtoEvent(message, &decoded, &error));
  EXPECT_EQ(decoded.type, "label");
  EXPECT_EQ(Describe(decoded.value, decoded.list_items), "['a',2]");

  wire::Event plugin_message;
  ASSERT_TRUE(plugin_message.ParseFromString(bytes));
  EXPECT_EQ(plugin_message.value().list_value().values_size(), 2);
  Event view;
  ASSERT_TRUE(plugin::sdk_internal::ReadEvent(bytes, &view));
  EXPECT_EQ(view.type, "label");
  EXPECT_EQ(view.model, "churn");
  EXPECT_EQ(view.request_id, "r-9");
  EXPECT_EQ(view.time_seconds, 12.5);
  EXPECT_EQ(Describe(view.value, view.list_items), "['a',2]");

  event.value = FieldValue::Null();  // no payload: nothing written
  EncodeEventForPlugin(event, &bytes);
  ASSERT_TRUE(plugin_message.ParseFromString(bytes));
  EXPECT_FALSE(plugin_message.has_value());
}

std::string Render(const std::vector<prometheus::MetricFamily>& families) {
  return prometheus::TextSerializer().Serialize(families);
}

TEST(PluginWireTest, MetricFamiliesFromTheSdkParseOnTheHostUnchanged) {
  std::vector<prometheus::MetricFamily> families;
  auto counter =
      NewFamily("ml_c_total", "A counter.", prometheus::MetricType::Counter);
  AddCounter(&counter, {{"model", "m"}, {"output", "\xC3\xBC"}}, 3);
  AddCounter(&counter, {{"model", "n"}, {"output", "x"}}, 0.5);
  families.push_back(counter);
  auto gauge = NewFamily("ml_g", "A gauge.", prometheus::MetricType::Gauge);
  AddGauge(&gauge, {}, -1.25);
  gauge.metric[0].timestamp_ms = 1234;
  families.push_back(gauge);
  auto histogram = NewFamily("ml_h_seconds", "A histogram.",
                             prometheus::MetricType::Histogram);
  AddHistogram(&histogram, {{"model", "m"}}, {0.1, 1}, {1, 2, 3}, 7.5);
  families.push_back(histogram);
  auto summary =
      NewFamily("ml_s", "A summary.", prometheus::MetricType::Summary);
  prometheus::ClientMetric s;
  s.summary.sample_count = 4;
  s.summary.sample_sum = 2;
  s.summary.quantile = {{0.5, 0.25}, {0.99, 1}};
  summary.metric.push_back(s);
  families.push_back(summary);
  auto untyped = NewFamily("ml_u", "", prometheus::MetricType::Untyped);
  prometheus::ClientMetric u;
  u.untyped.value = 42;
  untyped.metric.push_back(u);
  families.push_back(untyped);

  wire::MetricFamilies out;
  for (const auto& f : families) {
    plugin::sdk_internal::ToWireFamily(f, out.add_families());
  }
  out.mutable_overflow()->set_outputs(3);
  host::MetricFamilies in;
  ASSERT_TRUE(in.ParseFromString(out.SerializeAsString()));
  EXPECT_EQ(in.overflow().outputs(), 3u);
  std::unordered_set<std::string> taken;
  std::vector<prometheus::MetricFamily> converted;
  auto result = ConvertPluginFamilies(in, &taken, &converted);
  EXPECT_EQ(result.accepted, 5u);
  EXPECT_EQ(result.dropped, 0u);
  EXPECT_EQ(Render(converted), Render(families));
  EXPECT_EQ(taken.size(), 5u);
}

TEST(PluginWireTest, CollectorConfigFromTheHostFillsTheOptions) {
  host::CollectorConfig config;
  config.add_include("a");
  config.add_exclude("b");
  google::protobuf::Struct params;
  (*params.mutable_fields())["words"]
      .mutable_list_value()
      ->add_values()
      ->set_string_value("x");
  config.set_params(params.SerializeAsString());
  config.set_max_models(7);
  config.set_max_label_values(9);
  config.set_histogram_warmup_seconds(0);
  auto* edges = config.add_explicit_buckets();
  edges->set_name("score");
  edges->add_edges(0.5);
  config.add_latency_buckets(1);

  wire::CollectorConfig c;
  ASSERT_TRUE(c.ParseFromString(config.SerializeAsString()));
  PipelineOptions o;
  plugin::sdk_internal::FillOptions(c, &o);
  EXPECT_EQ(o.max_models, 7u);
  EXPECT_EQ(o.max_label_values, 9u);
  EXPECT_EQ(o.max_features, PipelineOptions().max_features);  // unset: default
  EXPECT_EQ(o.histogram_warmup_seconds, 0);
  EXPECT_EQ(o.explicit_buckets.at("score"), std::vector<double>{0.5});
  EXPECT_EQ(o.latency_buckets, std::vector<double>{1});

  // The params bytes pass through unchanged, for CollectorParams.
  std::unique_ptr<CollectorParams> p;
  ASSERT_TRUE(CollectorParams::Parse(c.params(), {"words"}, &p).ok());
  EXPECT_EQ(p->StringList("words", {}), std::vector<std::string>{"x"});
}

TEST(PluginFamiliesTest, NameRules) {
  using internal::IsValidLabelName;
  using internal::IsValidMetricName;
  EXPECT_TRUE(IsValidMetricName("ml_ok_total"));
  EXPECT_TRUE(IsValidMetricName("a:b_c9"));
  EXPECT_TRUE(IsValidMetricName("_x"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("9x"));
  EXPECT_FALSE(IsValidMetricName("a-b"));
  EXPECT_FALSE(IsValidMetricName("a b"));
  EXPECT_FALSE(IsValidMetricName("\xC3\xBC"));
  EXPECT_TRUE(IsValidLabelName("model"));
  EXPECT_TRUE(IsValidLabelName("_x9"));
  EXPECT_FALSE(IsValidLabelName("__name__"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("9a"));
  EXPECT_FALSE(IsValidLabelName(""));
}

host::MetricFamily* AddFamily(host::MetricFamilies* families, std::string name,
                              host::MetricType type) {
  host::MetricFamily* f = families->add_families();
  f->set_name(std::move(name));
  f->set_type(type);
  return f;
}

host::Metric* AddSeries(host::MetricFamily* f,
                        std::vector<std::pair<std::string, std::string>> labels,
                        double value = 1) {
  host::Metric* m = f->add_metrics();
  for (auto& [name, v] : labels) {
    host::Label* l = m->add_labels();
    l->set_name(name);
    l->set_value(v);
  }
  m->set_value(value);
  return m;
}

TEST(PluginFamiliesTest, InvalidFamiliesAreDroppedWholeWithTheReason) {
  host::MetricFamilies in;
  const auto kCounter = host::METRIC_TYPE_COUNTER;
  AddSeries(AddFamily(&in, "ml_good_total", kCounter),
            {{"model", "m"}, {"version", "v"}, {"stage", "s"}});
  AddSeries(AddFamily(&in, "bad name", kCounter), {});
  AddSeries(AddFamily(&in, "ml_exporter_mine", kCounter), {});
  AddSeries(AddFamily(&in, "ml_taken_total", kCounter), {});
  AddSeries(AddFamily(&in, "ml_good_total", kCounter), {});
  AddSeries(AddFamily(&in, "ml_no_type", host::METRIC_TYPE_UNSPECIFIED), {});
  AddSeries(AddFamily(&in, "ml_label_total", kCounter), {{"a.b", "x"}});
  AddSeries(AddFamily(&in, "ml_twice_total", kCounter),
            {{"a", "1"}, {"a", "2"}});
  auto* dup = AddFamily(&in, "ml_dup_total", kCounter);
  AddSeries(dup, {{"a", "1"}, {"b", "2"}});
  AddSeries(dup, {{"b", "2"}, {"a", "1"}});
  AddSeries(AddFamily(&in, "ml_negative_total", kCounter), {}, -1);
  AddSeries(AddFamily(&in, "ml_utf8", host::METRIC_TYPE_GAUGE),
            {{"a", "\xFF"}});
  auto* le = AddFamily(&in, "ml_le", host::METRIC_TYPE_HISTOGRAM);
  AddSeries(le, {{"le", "1"}});
  auto* no_inf = AddFamily(&in, "ml_no_inf", host::METRIC_TYPE_HISTOGRAM);
  auto* m = AddSeries(no_inf, {});
  auto* bucket = m->add_buckets();
  bucket->set_upper_bound(1);
  bucket->set_cumulative_count(1);
  m->set_sample_count(1);
  auto* count = AddFamily(&in, "ml_count", host::METRIC_TYPE_HISTOGRAM);
  m = AddSeries(count, {});
  bucket = m->add_buckets();
  bucket->set_upper_bound(INFINITY);
  bucket->set_cumulative_count(2);
  m->set_sample_count(3);
  AddFamily(&in, "ml_empty", host::METRIC_TYPE_GAUGE);  // valid, not exported

  std::unordered_set<std::string> taken = {"ml_taken_total"};
  std::vector<prometheus::MetricFamily> out;
  auto result = ConvertPluginFamilies(in, &taken, &out);
  EXPECT_EQ(result.accepted, 2u);
  EXPECT_EQ(result.dropped, 13u);
  std::vector<std::string> expected = {
      "metric family \"bad name\": invalid metric name",
      "metric family \"ml_exporter_mine\": names starting with "
      "\"ml_exporter_\" are reserved for the exporter's own metrics",
      "metric family \"ml_taken_total\": already exported by another "
      "collector or earlier in this output",
      "metric family \"ml_good_total\": already exported by another collector "
      "or earlier in this output",
      "metric family \"ml_no_type\": unknown metric type 0",
      "metric family \"ml_label_total\": series 0: invalid label name \"a.b\"",
      "metric family \"ml_twice_total\": series 0: label \"a\" appears twice "
      "in a series",
      "metric family \"ml_dup_total\": series 1 repeats the label set of an "
      "earlier series",
      "metric family \"ml_negative_total\": series 0: counter value is "
      "negative",
      "metric family \"ml_utf8\": series 0: label \"a\" has a value that is "
      "not UTF-8",
      "metric family \"ml_le\": series 0: label \"le\" is reserved in this "
      "metric type",
      "metric family \"ml_le\": series 0: histogram has no buckets",
      "metric family \"ml_no_inf\": series 0: histogram's last bucket is not "
      "+Inf",
      "metric family \"ml_count\": series 0: histogram sample_count differs "
      "from its +Inf bucket",
  };
  // ml_le appears once: its first problem is reported.
  expected.erase(expected.begin() + 11);
  EXPECT_EQ(result.problems, expected);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "ml_good_total");
  // The plugin's label order is kept.
  EXPECT_EQ(Render(out),
            "# TYPE ml_good_total counter\n"
            "ml_good_total{model=\"m\",version=\"v\",stage=\"s\"} 1\n");
}

}  // namespace
}  // namespace ml_exporter
