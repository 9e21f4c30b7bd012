#include "log/log_filter.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>

#include "common/error.h"

namespace smallpeer {

namespace {

// Input echoed in messages is cut short, so an error never carries a megabyte back.
std::string_view shortened(std::string_view text) {
  return text.substr(0, 80);
}

constexpr std::string_view kMaxBytesRule =
    "max_bytes must be a positive integer (bytes of uncompressed log lines; leave it out for no cap)";

Error invalid(const std::string& message) {
  return Error(ErrorCode::invalid_argument, message);
}

}  // namespace

std::string LogFilter::problem() const {
  if (!is_valid_log_level(static_cast<int32_t>(min_level))) {
    return fmt::format("log level {} does not exist (1 error ... 5 verbose)", static_cast<int32_t>(min_level));
  }
  if (max_bytes && *max_bytes == 0) return std::string(kMaxBytesRule);
  if (since && until && *since > *until) return "since is after until";
  return "";
}

void LogFilter::validate() const {
  if (auto why = problem(); !why.empty()) throw invalid(why);
}

bool LogFilter::keeps(LogLevel level, TimePoint ts) const {
  return level <= min_level && (!since || ts >= *since) && (!until || ts <= *until);
}

bool read_log_filter_field(LogFilter& filter, std::string_view key, const simdjson::dom::element& value) {
  const bool is_time = key == "since" || key == "until";
  if (key != "min_level" && key != "max_bytes" && !is_time) return false;
  if (value.is_null()) return true;
  std::string_view text;
  if (key == "min_level") {
    if (value.get(text)) throw invalid("min_level must be a string: error, warning, info, debug or verbose");
    const auto level = parse_log_level(text);
    if (!level) {
      throw invalid(
          fmt::format("min_level: unknown log level '{}'; expected error, warning, info, debug or verbose", shortened(text)));
    }
    filter.min_level = *level;
  } else if (is_time) {
    const auto t = value.get(text) ? std::nullopt : parse_rfc3339(text);
    if (!t) throw invalid(fmt::format("{} must be an RFC 3339 time such as 2026-11-26T09:00:00Z", key));
    (key == "since" ? filter.since : filter.until) = *t;
  } else {
    uint64_t n = 0;
    if (value.get(n) || n == 0) throw invalid(std::string(kMaxBytesRule));
    filter.max_bytes = n;
  }
  return true;
}

LogFilter parse_log_filter(std::string_view json, std::span<const LogFilterExtraField> extra) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (auto err = parser.parse(json.data(), json.size()).get(obj)) {
    throw invalid(fmt::format("log filter must be a JSON object: {}", simdjson::error_message(err)));
  }
  LogFilter filter;
  for (auto field : obj) {
    const std::string_view key = field.key;
    if (read_log_filter_field(filter, key, field.value)) continue;
    const auto it = std::find_if(extra.begin(), extra.end(), [&](const auto& e) { return e.name == key; });
    if (it == extra.end()) {
      std::string expected = "min_level, since, until, max_bytes";
      for (const auto& e : extra) expected += fmt::format(", {}", e.name);
      throw invalid(fmt::format("unknown field '{}'; expected {}", shortened(key), expected));
    }
    if (!field.value.is_null()) it->parse(field.value);
  }
  filter.validate();
  return filter;
}

}  // namespace smallpeer
