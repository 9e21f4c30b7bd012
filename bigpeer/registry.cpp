#include "bigpeer/registry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <set>
#include <vector>

namespace smallpeer::bigpeer {

std::optional<ConnectionRegistry::ConnectionId> ConnectionRegistry::add(std::string remote_address) {
  std::lock_guard lock(mutex_);
  if (closing_) return std::nullopt;
  const ConnectionId id = next_id_++;
  connections_.emplace(id, Connection{std::move(remote_address), nullptr, nullptr, {}});
  return id;
}

void ConnectionRegistry::attach(ConnectionId id, std::shared_ptr<sync::Session> session) {
  std::shared_ptr<sync::Session> late;
  {
    std::lock_guard lock(mutex_);
    const auto it = connections_.find(id);
    if (it == connections_.end()) return;  // it ended before start() returned
    it->second.session = std::move(session);
    if (closing_) late = it->second.session;
  }
  // close_all() ran between add() and attach(), so it could not reach this session.
  if (late) late->close_with_error(std::string(sync::kErrorMoving), "the Big Peer is shutting down");
}

std::shared_ptr<sync::Session> ConnectionRegistry::session_of(const std::string& peer_key) const {
  std::lock_guard lock(mutex_);
  const auto peer = peers_.find(peer_key);
  if (peer == peers_.end() || peer->second.sessions == 0) return nullptr;
  const auto it = connections_.find(peer->second.newest);
  return it == connections_.end() ? nullptr : it->second.session;
}

void ConnectionRegistry::set_cluster(PeerChanged changed, RemotePeers remote) {
  changed_ = std::move(changed);
  remote_ = std::move(remote);
}

void ConnectionRegistry::established(ConnectionId id, const std::shared_ptr<const sync::PeerInfo>& remote, TimePoint now) {
  if (!remote) return;
  const std::string& peer_key = remote->peer_key;  // the caller holds `remote` until this returns
  {
    std::lock_guard lock(mutex_);
    const auto it = connections_.find(id);
    if (it == connections_.end() || it->second.remote) return;
    it->second.remote = remote;
    it->second.established_at = now;
    auto& peer = peers_[peer_key];
    peer.sessions += 1;
    peer.newest = id;
    ++established_;
  }
  if (changed_) changed_(peer_key);
}

ConnectionRegistry::Removed ConnectionRegistry::remove(ConnectionId id, TimePoint now) {
  Removed removed;
  {
    std::lock_guard lock(mutex_);
    const auto it = connections_.find(id);
    if (it == connections_.end()) return removed;
    removed.session = std::move(it->second.session);
    if (it->second.remote) {
      removed.peer_key = it->second.remote->peer_key;
      --established_;
      auto& peer = peers_[it->second.remote->peer_key];
      peer.sessions -= 1;
      peer.disconnected_at = now;
      if (peer.newest == id) {
        // Another live session of the same peer becomes the one we describe.
        peer.newest = 0;
        for (const auto& [other_id, other] : connections_) {
          if (other_id != id && other.remote && other.remote->peer_key == it->second.remote->peer_key) {
            peer.newest = std::max(peer.newest, other_id);
          }
        }
      }
    }
    connections_.erase(it);
    if (connections_.empty()) emptied_.notify_all();
  }
  if (changed_ && !removed.peer_key.empty()) changed_(removed.peer_key);
  return removed;
}

void ConnectionRegistry::release_all() {
  std::unordered_map<ConnectionId, Connection> connections;
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    connections.swap(connections_);
    established_ = 0;
    for (auto& [key, peer] : peers_) peer.sessions = 0;
    emptied_.notify_all();
  }
  // Destroyed outside the lock: a session's destructor may call back into the registry.
}

PeerConnectionState ConnectionRegistry::state_of(const PeerRecord& record) const {
  PeerConnectionState state;
  state.online = record.sessions > 0;
  state.sessions = record.sessions;
  state.disconnected_at = record.disconnected_at;
  if (const auto it = connections_.find(record.newest); it != connections_.end() && it->second.remote) {
    const auto& hello = *it->second.remote;
    state.device_name = hello.device_name;
    state.sdk_language = hello.sdk_language;
    state.sdk_version = hello.sdk_version;
    state.platform = hello.platform;
    state.remote_address = it->second.remote_address;
    state.connected_at = it->second.established_at;
  }
  return state;
}

std::map<std::string, PeerConnectionState> ConnectionRegistry::local_peers() const {
  std::map<std::string, PeerConnectionState> out;
  std::lock_guard lock(mutex_);
  for (const auto& [key, record] : peers_) out.emplace_hint(out.end(), key, state_of(record));
  return out;
}

