// Small peers replicating with each other over LAN TCP on 127.0.0.1: multi-hop, user scopes, and
// the rule that a small peer never holds another peer's Small Peer Info document.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "ditto/ditto.h"
#include "spi/small_peer_info_collector.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace smallpeer;
using namespace std::chrono_literals;
using test_support::TempDir;
using test_support::wait_until;

namespace {

class LanSyncTest : public ::testing::Test {
 protected:
  void SetUp() override { UserLogOutput::instance().set_console_enabled(false); }
  void TearDown() override {
    for (auto& p : peers_) p->close();
  }

  // Opens a small peer listening on a free loopback port, connecting to `connect_to` peers.
  std::shared_ptr<Ditto> peer(const std::string& name, const std::vector<std::shared_ptr<Ditto>>& connect_to = {}) {
    DittoConfig config;
    config.persistence_dir = dir_.path() / name;
    config.device_name = name;
    config.identity = {IdentityConfig::Kind::offline_playground, "lan-test-app", ""};
    auto d = Ditto::open(config);
    std::string connect;
    for (const auto& other : connect_to)
      connect += fmt::format("{}\"127.0.0.1:{}\"", connect.empty() ? "" : ",", other->lan_port());
    d->set_transport_config(fmt::format(R"({{"lan":{{"listen":"127.0.0.1:0","connect":[{}]}}}})", connect));
    d->start_sync();
    peers_.push_back(d);
    return d;
  }

  static bool has(const std::shared_ptr<Ditto>& d, std::string_view collection, std::string_view id) {
    return d->get(collection, id).has_value();
  }

  // Writes a marker into an AllPeers collection and waits until `to` has it: after that, anything
  // written before the marker on `from` that was allowed to travel has had its chance.
  static void settle(const std::shared_ptr<Ditto>& from, const std::shared_ptr<Ditto>& to) {
    static int n = 0;
    const std::string id = fmt::format("marker-{}", n++);
    from->upsert("markers", fmt::format(R"({{"_id":"{}"}})", id));
    ASSERT_TRUE(wait_until([&] { return has(to, "markers", id); })) << "marker never arrived";
    std::this_thread::sleep_for(200ms);
  }

