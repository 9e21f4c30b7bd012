// Log levels, shared by the user's log output, the engine's log files and log filters.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace smallpeer {

/// Log levels, most severe first; the values are the C ABI's SP_LOG_* values.
enum class LogLevel : int32_t { error = 1, warning = 2, info = 3, debug = 4, verbose = 5 };

/// "error", "warning", "info", "debug" or "verbose".
std::string_view to_string(LogLevel level);
/// Parses one of the names above (exactly, lower case); nullopt otherwise.
std::optional<LogLevel> parse_log_level(std::string_view name);
/// True for the five defined values.
bool is_valid_log_level(int32_t value);
/// Throws Error(invalid_argument) naming the value unless `level` is one of the five defined values.
void require_valid_log_level(LogLevel level);

}  // namespace smallpeer
