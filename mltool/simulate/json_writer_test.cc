#include "mltool/simulate/json_writer.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cmath>
#include <limits>

namespace ml_exporter::simulate {
namespace {

TEST(JsonWriterTest, NestedObjectsAndArrays) {
  JsonWriter w;
  w.BeginObject()
      .Field("model", "asr")
      .Key("inputs")
      .BeginObject()
      .Field("a", 1.5)
      .Key("b")
      .Null()
      .EndObject()
      .Key("list")
      .BeginArray()
      .Int(1)
      .Bool(false)
      .String("x")
      .BeginArray()
      .EndArray()
      .EndArray()
      .EndObject();
  EXPECT_EQ(
      w.Take(),
      R"({"model":"asr","inputs":{"a":1.5,"b":null},"list":[1,false,"x",[]]})");
}

TEST(JsonWriterTest, NumbersAreShortAndStable) {
  JsonWriter w;
  w.BeginArray()
      .Number(3.0)
      .Number(0.12345678, 4)
      .Number(-0.00001, 3)
      .Number(std::numeric_limits<double>::infinity())
      .Number(NAN)
      .Number(1234567.5, 0)
      .EndArray();
  EXPECT_EQ(w.Take(), "[3,0.1235,0,null,null,1234568]");
}

TEST(JsonWriterTest, StringsAreEscapedAndParseBack) {
  const std::string nasty = "quote \" backslash \\ newline \n tab \t bell \a";
  JsonWriter w;
  w.BeginObject().Field("s", nasty).EndObject();
  const std::string text = w.Take();
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(text).get(doc), simdjson::SUCCESS) << text;
  std::string_view back;
  ASSERT_EQ(doc["s"].get(back), simdjson::SUCCESS);
  EXPECT_EQ(back, nasty);
}

}  // namespace
}  // namespace ml_exporter::simulate
