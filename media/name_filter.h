// Which blobs or fields a collector watches, from the configuration's
// include and exclude lists.
#ifndef ML_EXPORTER_MEDIA_NAME_FILTER_H_
#define ML_EXPORTER_MEDIA_NAME_FILTER_H_

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ml_exporter::media {

class NameFilter {
 public:
  NameFilter(const std::vector<std::string>& include,
             const std::vector<std::string>& exclude)
      : include_(include.begin(), include.end()),
        exclude_(exclude.begin(), exclude.end()) {}

  bool Excluded(std::string_view name) const {
    return !exclude_.empty() && exclude_.find(name) != exclude_.end();
  }
  // Not excluded, and included when there is an include list.
  bool Watched(std::string_view name) const {
    if (Excluded(name)) return false;
    return include_.empty() || include_.find(name) != include_.end();
  }
  // Listed by name in the include list: the user says what it is.
  bool Named(std::string_view name) const {
    return !include_.empty() && include_.find(name) != include_.end() &&
           !Excluded(name);
  }

 private:
  const std::set<std::string, std::less<>> include_;
  const std::set<std::string, std::less<>> exclude_;
};

}  // namespace ml_exporter::media

#endif  // ML_EXPORTER_MEDIA_NAME_FILTER_H_
