// Internal to core/log: the engine's rotating JSON Lines files (EngineLog's only sink), and reading
// their lines back for an export.
#pragma once

#include <simdjson.h>
#include <spdlog/details/file_helper.h>
#include <spdlog/sinks/base_sink.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clock/clock.h"
#include "log/engine_log.h"
#include "log/log_level.h"

namespace smallpeer::log_detail {

/// What a log line says about itself: when it was written and at which level.
struct ParsedLine {
  TimePoint ts;
  LogLevel level;
};

/// The "ts" and "level" of one JSON Lines line; nullopt if it is not JSON with both valid.
/// `line` must be followed by SIMDJSON_PADDING readable bytes (it lives inside a padded_string).
std::optional<ParsedLine> parse_line(simdjson::dom::parser& parser, std::string_view line);
/// `text` cut at each '\n' (a last line without one included).
std::vector<std::string_view> split_lines(std::string_view text);
/// errno's current value as a message.
std::string errno_message();

/// A file an export reads: opened under the sink's lock, so a rotation or deletion after that
/// cannot change what the export sees (POSIX keeps an open file readable through rename/unlink).
struct ExportSource {
  std::filesystem::path path;
  std::ifstream stream;
  uint64_t size = 0;
};

/// The engine's rotating JSON Lines files. spdlog's rotating_file_sink renames every file on each
/// rotation and knows nothing of age, so this sink rotates by index and prunes by the injected clock.
class JsonLinesFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  /// Writes into `directory` (created if missing), adopting and pruning the files already there.
  JsonLinesFileSink(std::filesystem::path directory, std::shared_ptr<const Clock> clock, EngineLogLimits limits);
  /// The files, oldest first.
  std::vector<std::filesystem::path> files();
  /// Flushes, prunes by age and opens every file, pinning the bytes an export will read.
  std::vector<ExportSource> open_for_export();

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;

 private:
  struct RotatedFile {
    uint64_t index;
    TimePoint newest;
  };

  [[nodiscard]] std::filesystem::path rotated_path(uint64_t index) const;
  std::vector<std::filesystem::path> files_locked() const;
  void open_current();
  void close_current();
  void rotate();
  void drop_expired(TimePoint now);
  void drop_excess();

  const std::filesystem::path directory_;
  const std::filesystem::path current_path_;
  const std::shared_ptr<const Clock> clock_;
  const EngineLogLimits limits_;
  spdlog::details::file_helper file_;
  bool open_ = false;
  uint64_t current_bytes_ = 0;
  std::optional<TimePoint> current_newest_;  // unset while the current file has no datable line
  std::deque<RotatedFile> rotated_;          // oldest first
  uint64_t next_index_ = 1;
};

}  // namespace smallpeer::log_detail
