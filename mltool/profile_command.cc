#include "mltool/profile_command.h"

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "profile/reference.h"
#include "profile/training_data.h"

namespace ml_exporter::mltool {
namespace {

namespace pv1 = profile::v1;

constexpr const char* kUsage =
    "usage: mltool profile --input=FILE --output=FILE [options]\n"
    "       mltool profile --show FILE [--text]\n"
    "\n"
    "Builds the reference profile of a model's training data: per feature and\n"
    "output its kind, count, missing fraction and distribution (see\n"
    "docs/drift.md). Give it to the exporter with --reference=MODEL=FILE.\n"
    "\n"
    "  --input=FILE           training data: CSV with a header row (*.csv) or\n"
    "                         record NDJSON as the exporter ingests\n"
    "  --output=FILE          where to write the profile (binary protobuf)\n"
    "  --format=csv|ndjson    input format (default: by the file name)\n"
    "  --model=NAME           NDJSON: the model to profile (required when the\n"
    "                         file has several); CSV: the model's name\n"
    "  --outputs=COL,...      CSV: columns that are outputs of the model\n"
    "  --kind=NAME=KIND,...   force numeric, categorical or text\n"
    "  --bins=N               histogram bins (quantiles), default 10\n"
    "  --quantiles=N          quantile summary resolution, default 100\n"
    "  --max_categories=N     categories listed per field, default 1000\n"
    "  --text                 write (with --output) or print (with --show)\n"
    "                         the protobuf text form\n"
    "  --show FILE            print a profile readably\n";

int Usage(const std::string& error) {
  std::fprintf(stderr, "mltool profile: %s\n\n%s", error.c_str(), kUsage);
  return 2;
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

bool ParseSize(const std::string& text, size_t min, size_t max, size_t* out) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || v < min || v > max) {
    return false;
  }
  *out = static_cast<size_t>(v);
  return true;
}

std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string Percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%",
                100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return buf;
}

const char* KindName(pv1::FieldProfile::Kind kind) {
  switch (kind) {
    case pv1::FieldProfile::NUMERIC:
      return "numeric";
    case pv1::FieldProfile::CATEGORICAL:
      return "categorical";
    case pv1::FieldProfile::TEXT:
      return "text";
    default:
      return "no values";
  }
}

// The value of rank floor((count - 1) p) as the summary knows it: the first
// edge with more values at or below it than that rank.
double QuantileOf(const pv1::NumericProfile& n, double p) {
  const auto rank =
      static_cast<uint64_t>(std::floor(static_cast<double>(n.count() - 1) * p));
  uint64_t below = 0;
  for (int i = 0; i < n.quantile_edges_size(); ++i) {
    below += n.quantile_counts(i);
    if (below > rank) return n.quantile_edges(i);
  }
  return n.max();
}

void PrintNumeric(const pv1::NumericProfile& n, const char* what) {
  if (n.count() == 0) return;
  std::printf("      %svalues %llu  mean %s  stddev %s  min %s  max %s\n", what,
              static_cast<unsigned long long>(n.count()),
              Number(n.mean()).c_str(), Number(n.stddev()).c_str(),
              Number(n.min()).c_str(), Number(n.max()).c_str());
  std::printf("      quantiles");
  for (double p : {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99}) {
    std::printf("  p%g %s", 100 * p, Number(QuantileOf(n, p)).c_str());
  }
  std::printf("\n      bins");
  std::string lower = "-Inf";
  for (int i = 0; i < n.counts_size(); ++i) {
    const std::string upper =
        i < n.edges_size() ? Number(n.edges(i)) : std::string("+Inf");
    std::printf("%s(%s, %s] %s", i % 4 == 0 ? "\n        " : "  ",
                lower.c_str(), upper.c_str(),
                Percent(n.counts(i), n.count()).c_str());
    lower = upper;
  }
  std::printf("\n");
}

