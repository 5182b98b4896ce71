#include "exporter/protobuf_record_scanner.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/timestamp.pb.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "exporter/record_decoder.h"
#include "ml_exporter.pb.h"
#include "ml_exporter/ingest.h"
#include "ml_exporter/pipeline.h"
#include "tests/differential_ingest.h"
#include "tests/record_text.h"

namespace ml_exporter::internal {
namespace {

using google::protobuf::Value;

// --- the protobuf encoding, by hand
// -------------------------------------------

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

std::string Tag(int field, int wire_type) {
  return Varint(static_cast<uint64_t>(field) << 3 | wire_type);
}

std::string VarintField(int field, uint64_t v) {
  return Tag(field, 0) + Varint(v);
}

std::string DoubleField(int field, double d) {
  std::string out = Tag(field, 1);
  char bytes[8];
  std::memcpy(bytes, &d, 8);
  return out.append(bytes, 8);
}

std::string BytesField(int field, std::string_view bytes) {
  return Tag(field, 2) + Varint(bytes.size()) + std::string(bytes);
}

// A Struct entry {key, value} with `value` a serialized Value.
std::string Entry(std::string_view key, std::string_view value) {
  return BytesField(1, BytesField(1, key) + BytesField(2, value));
}

std::string NumberValueBytes(double d) { return DoubleField(2, d); }

// A Batch of one record {model: "m", inputs: <inputs>}.
std::string RecordWithInputs(std::string_view inputs) {
  return BytesField(1, BytesField(1, "m") + BytesField(9, inputs));
}

// --- what each path makes of a body, as comparable text ----------------------

using testing::GeneratedIngest;
using testing::RenderEvent;
using testing::RenderIngestResult;
using testing::RenderRecord;
using testing::RenderRejection;
using testing::SortedMetrics;

// Records, then events, one line each; or one line for a body rejected
// whole.
using Outcome = std::vector<std::string>;

Outcome GeneratedPath(std::string_view body) {
  v1::Batch batch;
  if (!batch.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return {"invalid body"};
  }
  Outcome out;
  Record record;
  Event event;
  for (const v1::Record& r : batch.records()) {
    DecodeError error;
    out.push_back(DecodeProtoRecord(r, &record, &error)
                      ? RenderRecord(record)
                      : RenderRejection(error));
  }
  for (const v1::Event& e : batch.events()) {
    DecodeError error;
    out.push_back(DecodeProtoEvent(e, &event, &error) ? RenderEvent(event)
                                                      : RenderRejection(error));
  }
  return out;
}

// The scanner's outcome, or nothing when it declines. `scratch` is reused
// across calls, as the Ingestor does.
std::optional<Outcome> ScannerPath(std::string_view body,
                                   ScannedProtobufBatch* scratch) {
  if (!ScanProtobufBatch(body, scratch)) return std::nullopt;
  Outcome out;
  size_t rejection = 0;
  for (size_t i = 0; i < scratch->record_count; ++i) {
    if (rejection < scratch->record_rejections.size() &&
        scratch->record_rejections[rejection].position == i) {
      out.push_back(
          RenderRejection(scratch->record_rejections[rejection++].error));
    } else {
      out.push_back(RenderRecord(scratch->records[i]));
    }
  }
  EXPECT_EQ(rejection, scratch->record_rejections.size());
  rejection = 0;
  for (size_t i = 0; i < scratch->event_count; ++i) {
    if (rejection < scratch->event_rejections.size() &&
        scratch->event_rejections[rejection].position == i) {
      out.push_back(
          RenderRejection(scratch->event_rejections[rejection++].error));
    } else {
      out.push_back(RenderEvent(scratch->events[i]));
    }
  }
  EXPECT_EQ(rejection, scratch->event_rejections.size());
  return out;
}

std::string Hex(std::string_view bytes) {
  std::string s;
  char buf[4];
  for (const char c : bytes.substr(0, 256)) {
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned char>(c));
    s += buf;
  }
  return s;
}

// Whether the scanner took `body`; when it did, its outcome must be the
// generated path's.
bool ScannedAndAgrees(std::string_view body, ScannedProtobufBatch* scratch) {
  const std::optional<Outcome> scanned = ScannerPath(body, scratch);
  if (!scanned) return false;
  EXPECT_EQ(*scanned, GeneratedPath(body)) << "body " << Hex(body);
  return true;
}

class ProtobufScannerTest : public ::testing::Test {
 protected:
  // The generated parser logs every invalid UTF-8 string it meets.
  google::protobuf::LogSilencer quiet_;

  // The scanner must take `body` and agree with the generated path.
  void ExpectScanned(std::string_view body) {
    EXPECT_TRUE(ScannedAndAgrees(body, &scratch_)) << "body " << Hex(body);
  }
  // The scanner must leave `body` to the generated path.
  void ExpectDeclined(std::string_view body) {
    EXPECT_FALSE(ScanProtobufBatch(body, &scratch_)) << "body " << Hex(body);
  }

