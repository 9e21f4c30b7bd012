// Small peers against a real Big Peer process on 127.0.0.1: the SPI scope table, user scopes,
// authentication failures, forged and spoofed peers, malformed frames and a Big Peer restart.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <simdjson.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "ditto/ditto.h"
#include "spi/small_peer_info_collector.h"
#include "support/big_peer_process.h"
#include "support/certificates.h"
#include "support/gunzip.h"
#include "support/raw_sync_client.h"
#include "support/small_peer.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace smallpeer;
using namespace std::chrono_literals;
using test_support::BigPeerProcess;
using test_support::BigPeerProcessOptions;
using test_support::RawSyncClient;
using test_support::TempDir;
using test_support::wait_until;

namespace {

// This process's TCP sockets connected to 127.0.0.1:`port` (found through /proc/self/fd).
std::vector<int> sockets_connected_to(uint16_t port) {
  std::vector<int> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    sockaddr_in peer{};
    socklen_t length = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0 || peer.sin_family != AF_INET) continue;
    if (ntohs(peer.sin_port) == port) found.push_back(fd);
  }
  return found;
}

class BigPeerSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    UserLogOutput::instance().set_console_enabled(false);
    big_peer_ = std::make_unique<BigPeerProcess>(BigPeerProcessOptions{.data_dir = dir_.path() / "big-peer"});
  }
  void TearDown() override {
    for (auto& p : peers_) p->close();
  }

  struct PeerOptions {
    bool big_peer = true;     // connect to the Big Peer
    bool lan_listen = false;  // listen on a LAN port
    std::vector<std::shared_ptr<Ditto>> lan_connect;
    std::string token;  // default: the right app token
  };

  std::shared_ptr<Ditto> peer(const std::string& name) { return peer(name, PeerOptions{}); }

  std::shared_ptr<Ditto> peer(const std::string& name, PeerOptions o) {
    std::string connect;
    for (const auto& other : o.lan_connect)
      connect += fmt::format("{}\"127.0.0.1:{}\"", connect.empty() ? "" : ",", other->lan_port());
    auto d = test_support::open_small_peer(
        *big_peer_, dir_.path(), name,
        fmt::format(R"({{"big_peer":{{"urls":[{}]}},"lan":{{"listen":{},"connect":[{}]}}}})",
                    o.big_peer ? "\"" + big_peer_->sync_url() + "\"" : "", o.lan_listen ? "\"127.0.0.1:0\"" : "null", connect),
        o.token);
    peers_.push_back(d);
    return d;
  }

  // The Big Peer's copy of a document, or nullopt (HTTP 404).
  std::optional<std::string> at_big_peer(std::string_view collection, std::string_view id) {
    const auto r = big_peer_->get(fmt::format("/api/v1/collections/{}/documents/{}", collection, id));
    if (r.status == 404) return std::nullopt;
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }

  // The `sequence` of a peer's SPI document at the Big Peer (0 if absent).
  int64_t big_peer_sequence(const std::shared_ptr<Ditto>& d) {
    const auto body = at_big_peer(kSmallPeerInfoCollection, d->peer_key());
    if (!body) return 0;
    simdjson::dom::parser parser;
    simdjson::dom::element root = parser.parse(*body).value();
    // The API may wrap the document; accept both shapes.
    int64_t seq = 0;
    if (!root["sequence"].get(seq)) return seq;
    if (!root["document"]["sequence"].get(seq)) return seq;
    ADD_FAILURE() << "no sequence in " << *body;
    return 0;
  }

  static bool connected(const std::shared_ptr<Ditto>& d) { return d->presence().snapshot().connected_to_big_peer(); }

  TempDir dir_{"big-peer-sync"};
  std::unique_ptr<BigPeerProcess> big_peer_;
  std::vector<std::shared_ptr<Ditto>> peers_;
};

