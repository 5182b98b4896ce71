// Similarity of short texts (queries), for detecting a user who repeats a
// request because the first answer was wrong.
#ifndef ML_EXPORTER_CORE_TEXT_SIMILARITY_H_
#define ML_EXPORTER_CORE_TEXT_SIMILARITY_H_

#include <string>
#include <string_view>

namespace ml_exporter::internal {

// Lower case ASCII, punctuation dropped, runs of white space as one space,
// trimmed; at most `max_bytes` kept.
std::string NormalizeText(std::string_view text, size_t max_bytes = 256);

// Levenshtein distance over bytes divided by the longer length: 0 for equal
// texts, 1 for texts with nothing in common. Both empty: 0.
double NormalizedEditDistance(std::string_view a, std::string_view b);

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_CORE_TEXT_SIMILARITY_H_
