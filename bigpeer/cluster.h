// Several Big Peer nodes on one PostgreSQL database (--postgres). Each node keeps a row in `nodes`
// with a heartbeat (every kHeartbeatInterval) and publishes its live sessions in `device_sessions`;
// every node's API merges the other live nodes' sessions into the fleet's online state. A node
// whose heartbeat is older than kNodeTimeout counts as dead: its sessions stop counting at once and
// the next heartbeat of any node removes them and records the peers' disconnect time. So a node
// that dies takes its peers' online state with it within kNodeTimeout of its last heartbeat.
//
// The same heartbeat keeps the fleet spread evenly (docs/DEPLOY.md, "Spreading sessions"): each
// node reads how many devices the other live nodes hold and, when it holds more than its fair
// share plus a small slack, asks a few of its newest sessions to move (ERROR "moving"; the device
// goes to another URL of its list). Only nodes above the limit shed, each only its own excess, a
// few at a time with a pause between rounds, so the fleet settles without oscillating.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bigpeer/database_health.h"
#include "bigpeer/registry.h"
#include "bigpeer/storage/postgres.h"

namespace smallpeer::bigpeer {

/// How often a node writes its heartbeat.
inline constexpr std::chrono::seconds kHeartbeatInterval{1};
/// How old a heartbeat may be before its node counts as dead.
inline constexpr std::chrono::seconds kNodeTimeout{5};

/// How fresh a node's heartbeat must be for the node to count in the session balance: a node that
/// died stops being given a share sooner than kNodeTimeout.
inline constexpr std::chrono::seconds kBalanceFreshness{3};
/// After shedding, how long a node waits before it looks at the balance again, so the devices it
/// asked to move have landed on other nodes and been published there.
inline constexpr std::chrono::seconds kShedPause{2};
/// After a live node dies or leaves (or this one starts), how long before shedding, so the failover
/// lands first. A node joining needs no wait: nobody is moving.
inline constexpr std::chrono::seconds kMembershipSettle{3};
/// How long a device asked to move is not asked again by the same node (a device listing only this
/// node, or sent back by a load balancer, must not be bounced every round).
inline constexpr std::chrono::minutes kShedMemory{5};

/// One node's view of the session balance.
struct SessionBalance {
  size_t total = 0;  // devices on all live nodes
  size_t nodes = 0;  // live nodes, this one included
  size_t fair = 0;   // ceil(total / nodes)
  size_t limit = 0;  // fair plus slack: holding more than this sheds
  size_t shed = 0;   // devices to ask to move now
};

/// The balance of a node holding `local` devices while the other live nodes hold `others`: shed
/// down to fair + max(1, fair / 50), at most max(1, ceil(fair / 10)) per round.
SessionBalance plan_balance(size_t local, const std::vector<size_t>& others);

/// This node's presence in the shared database, and what the other nodes publish. Thread-safe.
class ClusterPresence {
 public:
  /// Registers node `node_id` (listening on `listen`) and starts the heartbeat thread, which
  /// publishes `registry`'s local sessions (and asks some to move when this node holds more than its share) and tells `health`
  /// (optional) whether the database answers. While it does not, the thread retries once per heartbeat interval.
  ClusterPresence(const std::string& url, std::string node_id, std::string listen, ConnectionRegistry& registry,
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
  void balance();

  const std::string node_id_;
  const std::string listen_;
  ConnectionRegistry& registry_;  // not const: the balance asks sessions to move
  NodeHealth* const health_;
  mutable std::mutex db_mutex_;  // guards connection_
  mutable pg::Connection connection_;
  FailureLog failures_;
  std::mutex mutex_;  // guards dirty_, stopping_
  std::condition_variable wake_;
  std::set<std::string> dirty_;
  bool stopping_ = false;
  bool left_ = false;  // guarded by db_mutex_
  // The balance, touched by the heartbeat thread only.
  std::set<std::string> live_nodes_;
  bool seen_nodes_ = false;
  std::chrono::steady_clock::time_point next_shed_{};
  std::map<std::string, std::chrono::steady_clock::time_point> shed_at_;  // peers asked to move
  std::thread thread_;
};

}  // namespace smallpeer::bigpeer
