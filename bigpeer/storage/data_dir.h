// The Big Peer's data directory: its store, its identity and its admin token, held by one
// process at a time.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace smallpeer::bigpeer {

/// An open, locked data directory. Releases the lock on destruction.
class DataDirectory {
 public:
  /// Creates `path` if needed and locks it; throws Error(locked) if another Big Peer uses it and
  /// Error(io) if it cannot be created.
  explicit DataDirectory(std::filesystem::path path);
  ~DataDirectory();
  DataDirectory(const DataDirectory&) = delete;
  DataDirectory& operator=(const DataDirectory&) = delete;

  /// The directory.
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  /// The SQLite store (bigpeer.sqlite3).
  [[nodiscard]] std::filesystem::path store_file() const { return path_ / "bigpeer.sqlite3"; }
  /// The SQLite store of device enrollment records (devices.sqlite3; bigpeer/enrollments.h).
  [[nodiscard]] std::filesystem::path device_store_file() const { return path_ / "devices.sqlite3"; }
  /// The Big Peer's Ed25519 key pair (big_peer_identity.key).
  [[nodiscard]] std::filesystem::path identity_file() const { return path_ / "big_peer_identity.key"; }
  /// Uploaded log bundles (log-bundles/).
  [[nodiscard]] std::filesystem::path log_bundle_dir() const { return path_ / "log-bundles"; }
  /// The generated admin token (admin_token, mode 0600).
  [[nodiscard]] std::filesystem::path admin_token_file() const { return path_ / "admin_token"; }

  /// The admin token kept in the directory, made (random, 256 bits) and saved on first use; sets
  /// `created` when it was made now.
  std::string load_or_create_admin_token(bool& created) const;

 private:
  std::filesystem::path path_;
  int lock_fd_ = -1;
};

}  // namespace smallpeer::bigpeer
