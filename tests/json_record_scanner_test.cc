// The scanners (json_record_scanner.h, json_token_scanner.h) against the
// simdjson DOM decoder (record_decoder.h): whenever a scanner accepts a
// text, the DOM path must accept it too and decode the same record.
// Hand-written edge cases, then many random mutations of real records.
// Each test runs on the byte scanner and, on CPUs that have it, on the
// token scanner.
#include "exporter/json_record_scanner.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "exporter/json_token_scanner.h"
#include "exporter/record_decoder.h"

namespace ml_exporter::internal {
namespace {

// The record the DOM path decodes from `text`, or false when it rejects it.
bool DomDecode(simdjson::dom::parser& parser, std::string_view text,
               Record* record) {
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size(), true).get(root) !=
      simdjson::SUCCESS) {
    return false;
  }
  if (root.type() != simdjson::dom::element_type::OBJECT) return false;
  simdjson::dom::object object = root.get_object().value_unsafe();
  simdjson::dom::element ignored;
  if (object["records"].get(ignored) == simdjson::SUCCESS ||
      object["events"].get(ignored) == simdjson::SUCCESS) {
    return false;  // a wrapper, not a record
  }
  DecodeError error;
  return DecodeJsonRecord(object, record, &error);
}

bool SameNumber(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b && std::signbit(a) == std::signbit(b);
}

std::string Describe(const FieldValue& v) {
  switch (v.kind) {
    case FieldValue::Kind::kNull:
      return "null";
    case FieldValue::Kind::kNumber:
      return "number " + std::to_string(v.number);
    case FieldValue::Kind::kString:
      return "string \"" + std::string(v.text) + "\"";
    case FieldValue::Kind::kBool:
      return v.boolean ? "true" : "false";
    case FieldValue::Kind::kList:
      return "list [" + std::to_string(v.list_begin) + ", +" +
             std::to_string(v.list_size) + ")";
  }
  return "?";
}

bool SameValue(const FieldValue& a, const FieldValue& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case FieldValue::Kind::kNull:
      return true;
    case FieldValue::Kind::kNumber:
      return SameNumber(a.number, b.number);
    case FieldValue::Kind::kString:
      return a.text == b.text;
    case FieldValue::Kind::kBool:
      return a.boolean == b.boolean;
    case FieldValue::Kind::kList:
      return a.list_begin == b.list_begin && a.list_size == b.list_size;
  }
  return false;
}

// Empty when equal, else what differs.
std::string Difference(const Record& a, const Record& b) {
  if (a.model != b.model) return "model";
  if (a.version != b.version) return "version";
  if (a.stage != b.stage) return "stage";
  if (a.request_id != b.request_id) return "request_id";
  if (a.session_id != b.session_id) return "session_id";
  if (!SameNumber(a.time_seconds, b.time_seconds)) return "time";
  if (!SameNumber(a.latency_seconds, b.latency_seconds)) return "latency";
  if (a.error != b.error) return "error";
  for (auto side : {&Record::inputs, &Record::outputs}) {
    const std::vector<Field>& x = a.*side;
    const std::vector<Field>& y = b.*side;
    if (x.size() != y.size()) return "field count";
    for (size_t i = 0; i < x.size(); ++i) {
      if (x[i].name != y[i].name) return "field name " + std::string(x[i].name);
      if (!SameValue(x[i].value, y[i].value)) {
        return "field " + std::string(x[i].name) + ": " + Describe(x[i].value) +
               " vs " + Describe(y[i].value);
      }
    }
  }
  if (a.list_items.size() != b.list_items.size()) return "list item count";
  for (size_t i = 0; i < a.list_items.size(); ++i) {
    if (!SameValue(a.list_items[i], b.list_items[i])) {
      return "list item " + std::to_string(i);
    }
  }
  if (a.blobs.size() != b.blobs.size()) return "blob count";
  for (size_t i = 0; i < a.blobs.size(); ++i) {
    if (a.blobs[i].name != b.blobs[i].name ||
        a.blobs[i].data != b.blobs[i].data ||
        a.blobs[i].base64 != b.blobs[i].base64) {
      return "blob " + std::to_string(i);
    }
  }
  return "";
}

// One of the scanners.
struct ScanPath {
  const char* name;
  bool (*scan)(std::string_view text, Record* record);
};

void PrintTo(const ScanPath& path, std::ostream* os) { *os << path.name; }

