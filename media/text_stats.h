// Length and character mix of text inputs (queries, prompts, transcripts).
#ifndef ML_EXPORTER_MEDIA_TEXT_STATS_H_
#define ML_EXPORTER_MEDIA_TEXT_STATS_H_

#include <cstdint>
#include <string_view>
#include <vector>

namespace ml_exporter::media {

// The characters a model knows (its vocabulary's alphabet), from a UTF-8
// string. Whitespace is always known.
class Alphabet {
 public:
  explicit Alphabet(std::string_view utf8);
  bool Contains(char32_t c) const;

 private:
  uint64_t ascii_[2] = {0, 0};
  std::vector<char32_t> others_;  // sorted
};

struct TextStats {
  // Unicode code points; each byte of an invalid UTF-8 sequence counts as
  // one character (as ml_feature_length counts).
  uint64_t characters = 0;
  // Maximal runs of non-whitespace (ASCII and Unicode spaces, U+0085,
  // U+2028, U+2029).
  uint64_t tokens = 0;
  // Characters at or above U+0080, invalid bytes included.
  uint64_t non_ascii = 0;
  // Without an alphabet: invalid UTF-8 bytes, U+FFFD, control characters
  // that are not whitespace, private-use code points and noncharacters.
  // With one: invalid bytes and characters outside it. Whitespace is never
  // unknown.
  uint64_t unknown = 0;
};

TextStats AnalyzeText(std::string_view text, const Alphabet* alphabet);

}  // namespace ml_exporter::media

#endif  // ML_EXPORTER_MEDIA_TEXT_STATS_H_
