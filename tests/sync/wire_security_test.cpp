// Issue 17 (findings 1, 3, 5), as an attacker on the network would try them against real
// processes: a Big Peer (`smallpeer big-peer`) and a small peer's LAN listener
// (smallpeer_test_lan_peer).
//   - No secret on the wire: whatever HELLO a stranger sends (right or wrong app id, protocol 1 or
//     2), no byte sequence of the app token ever comes back, and no AUTH before its HELLO checked
//     out; a wrong token is refused, a replayed AUTH is refused, and the Big Peer proves itself.
//   - Nothing allocated for strangers: 200 connections sending 4 MiB HELLOs (Big Peer) or 4-byte
//     headers announcing 4 MiB (LAN) leave the process's memory flat while it keeps serving.
//   - Accept back-off: out of descriptors, a listener waits instead of spinning, and recovers.
// How these were checked against the code before this change (protocol 1): the token scans found
// the token in the AUTH frame every listener sent to any HELLO; the Big Peer went from ~19 to
// ~1,600 MiB and the LAN peer from ~27 to ~830 MiB; the LAN peer's accept loop burnt ~140% of a
// core at the descriptor limit (see the branch's commit messages for the measured runs).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "support/big_peer_process.h"
#include "support/lan_peer_process.h"
#include "support/raw_sync_client.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace smallpeer;
using namespace std::chrono_literals;
using test_support::BigPeerProcess;
using test_support::BigPeerProcessOptions;
using test_support::LanPeerProcess;
using test_support::RawSyncClient;
using test_support::RawTransport;
using test_support::TempDir;
using test_support::wait_until;

namespace {

constexpr const char* kAppId = "wire-test-app";
// Distinctive, so a match in the received bytes can only be the token itself.
constexpr const char* kToken = "app-token-that-must-never-cross-the-wire-4f1c9e";

class WireSecurityTest : public ::testing::Test {
 protected:
  BigPeerProcess& big_peer(std::vector<std::string> extra_args = {}) {
    big_peer_ = std::make_unique<BigPeerProcess>(BigPeerProcessOptions{
        .data_dir = dir_.path() / "big-peer", .app_id = kAppId, .app_token = kToken, .extra_args = std::move(extra_args)});
    return *big_peer_;
  }
  LanPeerProcess& lan_peer(const std::string& extra_lan_json = {}) {
    lan_peer_ = std::make_unique<LanPeerProcess>(dir_.path() / "lan-peer", kAppId, kToken, extra_lan_json);
    return *lan_peer_;
  }
  PeerIdentity key(const std::string& name) {
    std::filesystem::create_directories(dir_.path() / "keys");
    return PeerIdentity::load_or_create(dir_.path() / "keys" / (name + ".key"));
  }

  // A full, honest handshake (right app id and token) is accepted: the listener still serves. It
  // may take a retry: the attack comes from the same address, so its per-address cap applies too.
  void expect_serves(uint16_t port, RawTransport transport) {
    std::string last = "no answer";
    EXPECT_TRUE(wait_until([&] {
      try {
        RawSyncClient client(port, 5s, transport);
        const auto result = client.handshake(key("honest"), kAppId, kToken);
        if (result && result->ok) return true;
        last = result ? result->reason : "no answer";
      } catch (const std::exception& e) {
        last = e.what();
      }
      return false;
    })) << last;
  }