std::string PathName(const testing::TestParamInfo<ScanPath>& info) {
  return info.param.name;
}

// The paths this CPU runs: the token scanner needs AVX-512 (VBMI2).
std::vector<ScanPath> PathsOnThisCpu() {
  std::vector<ScanPath> paths = {{"bytes", ScanJsonRecordByBytes}};
  if (JsonTokenScannerAvailable()) {
    paths.push_back({"tokens", ScanJsonRecordByTokens});
  }
  return paths;
}

// Checks `scan` against the DOM path on `text`; returns whether it
// accepted it. The token scanner must also accept only what the byte
// scanner accepts, and ScanJsonRecord (both) must accept what either does.
bool CheckAgainstDom(simdjson::dom::parser& parser, const std::string& text,
                     const ScanPath& path) {
  Record scanned;
  const bool fast = path.scan(text, &scanned);
  Record by_bytes;
  const bool bytes = ScanJsonRecordByBytes(text, &by_bytes);
  EXPECT_TRUE(!fast || bytes)
      << path.name << " accepts what the byte scanner declines: " << text;
  Record combined;
  EXPECT_EQ(ScanJsonRecord(text, &combined), bytes) << text;
  if (!fast) return false;
  Record dom;
  const bool slow = DomDecode(parser, text, &dom);
  EXPECT_TRUE(slow) << path.name
                    << " accepts what the DOM path rejects: " << text;
  if (slow) {
    const std::string diff = Difference(scanned, dom);
    EXPECT_EQ(diff, "") << path.name << " decoded differently: " << text;
  }
  return true;
}

class JsonRecordScannerTest : public testing::TestWithParam<ScanPath> {
 protected:
  bool Scan(std::string_view text, Record* record) const {
    return GetParam().scan(text, record);
  }
  bool CheckAgainstDom(simdjson::dom::parser& parser,
                       const std::string& text) const {
    return internal::CheckAgainstDom(parser, text, GetParam());
  }
};

INSTANTIATE_TEST_SUITE_P(Paths, JsonRecordScannerTest,
                         testing::ValuesIn(PathsOnThisCpu()), PathName);

const char* const kRecord =
    R"({"model":"demo","version":"v1","stage":"main","request_id":"r0",)"
    R"("session_id":"s0","time":"2026-11-28T10:00:00Z",)"
    R"("latency_seconds":0.04825,"error":false,)"
    R"("inputs":{"f0":0.8465,"f1":-2,"f2":null,"f3":1e-05,"f4":3.5E+2,)"
    R"("country":"JP","ok":true,"tags":["a",1,null,false],"empty":[]},)"
    R"("outputs":{"label":"bird","score":0.7121,"transcript":""},)"
    R"("blobs":{"audio":"UklGRg=="},"extra":{"nested":[1,{"a":[]}]}})";

TEST_P(JsonRecordScannerTest, AcceptsTheCommonShapeAsTheDomPathDecodesIt) {
  simdjson::dom::parser parser;
  EXPECT_TRUE(CheckAgainstDom(parser, kRecord));
  EXPECT_TRUE(CheckAgainstDom(parser, R"({"model":"m"})"));
  EXPECT_TRUE(CheckAgainstDom(
      parser,
      " \t{ \"model\" : \"m\" , \"inputs\" : { \"x\" : [ 1 , 2 ] } } "));
  EXPECT_TRUE(CheckAgainstDom(parser, R"({"model":"m","time":1700000000})"));
  EXPECT_TRUE(CheckAgainstDom(parser, R"({"model":"m","model":null})"));
  EXPECT_TRUE(
      CheckAgainstDom(parser, R"({"model":"m","latency_seconds":-0.0})"));
  EXPECT_TRUE(CheckAgainstDom(parser, R"({"model":"m","inputs":{"z":-0}})"));
  EXPECT_TRUE(CheckAgainstDom(
      parser, R"({"model":"m","inputs":{"a":1},"inputs":{"a":2}})"));
  Record r;
  ASSERT_TRUE(Scan(kRecord, &r));
  EXPECT_EQ(r.model, "demo");
  ASSERT_EQ(r.inputs.size(), 9u);
  EXPECT_EQ(r.inputs[3].value.number, 1e-05);
  EXPECT_EQ(r.inputs[7].value.kind, FieldValue::Kind::kList);
  EXPECT_EQ(r.inputs[7].value.list_size, 4u);
  ASSERT_EQ(r.blobs.size(), 1u);
  EXPECT_TRUE(r.blobs[0].base64);
}

