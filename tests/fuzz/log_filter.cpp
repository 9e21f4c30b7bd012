// Fuzzes the log filter parsing that exists today: the level names and RFC 3339 times of a log
// request (core/log parse_log_level, core/clock parse_rfc3339) and the small peer's conversion of a
// Big Peer's LOG_REQUEST into export options (core/sync export_options_of). Input: lines
// "level\nsince\nuntil\nmax_bytes-byte".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "clock/clock.h"
#include "common/error.h"
#include "fuzz_check.h"
#include "log/log.h"
#include "sync/log_upload.h"
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

  smallpeer::sync::LogRequest request;
  request.request_id = "fuzz";
  request.min_level = text.empty() ? 5 : static_cast<uint8_t>(text.front());
  request.since = std::string(since);
  request.until = std::string(until);
  request.max_bytes = text.size() > 1 ? static_cast<uint8_t>(text[1]) : 0;
  try {
    const auto options = smallpeer::sync::export_options_of(request);
    require(options.since.has_value() == !since.empty(), "since is kept exactly when given");
    require(options.until.has_value() == !until.empty(), "until is kept exactly when given");
  } catch (const smallpeer::Error& e) {
    require(e.code() == smallpeer::ErrorCode::invalid_argument, "a bad filter is Error(invalid_argument)");
  }
  return 0;
}
