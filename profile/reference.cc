#include "profile/reference.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "core/glob_match.h"

namespace ml_exporter::profile {
namespace {

std::string Num(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

template <typename Repeated>
uint64_t Total(const Repeated& counts) {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  return total;
}

// "" when `edges` are finite and strictly increasing.
template <typename Repeated>
std::string CheckEdges(const Repeated& edges, const char* what) {
  for (int i = 0; i < edges.size(); ++i) {
    if (!std::isfinite(edges[i])) {
      return std::string(what) + "[" + std::to_string(i) + "] is not finite";
    }
    if (i > 0 && !(edges[i] > edges[i - 1])) {
      return std::string(what) + " must be strictly increasing (" +
             Num(edges[i - 1]) + " then " + Num(edges[i]) + ")";
    }
  }
  return "";
}

std::string CheckNumeric(const v1::NumericProfile& n) {
  if (n.count() == 0) {
    // Nothing to score against, but the edges still delimit the live bins.
    if (std::string e = CheckEdges(n.edges(), "numeric.edges"); !e.empty()) {
      return e;
    }
    return CheckEdges(n.quantile_edges(), "numeric.quantile_edges");
  }
  if (n.edges().empty()) return "numeric.edges is empty";
  if (std::string e = CheckEdges(n.edges(), "numeric.edges"); !e.empty()) {
    return e;
  }
  if (n.counts_size() != n.edges_size() + 1) {
    return "numeric.counts has " + std::to_string(n.counts_size()) +
           " entries, expected " + std::to_string(n.edges_size() + 1) +
           " (one per edge plus +Inf)";
  }
  if (Total(n.counts()) != n.count()) {
    return "numeric.counts sum to " + std::to_string(Total(n.counts())) +
           ", not numeric.count " + std::to_string(n.count());
  }
  if (n.quantile_edges().empty()) return "numeric.quantile_edges is empty";
  if (std::string e = CheckEdges(n.quantile_edges(), "numeric.quantile_edges");
      !e.empty()) {
    return e;
  }
  if (n.quantile_counts_size() != n.quantile_edges_size() + 1) {
    return "numeric.quantile_counts has " +
           std::to_string(n.quantile_counts_size()) + " entries, expected " +
           std::to_string(n.quantile_edges_size() + 1);
  }
  if (Total(n.quantile_counts()) != n.count()) {
    return "numeric.quantile_counts sum to " +
           std::to_string(Total(n.quantile_counts())) + ", not numeric.count " +
           std::to_string(n.count());
  }
  if (n.quantile_counts(n.quantile_counts_size() - 1) != 0) {
    return "numeric.quantile_counts counts values above the last quantile "
           "edge (the maximum)";
  }
  if (n.quantile_point_counts_size() > 0) {
    if (n.quantile_point_counts_size() != n.quantile_edges_size()) {
      return "numeric.quantile_point_counts has " +
             std::to_string(n.quantile_point_counts_size()) +
             " entries, expected one per quantile edge";
    }
    for (int i = 0; i < n.quantile_point_counts_size(); ++i) {
      if (n.quantile_point_counts(i) > n.quantile_counts(i)) {
        return "numeric.quantile_point_counts[" + std::to_string(i) +
               "] is larger than the count of its bin";
      }
    }
  }
  if (n.quantile_bin_excess_size() > 0) {
    if (n.quantile_bin_excess_size() != n.quantile_counts_size()) {
      return "numeric.quantile_bin_excess has " +
             std::to_string(n.quantile_bin_excess_size()) +
             " entries, expected one per quantile bin";
    }
    for (double e : n.quantile_bin_excess()) {
      if (!std::isfinite(e) || e < 0) {
        return "numeric.quantile_bin_excess must be finite and >= 0";
      }
    }
  }
  if (!std::isfinite(n.stddev()) || n.stddev() < 0 ||
      !std::isfinite(n.mean())) {
    return "numeric.mean and numeric.stddev must be finite (stddev >= 0)";
  }
  return "";
}

std::string CheckField(const v1::FieldProfile& f) {
  switch (f.kind()) {
    case v1::FieldProfile::KIND_UNSPECIFIED:
      if (f.numeric().count() > 0 || f.categorical().count() > 0) {
        return "has values but no kind";
      }
      return "";
    case v1::FieldProfile::NUMERIC:
    case v1::FieldProfile::TEXT:
      if (std::string e = CheckNumeric(f.numeric()); !e.empty()) return e;
      if (f.kind() == v1::FieldProfile::NUMERIC) return "";
      break;
    case v1::FieldProfile::CATEGORICAL:
      break;
    default:
      return "unknown kind " + std::to_string(f.kind());
  }
  const v1::CategoricalProfile& c = f.categorical();
  std::set<std::string_view> seen;
  uint64_t total = c.other_count();
  for (const auto& cat : c.categories()) {
    if (!seen.insert(cat.value()).second) {
      return "category \"" + cat.value() + "\" is listed twice";
    }
    total += cat.count();
  }
  if (f.kind() == v1::FieldProfile::CATEGORICAL && total != c.count()) {
    return "categorical counts and other_count sum to " +
           std::to_string(total) + ", not categorical.count " +
           std::to_string(c.count());
  }
  return "";
}

std::string CheckSide(
    const google::protobuf::RepeatedPtrField<v1::FieldProfile>& fields,
    const char* side) {
  std::set<std::string_view> names;
  for (int i = 0; i < fields.size(); ++i) {
    const v1::FieldProfile& f = fields[i];
    const std::string where =
        std::string(side) + "[" + std::to_string(i) + "] \"" + f.name() + "\"";
    if (f.name().empty())
      return std::string(side) + "[" + std::to_string(i) + "] has no name";
    if (!names.insert(f.name()).second) return where + " is listed twice";
    if (std::string e = CheckField(f); !e.empty()) return where + ": " + e;
    if (f.kind() == v1::FieldProfile::NUMERIC ||
        f.kind() == v1::FieldProfile::TEXT) {
      PreparedField prepared;
      PrepareField(f, &prepared);
      for (size_t j = 1; j < prepared.ref_cdf.size(); ++j) {
        if (prepared.ref_cdf[j] < prepared.ref_cdf[j - 1]) {
          return where +
                 ": numeric.counts and numeric.quantile_counts disagree (the "
                 "cumulative fraction decreases at " +
                 Num(prepared.bins->edges()[j]) + ")";
        }
      }
    }
  }
  return "";
}

// A reference point mass at least this large (and of two values or more)
// gets a live point counter.
constexpr double kPointMassFraction = 0.001;

void PrepareNumeric(const v1::NumericProfile& n, PreparedField* out) {
  out->count = n.count();
  out->has_distribution = n.count() > 0 && !n.quantile_edges().empty();
  out->mean = n.mean();
  out->stddev = n.stddev();
  out->sum = n.sum();
  out->coarse_edges.assign(n.edges().begin(), n.edges().end());
  out->coarse_counts.assign(n.counts().begin(), n.counts().end());
  out->coarse_bound_labels.push_back(FormatBound(-INFINITY));
  for (double e : out->coarse_edges) {
    out->coarse_bound_labels.push_back(FormatBound(e));
  }
  out->coarse_bound_labels.push_back(FormatBound(INFINITY));
  if (!out->has_distribution) {
    out->bins = std::make_unique<internal::BucketEdges>(out->coarse_edges);
    out->index = BinIndex(out->bins->edges());
    out->coarse_of_bin.assign(out->bins->bucket_count(), 0);
    out->ref_cdf.assign(out->coarse_edges.size(), 0);
    out->ref_below = out->ref_cdf;
    out->point_of_edge.assign(out->coarse_edges.size(), -1);
    return;
  }
  // The reference CDF is known exactly at both sets of edges (a profile
  // from mltool has every histogram edge in its summary).
  struct At {
    double cdf = 0;
    double below = -1;  // < 0: no point mass tracked
    int quantile = -1;  // index in quantile_edges
  };
  std::map<double, At> at;
  const double total = static_cast<double>(n.count());
  uint64_t cumulative = 0;
  for (int i = 0; i < n.edges_size(); ++i) {
    cumulative += n.counts(i);
    at[n.edges(i)].cdf = static_cast<double>(cumulative) / total;
  }
  cumulative = 0;
  const bool has_points = n.quantile_point_counts_size() > 0;
  for (int i = 0; i < n.quantile_edges_size(); ++i) {
    cumulative += n.quantile_counts(i);
    At& a = at[n.quantile_edges(i)];
    a.cdf = static_cast<double>(cumulative) / total;
    a.quantile = i;
    if (has_points) {
      const uint64_t p = n.quantile_point_counts(i);
      if (p >= 2 && static_cast<double>(p) >= kPointMassFraction * total) {
        a.below = static_cast<double>(cumulative - p) / total;
      }
    }
  }
  std::vector<double> edges;
  std::vector<int> quantile_of_edge;
  for (const auto& [edge, a] : at) {
    edges.push_back(edge);
    quantile_of_edge.push_back(a.quantile);
    out->ref_cdf.push_back(a.cdf);
    if (a.below >= 0) {
      out->ref_below.push_back(a.below);
      out->point_of_edge.push_back(static_cast<int32_t>(out->points++));
    } else {
      out->ref_below.push_back(a.cdf);
      out->point_of_edge.push_back(-1);
    }
  }
  out->bins = std::make_unique<internal::BucketEdges>(edges);
  out->index = BinIndex(edges);
  out->min = n.quantile_edges(0);
  out->max = n.quantile_edges(n.quantile_edges_size() - 1);
  out->min_edge = static_cast<size_t>(
      std::lower_bound(edges.begin(), edges.end(), out->min) - edges.begin());
  out->max_edge = static_cast<size_t>(
      std::lower_bound(edges.begin(), edges.end(), out->max) - edges.begin());
  for (size_t j = 0; j <= edges.size(); ++j) {
    const size_t coarse =
        j < edges.size()
            ? static_cast<size_t>(std::lower_bound(out->coarse_edges.begin(),
                                                   out->coarse_edges.end(),
                                                   edges[j]) -
                                  out->coarse_edges.begin())
            : out->coarse_edges.size();
    out->coarse_of_bin.push_back(static_cast<uint32_t>(coarse));
  }
  // Bin j is (edges[j-1], edges[j]]; its reference excess is known when it
  // is a bin of the quantile summary.
  const auto excess = [&](size_t j, double* value) {
    const int q = quantile_of_edge[j];
    if (n.quantile_bin_excess_size() == 0 || q < 1 ||
        quantile_of_edge[j - 1] != q - 1) {
      return false;
    }
    *value = n.quantile_bin_excess(q) / total;
    return true;
  };
  if (out->min_edge + 1 <= out->max_edge &&
      excess(out->min_edge + 1, &out->ref_first_excess)) {
    out->first_exact_bin = out->min_edge + 1;
  }
  if (out->max_edge > out->first_exact_bin && out->max_edge > out->min_edge &&
      excess(out->max_edge, &out->ref_last_excess)) {
    out->last_exact_bin = out->max_edge;
  }
}

}  // namespace

BinIndex::BinIndex(const std::vector<double>& edges) : size_(edges.size()) {
  const size_t blocks = (edges.size() + kBlock - 1) / kBlock;
  blocks_.reset(static_cast<double*>(
      std::aligned_alloc(64, std::max<size_t>(blocks, 1) * kBlock * 8)));
  for (size_t i = 0; i < blocks * kBlock; ++i) {
    blocks_[i] = i < edges.size() ? edges[i] : INFINITY;
  }
  for (size_t b = 0; b < blocks; ++b) {
    guide_.push_back(
        edges[std::min(b * kBlock + kBlock - 1, edges.size() - 1)]);
  }
}

size_t PreparedField::value_bin_count() const {
  if (kind == v1::FieldProfile::CATEGORICAL) return category_names.size() + 1;
  return bins ? bins->bucket_count() : 0;
}

size_t PreparedField::bin_count() const { return value_bin_count() + points; }

std::vector<double> PreparedField::ReferenceBins() const {
  const std::vector<uint64_t>& counts =
      kind == v1::FieldProfile::CATEGORICAL ? category_counts : coarse_counts;
  return std::vector<double>(counts.begin(), counts.end());
}

const PreparedField* PreparedProfile::Feature(std::string_view name) const {
  auto it = feature_index.find(name);
  return it == feature_index.end() ? nullptr : &features[it->second];
}

const PreparedField* PreparedProfile::Output(std::string_view name) const {
  auto it = output_index.find(name);
  return it == output_index.end() ? nullptr : &outputs[it->second];
}

void PrepareField(const v1::FieldProfile& field, PreparedField* out) {
  out->name = field.name();
  out->kind = field.kind();
  switch (field.kind()) {
    case v1::FieldProfile::NUMERIC:
    case v1::FieldProfile::TEXT:
      PrepareNumeric(field.numeric(), out);
      break;
    case v1::FieldProfile::CATEGORICAL: {
      const v1::CategoricalProfile& c = field.categorical();
      for (const auto& cat : c.categories()) {
        out->category_index.emplace(
            cat.value(), static_cast<uint32_t>(out->category_names.size()));
        out->category_names.push_back(cat.value());
        out->category_counts.push_back(cat.count());
      }
      out->category_counts.push_back(c.other_count());
      out->complete = c.other_count() == 0;
      out->count = c.count();
      out->has_distribution = c.count() > 0;
      break;
    }
    default:
      break;
  }
}

Status ValidateProfile(const v1::ReferenceProfile& profile) {
  if (std::string e = CheckSide(profile.features(), "features"); !e.empty()) {
    return Status::InvalidArgument(e);
  }
  if (std::string e = CheckSide(profile.outputs(), "outputs"); !e.empty()) {
    return Status::InvalidArgument(e);
  }
  return Status::Ok();
}

Status ReadProfileFile(const std::string& path, v1::ReferenceProfile* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::NotFound("cannot read reference profile \"" + path +
                            "\": " + std::strerror(errno));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return ParseProfile(buffer.str(), path, out);
}

Status ParseProfile(const std::string& data, const std::string& path,
                    v1::ReferenceProfile* out) {
  out->Clear();
  if (!out->ParseFromString(data)) {
    // Not the binary form: the text form, with its own error position.
    class Collector : public google::protobuf::io::ErrorCollector {
     public:
      void AddError(int line, int column, const std::string& message) override {
        if (first.empty()) {
          first = std::to_string(line + 1) + ":" + std::to_string(column + 1) +
                  ": " + message;
        }
      }
      std::string first;
    } errors;
    google::protobuf::TextFormat::Parser parser;
    parser.RecordErrorsTo(&errors);
    out->Clear();
    if (!parser.ParseFromString(data, out)) {
      return Status::InvalidArgument(
          "\"" + path +
          "\" is not a reference profile (neither the binary form nor the "
          "text form; as text: " +
          path + ":" + errors.first + ")");
    }
  }
  if (Status s = ValidateProfile(*out); !s.ok()) {
    return Status::InvalidArgument("reference profile \"" + path +
                                   "\": " + s.message());
  }
  return Status::Ok();
}

std::shared_ptr<PreparedProfile> PrepareProfile(
    const v1::ReferenceProfile& proto, const std::string& path) {
  auto prepared = std::make_shared<PreparedProfile>();
  prepared->path = path;
  prepared->model = proto.model();
  prepared->source = proto.source();
  prepared->features.resize(proto.features_size());
  for (int i = 0; i < proto.features_size(); ++i) {
    PrepareField(proto.features(i), &prepared->features[i]);
    prepared->feature_index.emplace(proto.features(i).name(), i);
  }
  prepared->outputs.resize(proto.outputs_size());
  for (int i = 0; i < proto.outputs_size(); ++i) {
    PrepareField(proto.outputs(i), &prepared->outputs[i]);
    prepared->output_index.emplace(proto.outputs(i).name(), i);
  }
  return prepared;
}

std::shared_ptr<const PreparedProfile> LoadReference(const std::string& path,
                                                     Status* status) {
  struct Entry {
    off_t size = -1;
    struct timespec mtime {};
    std::shared_ptr<const PreparedProfile> profile;
  };
  static std::mutex mu;
  static std::map<std::string, Entry>* cache = new std::map<std::string, Entry>;

  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    *status = Status::NotFound("cannot read reference profile \"" + path +
                               "\": " + std::strerror(errno));
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mu);
  Entry& entry = (*cache)[path];
  if (entry.profile && entry.size == st.st_size &&
      entry.mtime.tv_sec == st.st_mtim.tv_sec &&
      entry.mtime.tv_nsec == st.st_mtim.tv_nsec) {
    *status = Status::Ok();
    return entry.profile;
  }
  v1::ReferenceProfile proto;
  if (Status s = ReadProfileFile(path, &proto); !s.ok()) {
    *status = s;
    return nullptr;
  }
  entry.size = st.st_size;
  entry.mtime = st.st_mtim;
  entry.profile = PrepareProfile(proto, path);
  *status = Status::Ok();
  return entry.profile;
}

const ReferenceSpec* FindReference(const std::vector<ReferenceSpec>& specs,
                                   std::string_view model,
                                   std::string_view version,
                                   std::string_view stage) {
  for (const ReferenceSpec& spec : specs) {
    if (internal::GlobMatch(spec.model, model) &&
        internal::GlobMatch(spec.version, version) &&
        internal::GlobMatch(spec.stage, stage)) {
      return &spec;
    }
  }
  return nullptr;
}

}  // namespace ml_exporter::profile