  ScannedProtobufBatch scratch_;
};

Value NumberValue(double d) {
  Value v;
  v.set_number_value(d);
  return v;
}

Value StringValue(const std::string& s) {
  Value v;
  v.set_string_value(s);
  return v;
}

v1::Batch FullBatch() {
  v1::Batch batch;
  v1::Record* r = batch.add_records();
  r->set_model("asr");
  r->set_version("v3");
  r->set_stage("decoder");
  r->set_request_id("r-1");
  r->set_session_id("s-1");
  r->mutable_time()->set_seconds(1795860000);
  r->mutable_time()->set_nanos(250000000);
  r->set_latency_seconds(0.183);
  r->set_error(true);
  auto& inputs = *r->mutable_inputs()->mutable_fields();
  inputs["audio_seconds"] = NumberValue(3.2);
  inputs["country"] = StringValue("DE");
  inputs["city"] = StringValue("M\xC3\xBCnchen \xE6\x9D\xB1\xE4\xBA\xAC");
  inputs["age"].set_null_value(google::protobuf::NULL_VALUE);
  inputs["flag"].set_bool_value(false);
  inputs["unset"];
  auto* list = inputs["tokens"].mutable_list_value();
  *list->add_values() = NumberValue(1);
  *list->add_values() = StringValue("a");
  list->add_values()->set_bool_value(true);
  list->add_values();
  inputs["empty_list"].mutable_list_value();
  auto& outputs = *r->mutable_outputs()->mutable_fields();
  outputs["label"] = StringValue("cat");
  outputs["score"] = NumberValue(0.93);
  (*r->mutable_blobs())["audio"] = std::string("\x00\x01\xff", 3);
  (*r->mutable_blobs())["image"] = "";
  batch.add_records()->set_model("m");
  v1::Event* e = batch.add_events();
  e->set_type("label");
  e->set_model("asr");
  e->set_version("v3");
  e->set_stage("decoder");
  e->set_request_id("r-1");
  e->set_session_id("s-1");
  e->mutable_time()->set_seconds(10);
  *e->mutable_value() = StringValue("cat");
  v1::Event* list_event = batch.add_events();
  list_event->set_type("labels");
  auto* values = list_event->mutable_value()->mutable_list_value();
  *values->add_values() = NumberValue(2);
  *values->add_values() = StringValue("x");
  batch.add_events()->set_type("click");
  return batch;
}

TEST_F(ProtobufScannerTest, CommonBodiesAreScanned) {
  ExpectScanned("");
  ExpectScanned(FullBatch().SerializeAsString());
  v1::Batch empty_record;
  empty_record.add_records();  // rejected: no model
  ExpectScanned(empty_record.SerializeAsString());
  v1::Batch empty_event;
  empty_event.add_events();  // rejected: no type
  ExpectScanned(empty_event.SerializeAsString());
}

// Records with the previous record's names are read straight into that
// order (FieldOrder::ScanInRememberedOrder); every value it does not take
// (a bool, a list, a long string, a non-finite number, a name twice, a
// name missing or new) must leave the Struct to the general path, with
// the same outcome as the generated parser.
TEST_F(ProtobufScannerTest, RecordsWithTheRememberedNamesMatch) {
  using Inputs = std::map<std::string, Value>;
  v1::Batch batch;
  const auto add = [&batch](const Inputs& inputs) {
    v1::Record* r = batch.add_records();
    r->set_model("m");
    for (const auto& [name, value] : inputs) {
      (*r->mutable_inputs()->mutable_fields())[name] = value;
    }
  };
  Value null_value;
  null_value.set_null_value(google::protobuf::NULL_VALUE);
  // Five names: remembered from the first record; the second has the same
  // names with other kinds of values.
  add({{"a", NumberValue(1)},
       {"b", StringValue("x")},
       {"c", null_value},
       {"dd", NumberValue(-2.5)},
       {"eee", StringValue("")}});
  add({{"eee", StringValue("y")},
       {"dd", NumberValue(3)},
       {"c", null_value},
       {"b", NumberValue(4)},
       {"a", StringValue("z")}});
  // Then records with the same names and numbers, each with one change.
  const Inputs numbers = {{"a", NumberValue(1)},
                          {"b", NumberValue(1)},
                          {"c", NumberValue(2)},
                          {"dd", NumberValue(3)},
                          {"eee", NumberValue(4)}};
  const auto add_changed = [&](const std::string& name, const Value& value) {
    Inputs inputs = numbers;
    inputs[name] = value;
    add(inputs);
  };
  Value bool_value;
  bool_value.set_bool_value(true);
  Value list_value;
  *list_value.mutable_list_value()->add_values() = NumberValue(1);
  add_changed("a", bool_value);
  add_changed("eee", list_value);
  add_changed("b", StringValue(std::string(200, 's')));
  add_changed("eee", null_value);
  // One non-finite value (with two the scanner declines the whole body:
  // which one the generated path names depends on its map's order).
  add_changed("b", NumberValue(NAN));
  Inputs missing = numbers;
  missing.erase("eee");
  add(missing);
  add_changed("new", NumberValue(4));  // a new name (six)
  add_changed("new", null_value);      // the six remembered
  ExpectScanned(batch.SerializeAsString());
  // Reused scratch: the names of the batch before are remembered.
  ExpectScanned(batch.SerializeAsString());
}

TEST_F(ProtobufScannerTest, RejectionsMatch) {
  v1::Batch batch;
  batch.add_records()->set_version("v1");  // no model
  v1::Record* negative = batch.add_records();
  negative->set_model("m");
  negative->set_latency_seconds(-1);
  v1::Record* nan = batch.add_records();
  nan->set_model("m");
  nan->set_latency_seconds(NAN);
  v1::Record* infinite_latency = batch.add_records();
  infinite_latency->set_model("m");
  infinite_latency->set_latency_seconds(INFINITY);
  v1::Record* nested = batch.add_records();
  nested->set_model("m");
  (*(*nested->mutable_inputs()->mutable_fields())["x"]
        .mutable_struct_value()
        ->mutable_fields())["y"] = NumberValue(1);
  v1::Record* lists = batch.add_records();
  lists->set_model("m");
  (*lists->mutable_outputs()->mutable_fields())["x"]
      .mutable_list_value()
      ->add_values()
      ->mutable_list_value();
  v1::Record* struct_in_list = batch.add_records();
  struct_in_list->set_model("m");
  (*struct_in_list->mutable_outputs()->mutable_fields())["x"]
      .mutable_list_value()
      ->add_values()
      ->mutable_struct_value();
  v1::Record* infinite = batch.add_records();
  infinite->set_model("m");
  (*infinite->mutable_inputs()->mutable_fields())["x"] = NumberValue(INFINITY);
  v1::Record* nan_in_list = batch.add_records();
  nan_in_list->set_model("m");
  auto* l = (*nan_in_list->mutable_inputs()->mutable_fields())["l"]
                .mutable_list_value();
  *l->add_values() = NumberValue(1);
  *l->add_values() = NumberValue(NAN);
  l->add_values()->mutable_list_value();
  // Latency is checked before inputs, inputs before outputs, both before
  // the model.
  v1::Record* several = batch.add_records();
  several->set_latency_seconds(-2);
  (*several->mutable_inputs()->mutable_fields())["x"] = NumberValue(NAN);
  v1::Record* inputs_first = batch.add_records();
  (*inputs_first->mutable_inputs()->mutable_fields())["x"] = NumberValue(NAN);
  (*inputs_first->mutable_outputs()->mutable_fields())["y"] = NumberValue(NAN);
  (*inputs_first->mutable_outputs()->mutable_fields())["z"] = NumberValue(NAN);
  v1::Record* zero = batch.add_records();
  zero->set_model("m");
  zero->set_latency_seconds(0);
  batch.add_events()->set_model("m");  // no type
  v1::Event* nested_value = batch.add_events();
  nested_value->set_type("t");
  nested_value->mutable_value()->mutable_struct_value();
  v1::Event* infinite_value = batch.add_events();
  infinite_value->set_type("t");
  infinite_value->mutable_value()->set_number_value(-INFINITY);
  batch.add_events()->mutable_value()->mutable_list_value()->add_values();
  ExpectScanned(batch.SerializeAsString());
}

TEST_F(ProtobufScannerTest, WireVariantsThatProtobufAcceptsAreScanned) {
  const std::string model = BytesField(1, "m");
  // A singular field twice: the last one wins.
  ExpectScanned(BytesField(1, BytesField(1, "first") + BytesField(1, "last") +
                                  DoubleField(7, 1) + DoubleField(7, 2) +
                                  VarintField(8, 1) + VarintField(8, 0)));
  // Fields in reverse order, a bool that is not 0 or 1, unknown fields of
  // every scalar wire type, in records, events and the batch.
  const std::string unknown = VarintField(100, 5) + DoubleField(101, 1) +
                              BytesField(102, "\xff\xfe") + Tag(103, 5) +
                              std::string("abcd") + VarintField(15, 7);
  ExpectScanned(unknown +
                BytesField(1, VarintField(8, 300) + DoubleField(7, 0.5) +
                                  unknown + BytesField(5, "s") + model) +
                BytesField(2, unknown + BytesField(1, "t")) + unknown);
  // Records and events interleaved: the generated path has all records
  // first, and so does the scanner's order.
  ExpectScanned(BytesField(2, BytesField(1, "t1")) + BytesField(1, model) +
                BytesField(2, BytesField(1, "t2")) +
                BytesField(1, BytesField(1, "m2")));
  // Timestamps: negative seconds (ten-byte varints), nanos out of range and
  // a nanos varint wider than 32 bits, fields twice.
  ExpectScanned(BytesField(
      1, model +
             BytesField(6, VarintField(1, static_cast<uint64_t>(-5)) +
                               VarintField(2, (1ULL << 40) + 7) +
                               VarintField(1, 12)) +
             DoubleField(7, 1)));
  ExpectScanned(BytesField(
      1, model + BytesField(6, VarintField(2, static_cast<uint64_t>(-1)))));
  ExpectScanned(BytesField(1, model + BytesField(6, "")));
  // Non-minimal varints and tags.
  ExpectScanned(BytesField(
      1, model + std::string("\xc0\x00", 2) + std::string("\x81\x80\x00", 3)));
  // Map entries: value before key, no key, no value, an empty Value, a
  // null_value of any number, a bool_value of 2.
  ExpectScanned(RecordWithInputs(
      BytesField(1, BytesField(2, NumberValueBytes(1)) + BytesField(1, "k")) +
      BytesField(1, BytesField(2, NumberValueBytes(2))) +
      BytesField(1, BytesField(1, "no_value")) + Entry("empty", "") +
      Entry("null", VarintField(1, 9)) + Entry("bool", VarintField(4, 2))));
  // Blobs: no name, no data.
  ExpectScanned(BytesField(1, model + BytesField(11, BytesField(2, "x")) +
                                  BytesField(11, BytesField(1, "n"))));
  // Many fields (the hashed duplicate check), names of every length.
  std::string many;
  for (int i = 0; i < 300; ++i) {
    many += Entry(std::string(i % 40, 'a') + std::to_string(i),
                  NumberValueBytes(i));
  }
  ExpectScanned(RecordWithInputs(many));
}

TEST_F(ProtobufScannerTest, UnusualBodiesAreDeclined) {
  const std::string model = BytesField(1, "m");
  const std::string valid = BytesField(1, model);
  // Truncated anywhere.
  const std::string full = FullBatch().SerializeAsString();
  for (size_t n = 1; n < full.size(); ++n) {
    std::string_view prefix(full.data(), n);
    if (ScannedAndAgrees(prefix, &scratch_)) {
      // Only a prefix that ends between top-level fields can be whole.
      EXPECT_NE(GeneratedPath(prefix), Outcome{"invalid body"});
    }
  }
  // A length past the end, a huge length, a length of 2^28.
  ExpectDeclined(Tag(1, 2) + Varint(100) + model);
  ExpectDeclined(Tag(1, 2) + Varint(1ULL << 35) + model);
  ExpectDeclined(valid + Tag(200, 2) + Varint(1 << 28) + "x");
  // Groups, invalid wire types, field number 0, a tag of three bytes.
  for (int wire_type : {3, 4, 6, 7}) {
    ExpectDeclined(valid + Tag(5, wire_type));
    ExpectDeclined(BytesField(1, model + Tag(20, wire_type)));
  }
  ExpectDeclined(valid + VarintField(0, 1));
  ExpectDeclined(valid + VarintField(3000, 1));
  // A varint of eleven bytes.
  ExpectDeclined(valid + Tag(99, 0) + std::string(10, '\x80') + "\x01");
  // Known fields with another wire type, packed or not.
  ExpectDeclined(BytesField(1, model + BytesField(7, DoubleField(1, 1))));
  ExpectDeclined(BytesField(1, model + VarintField(7, 1)));
  ExpectDeclined(BytesField(1, model + BytesField(8, Varint(1))));
  ExpectDeclined(BytesField(1, VarintField(1, 1)));
  ExpectDeclined(VarintField(1, 1));
  ExpectDeclined(RecordWithInputs(Entry("x", BytesField(2, "12345678"))));
  // Invalid UTF-8 in a string field, a Struct key, a blob name, a string
  // value; and an overlong encoding and a surrogate.
  for (const std::string bad :
       {"\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "abcdefgh\x80"}) {
    ExpectDeclined(BytesField(1, BytesField(1, bad)));
    ExpectDeclined(BytesField(1, model + BytesField(4, bad)));
    ExpectDeclined(BytesField(2, BytesField(1, bad)));
    ExpectDeclined(RecordWithInputs(Entry(bad, "")));
    ExpectDeclined(RecordWithInputs(Entry("x", BytesField(3, bad))));
    // Keys of entries the scanner reads in place (a number or a string).
    ExpectDeclined(RecordWithInputs(
        Entry(bad, std::string("\x11", 1) + std::string(8, '\0'))));
    ExpectDeclined(RecordWithInputs(Entry(bad, BytesField(3, "ok"))));
    ExpectDeclined(BytesField(1, model + BytesField(11, BytesField(1, bad))));
  }
  // Message fields twice (protobuf merges them), a Value of two kinds,
  // map entries with a field twice or an unknown field.
  ExpectDeclined(BytesField(1, model + BytesField(6, "") + BytesField(6, "")));
  ExpectDeclined(BytesField(1, model + BytesField(9, "") + BytesField(9, "")));
  ExpectDeclined(
      BytesField(1, model + BytesField(10, "") + BytesField(10, "")));
  ExpectDeclined(BytesField(
      2, BytesField(1, "t") + BytesField(8, "") + BytesField(8, "")));
  ExpectDeclined(
      RecordWithInputs(Entry("x", NumberValueBytes(1) + BytesField(3, "a"))));
  ExpectDeclined(
      RecordWithInputs(BytesField(1, BytesField(1, "a") + BytesField(1, "b"))));
  ExpectDeclined(
      RecordWithInputs(BytesField(1, BytesField(1, "a") + VarintField(3, 1))));
  // Duplicated feature or blob names (protobuf keeps the last).
  ExpectDeclined(RecordWithInputs(Entry("x", NumberValueBytes(1)) +
                                  Entry("x", NumberValueBytes(2))));
  std::string many;
  for (int i = 0; i < 40; ++i) {
    many += Entry("f" + std::to_string(i), NumberValueBytes(i));
  }
  ExpectDeclined(RecordWithInputs(many + Entry("f17", "")));
  ExpectDeclined(BytesField(1, model + BytesField(11, BytesField(1, "a")) +
                                   BytesField(11, BytesField(1, "a"))));
  // Two bad values in one Struct: the message depends on the Map's order.
  ExpectDeclined(RecordWithInputs(Entry("x", NumberValueBytes(NAN)) +
                                  Entry("y", BytesField(5, ""))));
  // Unknown fields inside Struct, Value, ListValue and Timestamp.
  ExpectDeclined(RecordWithInputs(VarintField(2, 1)));
  ExpectDeclined(RecordWithInputs(Entry("x", VarintField(7, 1))));
  ExpectDeclined(
      RecordWithInputs(Entry("x", BytesField(6, VarintField(2, 1)))));
  ExpectDeclined(BytesField(1, model + BytesField(6, VarintField(3, 1))));
  // The generated path agrees that these are invalid bodies, or decodes
  // them its own way.
  for (const std::string& body :
       {std::string(Tag(1, 2) + Varint(100) + model), valid + Tag(5, 3),
        BytesField(1, BytesField(1, "\xff"))}) {
    EXPECT_EQ(GeneratedPath(body), Outcome{"invalid body"}) << Hex(body);
  }
}

// Struct values nested `levels` deep in inputs.x.
std::string NestedInputs(int levels) {
  std::string value = NumberValueBytes(1);
  for (int i = 0; i < levels; ++i) {
    value = BytesField(5, Entry("x", value));
  }
  return RecordWithInputs(Entry("x", value));
}

// Lists nested `levels` deep in inputs.x.
std::string NestedListInputs(int levels) {
  std::string value = NumberValueBytes(1);
  for (int i = 0; i < levels; ++i) value = BytesField(6, BytesField(1, value));
  return RecordWithInputs(Entry("x", value));
}

std::vector<std::string> InputNames(const Record& record) {
  std::vector<std::string> names;
  for (const Field& f : record.inputs) names.emplace_back(f.name);
  return names;
}

// Serializers write a Struct in their map's order; a record with the
// previous record's names (in any order) lists them in that record's
// order, and anything else in wire order. Covers numbers, strings, null
// (not the one-byte fast entry) and list values in moved fields.
TEST(ProtobufScannerOrderTest, SameNamesTakeThePreviousOrder) {
  const std::string x = Entry("x", DoubleField(2, 1.5));
  const std::string y = Entry("y", BytesField(3, "yes"));
  const std::string z = Entry("z", VarintField(1, 0));  // null
  const std::string list =
      Entry("l", BytesField(6, BytesField(1, DoubleField(2, 7)) +
                                   BytesField(1, BytesField(3, "a"))));
  const std::string w = Entry("w", DoubleField(2, -2));
  const std::string body =
      RecordWithInputs(x + y + z + list) + RecordWithInputs(list + z + x + y) +
      RecordWithInputs(y + x + w + z) +  // a different name: wire order
      RecordWithInputs(z + w + y + x) +  // then that order is the one kept
      RecordWithInputs(x + y) +          // fewer names: wire order
      RecordWithInputs(y + x);
  ScannedProtobufBatch scanned;
  ASSERT_TRUE(ScanProtobufBatch(body, &scanned));
  ASSERT_EQ(scanned.record_count, 6u);
  using Names = std::vector<std::string>;
  EXPECT_EQ(InputNames(scanned.records[0]), (Names{"x", "y", "z", "l"}));
  EXPECT_EQ(InputNames(scanned.records[1]), (Names{"x", "y", "z", "l"}));
  EXPECT_EQ(InputNames(scanned.records[2]), (Names{"y", "x", "w", "z"}));
  EXPECT_EQ(InputNames(scanned.records[3]), (Names{"y", "x", "w", "z"}));
  EXPECT_EQ(InputNames(scanned.records[4]), (Names{"x", "y"}));
  EXPECT_EQ(InputNames(scanned.records[5]), (Names{"x", "y"}));
  // The moved fields keep their values, the list its elements.
  const Record& moved = scanned.records[1];
  EXPECT_EQ(moved.inputs[0].value.kind, FieldValue::Kind::kNumber);
  EXPECT_EQ(moved.inputs[0].value.number, 1.5);
  EXPECT_EQ(moved.inputs[1].value.kind, FieldValue::Kind::kString);
  EXPECT_EQ(moved.inputs[1].value.text, "yes");
  EXPECT_EQ(moved.inputs[2].value.kind, FieldValue::Kind::kNull);
  const FieldValue& l = moved.inputs[3].value;
  ASSERT_EQ(l.kind, FieldValue::Kind::kList);
  ASSERT_EQ(l.list_size, 2u);
  EXPECT_EQ(moved.list_items[l.list_begin].number, 7);
  EXPECT_EQ(moved.list_items[l.list_begin + 1].text, "a");
  EXPECT_EQ(scanned.records[3].inputs[2].value.number, -2);
}

// The order table hashes a name's first 16 bytes and its length. Names
// it cannot tell apart that way (longer ones sharing those 16 bytes,
// which share a slot under every seed) and 73 names (some sharing a slot
// under most seeds) are still told apart:
// every field keeps its value, in every order the map is sent in. The
// last names end within 16 bytes of the body, where it is not loaded
// whole.
TEST(ProtobufScannerOrderTest, NamesThatShareASlotOrAPrefixKeepTheirValues) {
  std::vector<std::string> names;
  for (int i = 0; i < 60; ++i) names.push_back("n" + std::to_string(i));
  for (int i = 0; i < 10; ++i) {
    names.push_back("a_long_feature_name_" + std::to_string(i));
  }
  names.push_back("abcdefghijklmnop");   // 16 bytes
  names.push_back("abcdefghijklmnopq");  // the same 16, and one more
  names.push_back("abcdefghijklmnopr");
  std::vector<size_t> order(names.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937 random(7);
  std::string body;
  constexpr int kRecords = 6;
  for (int r = 0; r < kRecords; ++r) {
    if (r > 0) std::shuffle(order.begin(), order.end(), random);
    if (r == kRecords - 1) {
      // The body ends with "n0" and its value: 13 bytes from the name's
      // start to the end, so its 16 bytes cannot be loaded whole.
      std::swap(*std::find(order.begin(), order.end(), size_t{0}),
                order.back());
    }
    std::string inputs;
    for (const size_t i : order) {
      inputs += Entry(names[i], NumberValueBytes(static_cast<double>(i)));
    }
    body += RecordWithInputs(inputs);
  }
  // A copy allocated to its size, so that a read past its end is outside
  // the allocation (which AddressSanitizer reports).
  const std::unique_ptr<char[]> exact(new char[body.size()]);
  std::memcpy(exact.get(), body.data(), body.size());
  const std::string_view exact_body(exact.get(), body.size());
  ScannedProtobufBatch scanned;
  for (int pass = 0; pass < 2; ++pass) {  // the second with the table kept
    SCOPED_TRACE(pass);
    ASSERT_TRUE(ScanProtobufBatch(exact_body, &scanned));
    ASSERT_EQ(scanned.record_count, static_cast<size_t>(kRecords));
    for (int r = 0; r < kRecords; ++r) {
      const Record& record = scanned.records[r];
      ASSERT_EQ(record.inputs.size(), names.size()) << r;
      for (size_t k = 0; k < names.size(); ++k) {
        const Field& f = record.inputs[k];
        const auto i = static_cast<size_t>(f.value.number);
        ASSERT_LT(i, names.size()) << r;
        EXPECT_EQ(f.name, names[i]) << "record " << r << " position " << k;
        // Every record after the first takes the first one's order.
        EXPECT_EQ(f.name, scanned.records[0].inputs[k].name) << r;
      }
    }
  }
}

// As many names as remembered, but one twice and one missing: the
// scanner declines (duplicated names), as for any duplicate.
TEST(ProtobufScannerOrderTest, ANameTwiceIsDeclinedEvenWithTheRememberedCount) {
  const std::string x = Entry("x", DoubleField(2, 1));
  const std::string y = Entry("y", DoubleField(2, 2));
  ScannedProtobufBatch scanned;
  EXPECT_TRUE(ScanProtobufBatch(
      RecordWithInputs(x + y) + RecordWithInputs(y + x), &scanned));
  EXPECT_FALSE(ScanProtobufBatch(
      RecordWithInputs(x + y) + RecordWithInputs(x + x), &scanned));
  // After the declined body the remembered order is still that of the
  // last Struct scanned with distinct names.
  const std::string next = RecordWithInputs(y + x);  // names point into it
  ASSERT_TRUE(ScanProtobufBatch(next, &scanned));
  ASSERT_EQ(scanned.record_count, 1u);
  EXPECT_EQ(InputNames(scanned.records[0]),
            (std::vector<std::string>{"x", "y"}));
}

// Names are UTF-8 checked where the reordering meets them: a name that
// is not among the remembered ones, next to ones that are, still declines
// the body when it is not valid UTF-8.
TEST(ProtobufScannerOrderTest, AnInvalidNameAmongRememberedOnesIsDeclined) {
  const std::string x = Entry("x", NumberValueBytes(1));
  const std::string y = Entry("y", BytesField(3, "s"));
  for (const std::string bad : {"\xff", "a\xc3", "\xed\xa0\x80"}) {
    const std::string bad_number = Entry(bad, NumberValueBytes(2));
    const std::string bad_string = Entry(bad, BytesField(3, "t"));
    ScannedProtobufBatch scanned;
    EXPECT_FALSE(ScanProtobufBatch(
        RecordWithInputs(x + y) + RecordWithInputs(x + bad_number), &scanned));
    EXPECT_FALSE(ScanProtobufBatch(
        RecordWithInputs(x + y) + RecordWithInputs(bad_string + y), &scanned));
    EXPECT_FALSE(ScanProtobufBatch(
        RecordWithInputs(x + y + bad_number) + RecordWithInputs(x + y),
        &scanned));
  }
}

TEST_F(ProtobufScannerTest, NestingDepth) {
  // Shallow nesting is a rejected record; past kMaxScanDepth (a struct level
  // is three messages, a list level two, below the Value at depth 4) the
  // scanner declines, and past protobuf's limit of 100 the body is invalid.
  for (int levels : {1, 2, 5, 11, 12}) ExpectScanned(NestedInputs(levels));
  for (int levels : {13, 20, 32, 33, 34, 40, 100}) {
    ExpectDeclined(NestedInputs(levels));
  }
  for (int levels : {1, 2, 17, 18}) ExpectScanned(NestedListInputs(levels));
  for (int levels : {19, 20, 48, 49, 50, 200}) {
    ExpectDeclined(NestedListInputs(levels));
  }
  EXPECT_NE(GeneratedPath(NestedInputs(32)), Outcome{"invalid body"});
  EXPECT_EQ(GeneratedPath(NestedInputs(33)), Outcome{"invalid body"});
  EXPECT_NE(GeneratedPath(NestedListInputs(48)), Outcome{"invalid body"});
  EXPECT_EQ(GeneratedPath(NestedListInputs(49)), Outcome{"invalid body"});
}

// --- random batches
// ------------------------------------------------------------

// Whether DecodeProtoRecord rejects `v` as a field's value.
bool IsBadValue(const Value& v, bool in_list) {
  switch (v.kind_case()) {
    case Value::kNumberValue:
      return !std::isfinite(v.number_value());
    case Value::kStructValue:
      return true;
    case Value::kListValue:
      if (in_list) return true;
      for (const Value& item : v.list_value().values()) {
        if (IsBadValue(item, true)) return true;
      }
      return false;
    default:
      return false;
  }
}

class RandomBatches {
 public:
  explicit RandomBatches(uint64_t seed) : rng_(seed) {}

  // No Struct with two bad values: their record's error message would
  // depend on the Map's order, which differs from run to run.
  void set_one_bad_value_per_struct(bool on) { one_bad_value_per_struct_ = on; }

  v1::Batch Next() {
    v1::Batch batch;
    const int records = Pick(6);
    for (int i = 0; i < records; ++i) FillRecord(batch.add_records());
    const int events = Pick(3);
    for (int i = 0; i < events; ++i) FillEvent(batch.add_events());
    return batch;
  }

  // `body` with a few random byte edits.
  std::string Mutate(std::string body) {
    const int edits = 1 + Pick(3);
    for (int i = 0; i < edits; ++i) {
      const size_t at = body.empty() ? 0 : rng_() % (body.size() + 1);
      switch (Pick(5)) {
        case 0:
          if (at < body.size()) body[at] = static_cast<char>(rng_());
          break;
        case 1:
          if (at < body.size()) body[at] ^= static_cast<char>(1 << Pick(8));
          break;
        case 2:
          body.insert(at, 1, static_cast<char>(rng_()));
          break;
        case 3:
          if (at < body.size()) body.erase(at, 1 + Pick(4));
          break;
        case 4:
          body.resize(at);
          break;
      }
    }
    return body;
  }

 private:
  int Pick(int n) { return static_cast<int>(rng_() % n); }
  bool OneIn(int n) { return Pick(n) == 0; }

  std::string Text() {
    static const char* const kPieces[] = {
        "a", "cat",      "DE",           "",
        " ", "\xC3\xBC", "\xE6\x9D\xB1", "\xF0\x9F\x98\x80",
        "0", "\n"};
    std::string s;
    const int n = Pick(4);
    for (int i = 0; i < n; ++i) s += kPieces[Pick(10)];
    return s;
  }

  double Num() {
    switch (Pick(12)) {
      case 0:
        return NAN;
      case 1:
        return OneIn(2) ? INFINITY : -INFINITY;
      case 2:
        return -0.0;
      case 3:
        return 5e-324;
      case 4:
        return 1e308;
      default:
        return std::uniform_real_distribution<double>(-100, 100)(rng_);
    }
  }

  void FillValue(Value* v, int depth) {
    switch (Pick(depth > 2 ? 5 : 7)) {
      case 0:
        if (OneIn(2)) v->set_null_value(google::protobuf::NULL_VALUE);
        break;
      case 1:
      case 2:
        v->set_number_value(Num());
        break;
      case 3:
        v->set_string_value(Text());
        break;
      case 4:
        v->set_bool_value(OneIn(2));
        break;
      case 5: {
        auto* list = v->mutable_list_value();
        const int n = Pick(4);
        for (int i = 0; i < n; ++i) {
          FillValue(list->add_values(), depth + 1 + (OneIn(4) ? 0 : 2));
        }
        break;
      }
      case 6: {
        auto& fields = *v->mutable_struct_value()->mutable_fields();
        const int n = Pick(3);
        for (int i = 0; i < n; ++i) FillValue(&fields[Text()], depth + 1);
        break;
      }
    }
  }

  void FillStruct(google::protobuf::Struct* s) {
    const int n = Pick(8);
    auto& fields = *s->mutable_fields();
    bool has_bad_value = false;
    for (int i = 0; i < n; ++i) {
      // Mostly good values, so that few records have two bad ones.
      Value& v = fields["f" + std::to_string(Pick(12)) +
                        (OneIn(4) ? Text() : std::string())];
      if (OneIn(5)) {
        FillValue(&v, 0);
        if (one_bad_value_per_struct_ && IsBadValue(v, false)) {
          if (has_bad_value) v.set_number_value(Pick(100));
          has_bad_value = true;
        }
      } else {
        v.set_number_value(Pick(100));
      }
    }
  }

  void FillTime(google::protobuf::Timestamp* t) {
    t->set_seconds(OneIn(4) ? -static_cast<int64_t>(rng_() % 100000)
                            : static_cast<int64_t>(rng_() % 2000000000));
    if (OneIn(2)) t->set_nanos(static_cast<int32_t>(rng_() % 1000000000));
  }

  void FillRecord(v1::Record* r) {
    if (!OneIn(8)) r->set_model(OneIn(4) ? Text() : "m");
    if (OneIn(2)) r->set_version(Text());
    if (OneIn(2)) r->set_stage(Text());
    if (OneIn(2)) r->set_request_id(Text());
    if (OneIn(2)) r->set_session_id(Text());
    if (OneIn(2)) FillTime(r->mutable_time());
    if (OneIn(2)) r->set_latency_seconds(OneIn(6) ? Num() : Pick(100) / 7.0);
    if (OneIn(3)) r->set_error(true);
    if (!OneIn(4)) FillStruct(r->mutable_inputs());
    if (OneIn(2)) FillStruct(r->mutable_outputs());
    const int blobs = Pick(3);
    for (int i = 0; i < blobs; ++i) {
      (*r->mutable_blobs())[Text()] = Text() + std::string(1, '\0') + "\xff";
    }
  }

  void FillEvent(v1::Event* e) {
    if (!OneIn(6)) e->set_type(Text() + "t");
    if (OneIn(2)) e->set_model(Text());
    if (OneIn(3)) e->set_version(Text());
    if (OneIn(3)) e->set_stage(Text());
    if (OneIn(2)) e->set_request_id(Text());
    if (OneIn(2)) e->set_session_id(Text());
    if (OneIn(2)) FillTime(e->mutable_time());
    if (OneIn(2)) FillValue(e->mutable_value(), 0);
  }

  std::mt19937_64 rng_;
  bool one_bad_value_per_struct_ = false;
};

TEST_F(ProtobufScannerTest, RandomBatchesAgree) {
  RandomBatches random(1);
  int scanned = 0;
  const int kBatches = 5000;
  for (int i = 0; i < kBatches; ++i) {
    const std::string body = random.Next().SerializeAsString();
    scanned += ScannedAndAgrees(body, &scratch_);
    if (::testing::Test::HasFailure()) break;
  }
  // Only records with two bad values in one Struct are declined.
  EXPECT_GT(scanned, kBatches * 8 / 10);
}

TEST_F(ProtobufScannerTest, RandomMutationsAgree) {
  RandomBatches random(2);
  int scanned = 0;
  const int kBodies = 20000;
  for (int i = 0; i < kBodies; ++i) {
    const std::string body = random.Mutate(random.Next().SerializeAsString());
    scanned += ScannedAndAgrees(body, &scratch_);
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(scanned, 0);
}

// --- through the Ingestor
// --------------------------------------------------------

std::unique_ptr<Pipeline> NewPipeline() {
  PipelineOptions options;
  options.collectors = {"software", "inputs", "outputs", "text", "feedback"};
  // No caps reached: which fields of a record get a series would depend on
  // the order of its fields.
  options.max_features = 100000;
  options.max_outputs = 100000;
  options.max_label_values = 100000;
  std::unique_ptr<Pipeline> pipeline;
  EXPECT_TRUE(Pipeline::Create(options, &pipeline).ok());
  return pipeline;
}

TEST(ProtobufIngestTest, SameResultsAndMetricsAsTheGeneratedPath) {
  google::protobuf::LogSilencer quiet;
  auto scanned_pipeline = NewPipeline();
  auto generated_pipeline = NewPipeline();
  Ingestor ingestor(scanned_pipeline.get(), IngestSource::kHttp);
  RandomBatches random(3);
  random.set_one_bad_value_per_struct(true);
  std::vector<std::string> bodies = {"", FullBatch().SerializeAsString(),
                                     "\x0a\x05"
                                     "ab",
                                     std::string(Tag(5, 3))};
  for (int i = 0; i < 300; ++i) {
    bodies.push_back(random.Next().SerializeAsString());
    bodies.push_back(random.Mutate(random.Next().SerializeAsString()));
  }
  for (const std::string& body : bodies) {
    EXPECT_EQ(
        RenderIngestResult(ingestor.IngestProtobuf(body)),
        RenderIngestResult(GeneratedIngest(generated_pipeline.get(), body)))
        << "body " << Hex(body);
  }
  EXPECT_EQ(SortedMetrics(*scanned_pipeline),
            SortedMetrics(*generated_pipeline));
}

}  // namespace
}  // namespace ml_exporter::internal