TEST_P(JsonRecordScannerTest, DeclinesWhatTheDomPathMustDecideOrReport) {
  const char* const declined[] = {
      "",
      "[]",
      "null",
      R"({})",               // no model
      R"({"model":""})",     // empty model
      R"({"model":"m"} x)",  // trailing bytes
      R"({"model":"m",})",   // trailing comma
      R"({"model":"m"})"
      "\x01",                                      // trailing control
      R"({"model":"m\u0041"})",                    // escape
      R"({"model":"é"})",                          // non-ASCII
      R"({"model":"m","records":[]})",             // wrapper
      R"({"model":"m","events":null})",            // wrapper
      R"({"model":"m","inputs":{"a":{"b":1}}})",   // nested object
      R"({"model":"m","inputs":{"a":[[1]]}})",     // nested list
      R"({"model":"m","inputs":[1]})",             // inputs not an object
      R"({"model":"m","latency_seconds":-1})",     // negative latency
      R"({"model":"m","latency_seconds":"1"})",    // wrong type
      R"({"model":"m","time":"yesterday"})",       // not RFC 3339
      R"({"model":"m","error":1})",                // wrong type
      R"({"model":"m","blobs":{"a":1}})",          // blob not a string
      R"({"model":1})",                            // wrong type
      R"({"model":"m","inputs":{"a":01}})",        // leading zero
      R"({"model":"m","inputs":{"a":1.}})",        // no fraction digits
      R"({"model":"m","inputs":{"a":.5}})",        // no integer digits
      R"({"model":"m","inputs":{"a":1e}})",        // no exponent digits
      R"({"model":"m","inputs":{"a":+1}})",        // plus sign
      R"({"model":"m","inputs":{"a":1e400}})",     // overflow
      R"({"model":"m","inputs":{"a":1e-400}})",    // underflow
      R"({"model":"m","inputs":{"a":4.9e-324}})",  // subnormal
      R"({"model":"m","inputs":{"a":12345678901234567890}})",  // big integer
      R"({"model":"m","inputs":{"a":tru}})",                   // bad literal
      R"({"model":"m","x":[1,2})",                             // unbalanced
      R"({"model":"m","x":"a\"b"})",  // escape in skipped
      R"({"model":"m","x":nul})",     // bad literal skipped
      R"({"model":"m","x":1e999})",   // overflow skipped
      R"({"model" "m"})",             // no colon
      "{\"model\":\"m\nx\"}",         // control in string
  };
  for (const char* text : declined) {
    Record r;
    EXPECT_FALSE(Scan(text, &r)) << text;
  }
}

// What producers write: the scanners must take all of it (the token
// scanner included), or they are no fast path for it.
TEST_P(JsonRecordScannerTest, AcceptsWhatProducersWrite) {
  simdjson::dom::parser parser;
  const char* const texts[] = {
      // The example stream (bench/example_stream.h).
      R"({"model":"demo","version":"v1","stage":"main","request_id":"r0",)"
      R"("session_id":"s0","latency_seconds":0.04825,"inputs":{"f0":0.8465,)"
      R"("f1":-2.4729,"f2":1.6554,"f3":3.452,"f4":null,"f5":5.8882,)"
      R"("f6":6.4633,"f7":8.3926,"f8":9.4965,"f9":6.1088,"f10":8.3613,)"
      R"("f11":null,"f12":11.4501,"f13":15.2992,"f14":15.1469,"f15":12.256,)"
      R"("country":"JP","device":"ios","query":"weather in berlin"},)"
      R"("outputs":{"label":"bird","score":0.7121,"transcript":"ok"}})",
      // Python's json.dumps separators.
      R"({"model": "demo", "latency_seconds": 0.5, "error": false, )"
      R"("inputs": {"a": 1.5, "b": null, "c": "x", "d": [1, 2.5, "z"]}, )"
      R"("outputs": {"label": "cat", "ok": true}})",
      // Pretty-printed, CRLF line ends, a tab.
      "{\r\n  \"model\" : \"m\",\r\n\t\"inputs\" : {\r\n    \"a\" : -0.25 ,"
      "\r\n    \"b\" : true\r\n  }\r\n}\r\n",
      // Unknown keys with any value, RFC 3339 time, blobs.
      R"({"model":"m","time":"2026-11-28T10:00:00.25+01:00","extra":)"
      R"({"a":[1,{"b":null}],"c":"d"},"n":-1.5e-3,"blobs":{"img":"AAAA"}})",
      // Empty objects and lists; a string with every printable byte.
      R"({"model":"m","inputs":{},"outputs":{"l":[]},"x":" !#$%&'()*+,-./)"
      R"(0123456789:;<=>?@AZ[]^_`az{|}~"})",
  };
  for (const char* text : texts) {
    EXPECT_TRUE(CheckAgainstDom(parser, text)) << text;
  }
}