TEST_F(BigPeerSyncTest, TheTwoDocumentedLinesDeliverTheDocumentWithinOneInterval) {
  auto d = peer("tablet");
  d->small_peer_info().set_interval(1s);
  ASSERT_TRUE(wait_until([&] { return connected(d); }));
  d->small_peer_info().set_enabled(true);                         // ditto.smallPeerInfo.isEnabled = true
  d->small_peer_info().set_sync_scope(SyncScope::big_peer_only);  // ditto.smallPeerInfo.syncScope = .bigPeerOnly
  // A document written just before the switch may arrive first; the one reporting the new scope
  // must follow within one interval.
  std::optional<std::string> body;
  ASSERT_TRUE(wait_until(
      [&] {
        body = at_big_peer(kSmallPeerInfoCollection, d->peer_key());
        return body && body->find(R"("sync_scope":"BigPeerOnly")") != std::string::npos;
      },
      1500ms))
      << "not there within one interval: " << body.value_or("(absent)");
  EXPECT_NE(body->find(R"("is_connected_to_big_peer":true)"), std::string::npos) << *body;
  // Later cycles keep arriving.
  const auto first = big_peer_sequence(d);
  EXPECT_TRUE(wait_until([&] { return big_peer_sequence(d) > first; }, 3s));
}

// A device writes each frame at once (TCP_NODELAY), as the Big Peer does. With Nagle's algorithm
// on the device's socket, the last segment of a large frame (a log chunk) waited for the Big
// Peer's delayed ACK, 40 ms on Linux, so every log upload took that much longer.
TEST_F(BigPeerSyncTest, TheDevicesConnectionToTheBigPeerSendsEachFrameAtOnce) {
  auto d = peer("tablet");
  ASSERT_TRUE(wait_until([&] { return connected(d); }));
  const auto sockets = sockets_connected_to(big_peer_->port());
  ASSERT_FALSE(sockets.empty()) << "no socket of this process is connected to the Big Peer";
  for (const int fd : sockets) {
    int on = 0;
    socklen_t length = sizeof on;
    ASSERT_EQ(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &length), 0);
    EXPECT_EQ(on, 1) << "socket " << fd << " to the Big Peer has Nagle's algorithm on";
  }
}

// Closing a peer while its connection to the Big Peer completes: the session that connection
// starts must end before close() frees the store. (A Swift suite crashed in SQLite reading
// "sync.cursors/<key>" when a session started after stop() had taken its list of sessions.) Each
// round closes at a different moment of the connect and handshake; a session that outlived its
// store would touch freed memory here. The window is narrow: 15 runs on the old code passed in the
// dev build, but under the asan preset 3 of 8 runs reported heap-use-after-free (in on_hello, on
// the closed peer's freed state) and 0 of 15 did with the fix. Run it there after touching stop().
TEST_F(BigPeerSyncTest, ClosingWhileTheConnectionCompletesLeavesNoSessionOnAFreedStore) {
  for (int round = 0; round < 60; ++round) {
    auto d =
        test_support::open_small_peer(*big_peer_, dir_.path(), fmt::format("closer-{}", round % 4), big_peer_->transport_json());
    std::this_thread::sleep_for(std::chrono::microseconds(250 * round));
    d->close();
  }
  // The Big Peer saw every one of those connections come and go, and still serves.
  auto d = peer("after");
  EXPECT_TRUE(wait_until([&] { return connected(d); }));
}

TEST_F(BigPeerSyncTest, LocalPeerOnlyNeverLeavesTheDevice) {
  auto d = peer("scanner");
  d->small_peer_info().set_interval(1s);
  d->small_peer_info().set_enabled(true);
  ASSERT_TRUE(wait_until([&] { return connected(d); }));
  d->upsert("markers", R"({"_id":"m1"})");
  ASSERT_TRUE(wait_until([&] { return at_big_peer("markers", "m1").has_value(); }));
  std::this_thread::sleep_for(1500ms);  // more than one interval of SPI writes
  EXPECT_GE(d->small_peer_info().sequence(), 2u);
  EXPECT_FALSE(at_big_peer(kSmallPeerInfoCollection, d->peer_key()).has_value());
}

