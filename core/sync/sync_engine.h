// A small peer's sync: connections to the Big Peer (WebSocket) and to LAN neighbours (TCP), each
// running a Session; reconnection with exponential back-off and jitter; presence updates.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "admin/admin_trust.h"
#include "clock/clock.h"
#include "identity/identity.h"
#include "log/log.h"
#include "presence/presence.h"
#include "rules/sync_scope.h"
#include "runtime/runtime.h"
#include "store/store.h"
#include "sync/admission.h"
#include "sync/log_upload.h"

namespace smallpeer::sync {

class Session;

/// Where a small peer connects and listens. JSON:
/// {"big_peer": {"urls": ["wss://big-peer.example:443/sync"], "ca_file": "/path/ca.pem"},
///  "lan": {"listen": "127.0.0.1:0" | null, "connect": ["127.0.0.1:4040"],
///          "max_handshakes": 64, "max_handshakes_per_address": 16},  optional caps of the listener
///                                                                    on connections not yet authenticated
///  "log_upload": {"chunk_bytes": 262144, "max_bytes_per_second": 0}}      optional pacing of log uploads
struct TransportConfig {
  std::vector<std::string> big_peer_urls;
  std::string ca_file;  // trusted certificates for wss:// (empty: the system's trust store)
  std::optional<std::string> lan_listen;
  std::vector<std::string> lan_connect;
  AdmissionLimits lan_handshakes{64, 16};  // the LAN listener's caps on unauthenticated connections
  LogUploadSettings log_upload;

  /// Parses and validates the JSON above; throws Error(invalid_argument) naming the bad field.
  static TransportConfig parse(std::string_view json);
  /// The configuration as JSON (it holds no secrets: the app token lives in the identity).
  [[nodiscard]] std::string to_json() const;
};

/// Reconnection timing: first retry after `initial`, doubling up to `max`, each +-20% jitter.
struct Backoff {
  std::chrono::milliseconds initial{250};
  std::chrono::milliseconds max{30'000};
};

/// The big_peer.urls entry a peer with `peer_key` starts at: a stable hash of the key modulo
/// `url_count` (0 when there are none), so a fleet spreads evenly over the nodes listed.
size_t preferred_big_peer_index(std::string_view peer_key, size_t url_count);
/// How long a peer waits before its next Big Peer attempt after `failures` failed attempts in a
/// row with `url_count` nodes listed: backoff.initial, doubled once every node was tried at the
/// current level, capped at backoff.max (jitter is added on top).
std::chrono::milliseconds big_peer_retry_delay(const Backoff& backoff, size_t failures, size_t url_count);

/// What the sync engine needs from its Ditto instance; every reference outlives the engine.
struct SyncDependencies {
  Store& store;
  EngineLog& log;
  Presence& presence;
  const PeerIdentity& identity;
  std::string app_id;
  std::string app_token;
  std::string sdk_language;
  std::function<std::string()> device_name;
  std::function<SyncScope(std::string_view collection)> scope_of;
  LogOutbox& log_outbox;
  admin::AdminTrust& admin;                    // what the Big Peer said about admin devices (ADMIN_STATE)
  std::function<bool()> share_spi_with_admin;  // smallPeerInfo.shareWithAdminDevices
  std::shared_ptr<const Clock> clock;          // the wall clock that admin grants expire by
};

/// Runs a small peer's connections. Thread-safe.
class SyncEngine {
 public:
  /// Prepares (does not start) sync on the shared runtime.
  explicit SyncEngine(SyncDependencies deps, Backoff backoff = {});
  // NOLINTNEXTLINE(bugprone-exception-escape): stop() throws only if a mutex is broken; terminating is right
  ~SyncEngine();
  SyncEngine(const SyncEngine&) = delete;
  SyncEngine& operator=(const SyncEngine&) = delete;

  /// Replaces the transport configuration; restarts connections if running.
  void set_config(TransportConfig config);
  /// The active configuration.
  [[nodiscard]] TransportConfig config() const;
  /// The active configuration as JSON (config().to_json(), without building it again).
  [[nodiscard]] std::string config_json() const;
  /// Starts listening and connecting (idempotent). Throws Error(io) if the LAN port cannot be bound.
  void start();
  /// Closes every connection and stops listening (idempotent); returns when all sessions ended.
  void stop();
  /// True between start() and stop().
  [[nodiscard]] bool running() const;
  /// The bound LAN port, or 0 when not listening.
  [[nodiscard]] uint16_t lan_port() const;
  /// After `collection`'s sync scope widened: every live session forgets its cursor of the
  /// collection and reconnects, so documents the old scope kept back cross now (Session::rewind).
  void rewind(const std::string& collection);
  /// Offers a bundle that just entered the outbox to every connected Big Peer (the others get it
  /// when they connect).
  void offer_log_bundle(const LogOutbox::Entry& entry);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace smallpeer::sync
