#include "mltool/review/selector.h"

#include <cctype>

namespace ml_exporter::mltool::review {
namespace {

bool IsModelLabel(const std::string& label) {
  return label == "model" || label == "version" || label == "stage" ||
         label == "feature" || label == "output";
}

std::string Quote(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

Status Selector::Parse(std::string_view text, Selector* out) {
  out->matchers_.clear();
  size_t i = 0;
  auto skip = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
      ++i;
  };
  auto fail = [&](const std::string& what) {
    return Status::InvalidArgument("bad --selector \"" + std::string(text) +
                                   "\" at offset " + std::to_string(i) + ": " +
                                   what + " (e.g. {model=\"asr\"})");
  };
  skip();
  if (i == text.size()) return Status::Ok();
  if (text[i] != '{') return fail("expected '{'");
  ++i;
  while (true) {
    skip();
    if (i < text.size() && text[i] == '}') {
      ++i;
      break;
    }
    Matcher m;
    while (
        i < text.size() &&
        (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) {
      m.label += text[i++];
    }
    if (m.label.empty() || std::isdigit(static_cast<unsigned char>(m.label[0])))
      return fail("expected a label name");
    skip();
    if (text.substr(i, 2) == "=~" || text.substr(i, 2) == "!=" ||
        text.substr(i, 2) == "!~") {
      m.op = std::string(text.substr(i, 2));
      i += 2;
    } else if (i < text.size() && text[i] == '=') {
      m.op = "=";
      ++i;
    } else {
      return fail("expected =, !=, =~ or !~");
    }
    skip();
    if (i >= text.size() || (text[i] != '"' && text[i] != '\'')) {
      return fail("expected a quoted value");
    }
    const char quote = text[i++];
    bool closed = false;
    while (i < text.size()) {
      const char c = text[i++];
      if (c == quote) {
        closed = true;
        break;
      }
      if (c == '\\' && i < text.size()) {
        const char e = text[i++];
        m.value += e == 'n' ? '\n' : e;
        continue;
      }
      m.value += c;
    }
    if (!closed) return fail("unterminated value");
    out->matchers_.push_back(std::move(m));
    skip();
    if (i < text.size() && text[i] == ',') {
      ++i;
      continue;
    }
    if (i < text.size() && text[i] == '}') {
      ++i;
      break;
    }
    return fail("expected ',' or '}'");
  }
  skip();
  if (i != text.size()) return fail("trailing text");
  return Status::Ok();
}

std::string Selector::Apply(std::string_view metric, std::string_view extra,
                            bool for_model_metrics) const {
  std::string inner(extra);
  for (const Matcher& m : matchers_) {
    if (!for_model_metrics && IsModelLabel(m.label)) continue;
    if (!inner.empty()) inner += ", ";
    inner += m.label + m.op + Quote(m.value);
  }
  return std::string(metric) + "{" + inner + "}";
}

}  // namespace ml_exporter::mltool::review
