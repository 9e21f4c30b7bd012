// The app-facing log output (Ditto's DittoLogger): what the app's logger settings govern (enabled,
// minimum level, log file, custom callbacks), console, file and callback output only. Process-wide.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "log/log_level.h"

namespace smallpeer {

/// The app-facing log output (Ditto's DittoLogger): process-wide, thread-safe.
class UserLogOutput {
 public:
  using CallbackId = uint64_t;
  using Callback = std::function<void(LogLevel, std::string_view message)>;

  /// The process-wide instance: the only global logging state, never destroyed (threads may log during exit).
  static UserLogOutput& instance();

  /// Turns console/file/callback output on or off (default on).
  void set_enabled(bool enabled);
  /// Whether output is on.
  [[nodiscard]] bool enabled() const;
  /// Only messages at `level` or more severe are shown (default info).
  void set_minimum_level(LogLevel level);
  /// The current minimum level.
  [[nodiscard]] LogLevel minimum_level() const;
  /// Also writes shown messages to `path` (appending); nullopt stops that. Throws Error(io) if it cannot be opened.
  void set_log_file(const std::optional<std::filesystem::path>& path);
  /// Sends shown messages to `callback` (on the logging thread) as well; returns an id for remove_callback().
  CallbackId add_callback(Callback callback);
  /// Removes a callback; when it returns, the callback is not running and will not run again.
  void remove_callback(CallbackId id);
  /// Shows `message` if output is enabled and `level` passes the minimum level.
  void write(LogLevel level, std::string_view message);

  /// Console output goes to stderr unless turned off here (tests and the fleet simulator turn it off).
  void set_console_enabled(bool enabled);

 private:
  UserLogOutput();
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace smallpeer