  TempDir dir_{"lan-sync"};
  std::vector<std::shared_ptr<Ditto>> peers_;
};

TEST_F(LanSyncTest, AllPeersTravelsAcrossThreeHopsBothWays) {
  auto a = peer("a");
  auto b = peer("b", {a});
  auto c = peer("c", {b});
  auto d = peer("d", {c});
  a->upsert("orders", R"({"_id":"from-a","n":1})");
  ASSERT_TRUE(wait_until([&] { return has(d, "orders", "from-a"); })) << "a -> b -> c -> d";
  d->upsert("orders", R"({"_id":"from-d"})");
  ASSERT_TRUE(wait_until([&] { return has(a, "orders", "from-d"); })) << "d -> c -> b -> a";
  // An update and a delete follow the same path, last writer wins.
  a->upsert("orders", R"({"_id":"from-a","n":2})");
  ASSERT_TRUE(wait_until([&] {
    auto doc = d->get("orders", "from-a");
    return doc && doc->json == R"({"_id":"from-a","n":2})";
  }));
  a->remove("orders", "from-a");
  ASSERT_TRUE(wait_until([&] { return !has(d, "orders", "from-a"); }));
  EXPECT_EQ(a->presence().snapshot().connections_by_transport()[Transport::access_point], 1u);
  EXPECT_EQ(b->presence().snapshot().connections_by_transport()[Transport::access_point], 2u);
}

TEST_F(LanSyncTest, LocalPeerOnlyNeverLeaves) {
  auto a = peer("a");
  auto b = peer("b", {a});
  a->set_collection_scope("diary", SyncScope::local_peer_only);
  a->upsert("diary", R"({"_id":"secret"})");
  settle(a, b);
  EXPECT_FALSE(has(b, "diary", "secret"));
  EXPECT_TRUE(has(a, "diary", "secret"));
}

TEST_F(LanSyncTest, SmallPeersOnlyTravelsBetweenSmallPeers) {
  auto a = peer("a");
  auto b = peer("b", {a});
  auto c = peer("c", {b});
  for (auto& p : {a, b, c}) p->set_collection_scope("mesh", SyncScope::small_peers_only);
  a->upsert("mesh", R"({"_id":"m1"})");
  EXPECT_TRUE(wait_until([&] { return has(c, "mesh", "m1"); }));
}

TEST_F(LanSyncTest, BigPeerOnlyNeverTravelsBetweenSmallPeers) {
  auto a = peer("a");
  auto b = peer("b", {a});
  a->set_collection_scope("telemetry", SyncScope::big_peer_only);
  b->set_collection_scope("telemetry", SyncScope::big_peer_only);
  a->upsert("telemetry", R"({"_id":"t1"})");
  settle(a, b);
  EXPECT_FALSE(has(b, "telemetry", "t1"));
}

TEST_F(LanSyncTest, ReceiverEnforcesItsOwnScopeToo) {
  // The sender thinks AllPeers; the receiver keeps "private" local: it refuses to store it.
  auto a = peer("a");
  auto b = peer("b", {a});
  b->set_collection_scope("private", SyncScope::local_peer_only);
  a->upsert("private", R"({"_id":"p1"})");
  settle(a, b);
  EXPECT_FALSE(has(b, "private", "p1"));
}

TEST_F(LanSyncTest, SmallPeerInfoNeverReachesALanNeighbourWhateverTheScope) {
  auto a = peer("a");
  auto b = peer("b", {a});
  for (auto scope : {SyncScope::local_peer_only, SyncScope::big_peer_only}) {
    a->small_peer_info().set_sync_scope(scope);
    a->small_peer_info().set_enabled(true);
    a->small_peer_info().collect_now();
    settle(a, b);
    EXPECT_FALSE(has(b, kSmallPeerInfoCollection, a->peer_key())) << to_string(scope);
    EXPECT_TRUE(b->collection_names(true).empty()) << "b has SPI off, so it holds no system documents at all";
    EXPECT_TRUE(has(a, kSmallPeerInfoCollection, a->peer_key()));
  }
}

TEST_F(LanSyncTest, ScopesPersistAcrossReopen) {
  {
    auto a = peer("a");
    a->set_collection_scope("diary", SyncScope::local_peer_only);
    a->close();
    peers_.clear();
  }
  DittoConfig config;
  config.persistence_dir = dir_.path() / "a";
  auto a = Ditto::open(config);
  EXPECT_EQ(a->collection_scope("diary"), SyncScope::local_peer_only);
  EXPECT_EQ(a->collection_scope("other"), SyncScope::all_peers);
  EXPECT_THROW(a->set_collection_scope("__small_peer_info", SyncScope::all_peers), Error);
}

TEST_F(LanSyncTest, BadTransportConfigsAreRefusedAndChangeNothing) {
  auto a = peer("a");
  const auto before = a->transport_config_json();
  for (const char* bad : {R"({"lan":{"listen":"nowhere"}})", R"({"lan":{"listen":"nowhere:4040"}})",
                          R"({"big_peer":{"urls":["http://x/sync"]}})", R"({"big_peer":{"urls":["ws://10.1.2.3:80/sync"]}})",
                          R"({"lan":{"connect":["127.0.0.1:99999"]}})", R"({"colour":"red"})", "[]", "not json"}) {
    EXPECT_THROW(a->set_transport_config(bad), Error) << bad;
    EXPECT_EQ(a->transport_config_json(), before) << bad;
  }
}

TEST_F(LanSyncTest, TheTransportConfigJsonFollowsEverySetAndReopen) {
  auto a = peer("a");
  a->set_transport_config(R"({"lan":{"listen":"127.0.0.1:0","connect":["127.0.0.1:1"]}})");
  const auto first = a->transport_config_json();
  EXPECT_NE(first.find(R"("127.0.0.1:1")"), std::string::npos) << first;
  a->set_transport_config(R"({"lan":{"listen":"127.0.0.1:0","connect":["127.0.0.1:2"]}})");
  const auto second = a->transport_config_json();
  EXPECT_EQ(second.find(R"("127.0.0.1:1")"), std::string::npos) << second;
  EXPECT_NE(second.find(R"("127.0.0.1:2")"), std::string::npos) << second;
  a->close();
  DittoConfig config;
  config.persistence_dir = dir_.path() / "a";
  config.identity = {IdentityConfig::Kind::offline_playground, "lan-test-app", ""};
  auto reopened = Ditto::open(config);
  EXPECT_EQ(reopened->transport_config_json(), second) << "the saved config is the one reported";
  reopened->close();
}

TEST_F(LanSyncTest, OfflinePlaygroundCannotUseABigPeer) {
  DittoConfig config;
  config.persistence_dir = dir_.path() / "offline";
  auto d = Ditto::open(config);
  d->set_transport_config(R"({"big_peer":{"urls":["ws://127.0.0.1:9/sync"]}})");
  try {
    d->start_sync();
    FAIL() << "started";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("online playground"), std::string::npos) << e.what();
  }
}

// Issue 17, finding 7: a document written while its collection was LocalPeerOnly used to stay
// behind forever once the collection was widened (every cursor had moved past it).
TEST_F(LanSyncTest, WideningAScopeSendsDocumentsWrittenBeforeIt) {
  auto a = peer("a");
  auto b = peer("b", {a});
  a->set_collection_scope("notes", SyncScope::local_peer_only);
  a->upsert("notes", R"({"_id":"early"})");
  settle(a, b);
  ASSERT_FALSE(has(b, "notes", "early"));
  a->set_collection_scope("notes", SyncScope::all_peers);
  EXPECT_TRUE(wait_until([&] { return has(b, "notes", "early"); })) << "widened: the earlier document travels";
  // Narrowing never leaks, and widening again sends what was written meanwhile.
  a->set_collection_scope("notes", SyncScope::local_peer_only);
  a->upsert("notes", R"({"_id":"while-narrow"})");
  settle(a, b);
  EXPECT_FALSE(has(b, "notes", "while-narrow"));
  a->set_collection_scope("notes", SyncScope::small_peers_only);
  EXPECT_TRUE(wait_until([&] { return has(b, "notes", "while-narrow"); }));
  // The receiving side widening: b ignored "drafts" while it was LocalPeerOnly there.
  b->set_collection_scope("drafts", SyncScope::local_peer_only);
  a->upsert("drafts", R"({"_id":"ignored-then-wanted"})");
  settle(a, b);
  ASSERT_FALSE(has(b, "drafts", "ignored-then-wanted"));
  b->set_collection_scope("drafts", SyncScope::all_peers);
  EXPECT_TRUE(wait_until([&] { return has(b, "drafts", "ignored-then-wanted"); })) << "b asks for it again";
  // Written after the widening, it travels as usual.
  a->upsert("notes", R"({"_id":"later"})");
  EXPECT_TRUE(wait_until([&] { return has(b, "notes", "later"); }));
}

}  // namespace
