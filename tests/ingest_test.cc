#include "ml_exporter/ingest.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "exporter/json_syntax.h"
#include "ml_exporter.pb.h"
#include "ml_exporter/collector.h"
#include "ml_exporter/pipeline.h"
#include "tests/metric_test_util.h"

namespace ml_exporter {
namespace {

using testing::CounterValue;
using testing::Families;
using testing::ModelSeries;

// --- a collector that records what the decoders produced --------------------

std::string Num(double v) {
  if (std::isnan(v)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

std::string RenderValue(const FieldValue& v,
                        const std::vector<FieldValue>& items) {
  switch (v.kind) {
    case FieldValue::Kind::kNull:
      return "null";
    case FieldValue::Kind::kNumber:
      return Num(v.number);
    case FieldValue::Kind::kString:
      return "\"" + std::string(v.text) + "\"";
    case FieldValue::Kind::kBool:
      return v.boolean ? "true" : "false";
    case FieldValue::Kind::kList: {
      std::string s = "[";
      for (uint32_t i = 0; i < v.list_size; ++i) {
        if (i > 0) s += ",";
        s += RenderValue(items[v.list_begin + i], items);
      }
      return s + "]";
    }
  }
  return "?";
}

std::string RenderFields(const std::vector<Field>& fields,
                         const std::vector<FieldValue>& items, bool sorted) {
  std::vector<std::string> parts;
  for (const Field& f : fields) {
    parts.push_back(std::string(f.name) + ":" + RenderValue(f.value, items));
  }
  if (sorted) std::sort(parts.begin(), parts.end());
  std::string s = "{";
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? "," : "") + parts[i];
  return s + "}";
}

std::string RenderRecord(const Record& r, bool sorted) {
  std::string blobs = "{";
  for (size_t i = 0; i < r.blobs.size(); ++i) {
    blobs += (i ? "," : "") + std::string(r.blobs[i].name) + ":" +
             std::string(r.blobs[i].data) +
             (r.blobs[i].base64 ? "(base64)" : "(raw)");
  }
  blobs += "}";
  return "model=" + std::string(r.model) +
         " version=" + std::string(r.version) +
         " stage=" + std::string(r.stage) +
         " request_id=" + std::string(r.request_id) +
         " session_id=" + std::string(r.session_id) +
         " time=" + Num(r.time_seconds) + " latency=" + Num(r.latency_seconds) +
         " error=" + (r.error ? "true" : "false") +
         " inputs=" + RenderFields(r.inputs, r.list_items, sorted) +
         " outputs=" + RenderFields(r.outputs, r.list_items, sorted) +
         " blobs=" + blobs;
}

std::string RenderEvent(const Event& e) {
  return "type=" + std::string(e.type) + " model=" + std::string(e.model) +
         " version=" + std::string(e.version) +
         " stage=" + std::string(e.stage) +
         " request_id=" + std::string(e.request_id) +
         " session_id=" + std::string(e.session_id) +
         " time=" + Num(e.time_seconds) +
         " value=" + RenderValue(e.value, e.list_items);
}

struct Captured {
  std::mutex mu;
  std::vector<std::string> records;         // fields in input order
  std::vector<std::string> sorted_records;  // fields sorted by name
  std::vector<std::string> events;
  void Clear() {
    std::lock_guard<std::mutex> lock(mu);
    records.clear();
    sorted_records.clear();
    events.clear();
  }
};

Captured& Capture() {
  static Captured* captured = new Captured;
  return *captured;
}

class CaptureCollector : public Collector {
 public:
  void Observe(const Record& record, const ObserveContext&) override {
    Captured& c = Capture();
    std::lock_guard<std::mutex> lock(c.mu);
    c.records.push_back(RenderRecord(record, false));
    c.sorted_records.push_back(RenderRecord(record, true));
  }
  void ObserveEvent(const Event& event, const ObserveContext&) override {
    Captured& c = Capture();
    std::lock_guard<std::mutex> lock(c.mu);
    c.events.push_back(RenderEvent(event));
  }
  Status Collect(const ModelTable&,
                 std::vector<prometheus::MetricFamily>*) override {
    return Status::Ok();
  }
};

// Off by default, so it only runs where a test names it.
ML_EXPORTER_REGISTER_COLLECTOR(test_capture, "test_capture",
                               "Test only: keeps a copy of every record.",
                               false, [](const CollectorContext&) {
                                 return std::make_unique<CaptureCollector>();
                               });

// --- fixture
// ------------------------------------------------------------------

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Capture().Clear();
    PipelineOptions options;
    options.collectors = {"inputs", "outputs", "software", "test_capture"};
    ASSERT_TRUE(Pipeline::Create(options, &pipeline_).ok());
  }

  // Every metric except the timing gauge, as exposition text.
  std::string Scrape(std::set<std::string> exclude = {}) {
    exclude.insert("ml_exporter_collector_duration_seconds");
    Families families = pipeline_->Collect();
    families.erase(std::remove_if(families.begin(), families.end(),
                                  [&](const prometheus::MetricFamily& f) {
                                    return exclude.count(f.name) > 0;
                                  }),
                   families.end());
    return prometheus::TextSerializer().Serialize(families);
  }

  uint64_t Rejected(IngestSource source, RejectReason reason) {
    return pipeline_->ingest_stats().rejected(source, reason);
  }

  std::vector<std::string> Records() { return Capture().records; }
  std::vector<std::string> Events() { return Capture().events; }

