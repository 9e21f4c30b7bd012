// Internal to core/log: an export of the engine's log files as one gzip JSON Lines file.
#pragma once

#include <filesystem>
#include <vector>

#include "log/engine_log.h"
#include "log/json_lines_sink.h"

namespace smallpeer::log_detail {

/// Writes the lines of `sources` (oldest first) that pass `filter` to `out` as gzip JSON Lines.
/// `merge_by_time` sorts the kept lines by timestamp (stable), for sources from several logs.
LogExportResult export_gzip(std::vector<ExportSource> sources, const std::filesystem::path& out, const LogFilter& filter,
                            bool merge_by_time = false);

}  // namespace smallpeer::log_detail
