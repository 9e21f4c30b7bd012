// How a Big Peer node lives through its database going away (docs/DEPLOY.md, "Database
// outages"). A failure to reach PostgreSQL is a DatabaseUnavailable, which every path turns into a
// bounded reaction (a paused commit, a refused session, HTTP 503) instead of an error that ends
// the process; NodeHealth is what /readyz and the /sync upgrade consult.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include "common/error.h"

namespace smallpeer::bigpeer {

/// The database cannot be reached now (connection refused or dropped, server starting or shutting
/// down); the same request may succeed later. Thrown by bigpeer/postgres.h.
class DatabaseUnavailable : public Error {
 public:
  /// `message` names what failed and libpq's reason.
  explicit DatabaseUnavailable(const std::string& message) : Error(ErrorCode::io, message) {}
};

/// After this long without a working database a node closes its sessions (ERROR "unavailable"),
/// so devices move to a node that may still reach it; shorter outages only pause them.
inline constexpr std::chrono::seconds kDatabaseOutageGrace{10};
/// What a node not ready answers in `Retry-After`, in seconds.
inline constexpr int kRetryAfterSeconds = 2;

/// Whether this node can serve: its database answered lately and it is not draining. Thread-safe.
class NodeHealth {
 public:
  /// A database call succeeded.
  void database_up() {
    if (!database_ok_.exchange(true)) down_since_ns_ = 0;
  }
  /// A database call failed for want of the database.
  void database_down() {
    if (database_ok_.exchange(false)) down_since_ns_ = now_ns();
  }
  /// SIGTERM: stop accepting and send devices elsewhere.
  void start_draining() { draining_ = true; }
  /// True while the node takes new sessions.
  [[nodiscard]] bool ready() const { return database_ok_ && !draining_; }
  /// True once shutdown began.
  [[nodiscard]] bool draining() const { return draining_; }
  /// Why the node is not ready, or nullopt when it is.
  [[nodiscard]] std::optional<std::string> not_ready_reason() const {
    if (draining_) return std::string("the node is shutting down");
    if (!database_ok_) return std::string("the database is unreachable");
    return std::nullopt;
  }
  /// How long the database has been unreachable (zero while it works).
  [[nodiscard]] std::chrono::nanoseconds outage() const {
    const int64_t since = down_since_ns_;
    if (database_ok_ || since == 0) return std::chrono::nanoseconds(0);
    return std::chrono::nanoseconds(now_ns() - since);
  }

 private:
  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  std::atomic<bool> database_ok_{true};
  std::atomic<bool> draining_{false};
  std::atomic<int64_t> down_since_ns_{0};
};

/// Logs a repeating failure once, then at most once per `every`, with how many were not logged;
/// and once when it stops. Thread-safe.
class FailureLog {
 public:
  /// `what` names the activity, e.g. "cluster: writing the heartbeat".
  explicit FailureLog(std::string what, std::chrono::seconds every = std::chrono::seconds(30))
      : what_(std::move(what)), every_(every) {}
  /// Records a failure with `reason`; logs it when due.
  void failed(const std::string& reason);
  /// Records a success; logs the recovery if failures were seen.
  void succeeded();

 private:
  const std::string what_;
  const std::chrono::seconds every_;
  std::mutex mutex_;
  uint64_t failures_ = 0;  // since the last success
  uint64_t unlogged_ = 0;  // since the last line
  std::chrono::steady_clock::time_point logged_at_{};
};

}  // namespace smallpeer::bigpeer
