#include "profile/training_data.h"

#include <simdjson.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "exporter/record_decoder.h"

namespace ml_exporter::profile {
namespace {

constexpr size_t kMaxWarnings = 10;

void Warn(TrainingDataStats* stats, std::string message) {
  ++stats->skipped;
  if (stats->warnings.size() < kMaxWarnings) {
    stats->warnings.push_back(std::move(message));
  }
}

// The fields of one side of one model, in the order first seen.
class FieldSet {
 public:
  profile::FieldAccumulator& Get(std::string_view name) {
    auto it = index_.find(name);
    if (it != index_.end()) return *fields_[it->second].second;
    index_.emplace(std::string(name), fields_.size());
    fields_.emplace_back(std::string(name),
                         std::make_unique<profile::FieldAccumulator>());
    return *fields_.back().second;
  }
  void FinishInto(
      uint64_t records, const TrainingDataOptions& options,
      google::protobuf::RepeatedPtrField<v1::FieldProfile>* out) const {
    for (const auto& [name, acc] : fields_) {
      v1::FieldProfile::Kind kind = v1::FieldProfile::KIND_UNSPECIFIED;
      if (auto k = options.kinds.find(name); k != options.kinds.end()) {
        kind = k->second;
      }
      *out->Add() = acc->Finish(name, records, options.build, kind);
    }
  }

 private:
  internal::StringMap<size_t> index_;
  std::vector<
      std::pair<std::string, std::unique_ptr<profile::FieldAccumulator>>>
      fields_;
};

struct ModelData {
  uint64_t records = 0;
  FieldSet inputs;
  FieldSet outputs;
};

void AddValue(const FieldValue& v, const std::vector<FieldValue>& list_items,
              profile::FieldAccumulator* acc) {
  switch (v.kind) {
    case FieldValue::Kind::kNull:
      acc->AddNull();
      return;
    case FieldValue::Kind::kNumber:
      acc->AddPresent();
      acc->AddNumber(v.number);
      return;
    case FieldValue::Kind::kString:
      acc->AddPresent();
      acc->AddString(v.text);
      return;
    case FieldValue::Kind::kBool:
      acc->AddPresent();
      acc->AddBool(v.boolean);
      return;
    case FieldValue::Kind::kList:
      if (v.list_size == 0) {
        acc->AddNull();
        return;
      }
      acc->AddPresent();
      for (uint32_t i = 0; i < v.list_size; ++i) {
        const FieldValue& item = list_items[v.list_begin + i];
        if (item.kind == FieldValue::Kind::kNumber) acc->AddNumber(item.number);
        if (item.kind == FieldValue::Kind::kString) acc->AddString(item.text);
        if (item.kind == FieldValue::Kind::kBool) acc->AddBool(item.boolean);
      }
      return;
  }
}

void AddRecord(const Record& record, ModelData* data) {
  ++data->records;
  for (const Field& f : record.inputs) {
    AddValue(f.value, record.list_items, &data->inputs.Get(f.name));
  }
  for (const Field& f : record.outputs) {
    AddValue(f.value, record.list_items, &data->outputs.Get(f.name));
  }
}

void StartProfile(const std::string& source, const TrainingDataOptions& options,
                  v1::ReferenceProfile* out) {
  out->Clear();
  out->set_source(source);
  out->mutable_settings()->set_bins(static_cast<uint32_t>(options.build.bins));
  out->mutable_settings()->set_quantiles(
      static_cast<uint32_t>(options.build.quantiles));
  out->mutable_settings()->set_max_categories(
      static_cast<uint32_t>(options.build.max_categories));
}

}  // namespace

bool ParseNumber(std::string_view text, double* value) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty() || text.front() == '+') return false;
  const char* end = text.data() + text.size();
  const auto result =
      std::from_chars(text.data(), end, *value, std::chars_format::general);
  return result.ec == std::errc() && result.ptr == end;
}

