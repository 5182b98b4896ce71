// The grammar of one JSON record's members, shared by the two record
// scanners (json_record_scanner.cc walks bytes, json_token_scanner.cc walks
// a structural index). Each is a template over a cursor that provides:
//
//   void SkipSpace();              // white space before the next item
//   char Peek();                   // its first byte after white space, or 0
//   void Skip();                   // steps over the byte Peek() returned,
//                                  //   which is one of { } [ ]
//   bool Consume(char c);          // steps over `c` if it comes next
//   bool String(std::string_view*) // a plain string (no escapes, ASCII)
//   bool Number(double*)           // a number converted as simdjson does
//   bool Literal(std::string_view) // exactly this word (true/false/null)
//
// Any primitive may decline (return false) text it does not handle; the
// record is then left to the next decoder. What the grammar accepts it
// decodes as DecodeJsonRecord decodes it (record_decoder.h).
//
// A translation unit that compiles a cursor for a particular instruction
// set includes this header inside its `#pragma GCC target` region, after
// every standard header, so that only its own instantiations get that
// target.
#ifndef ML_EXPORTER_EXPORTER_JSON_MEMBER_GRAMMAR_H_
#define ML_EXPORTER_EXPORTER_JSON_MEMBER_GRAMMAR_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <vector>

#include "exporter/json_syntax.h"
#include "ml_exporter/record.h"