TEST_F(BigPeerSyncTest, SwitchingBackToLocalPeerOnlyStopsReplication) {
  auto d = peer("forklift");
  d->small_peer_info().set_interval(1s);
  d->small_peer_info().set_sync_scope(SyncScope::big_peer_only);
  d->small_peer_info().set_enabled(true);
  ASSERT_TRUE(wait_until([&] { return big_peer_sequence(d) >= 2; }, 5s));
  d->small_peer_info().set_sync_scope(SyncScope::local_peer_only);
  std::this_thread::sleep_for(300ms);  // a batch already in flight may still land
  const auto frozen = big_peer_sequence(d);
  const auto local = d->small_peer_info().sequence();
  std::this_thread::sleep_for(2500ms);
  EXPECT_GE(d->small_peer_info().sequence(), local + 2) << "the device keeps collecting";
  EXPECT_EQ(big_peer_sequence(d), frozen) << "but nothing more reaches the Big Peer";
}

TEST_F(BigPeerSyncTest, ANeighbourThatIsTheOnlyPathNeverCarriesTheDocument) {
  auto gateway = peer("gateway", {.big_peer = true, .lan_listen = true});
  auto isolated = peer("isolated", {.big_peer = false, .lan_connect = {gateway}});
  gateway->small_peer_info().set_sync_scope(SyncScope::big_peer_only);
  gateway->small_peer_info().set_enabled(true);
  isolated->small_peer_info().set_sync_scope(SyncScope::big_peer_only);
  isolated->small_peer_info().set_interval(1s);
  isolated->small_peer_info().set_enabled(true);
  // The path works: a user document from the isolated peer reaches the Big Peer through the gateway.
  isolated->upsert("orders", R"({"_id":"via-gateway"})");
  ASSERT_TRUE(wait_until([&] { return at_big_peer("orders", "via-gateway").has_value(); }));
  ASSERT_TRUE(wait_until([&] { return big_peer_sequence(gateway) > 0; }));
  std::this_thread::sleep_for(1500ms);
  EXPECT_GE(isolated->small_peer_info().sequence(), 2u);
  EXPECT_FALSE(gateway->get(kSmallPeerInfoCollection, isolated->peer_key()).has_value()) << "the neighbour never holds it";
  EXPECT_FALSE(at_big_peer(kSmallPeerInfoCollection, isolated->peer_key()).has_value()) << "nor is it relayed";
}

TEST_F(BigPeerSyncTest, UserScopesAgainstTheBigPeer) {
  auto d = peer("pos");
  d->set_collection_scope("telemetry", SyncScope::big_peer_only);
  d->set_collection_scope("mesh", SyncScope::small_peers_only);
  d->set_collection_scope("diary", SyncScope::local_peer_only);
  d->upsert("telemetry", R"({"_id":"t"})");
  d->upsert("mesh", R"({"_id":"m"})");
  d->upsert("diary", R"({"_id":"d"})");
  d->upsert("orders", R"({"_id":"o"})");
  EXPECT_TRUE(wait_until([&] { return at_big_peer("telemetry", "t").has_value(); })) << "BigPeerOnly reaches it";
  EXPECT_TRUE(wait_until([&] { return at_big_peer("orders", "o").has_value(); })) << "AllPeers reaches it";
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(at_big_peer("mesh", "m").has_value()) << "SmallPeersOnly does not";
  EXPECT_FALSE(at_big_peer("diary", "d").has_value()) << "LocalPeerOnly does not";
  // And the Big Peer sends AllPeers and BigPeerOnly data back down to other small peers.
  auto other = peer("other");
  other->set_collection_scope("telemetry", SyncScope::big_peer_only);
  EXPECT_TRUE(wait_until([&] { return other->get("orders", "o").has_value(); }));
  EXPECT_TRUE(wait_until([&] { return other->get("telemetry", "t").has_value(); }));
}

