// Log requests on the Big Peer (SPEC section 6). An operator creates one through the HTTP API (or a
// device sends its logs on its own initiative); it is pushed to the peer over its live session at
// once, or when the peer next connects; the peer uploads a gzip JSON Lines bundle in chunks, which
// land in a LogBundleStore (bigpeer/storage/bundles.h) and resume from the bytes already stored
// after a dropped connection.
//
//   pending -> delivered -> uploading -> ready          (or failed with a reason, or expired when
//                                                         nobody picked it up within its TTL)
//
// The metadata of each request is a document of the system collection __log_requests in the Big
// Peer's store (never replicated), so it survives restarts and the Data Browser shows it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bigpeer/registry.h"
#include "bigpeer/storage/bundles.h"
#include "clock/clock.h"
#include "log/log_filter.h"
#include "store/store.h"
#include "sync/protocol.h"
#include "sync/session.h"

namespace smallpeer::bigpeer {

/// The system collection holding log request metadata.
inline constexpr std::string_view kLogRequestsCollection = "__log_requests";
/// Default and largest time to live of a request that nobody picked up.
inline constexpr std::chrono::seconds kDefaultLogRequestTtl{24 * 3600};
inline constexpr std::chrono::seconds kMaxLogRequestTtl{7 * 24 * 3600};
/// Largest bundle a device may upload.
inline constexpr uint64_t kMaxLogBundleBytes = 256ull * 1024 * 1024;

/// Caps on the bundles one device sends on its own initiative (operator requests are not counted),
/// over the trailing kDeviceBundleQuotaWindow: an offer that would exceed either is refused with a
/// reason the device logs. Counted from the stored requests, so every node sharing a database
/// enforces one quota.
struct DeviceBundleQuota {
  uint64_t count = 20;                    // bundles per device per window
  uint64_t bytes = 256ull * 1024 * 1024;  // offered bytes per device per window
};
/// The quota's window.
inline constexpr std::chrono::hours kDeviceBundleQuotaWindow{24};

/// Where a request is in its lifecycle.
enum class LogRequestState { pending, delivered, uploading, ready, failed, expired };
/// "pending", "delivered", ...
std::string_view to_string(LogRequestState state);
/// True for ready, failed and expired.
bool is_terminal(LogRequestState state);

/// One log request.
struct LogRequestRecord {
  std::string id;
  std::string peer_key;
  std::string device_name;  // at creation, for the download's file name
  LogRequestState state = LogRequestState::pending;
  std::string requested_by;  // "admin" or "device"
  TimePoint requested_at;
  TimePoint expires_at;
  std::optional<TimePoint> delivered_at;
  std::optional<TimePoint> completed_at;
  LogFilter filter;  // which lines the operator asked for
  uint64_t bytes_received = 0;
  std::optional<uint64_t> bytes_total;
  std::string reason;  // why it failed or expired

  /// The JSON the HTTP API returns (and the store keeps).
  [[nodiscard]] std::string to_json() const;
  /// Parses what to_json() wrote; nullopt if it is not a log request document.
  static std::optional<LogRequestRecord> from_json(std::string_view json);
  /// The download's file name: <device>_<peer key prefix>_<completed UTC>.jsonl.gz.
  [[nodiscard]] std::string file_name() const;
};

/// Counts of requests per state, for /metrics.
using LogRequestCounts = std::map<LogRequestState, uint64_t>;

/// Every log request of this Big Peer. Thread-safe.
class LogRequests {
 public:
  /// Keeps metadata in `store` and bundles in `bundles`; reaches live sessions through `registry`.
  /// `on_saved` (optional) hears the id of every request saved, to tell other Big Peer nodes.
  LogRequests(Store& store, std::unique_ptr<LogBundleStore> bundles, const ConnectionRegistry& registry,
              std::shared_ptr<const Clock> clock, std::function<void(const std::string& id)> on_saved = {});

  /// Creates a request for `peer_key` and delivers it at once if the peer is connected.
  LogRequestRecord create(const std::string& peer_key, const std::string& device_name, LogFilter filter, std::chrono::seconds ttl,
                          std::string requested_by);
  /// One request, or nullopt.
  [[nodiscard]] std::optional<LogRequestRecord> get(const std::string& id) const;
  /// A peer's requests, newest first.
  [[nodiscard]] std::vector<LogRequestRecord> for_peer(const std::string& peer_key) const;
  /// A ready request's bundle; throws Error(io) if it is missing.
  [[nodiscard]] std::string read_bundle(const std::string& id) const;
  /// Another node saved request `id`: reload it from the store, and deliver it if its peer has a
  /// session here and nobody delivered it yet.
  void refresh(const std::string& id);
  /// Reloads every request from the store (after missing announcements), delivering as refresh().
  void refresh_all();
  /// Sets the caps on device-initiated bundles (default: DeviceBundleQuota{}).
  void set_device_quota(DeviceBundleQuota quota);
  /// Device-initiated offers refused for the quota since start, for /metrics.
  [[nodiscard]] uint64_t quota_refusals() const;
  /// How many requests are in each state.
  [[nodiscard]] LogRequestCounts counts() const;
  /// Marks requests that nobody picked up within their TTL as expired; returns how many.
  size_t expire_due();

  /// Session hooks, called on the session's strand. A peer that connects gets every unfinished
  /// request for it (from the bytes already stored).
  void on_established(sync::Session& session, const std::string& peer_key);
  /// Stores a chunk of a bundle; completes the request when the last byte arrived.
  void on_chunk(sync::Session& session, const std::string& peer_key, const sync::LogChunk& chunk);
  /// A bundle in the peer's outbox: creates a device-initiated request the Big Peer does not know.
  void on_offer(sync::Session& session, const std::string& peer_key, const sync::LogOffer& offer);
  /// The peer could not build a bundle.
  void on_result(const std::string& peer_key, const sync::LogResult& result);

 private:
  struct Entry {
    LogRequestRecord record;
    std::chrono::steady_clock::time_point saved_progress_at{};
    uint64_t resume_asked_at = UINT64_MAX;  // the size we last asked the peer to resume from
  };
  void save(Entry& entry);
  /// Why `peer_key`'s offer of `bytes` more would exceed its quota, or "" if it fits.
  [[nodiscard]] std::string quota_refusal(const std::string& peer_key, uint64_t bytes) const;
  void apply(LogRequestRecord record);
  // Sends the request to `session` (a pending one becomes delivered, saved); false if it had ended.
  bool deliver(sync::Session& session, Entry& entry);
  void finish(Entry& entry, LogRequestState state, std::string reason);
  [[nodiscard]] static sync::LogRequest request_frame(const Entry& entry);

  Store& store_;
  std::unique_ptr<LogBundleStore> bundles_;
  std::function<void(const std::string&)> on_saved_;
  const ConnectionRegistry& registry_;
  std::shared_ptr<const Clock> clock_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;  // by id
  DeviceBundleQuota quota_;               // under mutex_
  std::atomic<uint64_t> quota_refusals_{0};
};

}  // namespace smallpeer::bigpeer