Status ForEachCsvRow(
    std::string_view text,
    const std::function<Status(const std::vector<std::string>& cells,
                               size_t line)>& row) {
  size_t i = 0;
  size_t line = 1;
  std::vector<std::string> cells;
  while (i < text.size()) {
    const size_t row_line = line;
    cells.clear();
    bool quoted = false;
    for (;;) {
      std::string cell;
      if (i < text.size() && text[i] == '"') {
        quoted = true;
        const size_t quote_line = line;
        ++i;
        for (;;) {
          if (i >= text.size()) {
            return Status::InvalidArgument(
                "line " + std::to_string(quote_line) +
                ": a quoted cell is not closed before the end of the file");
          }
          const char c = text[i];
          if (c == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              cell.push_back('"');
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (c == '\n') ++line;
          cell.push_back(c);
          ++i;
        }
        if (i < text.size() && text[i] != ',' && text[i] != '\n' &&
            !(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
          return Status::InvalidArgument(
              "line " + std::to_string(line) +
              ": text after the closing quote of a cell (a quote inside a "
              "quoted cell is written \"\")");
        }
      } else {
        while (
            i < text.size() && text[i] != ',' && text[i] != '\n' &&
            !(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
          cell.push_back(text[i++]);
        }
      }
      cells.push_back(std::move(cell));
      if (i < text.size() && text[i] == ',') {
        ++i;
        continue;
      }
      if (i < text.size()) {  // end of the row
        i += text[i] == '\r' ? 2 : 1;
        ++line;
      }
      break;
    }
    if (cells.size() == 1 && cells[0].empty() && !quoted) continue;  // blank
    if (Status s = row(cells, row_line); !s.ok()) return s;
  }
  return Status::Ok();
}

Status ProfileCsv(std::string_view text, const std::string& source,
                  const TrainingDataOptions& options, v1::ReferenceProfile* out,
                  TrainingDataStats* stats) {
  (void)stats;
  std::vector<std::string> header;
  std::vector<bool> numeric;
  uint64_t rows = 0;
  // First pass: the header, the shape of every row, and which columns hold
  // only numbers.
  Status s = ForEachCsvRow(text, [&](const std::vector<std::string>& cells,
                                     size_t line) {
    if (header.empty()) {
      std::set<std::string> seen;
      for (size_t c = 0; c < cells.size(); ++c) {
        if (cells[c].empty()) {
          return Status::InvalidArgument("line " + std::to_string(line) +
                                         ": column " + std::to_string(c + 1) +
                                         " of the header has no name");
        }
        if (!seen.insert(cells[c]).second) {
          return Status::InvalidArgument("line " + std::to_string(line) +
                                         ": column \"" + cells[c] +
                                         "\" appears twice in the header");
        }
      }
      header = cells;
      numeric.assign(header.size(), true);
      return Status::Ok();
    }
    if (cells.size() != header.size()) {
      return Status::InvalidArgument(
          "line " + std::to_string(line) + ": " + std::to_string(cells.size()) +
          " cells, but the header has " + std::to_string(header.size()) +
          " columns");
    }
    ++rows;
    double v;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (numeric[c] && !cells[c].empty() && !ParseNumber(cells[c], &v)) {
        numeric[c] = false;
      }
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (header.empty()) {
    return Status::InvalidArgument(
        "the file is empty (a header row with the "
        "column names is required)");
  }
  std::vector<bool> is_output(header.size(), false);
  for (const std::string& name : options.outputs) {
    auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) {
      return Status::InvalidArgument("--outputs: no column \"" + name +
                                     "\" in the header");
    }
    is_output[it - header.begin()] = true;
  }
  for (size_t c = 0; c < header.size(); ++c) {
    if (auto k = options.kinds.find(header[c]); k != options.kinds.end()) {
      numeric[c] = k->second == v1::FieldProfile::NUMERIC;
    }
  }
  std::vector<std::unique_ptr<FieldAccumulator>> acc;
  for (size_t c = 0; c < header.size(); ++c) {
    acc.push_back(std::make_unique<FieldAccumulator>());
  }
  bool first = true;
  s = ForEachCsvRow(text, [&](const std::vector<std::string>& cells, size_t) {
    if (first) {
      first = false;
      return Status::Ok();
    }
    for (size_t c = 0; c < cells.size(); ++c) {
      FieldAccumulator& a = *acc[c];
      if (cells[c].empty()) {
        a.AddNull();
        continue;
      }
      a.AddPresent();
      double v;
      if (numeric[c] && ParseNumber(cells[c], &v)) {
        a.AddNumber(v);
      } else {
        a.AddString(cells[c]);
      }
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  StartProfile(source, options, out);
  out->set_model(options.model);
  out->set_records(rows);
  for (size_t c = 0; c < header.size(); ++c) {
    v1::FieldProfile::Kind kind = v1::FieldProfile::KIND_UNSPECIFIED;
    if (auto k = options.kinds.find(header[c]); k != options.kinds.end()) {
      kind = k->second;
    }
    *(is_output[c] ? out->add_outputs() : out->add_features()) =
        acc[c]->Finish(header[c], rows, options.build, kind);
  }
  return Status::Ok();
}

Status ProfileNdjson(std::string_view text, const std::string& source,
                     const TrainingDataOptions& options,
                     v1::ReferenceProfile* out, TrainingDataStats* stats) {
  std::map<std::string, ModelData> models;
  simdjson::dom::parser parser;
  Record record;
  internal::DecodeError error;
  size_t line = 0;
  size_t start = 0;
  while (start < text.size()) {
    ++line;
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view body = text.substr(start, end - start);
    start = end + 1;
    if (body.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const simdjson::padded_string padded(body);
    simdjson::dom::element doc;
    if (parser.parse(padded).get(doc) != simdjson::SUCCESS) {
      Warn(stats, "line " + std::to_string(line) + ": not valid JSON");
      continue;
    }
    simdjson::dom::object object;
    if (doc.get(object) != simdjson::SUCCESS) {
      Warn(stats, "line " + std::to_string(line) + ": not a JSON object");
      continue;
    }
    std::vector<simdjson::dom::object> records;
    simdjson::dom::array wrapped;
    if (object["records"].get(wrapped) == simdjson::SUCCESS) {
      for (simdjson::dom::element e : wrapped) {
        simdjson::dom::object r;
        if (e.get(r) == simdjson::SUCCESS) {
          records.push_back(r);
        } else {
          Warn(stats, "line " + std::to_string(line) +
                          ": a record that is not a JSON object");
        }
      }
    } else if (object["events"].error() == simdjson::SUCCESS &&
               object["model"].error() != simdjson::SUCCESS) {
      continue;  // events only
    } else {
      records.push_back(object);
    }
    for (simdjson::dom::object r : records) {
      if (!internal::DecodeJsonRecord(r, &record, &error)) {
        Warn(stats, "line " + std::to_string(line) + ": " + error.message);
        continue;
      }
      if (record.model.empty()) {
        Warn(stats,
             "line " + std::to_string(line) + ": a record without \"model\"");
        continue;
      }
      AddRecord(record, &models[std::string(record.model)]);
    }
  }
  if (models.empty()) {
    return Status::InvalidArgument("no usable record in the file");
  }
  std::string model = options.model;
  if (model.empty()) {
    if (models.size() > 1) {
      std::string names;
      for (const auto& [name, data] : models) {
        names += (names.empty() ? "" : ", ") + name;
      }
      return Status::InvalidArgument(
          "the file has records of several models (" + names +
          "); choose one with --model");
    }
    model = models.begin()->first;
  }
  auto it = models.find(model);
  if (it == models.end()) {
    return Status::InvalidArgument("no record of model \"" + model +
                                   "\" in the file");
  }
  StartProfile(source, options, out);
  out->set_model(model);
  out->set_records(it->second.records);
  it->second.inputs.FinishInto(it->second.records, options,
                               out->mutable_features());
  it->second.outputs.FinishInto(it->second.records, options,
                                out->mutable_outputs());
  return Status::Ok();
}

Status ProfileFile(const std::string& path, const TrainingDataOptions& options,
                   v1::ReferenceProfile* out, TrainingDataStats* stats) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::NotFound("cannot read \"" + path +
                            "\": " + std::strerror(errno));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  std::string format = options.format;
  if (format.empty()) {
    const bool csv =
        path.size() >= 4 && (path.compare(path.size() - 4, 4, ".csv") == 0 ||
                             path.compare(path.size() - 4, 4, ".CSV") == 0);
    format = csv ? "csv" : "ndjson";
  }
  Status s;
  if (format == "csv") {
    s = ProfileCsv(text, path, options, out, stats);
  } else if (format == "ndjson") {
    s = ProfileNdjson(text, path, options, out, stats);
  } else {
    return Status::InvalidArgument("unknown format \"" + format +
                                   "\" (csv or ndjson)");
  }
  if (!s.ok()) return Status::InvalidArgument(path + ": " + s.message());
  return s;
}

}  // namespace ml_exporter::profile