TEST_F(BigPeerSyncTest, AWrongAppTokenIsRefusedAndTheReasonIsInTheHistory) {
  auto d = peer("intruder", {.token = "not-the-token"});
  ASSERT_TRUE(wait_until([&] {
    for (const auto& e : d->presence().snapshot().big_peer_history)
      if (e.kind == BigPeerConnectionEvent::Kind::auth_failed) return true;
    return false;
  }));
  EXPECT_FALSE(connected(d));
  const auto doc = d->small_peer_info().collect_now();
  EXPECT_NE(doc.find(R"("event":"auth_failed")"), std::string::npos) << doc;
  EXPECT_NE(doc.find("wrong app token"), std::string::npos) << doc;
}

TEST_F(BigPeerSyncTest, AForgedPeerKeyIsRefused) {
  TempDir keys;
  const auto victim = PeerIdentity::load_or_create(keys.path() / "victim.key");
  const auto attacker = PeerIdentity::load_or_create(keys.path() / "attacker.key");
  RawSyncClient client(big_peer_->port());
  const auto result = client.handshake(attacker, big_peer_->app_id(), big_peer_->app_token(), victim.peer_key());
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->ok);
  EXPECT_NE(result->reason.find("signature does not match"), std::string::npos) << result->reason;
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(BigPeerSyncTest, ASpoofedSmallPeerInfoDocumentIsRefusedAndLogged) {
  TempDir keys;
  const auto honest = PeerIdentity::load_or_create(keys.path() / "honest.key");
  const std::string other = PeerIdentity::load_or_create(keys.path() / "other.key").peer_key();
  RawSyncClient client(big_peer_->port());
  const auto result = client.handshake(honest, big_peer_->app_id(), big_peer_->app_token());
  ASSERT_TRUE(result && result->ok) << (result ? result->reason : "no answer");
  ASSERT_TRUE(client.establish());
  Document spoof{std::string(kSmallPeerInfoCollection),
                 other,
                 fmt::format(R"({{"_id":"{}","sequence":1}})", other),
                 {HlcTimestamp::from_parts(1, 0), honest.peer_key()},
                 false,
                 HlcTimestamp::from_parts(1, 0)};
  ASSERT_TRUE(client.send(sync::Docs{1, {spoof}}));
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_FALSE(at_big_peer(kSmallPeerInfoCollection, other).has_value());
  EXPECT_TRUE(wait_until([&] { return big_peer_->log_text().find("spoofed") != std::string::npos; })) << big_peer_->log_text();
  const auto metrics = big_peer_->get("/metrics").body;
  EXPECT_NE(metrics.find("smallpeer_rule_violations_total 1"), std::string::npos) << metrics;
}

TEST_F(BigPeerSyncTest, MalformedOversizedAndOutOfOrderFramesDropOnlyThatConnection) {
  auto good = peer("good");
  good->small_peer_info().set_interval(1s);
  good->small_peer_info().set_sync_scope(SyncScope::big_peer_only);
  good->small_peer_info().set_enabled(true);
  ASSERT_TRUE(wait_until([&] { return big_peer_sequence(good) > 0; }));

  std::string oversized(16, '\0');
  oversized[0] = 0x7f;  // claims a 2 GB frame
  oversized[4] = 5;
  TempDir keys;
  const auto key = PeerIdentity::load_or_create(keys.path() / "k.key");
  const std::vector<std::pair<std::string, std::string>> attacks = {
      {"garbage", "this is not a frame at all"},
      {"truncated", std::string("\x00\x00\x00\x09\x01\x00", 6)},
      {"oversized", oversized},
      {"docs before hello", sync::encode(sync::Docs{1, {}})},
      {"unknown type", std::string("\x00\x00\x00\x01\x63", 5)},
  };
  for (const auto& [name, bytes] : attacks) {
    RawSyncClient client(big_peer_->port());
    ASSERT_TRUE(client.send_raw(bytes)) << name;
    EXPECT_TRUE(client.closed_by_server()) << name;
  }
  {  // a second hello after a good handshake
    RawSyncClient client(big_peer_->port());
    ASSERT_TRUE(client.handshake(key, big_peer_->app_id(), big_peer_->app_token()));
    ASSERT_TRUE(client.establish());
    sync::Hello again;
    again.peer_key = key.peer_key();
    ASSERT_TRUE(client.send(again));
    EXPECT_TRUE(client.closed_by_server()) << "hello after the handshake";
  }
  // The server kept serving: HTTP answers and the honest peer keeps reporting.
  EXPECT_EQ(big_peer_->get("/api/v1/health", false).status, 200);
  const auto before = big_peer_sequence(good);
  EXPECT_TRUE(wait_until([&] { return big_peer_sequence(good) > before; }, 4s));
  EXPECT_TRUE(connected(good));
}

