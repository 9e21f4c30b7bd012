// Admin devices on the Big Peer (docs/SYNC.md "Admin devices", issue 22): the operator grants a
// small peer's key admin rights until an expiry; the grant is signed with the Big Peer's admin
// signing key and sent to the device in ADMIN_STATE. A session whose key holds an active grant gets
// every device's Small Peer Info. Revoked grants are kept until they expire, so their ids reach
// devices (a field peer must refuse a revoked admin device it meets offline).
//
// Records are documents of the system collection __admin_grants in the Big Peer's store, and the
// signing key is a store setting (never a document: the HTTP API can read every collection), so on
// PostgreSQL every node signs with one key and sees one set of grants.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "admin/admin_grant.h"
#include "clock/clock.h"
#include "common/json.h"
#include "store/store.h"
#include "sync/protocol.h"

namespace smallpeer::bigpeer {

/// The system collection of admin grants, one document per grant id.
inline constexpr std::string_view kAdminGrantsCollection = "__admin_grants";
/// At most this many grants (active or revoked, not yet expired) are kept; creating one more is refused.
inline constexpr size_t kMaxAdminGrants = 1000;
/// A grant lasts at most this long.
inline constexpr std::chrono::hours kMaxAdminGrantLifetime{24 * 366};
/// A label is at most this many bytes.
inline constexpr size_t kMaxAdminGrantLabelBytes = 256;

/// One grant as the operator sees it.
struct AdminGrantRecord {
  admin::AdminGrant grant;
  std::string label;
  TimePoint created_at;
  std::string created_by;
  std::optional<TimePoint> revoked_at;
  std::string revoked_by;

  /// When the grant ends.
  [[nodiscard]] TimePoint expires_at() const { return TimePoint(std::chrono::milliseconds(grant.expires_at_ms)); }
  /// Not revoked and not expired at `now`.
  [[nodiscard]] bool active(TimePoint now) const { return !revoked_at && expires_at() > now; }
  /// Writes the record's members into the object `w` has open ("state": active, revoked or
  /// expired at `now`); the HTTP API adds the device's liveness after them.
  void write_members(JsonWriter& w, TimePoint now) const;
};

/// The admin grants of this Big Peer. Thread-safe.
class AdminGrants {
 public:
  /// Keeps grants in `store` and loads (or makes and keeps) the signing key; `changed` (optional)
  /// hears the peer key of every grant created or revoked, to re-handshake its sessions.
  AdminGrants(Store& store, std::string app_id, std::shared_ptr<const Clock> clock,
              std::function<void(const std::string& peer_key)> changed = {});

  /// Grants `peer_key` admin rights until `expires_at`. Throws Error(invalid_argument) naming the
  /// problem (malformed key, expiry not in the future or beyond a year, label too long), and
  /// Error(validation) when the key already holds an active grant or kMaxAdminGrants are kept.
  AdminGrantRecord create(const std::string& peer_key, TimePoint expires_at, std::string label, const std::string& by);
  /// Revokes grant `grant_id`; returns it, or nullopt if there is no such grant. Revoking a revoked
  /// grant changes nothing.
  std::optional<AdminGrantRecord> revoke(const std::string& grant_id, const std::string& by);
  /// Every grant kept (expired ones go at the next refresh), newest first.
  [[nodiscard]] std::vector<AdminGrantRecord> list() const;
  /// When `peer_key`'s active grant expires (Unix ms), or nullopt if it holds none (from a cache at
  /// most 5 s old).
  [[nodiscard]] std::optional<int64_t> active_until(const std::string& peer_key) const;
  /// The ADMIN_STATE for `peer_key`: the signing key, its active grant if any, the revoked ids.
  [[nodiscard]] sync::AdminState state_for(const std::string& peer_key) const;
  /// The admin signing public key.
  [[nodiscard]] admin::SigningPublicKey signing_key() const;
  /// Re-reads the grants and the signing key from the store (another node may have changed them)
  /// and purges grants that expired. Throws what the store throws.
  void refresh();

 private:
  void refresh_if_stale() const;
  void load_locked() const;
  // Rebuilds active_until_ from grants_.
  void index_locked() const;
  void save(const AdminGrantRecord& record);

  Store& store_;
  std::string app_id_;
  std::shared_ptr<const Clock> clock_;
  std::function<void(const std::string&)> changed_;
  mutable std::mutex mutex_;  // guards everything below
  mutable std::optional<admin::SigningKey> key_;
  mutable std::vector<AdminGrantRecord> grants_;
  mutable std::map<std::string, TimePoint, std::less<>> active_until_;  // peer key -> expiry of its unrevoked grant
  mutable std::chrono::steady_clock::time_point loaded_at_{};
};

}  // namespace smallpeer::bigpeer
