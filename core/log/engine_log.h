// The engine's own log: each instance's rotating JSON Lines files (about 1 MB each, at most 15
// files, at most 3 days, debug and above), kept whatever the user's settings; export makes gzip bundles.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clock/clock.h"
#include "log/log_filter.h"
#include "log/log_level.h"

namespace smallpeer {

/// Size and age limits for the engine's own log files.
struct EngineLogLimits {
  uint64_t max_file_bytes = uint64_t{1024} * 1024;
  size_t max_files = 15;
  std::chrono::hours max_age{72};
};

/// What an export wrote.
struct LogExportResult {
  uint64_t lines = 0;
  uint64_t uncompressed_bytes = 0;
  uint64_t compressed_bytes = 0;
  bool truncated = false;        // max_bytes dropped older lines
  uint64_t malformed_lines = 0;  // lines looked at that lacked a valid "ts" and "level"; skipped
};

/// One engine instance's rotating JSON Lines log, one line per message:
/// {"ts":"<RFC 3339 ms>","level":"info","peer":"<peer key>","component":"spi","msg":"..."}
/// The current file is smallpeer.log.jsonl; a full one is renamed smallpeer.log.<NNNNNN>.jsonl (index
/// only grows). Files whose newest line is older than max_age (by the injected clock) are deleted
/// at open, on every write (an in-memory check) and before an export. One EngineLog per directory.
class EngineLog {
 public:
  /// Writes into `directory` (created if missing); `clock` stamps lines and judges file age.
  EngineLog(std::filesystem::path directory, const std::string& peer_key, std::shared_ptr<const Clock> clock,
            EngineLogLimits limits = {});
  ~EngineLog();
  EngineLog(const EngineLog&) = delete;
  EngineLog& operator=(const EngineLog&) = delete;

  /// Logs one message: to the files when `level` is debug or more severe, and to UserLogOutput.
  void log(LogLevel level, std::string_view component, std::string_view message);
  /// Flushes buffered lines to disk.
  void flush();
  /// The log directory.
  [[nodiscard]] const std::filesystem::path& directory() const;
  /// The log files, oldest first.
  [[nodiscard]] std::vector<std::filesystem::path> files() const;
  /// The bytes the log files take on disk.
  [[nodiscard]] uint64_t total_bytes() const;
  /// Writes the lines that pass `filter` (oldest first) to `out` as a gzip JSON Lines file; throws
  /// Error(invalid_argument) for a filter that breaks its rules.
  LogExportResult export_gzip(const std::filesystem::path& out, const LogFilter& filter);
  /// Writes the lines of every log in `logs` that pass `filter` to `out` as one gzip JSON Lines
  /// file, merged oldest first (an empty export when `logs` is empty); throws as export_gzip does.
  static LogExportResult export_gzip(const std::vector<EngineLog*>& logs, const std::filesystem::path& out,
                                     const LogFilter& filter);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smallpeer