  std::unique_ptr<Pipeline> pipeline_;
};

// "index line reason: message" for every error.
std::vector<std::string> Errors(const IngestResult& r) {
  std::vector<std::string> out;
  for (const IngestError& e : r.errors) {
    out.push_back(std::to_string(e.index) + " " + std::to_string(e.line) + " " +
                  std::string(ReasonName(e.reason)) + ": " + e.message);
  }
  return out;
}

using Strings = std::vector<std::string>;

// --- JSON shapes
// ----------------------------------------------------------------

TEST_F(IngestTest, OneRecordObjectDecodesEveryField) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  const IngestResult r = ingestor.IngestJson(R"({
    "model": "asr", "version": "v3", "stage": "decoder",
    "request_id": "r-1", "session_id": "s-1", "time": "2026-11-28T10:00:00Z",
    "latency_seconds": 0.183, "error": false,
    "inputs":  {"audio_seconds": 3.2, "age": null, "country": "DE",
                "query": "weather in berlin", "tokens": [1, "a", true, null],
                "flag": true, "n": -7},
    "outputs": {"transcript": "", "label": "cat", "score": 0.93, "none": []},
    "blobs":   {"audio": "AAEC"},
    "unknown_key": {"ignored": [1, {"x": 2}]}})");
  EXPECT_TRUE(r.body_status.ok()) << r.body_status.message();
  EXPECT_EQ(r.accepted, 1u);
  EXPECT_EQ(r.rejected, 0u);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(
      Records(),
      Strings{"model=asr version=v3 stage=decoder request_id=r-1 "
              "session_id=s-1 time=1795860000 latency=0.183 error=false "
              "inputs={audio_seconds:3.2,age:null,country:\"DE\","
              "query:\"weather in berlin\",tokens:[1,\"a\",true,null],"
              "flag:true,n:-7} "
              "outputs={transcript:\"\",label:\"cat\",score:0.93,none:[]} "
              "blobs={audio:AAEC(base64)}"});
  EXPECT_EQ(pipeline_->ingest_stats().accepted(IngestSource::kHttp), 1u);
  EXPECT_EQ(pipeline_->ingest_stats().accepted(IngestSource::kFile), 0u);
  const Families f = pipeline_->Collect();
  EXPECT_EQ(CounterValue(f, "ml_records_total",
                         ModelSeries("asr", {}, "v3", "decoder")),
            1);
  EXPECT_EQ(CounterValue(f, "ml_exporter_ingested_records_total",
                         {{"source", "http"}}),
            1);
}

TEST_F(IngestTest, NullOptionalFieldsAreAbsent) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  const IngestResult r = ingestor.IngestJson(
      R"({"model":"m","version":null,"stage":null,"request_id":null,)"
      R"("session_id":null,"time":null,"latency_seconds":null,"error":null,)"
      R"("inputs":null,"outputs":null,"blobs":null})");
  EXPECT_EQ(r.accepted, 1u);
  EXPECT_EQ(Records(),
            Strings{"model=m version= stage= request_id= session_id= time=nan "
                    "latency=nan error=false inputs={} outputs={} blobs={}"});
}

TEST_F(IngestTest, TimeAsUnixSecondsAndWithOffset) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  const IngestResult r = ingestor.IngestJson(
      R"([{"model":"a","time":1795860000.5},)"
      R"({"model":"b","time":"2026-11-28T11:00:00.25+01:00"}])");
  EXPECT_EQ(r.accepted, 2u);
  const Strings records = Records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_NE(records[0].find(" time=1795860000.5 "), std::string::npos)
      << records[0];
  EXPECT_NE(records[1].find(" time=1795860000.25 "), std::string::npos)
      << records[1];
}

TEST_F(IngestTest, ArrayOfRecords) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  const IngestResult r = ingestor.IngestJson(
      R"([{"model":"a"}, {"model":"b","error":true,"latency_seconds":2}])");
  EXPECT_TRUE(r.body_status.ok());
  EXPECT_EQ(r.accepted, 2u);
  EXPECT_EQ(r.rejected, 0u);
  EXPECT_EQ(Records(),
            (Strings{"model=a version= stage= request_id= session_id= "
                     "time=nan latency=nan error=false inputs={} outputs={} "
                     "blobs={}",
                     "model=b version= stage= request_id= session_id= "
                     "time=nan latency=2 error=true inputs={} outputs={} "
                     "blobs={}"}));
  const Families f = pipeline_->Collect();
  EXPECT_EQ(CounterValue(f, "ml_records_total", ModelSeries("a")), 1);
  EXPECT_EQ(CounterValue(f, "ml_prediction_errors_total", ModelSeries("b")), 1);
}

TEST_F(IngestTest, EmptyArrayAcceptsNothing) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  const IngestResult r = ingestor.IngestJson(" [ ] ");
  EXPECT_TRUE(r.body_status.ok());
  EXPECT_EQ(r.accepted, 0u);
  EXPECT_EQ(r.rejected, 0u);
  EXPECT_EQ(IngestResultToJson(r),
            R"({"accepted":0,"rejected":0,"errors":[]})");
}

TEST_F(IngestTest, RecordsAndEventsWrapper) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  const IngestResult r = ingestor.IngestJson(
      R"({"records":[{"model":"a","request_id":"r-1"},{"model":"b"}],)"
      R"("events":[{"type":"click","model":"a","version":"v1","stage":"s",)"
      R"("request_id":"r-1","session_id":"s-1","time":"1970-01-01T00:00:01Z",)"
      R"("value":["x",2]},{"type":"label","value":"cat"}]})");
  EXPECT_TRUE(r.body_status.ok()) << r.body_status.message();
  EXPECT_EQ(r.accepted, 4u);
  EXPECT_EQ(r.rejected, 0u);
  EXPECT_EQ(Records().size(), 2u);
  EXPECT_EQ(Events(),
            (Strings{"type=click model=a version=v1 stage=s request_id=r-1 "
                     "session_id=s-1 time=1 value=[\"x\",2]",
                     "type=label model= version= stage= request_id= "
                     "session_id= time=nan value=\"cat\""}));
  EXPECT_EQ(pipeline_->ingest_stats().accepted(IngestSource::kHttp), 2u);
  EXPECT_EQ(pipeline_->ingest_stats().accepted_events(IngestSource::kHttp), 2u);
  const Families f = pipeline_->Collect();
  EXPECT_EQ(CounterValue(f, "ml_exporter_ingested_events_total",
                         {{"source", "http"}}),
            2);
}

TEST_F(IngestTest, WrapperWithOnlyEventsOrNullRecords) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  IngestResult r = ingestor.IngestJson(R"({"events":[{"type":"click"}]})");
  EXPECT_TRUE(r.body_status.ok());
  EXPECT_EQ(r.accepted, 1u);
  r = ingestor.IngestJson(
      R"({"records":null,"events":[{"type":"a"},{"type":"b"}]})");
  EXPECT_TRUE(r.body_status.ok());
  EXPECT_EQ(r.accepted, 2u);
  r = ingestor.IngestJson(R"({"records":[{"model":"m"}],"events":null})");
  EXPECT_TRUE(r.body_status.ok());
  EXPECT_EQ(r.accepted, 1u);
  EXPECT_EQ(Records().size(), 1u);
  EXPECT_EQ(Events().size(), 3u);
}

