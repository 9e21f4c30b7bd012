// core/rules: sync scope names, and the replication rules of SPEC section 5 checked exhaustively:
// every scope on every link kind, for user documents, the Small Peer Info document and other system
// collections, on both the sending (may_send) and the receiving (may_accept) side. The expected
// tables are written out from the SPEC, not computed like the implementation does.
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "common/error.h"
#include "ditto/ditto.h"
#include "rules/replication_rules.h"
#include "rules/sync_scope.h"
#include "spi/small_peer_info_collector.h"
#include "support/expect_error.h"
#include "support/temp_dir.h"

namespace smallpeer {
namespace {

using test_support::expect_error;

constexpr SyncScope kScopes[] = {SyncScope::local_peer_only, SyncScope::big_peer_only, SyncScope::all_peers,
                                 SyncScope::small_peers_only};

TEST(SyncScopeTest, EveryScopePrintsAndParsesBack) {
  const std::pair<SyncScope, std::string_view> expected[] = {{SyncScope::local_peer_only, "LocalPeerOnly"},
                                                             {SyncScope::big_peer_only, "BigPeerOnly"},
                                                             {SyncScope::all_peers, "AllPeers"},
                                                             {SyncScope::small_peers_only, "SmallPeersOnly"}};
  for (const auto& [scope, name] : expected) {
    EXPECT_EQ(to_string(scope), name);
    EXPECT_EQ(parse_sync_scope(name), scope) << name;
  }
}

TEST(SyncScopeTest, CAbiValuesAreFixed) {
  EXPECT_EQ(sync_scope_from_int(0), SyncScope::local_peer_only);
  EXPECT_EQ(sync_scope_from_int(1), SyncScope::big_peer_only);
  EXPECT_EQ(sync_scope_from_int(2), SyncScope::all_peers);
  EXPECT_EQ(sync_scope_from_int(3), SyncScope::small_peers_only);
  for (const int32_t bad : {-1, 4, 100, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()}) {
    expect_error([&] { sync_scope_from_int(bad); }, ErrorCode::invalid_argument,
                 "unknown sync scope " + std::to_string(bad) +
                     "; expected 0 (LocalPeerOnly), 1 (BigPeerOnly), 2 (AllPeers) or 3 (SmallPeersOnly)");
  }
}

TEST(SyncScopeTest, NamesAndSmallPeerInfoScopesHaveOneCheckAndOneMessage) {
  EXPECT_EQ(sync_scope_from_name("AllPeers"), SyncScope::all_peers);
  expect_error([] { sync_scope_from_name("allpeers"); }, ErrorCode::invalid_argument,
               "unknown sync scope 'allpeers'; expected LocalPeerOnly, BigPeerOnly, AllPeers or SmallPeersOnly");
  require_spi_scope(SyncScope::local_peer_only);
  require_spi_scope(SyncScope::big_peer_only);
  expect_error([] { require_spi_scope(SyncScope::small_peers_only); }, ErrorCode::invalid_argument,
               "sync scope SmallPeersOnly cannot be used for small peer info; use LocalPeerOnly or BigPeerOnly");
}

TEST(SyncScopeTest, OnlyExactNamesParse) {
  for (const std::string& bad :
       std::vector<std::string>{"", "allpeers", "ALLPEERS", "All Peers", "all_peers", " AllPeers", "AllPeers ", "AllPeers\n",
                                "Unknown", "2", "LocalPeer", "BigPeerOnlyX", std::string("AllPeers\0", 9)})
    EXPECT_FALSE(parse_sync_scope(bad).has_value()) << "'" << bad << "'";
}

TEST(SyncScopeTest, OnlyLocalPeerOnlyAndBigPeerOnlySuitSmallPeerInfo) {
  EXPECT_TRUE(is_spi_scope(SyncScope::local_peer_only));
  EXPECT_TRUE(is_spi_scope(SyncScope::big_peer_only));
  EXPECT_FALSE(is_spi_scope(SyncScope::all_peers));
  EXPECT_FALSE(is_spi_scope(SyncScope::small_peers_only));
}

// The three link kinds, seen from the sending peer.
enum class LinkKind { small_to_small_lan, small_to_big_peer, big_peer_to_small };
constexpr LinkKind kLinks[] = {LinkKind::small_to_small_lan, LinkKind::small_to_big_peer, LinkKind::big_peer_to_small};
const char* name(LinkKind k) {
  switch (k) {
    case LinkKind::small_to_small_lan:
      return "small->small (LAN)";
    case LinkKind::small_to_big_peer:
      return "small->Big Peer";
    case LinkKind::big_peer_to_small:
      return "Big Peer->small";
  }
  return "?";
}

constexpr std::string_view kSenderKey = "pkSender";
constexpr std::string_view kReceiverKey = "pkReceiver";

// `kind` seen from its sender, or (reversed) from its receiver.
Link sender_view(LinkKind kind) {
  Link l{.local_peer_key = std::string(kSenderKey), .remote_peer_key = std::string(kReceiverKey)};
  l.local = kind == LinkKind::big_peer_to_small ? PeerRole::big_peer : PeerRole::small_peer;
  l.remote = kind == LinkKind::small_to_big_peer ? PeerRole::big_peer : PeerRole::small_peer;
  return l;
}
Link receiver_view(LinkKind kind) {
  const Link s = sender_view(kind);
  return {.local = s.remote, .remote = s.local, .local_peer_key = s.remote_peer_key, .remote_peer_key = s.local_peer_key};
}

Document doc_in(std::string collection, std::string id = "doc-1") {
  Document d;
  d.collection = std::move(collection);
  d.id = std::move(id);
  d.json = R"({"_id":"doc-1"})";
  return d;
}

// SPEC section 5, user collections: whether a document crosses each link, by scope.
bool user_table(SyncScope scope, LinkKind link) {
  struct Row {
    SyncScope scope;
    bool small_small, small_big, big_small;
  };
  static constexpr Row kTable[] = {
      //                              LAN    ->Big  Big->
      {SyncScope::local_peer_only, false, false, false},
      {SyncScope::big_peer_only, false, true, true},
      {SyncScope::all_peers, true, true, true},
      {SyncScope::small_peers_only, true, false, false},
  };
  for (const auto& row : kTable)
    if (row.scope == scope)
      return link == LinkKind::small_to_small_lan  ? row.small_small
             : link == LinkKind::small_to_big_peer ? row.small_big
                                                   : row.big_small;
  ADD_FAILURE() << "scope missing from the table";
  return false;
}

TEST(ReplicationRulesTest, UserDocumentsFollowTheScopeTableBothWays) {
  for (const auto scope : kScopes)
    for (const auto link : kLinks) {
      SCOPED_TRACE(std::string(to_string(scope)) + " on " + name(link));
      const bool crosses = user_table(scope, link);
      for (const std::string& collection : std::vector<std::string>{"cars", "_underscore", "a__b"}) {
        EXPECT_EQ(may_send(doc_in(collection), scope, sender_view(link)), crosses) << collection;
        std::string why;
        // A receiver with the same scope stores what crosses and quietly drops the rest: the peers
        // are honest and only disagree about the scope.
        EXPECT_EQ(may_accept(doc_in(collection), scope, receiver_view(link), why),
                  crosses ? AcceptDecision::accept : AcceptDecision::ignore)
            << collection;
        EXPECT_TRUE(why.empty()) << why;
      }
    }
}

TEST(ReplicationRulesTest, SmallPeerInfoGoesOnlyStraightToTheBigPeerWhenBigPeerOnly) {
  const std::string spi(kSmallPeerInfoCollection);
  for (const auto scope : kScopes)
    for (const auto link : kLinks) {
      SCOPED_TRACE(std::string(to_string(scope)) + " on " + name(link));
      const bool expected = scope == SyncScope::big_peer_only && link == LinkKind::small_to_big_peer;
      EXPECT_EQ(may_send(doc_in(spi, std::string(kSenderKey)), scope, sender_view(link)), expected) << "its own document";
      EXPECT_FALSE(may_send(doc_in(spi, "pkSomeoneElse"), scope, sender_view(link))) << "never relayed";
    }
}

TEST(ReplicationRulesTest, SmallPeersRefuseEverySmallPeerInfoDocumentFromANeighbourButAnAdminDeviceItsOwn) {
  const std::string spi(kSmallPeerInfoCollection);
  for (const auto scope : kScopes)
    for (const bool admin : {false, true}) {
      const auto link = LinkKind::small_to_small_lan;
      SCOPED_TRACE(std::string(to_string(scope)) + (admin ? " at an admin device" : ""));
      Link at_receiver = receiver_view(link);
      at_receiver.local_admin = admin;
      for (const auto& id : {std::string(kSenderKey), std::string(kReceiverKey), std::string("pkOther")}) {
        std::string why;
        if (admin && id == kSenderKey) {
          // An admin device takes a field peer's own document (docs/SYNC.md "Admin devices").
          EXPECT_EQ(may_accept(doc_in(spi, id), scope, at_receiver, why), AcceptDecision::accept);
          continue;
        }
        EXPECT_EQ(may_accept(doc_in(spi, id), scope, at_receiver, why), AcceptDecision::violation) << id;
        EXPECT_NE(why.find("small peer info"), std::string::npos) << why;
        EXPECT_NE(why.find(kSenderKey), std::string::npos) << "names the sender: " << why;
      }
    }
}

// On the LAN a small peer sends its own document only when it shares with admin devices and the
// other side proved a grant; never another's, never over any other link kind; carried documents go
// only from an admin device to the Big Peer.
TEST(ReplicationRulesTest, OnTheLanOnlyItsOwnDocumentGoesAndOnlyToAProvenAdminDeviceWhenShared) {
  const std::string spi(kSmallPeerInfoCollection);
  for (const auto scope : {SyncScope::local_peer_only, SyncScope::big_peer_only})
    for (const bool share : {false, true})
      for (const bool proven : {false, true}) {
        Link l = sender_view(LinkKind::small_to_small_lan);
        l.share_spi_with_admin = share;
        l.remote_admin = proven;
        EXPECT_EQ(may_send(doc_in(spi, std::string(kSenderKey)), scope, l), share && proven) << share << proven;
        EXPECT_FALSE(may_send(doc_in(spi, "pkOther"), scope, l)) << "never relayed";
      }
  const std::string carried = "__small_peer_info_carried";
  for (const auto link : kLinks)
    for (const bool admin : {false, true}) {
      Link l = sender_view(link);
      l.local_admin = admin;
      EXPECT_EQ(may_send(doc_in(carried, "pkOther"), SyncScope::local_peer_only, l), admin && link == LinkKind::small_to_big_peer)
          << name(link);
      Link r = receiver_view(link);
      r.remote_admin = admin;
      std::string why;
      EXPECT_EQ(may_accept(doc_in(carried, "pkOther"), SyncScope::local_peer_only, r, why),
                admin && link == LinkKind::small_to_big_peer ? AcceptDecision::accept : AcceptDecision::violation)
          << name(link);
    }
}

// docs/SYNC.md "Admin devices": the Big Peer sends every device's document to an admin device and
// to nobody else; a small peer stores them only while it holds a valid grant.
TEST(ReplicationRulesTest, TheBigPeerSendsTheFleetOnlyToAnAdminDevice) {
  const std::string spi(kSmallPeerInfoCollection);
  for (const auto scope : kScopes)
    for (const bool admin : {false, true}) {
      SCOPED_TRACE(std::string(to_string(scope)) + (admin ? " to an admin device" : " to an ordinary peer"));
      Link from_big_peer = sender_view(LinkKind::big_peer_to_small);
      from_big_peer.remote_admin = admin;
      Link at_device = receiver_view(LinkKind::big_peer_to_small);
      at_device.local_admin = admin;
      for (const auto& id : {std::string(kSenderKey), std::string(kReceiverKey), std::string("pkOther")}) {
        EXPECT_EQ(may_send(doc_in(spi, id), scope, from_big_peer), admin) << id;
        std::string why;
        EXPECT_EQ(may_accept(doc_in(spi, id), scope, at_device, why), admin ? AcceptDecision::accept : AcceptDecision::ignore)
            << id;
        EXPECT_TRUE(why.empty()) << why;
      }
      // An admin device never sends the fleet on, nor another device's document, to anyone.
      for (const auto link : kLinks) {
        Link l = sender_view(link);
        if (l.local != PeerRole::small_peer) continue;
        l.local_admin = admin;
        EXPECT_FALSE(may_send(doc_in("__small_peer_info_fleet", "pkOther"), scope, l)) << name(link);
        EXPECT_FALSE(may_send(doc_in(spi, "pkOther"), scope, l)) << name(link);
      }
    }
}

TEST(ReplicationRulesTest, TheBigPeerAcceptsSmallPeerInfoOnlyFromItsOwnPeer) {
  const std::string spi(kSmallPeerInfoCollection);
  const Link at_big_peer = receiver_view(LinkKind::small_to_big_peer);
  for (const auto scope : kScopes) {
    SCOPED_TRACE(to_string(scope));
    std::string why;
    EXPECT_EQ(may_accept(doc_in(spi, std::string(kSenderKey)), scope, at_big_peer, why), AcceptDecision::accept);
    for (const std::string& spoofed :
         std::vector<std::string>{"pkOther", "", "pkSender2", "pkSende", std::string(kReceiverKey)}) {
      why.clear();
      EXPECT_EQ(may_accept(doc_in(spi, spoofed), scope, at_big_peer, why), AcceptDecision::violation) << spoofed;
      EXPECT_NE(why.find("spoofed"), std::string::npos) << why;
    }
  }
}

TEST(ReplicationRulesTest, OtherSystemCollectionsNeverReplicate) {
  for (const std::string& collection : std::vector<std::string>{"__settings", "__", "__log_outbox", "__cars"})
    for (const auto scope : kScopes)
      for (const auto link : kLinks) {
        SCOPED_TRACE(collection + " " + std::string(to_string(scope)) + " on " + name(link));
        EXPECT_FALSE(may_send(doc_in(collection), scope, sender_view(link)));
        std::string why;
        EXPECT_EQ(may_accept(doc_in(collection), scope, receiver_view(link), why), AcceptDecision::violation);
        EXPECT_NE(why.find(collection), std::string::npos) << why;
      }
}

TEST(ReplicationRulesTest, TombstonesFollowTheSameRules) {
  for (const auto scope : kScopes)
    for (const auto link : kLinks) {
      Document d = doc_in("cars");
      d.deleted = true;
      d.json.clear();
      EXPECT_EQ(may_send(d, scope, sender_view(link)), user_table(scope, link)) << to_string(scope) << " on " << name(link);
    }
}

// Scopes as an app sets them on an open peer.
class CollectionScopeTest : public ::testing::Test {
 protected:
  void SetUp() override { UserLogOutput::instance().set_console_enabled(false); }
  std::shared_ptr<Ditto> open() {
    DittoConfig config;
    config.persistence_dir = dir_.path() / "peer";
    config.scheduler = std::make_shared<ManualScheduler>();
    return Ditto::open(config);
  }
  test_support::TempDir dir_{"rules-test"};
};

TEST_F(CollectionScopeTest, UserCollectionsDefaultToAllPeersAndKeepTheirScope) {
  {
    auto d = open();
    EXPECT_EQ(d->collection_scope("cars"), SyncScope::all_peers);
    for (const auto scope : kScopes) {
      d->set_collection_scope("cars", scope);
      EXPECT_EQ(d->collection_scope("cars"), scope);
    }
    d->set_collection_scope("trucks", SyncScope::small_peers_only);
    d->close();
  }
  auto d = open();
  EXPECT_EQ(d->collection_scope("cars"), SyncScope::small_peers_only) << "the last scope set survives a reopen";
  EXPECT_EQ(d->collection_scope("trucks"), SyncScope::small_peers_only);
  EXPECT_EQ(d->collection_scope("vans"), SyncScope::all_peers);
  d->close();
}

TEST_F(CollectionScopeTest, SystemCollectionsCannotTakeUserScopes) {
  auto d = open();
  for (const std::string& collection :
       std::vector<std::string>{std::string(kSmallPeerInfoCollection), std::string("__settings"), std::string("__x")})
    for (const auto scope : kScopes)
      expect_error([&] { d->set_collection_scope(collection, scope); }, ErrorCode::invalid_argument, collection);
  EXPECT_EQ(d->collection_scope("__settings"), SyncScope::local_peer_only);
  EXPECT_EQ(d->collection_scope(kSmallPeerInfoCollection), SyncScope::local_peer_only) << "refusals changed nothing";
  d->close();
}

TEST_F(CollectionScopeTest, SmallPeerInfoTakesOnlyItsTwoScopes) {
  auto d = open();
  auto& spi = d->small_peer_info();
  spi.set_sync_scope(SyncScope::big_peer_only);
  for (const auto bad : {SyncScope::all_peers, SyncScope::small_peers_only})
    expect_error([&] { spi.set_sync_scope(bad); }, ErrorCode::invalid_argument, std::string(to_string(bad)));
  EXPECT_EQ(spi.sync_scope(), SyncScope::big_peer_only) << "refusals changed nothing";
  EXPECT_EQ(d->collection_scope(kSmallPeerInfoCollection), SyncScope::big_peer_only) << "the rules see the SPI scope";
  spi.set_sync_scope(SyncScope::local_peer_only);
  EXPECT_EQ(d->collection_scope(kSmallPeerInfoCollection), SyncScope::local_peer_only);
  d->close();
}

TEST_F(CollectionScopeTest, UnusableCollectionNamesAreRefused) {
  auto d = open();
  expect_error([&] { d->set_collection_scope("", SyncScope::all_peers); }, ErrorCode::invalid_argument, "got 0");
  expect_error([&] { d->set_collection_scope(std::string(257, 'c'), SyncScope::all_peers); }, ErrorCode::invalid_argument,
               "got 257");
  expect_error([&] { d->set_collection_scope(std::string("a\0b", 3), SyncScope::all_peers); }, ErrorCode::invalid_argument,
               "NUL");
  d->close();
}

}  // namespace
}  // namespace smallpeer
