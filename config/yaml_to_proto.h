// Converts a YAML document into a protobuf message by reflection, checking
// it against the message's schema: unknown keys (with a did-you-mean),
// wrong types, values out of the range given by (ml_exporter.config.v1.rules)
// field options, and required keys. Every error names the file, line and
// column.
#ifndef ML_EXPORTER_CONFIG_YAML_TO_PROTO_H_
#define ML_EXPORTER_CONFIG_YAML_TO_PROTO_H_

#include <google/protobuf/message.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ml_exporter::config {

// 1-based position in the YAML text.
struct TextMark {
  int line = 0;
  int column = 0;
};

struct YamlConversion {
  // "FILE:LINE:COLUMN: message", in document order.
  std::vector<std::string> errors;
  // Where each converted value stands, by field path such as
  // "models[1].collectors[0].name", for errors found after conversion.
  std::map<std::string, TextMark> marks;

  // "FILE:LINE:COLUMN: " for `path`, or "FILE: " when it is unknown.
  std::string Where(const std::string& path) const;
  std::string filename;
};

// Parses `text` (named `filename` in messages) into `message`, which is
// cleared first. Returns false when there were errors.
bool YamlToProto(std::string_view text, const std::string& filename,
                 google::protobuf::Message* message, YamlConversion* result);

// The closest of `candidates` to `word` by edit distance, or "" when none
// is close enough to be a likely typo.
std::string DidYouMean(std::string_view word,
                       const std::vector<std::string>& candidates);

}  // namespace ml_exporter::config

#endif  // ML_EXPORTER_CONFIG_YAML_TO_PROTO_H_
