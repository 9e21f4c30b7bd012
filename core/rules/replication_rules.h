// The replication rules engine (SPEC section 5): which documents may cross which link. Enforced by
// the sender (may_send) and again by the receiver (may_accept).
#pragma once

#include <string>
#include <string_view>

#include "rules/sync_scope.h"
#include "store/store.h"

namespace smallpeer {

/// Which end of a link a peer is.
enum class PeerRole { small_peer, big_peer };

/// One direct link, seen from the local peer.
struct Link {
  PeerRole local = PeerRole::small_peer;
  PeerRole remote = PeerRole::small_peer;
  std::string local_peer_key;
  std::string remote_peer_key;
  bool local_admin = false;           // a small peer that holds a valid admin grant (docs/SYNC.md "Admin devices")
  bool remote_admin = false;          // the other side holds an active admin grant (the Big Peer's records, or a LAN proof)
  bool share_spi_with_admin = false;  // a small peer's smallPeerInfo.shareWithAdminDevices
};

/// What a receiver does with an incoming document.
enum class AcceptDecision {
  accept,     // store it
  ignore,     // a scope mismatch between honest peers: drop it quietly
  violation,  // the sender broke a rule it must know: drop the connection and log why
};

/// True if `doc`, in a collection whose local scope is `scope`, may be sent over `link`.
bool may_send(const Document& doc, SyncScope scope, const Link& link);
/// Whether `doc` arriving over `link` may be stored, given the local scope of its collection.
/// On violation `why` says which rule was broken.
AcceptDecision may_accept(const Document& doc, SyncScope scope, const Link& link, std::string& why);

}  // namespace smallpeer
