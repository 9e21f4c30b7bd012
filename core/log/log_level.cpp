#include "log/log_level.h"

#include <fmt/format.h>

#include <iterator>

#include "common/error.h"

namespace smallpeer {

namespace {
constexpr std::string_view kLevelNames[] = {"error", "warning", "info", "debug", "verbose"};
}  // namespace

std::string_view to_string(LogLevel level) {
  const auto value = static_cast<int32_t>(level);
  return is_valid_log_level(value) ? kLevelNames[value - 1] : std::string_view("unknown");
}

std::optional<LogLevel> parse_log_level(std::string_view name) {
  for (size_t i = 0; i < std::size(kLevelNames); ++i) {
    if (kLevelNames[i] == name) return static_cast<LogLevel>(i + 1);
  }
  return std::nullopt;
}

bool is_valid_log_level(int32_t value) {
  return value >= static_cast<int32_t>(LogLevel::error) && value <= static_cast<int32_t>(LogLevel::verbose);
}

void require_valid_log_level(LogLevel level) {
  if (!is_valid_log_level(static_cast<int32_t>(level))) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("log level {} does not exist (1 error ... 5 verbose)", static_cast<int32_t>(level)));
  }
}

}  // namespace smallpeer
