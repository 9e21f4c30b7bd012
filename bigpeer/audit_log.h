// The Big Peer's audit log (issue 17): every operator action - logins (and failed ones), logouts,
// log requests created, bundles downloaded, devices revoked, allowed or approved - with who did
// it, what, when and from where. Entries are documents of the system collection __audit_log in the
// Big Peer's store, so on PostgreSQL every node writes to and lists one log. Ids sort newest
// first; the log is bounded by count and age (pruned once a minute, outright, without tombstones).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bigpeer/http/common.h"
#include "bigpeer/http/router.h"
#include "bigpeer/metrics.h"
#include "clock/clock.h"
#include "store/store.h"

namespace smallpeer::bigpeer {

/// The system collection of audit entries.
inline constexpr std::string_view kAuditCollection = "__audit_log";
/// Who made `request`: "admin token" (bearer header), "session <8 hex>" (a portal session, named
/// by a hash of its id, which stays secret), or "anonymous".
std::string request_actor(const HttpRequest& request);

/// One audited action.
struct AuditEntry {
  std::string id;       // sorts newest first; set by AuditLog::record
  TimePoint at;         // set by AuditLog::record
  std::string actor;    // request_actor()
  std::string action;   // "login", "login_failed", "logout", "log_request.create", "log_request.download",
                        // "device.revoke", "device.allow", "device.approve"
  std::string target;   // the peer key or log request id acted on, or empty
  std::string address;  // ApiRequest::client_address, the connection's peer address
  std::string detail;   // free text, e.g. the state before

  /// The JSON the HTTP API returns (and the store keeps, with "_id").
  [[nodiscard]] std::string to_json() const;
};

/// How much of the log is kept.
struct AuditRetention {
  size_t max_entries = 100000;           // --audit-max-entries
  std::chrono::hours max_age{24 * 365};  // --audit-max-age-days
};

/// The audit log. Thread-safe.
class AuditLog {
 public:
  /// Keeps entries in `store`, at most `retention`; counts writes (and failed ones) in `metrics`.
  AuditLog(Store& store, std::shared_ptr<const Clock> clock, AuditRetention retention, BigPeerMetrics* metrics);
  /// Records `entry` (its id and time are set here). Never throws: a write the store refuses is
  /// logged and counted (smallpeer_audit_write_failures_total).
  void record(AuditEntry entry);
  /// Records an action of `request`'s caller.
  void record(const ApiRequest& request, std::string action, std::string target, std::string detail = {});
  /// A page of entries, newest first, after the entry with id `after`.
  struct Page {
    std::vector<AuditEntry> entries;
    std::optional<std::string> next_after;
  };
  [[nodiscard]] Page list(size_t limit, const std::string& after) const;
  /// Deletes entries beyond the retention's count or age; returns how many went.
  size_t prune();
  /// The retention in force.
  [[nodiscard]] const AuditRetention& retention() const { return retention_; }

 private:
  Store& store_;
  std::shared_ptr<const Clock> clock_;
  AuditRetention retention_;
  BigPeerMetrics* metrics_;
};

}  // namespace smallpeer::bigpeer
