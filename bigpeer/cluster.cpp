#include "bigpeer/cluster.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace smallpeer::bigpeer {

namespace {
int64_t to_ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
TimePoint from_ms(int64_t ms) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(ms)));
}
const std::string kTimeoutSeconds = std::to_string(kNodeTimeout.count());
const std::string kFreshSeconds = std::to_string(kBalanceFreshness.count());
}  // namespace

SessionBalance plan_balance(size_t local, const std::vector<size_t>& others) {
  SessionBalance b;
  b.nodes = others.size() + 1;
  b.total = local;
  for (const size_t n : others) b.total += n;
  b.fair = (b.total + b.nodes - 1) / b.nodes;
  // The slack keeps a node at its share from shedding over a device or two in flight; 2% keeps
  // every node within a few percent of even (all at most fair + slack, so none far below).
  b.limit = b.fair + std::max<size_t>(1, b.fair / 50);
  if (local > b.limit) b.shed = std::min(local - b.limit, std::max<size_t>(1, (b.fair + 9) / 10));
  return b;
}

ClusterPresence::ClusterPresence(const std::string& url, std::string node_id, std::string listen, ConnectionRegistry& registry,
                                 NodeHealth* health)
    : node_id_(std::move(node_id)),
      listen_(std::move(listen)),
      registry_(registry),
      health_(health),
      connection_(url),
      failures_("cluster: reaching PostgreSQL") {
  connection_.prepare("node_insert",
                      "INSERT INTO nodes(node_id, listen, started_at, heartbeat_at) VALUES($1, $2, now(), now()) "
                      "ON CONFLICT(node_id) DO UPDATE SET heartbeat_at=now()");
  connection_.prepare("node_beat", "UPDATE nodes SET heartbeat_at=now() WHERE node_id=$1");
  // Dead nodes go, with their sessions; their peers' disconnect time is the node's last heartbeat.
  connection_.prepare("reap",
                      "WITH dead AS (DELETE FROM nodes WHERE heartbeat_at < now() - make_interval(secs => $1::int) "
                      "RETURNING node_id, heartbeat_at), "
                      "gone AS (DELETE FROM device_sessions s USING dead WHERE s.node_id = dead.node_id "
                      "RETURNING s.peer_key, dead.heartbeat_at) "
                      "INSERT INTO device_disconnects(peer_key, disconnected_at_ms) "
                      "SELECT peer_key, max((extract(epoch FROM heartbeat_at) * 1000)::bigint) FROM gone GROUP BY peer_key "
                      "ON CONFLICT(peer_key) DO UPDATE SET disconnected_at_ms = "
                      "GREATEST(device_disconnects.disconnected_at_ms, excluded.disconnected_at_ms)");
  connection_.prepare(
      "session_put",
      "INSERT INTO device_sessions(node_id, peer_key, sessions, device_name, sdk_language, sdk_version, "
      "platform, remote_address, connected_at_ms) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9) "
      "ON CONFLICT(node_id, peer_key) DO UPDATE SET sessions=excluded.sessions, device_name=excluded.device_name, "
      "sdk_language=excluded.sdk_language, sdk_version=excluded.sdk_version, platform=excluded.platform, "
      "remote_address=excluded.remote_address, connected_at_ms=excluded.connected_at_ms");
  connection_.prepare("session_drop", "DELETE FROM device_sessions WHERE node_id=$1 AND peer_key=$2");
  connection_.prepare("disconnect_put",
                      "INSERT INTO device_disconnects(peer_key, disconnected_at_ms) VALUES($1, $2) "
                      "ON CONFLICT(peer_key) DO UPDATE SET disconnected_at_ms = "
                      "GREATEST(device_disconnects.disconnected_at_ms, excluded.disconnected_at_ms)");
  connection_.prepare("remote_sessions",
                      "SELECT s.peer_key, s.sessions, s.device_name, s.sdk_language, s.sdk_version, s.platform, "
                      "s.remote_address, s.connected_at_ms FROM device_sessions s JOIN nodes n ON n.node_id = s.node_id "
                      "WHERE s.node_id <> $1 AND n.heartbeat_at >= now() - make_interval(secs => $2::int)");
  connection_.prepare("disconnects", "SELECT peer_key, disconnected_at_ms FROM device_disconnects");
  connection_.prepare("balance",
                      "SELECT n.node_id, count(s.peer_key) FROM nodes n LEFT JOIN device_sessions s ON s.node_id = n.node_id "
                      "WHERE n.node_id <> $1 AND n.heartbeat_at >= now() - make_interval(secs => $2::int) GROUP BY n.node_id");
  connection_.run("node_insert", {{node_id_}, {listen_}}, "registering this Big Peer node");
  thread_ = std::thread([this] { run(); });
}