TEST_F(IngestTest, WrapperIndexesRecordsBeforeEvents) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  // Events come first in the text, but records are indexed first.
  const IngestResult r =
      ingestor.IngestJson(R"({"events":[{"type":"x"},{"model":"m"}],)"
                          R"("records":[{"model":"a"},{"version":"v"}]})");
  EXPECT_EQ(r.accepted, 2u);
  EXPECT_EQ(r.rejected, 2u);
  EXPECT_EQ(Errors(r), (Strings{
                           "1 0 missing_field: field \"model\" is required",
                           "3 0 missing_field: field \"type\" is required in "
                           "an event",
                       }));
  EXPECT_EQ(Rejected(IngestSource::kHttp, RejectReason::kMissingField), 2u);
}

// --- per-record errors in a JSON body
// ------------------------------------------

struct RecordErrorCase {
  std::string body;
  RejectReason reason;
  std::string message;
};

TEST_F(IngestTest, InvalidRecordsAreRejectedAlone) {
  const std::vector<RecordErrorCase> cases = {
      {R"({"version":"v1"})", RejectReason::kMissingField,
       "field \"model\" is required"},
      {R"({"model":""})", RejectReason::kMissingField,
       "field \"model\" is required"},
      {R"({"model":null})", RejectReason::kMissingField,
       "field \"model\" is required"},
      {R"({"model":5})", RejectReason::kWrongType,
       "field \"model\": expected a string, got a number"},
      {R"({"model":"m","version":["v"]})", RejectReason::kWrongType,
       "field \"version\": expected a string, got an array"},
      {R"({"model":"m","stage":true})", RejectReason::kWrongType,
       "field \"stage\": expected a string, got a boolean"},
      {R"({"model":"m","request_id":{}})", RejectReason::kWrongType,
       "field \"request_id\": expected a string, got an object"},
      {R"({"model":"m","latency_seconds":"0.1"})", RejectReason::kWrongType,
       "field \"latency_seconds\": expected a number, got a string"},
      {R"({"model":"m","error":1})", RejectReason::kWrongType,
       "field \"error\": expected a boolean, got a number"},
      {R"({"model":"m","error":"true"})", RejectReason::kWrongType,
       "field \"error\": expected a boolean, got a string"},
      {R"({"model":"m","inputs":[1]})", RejectReason::kWrongType,
       "field \"inputs\": expected an object of name: value, got an array"},
      {R"({"model":"m","outputs":"x"})", RejectReason::kWrongType,
       "field \"outputs\": expected an object of name: value, got a string"},
      {R"({"model":"m","inputs":{"a":1,"x":{"y":1}}})",
       RejectReason::kUnsupportedValue,
       "field \"inputs.x\": nested objects are not supported; use a number, "
       "string, boolean, null or list"},
      {R"({"model":"m","outputs":{"x":[[1,2]]}})",
       RejectReason::kUnsupportedValue,
       "field \"outputs.x\": list elements must be numbers, strings, booleans "
       "or null, got an array"},
      {R"({"model":"m","inputs":{"x":[1,{"a":1}]}})",
       RejectReason::kUnsupportedValue,
       "field \"inputs.x\": list elements must be numbers, strings, booleans "
       "or null, got an object"},
      {R"({"model":"m","latency_seconds":-0.5})", RejectReason::kInvalidValue,
       "field \"latency_seconds\": must be >= 0, got -0.500000"},
      {R"({"model":"m","time":"yesterday"})", RejectReason::kInvalidValue,
       "field \"time\": \"yesterday\" is not an RFC 3339 time like "
       "2026-11-28T10:00:00Z"},
      {R"({"model":"m","time":"2026-02-30T00:00:00Z"})",
       RejectReason::kInvalidValue,
       "field \"time\": \"2026-02-30T00:00:00Z\" is not an RFC 3339 time like "
       "2026-11-28T10:00:00Z"},
      {R"({"model":"m","time":true})", RejectReason::kWrongType,
       "field \"time\": expected an RFC 3339 string or Unix seconds, got a "
       "boolean"},
      {R"({"model":"m","blobs":[]})", RejectReason::kWrongType,
       "field \"blobs\": expected an object of name: base64 string, got an "
       "array"},
      {R"({"model":"m","blobs":{"audio":1}})", RejectReason::kWrongType,
       "field \"blobs.audio\": expected a base64 string, got a number"},
  };
  for (const RecordErrorCase& c : cases) {
    Capture().Clear();
    Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
    const uint64_t before = Rejected(IngestSource::kHttp, c.reason);
    // A valid record on each side: the bad one is rejected alone.
    const std::string body =
        R"([{"model":"ok1"},)" + c.body + R"(,{"model":"ok2"}])";
    const IngestResult r = ingestor.IngestJson(body);
    EXPECT_TRUE(r.body_status.ok()) << body;
    EXPECT_EQ(r.accepted, 2u) << body;
    EXPECT_EQ(r.rejected, 1u) << body;
    ASSERT_EQ(r.errors.size(), 1u) << body;
    EXPECT_EQ(r.errors[0].index, 1u) << body;
    EXPECT_EQ(r.errors[0].line, 0u) << body;
    EXPECT_EQ(r.errors[0].reason, c.reason) << body;
    EXPECT_EQ(r.errors[0].message, c.message) << body;
    EXPECT_EQ(Rejected(IngestSource::kHttp, c.reason), before + 1) << body;
    EXPECT_EQ(Records().size(), 2u) << body;
  }
}

