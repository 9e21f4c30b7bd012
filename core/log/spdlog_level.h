// Internal to core/log: our levels as spdlog's and back.
#pragma once

#include <spdlog/common.h>

#include "log/log_level.h"

namespace smallpeer::log_detail {

/// The spdlog level for `level` (verbose is spdlog's trace).
inline spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::error:
      return spdlog::level::err;
    case LogLevel::warning:
      return spdlog::level::warn;
    case LogLevel::info:
      return spdlog::level::info;
    case LogLevel::debug:
      return spdlog::level::debug;
    case LogLevel::verbose:
      break;
  }
  return spdlog::level::trace;
}

/// Our level for an spdlog level (critical is error, trace and off are verbose).
inline LogLevel from_spdlog(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::err:
    case spdlog::level::critical:
      return LogLevel::error;
    case spdlog::level::warn:
      return LogLevel::warning;
    case spdlog::level::info:
      return LogLevel::info;
    case spdlog::level::debug:
      return LogLevel::debug;
    default:
      return LogLevel::verbose;
  }
}

}  // namespace smallpeer::log_detail