// The same record moved across 64-byte block boundaries (the token
// scanner indexes 64 bytes at a time: strings and numbers that span two
// blocks carry state from one to the next).
TEST_P(JsonRecordScannerTest, AcceptsRecordsAtEveryOffsetOfABlock) {
  simdjson::dom::parser parser;
  const std::string record =
      R"({"model":"m","inputs":{"long_name_of_a_feature":123456.789012,)"
      R"("q":"a string that is long enough to cross a block boundary",)"
      R"("n":null,"t":true,"f":false,"i":-42},"outputs":{"s":0.5}})";
  for (size_t pad = 0; pad <= 130; ++pad) {
    const std::string text = std::string(pad, ' ') + record;
    EXPECT_TRUE(CheckAgainstDom(parser, text)) << pad;
    Record r;
    ASSERT_TRUE(Scan(text, &r)) << pad;
    ASSERT_EQ(r.inputs.size(), 6u) << pad;
    EXPECT_EQ(r.inputs[0].value.number, 123456.789012) << pad;
    EXPECT_EQ(r.inputs[5].value.number, -42) << pad;
  }
}

// Deterministic random edits of real records: the scanner may decline any
// of them, but what it accepts must be what the DOM path decodes.
TEST_P(JsonRecordScannerTest, RandomMutationsAgreeWithTheDomPath) {
  simdjson::dom::parser parser;
  std::mt19937 rng(20261128);
  const std::string alphabet = "{}[]:,\"\\ -+.eE0123456789tfnulraslx\x80\x01";
  const std::vector<std::string> seeds = {
      kRecord,
      R"({"model":"asr","inputs":{"audio_seconds":3.2,"age":null,)"
      R"("country":"DE","query":"weather in berlin"},)"
      R"("outputs":{"transcript":"","label":"cat","score":0.93}})",
      R"({"model":"m","time":1.5e9,"latency_seconds":12,"error":true})",
  };
  size_t accepted = 0;
  for (int i = 0; i < 60000; ++i) {
    std::string text = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % (text.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          if (at < text.size()) text[at] = c;
          break;
        case 1:
          text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          if (at < text.size()) text.erase(at, 1);
      }
    }
    if (CheckAgainstDom(parser, text)) ++accepted;
    if (HasFailure()) break;
  }
  // Many edits (inside numbers, names, unknown keys) keep a valid record;
  // the scanner must take those, or it is not a fast path.
  EXPECT_GT(accepted, 1000u);
}

// Numbers as features carry them, with more text after them (the scanner
// reads ahead where it can): each must decode exactly as the DOM path
// decodes it (and as strtod rounds it), or be declined with it.
std::string WithNumberUpFront(const std::string& number) {
  return R"({"model":"m","inputs":{"a":)" + number +
         R"(,"padding":"keeps the number away from the end"}})";
}

