#include "exporter/reference_flags.h"

#include <sstream>

#include "profile/reference.h"

namespace ml_exporter::internal {

std::vector<std::string> RepeatedFlagValues(int argc, char** argv,
                                            std::string_view name) {
  std::vector<std::string> values;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.substr(0, 2) == "--") {
      arg.remove_prefix(2);
    } else if (arg.substr(0, 1) == "-") {
      arg.remove_prefix(1);
    } else {
      continue;
    }
    if (arg.substr(0, name.size()) != name) continue;
    arg.remove_prefix(name.size());
    if (arg.empty() && i + 1 < argc) {
      values.emplace_back(argv[++i]);
    } else if (!arg.empty() && arg.front() == '=') {
      values.emplace_back(arg.substr(1));
    }
  }
  return values;
}

Status ParseReferenceFlags(const std::vector<std::string>& values,
                           std::vector<ReferenceSpec>* specs) {
  for (const std::string& value : values) {
    std::stringstream in(value);
    std::string item;
    while (std::getline(in, item, ',')) {
      if (item.empty()) continue;
      const size_t eq = item.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
        return Status::InvalidArgument("--reference: \"" + item +
                                       "\" is not MODEL=PATH");
      }
      ReferenceSpec spec;
      spec.model = item.substr(0, eq);
      spec.path = item.substr(eq + 1);
      Status status;
      if (!profile::LoadReference(spec.path, &status)) {
        return Status::InvalidArgument("--reference " + item + ": " +
                                       status.message());
      }
      specs->push_back(std::move(spec));
    }
  }
  return Status::Ok();
}

std::string DescribeReference(const ReferenceSpec& spec, bool* mismatch) {
  *mismatch = false;
  Status status;
  const auto profile = profile::LoadReference(spec.path, &status);
  std::string line =
      "drift reference for model " + spec.model + ": " + spec.path;
  if (!profile) return line + " (" + status.message() + ")";
  line += " (profile of model '" + profile->model + "' from " +
          profile->source + ", " + std::to_string(profile->features.size()) +
          " features, " + std::to_string(profile->outputs.size()) + " outputs)";
  if (!profile->model.empty() && spec.model.find('*') == std::string::npos &&
      profile->model != spec.model) {
    line += "; the profile was made for model '" + profile->model + "'";
    *mismatch = true;
  }
  return line;
}

}  // namespace ml_exporter::internal