TEST_F(BigPeerSyncTest, AfterABigPeerRestartPeersReconnectAndTheLatestStateArrivesOnce) {
  std::vector<std::shared_ptr<Ditto>> fleet;
  for (int i = 0; i < 3; ++i) {
    auto d = peer(fmt::format("peer-{}", i));
    d->small_peer_info().set_interval(1s);
    d->small_peer_info().set_sync_scope(SyncScope::big_peer_only);
    d->small_peer_info().set_enabled(true);
    fleet.push_back(d);
  }
  for (auto& d : fleet) ASSERT_TRUE(wait_until([&] { return big_peer_sequence(d) > 0; }));
  const uint16_t port = big_peer_->port();
  const auto exit = big_peer_->stop();
  EXPECT_TRUE(exit.exited && exit.code == 0) << "SIGTERM is a clean shutdown";
  for (auto& d : fleet) ASSERT_TRUE(wait_until([&] { return !connected(d); }));
  std::this_thread::sleep_for(2s);  // the peers keep collecting while the Big Peer is away
  big_peer_ = std::make_unique<BigPeerProcess>(
      BigPeerProcessOptions{.data_dir = dir_.path() / "big-peer", .admin_token = big_peer_->admin_token(), .listen_port = port});
  for (auto& d : fleet) {
    ASSERT_TRUE(wait_until([&] { return connected(d); }, 40s)) << "reconnected";
    const auto local = static_cast<int64_t>(d->small_peer_info().sequence());
    EXPECT_TRUE(wait_until([&] { return big_peer_sequence(d) >= local; }, 5s)) << "latest state arrived";
  }
  const auto body = big_peer_->get("/api/v1/collections/__small_peer_info/documents?limit=100").body;
  size_t count = 0;
  for (size_t at = body.find("\"schema_version\""); at != std::string::npos; at = body.find("\"schema_version\"", at + 1))
    ++count;
  EXPECT_EQ(count, fleet.size()) << "one document per peer, no duplicates: " << body.substr(0, 400);
}

// Writes Small Peer Info reports until the device's local sequence is `last` (collect_now writes one).
void write_reports_until(const std::shared_ptr<Ditto>& d, uint64_t last) {
  while (d->small_peer_info().sequence() < last) d->small_peer_info().collect_now();
}

