#include "mltool/command_flags.h"

#include <algorithm>

namespace ml_exporter::mltool {

CommandFlags::CommandFlags(const std::vector<std::string>& args,
                           std::vector<std::string> known,
                           std::map<std::string, std::string> aliases)
    : args_(args), known_(std::move(known)), aliases_(std::move(aliases)) {}

bool CommandFlags::Next() {
  if (next_ >= args_.size() || help_ || !error_.empty()) return false;
  const std::string& arg = args_[next_++];
  if (arg == "-h" || arg == "--help") {
    help_ = true;
    return false;
  }
  flag_ = arg;
  value_.clear();
  bool has_value = false;
  if (const size_t eq = flag_.find('=');
      eq != std::string::npos && flag_.rfind("--", 0) == 0) {
    value_ = flag_.substr(eq + 1);
    flag_.resize(eq);
    has_value = true;
  }
  if (auto alias = aliases_.find(flag_); alias != aliases_.end()) {
    flag_ = alias->second;
  }
  if (std::find(known_.begin(), known_.end(), flag_) == known_.end()) {
    error_ = "unknown argument \"" + arg + "\"";
    return false;
  }
  if (!has_value) {
    if (next_ >= args_.size()) {
      error_ = flag_ + " needs a value";
      return false;
    }
    value_ = args_[next_++];
  }
  return true;
}

}  // namespace ml_exporter::mltool
