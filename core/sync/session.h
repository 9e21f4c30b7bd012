// One replication session over a FrameChannel: handshake and authentication, then documents in
// both directions under the replication rules, with acknowledgements and back-pressure. Small
// peers and the Big Peer run the same session; the Big Peer plugs in group commit and its checks.
#pragma once

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "identity/identity.h"
#include "log/log.h"
#include "rules/replication_rules.h"
#include "store/store.h"
#include "sync/channel.h"
#include "sync/protocol.h"

namespace smallpeer::sync {

/// Documents per DOCS frame, at most.
inline constexpr size_t kMaxBatchDocuments = 256;
/// Unacknowledged DOCS frames in flight per session, at most (back-pressure).
inline constexpr size_t kMaxBatchesInFlight = 4;
/// Time allowed for the handshake before the connection is dropped.
inline constexpr std::chrono::seconds kHandshakeTimeout{10};

class Session;

/// Removes `collection` from every persisted replication cursor in `store`, so the next session
/// with any peer asks for that collection from the start (used when its sync scope widens).
void forget_cursors(Store& store, std::string_view collection);

/// Why a session ended.
struct SessionEnd {
  std::string reason;
  bool auth_failed = false;  // the handshake failed on credentials: either side refused the other
  std::string error_code;    // the code of the other side's ERROR frame, if it sent one
};

/// ERROR codes a Big Peer node sends a small peer (docs/SYNC.md): "moving" asks it to reconnect
/// to another node at once (the node is draining), "unavailable" says this node cannot serve it
/// now (its database is unreachable), so it tries the next node after its back-off.
inline constexpr std::string_view kErrorMoving = "moving";
/// See kErrorMoving.
inline constexpr std::string_view kErrorUnavailable = "unavailable";
/// The device's admin grant was given, revoked or replaced: reconnect at once for the new
/// ADMIN_STATE (and, as an admin device, the fleet's Small Peer Info).
inline constexpr std::string_view kErrorAdminChanged = "admin_changed";

/// Everything a session needs; every pointer outlives the session.
struct SessionConfig {
  PeerRole local_role = PeerRole::small_peer;
  std::string app_id;
  std::string app_token;  // proven to the other side (auth_proof), never sent
  const PeerIdentity* identity = nullptr;
  std::string device_name;
  std::string sdk_language = "C";
  Store* store = nullptr;
  EngineLog* log = nullptr;  // may be null (the Big Peer logs through spdlog)
  /// The local scope of a collection (for __small_peer_info: the SPI scope).
  std::function<SyncScope(std::string_view collection)> scope_of;
  /// Further checks of the other side once its HELLO checked out (protocol version, our app id, a
  /// well-formed peer key) and its AUTH verified (proof of our app token, signature of its peer key);
  /// returns a refusal reason, or nullopt to accept. Default: accept.
  std::function<std::optional<std::string>(Session& session, const Hello& remote)> authorize;
  /// Called when this side refuses the other at the handshake (its HELLO or its AUTH), with the reason.
  std::function<void(const std::string& reason)> on_handshake_refused;
  /// Stores a received batch with the cursors, then calls `done` (from any thread). Default:
  /// Store::merge_batch inline. The Big Peer groups batches of many sessions into one transaction.
  std::function<void(std::vector<Document> docs, std::vector<std::pair<std::string, std::string>> cursors,
                     std::function<void(std::exception_ptr)> done)>
      apply;
  /// How often the cursor of what was received goes with a batch to `apply`: zero (the default)
  /// with every batch; otherwise with the first, then with the first batch after each interval. It
  /// is always stored with a batch it covers, so it may lag (after a crash the other side resends
  /// that much, and merges ignore what they have) but never runs ahead. The Big Peer uses 1 s.
  std::chrono::milliseconds cursor_write_interval{0};
  /// Called once both sides are authenticated, on the session's strand.
  std::function<void(Session& session, const PeerInfo& remote)> on_established;
  /// Called once when the session ends (after on_established or not).
  std::function<void(Session& session, const SessionEnd& end)> on_closed;
  /// Called for a rule violation by the other side, before the connection is dropped.
  std::function<void(const std::string& why)> on_violation;
  /// Called (on the strand) for each received document refused without ending the session, e.g.
  /// an HLC too far ahead of this peer's clock; `code` is the reason's code ("clock_ahead").
  std::function<void(const Document& doc, std::string_view code, const std::string& why)> on_refused;
  /// Called (on the strand) for each of our documents the other side refused, as its ACK said.
  std::function<void(const DocumentRefusal& refusal)> on_refused_by_peer;
  /// Log request frames (protocol.h), called on the session's strand once established. Each is
  /// accepted only on a small peer <-> Big Peer link in its own direction, and only if its handler
  /// is set here; anything else is a protocol violation. A small peer sets on_log_request and
  /// on_log_result; the Big Peer sets on_log_chunk, on_log_offer and on_log_result.
  std::function<void(Session& session, const LogRequest&)> on_log_request;
  std::function<void(Session& session, const LogChunk&)> on_log_chunk;
  std::function<void(Session& session, const LogOffer&)> on_log_offer;
  std::function<void(Session& session, const LogResult&)> on_log_result;
  /// Admin devices (docs/SYNC.md "Admin devices"). The Big Peer sets remote_admin_until: when the
  /// other side's active admin grant expires (Unix ms), or nullopt. Asked once, at authentication: a
  /// grant given or revoked ends the session (ERROR admin_changed). While it holds, every device's
  /// Small Peer Info goes to that side. A small peer sets local_is_admin (it then stores Small Peer
  /// Info from the Big Peer, in admin::kFleetCollection) and on_admin_state (ADMIN_STATE from the
  /// Big Peer; a small peer without the handler ignores it; anyone else sending it is a violation).
  std::function<std::optional<int64_t>(const PeerInfo& remote)> remote_admin_until;
  std::function<bool()> local_is_admin;
  std::function<void(Session& session, const AdminState&)> on_admin_state;
  /// On the LAN. An admin device sets admin_grant: its grant, sent as ADMIN_PROOF before its
  /// CURSORS. A field peer sets verify_admin_proof (does this grant, presented by the peer the
  /// session authenticated as `peer_key`, make it an admin device?) and share_spi_with_admin
  /// (smallPeerInfo.shareWithAdminDevices): then its own Small Peer Info goes to such a peer.
  std::function<std::optional<admin::AdminGrant>()> admin_grant;
  std::function<bool(const admin::AdminGrant& grant, const std::string& peer_key)> verify_admin_proof;
  std::function<bool()> share_spi_with_admin;
  /// The Big Peer's check of a Small Peer Info document an admin device carried home from the field
  /// (admin::kCarriedCollection): nullopt to store it as the owner's, or a refusal's code and reason
  /// (the document is refused alone, listed in the ACK, and not offered again).
  std::function<std::optional<std::pair<std::string, std::string>>(const Document& doc)> check_carried;
  /// Set by the Big Peer, which holds a session per connected device and observes its store once
  /// for them all: these sessions do not observe user collections themselves (an admin device's
  /// still observes Small Peer Info), and the owner passes every change to a user collection to
  /// each established session's on_store_change.
  bool user_changes_from_owner = false;
};

/// A running session. Thread-safe; all protocol work happens on the channel's strand.
class Session : public std::enable_shared_from_this<Session>, private FrameChannel::Listener {
 public:
  /// Starts the handshake over `channel`.
  static std::shared_ptr<Session> start(SessionConfig config, std::shared_ptr<FrameChannel> channel);
  /// Starts the handshake over `channel` with a `config` many sessions share (a server's sessions:
  /// its callbacks are not copied per connection); `owner_data` and `owner_id` are what the owner
  /// keeps for this session, read back in those callbacks with owner_data() and owner_id().
  static std::shared_ptr<Session> start(std::shared_ptr<const SessionConfig> config, std::shared_ptr<FrameChannel> channel,
                                        std::shared_ptr<void> owner_data = nullptr, uint64_t owner_id = 0);
  ~Session() override;
  /// Ends the session (idempotent).
  void close(std::string reason);
  /// Ends the session after sending an ERROR frame with `code` and `reason` (idempotent).
  void close_with_error(std::string code, std::string reason);
  /// Who the other side is, from its HELLO, once received.
  [[nodiscard]] std::optional<PeerInfo> remote() const;
  /// The same, shared rather than copied (null until received); it never changes.
  [[nodiscard]] std::shared_ptr<const PeerInfo> shared_remote() const;
  /// True between authentication and close.
  [[nodiscard]] bool established() const;
  /// "ip:port" of the other end.
  [[nodiscard]] std::string remote_address() const { return channel_->remote_address(); }
  /// Queues a frame after the handshake (log request frames, ADMIN_STATE) from any thread if the
  /// session is established; false otherwise.
  bool send_frame(const Frame& frame);
  /// Bytes queued on the connection and not yet written (for pacing uploads).
  [[nodiscard]] size_t pending_bytes() const { return channel_->pending_bytes(); }
  /// After `collection`'s sync scope widened (from any thread): forgets this session's cursor of
  /// the other side's documents in it, persists that, and ends the session so the next one asks
  /// for the collection from the start (the restamped local rows go then too).
  void rewind(std::string collection);
  /// The grant id of the admin device on the other side of this LAN link, once its ADMIN_PROOF
  /// checked out; nullopt otherwise (and on every Big Peer link).
  [[nodiscard]] std::optional<std::string> remote_admin_grant_id() const;
  /// A change to the local store, from any thread (see SessionConfig::user_changes_from_owner):
  /// sent on, after the session's earlier work, if this link may carry its collection.
  void on_store_change(const Change& change);
  /// The session's strand: timers that drive it must run here.
  [[nodiscard]] boost::asio::any_io_executor executor() const { return channel_->executor(); }