TEST_F(IngestTest, RecordThatIsNotAnObject) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  const IngestResult r =
      ingestor.IngestJson(R"([1, "x", {"model":"a"}, null, [], true])");
  EXPECT_TRUE(r.body_status.ok());
  EXPECT_EQ(r.accepted, 1u);
  EXPECT_EQ(r.rejected, 5u);
  EXPECT_EQ(Errors(r), (Strings{
                           "0 0 not_an_object: a record must be a JSON object",
                           "1 0 not_an_object: a record must be a JSON object",
                           "3 0 not_an_object: a record must be a JSON object",
                           "4 0 not_an_object: a record must be a JSON object",
                           "5 0 not_an_object: a record must be a JSON object",
                       }));
  EXPECT_EQ(Rejected(IngestSource::kHttp, RejectReason::kNotAnObject), 5u);
}

TEST_F(IngestTest, EventErrors) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  const IngestResult r = ingestor.IngestJson(
      R"({"events":[{"model":"a"},{"type":""},{"type":5},7,)"
      R"({"type":"t","value":{"a":1}},{"type":"t","time":"x"},)"
      R"({"type":"ok"}]})");
  EXPECT_EQ(r.accepted, 1u);
  EXPECT_EQ(r.rejected, 6u);
  EXPECT_EQ(
      Errors(r),
      (Strings{
          "0 0 missing_field: field \"type\" is required in an event",
          "1 0 missing_field: field \"type\" is required in an event",
          "2 0 wrong_type: field \"type\": expected a string, got a number",
          "3 0 not_an_object: an event must be a JSON object",
          "4 0 unsupported_value: field \"value\": nested objects are not "
          "supported; use a number, string, boolean, null or list",
          "5 0 invalid_value: field \"time\": \"x\" is not an RFC 3339 time "
          "like 2026-11-28T10:00:00Z",
      }));
  EXPECT_EQ(Events().size(), 1u);
  EXPECT_EQ(pipeline_->ingest_stats().accepted_events(IngestSource::kHttp), 1u);
}

TEST_F(IngestTest, ErrorsAreCappedButAllCounted) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  std::string body = "[";
  for (int i = 0; i < 150; ++i) body += "{},";
  body += R"({"model":"a"}])";
  const IngestResult r = ingestor.IngestJson(body);
  EXPECT_EQ(r.accepted, 1u);
  EXPECT_EQ(r.rejected, 150u);
  ASSERT_EQ(r.errors.size(), IngestResult::kMaxErrors);
  EXPECT_EQ(r.errors.back().index, 99u);
  EXPECT_EQ(Rejected(IngestSource::kHttp, RejectReason::kMissingField), 150u);
}

// --- whole-body errors
// -----------------------------------------------------------

TEST_F(IngestTest, InvalidJsonBodyIsRejectedWholeWithPosition) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  // A valid first record, then a syntax error: nothing is observed.
  const std::string body = "[{\"model\":\"a\"},\n{\"m\":true}}";
  const std::string before = Scrape({"ml_exporter_rejected_records_total"});
  const IngestResult r = ingestor.IngestJson(body);
  EXPECT_FALSE(r.body_status.ok());
  EXPECT_EQ(r.body_status.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(r.body_status.message(),
            "invalid JSON at line 2, column 11 (byte 26): expected ',' or ']' "
            "after an array element, found '}'");
  EXPECT_EQ(r.accepted, 0u);
  EXPECT_EQ(r.rejected, 0u);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_TRUE(Records().empty());
  EXPECT_EQ(Scrape({"ml_exporter_rejected_records_total"}), before);
  EXPECT_EQ(Rejected(IngestSource::kHttp, RejectReason::kInvalidJson), 1u);
  const Families f = pipeline_->Collect();
  EXPECT_EQ(CounterValue(f, "ml_exporter_rejected_records_total",
                         {{"source", "http"}, {"reason", "invalid_json"}}),
            1);
  EXPECT_TRUE(
      std::isnan(CounterValue(f, "ml_records_total", ModelSeries("a"))));
  EXPECT_EQ(IngestResultToJson(r),
            "{\"accepted\":0,\"rejected\":0,\"error\":\"invalid JSON at line "
            "2, column 11 (byte 26): expected ',' or ']' after an array "
            "element, found '}'\",\"errors\":[]}");
}

TEST_F(IngestTest, MoreInvalidJsonBodies) {
  struct Case {
    std::string body;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"",
       "invalid JSON at line 1, column 1 (byte 0): expected a JSON value, "
       "found end of input"},
      {R"({"model":"a")",
       "invalid JSON at line 1, column 13 (byte 12): expected ',' or '}' after "
       "an object member, found end of input"},
      {R"({"model":"a",})",
       "invalid JSON at line 1, column 14 (byte 13): expected a string key in "
       "double quotes, found '}'"},
      {"{\"model\":\"a\xFF\"}",
       "invalid JSON at line 1, column 12 (byte 11): expected valid UTF-8, "
       "found byte 0xFF"},
      // Overlong and surrogate encodings are invalid UTF-8 too.
      {"{\"model\":\"\xC0\xAF\"}",
       "invalid JSON at line 1, column 11 (byte 10): expected valid UTF-8, "
       "found byte 0xC0"},
      {"{\"model\":\"\xED\xA0\x80\"}",
       "invalid JSON at line 1, column 11 (byte 10): expected valid UTF-8, "
       "found byte 0xED"},
      {R"({"model":"a"} {"model":"b"})",
       "invalid JSON at line 1, column 15 (byte 14): expected end of input "
       "after the top-level value, found '{'"},
      {std::string(1025, '[') + std::string(1025, ']'),
       "invalid JSON at line 1, column 1025 (byte 1024): expected less deeply "
       "nested arrays/objects, found '['"},
      // Valid JSON grammar that the parser cannot represent.
      {R"({"model":"a","latency_seconds":1e400})",
       "invalid JSON at line 1, column 32 (byte 31): expected a number within "
       "the range of a double, found '1'"},
      {R"({"model":"a","inputs":{"n":18446744073709551616}})",
       "invalid JSON at line 1, column 28 (byte 27): expected an integer from "
       "-2^63 to 2^64-1, found '1'"},
      {R"({"model":"a","inputs":{"s":"\ud800"}})",
       "invalid JSON at line 1, column 35 (byte 34): expected a low surrogate "
       "\\uDC00-\\uDFFF after a high one, found '\"'"},
  };
  for (const Case& c : cases) {
    Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
    const IngestResult r = ingestor.IngestJson(c.body);
    EXPECT_FALSE(r.body_status.ok()) << c.body;
    EXPECT_EQ(r.body_status.message(), c.message) << c.body;
    EXPECT_EQ(r.accepted, 0u);
  }
  EXPECT_EQ(Rejected(IngestSource::kHttp, RejectReason::kInvalidJson),
            cases.size());
  EXPECT_TRUE(Records().empty());
}

