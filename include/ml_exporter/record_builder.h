// RecordBuilder: builds a Record in-process, without a JSON round trip, for
// model servers that link the library.
//
//   ml_exporter::RecordBuilder b;
//   b.Model("asr", "v3", "decoder").Latency(0.18)
//    .Input("audio_seconds", 3.2).Input("country", "DE").MissingInput("age")
//    .Output("transcript", "");
//   pipeline->Observe(b.record());
//   b.Reset();  // reuse: no allocation once warm
//
// The builder owns copies of every string, so its arguments may be
// temporaries. The Record it returns is valid until the next call on it.
#ifndef ML_EXPORTER_RECORD_BUILDER_H_
#define ML_EXPORTER_RECORD_BUILDER_H_

#include <deque>
#include <initializer_list>
#include <string>
#include <string_view>

#include "ml_exporter/record.h"

namespace ml_exporter {

class RecordBuilder {
 public:
  RecordBuilder& Model(std::string_view model, std::string_view version = {},
                       std::string_view stage = {});
  RecordBuilder& RequestId(std::string_view id);
  RecordBuilder& SessionId(std::string_view id);
  RecordBuilder& Time(double unix_seconds);
  RecordBuilder& Latency(double seconds);
  RecordBuilder& Error(bool error = true);

  RecordBuilder& Input(std::string_view name, double value);
  RecordBuilder& Input(std::string_view name, std::string_view value);
  RecordBuilder& Input(std::string_view name, const char* value) {
    return Input(name, std::string_view(value));
  }
  RecordBuilder& InputBool(std::string_view name, bool value);
  RecordBuilder& MissingInput(std::string_view name);  // null
  RecordBuilder& InputList(std::string_view name,
                           std::initializer_list<double> values);

  RecordBuilder& Output(std::string_view name, double value);
  RecordBuilder& Output(std::string_view name, std::string_view value);
  RecordBuilder& Output(std::string_view name, const char* value) {
    return Output(name, std::string_view(value));
  }
  RecordBuilder& OutputBool(std::string_view name, bool value);
  RecordBuilder& NullOutput(std::string_view name);

  // Raw bytes (not base64).
  RecordBuilder& Blob(std::string_view name, std::string_view bytes);

  const Record& record() const { return record_; }

  // Empties the record; keeps capacity for reuse.
  void Reset();

 private:
  std::string_view Keep(std::string_view s);

  Record record_;
  // Arena of owned strings. A deque keeps addresses stable; slots are
  // reused after Reset so a warm builder does not allocate.
  std::deque<std::string> strings_;
  size_t strings_used_ = 0;
};

}  // namespace ml_exporter

#endif  // ML_EXPORTER_RECORD_BUILDER_H_