ClusterPresence::~ClusterPresence() {
  leave();
}

void ClusterPresence::leave() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(db_mutex_);
  if (left_) return;
  left_ = true;
  try {
    connection_.exec(fmt::format("INSERT INTO device_disconnects(peer_key, disconnected_at_ms) SELECT peer_key, "
                                 "(extract(epoch FROM now()) * 1000)::bigint FROM device_sessions WHERE node_id = {0} "
                                 "ON CONFLICT(peer_key) DO UPDATE SET disconnected_at_ms = excluded.disconnected_at_ms; "
                                 "DELETE FROM device_sessions WHERE node_id = {0}; DELETE FROM nodes WHERE node_id = {0}",
                                 pg::quote_literal(connection_.raw(), node_id_)),
                     "removing this Big Peer node");
  } catch (const std::exception& e) {
    spdlog::warn("cluster: {}", e.what());
  }
}

void ClusterPresence::peer_changed(const std::string& peer_key) {
  {
    std::lock_guard lock(mutex_);
    dirty_.insert(peer_key);
  }
  wake_.notify_all();
}

void ClusterPresence::run() {
  auto next_beat = std::chrono::steady_clock::now();
  // After a failure nothing is tried before the next heartbeat: a dirty set waiting for the
  // database must not make the wait return at once (which would spin on a down server).
  bool failing = false;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_until(lock, next_beat, [&] { return stopping_ || (!failing && !dirty_.empty()); });
    if (stopping_) break;
    std::set<std::string> dirty;
    dirty.swap(dirty_);
    const bool beat_due = std::chrono::steady_clock::now() >= next_beat;
    lock.unlock();
    try {
      if (beat_due) beat();
      if (!dirty.empty()) publish(dirty);
      if (beat_due) balance();
      failing = false;
      failures_.succeeded();
      if (health_ != nullptr) health_->database_up();
    } catch (const std::exception& e) {
      // The database is away: try again at the next heartbeat, republishing everything then.
      failing = true;
      failures_.failed(e.what());
      if (health_ != nullptr) health_->database_down();
      for (const auto& [key, state] : registry_.local_peers()) dirty.insert(key);
      lock.lock();
      dirty_.merge(dirty);
      next_beat = std::chrono::steady_clock::now() + kHeartbeatInterval;
      continue;
    }
    lock.lock();
    if (beat_due) next_beat = std::chrono::steady_clock::now() + kHeartbeatInterval;
  }
}

void ClusterPresence::beat() {
  bool revived = false;
  {
    std::lock_guard lock(db_mutex_);
    if (connection_.run("node_beat", {{node_id_}}, "writing the heartbeat").affected() == 0) {
      // Another node took us for dead (we were paused too long): come back with every session.
      connection_.run("node_insert", {{node_id_}, {listen_}}, "registering this Big Peer node");
      revived = true;
    }
    connection_.run("reap", {{kTimeoutSeconds}}, "removing dead nodes");
  }
  if (revived) {
    std::set<std::string> all;
    for (const auto& [key, state] : registry_.local_peers()) all.insert(key);
    publish(all);
  }
}

