#include "rules/sync_scope.h"

#include <array>
#include <utility>

namespace smallpeer {

namespace {
constexpr std::array<std::pair<SyncScope, std::string_view>, 4> kNames{{
    {SyncScope::local_peer_only, "LocalPeerOnly"},
    {SyncScope::big_peer_only, "BigPeerOnly"},
    {SyncScope::all_peers, "AllPeers"},
    {SyncScope::small_peers_only, "SmallPeersOnly"},
}};
}  // namespace

std::string_view to_string(SyncScope scope) {
  for (const auto& [s, name] : kNames)
    if (s == scope) return name;
  return "Unknown";
}

std::optional<SyncScope> parse_sync_scope(std::string_view name) {
  for (const auto& [s, n] : kNames)
    if (n == name) return s;
  return std::nullopt;
}

std::optional<SyncScope> sync_scope_from_int(int32_t value) {
  for (const auto& [s, n] : kNames)
    if (static_cast<int32_t>(s) == value) return s;
  return std::nullopt;
}

}  // namespace smallpeer
