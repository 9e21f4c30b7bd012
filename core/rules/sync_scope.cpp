#include "rules/sync_scope.h"

#include <fmt/format.h>

#include <array>
#include <utility>

#include "common/error.h"

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
  for (const auto& [s, name] : kNames) {
    if (s == scope) return name;
  }
  return "Unknown";
}

std::optional<SyncScope> parse_sync_scope(std::string_view name) {
  for (const auto& [s, n] : kNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

SyncScope sync_scope_from_name(std::string_view name) {
  if (auto scope = parse_sync_scope(name)) return *scope;
  throw Error(ErrorCode::invalid_argument,
              fmt::format("unknown sync scope '{}'; expected LocalPeerOnly, BigPeerOnly, AllPeers or SmallPeersOnly",
                          name.substr(0, 80)));
}

SyncScope sync_scope_from_int(int32_t value) {
  for (const auto& [s, n] : kNames) {
    if (static_cast<int32_t>(s) == value) return s;
  }
  throw Error(
      ErrorCode::invalid_argument,
      fmt::format("unknown sync scope {}; expected 0 (LocalPeerOnly), 1 (BigPeerOnly), 2 (AllPeers) or 3 (SmallPeersOnly)",
                  value));
}

void require_spi_scope(SyncScope scope) {
  if (!is_spi_scope(scope)) {
    throw Error(
        ErrorCode::invalid_argument,
        fmt::format("sync scope {} cannot be used for small peer info; use LocalPeerOnly or BigPeerOnly", to_string(scope)));
  }
}

}  // namespace smallpeer
