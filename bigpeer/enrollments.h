// Device enrollment on the Big Peer (issue 17): the first authenticated session of a peer key
// registers it; the operator lists, revokes and allows keys (HTTP API, portal); with approval
// required, a new key waits (pending) until the operator approves it. A key that is not approved
// is refused at the handshake, after its proof checked out and before anything else is done for it.
//
// Records are documents of two system collections (never replicated): on PostgreSQL in the shared
// database, so every node sees one state; on SQLite in a store of their own (devices.sqlite3, with
// its own small page cache; bigpeer/server.cpp). __device_enrollments holds what only the operator
// changes after creation (state, who changed it, when), __device_activity what every handshake
// refreshes (last seen, address, name). Kept apart, a handshake's refresh can never overwrite a
// revocation that raced with it.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clock/clock.h"
#include "store/store.h"

namespace smallpeer::bigpeer {

/// The system collection of enrollment states, one document per peer key.
inline constexpr std::string_view kEnrollmentsCollection = "__device_enrollments";
/// The system collection of each enrolled key's last handshake (time, address, device name).
inline constexpr std::string_view kDeviceActivityCollection = "__device_activity";

/// Where a peer key stands.
enum class EnrollmentState { approved, pending, revoked };
/// "approved", "pending", "revoked".
std::string_view to_string(EnrollmentState state);
/// The state named `text`, or nullopt.
std::optional<EnrollmentState> parse_enrollment_state(std::string_view text);

/// One enrolled peer key.
struct Enrollment {
  std::string peer_key;
  EnrollmentState state = EnrollmentState::approved;
  TimePoint first_seen;
  std::string first_address;            // ip:port of the first session
  std::optional<TimePoint> changed_at;  // the operator's last change
  std::string changed_by;               // who made it (audit actor), empty if never changed
  std::optional<TimePoint> last_seen;   // the last handshake that got as far as the enrollment check
  std::string last_address;             // its ip:port
  std::string device_name;              // from its HELLO

  /// The JSON the HTTP API returns.
  [[nodiscard]] std::string to_json() const;
};

/// How enrollment behaves.
struct EnrollmentOptions {
  bool approval_required = false;  // new keys start pending (--require-device-approval)
  size_t max_pending = 1000;       // new keys refused, unrecorded, while this many wait (--max-pending-devices)
};

/// The enrollment records of this Big Peer. Thread-safe.
class Enrollments {
 public:
  /// Keeps records in `store`; `changed` (optional) hears every key the operator changed, to close
  /// its live sessions here and on the other nodes.
  Enrollments(Store& store, std::shared_ptr<const Clock> clock, EnrollmentOptions options,
              std::function<void(const std::string& peer_key)> changed = {});

  /// The handshake's check of a key whose proof and signature verified: registers a new key
  /// (approved, or pending with approval required), refreshes its activity at most once a minute,
  /// and returns why it is refused (pending, revoked), or nullopt to admit it. Throws what the
  /// store throws (DatabaseUnavailable when the database is away).
  std::optional<std::string> admit(const std::string& peer_key, const std::string& device_name, const std::string& address);
  /// True if `peer_key` may hold a session now (approved, or unknown: it registers at its handshake).
  [[nodiscard]] bool allowed(const std::string& peer_key) const;
  /// One key's record, or nullopt if it never got as far as the enrollment check.
  [[nodiscard]] std::optional<Enrollment> get(const std::string& peer_key) const;
  /// A page of records in peer key order after `after`, only `state` when given.
  struct Page {
    std::vector<Enrollment> enrollments;
    std::optional<std::string> next_after;
  };
  [[nodiscard]] Page list(std::optional<EnrollmentState> state, size_t limit, const std::string& after) const;
  /// The operator sets `peer_key`'s state; returns the state before and the record after, or
  /// nullopt for a key never seen. Calls `changed` when the state moved.
  std::optional<std::pair<EnrollmentState, Enrollment>> set_state(const std::string& peer_key, EnrollmentState state,
                                                                  const std::string& by);
  /// Moves every record in `from` (a Big Peer's main SQLite store, where records were kept before
  /// 2026-12-07) to `to` (its devices.sqlite3), 1,000 at a time, each written to `to` before it is
  /// deleted from `from`; a record `to` already has is kept and the one in `from` dropped. Run
  /// again after a crash, it finishes the move. Returns how many records it wrote to `to`.
  static uint64_t move_records(Store& from, Store& to);
  /// Records per state (for /metrics), counted at most every 10 s.
  [[nodiscard]] std::vector<std::pair<std::string, uint64_t>> counts() const;
  /// The options in force.
  [[nodiscard]] const EnrollmentOptions& options() const { return options_; }

 private:
  [[nodiscard]] size_t pending_count() const;
  void save(const Enrollment& e);

  Store& store_;
  std::shared_ptr<const Clock> clock_;
  EnrollmentOptions options_;
  std::function<void(const std::string&)> changed_;
  mutable std::mutex mutex_;  // guards the cached counts
  mutable std::vector<std::pair<std::string, uint64_t>> counts_;
  mutable std::chrono::steady_clock::time_point counted_at_{};
};

}  // namespace smallpeer::bigpeer