namespace ml_exporter::internal::json_grammar {

// Deeper values (only possible under unknown keys) are left to the DOM
// decoder.
constexpr int kMaxSkipDepth = 64;

// The per-value steps are inlined whatever the size heuristics say: a
// call per value costs more than the step itself.
#define ML_EXPORTER_GRAMMAR_INLINE __attribute__((always_inline)) inline

// `key` is `word`, a literal of 4 to 16 bytes, compared with two
// overlapping loads (a memcmp of 5, 7, 10 or 15 bytes is a library call).
template <size_t N>
ML_EXPORTER_GRAMMAR_INLINE bool Is(std::string_view key,
                                   const char (&word)[N]) {
  constexpr size_t n = N - 1;
  static_assert(n >= 4 && n <= 16, "two overlapping loads");
  if (key.size() != n) return false;
  using Word = std::conditional_t<(n >= 8), uint64_t, uint32_t>;
  constexpr size_t w = sizeof(Word);
  Word key_head, key_tail, word_head, word_tail;
  __builtin_memcpy(&key_head, key.data(), w);
  __builtin_memcpy(&key_tail, key.data() + n - w, w);
  __builtin_memcpy(&word_head, word, w);
  __builtin_memcpy(&word_tail, word + n - w, w);
  return ((key_head ^ word_head) | (key_tail ^ word_tail)) == 0;
}

template <typename Cursor>
ML_EXPORTER_GRAMMAR_INLINE bool Null(Cursor& s) {
  if (s.Peek() != 'n') return false;
  return s.Literal("null");
}

// Any JSON value, checked and discarded.
template <typename Cursor>
bool SkipValue(Cursor& s, int depth) {
  if (depth > kMaxSkipDepth) return false;
  std::string_view text;
  double number;
  switch (s.Peek()) {
    case '"':
      return s.String(&text);
    case '{':
      s.Skip();
      if (s.Consume('}')) return true;
      do {
        s.SkipSpace();
        if (!s.String(&text) || !s.Consume(':') || !SkipValue(s, depth + 1)) {
          return false;
        }
      } while (s.Consume(','));
      return s.Consume('}');
    case '[':
      s.Skip();
      if (s.Consume(']')) return true;
      do {
        if (!SkipValue(s, depth + 1)) return false;
      } while (s.Consume(','));
      return s.Consume(']');
    case 't':
      return s.Literal("true");
    case 'f':
      return s.Literal("false");
    case 'n':
      return s.Literal("null");
    default:
      return s.Number(&number);
  }
}

// A scalar value (not an object or array) as a FieldValue.
template <typename Cursor>
ML_EXPORTER_GRAMMAR_INLINE bool Scalar(Cursor& s, FieldValue* out) {
  switch (s.Peek()) {
    case '"': {
      std::string_view text;
      if (!s.String(&text)) return false;
      *out = FieldValue::String(text);
      return true;
    }
    case 't':
      if (!s.Literal("true")) return false;
      *out = FieldValue::Bool(true);
      return true;
    case 'f':
      if (!s.Literal("false")) return false;
      *out = FieldValue::Bool(false);
      return true;
    case 'n':
      if (!s.Literal("null")) return false;
      *out = FieldValue::Null();
      return true;
    case '{':
    case '[':
      return false;
    default: {
      double number;
      if (!s.Number(&number)) return false;
      *out = FieldValue::Number(number);
      return true;
    }
  }
}

// `"name": value` members of an inputs or outputs object (after its
// opening brace), as DecodeJsonRecord's GetFields reads them.
template <typename Cursor>
bool Fields(Cursor& s, std::vector<FieldValue>* list_items,
            std::vector<Field>* out) {
  if (s.Consume('}')) return true;
  do {
    // Filled in place; on failure the record is unspecified anyway.
    Field& f = out->emplace_back();
    s.SkipSpace();
    if (!s.String(&f.name) || !s.Consume(':')) return false;
    if (s.Peek() == '[') {
      s.Skip();
      FieldValue list;
      list.kind = FieldValue::Kind::kList;
      list.list_begin = static_cast<uint32_t>(list_items->size());
      if (!s.Consume(']')) {
        do {
          FieldValue item;
          if (!Scalar(s, &item)) return false;
          list_items->push_back(item);
          ++list.list_size;
        } while (s.Consume(','));
        if (!s.Consume(']')) return false;
      }
      f.value = list;
    } else if (!Scalar(s, &f.value)) {
      return false;
    }
  } while (s.Consume(','));
  return s.Consume('}');
}

// A string or null member of the record (model, version, ...): null leaves
// `*out` as it is.
template <typename Cursor>
ML_EXPORTER_GRAMMAR_INLINE bool StringOrNull(Cursor& s, std::string_view* out) {
  if (s.Peek() == 'n') return Null(s);
  return s.String(out);
}

// An inputs or outputs member: null, or an object of fields.
template <typename Cursor>
ML_EXPORTER_GRAMMAR_INLINE bool FieldsOrNull(
    Cursor& s, std::vector<FieldValue>* list_items, std::vector<Field>* out) {
  if (s.Peek() == 'n') return Null(s);
  return s.Consume('{') && Fields(s, list_items, out);
}

// The members of a record object, from its opening brace to its closing
// one. False also for a record without a model.
template <typename Cursor>
bool ScanMembers(Cursor& s, Record* record) {
  record->Clear();
  if (!s.Consume('{')) return false;
  if (!s.Consume('}')) {
    do {
      std::string_view key;
      s.SkipSpace();
      if (!s.String(&key) || !s.Consume(':')) return false;
      s.SkipSpace();
      bool ok = true;
      switch (key.size()) {
        case 4:
          if (Is(key, "time")) {
            const char c = s.Peek();
            if (c == 'n') {
              ok = Null(s);
            } else if (c == '"') {
              std::string_view text;
              ok = s.String(&text) && ParseRfc3339(text, &record->time_seconds);
            } else {
              ok = c != '{' && c != '[' && c != 't' && c != 'f' &&
                   s.Number(&record->time_seconds);
            }
            break;
          }
          ok = SkipValue(s, 0);
          break;
        case 5:
          if (Is(key, "model")) {
            ok = StringOrNull(s, &record->model);
          } else if (Is(key, "stage")) {
            ok = StringOrNull(s, &record->stage);
          } else if (Is(key, "error")) {
            const char c = s.Peek();
            if (c == 'n') {
              ok = Null(s);
            } else if (c == 't') {
              ok = s.Literal("true");
              record->error = true;
            } else if (c == 'f') {
              ok = s.Literal("false");
              record->error = false;
            } else {
              ok = false;
            }
          } else if (Is(key, "blobs")) {
            if (s.Peek() == 'n') {
              ok = Null(s);
            } else if (s.Consume('{')) {
              if (!s.Consume('}')) {
                do {
                  Blob blob;
                  blob.base64 = true;
                  s.SkipSpace();
                  if (!s.String(&blob.name) || !s.Consume(':')) return false;
                  s.SkipSpace();
                  if (!s.String(&blob.data)) return false;
                  record->blobs.push_back(blob);
                } while (s.Consume(','));
                ok = s.Consume('}');
              }
            } else {
              ok = false;
            }
          } else {
            ok = SkipValue(s, 0);
          }
          break;
        case 6:
          if (Is(key, "inputs")) {
            ok = FieldsOrNull(s, &record->list_items, &record->inputs);
          } else if (Is(key, "events")) {
            return false;  // a wrapper: the DOM path reads those
          } else {
            ok = SkipValue(s, 0);
          }
          break;
        case 7:
          if (Is(key, "version")) {
            ok = StringOrNull(s, &record->version);
          } else if (Is(key, "outputs")) {
            ok = FieldsOrNull(s, &record->list_items, &record->outputs);
          } else if (Is(key, "records")) {
            return false;  // a wrapper
          } else {
            ok = SkipValue(s, 0);
          }
          break;
        case 10:
          if (Is(key, "request_id")) {
            ok = StringOrNull(s, &record->request_id);
          } else if (Is(key, "session_id")) {
            ok = StringOrNull(s, &record->session_id);
          } else {
            ok = SkipValue(s, 0);
          }
          break;
        case 15:
          if (Is(key, "latency_seconds")) {
            const char c = s.Peek();
            if (c == 'n') {
              ok = Null(s);
            } else {
              double latency = 0;
              ok = c != '{' && c != '[' && c != 't' && c != 'f' && c != '"' &&
                   s.Number(&latency) && !(latency < 0);
              record->latency_seconds = latency;
            }
            break;
          }
          ok = SkipValue(s, 0);
          break;
        default:
          ok = SkipValue(s, 0);
      }
      if (!ok) return false;
    } while (s.Consume(','));
    if (!s.Consume('}')) return false;
  }
  return !record->model.empty();
}

}  // namespace ml_exporter::internal::json_grammar

#endif  // ML_EXPORTER_EXPORTER_JSON_MEMBER_GRAMMAR_H_
