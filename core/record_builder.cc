#include "ml_exporter/record_builder.h"

namespace ml_exporter {

std::string_view RecordBuilder::Keep(std::string_view s) {
  if (strings_used_ == strings_.size()) strings_.emplace_back();
  std::string& slot = strings_[strings_used_++];
  slot.assign(s);
  return slot;
}

RecordBuilder& RecordBuilder::Model(std::string_view model,
                                    std::string_view version,
                                    std::string_view stage) {
  record_.model = Keep(model);
  record_.version = Keep(version);
  record_.stage = Keep(stage);
  return *this;
}

RecordBuilder& RecordBuilder::RequestId(std::string_view id) {
  record_.request_id = Keep(id);
  return *this;
}

RecordBuilder& RecordBuilder::SessionId(std::string_view id) {
  record_.session_id = Keep(id);
  return *this;
}

RecordBuilder& RecordBuilder::Time(double unix_seconds) {
  record_.time_seconds = unix_seconds;
  return *this;
}

RecordBuilder& RecordBuilder::Latency(double seconds) {
  record_.latency_seconds = seconds;
  return *this;
}

RecordBuilder& RecordBuilder::Error(bool error) {
  record_.error = error;
  return *this;
}

RecordBuilder& RecordBuilder::Input(std::string_view name, double value) {
  record_.inputs.push_back({Keep(name), FieldValue::Number(value)});
  return *this;
}

RecordBuilder& RecordBuilder::Input(std::string_view name,
                                    std::string_view value) {
  std::string_view kept_name = Keep(name);
  record_.inputs.push_back({kept_name, FieldValue::String(Keep(value))});
  return *this;
}

RecordBuilder& RecordBuilder::InputBool(std::string_view name, bool value) {
  record_.inputs.push_back({Keep(name), FieldValue::Bool(value)});
  return *this;
}

RecordBuilder& RecordBuilder::MissingInput(std::string_view name) {
  record_.inputs.push_back({Keep(name), FieldValue::Null()});
  return *this;
}

RecordBuilder& RecordBuilder::InputList(std::string_view name,
                                        std::initializer_list<double> values) {
  FieldValue list;
  list.kind = FieldValue::Kind::kList;
  list.list_begin = static_cast<uint32_t>(record_.list_items.size());
  for (double v : values) {
    record_.list_items.push_back(FieldValue::Number(v));
    ++list.list_size;
  }
  record_.inputs.push_back({Keep(name), list});
  return *this;
}

RecordBuilder& RecordBuilder::Output(std::string_view name, double value) {
  record_.outputs.push_back({Keep(name), FieldValue::Number(value)});
  return *this;
}

RecordBuilder& RecordBuilder::Output(std::string_view name,
                                     std::string_view value) {
  std::string_view kept_name = Keep(name);
  record_.outputs.push_back({kept_name, FieldValue::String(Keep(value))});
  return *this;
}

RecordBuilder& RecordBuilder::OutputBool(std::string_view name, bool value) {
  record_.outputs.push_back({Keep(name), FieldValue::Bool(value)});
  return *this;
}

RecordBuilder& RecordBuilder::NullOutput(std::string_view name) {
  record_.outputs.push_back({Keep(name), FieldValue::Null()});
  return *this;
}

RecordBuilder& RecordBuilder::Blob(std::string_view name,
                                   std::string_view bytes) {
  std::string_view kept_name = Keep(name);
  record_.blobs.push_back(ml_exporter::Blob{kept_name, Keep(bytes), false});
  return *this;
}

void RecordBuilder::Reset() {
  record_.Clear();
  strings_used_ = 0;
}

}  // namespace ml_exporter
