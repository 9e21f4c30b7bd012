// JSON output. simdjson (our parser) has no writer in Debian's 3.0, so documents are written with
// this small streaming writer; parsing always goes through simdjson.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smallpeer {

/// Appends `text` to `out` as a quoted JSON string with RFC 8259 escaping.
void append_json_string(std::string& out, std::string_view text);
/// Appends `v` to `out` as a JSON number (decimal).
void append_json_integer(std::string& out, int64_t v);
/// Appends `v` to `out` as a JSON number (decimal).
void append_json_integer(std::string& out, uint64_t v);

/// Writes one JSON value into a string; commas and nesting are tracked for the caller.
class JsonWriter {
 public:
  /// Opens an object (as a value, or after key()).
  JsonWriter& begin_object();
  /// Closes the innermost object.
  JsonWriter& end_object();
  /// Opens an array.
  JsonWriter& begin_array();
  /// Closes the innermost array.
  JsonWriter& end_array();
  /// Writes an object key; the next call writes its value.
  JsonWriter& key(std::string_view k);
  /// Writes a string value.
  JsonWriter& value(std::string_view v);
  /// Writes a string value (keeps string literals away from the bool overload).
  JsonWriter& value(const char* v) { return value(std::string_view(v)); }
  /// Writes an integer value.
  JsonWriter& value(int64_t v);
  /// Writes an unsigned integer value.
  JsonWriter& value(uint64_t v);
  /// Writes an int value.
  JsonWriter& value(int v) { return value(static_cast<int64_t>(v)); }
  /// Writes a bool value.
  JsonWriter& value(bool v);
  /// Writes null.
  JsonWriter& null();
  /// Writes `*v`, or null when `v` is empty.
  template <typename T>
  JsonWriter& value_or_null(const std::optional<T>& v) {
    return v ? value(*v) : null();
  }
  /// Writes `json`, which must already be valid JSON, as the next value.
  JsonWriter& raw(std::string_view json);
  /// Makes room for `bytes` of text, so a writer of known size allocates once.
  void reserve(size_t bytes) { out_.reserve(bytes); }
  /// The text written so far.
  [[nodiscard]] const std::string& str() const { return out_; }
  /// Moves the text out.
  std::string take() { return std::move(out_); }

 private:
  void before_value();
  std::string out_;
  size_t depth_ = 0;  // containers open; a top-level value needs no comma
};

}  // namespace smallpeer

namespace smallpeer {

/// Re-indents valid JSON with two spaces per level, for people; throws Error(invalid_argument) if `json` does not parse.
std::string pretty_json(std::string_view json);

}  // namespace smallpeer
