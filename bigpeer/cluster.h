// Several Big Peer nodes on one PostgreSQL database (--postgres). Each node keeps a row in `nodes`
// with a heartbeat (every kHeartbeatInterval) and publishes its live sessions in `device_sessions`;
// every node's API merges the other live nodes' sessions into the fleet's online state. A node
// whose heartbeat is older than kNodeTimeout counts as dead: its sessions stop counting at once and
// the next heartbeat of any node removes them and records the peers' disconnect time. So a node
// that dies takes its peers' online state with it within kNodeTimeout of its last heartbeat.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "bigpeer/database_health.h"
#include "bigpeer/registry.h"
#include "bigpeer/storage/postgres.h"

namespace smallpeer::bigpeer {

/// How often a node writes its heartbeat.
inline constexpr std::chrono::seconds kHeartbeatInterval{1};
/// How old a heartbeat may be before its node counts as dead.
inline constexpr std::chrono::seconds kNodeTimeout{5};

/// This node's presence in the shared database, and what the other nodes publish. Thread-safe.
class ClusterPresence {
 public:
  /// Registers node `node_id` (listening on `listen`) and starts the heartbeat thread, which
  /// publishes `registry`'s local sessions and tells `health` (optional) whether the database
  /// answers. While it does not, the thread retries once per heartbeat interval.
  ClusterPresence(const std::string& url, std::string node_id, std::string listen, const ConnectionRegistry& registry,
                  NodeHealth* health = nullptr);
  /// Leaves (as leave()).
  ~ClusterPresence();
  ClusterPresence(const ClusterPresence&) = delete;
  ClusterPresence& operator=(const ClusterPresence&) = delete;

  /// Stops the heartbeat and removes this node and its sessions (recording the peers'
  /// disconnects); afterwards remote_peers() is empty. Idempotent.
  void leave();
  /// A local peer's sessions changed: publish it soon (on the heartbeat thread).
  void peer_changed(const std::string& peer_key);
  /// The peers online on other live nodes, and every peer's last disconnect on any node.
  [[nodiscard]] std::map<std::string, PeerConnectionState> remote_peers() const;

 private:
  void run();
  void beat();
  void publish(const std::set<std::string>& peers);

  const std::string node_id_;
  const std::string listen_;
  const ConnectionRegistry& registry_;
  NodeHealth* const health_;
  mutable std::mutex db_mutex_;  // guards connection_
  mutable pg::Connection connection_;
  FailureLog failures_;
  std::mutex mutex_;  // guards dirty_, stopping_
  std::condition_variable wake_;
  std::set<std::string> dirty_;
  bool stopping_ = false;
  bool left_ = false;  // guarded by db_mutex_
  std::thread thread_;
};

}  // namespace smallpeer::bigpeer