namespace {
// One peer as this node and the others see it: online anywhere, described by its newest session.
void merge_remote(PeerConnectionState& local, const PeerConnectionState& remote) {
  if (remote.online && (!local.online || remote.connected_at > local.connected_at)) {
    local.device_name = remote.device_name;
    local.sdk_language = remote.sdk_language;
    local.sdk_version = remote.sdk_version;
    local.platform = remote.platform;
    local.remote_address = remote.remote_address;
    local.connected_at = remote.connected_at;
  }
  local.online = local.online || remote.online;
  local.sessions += remote.sessions;
  if (remote.disconnected_at && (!local.disconnected_at || *remote.disconnected_at > *local.disconnected_at)) {
    local.disconnected_at = remote.disconnected_at;
  }
}
}  // namespace

std::map<std::string, PeerConnectionState> ConnectionRegistry::remote_or_local_only() const {
  if (!remote_) return {};
  try {
    return remote_();
  } catch (const std::exception& e) {
    // The shared database is away: this node still answers with what it knows itself.
    spdlog::warn("registry: cannot read the other nodes' sessions: {}", e.what());
    return {};
  }
}

std::map<std::string, PeerConnectionState> ConnectionRegistry::peers() const {
  auto out = local_peers();
  for (const auto& [key, state] : remote_or_local_only()) {
    const auto [it, inserted] = out.try_emplace(key, state);
    if (!inserted) merge_remote(it->second, state);
  }
  return out;
}

std::optional<PeerConnectionState> ConnectionRegistry::peer(const std::string& peer_key) const {
  std::optional<PeerConnectionState> out;
  {
    std::lock_guard lock(mutex_);
    if (const auto it = peers_.find(peer_key); it != peers_.end()) out = state_of(it->second);
  }
  const auto remote = remote_or_local_only();
  const auto it = remote.find(peer_key);
  if (it == remote.end()) return out;
  if (!out) return it->second;
  merge_remote(*out, it->second);
  return out;
}

size_t ConnectionRegistry::established_count() const {
  std::lock_guard lock(mutex_);
  return established_;
}

size_t ConnectionRegistry::online_peer_count() const {
  std::lock_guard lock(mutex_);
  return static_cast<size_t>(std::count_if(peers_.begin(), peers_.end(), [](const auto& p) { return p.second.sessions > 0; }));
}

std::vector<std::string> ConnectionRegistry::move_newest(size_t count, const std::string& reason,
                                                         const std::function<bool(const std::string& peer_key)>& keep) {
  std::vector<std::string> keys;
  {
    std::lock_guard lock(mutex_);
    if (closing_ || count == 0) return keys;
    // Online peers by the time their newest session authenticated, newest first.
    std::vector<std::pair<TimePoint, std::string>> newest;
    for (const auto& [key, peer] : peers_) {
      if (peer.sessions == 0 || (keep && keep(key))) continue;
      if (const auto it = connections_.find(peer.newest); it != connections_.end() && it->second.remote) {
        newest.emplace_back(it->second.established_at, key);
      }
    }
    std::sort(newest.begin(), newest.end(), std::greater<>());
    newest.resize(std::min(newest.size(), count));
    for (auto& [at, key] : newest) keys.push_back(std::move(key));
  }
  const std::set<std::string> chosen(keys.begin(), keys.end());
  close_where([&](const Connection& c) { return c.remote && chosen.contains(c.remote->peer_key); },
              std::string(sync::kErrorMoving), reason);
  return keys;
}

void ConnectionRegistry::close_all(const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;  // no connection is added from now on
  }
  // ERROR "moving" tells each small peer to reconnect to another node at once.
  close_where([](const Connection&) { return true; }, std::string(sync::kErrorMoving), reason);
}

void ConnectionRegistry::close_each(const std::string& code, const std::string& reason) {
  close_where([](const Connection&) { return true; }, code, reason);
}

size_t ConnectionRegistry::close_peer(const std::string& peer_key, const std::string& code, const std::string& reason) {
  return close_where([&](const Connection& c) { return c.remote && c.remote->peer_key == peer_key; }, code, reason);
}

size_t ConnectionRegistry::close_where(const std::function<bool(const Connection&)>& pick, const std::string& code,
                                       const std::string& reason) {
  std::vector<std::shared_ptr<sync::Session>> sessions;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, connection] : connections_) {
      if (connection.session && pick(connection)) sessions.push_back(connection.session);
    }
  }
  for (const auto& s : sessions) s->close_with_error(code, reason);
  return sessions.size();
}

std::vector<std::shared_ptr<sync::Session>> ConnectionRegistry::established_sessions() const {
  std::vector<std::shared_ptr<sync::Session>> sessions;
  std::lock_guard lock(mutex_);
  sessions.reserve(established_);
  for (const auto& [id, connection] : connections_) {
    if (connection.remote && connection.session) sessions.push_back(connection.session);
  }
  return sessions;
}

std::vector<std::string> ConnectionRegistry::established_peer_keys() const {
  std::vector<std::string> keys;
  std::lock_guard lock(mutex_);
  for (const auto& [key, record] : peers_) {
    if (record.sessions > 0) keys.push_back(key);
  }
  return keys;
}

bool ConnectionRegistry::wait_until_empty(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return emptied_.wait_for(lock, timeout, [&] { return connections_.empty(); });
}

}  // namespace smallpeer::bigpeer
