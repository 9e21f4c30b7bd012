// Files only this user may read (keys, tokens, the Big Peer's ready file), written so that a crash
// never leaves half of one behind.
#pragma once

#include <filesystem>
#include <string_view>

namespace smallpeer {

/// Writes `bytes` to `file` (mode 0600) through `file`.tmp, fsync and rename, so readers see the
/// old file or the whole new one. Throws Error(io) naming `what`, the path and the system's reason.
void write_private_file(const std::filesystem::path& file, std::string_view bytes, std::string_view what);

}  // namespace smallpeer
