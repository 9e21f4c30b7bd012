// The live connection registry: which small peers have a session with this Big Peer right now,
// and when each peer was last connected. Feeds the fleet's online state and the connections gauge,
// and lets shutdown close every session.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "clock/clock.h"
#include "sync/session.h"

namespace smallpeer::bigpeer {

/// What the Big Peer knows about one small peer's connection(s).
struct PeerConnectionState {
  bool online = false;      // has an authenticated session now
  size_t sessions = 0;      // authenticated sessions now (a peer may reconnect before the old one ends)
  std::string device_name;  // from the newest session's HELLO
  std::string sdk_language, sdk_version, platform;
  std::string remote_address;
  TimePoint connected_at;                    // when the newest live session authenticated
  std::optional<TimePoint> disconnected_at;  // when its last session ended (this process's lifetime)
};

/// Thread-safe record of every session, from the WebSocket handshake to its end.
class ConnectionRegistry {
 public:
  using ConnectionId = uint64_t;

  /// Registers a connection whose session is about to start; nullopt once close_all() has run.
  std::optional<ConnectionId> add(std::string remote_address);
  /// Keeps `session` so close_all() can reach it; ignored if the connection already ended.
  void attach(ConnectionId id, std::shared_ptr<sync::Session> session);
  /// Marks the connection authenticated as `remote`'s peer key.
  void established(ConnectionId id, const std::shared_ptr<const sync::PeerInfo>& remote, TimePoint now);
  /// What remove() hands back.
  struct Removed {
    std::shared_ptr<sync::Session> session;  // for the caller to release off the session's own stack
    std::string peer_key;                    // empty if it never authenticated
  };
  /// Forgets the connection.
  Removed remove(ConnectionId id, TimePoint now);
  /// Drops every session still held (after the I/O threads stopped, before their io_context goes).
  void release_all();

  /// Hears the key of a peer whose local sessions changed (called outside the registry's lock).
  using PeerChanged = std::function<void(const std::string& peer_key)>;
  /// What other Big Peer nodes sharing the database report (online peers and last disconnects).
  using RemotePeers = std::function<std::map<std::string, PeerConnectionState>()>;
  /// Joins a cluster of nodes: `changed` publishes this node's sessions, `remote` is merged into
  /// peers() and peer(). Call before serving.
  void set_cluster(PeerChanged changed, RemotePeers remote);

  /// Every peer that is online or was connected during this process's lifetime, by peer key, with
  /// what the other nodes report merged in.
  [[nodiscard]] std::map<std::string, PeerConnectionState> peers() const;
  /// One peer's state (merged likewise), or nullopt if it has not connected since start.
  [[nodiscard]] std::optional<PeerConnectionState> peer(const std::string& peer_key) const;
  /// This process's own sessions only.
  [[nodiscard]] std::map<std::string, PeerConnectionState> local_peers() const;
  /// The newest authenticated session of `peer_key`, or nullptr if it is offline.
  [[nodiscard]] std::shared_ptr<sync::Session> session_of(const std::string& peer_key) const;
  /// Authenticated sessions now.
  [[nodiscard]] size_t established_count() const;
  /// Peers with at least one authenticated session now (what the cluster's balance counts).
  [[nodiscard]] size_t online_peer_count() const;

  /// Refuses new connections and closes every session with ERROR "moving" and `reason`.
  void close_all(const std::string& reason);
  /// Closes every session now with ERROR `code` and `reason`; new connections are still taken.
  void close_each(const std::string& code, const std::string& reason);
  /// Asks the `count` peers whose newest session is the most recent to move (ERROR "moving" and
  /// `reason` on every session of theirs), skipping peers for which `keep` is true; returns the
  /// keys of the peers asked. Used by the cluster balance (docs/DEPLOY.md, "Spreading sessions").
  std::vector<std::string> move_newest(size_t count, const std::string& reason,
                                       const std::function<bool(const std::string& peer_key)>& keep);
  /// Closes every session authenticated as `peer_key` with ERROR `code` and `reason`; returns how many.
  size_t close_peer(const std::string& peer_key, const std::string& code, const std::string& reason);
  /// Every authenticated session on this node now.
  [[nodiscard]] std::vector<std::shared_ptr<sync::Session>> established_sessions() const;
  /// Peer keys with an authenticated session on this node now.
  [[nodiscard]] std::vector<std::string> established_peer_keys() const;
  /// Waits until every connection has ended; false on timeout.
  bool wait_until_empty(std::chrono::milliseconds timeout);

 private:
  struct Connection {
    std::string remote_address;
    std::shared_ptr<sync::Session> session;
    std::shared_ptr<const sync::PeerInfo> remote;  // set once authenticated: the session's own, not a copy
    TimePoint established_at;
  };
  struct PeerRecord {
    size_t sessions = 0;
    ConnectionId newest = 0;
    std::optional<TimePoint> disconnected_at;
  };

  [[nodiscard]] PeerConnectionState state_of(const PeerRecord& record) const;
  /// Closes with ERROR `code` and `reason` every session whose connection `pick` chooses (asked
  /// under the lock; the closing runs outside it, since it may call remove() on this thread).
  /// Returns how many it closed. The one way close_all, close_each, move_newest and close_peer close.
  size_t close_where(const std::function<bool(const Connection&)>& pick, const std::string& code, const std::string& reason);
  /// The other nodes' report, or nothing if there is no cluster or the database cannot be read.
  [[nodiscard]] std::map<std::string, PeerConnectionState> remote_or_local_only() const;

  PeerChanged changed_;
  RemotePeers remote_;
  mutable std::mutex mutex_;
  std::condition_variable emptied_;
  std::unordered_map<ConnectionId, Connection> connections_;
  std::map<std::string, PeerRecord> peers_;
  ConnectionId next_id_ = 1;
  size_t established_ = 0;
  bool closing_ = false;
};

}  // namespace smallpeer::bigpeer
