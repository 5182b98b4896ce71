#include "bench/example_stream.h"

#include <google/protobuf/util/json_util.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <random>

namespace ml_exporter_bench {
namespace {

// Rounded to `digits` decimals and printed shortest, as Python's
// json.dumps(round(x, digits)) does.
void AppendRounded(double v, int digits, std::string* out) {
  const double scale = std::pow(10.0, digits);
  v = std::round(v * scale) / scale;
  if (v == 0) v = 0;  // no "-0"
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) {
    out->append("0");
    return;
  }
  std::string_view text(buf, static_cast<size_t>(end - buf));
  out->append(text);
  // Python prints integral floats with ".0"; keep the JSON type the same.
  if (text.find_first_of(".e") == std::string_view::npos) out->append(".0");
}

// "f0":...,"f1":..., for `count` numeric features: feature k drawn around
// k, 4 decimals, 5% null. Ends with a comma.
void AppendNumericFeatures(int count, std::mt19937_64& rng, std::string* out) {
  std::uniform_real_distribution<double> unit(0, 1);
  for (int k = 0; k < count; ++k) {
    *out += "\"f";
    *out += std::to_string(k);
    *out += "\":";
    if (unit(rng) < 0.05) {
      *out += "null";
    } else {
      std::normal_distribution<double> feature(k, 1 + k / 4.0);
      AppendRounded(feature(rng), 4, out);
    }
    *out += ",";
  }
}

}  // namespace

std::vector<std::string> GenerateExampleStream(size_t n, uint64_t seed) {
  static const char* const kCountries[] = {"DE", "FR", "US", "IN", "BR", "JP"};
  static const char* const kDevices[] = {"ios", "android", "web"};
  static const char* const kLabels[] = {"cat", "dog", "bird"};
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0, 1);
  std::exponential_distribution<double> latency(20);
  std::vector<std::string> lines;
  lines.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string r;
    r.reserve(512);
    r += "{\"model\":\"demo\",\"version\":\"v1\",\"stage\":\"main\"";
    r += ",\"request_id\":\"r" + std::to_string(i) + "\"";
    r += ",\"session_id\":\"s" + std::to_string(i / 4) + "\"";
    r += ",\"latency_seconds\":";
    AppendRounded(latency(rng), 5, &r);
    r += ",\"inputs\":{";
    AppendNumericFeatures(16, rng, &r);
    r += "\"country\":\"";
    r += kCountries[rng() % 6];
    r += "\",\"device\":\"";
    r += kDevices[rng() % 3];
    r += "\",\"query\":\"";
    r += unit(rng) < 0.5 ? "weather in berlin" : "play some music";
    r += "\"},\"outputs\":{\"label\":\"";
    r += kLabels[rng() % 3];
    r += "\",\"score\":";
    AppendRounded(unit(rng), 4, &r);
    r += ",\"transcript\":\"";
    r += unit(rng) < 0.03 ? "" : "ok";
    r += "\"}}";
    lines.push_back(std::move(r));
  }
  return lines;
}

std::vector<std::string> GenerateWideStream(size_t n, int numeric_features,
                                            uint64_t seed) {
  static const char* const kCountries[] = {"DE", "FR", "US", "IN", "BR", "JP"};
  static const char* const kLabels[] = {"cat", "dog", "bird"};
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0, 1);
  std::exponential_distribution<double> latency(20);
  std::vector<std::string> lines;
  lines.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string r;
    r.reserve(128 + 14 * static_cast<size_t>(numeric_features));
    r += "{\"model\":\"wide\",\"version\":\"v1\",\"stage\":\"main\"";
    r += ",\"latency_seconds\":";
    AppendRounded(latency(rng), 5, &r);
    r += ",\"inputs\":{";
    AppendNumericFeatures(numeric_features, rng, &r);
    r += "\"country\":\"";
    r += kCountries[rng() % 6];
    r += "\"},\"outputs\":{\"label\":\"";
    r += kLabels[rng() % 3];
    r += "\",\"score\":";
    AppendRounded(unit(rng), 4, &r);
    r += "}}";
    lines.push_back(std::move(r));
  }
  return lines;
}

bool ReadLines(const std::string& path, size_t max_lines,
               std::vector<std::string>* lines, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot open " + path;
    return false;
  }
  std::string line;
  while ((max_lines == 0 || lines->size() < max_lines) &&
         std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    lines->push_back(std::move(line));
  }
  if (in.bad()) {
    *error = "error reading " + path;
    return false;
  }
  return true;
}

bool JsonLineToRecord(std::string_view line, ml_exporter::v1::Record* record,
                      std::string* error) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(line.data(), line.size()), record, options);
  if (!status.ok()) {
    *error = status.ToString();
    return false;
  }
  return true;
}

std::string NdjsonBody(const std::vector<std::string>& lines, size_t begin,
                       size_t end) {
  std::string body;
  for (size_t i = begin; i < end; ++i) {
    body += lines[i];
    body += '\n';
  }
  return body;
}

std::string JsonArrayBody(const std::vector<std::string>& lines, size_t begin,
                          size_t end) {
  std::string body = "[";
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) body += ',';
    body += lines[i];
  }
  body += ']';
  return body;
}

std::string ProtobufBody(const std::vector<ml_exporter::v1::Record>& records,
                         size_t begin, size_t end) {
  ml_exporter::v1::Batch batch;
  for (size_t i = begin; i < end; ++i) *batch.add_records() = records[i];
  return batch.SerializeAsString();
}

}  // namespace ml_exporter_bench