// Whatever the parser rejects, the syntax scanner locates, so every
// rejected body gets a position.
TEST_F(IngestTest, ScannerAgreesWithParser) {
  const std::vector<std::string> values = {
      "0",
      "-0",
      "1e-400",
      "1e400",
      "-1e400",
      "1.7976931348623157e308",
      "1.7976931348623159e308",
      "18446744073709551615",
      "18446744073709551616",
      "-9223372036854775808",
      "-9223372036854775809",
      "123456789012345678901234567890",
      "123456789012345678901234567890.5",
      "0.00000000000000000000000000000000001e-300",
      "1E+2",
      "1e00000000000000300",
      R"("\u0000")",
      R"("\ud800\udc00")",
      R"("\udc00")",
      R"("\ud800")",
      R"("\ud800\ud800\udc00")",
      R"("\uDBFF\uDFFF")",
      "\"\xC3\xA9\"",
      "\"\xC0\x80\"",
      "\"\xED\x9F\xBF\"",
      "\"\xED\xA0\x80\"",
      "\"\xEF\xBF\xBF\"",
      "\"\xF0\x90\x80\x80\"",
      "\"\xF0\x8F\xBF\xBF\"",
      "\"\xF4\x8F\xBF\xBF\"",
      "\"\xF4\x90\x80\x80\"",
      "\"\xF8\x88\x80\x80\x80\"",
      "\"\x7F\""};
  for (const std::string& v : values) {
    const std::string body = R"({"model":"a","inputs":{"x":)" + v + "}}";
    Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
    const IngestResult r = ingestor.IngestJson(body);
    internal::JsonSyntaxError error;
    const bool scanner_rejects = internal::FindJsonSyntaxError(body, &error);
    EXPECT_EQ(!r.body_status.ok(), scanner_rejects) << v;
    if (!r.body_status.ok()) {
      EXPECT_EQ(r.body_status.message().rfind("invalid JSON at line 1, ", 0),
                0u)
          << v << ": " << r.body_status.message();
    }
  }
}

TEST_F(IngestTest, DeepButAllowedNestingParses) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  // 1024 levels is simdjson's limit: the unknown key holds 1023 of them.
  const std::string body = R"({"model":"a","deep":)" + std::string(1023, '[') +
                           std::string(1023, ']') + "}";
  const IngestResult r = ingestor.IngestJson(body);
  EXPECT_TRUE(r.body_status.ok()) << r.body_status.message();
  EXPECT_EQ(r.accepted, 1u);
}

TEST_F(IngestTest, RecordsMustBeAnArray) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  const std::string before = Scrape({"ml_exporter_rejected_records_total"});
  for (std::string_view body : {
           R"({"records":{"model":"a"}})",
           R"({"records":[{"model":"a"}],"events":{"type":"x"}})",
           R"({"records":"x"})",
       }) {
    const IngestResult r = ingestor.IngestJson(body);
    EXPECT_FALSE(r.body_status.ok()) << body;
    EXPECT_EQ(r.body_status.message(),
              "\"records\" and \"events\" must be arrays")
        << body;
    EXPECT_EQ(r.accepted, 0u) << body;
  }
  EXPECT_TRUE(Records().empty());
  EXPECT_EQ(Scrape({"ml_exporter_rejected_records_total"}), before);
  // The body is valid JSON of the wrong shape.
  EXPECT_EQ(Rejected(IngestSource::kHttp, RejectReason::kWrongType), 3u);
  EXPECT_EQ(Rejected(IngestSource::kHttp, RejectReason::kInvalidJson), 0u);
}

TEST_F(IngestTest, TopLevelScalarIsNotARecord) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  for (std::string_view body : {"42", "\"text\"", "null", "true"}) {
    const IngestResult r = ingestor.IngestJson(body);
    EXPECT_FALSE(r.body_status.ok()) << body;
    EXPECT_EQ(r.body_status.message(),
              "expected a record object, an array of records, or "
              "{\"records\":[...],\"events\":[...]}")
        << body;
  }
  EXPECT_EQ(Rejected(IngestSource::kHttp, RejectReason::kNotAnObject), 4u);
  EXPECT_EQ(Rejected(IngestSource::kHttp, RejectReason::kInvalidJson), 0u);
}

TEST_F(IngestTest, IngestorIsReusableAcrossBodies) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  IngestResult r = ingestor.IngestJson(R"([{}, {"model":"a"}])");
  EXPECT_EQ(Errors(r),
            Strings{"0 0 missing_field: field \"model\" is required"});
  r = ingestor.IngestJson("[1");
  EXPECT_FALSE(r.body_status.ok());
  // A longer body after a short one, and the index restarts at 0.
  r = ingestor.IngestJson(
      R"([{"model":"b","inputs":{"q":"a long string value to grow buffers"}},)"
      R"({"model":7}])");
  EXPECT_TRUE(r.body_status.ok());
  EXPECT_EQ(r.accepted, 1u);
  EXPECT_EQ(Errors(r),
            Strings{"1 0 wrong_type: field \"model\": expected a string, got a "
                    "number"});
  EXPECT_EQ(Records().size(), 2u);
  EXPECT_NE(Records()[1].find("a long string value to grow buffers"),
            std::string::npos);
}

// --- NDJSON
// ---------------------------------------------------------------------

