// MediaParams: typed access to the `params:` of the audio, image and text
// collectors, including the nested objects they take (`fields`,
// `buckets`), which ml_exporter/collector_params.h does not cover. Error
// messages follow that class: `unknown parameter "windw"; did you mean
// "window_seconds"?`, `parameter "clip_level" is 2, must be between 0 and
// 1`.
#ifndef ML_EXPORTER_MEDIA_COLLECTOR_PARAMS_H_
#define ML_EXPORTER_MEDIA_COLLECTOR_PARAMS_H_

#include <google/protobuf/struct.pb.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ml_exporter/status.h"

namespace ml_exporter::media {

class MediaParams {
 public:
  // Parses `serialized` (empty: no parameters); a name not in `known` is an
  // error, with a did-you-mean.
  static Status Parse(std::string_view serialized,
                      const std::vector<std::string>& known, MediaParams* out);

  bool Has(std::string_view name) const { return Find(name) != nullptr; }

  // Getters leave `out` unchanged when the parameter is absent.
  Status GetNumber(std::string_view name, double min, double max,
                   double* out) const;
  Status GetString(std::string_view name, std::string* out) const;
  // A list of strings, or one string.
  Status GetStringList(std::string_view name,
                       std::vector<std::string>* out) const;
  // An object whose keys are in `known` and whose values are non-empty
  // strings (field names).
  Status GetStringMap(std::string_view name,
                      const std::vector<std::string>& known,
                      std::map<std::string, std::string>* out) const;
  // An object whose keys are in `known` and whose values are non-empty,
  // strictly increasing lists of finite numbers (histogram edges).
  Status GetEdgesMap(std::string_view name,
                     const std::vector<std::string>& known,
                     std::map<std::string, std::vector<double>>* out) const;

 private:
  const google::protobuf::Value* Find(std::string_view name) const;

  google::protobuf::Struct fields_;
};

// `parameter "<name>" <message>`.
Status ParamError(std::string_view name, std::string_view message);

}  // namespace ml_exporter::media

#endif  // ML_EXPORTER_MEDIA_COLLECTOR_PARAMS_H_