// Issue 17, finding 2: one AllPeers document with HLC 2^63 - 2 from an authenticated peer used to
// push the Big Peer's clock (and every peer's after it) to the top, so later reports were refused
// or lost their last-writer-wins ties, also after a restart. It is now refused on its own.
TEST_F(BigPeerSyncTest, AFarFutureDocumentIsRefusedAloneAndReportsKeepArriving) {
  auto reporter = peer("reporter");
  reporter->small_peer_info().set_interval(1h);  // this test writes each report itself
  reporter->small_peer_info().set_sync_scope(SyncScope::big_peer_only);
  reporter->small_peer_info().set_enabled(true);
  write_reports_until(reporter, 2);
  ASSERT_TRUE(wait_until([&] { return big_peer_sequence(reporter) >= 2; }));

  TempDir keys;
  const auto attacker = PeerIdentity::load_or_create(keys.path() / "attacker.key");
  RawSyncClient client(big_peer_->port());
  const auto result = client.handshake(attacker, big_peer_->app_id(), big_peer_->app_token());
  ASSERT_TRUE(result && result->ok) << (result ? result->reason : "no answer");
  ASSERT_TRUE(client.establish());
  const HlcTimestamp top{(uint64_t{1} << 63) - 2};
  const auto now_hlc = HlcTimestamp::from_parts(static_cast<uint64_t>(to_unix_millis(SystemClock().now())), 0);
  const Document poison{"orders", "poison", R"({"_id":"poison","n":1})", {top, attacker.peer_key()}, false, top};
  const Document fine{"orders", "fine", R"({"_id":"fine"})", {now_hlc, attacker.peer_key()}, false, now_hlc};
  ASSERT_TRUE(client.send(sync::Docs{1, {poison, fine}}));
  std::optional<sync::Ack> ack;
  for (int i = 0; i < 20 && !ack; ++i) {
    auto frame = client.receive();
    ASSERT_TRUE(frame.has_value()) << "the connection must stay up";
    if (auto* a = std::get_if<sync::Ack>(&*frame)) ack = *a;
  }
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->batch_id, 1u) << "the batch is acknowledged, or the sender would resend it forever";
  ASSERT_EQ(ack->refused.size(), 1u);
  EXPECT_EQ(ack->refused[0].collection, "orders");
  EXPECT_EQ(ack->refused[0].id, "poison");
  EXPECT_TRUE(ack->refused[0].reason.starts_with("clock_ahead:")) << ack->refused[0].reason;
  EXPECT_TRUE(wait_until([&] { return at_big_peer("orders", "fine").has_value(); })) << "the rest of the batch is stored";
  EXPECT_FALSE(at_big_peer("orders", "poison").has_value());
  EXPECT_NE(big_peer_->get("/metrics").body.find("smallpeer_documents_refused_total{reason=\"clock_ahead\"} 1"),
            std::string::npos)
      << big_peer_->get("/metrics").body;
  // The session keeps its standing: another batch is acknowledged as usual.
  ASSERT_TRUE(client.send(sync::Docs{2, {}}));
  bool second = false;
  for (int i = 0; i < 20 && !second; ++i) {
    auto frame = client.receive();
    ASSERT_TRUE(frame.has_value());
    if (auto* a = std::get_if<sync::Ack>(&*frame)) second = a->batch_id == 2 && a->refused.empty();
  }
  EXPECT_TRUE(second);

  // The fleet's reports keep arriving: sequences 3..14, then more after a Big Peer restart.
  ASSERT_TRUE(wait_until([&] { return reporter->get("orders", "fine").has_value(); }));
  write_reports_until(reporter, 14);
  EXPECT_TRUE(wait_until([&] { return big_peer_sequence(reporter) == 14; }, 10s)) << big_peer_sequence(reporter);
  EXPECT_FALSE(reporter->get("orders", "poison").has_value());
  const uint16_t port = big_peer_->port();
  big_peer_->stop();
  big_peer_ = std::make_unique<BigPeerProcess>(
      BigPeerProcessOptions{.data_dir = dir_.path() / "big-peer", .admin_token = big_peer_->admin_token(), .listen_port = port});
  ASSERT_TRUE(wait_until([&] { return connected(reporter); }, 40s));
  write_reports_until(reporter, 17);
  EXPECT_TRUE(wait_until([&] { return big_peer_sequence(reporter) == 17; }, 10s)) << big_peer_sequence(reporter);
}