TEST_F(IngestTest, NdjsonLinesBlankLinesCrlfAndWrappers) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kFile);
  const IngestResult r = ingestor.IngestNdjson(
      "{\"model\":\"a\"}\r\n"
      "\r\n"
      "   \t \n"
      "\n"
      "{\"records\":[{\"model\":\"b\"},{\"model\":\"c\"}],"
      "\"events\":[{\"type\":\"click\"}]}\n"
      "{\"model\":\"d\",\"inputs\":{\"q\":\"x\"}}");  // no final newline
  EXPECT_EQ(r.accepted, 5u);
  EXPECT_EQ(r.rejected, 0u);
  EXPECT_TRUE(r.body_status.ok());
  const Strings records = Records();
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].substr(0, 8), "model=a ");
  EXPECT_EQ(records[1].substr(0, 8), "model=b ");
  EXPECT_EQ(records[2].substr(0, 8), "model=c ");
  EXPECT_EQ(records[3].substr(0, 8), "model=d ");
  EXPECT_NE(records[3].find("inputs={q:\"x\"}"), std::string::npos);
  EXPECT_EQ(Events().size(), 1u);
  EXPECT_EQ(pipeline_->ingest_stats().accepted(IngestSource::kFile), 4u);
  EXPECT_EQ(pipeline_->ingest_stats().accepted_events(IngestSource::kFile), 1u);
  EXPECT_EQ(pipeline_->ingest_stats().accepted(IngestSource::kHttp), 0u);
  const Families f = pipeline_->Collect();
  EXPECT_EQ(CounterValue(f, "ml_exporter_ingested_records_total",
                         {{"source", "file"}}),
            4);
  EXPECT_EQ(CounterValue(f, "ml_exporter_ingested_events_total",
                         {{"source", "file"}}),
            1);
}

TEST_F(IngestTest, NdjsonBadLinesAreRejectedAlone) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kStdin);
  const IngestResult r = ingestor.IngestNdjson(
      "{\"model\":\"a\"}\n"                                // 1: index 0
      "{\"model\":\"b\",\"inputs\":{\"x\":1]}\n"           // 2: index 1
      "\n"                                                 // 3: blank
      "{\"model\":\"c\"}\n"                                // 4: index 2
      "{\"version\":\"v\"}\n"                              // 5: index 3
      "{\"records\":[{\"model\":\"d\"},{\"model\":\"e\","  // 6: index 4,5
      "\"latency_seconds\":\"1\"}],\"events\":[{}]}\r\n"   //    event 6
      "[{\"model\":\"f\"}]\n"                              // 7: index 7
      "{\"records\":5}\n"                                  // 8: index 8
      "{\"model\":\"g\"}\n");                              // 9: index 9
  EXPECT_TRUE(r.body_status.ok());
  EXPECT_EQ(r.accepted, 4u);  // a, c, d, g
  EXPECT_EQ(r.rejected, 6u);
  EXPECT_EQ(
      Errors(r),
      (Strings{
          // The column is within the line (see IngestError::line).
          "1 2 invalid_json: invalid JSON at column 29 (byte 28): "
          "expected ',' or '}' after an object member, found ']'",
          "3 5 missing_field: field \"model\" is required",
          "5 6 wrong_type: field \"latency_seconds\": expected a number, got a "
          "string",
          "6 6 missing_field: field \"type\" is required in an event",
          "7 7 not_an_object: each line must be a record object or "
          "{\"records\":[...],\"events\":[...]}",
          "8 8 wrong_type: \"records\" and \"events\" must be arrays",
      }));
  const Strings records = Records();
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].substr(0, 8), "model=a ");
  EXPECT_EQ(records[1].substr(0, 8), "model=c ");
  EXPECT_EQ(records[2].substr(0, 8), "model=d ");
  EXPECT_EQ(records[3].substr(0, 8), "model=g ");
  EXPECT_EQ(Rejected(IngestSource::kStdin, RejectReason::kInvalidJson), 1u);
  EXPECT_EQ(Rejected(IngestSource::kStdin, RejectReason::kMissingField), 2u);
  EXPECT_EQ(Rejected(IngestSource::kStdin, RejectReason::kWrongType), 2u);
  EXPECT_EQ(Rejected(IngestSource::kStdin, RejectReason::kNotAnObject), 1u);
  EXPECT_EQ(pipeline_->ingest_stats().accepted(IngestSource::kStdin), 4u);
  const Families f = pipeline_->Collect();
  EXPECT_EQ(CounterValue(f, "ml_exporter_rejected_records_total",
                         {{"source", "stdin"}, {"reason", "missing_field"}}),
            2);
  EXPECT_EQ(CounterValue(f, "ml_exporter_rejected_records_total",
                         {{"source", "http"}, {"reason", "missing_field"}}),
            0);
  EXPECT_EQ(
      IngestResultToJson(r),
      "{\"accepted\":4,\"rejected\":6,\"errors\":["
      "{\"index\":1,\"line\":2,\"reason\":\"invalid_json\",\"error\":\"invalid "
      "JSON at column 29 (byte 28): expected ',' or '}' after an "
      "object "
      "member, "
      "found ']'\"},"
      "{\"index\":3,\"line\":5,\"reason\":\"missing_field\",\"error\":\"field "
      "\\\"model\\\" is required\"},"
      "{\"index\":5,\"line\":6,\"reason\":\"wrong_type\",\"error\":\"field "
      "\\\"latency_seconds\\\": expected a number, got a string\"},"
      "{\"index\":6,\"line\":6,\"reason\":\"missing_field\",\"error\":\"field "
      "\\\"type\\\" is required in an event\"},"
      "{\"index\":7,\"line\":7,\"reason\":\"not_an_object\",\"error\":\"each "
      "line must be a record object or "
      "{\\\"records\\\":[...],\\\"events\\\":[...]}\"},"
      "{\"index\":8,\"line\":8,\"reason\":\"wrong_type\",\"error\":"
      "\"\\\"records"
      "\\\" and \\\"events\\\" must be arrays\"}]}");
}

TEST_F(IngestTest, NdjsonFirstLineOffsetsLineNumbers) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kFile);
  const IngestResult r =
      ingestor.IngestNdjson("{\"model\":\"a\"}\n\n{\"model\":1}\n{", 41);
  EXPECT_EQ(r.accepted, 1u);
  EXPECT_EQ(Errors(r),
            (Strings{"1 43 wrong_type: field \"model\": expected a string, got "
                     "a number",
                     "2 44 invalid_json: invalid JSON at column 2 "
                     "(byte 1): expected a string key in double quotes, "
                     "found end of input"}));
}

