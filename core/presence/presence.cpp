#include "presence/presence.h"

#include <algorithm>

#include "common/json.h"

namespace smallpeer {

std::string_view to_string(Transport transport) {
  switch (transport) {
    case Transport::access_point:
      return "AccessPoint";
    case Transport::bluetooth:
      return "Bluetooth";
    case Transport::p2p_wifi:
      return "P2PWiFi";
    case Transport::websocket:
      return "WebSocket";
  }
  return "Unknown";
}

std::string_view to_string(BigPeerConnectionEvent::Kind kind) {
  switch (kind) {
    case BigPeerConnectionEvent::Kind::connected:
      return "connected";
    case BigPeerConnectionEvent::Kind::disconnected:
      return "disconnected";
    case BigPeerConnectionEvent::Kind::auth_failed:
      return "auth_failed";
  }
  return "unknown";
}

bool PresenceSnapshot::connected_to_big_peer() const {
  return std::any_of(peers.begin(), peers.end(), [](const ConnectedPeer& p) { return p.is_big_peer; });
}

std::map<Transport, uint32_t> PresenceSnapshot::connections_by_transport() const {
  std::map<Transport, uint32_t> counts{
      {Transport::access_point, 0}, {Transport::bluetooth, 0}, {Transport::p2p_wifi, 0}, {Transport::websocket, 0}};
  for (const auto& p : peers) ++counts[p.transport];
  return counts;
}

void Presence::add_peer(ConnectedPeer peer) {
  bool big_peer_changed = false;
  {
    std::lock_guard lock(mutex_);
    auto& peers = state_.peers;
    const bool was = state_.connected_to_big_peer();
    std::erase_if(peers, [&](const ConnectedPeer& p) { return p.peer_key == peer.peer_key && p.transport == peer.transport; });
    peers.push_back(std::move(peer));
    big_peer_changed = was != state_.connected_to_big_peer();
  }
  if (big_peer_changed) notify();
}

void Presence::remove_peer(const std::string& peer_key, Transport transport) {
  bool big_peer_changed = false;
  {
    std::lock_guard lock(mutex_);
    const bool was = state_.connected_to_big_peer();
    std::erase_if(state_.peers, [&](const ConnectedPeer& p) { return p.peer_key == peer_key && p.transport == transport; });
    big_peer_changed = was != state_.connected_to_big_peer();
  }
  if (big_peer_changed) notify();
}

void Presence::record_big_peer_event(BigPeerConnectionEvent event) {
  std::lock_guard lock(mutex_);
  state_.big_peer_history.push_back(std::move(event));
  while (state_.big_peer_history.size() > kMaxHistory) state_.big_peer_history.pop_front();
}

PresenceSnapshot Presence::snapshot() const {
  std::lock_guard lock(mutex_);
  return state_;
}

void Presence::set_big_peer_listener(Listener listener) {
  std::lock_guard lock(mutex_);
  listener_ = std::move(listener);
}

void Presence::notify() {
  Listener listener;
  {
    std::lock_guard lock(mutex_);
    listener = listener_;
  }
  if (listener) listener();
}

void write_connected_peers(JsonWriter& w, const std::vector<ConnectedPeer>& peers, size_t max) {
  w.begin_array();
  for (size_t i = 0; i < peers.size() && i < max; ++i) {
    const auto& p = peers[i];
    w.begin_object()
        .key("peer_key")
        .value(p.peer_key)
        .key("device_name")
        .value(p.device_name)
        .key("transport")
        .value(to_string(p.transport))
        .key("is_big_peer")
        .value(p.is_big_peer)
        .end_object();
  }
  w.end_array();
}

void write_big_peer_history(JsonWriter& w, const std::deque<BigPeerConnectionEvent>& history) {
  w.begin_array();
  for (const auto& e : history) {
    w.begin_object().key("event").value(to_string(e.kind)).key("timestamp").value(format_rfc3339(e.timestamp));
    if (!e.reason.empty()) w.key("reason").value(e.reason);
    w.end_object();
  }
  w.end_array();
}

}  // namespace smallpeer
