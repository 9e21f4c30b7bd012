#include "common/json.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>

namespace smallpeer {

namespace {

/// True for a character a JSON string must escape.
bool must_escape(unsigned char c) {
  return c < 0x20 || c == '"' || c == '\\';
}

/// True if `text` holds a character a JSON string must escape (below 0x20, '"' or '\\'). Nearly
/// every string written (keys, ids, timestamps) has none, so eight bytes are tested at a time: a
/// byte-wise test cost ~1 ns per character, the largest share of building a report's history row.
bool needs_escaping(std::string_view text) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  // A byte's high bit is set where a byte of `v` is below `n` (exact for the lowest such byte; a
  // borrow may mark the bytes above it too, which only matters once one is found).
  const auto below = [](uint64_t v, uint64_t n) { return (v - kOnes * n) & ~v & kHighs; };
  size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, text.data() + i, sizeof w);
    if (below(w, 0x20) | below(w ^ (kOnes * '"'), 1) | below(w ^ (kOnes * '\\'), 1)) return true;
  }
  for (; i < text.size(); ++i) {
    if (must_escape(static_cast<unsigned char>(text[i]))) return true;
  }
  return false;
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  if (!needs_escaping(text)) {
    out.push_back('"');
    out.append(text);
    out.push_back('"');
    return;
  }
  out.push_back('"');
  // Runs of characters that need no escaping (nearly all of them) are appended in one go.
  size_t run = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (!must_escape(c)) continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += fmt::format("\\u{:04x}", c);
    }
  }
  out.append(text.data() + run, text.size() - run);
  out.push_back('"');
}

void JsonWriter::before_value() {
  // Inside a container, a value or key follows '{', '[' (the first), ':' (a key's value), or the
  // end of another value, which never ends with one of those three: only the last needs a comma.
  if (depth_ == 0 || out_.empty()) return;  // empty: take() was called with containers open
  const char last = out_.back();
  if (last != '{' && last != '[' && last != ':') out_.push_back(',');
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  out_.push_back('{');
  ++depth_;
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  out_.push_back('}');
  --depth_;
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  before_value();
  out_.push_back('[');
  ++depth_;
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  out_.push_back(']');
  --depth_;
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
  before_value();
  append_json_string(out_, k);
  out_.push_back(':');
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view v) {
  before_value();
  append_json_string(out_, v);
  return *this;
}

void append_json_integer(std::string& out, int64_t v) {
  const fmt::format_int digits(v);
  out.append(digits.data(), digits.size());
}

void append_json_integer(std::string& out, uint64_t v) {
  const fmt::format_int digits(v);
  out.append(digits.data(), digits.size());
}

JsonWriter& JsonWriter::value(int64_t v) {
  before_value();
  append_json_integer(out_, v);
  return *this;
}

JsonWriter& JsonWriter::value(uint64_t v) {
  before_value();
  append_json_integer(out_, v);
  return *this;
}

JsonWriter& JsonWriter::value(bool v) {
  before_value();
  out_ += v ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null() {
  before_value();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  before_value();
  out_ += json;
  return *this;
}

}  // namespace smallpeer

#include <simdjson.h>

#include "common/error.h"

namespace smallpeer {

namespace {
void pretty(std::string& out, simdjson::dom::element e, int indent) {
  const auto newline = [&](int level) {
    out.push_back('\n');
    out.append(static_cast<size_t>(level) * 2, ' ');
  };
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      simdjson::dom::object obj = e.get_object().value_unsafe();
      if (obj.size() == 0) {
        out += "{}";
        return;
      }
      out.push_back('{');
      bool first = true;
      for (auto field : obj) {
        if (!first) out.push_back(',');
        first = false;
        newline(indent + 1);
        append_json_string(out, field.key);
        out += ": ";
        pretty(out, field.value, indent + 1);
      }
      newline(indent);
      out.push_back('}');
      return;
    }
    case simdjson::dom::element_type::ARRAY: {
      simdjson::dom::array arr = e.get_array().value_unsafe();
      if (arr.size() == 0) {
        out += "[]";
        return;
      }
      out.push_back('[');
      bool first = true;
      for (auto child : arr) {
        if (!first) out.push_back(',');
        first = false;
        newline(indent + 1);
        pretty(out, child, indent + 1);
      }
      newline(indent);
      out.push_back(']');
      return;
    }
    default:
      out += simdjson::minify(e);
  }
}
}  // namespace

std::string pretty_json(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root)) {
    throw Error(ErrorCode::invalid_argument, std::string("not valid JSON: ") + simdjson::error_message(err));
  }
  std::string out;
  pretty(out, root, 0);
  return out;
}

}  // namespace smallpeer