// A device whose wall clock is years ahead cannot stamp versions anyone accepts: the Big Peer
// refuses its documents (the device logs why), and the rest of the fleet is unharmed.
TEST_F(BigPeerSyncTest, ADeviceWhoseClockIsYearsAheadIsRefusedAndTheFleetIsUnharmed) {
  auto honest = peer("honest");
  honest->small_peer_info().set_interval(1h);
  honest->small_peer_info().set_sync_scope(SyncScope::big_peer_only);
  honest->small_peer_info().set_enabled(true);
  DittoConfig config;
  config.persistence_dir = dir_.path() / "ahead";
  config.device_name = "ahead";
  config.identity = {IdentityConfig::Kind::online_playground, big_peer_->app_id(), big_peer_->app_token()};
  config.clock = std::make_shared<OffsetClock>(std::chrono::hours(24 * 365 * 5));
  auto ahead = Ditto::open(config);
  peers_.push_back(ahead);
  ahead->set_transport_config(big_peer_->transport_json());
  ahead->start_sync();
  ahead->upsert("orders", R"({"_id":"from-the-future"})");
  ASSERT_TRUE(wait_until([&] { return connected(ahead); }));
  ASSERT_TRUE(wait_until([&] {
    return big_peer_->get("/metrics").body.find("smallpeer_documents_refused_total{reason=\"clock_ahead\"} 0") ==
           std::string::npos;
  })) << "refused and counted";
  EXPECT_FALSE(at_big_peer("orders", "from-the-future").has_value());
  EXPECT_TRUE(connected(ahead)) << "refusing a document does not end the session";
  write_reports_until(honest, 14);
  EXPECT_TRUE(wait_until([&] { return big_peer_sequence(honest) == 14; }, 10s)) << big_peer_sequence(honest);
  EXPECT_FALSE(honest->get("orders", "from-the-future").has_value());
  // The device learns why, in its own log.
  const auto out = dir_.path() / "ahead-logs.jsonl.gz";
  ahead->export_logs(out, {});
  std::ifstream in(out, std::ios::binary);
  const auto text = test_support::gunzip(std::string(std::istreambuf_iterator<char>(in), {}));
  EXPECT_NE(text.find("refused document orders/from-the-future: clock_ahead"), std::string::npos) << text.substr(0, 2000);
}

// A device whose clock is years behind still reports (its versions are old, never ahead), and it
// refuses what looks years ahead to it rather than jumping its clock.
TEST_F(BigPeerSyncTest, ADeviceWhoseClockIsYearsBehindStillReports) {
  auto honest = peer("honest");
  honest->upsert("orders", R"({"_id":"current"})");
  ASSERT_TRUE(wait_until([&] { return at_big_peer("orders", "current").has_value(); }));
  DittoConfig config;
  config.persistence_dir = dir_.path() / "behind";
  config.device_name = "behind";
  config.identity = {IdentityConfig::Kind::online_playground, big_peer_->app_id(), big_peer_->app_token()};
  config.clock = std::make_shared<OffsetClock>(-std::chrono::hours(24 * 365 * 5));
  auto behind = Ditto::open(config);
  peers_.push_back(behind);
  behind->small_peer_info().set_interval(1h);
  behind->small_peer_info().set_sync_scope(SyncScope::big_peer_only);
  behind->small_peer_info().set_enabled(true);
  behind->set_transport_config(big_peer_->transport_json());
  behind->start_sync();
  behind->upsert("orders", R"({"_id":"from-the-past"})");
  ASSERT_TRUE(wait_until([&] { return connected(behind); }));
  write_reports_until(behind, 14);
  EXPECT_TRUE(wait_until([&] { return big_peer_sequence(behind) == 14; }, 10s)) << big_peer_sequence(behind);
  EXPECT_TRUE(wait_until([&] { return at_big_peer("orders", "from-the-past").has_value(); }));
  EXPECT_TRUE(wait_until([&] { return honest->get("orders", "from-the-past").has_value(); }));
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(behind->get("orders", "current").has_value()) << "years ahead of its clock: refused, not absorbed";
}