void PrintField(const pv1::FieldProfile& f) {
  std::printf("  %-24s %-12s records %llu  missing %s", f.name().c_str(),
              KindName(f.kind()), static_cast<unsigned long long>(f.count()),
              Percent(f.missing(), f.count()).c_str());
  if (f.nonfinite() > 0) {
    std::printf("  nonfinite %llu",
                static_cast<unsigned long long>(f.nonfinite()));
  }
  if (f.wrong_type() > 0) {
    std::printf("  wrong type %llu",
                static_cast<unsigned long long>(f.wrong_type()));
  }
  std::printf("\n");
  if (f.kind() == pv1::FieldProfile::NUMERIC) PrintNumeric(f.numeric(), "");
  if (f.kind() == pv1::FieldProfile::TEXT) {
    PrintNumeric(f.numeric(), "length in characters: ");
  }
  if (f.kind() == pv1::FieldProfile::CATEGORICAL ||
      f.kind() == pv1::FieldProfile::TEXT) {
    const pv1::CategoricalProfile& c = f.categorical();
    std::printf("      values %llu, %d listed",
                static_cast<unsigned long long>(c.count()),
                c.categories_size());
    if (c.other_count() > 0) {
      std::printf(", other %s (%llu categories)",
                  Percent(c.other_count(), c.count()).c_str(),
                  static_cast<unsigned long long>(c.other_distinct()));
    }
    std::printf("\n      top");
    const int shown = std::min(c.categories_size(), 10);
    for (int i = 0; i < shown; ++i) {
      std::printf("%s\"%s\" %s", i % 4 == 0 ? "\n        " : "  ",
                  c.categories(i).value().c_str(),
                  Percent(c.categories(i).count(), c.count()).c_str());
    }
    if (c.categories_size() > shown) std::printf("  ...");
    std::printf("\n");
  }
}

int Show(const std::string& path, bool text) {
  pv1::ReferenceProfile p;
  if (Status s = profile::ReadProfileFile(path, &p); !s.ok()) {
    std::fprintf(stderr, "mltool profile: %s\n", s.message().c_str());
    return 1;
  }
  if (text) {
    std::string out;
    google::protobuf::TextFormat::PrintToString(p, &out);
    std::fputs(out.c_str(), stdout);
    return 0;
  }
  std::printf("reference profile %s\n", path.c_str());
  std::printf("  model    %s\n",
              p.model().empty() ? "(none)" : p.model().c_str());
  std::printf("  source   %s\n", p.source().c_str());
  if (p.has_created_time()) {
    std::printf(
        "  created  %s\n",
        google::protobuf::util::TimeUtil::ToString(p.created_time()).c_str());
  }
  std::printf("  records  %llu\n",
              static_cast<unsigned long long>(p.records()));
  std::printf("  settings bins %u, quantiles %u, max_categories %u\n",
              p.settings().bins(), p.settings().quantiles(),
              p.settings().max_categories());
  std::printf("\nfeatures (%d)\n", p.features_size());
  for (const auto& f : p.features()) PrintField(f);
  std::printf("\noutputs (%d)\n", p.outputs_size());
  for (const auto& f : p.outputs()) PrintField(f);
  return 0;
}

}  // namespace

