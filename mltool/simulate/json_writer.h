// JsonWriter: builds one compact JSON text (a record line) without a DOM.
#ifndef ML_EXPORTER_MLTOOL_SIMULATE_JSON_WRITER_H_
#define ML_EXPORTER_MLTOOL_SIMULATE_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ml_exporter::simulate {

// Calls must nest correctly (a Key before each value inside an object);
// the writer inserts the commas. Numbers are written with at most
// `decimals` digits after the point and no trailing zeros, so the same
// value always gives the same text; NaN and infinities become null.
class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Number(double value, int decimals = 4);
  JsonWriter& Int(int64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

  // Key and value in one call.
  JsonWriter& Field(std::string_view key, std::string_view value) {
    return Key(key).String(value);
  }
  JsonWriter& Field(std::string_view key, const char* value) {
    return Key(key).String(value);
  }
  JsonWriter& Field(std::string_view key, double value, int decimals = 4) {
    return Key(key).Number(value, decimals);
  }

  // The text so far; the writer is empty afterwards.
  std::string Take();

  // Appends `s` as a JSON string literal (quotes included) to `out`.
  static void AppendQuoted(std::string_view s, std::string* out);

 private:
  void BeforeValue();

  std::string out_;
  // One entry per open object or array: true until its first element.
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace ml_exporter::simulate

#endif  // ML_EXPORTER_MLTOOL_SIMULATE_JSON_WRITER_H_