  /// The `owner_data` given to start(), as the type the owner gave (null if none was).
  template <typename T>
  [[nodiscard]] T* owner_data() const {
    return static_cast<T*>(owner_data_.get());
  }
  /// Lets the `owner_data` go (on the session's strand, as the callbacks that read it run).
  void drop_owner_data() { owner_data_.reset(); }
  /// The `owner_id` given to start().
  [[nodiscard]] uint64_t owner_id() const { return owner_id_; }

  Session(std::shared_ptr<const SessionConfig> config, std::shared_ptr<FrameChannel> channel, std::shared_ptr<void> owner_data,
          uint64_t owner_id);  // use start()

 private:
  enum class State : uint8_t { awaiting_hello, awaiting_auth, awaiting_auth_result, established, closed };

  void begin();
  void on_frame(std::string bytes) override;    // from the channel
  void on_closed(std::string reason) override;  // from the channel
  void on_hello(Hello hello);
  void on_auth(const Auth& auth);
  void on_auth_result(const AuthResult& result);
  void on_cursors(const Cursors& cursors);
  void on_docs(Docs docs);
  void on_ack(const Ack& ack);
  void on_admin_proof(const AdminProof& proof);
  template <typename T>
  void on_link_frame(const T& frame);
  void maybe_established();
  void pump();
  // Sends `docs` as the next batch, counted in flight until acknowledged.
  void send_batch(std::vector<Document> docs);
  void on_local_change(const std::string& collection, std::optional<Document> doc, std::optional<HlcTimestamp> previous);
  // Registers observer_ for what this link may carry (`sends_system`: a system collection too),
  // replacing the one it had.
  void observe_store(bool sends_system);
  // True while another batch may be sent: under kMaxBatchesInFlight and the channel's byte bound.
  [[nodiscard]] bool room_to_send() const;
  void fail(std::string reason, bool violation);
  // Refuses the other side at the handshake: AUTH_RESULT with the reason, then close.
  void refuse(std::string reason);
  // Why the other side's HELLO is not acceptable, or nullopt.
  [[nodiscard]] std::optional<std::string> check_hello(const Hello& hello) const;
  /// Ends the session because the store failed (e.g. the Big Peer's database is away): ERROR
  /// "unavailable", so the peer retries, on another node if it has one.
  void store_failed(const std::exception& e);
  void finish(const SessionEnd& end);
  [[nodiscard]] Link link() const;
  [[nodiscard]] std::string cursor_key() const;
  [[nodiscard]] std::string encode_cursors() const;
  void load_cursors();
  [[nodiscard]] bool may_ever_send(std::string_view collection) const;
  void log(LogLevel level, const std::string& message) const;

