#include "core/text_similarity.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace ml_exporter::internal {

std::string NormalizeText(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  bool space = false;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (out.size() >= max_bytes) break;
    if (std::isspace(c)) {
      space = !out.empty();
      continue;
    }
    if (c < 0x80 && std::ispunct(c)) continue;
    if (space) out.push_back(' ');
    space = false;
    out.push_back(static_cast<char>(c < 0x80 ? std::tolower(c) : c));
  }
  return out;
}

double NormalizedEditDistance(std::string_view a, std::string_view b) {
  if (a.empty() && b.empty()) return 0;
  thread_local std::vector<size_t> prev, cur;
  prev.resize(b.size() + 1);
  cur.resize(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min(
          {prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return static_cast<double>(prev[b.size()]) /
         static_cast<double>(std::max(a.size(), b.size()));
}

}  // namespace ml_exporter::internal