// Issue 17, finding 7, against the Big Peer: BigPeerOnly after LocalPeerOnly sends the earlier
// documents to the Big Peer only; narrowing stops it, widening again sends what was kept back.
TEST_F(BigPeerSyncTest, WideningToBigPeerOnlySendsEarlierDocumentsToTheBigPeerOnly) {
  auto gateway = peer("gateway", {.big_peer = true, .lan_listen = true});
  auto neighbour = peer("neighbour", {.big_peer = false, .lan_connect = {gateway}});
  gateway->set_collection_scope("telemetry", SyncScope::local_peer_only);
  neighbour->set_collection_scope("telemetry", SyncScope::all_peers);
  gateway->upsert("telemetry", R"({"_id":"early"})");
  gateway->upsert("orders", R"({"_id":"marker-1"})");
  ASSERT_TRUE(wait_until([&] { return at_big_peer("orders", "marker-1").has_value(); }));
  ASSERT_TRUE(wait_until([&] { return neighbour->get("orders", "marker-1").has_value(); }));
  EXPECT_FALSE(at_big_peer("telemetry", "early").has_value());
  gateway->set_collection_scope("telemetry", SyncScope::big_peer_only);
  EXPECT_TRUE(wait_until([&] { return at_big_peer("telemetry", "early").has_value(); })) << "widened: sent now";
  gateway->set_collection_scope("telemetry", SyncScope::local_peer_only);
  gateway->upsert("telemetry", R"({"_id":"while-narrow"})");
  gateway->upsert("orders", R"({"_id":"marker-2"})");
  ASSERT_TRUE(wait_until([&] { return at_big_peer("orders", "marker-2").has_value(); }));
  ASSERT_TRUE(wait_until([&] { return neighbour->get("orders", "marker-2").has_value(); }));
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(at_big_peer("telemetry", "while-narrow").has_value()) << "narrowing never leaks";
  gateway->set_collection_scope("telemetry", SyncScope::big_peer_only);
  EXPECT_TRUE(wait_until([&] { return at_big_peer("telemetry", "while-narrow").has_value(); }));
  gateway->upsert("orders", R"({"_id":"marker-3"})");
  ASSERT_TRUE(wait_until([&] { return neighbour->get("orders", "marker-3").has_value(); }));
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(neighbour->get("telemetry", "early").has_value()) << "BigPeerOnly never reaches a small peer";
  EXPECT_FALSE(neighbour->get("telemetry", "while-narrow").has_value());
}

TEST_F(BigPeerSyncTest, OverWssTheCertificateMustVerify) {
  TempDir certs("sync-certs");
  const auto cert = certs.path() / "cert.pem";
  test_support::write_self_signed_certificate(cert, certs.path() / "key.pem");
  BigPeerProcess tls_peer(
      BigPeerProcessOptions{.data_dir = dir_.path() / "tls-big-peer", .tls_cert = cert, .tls_key = certs.path() / "key.pem"});
  ASSERT_TRUE(tls_peer.sync_url().starts_with("wss://"));
  const auto open_peer = [&](const std::string& name, const std::string& ca_file) {
    DittoConfig config;
    config.persistence_dir = dir_.path() / name;
    config.identity = {IdentityConfig::Kind::online_playground, tls_peer.app_id(), tls_peer.app_token()};
    auto d = Ditto::open(config);
    d->set_transport_config(
        ca_file.empty() ? tls_peer.transport_json()
                        : fmt::format(R"({{"big_peer":{{"urls":["{}"],"ca_file":"{}"}}}})", tls_peer.sync_url(), ca_file));
    d->small_peer_info().set_sync_scope(SyncScope::big_peer_only);
    d->small_peer_info().set_enabled(true);
    d->start_sync();
    peers_.push_back(d);
    return d;
  };
  auto trusting = open_peer("trusting", cert.string());
  auto untrusting = open_peer("untrusting", "");  // the system trust store does not know our certificate
  ASSERT_TRUE(wait_until([&] { return connected(trusting); })) << "wss with the right CA connects";
  EXPECT_TRUE(wait_until([&] {
    return tls_peer.get("/api/v1/collections/__small_peer_info/documents/" + trusting->peer_key()).status == 200;
  })) << "and its document arrives";
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(connected(untrusting)) << "an unverifiable certificate is never accepted";
  EXPECT_EQ(tls_peer.get("/api/v1/collections/__small_peer_info/documents/" + untrusting->peer_key()).status, 404);
}

}  // namespace