TEST_F(IngestTest, NdjsonCountsTheLinesItWentThrough) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kFile);
  EXPECT_EQ(ingestor.IngestNdjson("").lines, 0u);
  EXPECT_EQ(ingestor.IngestNdjson("\n").lines, 1u);
  EXPECT_EQ(ingestor.IngestNdjson("{\"model\":\"a\"}").lines, 1u);
  EXPECT_EQ(ingestor.IngestNdjson("{\"model\":\"a\"}\n").lines, 1u);
  EXPECT_EQ(
      ingestor.IngestNdjson("{\"model\":\"a\"}\n\n  \n{\"model\":1}\n{", 7)
          .lines,
      5u);
}

TEST_F(IngestTest, NdjsonLineOverMaxLineBytes) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kFile);
  ingestor.set_max_line_bytes(20);
  const std::string exactly_20 = R"({"model":"abcdefgh"})";
  ASSERT_EQ(exactly_20.size(), 20u);
  const IngestResult r = ingestor.IngestNdjson(
      exactly_20 + "\r\n" +                // 20 bytes plus CR: accepted
      R"({"model":"abcdefghi"})" + "\n" +  // 21 bytes: too large
      "{\"model\":" + std::string(100, ' ') + "\n" +  // too large, not parsed
      R"({"model":"x"})");
  EXPECT_EQ(r.accepted, 2u);
  EXPECT_EQ(r.rejected, 2u);
  EXPECT_EQ(
      Errors(r),
      (Strings{"1 2 too_large: line is 21 bytes, over the limit of 20",
               "2 3 too_large: line is 109 bytes, over the limit of 20"}));
  EXPECT_EQ(Rejected(IngestSource::kFile, RejectReason::kBodyTooLarge), 2u);
  EXPECT_EQ(Rejected(IngestSource::kFile, RejectReason::kInvalidJson), 0u);
}

TEST_F(IngestTest, NdjsonEmptyBody) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kFile);
  for (std::string_view body : {"", "\n", "\r\n\r\n", "  \n\t\n"}) {
    const IngestResult r = ingestor.IngestNdjson(body);
    EXPECT_EQ(r.accepted, 0u);
    EXPECT_EQ(r.rejected, 0u);
    EXPECT_TRUE(r.body_status.ok());
  }
}

// --- protobuf
// -------------------------------------------------------------------

google::protobuf::Value NumberValue(double v) {
  google::protobuf::Value value;
  value.set_number_value(v);
  return value;
}

google::protobuf::Value StringValue(const std::string& s) {
  google::protobuf::Value value;
  value.set_string_value(s);
  return value;
}

TEST_F(IngestTest, ProtobufBatch) {
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
  inputs["age"].set_null_value(google::protobuf::NULL_VALUE);
  inputs["flag"].set_bool_value(false);
  auto* list = inputs["tokens"].mutable_list_value();
  *list->add_values() = NumberValue(1);
  *list->add_values() = StringValue("a");
  list->add_values()->set_bool_value(true);
  auto& outputs = *r->mutable_outputs()->mutable_fields();
  outputs["label"] = StringValue("cat");
  outputs["score"] = NumberValue(0.93);
  (*r->mutable_blobs())["audio"] = std::string("\x00\x01", 2) + "b";
  v1::Record* minimal = batch.add_records();
  minimal->set_model("m");
  v1::Event* e = batch.add_events();
  e->set_type("label");
  e->set_model("asr");
  e->set_request_id("r-1");
  e->mutable_time()->set_seconds(10);
  *e->mutable_value() = StringValue("cat");
  v1::Event* bare = batch.add_events();
  bare->set_type("click");

  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  const IngestResult result =
      ingestor.IngestProtobuf(batch.SerializeAsString());
  EXPECT_TRUE(result.body_status.ok()) << result.body_status.message();
  EXPECT_EQ(result.accepted, 4u);
  EXPECT_EQ(result.rejected, 0u);
  EXPECT_EQ(
      Capture().sorted_records,
      (Strings{"model=asr version=v3 stage=decoder request_id=r-1 "
               "session_id=s-1 time=1795860000.25 latency=0.183 error=true "
               "inputs={age:null,audio_seconds:3.2,country:\"DE\",flag:false,"
               "tokens:[1,\"a\",true]} outputs={label:\"cat\",score:0.93} "
               "blobs={audio:" +
                   std::string("\x00\x01", 2) + "b(raw)}",
               "model=m version= stage= request_id= session_id= time=nan "
               "latency=nan error=false inputs={} outputs={} blobs={}"}));
  EXPECT_EQ(Events(),
            (Strings{"type=label model=asr version= stage= request_id=r-1 "
                     "session_id= time=10 value=\"cat\"",
                     "type=click model= version= stage= request_id= "
                     "session_id= time=nan value=null"}));
  EXPECT_EQ(pipeline_->ingest_stats().accepted(IngestSource::kHttp), 2u);
  EXPECT_EQ(pipeline_->ingest_stats().accepted_events(IngestSource::kHttp), 2u);
  const Families f = pipeline_->Collect();
  EXPECT_EQ(CounterValue(f, "ml_prediction_errors_total",
                         ModelSeries("asr", {}, "v3", "decoder")),
            1);
  EXPECT_EQ(
      CounterValue(f, "ml_feature_category_total",
                   ModelSeries("asr", {{"feature", "country"}, {"value", "DE"}},
                               "v3", "decoder")),
      1);
}

TEST_F(IngestTest, ProtobufEmptyBatch) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  const IngestResult r = ingestor.IngestProtobuf("");
  EXPECT_TRUE(r.body_status.ok());
  EXPECT_EQ(r.accepted, 0u);
  EXPECT_EQ(r.rejected, 0u);
}

