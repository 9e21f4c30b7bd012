// Internal to core/log: an export of the engine's log files as one gzip JSON Lines file.
#pragma once

#include <filesystem>
#include <vector>

#include "log/engine_log.h"
#include "log/json_lines_sink.h"

namespace smallpeer::log_detail {

/// Writes the lines of `sources` (oldest first) that pass `filter` to `out` as gzip JSON Lines.
/// `merge_by_time` merges the logs by timestamp (each log oldest first), for sources from several logs.
/// Lines are taken newest first, so `max_bytes` keeps the newest and malformed lines older than the
/// oldest kept one are not examined (nor counted).
LogExportResult export_gzip(std::vector<ExportSource> sources, const std::filesystem::path& out, const LogFilter& filter,
                            bool merge_by_time = false);

}  // namespace smallpeer::log_detail
