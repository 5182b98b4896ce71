#include "exporter/json_syntax.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/label_value.h"
#include "ml_exporter/ingest.h"

namespace ml_exporter::internal {
namespace {

// The full description of the first syntax error in `text`, or "valid".
std::string Describe(std::string_view text, size_t max_depth = 1024) {
  JsonSyntaxError error;
  if (!FindJsonSyntaxError(text, &error, max_depth)) return "valid";
  return DescribeJsonSyntaxError(text, error);
}

TEST(FindJsonSyntaxErrorTest, AcceptsValidDocuments) {
  for (std::string_view text : {
           R"({"a":[1,2.5e-3,-0,1E+2,true,false,null,"x\u00e9\n\"\\\/"]})",
           " 1 ", "\"\xC3\xA9\"", "[]", "{}", " \r\n\t{ \"a\" : { } } \n",
           "-0.5e10", "null", "18446744073709551615", "-9223372036854775808",
           "1.7976931348623157e308", "1e-400", "-0.0000001e-400",
           "123456789012345678901234567890.0",
           "100000000000000000000000000000e-10",
           R"("\ud800\udc00 \uDBFF\uDFFF")",
           "\"\xF4\x8F\xBF\xBF\"",  // U+10FFFF
       }) {
    JsonSyntaxError error;
    EXPECT_FALSE(FindJsonSyntaxError(text, &error))
        << text << " -> " << error.offset << " " << error.expected;
  }
}

TEST(FindJsonSyntaxErrorTest, ReportsOffsetAndExpectation) {
  struct Case {
    std::string text;
    size_t offset;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"[1, 2}", 5, "',' or ']' after an array element"},
      {R"({"a" 1})", 5, "':' after an object key"},
      {R"({"a":1,})", 7, "a string key in double quotes"},
      {R"({"a":1)", 6, "',' or '}' after an object member"},
      {R"({"a":1 "b":2})", 7, "',' or '}' after an object member"},
      {"{a:1}", 1, "a string key in double quotes"},
      {"\"abc", 4, "a closing '\"' before the end of input"},
      {"[tru]", 1, "a JSON value"},
      {"nul", 0, "a JSON value"},
      {R"("a\qb")", 3,
       "a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u)"},
      {R"("\u12G4")", 5, "four hex digits after \\u"},
      {"\"a\tb\"", 2, "no control characters inside a string"},
      {"\"\xFF\"", 1, "valid UTF-8"},
      {"\"\xC3(\"", 1, "valid UTF-8"},
      {"1.", 2, "digits after the decimal point"},
      {"1.e5", 2, "digits after the decimal point"},
      {"1e", 2, "digits in the exponent"},
      {"1e+", 3, "digits in the exponent"},
      {"-", 1, "a JSON value"},
      {"+1", 0,
       "a JSON value (object, array, string, number, true, false or null)"},
      {"{} x", 3, "end of input after the top-level value"},
      {"01", 1, "end of input after the top-level value"},
      {"", 0, "a JSON value"},
      {"  ", 2, "a JSON value"},
      {"[1,]", 3,
       "a JSON value (object, array, string, number, true, false or null)"},
      // Numbers simdjson cannot hold.
      {"18446744073709551616", 0, "an integer from -2^63 to 2^64-1"},
      {"[0, -9223372036854775809]", 4, "an integer from -2^63 to 2^64-1"},
      {"[1, 1e309]", 4, "a number within the range of a double"},
      {"1.8e308", 0, "a number within the range of a double"},
      {"-1e309", 0, "a number within the range of a double"},
      {"0.1e310", 0, "a number within the range of a double"},
      // UTF-16 surrogates come in pairs.
      {R"("a\udc00")", 2, "no lone low surrogate (\\uDC00-\\uDFFF)"},
      {R"("\ud800x")", 7, "a low surrogate \\uDC00-\\uDFFF after a high one"},
      {R"("\ud800\u0041")", 7,
       "a low surrogate \\uDC00-\\uDFFF after a high one"},
      {R"("\ud800\ud800")", 7,
       "a low surrogate \\uDC00-\\uDFFF after a high one"},
      {R"("\ud800")", 7, "a low surrogate \\uDC00-\\uDFFF after a high one"},
      // Overlong forms, surrogates and code points past U+10FFFF.
      {"\"\xC0\xAF\"", 1, "valid UTF-8"},
      {"\"\xE0\x80\xAF\"", 1, "valid UTF-8"},
      {"\"ab\xED\xA0\x80\"", 3, "valid UTF-8"},
      {"\"\xF4\x90\x80\x80\"", 1, "valid UTF-8"},
  };
  for (const Case& c : cases) {
    JsonSyntaxError error;
    ASSERT_TRUE(FindJsonSyntaxError(c.text, &error)) << c.text;
    EXPECT_EQ(error.offset, c.offset) << c.text;
    EXPECT_EQ(error.expected, c.expected) << c.text;
  }
}

