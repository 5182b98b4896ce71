// CollectorParams: typed access to a collector's `params` from the
// configuration (CollectorContext::params, a serialized
// google.protobuf.Struct), with errors that name the parameter.
#ifndef ML_EXPORTER_COLLECTOR_PARAMS_H_
#define ML_EXPORTER_COLLECTOR_PARAMS_H_

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ml_exporter/status.h"

namespace ml_exporter {

class CollectorParams {
 public:
  // Parses `serialized` (empty: no parameters). `known` lists the accepted
  // parameter names; any other name is an error with a did-you-mean.
  static Status Parse(std::string_view serialized,
                      const std::set<std::string>& known,
                      std::unique_ptr<CollectorParams>* out);
  ~CollectorParams();

  bool Has(std::string_view name) const;
  // Each returns `fallback` when absent; a present value of the wrong type
  // or outside [min, max] records an error (see status()).
  double Number(std::string_view name, double fallback, double min = -1e300,
                double max = 1e300);
  std::string String(std::string_view name, std::string fallback);
  bool Bool(std::string_view name, bool fallback);
  std::vector<std::string> StringList(std::string_view name,
                                      std::vector<std::string> fallback);

  // The first error met by the accessors above, or OK.
  const Status& status() const { return status_; }

 private:
  CollectorParams();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Status status_;
};

}  // namespace ml_exporter

#endif  // ML_EXPORTER_COLLECTOR_PARAMS_H_
