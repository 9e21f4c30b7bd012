#include "rules/replication_rules.h"

#include <fmt/format.h>

#include "admin/admin_grant.h"
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
    // The Big Peer sends every device's document to an admin device, and to nobody else.
    if (link.local == PeerRole::big_peer) return link.remote_admin;
    // Only a small peer's own document, only when BigPeerOnly, only straight to the Big Peer.
    if (link.remote == PeerRole::big_peer) return scope == SyncScope::big_peer_only && doc.id == link.local_peer_key;
    // On the LAN: its own, only when shared with admin devices, only to one that proved its grant.
    return link.share_spi_with_admin && link.remote_admin && doc.id == link.local_peer_key;
  }
  // An admin device carries the documents it collected in the field to the Big Peer, and nowhere else.
  if (doc.collection == admin::kCarriedCollection) {
    return link.local == PeerRole::small_peer && link.remote == PeerRole::big_peer && link.local_admin;
  }
  if (Store::is_system_collection(doc.collection)) return false;
  return scope_allows(scope, link);
}

AcceptDecision may_accept(const Document& doc, SyncScope scope, const Link& link, std::string& why) {
  if (is_spi(doc)) {
    if (link.local == PeerRole::small_peer) {
      // From the Big Peer: the fleet, for an admin device (stored apart, in admin::kFleetCollection).
      // A device whose grant just ended ignores what was already on its way.
      if (link.remote == PeerRole::big_peer) return link.local_admin ? AcceptDecision::accept : AcceptDecision::ignore;
      // From a field peer on the LAN: an admin device takes that peer's own document.
      if (link.local_admin && doc.id == link.remote_peer_key) return AcceptDecision::accept;
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
  // Carried home by an admin device: the Big Peer checks each one's signature and age before storing.
  if (doc.collection == admin::kCarriedCollection && link.local == PeerRole::big_peer && link.remote_admin) {
    return AcceptDecision::accept;
  }
  if (Store::is_system_collection(doc.collection)) {
    why = fmt::format("peer {} sent a document of system collection {}, which never replicates", link.remote_peer_key,
                      doc.collection);
    return AcceptDecision::violation;
  }
  return scope_allows(scope, link) ? AcceptDecision::accept : AcceptDecision::ignore;
}

}  // namespace smallpeer