TEST(DescribeJsonSyntaxErrorTest, LineColumnByteAndFoundToken) {
  EXPECT_EQ(Describe("[1, 2}"),
            "line 1, column 6 (byte 5): expected ',' or ']' after an array "
            "element, found '}'");
  EXPECT_EQ(Describe(R"({"a":1)"),
            "line 1, column 7 (byte 6): expected ',' or '}' after an object "
            "member, found end of input");
  EXPECT_EQ(Describe("\"a\tb\""),
            "line 1, column 3 (byte 2): expected no control characters inside "
            "a string, found byte 0x09");
  EXPECT_EQ(Describe("\"\xFF\""),
            "line 1, column 2 (byte 1): expected valid UTF-8, found byte 0xFF");
}

TEST(DescribeJsonSyntaxErrorTest, ColumnsCountCharactersNotBytes) {
  // "é" is two bytes but one column.
  EXPECT_EQ(Describe("[\"\xC3\xA9\" 1]"),
            "line 1, column 6 (byte 6): expected ',' or ']' after an array "
            "element, found '1'");
}

TEST(DescribeJsonSyntaxErrorTest, LaterLines) {
  EXPECT_EQ(Describe("{\"\xC3\xA9\": 1,\n  \"b\" 2}"),
            "line 2, column 7 (byte 16): expected ':' after an object key, "
            "found '2'");
  EXPECT_EQ(Describe("[{\"model\":\"a\"},\n {\"model\"}]"),
            "line 2, column 10 (byte 25): expected ':' after an object key, "
            "found '}'");
  EXPECT_EQ(Describe("[\n\n\n  1\n  2]"),
            "line 5, column 3 (byte 10): expected ',' or ']' after an array "
            "element, found '2'");
}

TEST(FindJsonSyntaxErrorTest, NestingDeeperThanMaxDepth) {
  EXPECT_EQ(Describe("[[[1]]]", 3), "valid");
  EXPECT_EQ(Describe(R"({"a":{"b":[]}})", 3), "valid");
  // The fourth bracket is one level too deep, whether or not it has content.
  EXPECT_EQ(Describe("[[[[1]]]]", 3),
            "line 1, column 4 (byte 3): expected less deeply nested "
            "arrays/objects, found '['");
  EXPECT_EQ(Describe("[[[[]]]]", 3),
            "line 1, column 4 (byte 3): expected less deeply nested "
            "arrays/objects, found '['");
  EXPECT_EQ(Describe(R"({"a":{"b":{"c":{}}}})", 3),
            "line 1, column 16 (byte 15): expected less deeply nested "
            "arrays/objects, found '{'");
  const std::string deep = std::string(1024, '[') + std::string(1024, ']');
  EXPECT_EQ(Describe(deep), "valid");
  const std::string deeper = std::string(1025, '[') + std::string(1025, ']');
  EXPECT_EQ(Describe(deeper),
            "line 1, column 1025 (byte 1024): expected less deeply nested "
            "arrays/objects, found '['");
}

TEST(PositionOfTest, LinesAndColumns) {
  const std::string_view text = "ab\ncd\n\xC3\xA9x";
  auto at = [&](size_t offset) {
    TextPosition p = PositionOf(text, offset);
    return std::to_string(p.line) + ":" + std::to_string(p.column);
  };
  EXPECT_EQ(at(0), "1:1");
  EXPECT_EQ(at(1), "1:2");
  EXPECT_EQ(at(2), "1:3");  // the newline itself ends line 1
  EXPECT_EQ(at(3), "2:1");
  EXPECT_EQ(at(4), "2:2");
  EXPECT_EQ(at(6), "3:1");
  EXPECT_EQ(at(8), "3:2");     // after the two bytes of "é"
  EXPECT_EQ(at(9), "3:3");     // end of text
  EXPECT_EQ(at(1000), "3:3");  // clamped to the end
  EXPECT_EQ(PositionOf("", 5).line, 1u);
  EXPECT_EQ(PositionOf("", 5).column, 1u);
}