int RunProfileCommand(const std::vector<std::string>& args) {
  std::map<std::string, std::string> flags;
  bool text = false;
  std::string show;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help" || a == "help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a.rfind("--", 0) != 0)
      return Usage("unexpected argument \"" + a + "\"");
    std::string name = a.substr(2);
    std::string value;
    const size_t eq = name.find('=');
    if (name == "text") {
      text = true;
      continue;
    }
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return Usage("--" + name + " needs a value");
    }
    if (name == "show") {
      show = value;
      continue;
    }
    static const char* kKnown[] = {"input", "output",    "format",
                                   "model", "outputs",   "kind",
                                   "bins",  "quantiles", "max_categories"};
    if (std::find_if(std::begin(kKnown), std::end(kKnown), [&](const char* k) {
          return name == k;
        }) == std::end(kKnown)) {
      return Usage("unknown flag --" + name);
    }
    flags[name] = value;
  }
  if (!show.empty()) {
    if (!flags.empty()) return Usage("--show takes only a FILE (and --text)");
    return Show(show, text);
  }
  if (flags["input"].empty()) return Usage("give --input=FILE");
  if (flags["output"].empty()) return Usage("give --output=FILE");

  profile::TrainingDataOptions options;
  options.format = flags["format"];
  if (!options.format.empty() && options.format != "csv" &&
      options.format != "ndjson") {
    return Usage("--format must be csv or ndjson");
  }
  options.model = flags["model"];
  options.outputs = SplitList(flags["outputs"]);
  for (const std::string& item : SplitList(flags["kind"])) {
    const size_t eq = item.rfind('=');
    const std::string kind = eq == std::string::npos ? "" : item.substr(eq + 1);
    pv1::FieldProfile::Kind k;
    if (kind == "numeric") {
      k = pv1::FieldProfile::NUMERIC;
    } else if (kind == "categorical") {
      k = pv1::FieldProfile::CATEGORICAL;
    } else if (kind == "text") {
      k = pv1::FieldProfile::TEXT;
    } else {
      return Usage("--kind: \"" + item +
                   "\" is not NAME=numeric|categorical|text");
    }
    options.kinds[item.substr(0, eq)] = k;
  }
  if (flags.count("bins") &&
      !ParseSize(flags["bins"], 1, 1000, &options.build.bins)) {
    return Usage("--bins must be an integer from 1 to 1000");
  }
  if (flags.count("quantiles") &&
      !ParseSize(flags["quantiles"], 1, 10000, &options.build.quantiles)) {
    return Usage("--quantiles must be an integer from 1 to 10000");
  }
  if (flags.count("max_categories") &&
      !ParseSize(flags["max_categories"], 1, 1000000,
                 &options.build.max_categories)) {
    return Usage("--max_categories must be an integer from 1 to 1000000");
  }

  pv1::ReferenceProfile profile;
  profile::TrainingDataStats stats;
  if (Status s =
          profile::ProfileFile(flags["input"], options, &profile, &stats);
      !s.ok()) {
    std::fprintf(stderr, "mltool profile: %s\n", s.message().c_str());
    return 1;
  }
  *profile.mutable_created_time() =
      google::protobuf::util::TimeUtil::GetCurrentTime();
  for (const std::string& w : stats.warnings) {
    std::fprintf(stderr, "mltool profile: skipped %s\n", w.c_str());
  }
  if (stats.skipped > stats.warnings.size()) {
    std::fprintf(
        stderr, "mltool profile: skipped %llu more\n",
        static_cast<unsigned long long>(stats.skipped - stats.warnings.size()));
  }
  if (Status s = profile::ValidateProfile(profile); !s.ok()) {
    std::fprintf(stderr, "mltool profile: internal error: %s\n",
                 s.message().c_str());
    return 1;
  }
  std::string data;
  if (text) {
    google::protobuf::TextFormat::PrintToString(profile, &data);
  } else {
    profile.SerializeToString(&data);
  }
  std::ofstream out(flags["output"], std::ios::binary | std::ios::trunc);
  out << data;
  out.close();
  if (!out) {
    std::fprintf(stderr, "mltool profile: cannot write \"%s\": %s\n",
                 flags["output"].c_str(), std::strerror(errno));
    return 1;
  }
  std::printf(
      "profiled %llu records of model \"%s\": %d features, %d outputs -> %s\n",
      static_cast<unsigned long long>(profile.records()),
      profile.model().c_str(), profile.features_size(), profile.outputs_size(),
      flags["output"].c_str());
  return 0;
}

}  // namespace ml_exporter::mltool