  std::shared_ptr<const SessionConfig> config_;
  std::shared_ptr<void> owner_data_;
  uint64_t owner_id_;
  std::shared_ptr<FrameChannel> channel_;
  // Set once, on the strand, when the HELLO checks out; read from other threads once
  // remote_published_ says so. Shared, so a Big Peer's connection registry keeps this one.
  std::shared_ptr<const PeerInfo> remote_;
  // What only the handshake needs, let go once both sides are authenticated.
  struct Handshake {
    explicit Handshake(const boost::asio::any_io_executor& executor) : timer(executor, kHandshakeTimeout) {}
    boost::asio::steady_timer timer;  // drops a peer that has not completed it in time
    Hello ours;                       // as sent: half of both auth transcripts
    Hello theirs;                     // as received and checked: the other half
  };
  std::unique_ptr<Handshake> handshake_;
  // Atomics and flags together, not a mutex: a Big Peer holds one Session per idle device, and
  // without the mutex's 40 bytes it fits jemalloc's 256-byte class. The strand writes them; other
  // threads read state_ (established()), and remote_ and remote_admin_grant_id_ once published.
  std::atomic<State> state_{State::awaiting_hello};
  std::atomic<bool> remote_published_{false};
  std::atomic<bool> admin_grant_published_{false};
  bool we_accepted_them_ = false;
  bool they_accepted_us_ = false;
  bool cursors_received_ = false;
  bool admin_proof_received_ = false;
  bool finished_ = false;
  // The other side is an admin device until then: the Big Peer's records at authentication, or its
  // ADMIN_PROOF on the LAN.
  std::optional<int64_t> remote_admin_until_ms_;
  // Set once (strand), then admin_grant_published_; read by the engine on ADMIN_STATE. A pointer,
  // not an optional string: only a LAN link to an admin device has one.
  std::unique_ptr<const std::string> remote_admin_grant_id_;
  std::optional<Store::ObserverId> observer_;
  // The sending side (strand only), made when there is first something to send. A Big Peer holds
  // one Session per connected device and, in a fleet that syncs only Small Peer Info, sends nothing
  // to any but admin devices: their Sessions carry none of it (a 256-byte class, not 512). Once
  // the Big Peer holds a user collection, every session makes one at its CURSORS.
  struct Sending {
    std::map<std::string, HlcTimestamp> sent_upto;  // what the other side has from us, per collection
    std::set<std::string> dirty;                    // collections with something maybe not yet sent
    std::map<uint64_t, size_t> in_flight;           // batch id -> documents
    uint64_t next_batch_id = 1;
  };
  Sending& sending();  // sending_, made on first use
  std::unique_ptr<Sending> sending_;
  std::map<std::string, HlcTimestamp> received_upto_;                     // our cursors for the other side's documents
  std::optional<std::chrono::steady_clock::time_point> cursors_applied_;  // when they last went to apply
  // Per collection, just below the lowest stored_at of a document we refused this session: the
  // persisted cursor stays there, so the next session asks for it again (the clock may be fixed).
  // Made at the first refusal, which is rare.
  std::unique_ptr<std::map<std::string, HlcTimestamp>> refused_floor_;
};

}  // namespace smallpeer::sync
