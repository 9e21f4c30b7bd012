// Where uploaded log bundles are kept (bigpeer/log_requests.h drives their lifecycle): files in the
// data directory beside the SQLite store, or rows of the PostgreSQL database (postgres_bundles.h),
// so every node sharing it can serve the download.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace smallpeer::bigpeer {

/// Where uploaded bundles are kept: files in the data directory (SQLite), or the PostgreSQL
/// database, so every node sharing it can serve the download. Thread-safe.
class LogBundleStore {
 public:
  virtual ~LogBundleStore() = default;
  /// Bytes stored so far for request `id` (0 if none).
  virtual uint64_t size(const std::string& id) = 0;
  /// Appends `data`, which starts at byte `offset` (the current size); throws Error on failure.
  virtual void append(const std::string& id, uint64_t offset, std::string_view data) = 0;
  /// "" if the stored bytes are complete, valid gzip, else why not.
  virtual std::string check(const std::string& id) = 0;
  /// Marks the bundle complete (downloadable); throws Error on failure.
  virtual void complete(const std::string& id) = 0;
  /// Drops whatever is stored for `id`.
  virtual void discard(const std::string& id) = 0;
  /// The complete bundle; throws Error(io) if it is missing.
  virtual std::string read(const std::string& id) = 0;
};

/// Bundles as files in `dir` (<id>.jsonl.gz, <id>.jsonl.gz.part while uploading); creates `dir`.
std::unique_ptr<LogBundleStore> make_file_bundle_store(std::filesystem::path dir);

/// Checks that `path` holds complete, valid gzip data; returns an error message or "".
std::string check_gzip_file(const std::filesystem::path& path);
/// Checks that the bytes `read(buffer, capacity)` yields (0 at the end) are complete, valid gzip.
std::string check_gzip(const std::function<size_t(char* buffer, size_t capacity)>& read);

}  // namespace smallpeer::bigpeer
