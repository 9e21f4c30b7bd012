// Sync scopes: where a collection's documents may go (SPEC section 5).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace smallpeer {

/// Where documents of a collection replicate; the values are the C ABI's SP_SYNC_SCOPE_* values.
enum class SyncScope : int32_t {
  local_peer_only = 0,   // never leaves the device
  big_peer_only = 1,     // to the Big Peer over a direct connection, never to small peers
  all_peers = 2,         // everywhere (user collections' default)
  small_peers_only = 3,  // to small peers, never the Big Peer
};

/// "LocalPeerOnly", "BigPeerOnly", "AllPeers" or "SmallPeersOnly".
std::string_view to_string(SyncScope scope);
/// Parses one of the names above, exactly; nullopt otherwise (for stored settings read leniently).
std::optional<SyncScope> parse_sync_scope(std::string_view name);
/// The scope named `name` (as above); throws Error(invalid_argument) naming it and the four names.
SyncScope sync_scope_from_name(std::string_view name);
/// The scope for a C ABI value; throws Error(invalid_argument) naming it and the four values.
SyncScope sync_scope_from_int(int32_t value);
/// True if `to` lets documents cross a kind of link (small peer <-> small peer, small peer <-> Big
/// Peer) that `from` kept them off: existing documents must then be made eligible again.
constexpr bool widens(SyncScope from, SyncScope to) {
  const auto small = [](SyncScope s) { return s == SyncScope::small_peers_only || s == SyncScope::all_peers; };
  const auto big = [](SyncScope s) { return s == SyncScope::big_peer_only || s == SyncScope::all_peers; };
  return (small(to) && !small(from)) || (big(to) && !big(from));
}
/// True if `scope` may be given to __small_peer_info (LocalPeerOnly or BigPeerOnly).
constexpr bool is_spi_scope(SyncScope scope) {
  return scope == SyncScope::local_peer_only || scope == SyncScope::big_peer_only;
}
/// Throws Error(invalid_argument) naming `scope` unless is_spi_scope(scope).
void require_spi_scope(SyncScope scope);

}  // namespace smallpeer