double ParseOr(std::string_view text, double fallback) {
  double v = fallback;
  return ParseRfc3339(text, &v) ? v : fallback;
}

TEST(ParseRfc3339Test, Utc) {
  double t = -1;
  ASSERT_TRUE(ParseRfc3339("1970-01-01T00:00:00Z", &t));
  EXPECT_EQ(t, 0);
  ASSERT_TRUE(ParseRfc3339("2026-11-28T10:00:00Z", &t));
  EXPECT_EQ(t, 1795860000);
  ASSERT_TRUE(ParseRfc3339("2000-02-29T00:00:00Z", &t));
  EXPECT_EQ(t, 951782400);
  ASSERT_TRUE(ParseRfc3339("1969-12-31T23:59:59Z", &t));
  EXPECT_EQ(t, -1);
  ASSERT_TRUE(ParseRfc3339("1900-01-01T00:00:00Z", &t));
  EXPECT_EQ(t, -2208988800);
  ASSERT_TRUE(ParseRfc3339("2024-12-31T23:59:59Z", &t));
  EXPECT_EQ(t, 1735689599);
}

TEST(ParseRfc3339Test, LowercaseAndSpaceSeparator) {
  EXPECT_EQ(ParseOr("2026-11-28t10:00:00z", -1), 1795860000);
  EXPECT_EQ(ParseOr("2026-11-28 10:00:00Z", -1), 1795860000);
}

TEST(ParseRfc3339Test, FractionalSeconds) {
  EXPECT_DOUBLE_EQ(ParseOr("2026-11-28T10:00:00.25Z", -1), 1795860000.25);
  EXPECT_DOUBLE_EQ(ParseOr("2026-11-28T10:00:00.5Z", -1), 1795860000.5);
  EXPECT_NEAR(ParseOr("2026-11-28T10:00:00.123456789Z", -1),
              1795860000.123456789, 1e-6);
  EXPECT_DOUBLE_EQ(ParseOr("1970-01-01T00:00:00.001Z", -1), 0.001);
}

TEST(ParseRfc3339Test, Offsets) {
  EXPECT_EQ(ParseOr("2026-11-28T11:00:00+01:00", -1), 1795860000);
  EXPECT_EQ(ParseOr("2026-11-28T10:00:00+00:00", -1), 1795860000);
  EXPECT_EQ(ParseOr("2026-11-28T10:00:00-00:00", -1), 1795860000);
  EXPECT_EQ(ParseOr("2026-11-28T04:30:00-05:30", -1), 1795860000);
  EXPECT_DOUBLE_EQ(ParseOr("2026-11-28T10:00:00.25+01:00", -1),
                   1795860000.25 - 3600);
  // Crosses midnight and the year.
  EXPECT_EQ(ParseOr("2025-01-01T00:59:59+01:00", -1), 1735689599);
}

TEST(ParseRfc3339Test, RejectsInvalidTimes) {
  for (std::string_view text : {
           "",
           "2026-11-28",
           "2026-11-28T10:00:00",  // no zone
           "2026-11-28T10:00Z",
           "2026-11-28T10:00:00.Z",
           "2026-11-28T10:00:00+0100",
           "2026-11-28T10:00:00+01",
           "2026-11-28T10:00:00+1:00",
           "2026-11-28T10:00:00+24:00",
           "2026-11-28T10:00:00+01:60",
           "2026-11-28T10:00:00Zjunk",
           "2026-11-28T10:00:00+01:00x",
           " 2026-11-28T10:00:00Z",
           "2026/11/28T10:00:00Z",
           "2026-11-28X10:00:00Z",
           "26-11-28T10:00:00Z",
           "2026-13-01T00:00:00Z",
           "2026-00-10T00:00:00Z",
           "2026-11-00T00:00:00Z",
           "2026-11-32T00:00:00Z",
           "2026-11-28T24:00:00Z",
           "2026-11-28T10:60:00Z",
           "2026-11-28T10:00:61Z",
           "2026-02-30T00:00:00Z",  // no 30 February
           "2025-02-29T00:00:00Z",  // 2025 is not a leap year
           "1900-02-29T00:00:00Z",  // nor is 1900
           "2026-04-31T00:00:00Z",
           "2026-11-28T1O:00:00Z",
           "yesterday",
       }) {
    double t = 12345;
    EXPECT_FALSE(ParseRfc3339(text, &t)) << text << " -> " << t;
  }
}

