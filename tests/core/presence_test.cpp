// core/presence: the live connections bookkeeping behind the SPI connectivity fields. Add/replace/
// remove, counts by transport, Big Peer connectivity and its listener, the bounded history, and the
// JSON the SPI document carries (connected_peers bounded, with connected_peers_truncated).
#include "presence/presence.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"
#include "ditto/ditto.h"
#include "spi/small_peer_info_collector.h"
#include "support/temp_dir.h"

namespace smallpeer {
namespace {

using namespace std::chrono_literals;

ConnectedPeer peer(std::string key, Transport t, bool big = false, std::string name = "device") {
  return {std::move(key), std::move(name), t, big};
}

TEST(PresenceTest, TransportAndEventNamesAreTheSpiNames) {
  EXPECT_EQ(to_string(Transport::access_point), "AccessPoint");
  EXPECT_EQ(to_string(Transport::bluetooth), "Bluetooth");
  EXPECT_EQ(to_string(Transport::p2p_wifi), "P2PWiFi");
  EXPECT_EQ(to_string(Transport::websocket), "WebSocket");
  EXPECT_EQ(to_string(BigPeerConnectionEvent::Kind::connected), "connected");
  EXPECT_EQ(to_string(BigPeerConnectionEvent::Kind::disconnected), "disconnected");
  EXPECT_EQ(to_string(BigPeerConnectionEvent::Kind::auth_failed), "auth_failed");
}

TEST(PresenceTest, StartsEmptyWithEveryTransportCountedAtZero) {
  Presence p;
  const auto s = p.snapshot();
  EXPECT_TRUE(s.peers.empty());
  EXPECT_TRUE(s.big_peer_history.empty());
  EXPECT_FALSE(s.connected_to_big_peer());
  const auto counts = s.connections_by_transport();
  ASSERT_EQ(counts.size(), 4u);
  for (const auto t : {Transport::access_point, Transport::bluetooth, Transport::p2p_wifi, Transport::websocket})
    EXPECT_EQ(counts.at(t), 0u) << to_string(t);
}

TEST(PresenceTest, AddReplacesTheSamePeerOnTheSameTransportOnly) {
  Presence p;
  p.add_peer(peer("pkA", Transport::access_point, false, "old name"));
  p.add_peer(peer("pkA", Transport::access_point, false, "new name"));
  p.add_peer(peer("pkA", Transport::bluetooth));
  p.add_peer(peer("pkB", Transport::access_point));
  const auto s = p.snapshot();
  ASSERT_EQ(s.peers.size(), 3u);
  EXPECT_EQ(s.peers.back().peer_key, "pkB");
  int named = 0;
  for (const auto& c : s.peers)
    if (c.peer_key == "pkA" && c.transport == Transport::access_point) {
      EXPECT_EQ(c.device_name, "new name");
      ++named;
    }
  EXPECT_EQ(named, 1);
  const auto counts = s.connections_by_transport();
  EXPECT_EQ(counts.at(Transport::access_point), 2u);
  EXPECT_EQ(counts.at(Transport::bluetooth), 1u);
  EXPECT_EQ(counts.at(Transport::p2p_wifi), 0u);
  EXPECT_EQ(counts.at(Transport::websocket), 0u);
}

TEST(PresenceTest, RemoveForgetsOnlyThatConnection) {
  Presence p;
  p.add_peer(peer("pkA", Transport::access_point));
  p.add_peer(peer("pkA", Transport::p2p_wifi));
  p.add_peer(peer("pkB", Transport::p2p_wifi));
  p.remove_peer("pkA", Transport::p2p_wifi);
  p.remove_peer("pkUnknown", Transport::access_point);  // not connected: nothing happens
  p.remove_peer("pkB", Transport::bluetooth);           // connected, but not on this transport
  const auto s = p.snapshot();
  ASSERT_EQ(s.peers.size(), 2u);
  const auto counts = s.connections_by_transport();
  EXPECT_EQ(counts.at(Transport::access_point), 1u);
  EXPECT_EQ(counts.at(Transport::p2p_wifi), 1u);
  p.remove_peer("pkA", Transport::access_point);
  p.remove_peer("pkB", Transport::p2p_wifi);
  EXPECT_TRUE(p.snapshot().peers.empty());
}

TEST(PresenceTest, SnapshotIsACopy) {
  Presence p;
  p.add_peer(peer("pkA", Transport::access_point));
  const auto before = p.snapshot();
  p.add_peer(peer("pkB", Transport::access_point));
  EXPECT_EQ(before.peers.size(), 1u);
  EXPECT_EQ(p.snapshot().peers.size(), 2u);
}

TEST(PresenceTest, ListenerHearsOnlyBigPeerConnectivityChanges) {
  Presence p;
  int calls = 0;
  bool connected_when_called = false;
  // The listener reads presence itself: it must be called outside the lock.
  p.set_big_peer_listener([&] {
    ++calls;
    connected_when_called = p.snapshot().connected_to_big_peer();
  });
  p.add_peer(peer("pkA", Transport::access_point));
  EXPECT_EQ(calls, 0) << "a small peer is not the Big Peer";
  p.add_peer(peer("pkBig", Transport::websocket, true));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(connected_when_called);
  EXPECT_TRUE(p.snapshot().connected_to_big_peer());
  p.add_peer(peer("pkBig", Transport::websocket, true));   // the same connection again
  p.add_peer(peer("pkBig2", Transport::websocket, true));  // a second Big Peer connection
  EXPECT_EQ(calls, 1) << "still connected: no change";
  p.remove_peer("pkBig", Transport::websocket);
  EXPECT_EQ(calls, 1) << "one Big Peer connection remains";
  p.remove_peer("pkA", Transport::access_point);
  EXPECT_EQ(calls, 1);
  p.remove_peer("pkBig2", Transport::websocket);
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(connected_when_called);
  // Replacing the Big Peer connection by a non-Big-Peer one under the same key is a change too.
  p.add_peer(peer("pkX", Transport::websocket, true));
  p.add_peer(peer("pkX", Transport::websocket, false));
  EXPECT_EQ(calls, 4);
  EXPECT_FALSE(p.snapshot().connected_to_big_peer());
}

TEST(PresenceTest, HistoryKeepsTheLastTwentyOldestFirst) {
  Presence p;
  const TimePoint t0{};
  for (int i = 0; i < 25; ++i)
    p.record_big_peer_event({i % 2 ? BigPeerConnectionEvent::Kind::disconnected : BigPeerConnectionEvent::Kind::connected,
                             t0 + std::chrono::seconds(i), "event " + std::to_string(i)});
  const auto history = p.snapshot().big_peer_history;
  ASSERT_EQ(history.size(), Presence::kMaxHistory);
  EXPECT_EQ(history.front().reason, "event 5");
  EXPECT_EQ(history.back().reason, "event 24");
  EXPECT_EQ(history.front().timestamp, t0 + 5s);
  EXPECT_EQ(history.front().kind, BigPeerConnectionEvent::Kind::disconnected);
}

TEST(PresenceTest, ConcurrentUpdatesLoseNothing) {
  Presence p;
  std::atomic<int> notified{0};
  p.set_big_peer_listener([&] { ++notified; });
  constexpr int kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = "pk" + std::to_string(t) + "-" + std::to_string(i);
        p.add_peer(peer(key, Transport::access_point));
        if (i % 2) p.remove_peer(key, Transport::access_point);
        (void)p.snapshot();
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(p.snapshot().peers.size(), size_t{kPerThread});  // the even-numbered half of each thread
  EXPECT_EQ(notified.load(), 0);
}

// The JSON array a writer produced, parsed.
simdjson::dom::array parse_array(simdjson::dom::parser& parser, const std::string& json) {
  simdjson::dom::array a;
  EXPECT_FALSE(parser.parse(json).get_array().get(a)) << json;
  return a;
}

TEST(PresenceTest, ConnectedPeersJsonListsAtMostMax) {
  std::vector<ConnectedPeer> peers;
  for (int i = 0; i < 5; ++i)
    peers.push_back(peer("pk" + std::to_string(i), Transport::p2p_wifi, i == 0, "dev \"" + std::to_string(i) + "\""));
  simdjson::dom::parser parser;
  for (const size_t max : {size_t{0}, size_t{3}, size_t{5}, size_t{100}}) {
    JsonWriter w;
    write_connected_peers(w, peers, max);
    const auto a = parse_array(parser, w.str());
    ASSERT_EQ(a.size(), std::min(max, peers.size())) << "max " << max;
    if (max == 0) continue;
    const auto first = a.at(0);
    EXPECT_EQ(std::string_view(first["peer_key"]), "pk0");
    EXPECT_EQ(std::string_view(first["device_name"]), "dev \"0\"");
    EXPECT_EQ(std::string_view(first["transport"]), "P2PWiFi");
    EXPECT_TRUE(bool(first["is_big_peer"]));
    EXPECT_FALSE(bool(a.at(1)["is_big_peer"]));
  }
}

TEST(PresenceTest, HistoryJsonOmitsAnEmptyReason) {
  std::deque<BigPeerConnectionEvent> history;
  const TimePoint t0 = parse_rfc3339("2026-03-01T12:00:00.000Z").value();
  history.push_back({BigPeerConnectionEvent::Kind::connected, t0, ""});
  history.push_back({BigPeerConnectionEvent::Kind::auth_failed, t0 + 1500ms, "token refused"});
  JsonWriter w;
  write_big_peer_history(w, history);
  simdjson::dom::parser parser;
  const auto a = parse_array(parser, w.str());
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(std::string_view(a.at(0)["event"]), "connected");
  EXPECT_EQ(std::string_view(a.at(0)["timestamp"]), format_rfc3339(t0));
  EXPECT_TRUE(a.at(0)["reason"].error()) << "no reason key when there is none";
  EXPECT_EQ(std::string_view(a.at(1)["event"]), "auth_failed");
  EXPECT_EQ(std::string_view(a.at(1)["timestamp"]), format_rfc3339(t0 + 1500ms));
  EXPECT_EQ(std::string_view(a.at(1)["reason"]), "token refused");
}

// The SPI document lists at most kMaxListedPeers and says when it left some out.
TEST(PresenceTest, SpiDocumentBoundsConnectedPeersWithATruncationFlag) {
  UserLogOutput::instance().set_console_enabled(false);
  test_support::TempDir dir("presence-test");
  DittoConfig config;
  config.persistence_dir = dir.path() / "peer";
  config.scheduler = std::make_shared<ManualScheduler>();
  auto d = Ditto::open(config);
  simdjson::dom::parser parser;
  const auto listed = [&](bool& truncated) {
    const std::string doc = d->small_peer_info().collect_now();
    const auto root = parser.parse(doc).value();
    truncated = bool(root["connected_peers_truncated"]);
    return root["connected_peers"].get_array().value().size();
  };
  bool truncated = true;
  EXPECT_EQ(listed(truncated), 0u);
  EXPECT_FALSE(truncated);
  for (size_t i = 0; i < kMaxListedPeers; ++i) d->presence().add_peer(peer("pk" + std::to_string(i), Transport::access_point));
  EXPECT_EQ(listed(truncated), kMaxListedPeers);
  EXPECT_FALSE(truncated) << "exactly the limit is not truncated";
  d->presence().add_peer(peer("pkOneMore", Transport::bluetooth));
  EXPECT_EQ(listed(truncated), kMaxListedPeers);
  EXPECT_TRUE(truncated);
  const auto root = parser.parse(d->small_peer_info().collect_now()).value();
  EXPECT_EQ(uint64_t(root["connections_by_transport"]["AccessPoint"]), kMaxListedPeers) << "counts are not truncated";
  EXPECT_EQ(uint64_t(root["connections_by_transport"]["Bluetooth"]), 1u);
  d->close();
}

}  // namespace
}  // namespace smallpeer
