#include "rules/replication_rules.h"

#include <fmt/format.h>

#include "spi/small_peer_info_collector.h"

namespace smallpeer {

namespace {
bool is_spi(const Document& doc) {
  return doc.collection == kSmallPeerInfoCollection;
}

bool small_to_big(const Link& link) {
  return link.local != link.remote;
}
bool small_to_small(const Link& link) {
  return link.local == PeerRole::small_peer && link.remote == PeerRole::small_peer;
}

// The user-scope table, symmetric for sending and receiving.
bool scope_allows(SyncScope scope, const Link& link) {
  switch (scope) {
    case SyncScope::local_peer_only:
      return false;
    case SyncScope::big_peer_only:
      return small_to_big(link);
    case SyncScope::small_peers_only:
      return small_to_small(link);
    case SyncScope::all_peers:
      return true;
  }
  return false;
}
}  // namespace

bool may_send(const Document& doc, SyncScope scope, const Link& link) {
  if (is_spi(doc)) {
    // Only a small peer's own document, only when BigPeerOnly, only straight to the Big Peer.
    return link.local == PeerRole::small_peer && link.remote == PeerRole::big_peer && scope == SyncScope::big_peer_only &&
           doc.id == link.local_peer_key;
  }
  if (Store::is_system_collection(doc.collection)) return false;
  return scope_allows(scope, link);
}

AcceptDecision may_accept(const Document& doc, SyncScope scope, const Link& link, std::string& why) {
  if (is_spi(doc)) {
    if (link.local == PeerRole::small_peer) {
      why = fmt::format("peer {} sent a small peer info document ({}); small peers never accept, store or relay them",
                        link.remote_peer_key, doc.id);
      return AcceptDecision::violation;
    }
    if (link.remote == PeerRole::small_peer && doc.id != link.remote_peer_key) {
      why = fmt::format("peer {} sent a small peer info document for another peer ({}); refused as spoofed", link.remote_peer_key,
                        doc.id);
      return AcceptDecision::violation;
    }
    return link.remote == PeerRole::small_peer ? AcceptDecision::accept : AcceptDecision::ignore;
  }
  if (Store::is_system_collection(doc.collection)) {
    why = fmt::format("peer {} sent a document of system collection {}, which never replicates", link.remote_peer_key,
                      doc.collection);
    return AcceptDecision::violation;
  }
  return scope_allows(scope, link) ? AcceptDecision::accept : AcceptDecision::ignore;
}

}  // namespace smallpeer