TEST(ParseRfc3339Test, AcceptsLastDayOfEveryMonth) {
  for (std::string_view text : {
           "2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z",
           "2024-02-29T00:00:00Z", "2026-03-31T00:00:00Z",
           "2026-04-30T00:00:00Z", "2026-05-31T00:00:00Z",
           "2026-06-30T00:00:00Z", "2026-07-31T00:00:00Z",
           "2026-08-31T00:00:00Z", "2026-09-30T00:00:00Z",
           "2026-10-31T00:00:00Z", "2026-11-30T00:00:00Z",
           "2026-12-31T00:00:00Z",
           "2016-12-31T23:59:60Z",  // a leap second
       }) {
    double t = 0;
    EXPECT_TRUE(ParseRfc3339(text, &t)) << text;
  }
  EXPECT_EQ(
      ParseOr("2026-03-01T00:00:00Z", 0) - ParseOr("2026-02-28T00:00:00Z", 0),
      86400);
}

TEST(SanitizeLabelValueTest, KeepsValidUtf8) {
  EXPECT_EQ(SanitizeLabelValue("abc", 8), "abc");
  EXPECT_EQ(SanitizeLabelValue("", 8), "");
  EXPECT_EQ(SanitizeLabelValue("h\xC3\xA9llo", 128), "h\xC3\xA9llo");
  EXPECT_EQ(SanitizeLabelValue("\xF0\x9F\x98\x80", 4), "\xF0\x9F\x98\x80");
}

TEST(SanitizeLabelValueTest, CutsAtCharacterBoundary) {
  EXPECT_EQ(SanitizeLabelValue("abcdef", 4), "abcd");
  EXPECT_EQ(SanitizeLabelValue("abc", 0), "");
  EXPECT_EQ(SanitizeLabelValue("h\xC3\xA9llo", 1), "h");
  EXPECT_EQ(SanitizeLabelValue("h\xC3\xA9llo", 2), "h");  // not half of "é"
  EXPECT_EQ(SanitizeLabelValue("h\xC3\xA9llo", 3), "h\xC3\xA9");
  EXPECT_EQ(SanitizeLabelValue("\xF0\x9F\x98\x80!", 3), "");
  EXPECT_EQ(SanitizeLabelValue("\xE6\x97\xA5\xE6\x9C\xAC", 5), "\xE6\x97\xA5");
}

TEST(SanitizeLabelValueTest, ReplacesInvalidBytesWithReplacementCharacter) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(SanitizeLabelValue("a\xFF"
                               "b",
                               16),
            "a" + fffd + "b");
  EXPECT_EQ(SanitizeLabelValue("a\xC3", 16), "a" + fffd);  // truncated
  EXPECT_EQ(SanitizeLabelValue("\xC3(", 16), fffd + "(");  // bad continuation
  EXPECT_EQ(SanitizeLabelValue("\xC0\xAF", 16), fffd + fffd);  // overlong
  EXPECT_EQ(SanitizeLabelValue("\xED\xA0\x80", 16),
            fffd + fffd + fffd);  // surrogate
  EXPECT_EQ(SanitizeLabelValue("\xF4\x90\x80\x80", 16),
            fffd + fffd + fffd + fffd);             // above U+10FFFF
  EXPECT_EQ(SanitizeLabelValue("\x80", 16), fffd);  // lone continuation
  // The replacement counts three bytes against the limit.
  EXPECT_EQ(SanitizeLabelValue("a\xFF", 3), "a");
  EXPECT_EQ(SanitizeLabelValue("a\xFF", 4), "a" + fffd);
}