TEST_F(IngestTest, ProtobufInvalidRecordsAreRejectedAlone) {
  v1::Batch batch;
  batch.add_records()->set_model("ok");        // 0
  batch.add_records()->set_version("v1");      // 1: no model
  v1::Record* negative = batch.add_records();  // 2
  negative->set_model("m");
  negative->set_latency_seconds(-1);
  v1::Record* nan = batch.add_records();  // 3
  nan->set_model("m");
  nan->set_latency_seconds(NAN);
  v1::Record* nested = batch.add_records();  // 4
  nested->set_model("m");
  (*(*nested->mutable_inputs()->mutable_fields())["x"]
        .mutable_struct_value()
        ->mutable_fields())["y"] = NumberValue(1);
  v1::Record* lists = batch.add_records();  // 5
  lists->set_model("m");
  (*lists->mutable_outputs()->mutable_fields())["x"]
      .mutable_list_value()
      ->add_values()
      ->mutable_list_value();
  v1::Record* infinite = batch.add_records();  // 6
  infinite->set_model("m");
  (*infinite->mutable_inputs()->mutable_fields())["x"] = NumberValue(INFINITY);
  v1::Record* zero = batch.add_records();  // 7: latency 0
  zero->set_model("m");
  zero->set_latency_seconds(0);
  batch.add_events()->set_model("m");  // 8: no type
  batch.add_events()->set_type("ok");  // 9

  Ingestor ingestor(pipeline_.get(), IngestSource::kLibrary);
  const IngestResult r = ingestor.IngestProtobuf(batch.SerializeAsString());
  EXPECT_TRUE(r.body_status.ok());
  EXPECT_EQ(r.accepted, 3u);
  EXPECT_EQ(r.rejected, 7u);
  EXPECT_EQ(
      Errors(r),
      (Strings{
          "1 0 missing_field: field \"model\" is required",
          "2 0 invalid_value: field \"latency_seconds\": must be a finite "
          "number >= 0",
          "3 0 invalid_value: field \"latency_seconds\": must be a finite "
          "number >= 0",
          "4 0 unsupported_value: field \"inputs.x\": nested objects are not "
          "supported",
          "5 0 unsupported_value: field \"outputs.x\": list elements must be "
          "numbers, strings, booleans or null",
          "6 0 invalid_value: field \"inputs.x\": numbers must be finite",
          "8 0 missing_field: field \"type\" is required in an event",
      }));
  EXPECT_EQ(Rejected(IngestSource::kLibrary, RejectReason::kInvalidValue), 3u);
  EXPECT_EQ(Rejected(IngestSource::kLibrary, RejectReason::kMissingField), 2u);
  EXPECT_EQ(Rejected(IngestSource::kLibrary, RejectReason::kUnsupportedValue),
            2u);
  EXPECT_EQ(pipeline_->ingest_stats().accepted(IngestSource::kLibrary), 2u);
  EXPECT_EQ(Records().size(), 2u);
}

TEST_F(IngestTest, InvalidProtobufBytes) {
  Ingestor ingestor(pipeline_.get(), IngestSource::kHttp);
  const std::string before = Scrape({"ml_exporter_rejected_records_total"});
  // Field 1 (records) claims 5 bytes but only 2 follow.
  const std::string body(
      "\x0a\x05"
      "ab",
      4);
  const IngestResult r = ingestor.IngestProtobuf(body);
  EXPECT_FALSE(r.body_status.ok());
  EXPECT_EQ(r.body_status.message(),
            "body is not a valid serialized ml_exporter.v1.Batch (4 bytes)");
  EXPECT_EQ(r.accepted, 0u);
  EXPECT_EQ(r.rejected, 0u);
  EXPECT_EQ(Rejected(IngestSource::kHttp, RejectReason::kInvalidProtobuf), 1u);
  EXPECT_EQ(Scrape({"ml_exporter_rejected_records_total"}), before);
  // JSON is not a protobuf Batch either.
  const IngestResult json = ingestor.IngestProtobuf(R"({"model":"a"})");
  EXPECT_FALSE(json.body_status.ok());
  EXPECT_EQ(Rejected(IngestSource::kHttp, RejectReason::kInvalidProtobuf), 2u);
  EXPECT_TRUE(Records().empty());
}

// --- IngestResultToJson
// -------------------------------------------------------

TEST(IngestResultToJsonTest, EscapesMessages) {
  IngestResult r;
  r.accepted = 3;
  r.rejected = 2;
  r.errors.push_back(
      {0, 0, RejectReason::kWrongType,
       "quote \" backslash \\ newline \n tab \t cr \r ctl \x01"});
  r.errors.push_back({7, 12, RejectReason::kBodyTooLarge, "bad \xFF utf-8"});
  EXPECT_EQ(IngestResultToJson(r),
            "{\"accepted\":3,\"rejected\":2,\"errors\":["
            "{\"index\":0,\"reason\":\"wrong_type\",\"error\":\"quote \\\" "
            "backslash \\\\ newline \\n tab \\t cr \\r ctl \\u0001\"},"
            "{\"index\":7,\"line\":12,\"reason\":\"too_large\",\"error\":\"bad "
            "\xEF\xBF\xBD utf-8\"}]}");
}

TEST(IngestResultToJsonTest, BodyError) {
  IngestResult r;
  r.body_status = Status::InvalidArgument("bad \"body\"");
  EXPECT_EQ(IngestResultToJson(r),
            "{\"accepted\":0,\"rejected\":0,\"error\":\"bad \\\"body\\\"\","
            "\"errors\":[]}");
}

TEST(ReasonNameTest, EveryReasonAndSourceHasAName) {
  EXPECT_EQ(ReasonName(RejectReason::kInvalidJson), "invalid_json");
  EXPECT_EQ(ReasonName(RejectReason::kInvalidProtobuf), "invalid_protobuf");
  EXPECT_EQ(ReasonName(RejectReason::kNotAnObject), "not_an_object");
  EXPECT_EQ(ReasonName(RejectReason::kMissingField), "missing_field");
  EXPECT_EQ(ReasonName(RejectReason::kWrongType), "wrong_type");
  EXPECT_EQ(ReasonName(RejectReason::kUnsupportedValue), "unsupported_value");
  EXPECT_EQ(ReasonName(RejectReason::kInvalidValue), "invalid_value");
  EXPECT_EQ(ReasonName(RejectReason::kBodyTooLarge), "too_large");
  EXPECT_EQ(SourceName(IngestSource::kHttp), "http");
  EXPECT_EQ(SourceName(IngestSource::kFile), "file");
  EXPECT_EQ(SourceName(IngestSource::kStdin), "stdin");
  EXPECT_EQ(SourceName(IngestSource::kLibrary), "library");
}

}  // namespace
}  // namespace ml_exporter
