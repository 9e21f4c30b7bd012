// The /sync WebSocket endpoint: small peers' replication sessions, with the Big Peer's checks
// (only small peers, the SPI rule; core's Session checks the app id and the proof of the app token),
// its caps on handshakes in progress, and its group-commit ingest plugged into core's Session.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "bigpeer/admin_grants.h"
#include "bigpeer/enrollments.h"
#include "bigpeer/http/common.h"
#include "bigpeer/ingest.h"
#include "bigpeer/log_requests.h"
#include "bigpeer/metrics.h"
#include "bigpeer/registry.h"
#include "clock/clock.h"
#include "identity/identity.h"
#include "rules/sync_scope.h"
#include "store/store.h"
#include "sync/admission.h"
#include "sync/channel.h"
#include "sync/session.h"

namespace smallpeer::bigpeer {

/// What the endpoint needs; every pointer outlives the endpoint and its sessions.
struct SyncEndpointConfig {
  std::string app_id;
  std::string app_token;
  const PeerIdentity* identity = nullptr;
  Store* store = nullptr;
  IngestQueue* ingest = nullptr;
  ConnectionRegistry* registry = nullptr;
  LogRequests* log_requests = nullptr;
  BigPeerMetrics* metrics = nullptr;
  std::shared_ptr<const Clock> clock;
  boost::asio::any_io_executor executor;               // where ended sessions are released
  std::shared_ptr<boost::asio::ssl::context> tls;      // the server's TLS context when serving wss
  sync::AdmissionLimits handshakes;                    // caps on connections not yet authenticated
  Enrollments* enrollments = nullptr;                  // device enrollment; null admits every verified key
  const AdminGrants* admin_grants = nullptr;           // admin devices; null: none, and no ADMIN_STATE is sent
  std::chrono::milliseconds cursor_write_interval{0};  // sync::SessionConfig::cursor_write_interval
};

/// Accepts small peers' WebSocket connections and runs one replication session for each.
class SyncEndpoint {
 public:
  /// Serves with `config`.
  explicit SyncEndpoint(SyncEndpointConfig config);
  /// Stops passing store changes to the sessions.
  ~SyncEndpoint();
  // The shared session config's callbacks point at this endpoint: it stays where it was built.
  SyncEndpoint(const SyncEndpoint&) = delete;
  SyncEndpoint& operator=(const SyncEndpoint&) = delete;
  /// Completes the WebSocket handshake of `request` (an upgrade to /sync, already read from
  /// `stream`) and starts a session; a failed handshake just closes the connection.
  void accept(sync::SyncTcpStream stream, HttpRequest request);
  /// The same over TLS (wss://).
  void accept(boost::beast::ssl_stream<sync::SyncTcpStream> stream, HttpRequest request);
  /// Why a small peer whose HELLO and AUTH verified is still refused, or nullopt to accept it: not a
  /// small peer, or (with enrollments) its key is pending or revoked. Registers a new key, seen
  /// from `remote_address`. Counts enrollment refusals in the metrics.
  [[nodiscard]] std::optional<std::string> authorize(const sync::Hello& remote, const std::string& remote_address = {}) const;
  /// Handshakes in progress (WebSocket upgrade to authentication).
  [[nodiscard]] size_t pending_handshakes() const { return admission_.pending(); }
  /// The Big Peer's scope of a collection: user collections replicate with everyone, and Small Peer
  /// Info is BigPeerOnly (accepted from its own peer, never sent on).
  static SyncScope scope_of(std::string_view collection);
  /// Why a Small Peer Info document an admin device carried home is refused (code "bad_signature"
  /// or "replayed", and the reason), or nullopt to store it as its owner's: its origin is its owner,
  /// the owner's signature covers its body and version, and it is newer than the one `store` has.
  static std::optional<std::pair<std::string, std::string>> check_carried(const Store& store, const Document& doc);

 private:
  /// The settings every session shares (one copy, not one per connection: ~1 KB per idle session).
  [[nodiscard]] std::shared_ptr<const sync::SessionConfig> make_session_config() const;
  template <class Stream>
  void accept_on(Stream stream, HttpRequest request);
  void start_session(std::shared_ptr<sync::FrameChannel> channel, const std::string& remote_address,
                     const std::shared_ptr<sync::HandshakeAdmission::Ticket>& ticket);

  SyncEndpointConfig config_;
  sync::HandshakeAdmission admission_;
  std::shared_ptr<const sync::SessionConfig> session_config_;
  // One observer of the user collections for every session (SessionConfig::user_changes_from_owner):
  // ~200 bytes less per connected device than one each.
  std::optional<Store::ObserverId> user_changes_;
};

}  // namespace smallpeer::bigpeer