  TempDir dir_{"wire-security"};
  std::unique_ptr<BigPeerProcess> big_peer_;
  std::unique_ptr<LanPeerProcess> lan_peer_;
};

// Everything the listener on `port` sends to a stranger: sending `hello` (if any), waiting a
// moment, then ending its side, so the listener closes and every frame it sent can be read.
struct StrangerResult {
  std::vector<sync::Frame> frames;
  std::string bytes;  // every byte received
};

StrangerResult try_as_stranger(uint16_t port, RawTransport transport, const std::optional<sync::Hello>& hello) {
  StrangerResult r;
  RawSyncClient client(port, 10s, transport);
  if (hello) client.send(*hello);
  std::this_thread::sleep_for(700ms);  // ample time for the listener to answer
  client.finish_sending();
  while (auto frame = client.receive()) r.frames.push_back(*frame);
  r.bytes = client.received();
  return r;
}

template <typename T>
size_t count(const std::vector<sync::Frame>& frames) {
  return static_cast<size_t>(
      std::count_if(frames.begin(), frames.end(), [](const auto& f) { return std::holds_alternative<T>(f); }));
}

void expect_no_secret_to_strangers(uint16_t port, RawTransport transport, const PeerIdentity& stranger) {
  {
    SCOPED_TRACE("no HELLO at all");
    const auto r = try_as_stranger(port, transport, std::nullopt);
    EXPECT_EQ(r.bytes.find(kToken), std::string::npos) << "the app token crossed the wire";
    ASSERT_EQ(r.frames.size(), 1u) << "nothing but the listener's HELLO before ours";
    EXPECT_TRUE(std::holds_alternative<sync::Hello>(r.frames[0]));
  }
  struct Case {
    std::string name;
    std::string app_id;
    uint16_t version;
    bool acceptable;  // the HELLO checks out, so an AUTH (without the token) is the right answer
  };
  // Protocol 1 first: that is what today's peers speak, and what a stranger would try.
  const std::vector<Case> cases = {{"protocol version 1, right app id", kAppId, 1, false},
                                   {"protocol version 1, wrong app id", "some-other-app", 1, false},
                                   {"right app id", kAppId, sync::kProtocolVersion, true},
                                   {"wrong app id", "some-other-app", sync::kProtocolVersion, false}};
  for (const auto& c : cases) {
    auto hello = RawSyncClient::make_hello(stranger, c.app_id);
    hello.protocol_version = c.version;
    const auto r = try_as_stranger(port, transport, hello);
    SCOPED_TRACE(c.name);
    EXPECT_EQ(r.bytes.find(kToken), std::string::npos) << "the app token crossed the wire";
    if (r.frames.size() < 2) {
      ADD_FAILURE() << "no answer to our HELLO";
      continue;
    }
    EXPECT_TRUE(std::holds_alternative<sync::Hello>(r.frames[0]));
    if (c.acceptable) {
      EXPECT_EQ(count<sync::Auth>(r.frames), 1u) << "its proof, once our HELLO checked out";
    } else {
      EXPECT_EQ(count<sync::Auth>(r.frames), 0u) << "no AUTH at all for a HELLO that does not check out";
      EXPECT_EQ(count<sync::AuthResult>(r.frames), 1u);
      if (!std::holds_alternative<sync::AuthResult>(r.frames[1])) {
        ADD_FAILURE() << "the answer to our HELLO is a " << sync::frame_name(r.frames[1]) << ", not a refusal";
        continue;
      }
      const auto& refusal = std::get<sync::AuthResult>(r.frames[1]);
      EXPECT_FALSE(refusal.ok);
      EXPECT_NE(
          refusal.reason.find(c.version != sync::kProtocolVersion ? "protocol version 1 is not supported" : "unknown app id"),
          std::string::npos)
          << refusal.reason;
    }
  }
}

TEST_F(WireSecurityTest, NoSecretCrossesTheWireToAStrangerOnEitherTransport) {
  const auto stranger = key("stranger");
  {
    SCOPED_TRACE("Big Peer /sync");
    expect_no_secret_to_strangers(big_peer().port(), RawTransport::websocket, stranger);
  }
  {
    SCOPED_TRACE("small peer LAN listener");
    expect_no_secret_to_strangers(lan_peer().port(), RawTransport::lan, stranger);
  }
}

TEST_F(WireSecurityTest, AWrongTokenIsRefusedOnBothTransportsAndBothSidesProveThemselves) {
  for (const auto& [port, transport] :
       {std::pair{big_peer().port(), RawTransport::websocket}, {lan_peer().port(), RawTransport::lan}}) {
    SCOPED_TRACE(transport == RawTransport::lan ? "LAN" : "Big Peer");
    {
      RawSyncClient client(port, 5s, transport);
      const auto result = client.handshake(key("guesser"), kAppId, "a-guessed-token");
      ASSERT_TRUE(result.has_value());
      EXPECT_FALSE(result->ok);
      EXPECT_EQ(result->reason, "wrong app token");
      EXPECT_TRUE(client.closed_by_server());
      EXPECT_FALSE(client.server_proves("a-guessed-token")) << "the listener's proof does not verify with a wrong token";
      EXPECT_EQ(client.received().find(kToken), std::string::npos);
    }
    RawSyncClient client(port, 5s, transport);
    const auto result = client.handshake(key("honest"), kAppId, kToken);
    ASSERT_TRUE(result && result->ok) << (result ? result->reason : "no answer");
    EXPECT_TRUE(client.server_proves(kToken)) << "the listener proved the token (and its key) to us";
    EXPECT_EQ(client.received().find(kToken), std::string::npos);
  }
}

TEST_F(WireSecurityTest, AReplayedAuthFromAnEarlierSessionIsRefused) {
  const auto peer = key("recorded");
  for (const auto& [port, transport] :
       {std::pair{big_peer().port(), RawTransport::websocket}, {lan_peer().port(), RawTransport::lan}}) {
    SCOPED_TRACE(transport == RawTransport::lan ? "LAN" : "Big Peer");
    // An eavesdropper records an honest session: our HELLO and AUTH.
    const auto hello = RawSyncClient::make_hello(peer, kAppId);
    sync::Auth recorded;
    {
      RawSyncClient honest(port, 5s, transport);
      ASSERT_TRUE(honest.exchange_hellos(hello));
      recorded = honest.make_auth(peer, kToken);
      const auto result = honest.send_auth(recorded);
      ASSERT_TRUE(result && result->ok) << (result ? result->reason : "no answer");
    }
    // ...and replays both, byte for byte, without the token or the key.
    RawSyncClient replayer(port, 5s, transport);
    ASSERT_TRUE(replayer.exchange_hellos(hello));
    const auto result = replayer.send_auth(recorded);
    ASSERT_TRUE(result.has_value());
    EXPECT_FALSE(result->ok) << "the listener's fresh nonce makes the old AUTH worthless";
    EXPECT_TRUE(replayer.closed_by_server());
  }
}

// The Big Peer reads a message's 4-byte length prefix first, then the rest: a frame is read whole
// however the WebSocket message is cut into fragments, and a message shorter than the prefix, or
// one whose prefix claims more than it holds, is refused by the decoder and closes the session.
// (These pass with a whole-message read too: they guard the two-step read against regressions.
// Beast fills the 4 bytes across fragments itself, so the channel's own loop is a guard no test
// here reaches; the claim's cap on what is reserved shows in no result either.)
TEST_F(WireSecurityTest, AFrameInWebSocketFragmentsIsReadWholeAndAShortOrLyingOneIsRefused) {
  auto& bp = big_peer();
  const std::string hello = sync::encode(RawSyncClient::make_hello(key("fragments"), kAppId));
  for (const std::vector<size_t>& cuts : std::vector<std::vector<size_t>>{{1}, {1, 2, 3}, {3, 4}, {4}, {2, 9, 30}}) {
    SCOPED_TRACE(::testing::PrintToString(cuts));
    RawSyncClient client(bp.port());
    ASSERT_TRUE(client.send_fragmented(hello, cuts));
    auto first = client.receive();
    ASSERT_TRUE(first && std::holds_alternative<sync::Hello>(*first)) << "the Big Peer's HELLO";
    auto second = client.receive();
    ASSERT_TRUE(second && std::holds_alternative<sync::Auth>(*second)) << "its AUTH: our HELLO was read whole";
  }
  std::string lying = hello;
  lying[0] = '\x7f';  // claims ~2 GB in a message of a few hundred bytes
  for (const std::string& bad : {std::string("\x00\x01", 2), std::string(), lying}) {
    SCOPED_TRACE(bad.size());
    RawSyncClient client(bp.port());
    ASSERT_TRUE(client.send_raw(bad));
    EXPECT_TRUE(client.closed_by_server());
  }
  expect_serves(bp.port(), RawTransport::websocket);
}

TEST_F(WireSecurityTest, TwoHundredFourMegabyteHellosLeaveTheBigPeersMemoryFlat) {
  auto& bp = big_peer();
  const auto before = test_support::resident_kib(bp.pid());
  sync::Hello hello = RawSyncClient::make_hello(key("flood"), kAppId);
  hello.device_name.assign(sync::kMaxFrameBytes - 200, 'x');
  const std::string frame = sync::encode(hello);
  ASSERT_LE(frame.size(), sync::kMaxFrameBytes + 4);
  std::vector<std::unique_ptr<RawSyncClient>> flood;
  for (int i = 0; i < 200; ++i) {
    flood.push_back(std::make_unique<RawSyncClient>(bp.port(), 2s));
    flood.back()->send_raw(frame);  // refused once its header is read: the write may fail, that is fine
  }
  const auto during = test_support::resident_kib(bp.pid());
  expect_serves(bp.port(), RawTransport::websocket);
  EXPECT_EQ(bp.get("/api/v1/health", false).status, 200);
  EXPECT_LT(during, before + 100 * 1024) << "RSS went from " << before / 1024 << " to " << during / 1024 << " MiB";
  std::cout << "Big Peer RSS: " << before / 1024 << " MiB before, " << during / 1024 << " MiB with 200 4 MiB HELLOs\n";
}

TEST_F(WireSecurityTest, TwoHundredAnnouncedFrameHeadersLeaveTheLanPeersMemoryFlat) {
  auto& lan = lan_peer();
  const auto before = test_support::resident_kib(lan.pid());
  boost::asio::io_context io;
  std::vector<boost::asio::ip::tcp::socket> sockets;
  const std::string header("\x00\x3f\xff\xff", 4);  // announces a frame of 4 MiB - 1 bytes, sends nothing more
  for (int i = 0; i < 200; ++i) {
    sockets.emplace_back(io);
    boost::system::error_code ec;
    sockets.back().connect({boost::asio::ip::make_address("127.0.0.1"), lan.port()}, ec);
    if (!ec) boost::asio::write(sockets.back(), boost::asio::buffer(header), ec);
  }
  std::this_thread::sleep_for(1s);  // let the listener read every header
  const auto during = test_support::resident_kib(lan.pid());
  expect_serves(lan.port(), RawTransport::lan);
  EXPECT_LT(during, before + 100 * 1024) << "RSS went from " << before / 1024 << " to " << during / 1024 << " MiB";
  std::cout << "LAN peer RSS: " << before / 1024 << " MiB before, " << during / 1024 << " MiB with 200 4-byte headers\n";
}

TEST_F(WireSecurityTest, HandshakesOverTheCapsAreClosedAtOnceAndCounted) {
  auto& bp = big_peer({"--max-handshakes-per-address", "8"});
  std::vector<std::unique_ptr<RawSyncClient>> idle;
  for (int i = 0; i < 8; ++i) idle.push_back(std::make_unique<RawSyncClient>(bp.port(), 2s));
  // The ninth from the same address is closed at once (the WebSocket upgrade itself fails).
  EXPECT_THROW(RawSyncClient(bp.port(), 2s), std::exception);
  EXPECT_TRUE(wait_until([&] {
    return bp.get("/metrics").body.find("smallpeer_sync_handshakes_refused_total 1") != std::string::npos;
  })) << bp.get("/metrics").body;
  idle.clear();  // their places come back once they are gone
  EXPECT_TRUE(wait_until([&] {
    try {
      RawSyncClient client(bp.port(), 5s);
      const auto result = client.handshake(key("honest"), kAppId, kToken);
      return result && result->ok;
    } catch (const std::exception&) {
      return false;
    }
  }));

  auto& lan = lan_peer(R"("max_handshakes_per_address":4)");
  std::vector<std::unique_ptr<RawSyncClient>> lan_idle;
  for (int i = 0; i < 4; ++i) lan_idle.push_back(std::make_unique<RawSyncClient>(lan.port(), 2s, RawTransport::lan));
  RawSyncClient over(lan.port(), 2s, RawTransport::lan);
  EXPECT_FALSE(over.receive().has_value()) << "closed at once, not even a HELLO";
  EXPECT_TRUE(over.closed_by_server());
  lan_idle.clear();
  EXPECT_TRUE(wait_until([&] {
    RawSyncClient client(lan.port(), 5s, RawTransport::lan);
    const auto result = client.handshake(key("honest"), kAppId, kToken);
    return result && result->ok;
  }));
}

// Fills the descriptors of process `pid` (limit lowered with prlimit) with idle connections to
// `port`, measures the CPU it burns for 2 s, then frees them and checks it accepts again.
void expect_accept_backs_off(pid_t pid, uint16_t port, RawTransport transport, const PeerIdentity& honest) {
  rlimit limit{};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, nullptr, &limit), 0);
  const size_t open_now = static_cast<size_t>(std::distance(
      std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"), std::filesystem::directory_iterator()));
  rlimit lowered{open_now + 40, limit.rlim_max};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &lowered, nullptr), 0);
  boost::asio::io_context io;
  std::vector<boost::asio::ip::tcp::socket> sockets;
  for (int i = 0; i < 120; ++i) {
    sockets.emplace_back(io);
    boost::system::error_code ec;
    sockets.back().connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);  // the backlog takes them
  }
  std::this_thread::sleep_for(500ms);  // the listener is now at its limit
  const auto cpu_before = test_support::cpu_time(pid);
  const auto wall_before = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(2s);
  const auto cpu = test_support::cpu_time(pid) - cpu_before;
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - wall_before);
  std::cout << "CPU at the descriptor limit: " << cpu.count() << " ms in " << wall.count() << " ms\n";
  EXPECT_LT(cpu.count(), wall.count() * 30 / 100) << "the accept loop spins";
  sockets.clear();
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &limit, nullptr), 0);
  EXPECT_TRUE(wait_until(
      [&] {
        try {
          RawSyncClient client(port, 3s, transport);
          const auto result = client.handshake(honest, kAppId, kToken);
          return result && result->ok;
        } catch (const std::exception&) {
          return false;
        }
      },
      15s))
      << "accepts again once descriptors are free";
}

TEST_F(WireSecurityTest, AtTheDescriptorLimitEveryListenerBacksOffAndRecovers) {
  {
    SCOPED_TRACE("small peer LAN listener");
    // Caps high enough that the idle connections hold descriptors rather than being closed at once.
    auto& lan = lan_peer(R"("max_handshakes":1000,"max_handshakes_per_address":1000)");
    expect_accept_backs_off(lan.pid(), lan.port(), RawTransport::lan, key("honest"));
  }
  {
    SCOPED_TRACE("Big Peer");
    auto& bp = big_peer();
    expect_accept_backs_off(bp.pid(), bp.port(), RawTransport::websocket, key("honest"));
  }
}

}  // namespace