void ClusterPresence::balance() {
  // A node draining or without its database sheds nothing: it is not taking sessions anyway.
  if (health_ != nullptr && !health_->ready()) return;
  std::set<std::string> live;
  std::vector<size_t> others;
  {
    std::lock_guard lock(db_mutex_);
    const auto rows = connection_.run("balance", {{node_id_}, {kFreshSeconds}}, "reading the session balance");
    for (int row = 0; row < rows.rows(); ++row) {
      live.insert(rows.text(row, 0));
      others.push_back(static_cast<size_t>(rows.integer(row, 1)));
    }
  }
  const auto now = std::chrono::steady_clock::now();
  if (!seen_nodes_ || live != live_nodes_) {
    // This node just started, or another died or left: its devices are failing over, so let them
    // land before judging the balance. A node that only joined moves nobody: shed toward it now.
    const bool left = !seen_nodes_ || !std::includes(live.begin(), live.end(), live_nodes_.begin(), live_nodes_.end());
    if (seen_nodes_) spdlog::info("cluster: {} other live nodes now (were {})", live.size(), live_nodes_.size());
    seen_nodes_ = true;
    live_nodes_ = std::move(live);
    if (left) {
      next_shed_ = std::max(next_shed_, now + kMembershipSettle);
      return;
    }
  }
  if (now < next_shed_) return;
  std::erase_if(shed_at_, [&](const auto& entry) { return now - entry.second >= kShedMemory; });
  const auto b = plan_balance(registry_.online_peer_count(), others);
  if (b.shed == 0) return;
  const auto moved = registry_.move_newest(
      b.shed, fmt::format("this node holds more than its share of {} devices on {} nodes", b.total, b.nodes),
      [this](const std::string& key) { return shed_at_.contains(key); });
  for (const auto& key : moved) shed_at_[key] = now;
  next_shed_ = now + kShedPause;
  spdlog::info("cluster: {} devices on {} nodes (fair share {}, limit {}); asked {} of this node's newest to move", b.total,
               b.nodes, b.fair, b.limit, moved.size());
}

void ClusterPresence::publish(const std::set<std::string>& peers) {
  const auto local = registry_.local_peers();
  std::lock_guard lock(db_mutex_);
  for (const auto& key : peers) {
    const auto it = local.find(key);
    if (it != local.end() && it->second.online) {
      const auto& s = it->second;
      connection_.run("session_put",
                      {{node_id_},
                       {key},
                       {std::to_string(s.sessions)},
                       {s.device_name},
                       {s.sdk_language},
                       {s.sdk_version},
                       {s.platform},
                       {s.remote_address},
                       {std::to_string(to_ms(s.connected_at))}},
                      "publishing a session");
    } else {
      connection_.run("session_drop", {{node_id_}, {key}}, "publishing a disconnect");
      if (it != local.end() && it->second.disconnected_at) {
        connection_.run("disconnect_put", {{key}, {std::to_string(to_ms(*it->second.disconnected_at))}},
                        "publishing a disconnect");
      }
    }
  }
}

std::map<std::string, PeerConnectionState> ClusterPresence::remote_peers() const {
  std::map<std::string, PeerConnectionState> out;
  std::lock_guard lock(db_mutex_);
  if (left_) return out;
  const auto sessions = connection_.run("remote_sessions", {{node_id_}, {kTimeoutSeconds}}, "reading other nodes' sessions");
  for (int row = 0; row < sessions.rows(); ++row) {
    auto& s = out[sessions.text(row, 0)];
    const TimePoint connected_at = from_ms(sessions.integer(row, 7));
    s.online = true;
    s.sessions += static_cast<size_t>(sessions.integer(row, 1));
    if (s.device_name.empty() || connected_at > s.connected_at) {
      s.device_name = sessions.text(row, 2);
      s.sdk_language = sessions.text(row, 3);
      s.sdk_version = sessions.text(row, 4);
      s.platform = sessions.text(row, 5);
      s.remote_address = sessions.text(row, 6);
      s.connected_at = connected_at;
    }
  }
  const auto disconnects = connection_.run("disconnects", {}, "reading disconnects");
  for (int row = 0; row < disconnects.rows(); ++row) {
    out[disconnects.text(row, 0)].disconnected_at = from_ms(disconnects.integer(row, 1));
  }
  return out;
}

}  // namespace smallpeer::bigpeer
