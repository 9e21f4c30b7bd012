// Fuzzes the log filter (core/log/log_filter.h): the level names and RFC 3339 times it reads, its
// one JSON parser (what the C ABI's export options and the Big Peer's HTTP body go through), and the
// LOG_REQUEST frame that carries it. Input: lines "level\nsince\nuntil\n" then a level byte, a
// max_bytes byte and anything else (parsed as a filter's JSON form).
#include "log/log_filter.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "clock/clock.h"
#include "common/error.h"
#include "common/json.h"
#include "fuzz_check.h"
#include "sync/protocol.h"

using smallpeer::fuzz::require;

namespace {
std::string_view next_line(std::string_view& text) {
  const auto end = text.find('\n');
  const auto line = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  return line;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto level_name = next_line(text);
  const auto since = next_line(text);
  const auto until = next_line(text);

  if (const auto level = smallpeer::parse_log_level(level_name)) {
    require(smallpeer::to_string(*level) == level_name, "a parsed level name is its canonical name");
  }
  for (const auto time : {since, until}) {
    const auto t = smallpeer::parse_rfc3339(time);
    if (!t) continue;
    // The millisecond formatting of a parsed time parses back to a time that formats the same.
    const auto formatted = smallpeer::format_rfc3339(*t);
    const auto back = smallpeer::parse_rfc3339(formatted);
    require(back.has_value(), "a formatted time parses");
    require(smallpeer::format_rfc3339(*back) == formatted, "format(parse(format(t))) is stable");
  }

  // The one parser, on the same fields as JSON, and on whatever else the input holds.
  std::string json = R"({"min_level":)";
  smallpeer::append_json_string(json, level_name);
  json += R"(,"since":)";
  smallpeer::append_json_string(json, since);
  json += R"(,"until":)";
  smallpeer::append_json_string(json, until);
  json += "}";
  for (const std::string_view candidate : {std::string_view(json), text}) {
    try {
      const auto filter = smallpeer::parse_log_filter(candidate);
      require(filter.problem().empty(), "a parsed filter keeps its own rules");
    } catch (const smallpeer::Error& e) {
      require(e.code() == smallpeer::ErrorCode::invalid_argument, "a bad filter is Error(invalid_argument)");
    }
  }

  // The wire form: a filter that keeps the rules round-trips, one that breaks them is malformed.
  smallpeer::sync::LogRequest request;
  request.request_id = "fuzz";
  request.filter.min_level = static_cast<smallpeer::LogLevel>(text.empty() ? 5 : static_cast<uint8_t>(text.front()));
  const auto to_ms = [](std::string_view time) -> std::optional<smallpeer::TimePoint> {
    const auto t = smallpeer::parse_rfc3339(time);
    return t ? smallpeer::parse_rfc3339(smallpeer::format_rfc3339(*t)) : std::nullopt;  // the wire carries ms
  };
  request.filter.since = to_ms(since);
  request.filter.until = to_ms(until);
  if (text.size() > 1 && text[1] != 0) request.filter.max_bytes = static_cast<uint8_t>(text[1]);
  std::string error;
  const auto decoded = smallpeer::sync::decode(smallpeer::sync::encode(request), error);
  if (request.filter.problem().empty()) {
    require(decoded.has_value(), "a LOG_REQUEST with a valid filter decodes");
    require(std::get<smallpeer::sync::LogRequest>(*decoded).filter == request.filter, "the filter round-trips");
  } else {
    require(!decoded.has_value(), "a LOG_REQUEST whose filter breaks the rules is malformed");
  }
  return 0;
}