TEST(Utf8LengthTest, CountsCodePoints) {
  EXPECT_EQ(Utf8Length(""), 0u);
  EXPECT_EQ(Utf8Length("abc"), 3u);
  EXPECT_EQ(Utf8Length("h\xC3\xA9llo"), 5u);
  EXPECT_EQ(Utf8Length("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"), 3u);
  EXPECT_EQ(Utf8Length("\xF0\x9F\x98\x80"), 1u);
  EXPECT_EQ(Utf8Length("a\xFF"
                       "b"),
            3u);
  EXPECT_EQ(Utf8Length("\xC3"), 1u);
  EXPECT_EQ(Utf8Length("\xC0\xAF"), 2u);
}

TEST(CappedInternerTest, AdmitsUpToCapThenOverflows) {
  CappedInterner interner(2, 128);
  EXPECT_FALSE(interner.full());
  auto a = interner.Intern("a");
  EXPECT_EQ(a.id, 0u);
  EXPECT_FALSE(a.overflow);
  auto b = interner.Intern("b");
  EXPECT_EQ(b.id, 1u);
  EXPECT_FALSE(b.overflow);
  auto c = interner.Intern("c");
  EXPECT_EQ(c.id, 2u);
  EXPECT_TRUE(c.overflow);
  EXPECT_TRUE(interner.full());
  auto a2 = interner.Intern("a");
  EXPECT_EQ(a2.id, 0u);
  EXPECT_FALSE(a2.overflow);
  auto d = interner.Intern("d");
  EXPECT_EQ(d.id, 2u);
  EXPECT_TRUE(d.overflow);
  EXPECT_EQ(interner.size(), 3u);
  EXPECT_EQ(interner.Names(),
            (std::vector<std::string>{"a", "b", "__other__"}));
  EXPECT_EQ(interner.Name(1), "b");
  EXPECT_EQ(interner.Name(2), "__other__");
  EXPECT_EQ(interner.Name(3), "");
}

TEST(CappedInternerTest, SanitizedDuplicatesShareAnId) {
  CappedInterner interner(10, 8);
  auto x = interner.Intern("abcdefghX");
  auto y = interner.Intern("abcdefghY");
  EXPECT_EQ(x.id, 0u);
  EXPECT_EQ(y.id, 0u);
  EXPECT_FALSE(y.overflow);
  auto bad1 = interner.Intern("\xFF");
  auto bad2 = interner.Intern("\xFE");
  EXPECT_EQ(bad1.id, 1u);
  EXPECT_EQ(bad2.id, 1u);
  EXPECT_EQ(interner.Names(),
            (std::vector<std::string>{"abcdefgh", "\xEF\xBF\xBD"}));
}

TEST(CappedInternerTest, OverflowJoinsADataValueCalledOther) {
  CappedInterner interner(2, 128);
  EXPECT_EQ(interner.Intern("__other__").id, 0u);
  EXPECT_EQ(interner.Intern("x").id, 1u);
  auto y = interner.Intern("y");
  EXPECT_EQ(y.id, 0u);
  EXPECT_TRUE(y.overflow);
  EXPECT_EQ(interner.Names(), (std::vector<std::string>{"__other__", "x"}));
}

TEST(CappedInternerTest, ConcurrentInternsAgree) {
  CappedInterner interner(50, 128);
  constexpr int kThreads = 4;
  std::vector<std::vector<uint32_t>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 10; ++round) {
        for (int i = 0; i < 100; ++i) {
          const uint32_t id = interner.Intern("v" + std::to_string(i)).id;
          if (round == 0) ids[t].push_back(id);
          EXPECT_EQ(id, ids[t][i]);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(interner.size(), 51u);
  const std::vector<std::string> names = interner.Names();
  EXPECT_EQ(names.back(), "__other__");
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(ids[t], ids[0]);
  std::set<uint32_t> admitted;
  for (int i = 0; i < 100; ++i) {
    const uint32_t id = ids[0][i];
    if (id != 50) {
      admitted.insert(id);
      EXPECT_EQ(names[id], "v" + std::to_string(i));
    }
  }
  EXPECT_EQ(admitted.size(), 50u);
}

}  // namespace
}  // namespace ml_exporter::internal
