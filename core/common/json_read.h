// Reading stored JSON records with simdjson: the one member accessor the record parsers share
// (log requests, enrollments, the audit log). JSON output is common/json.h.
#pragma once

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

namespace smallpeer {

/// The string member `key` of `object`, or nullopt when it is absent or not a string.
inline std::optional<std::string> string_member(simdjson::dom::object object, std::string_view key) {
  std::string_view text;
  if (object[key].get(text)) return std::nullopt;
  return std::string(text);
}

}  // namespace smallpeer