TEST_P(JsonRecordScannerTest, NumbersDecodeAsTheDomPathDoes) {
  simdjson::dom::parser parser;
  const char* const accepted[] = {
      "0",
      "-0",
      "7",
      "12345678",
      "99999999",
      "123456789",
      "0.5",
      "-0.5",
      "0.0",
      "-0.0",
      "1.25",
      "0.10000000",
      "12345678.1234567",
      "1234567.12345678",
      "12345678.12345678",
      "0.00000001",
      "0.123456789",
      "3.14159265",
      "1e5",
      "1.5e3",
      "1.5E-3",
      "-7.25",
      "1234567890123",
      "1234567890123456",
      "-1234567890123456",
      "12345678901234567",
      "9007199254.740992",  // 2^53 as the mantissa: the fast path's last
      "9007199254.740993",  // past 2^53: converted the long way
      "-0.0000000000001",
  };
  for (const char* number : accepted) {
    const std::string text = WithNumberUpFront(number);
    EXPECT_TRUE(CheckAgainstDom(parser, text)) << text;
    Record r;
    ASSERT_TRUE(Scan(text, &r)) << text;
    ASSERT_EQ(r.inputs.size(), 2u);
    EXPECT_EQ(r.inputs[0].value.number, std::strtod(number, nullptr)) << number;
    const double expected = std::strtod(number, nullptr);
    EXPECT_EQ(std::signbit(r.inputs[0].value.number),
              std::signbit(expected) &&
                  (expected != 0 || std::strchr(number, '.') != nullptr))
        << number;  // -0 is an integer, so +0; -0.0 keeps its sign
  }
  const char* const declined[] = {"00",   "01",  "00.5", "-01.5", "-",
                                  "-a",   "1.",  ".5",   "1.e5",  "1.5.5",
                                  "1.5e", "--1", "0x10", "1 2"};
  for (const char* number : declined) {
    Record r;
    EXPECT_FALSE(Scan(WithNumberUpFront(number), &r)) << number;
  }
  // Random decimals: 1 to 10 integer digits, none or 1 to 10 fraction
  // digits, either sign; the exact double strtod gives.
  std::mt19937 rng(20261129);
  for (int i = 0; i < 20000; ++i) {
    std::string number = rng() % 2 ? "-" : "";
    if (rng() % 2 == 0) {
      number += '0';  // as most features are: 0.xxxx
    } else {
      const int integer_digits = 1 + static_cast<int>(rng() % 10);
      number += static_cast<char>('1' + rng() % 9);
      for (int d = 1; d < integer_digits; ++d) {
        number += static_cast<char>('0' + rng() % 10);
      }
    }
    const int fraction_digits = static_cast<int>(rng() % 11);
    if (fraction_digits > 0) {
      number += '.';
      for (int d = 0; d < fraction_digits; ++d) {
        number += static_cast<char>('0' + rng() % 10);
      }
    }
    Record r;
    ASSERT_TRUE(Scan(WithNumberUpFront(number), &r)) << number;
    ASSERT_EQ(r.inputs[0].value.number, std::strtod(number.c_str(), nullptr))
        << number;
  }
}

// Texts that end in a byte that stops digit and white-space runs, so the
// scanner reads those runs without a bounds check, but where a run would
// start at the very end: nothing past the text may be read (ASan checks
// this in the sanitized build and the fuzzers), and all are declined.
TEST(JsonRecordDispatchTest, RunsThatWouldStartAtTheEndReadNothingPastIt) {
  for (const char* text :
       {R"({"modelodel":)", R"({"model":"m","x":)", R"({"model":"m","x":1.)",
        R"({"model":"m","x":-)", R"({"model":"m","x":1e)",
        R"({"model":"m","inputs":{"a":)", R"({"model":"m","inputs":{"a":0.)",
        R"({"model":"m","latency_seconds":)", R"({"model":"m",)"}) {
    // An exact-size heap copy: a read past its end is a heap overflow.
    const size_t n = std::strlen(text);
    const std::unique_ptr<char[]> copy(new char[n]);
    std::memcpy(copy.get(), text, n);
    Record r;
    EXPECT_FALSE(ScanJsonRecord(std::string_view(copy.get(), n), &r)) << text;
    size_t end = 0;
    EXPECT_FALSE(
        ScanJsonRecordPrefix(std::string_view(copy.get(), n), &r, &end))
        << text;
  }
}

// Records longer than the token scanner's index (large blobs, long
// lists) are the byte scanner's.
TEST(JsonRecordDispatchTest, LongRecordsGoToTheByteScanner) {
  const std::string text = R"({"model":"m","inputs":{"q":")" +
                           std::string(kMaxTokenScanText, 'x') + R"("}})";
  Record r;
  if (JsonTokenScannerAvailable()) {
    EXPECT_FALSE(ScanJsonRecordByTokens(text, &r));
  }
  ASSERT_TRUE(ScanJsonRecord(text, &r));
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_EQ(r.inputs[0].value.text.size(), kMaxTokenScanText);
}

TEST(JsonRecordPrefixScannerTest, PrefixStopsAfterTheObject) {
  Record r;
  size_t end = 0;
  const std::string text = R"({"model":"a"} , {"model":"b"}])";
  ASSERT_TRUE(ScanJsonRecordPrefix(text, &r, &end));
  EXPECT_EQ(r.model, "a");
  EXPECT_EQ(text.substr(end, 3), " , ");
}

}  // namespace
}  // namespace ml_exporter::internal
