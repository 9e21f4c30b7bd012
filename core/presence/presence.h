// Presence: the peer's live connections, which feed the SPI connectivity fields. The sync engine
// reports connections here; the SPI collector reads a snapshot.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "clock/clock.h"

namespace smallpeer {

/// How a connection is carried, with the names the SPI document uses.
enum class Transport { access_point, bluetooth, p2p_wifi, websocket };

/// "AccessPoint", "Bluetooth", "P2PWiFi" or "WebSocket".
std::string_view to_string(Transport transport);

/// One live connection to another peer.
struct ConnectedPeer {
  std::string peer_key;
  std::string device_name;
  Transport transport = Transport::access_point;
  bool is_big_peer = false;
};

/// One change of the Big Peer connection.
struct BigPeerConnectionEvent {
  enum class Kind { connected, disconnected, auth_failed };
  Kind kind = Kind::connected;
  TimePoint timestamp;
  std::string reason;  // empty when there is none
};

/// "connected", "disconnected" or "auth_failed".
std::string_view to_string(BigPeerConnectionEvent::Kind kind);

/// A consistent copy of the presence state.
struct PresenceSnapshot {
  std::vector<ConnectedPeer> peers;
  std::deque<BigPeerConnectionEvent> big_peer_history;  // oldest first, at most kMaxHistory
  /// True if one of `peers` is the Big Peer.
  [[nodiscard]] bool connected_to_big_peer() const;
  /// Live connection counts for every transport, zero included.
  [[nodiscard]] std::map<Transport, uint32_t> connections_by_transport() const;
};

/// Thread-safe record of live connections and of the Big Peer connection history.
class Presence {
 public:
  static constexpr size_t kMaxHistory = 20;
  using Listener = std::function<void()>;

  /// Records a new connection (replacing one to the same peer on the same transport).
  void add_peer(ConnectedPeer peer);
  /// Forgets the connection to `peer_key` on `transport`.
  void remove_peer(const std::string& peer_key, Transport transport);
  /// Appends an event to the Big Peer history, keeping the last kMaxHistory.
  void record_big_peer_event(BigPeerConnectionEvent event);
  /// A copy of the current state.
  [[nodiscard]] PresenceSnapshot snapshot() const;
  /// Calls `listener` (outside the lock) whenever Big Peer connectivity changes.
  void set_big_peer_listener(Listener listener);

 private:
  void notify();
  mutable std::mutex mutex_;
  PresenceSnapshot state_;
  Listener listener_;
};

class JsonWriter;

/// Writes `peers` as the SPI `connected_peers` array (at most `max` entries).
void write_connected_peers(JsonWriter& w, const std::vector<ConnectedPeer>& peers, size_t max);
/// Writes `history` as the SPI `big_peer_connection_history` array.
void write_big_peer_history(JsonWriter& w, const std::deque<BigPeerConnectionEvent>& history);

}  // namespace smallpeer
