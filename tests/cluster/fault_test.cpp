// Several Big Peer nodes surviving their database (docs/DEPLOY.md, "Database outages"): a real
// PostgreSQL stopped and started again, real `smallpeer big-peer` nodes (each reaching PostgreSQL
// through its own TCP proxy, so one node can be cut from it), and real small peers listing every
// node in big_peer.urls. The CI versions are short; scripts/cluster_faults.sh runs them longer
// (SMALLPEER_FAULT_DEVICES, SMALLPEER_FAULT_ROUNDS) and collects the figures they print.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <random>

#include "ditto/ditto.h"
#include "support/big_peer_process.h"
#include "support/postgres_server.h"
#include "support/tcp_proxy.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace smallpeer;
using namespace std::chrono_literals;
using test_support::BigPeerProcess;
using test_support::PostgresServer;
using test_support::TcpProxy;
using test_support::TempDir;
using test_support::wait_until;
namespace http = boost::beast::http;

namespace {

// Generous waits for states (the machine may be loaded); the figures the targets are about are
// printed as FAULT-FIGURE lines for scripts/cluster_faults.sh, never asserted as times.
constexpr auto kStateWait = 60s;

size_t env_count(const char* name, size_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && std::atoi(value) > 0 ? static_cast<size_t>(std::atoi(value)) : fallback;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    UserLogOutput::instance().set_console_enabled(false);
    url_ = server().create_database();
    database_ = url_.substr(url_.rfind('/') + 1);
  }
  void TearDown() override {
    for (auto& p : peers_) p->close();
    server().start_again();  // a failed test must not leave the server down for the next
  }

  static PostgresServer& server() { return PostgresServer::shared(); }

  // Nodes on the database; with `proxied`, each through its own TCP proxy (proxies_[i]) so it can be cut.
  void start_nodes(size_t count, bool proxied = false) {
    for (size_t i = 0; i < count; ++i) {
      uint16_t port = server().port();
      if (proxied) {
        proxies_.push_back(std::make_unique<TcpProxy>(server().port()));
        port = proxies_.back()->port();
      }
      nodes_.push_back(std::make_unique<BigPeerProcess>(test_support::cluster_node_options(
          dir_.path(), fmt::format("node-{}", i + 1), fmt::format("postgresql://postgres@127.0.0.1:{}/{}", port, database_))));
    }
  }

  // A device listing every node, reporting its Small Peer Info every second.
  std::shared_ptr<Ditto> device(const std::string& name, const std::string& extra_transport = "") {
    DittoConfig config;
    config.persistence_dir = dir_.path() / name;
    config.device_name = name;
    config.identity = {IdentityConfig::Kind::online_playground, nodes_[0]->app_id(), nodes_[0]->app_token()};
    auto d = Ditto::open(config);
    std::string urls;
    for (const auto& n : nodes_) urls += fmt::format("{}\"{}\"", urls.empty() ? "" : ",", n->sync_url());
    d->set_transport_config(fmt::format(R"({{"big_peer":{{"urls":[{}]}}{}}})", urls, extra_transport));
    auto& spi = d->small_peer_info();
    spi.set_sync_scope(SyncScope::big_peer_only);
    spi.set_interval(1s);
    d->start_sync();
    spi.set_enabled(true);
    peers_.push_back(d);
    return d;
  }

  void fleet(size_t count) {
    for (size_t i = 0; i < count; ++i) device(fmt::format("device-{:03}", i));
  }

  // Every device's SPI sequence as stored in the database (peer key -> sequence).
  std::map<std::string, uint64_t> stored_sequences() {
    std::map<std::string, uint64_t> out;
    for (const auto& [id, seq] : server().query(
             database_, "SELECT id, (body::json->>'sequence') FROM system_documents WHERE collection = '__small_peer_info'"))
      out[id] = std::strtoull(seq.c_str(), nullptr, 10);
    return out;
  }

  // Checks no stored sequence went backwards since `last` and updates it.
  void check_monotonic(std::map<std::string, uint64_t>& last) {
    std::map<std::string, uint64_t> now;
    try {
      now = stored_sequences();
    } catch (const std::exception&) {
      return;  // the database is down: nothing to read
    }
    for (const auto& [key, seq] : now) {
      EXPECT_GE(seq, last[key]) << "the stored report of " << key << " went backwards";
      last[key] = std::max(last[key], seq);
    }
  }

  // True once every device's stored sequence is above `floor` (its value at some earlier moment).
  bool all_reported_since(const std::map<std::string, uint64_t>& floor) {
    std::map<std::string, uint64_t> now;
    try {
      now = stored_sequences();
    } catch (const std::exception&) {
      return false;
    }
    for (const auto& d : peers_) {
      const auto it = now.find(d->peer_key());
      const auto before = floor.find(d->peer_key());
      if (it == now.end() || (before != floor.end() && it->second <= before->second)) return false;
    }
    return true;
  }

  static int readyz(const BigPeerProcess& node) {
    try {
      return test_support::http_get(node.port(), "/readyz").status;
    } catch (const std::exception&) {
      return 0;
    }
  }

  static uint64_t metric(const BigPeerProcess& node, const std::string& name) {
    const auto body = node.get("/metrics").body;
    const auto at = body.find("\n" + name + " ");
    if (at == std::string::npos) return UINT64_MAX;
    return std::strtoull(body.c_str() + at + name.size() + 2, nullptr, 10);
  }

  // The catch-all at the handler boundary was never reached, and every node is still running.
  void expect_nodes_healthy() {
    for (const auto& n : nodes_) {
      EXPECT_TRUE(n->running()) << n->log_text();
      if (!n->running()) continue;
      EXPECT_EQ(metric(*n, "smallpeer_unexpected_exceptions_total"), 0u) << n->log_text();
    }
  }

  size_t sessions_on(const BigPeerProcess& node) { return static_cast<size_t>(metric(node, "smallpeer_connections")); }

  TempDir dir_{"cluster-fault-test"};
  std::string url_, database_;
  std::vector<std::unique_ptr<TcpProxy>> proxies_;
  std::vector<std::unique_ptr<BigPeerProcess>> nodes_;
  std::vector<std::shared_ptr<Ditto>> peers_;
};

TEST_F(FaultTest, NodesLiveThroughDatabaseOutagesUnderAFleet) {
  const size_t devices = env_count("SMALLPEER_FAULT_DEVICES", 30);
  const size_t rounds = env_count("SMALLPEER_FAULT_ROUNDS", 2);
  start_nodes(2);
  fleet(devices);
  std::map<std::string, uint64_t> last;
  ASSERT_TRUE(wait_until([&] { return all_reported_since({}); }, kStateWait)) << "not every device reported";
  // One session per device, spread over both nodes.
  ASSERT_TRUE(wait_until([&] { return sessions_on(*nodes_[0]) + sessions_on(*nodes_[1]) == devices; }, kStateWait));
  fmt::print("FAULT-FIGURE spread devices={} node1={} node2={}\n", devices, sessions_on(*nodes_[0]), sessions_on(*nodes_[1]));
  for (size_t round = 1; round <= rounds; ++round) {
    check_monotonic(last);
    server().stop_for_outage();
    const auto down_at = std::chrono::steady_clock::now();
    // Both nodes notice and stop taking sessions.
    for (const auto& n : nodes_) EXPECT_TRUE(wait_until([&] { return readyz(*n) == 503; }, kStateWait)) << n->log_text();
    while (seconds_since(down_at) < 5.0) std::this_thread::sleep_for(100ms);
    server().start_again();
    const auto up_at = std::chrono::steady_clock::now();
    const auto floor = stored_sequences();
    for (const auto& n : nodes_) EXPECT_TRUE(wait_until([&] { return readyz(*n) == 200; }, kStateWait)) << n->log_text();
    const double ready_s = seconds_since(up_at);
    bool all = false;
    while (!(all = all_reported_since(floor)) && seconds_since(up_at) < 60) {
      check_monotonic(last);
      std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(all) << "not every device reported again after the database returned";
    fmt::print("FAULT-FIGURE outage round={} ready_after_s={:.2f} all_reporting_after_s={:.2f}\n", round, ready_s,
               seconds_since(up_at));
    check_monotonic(last);
    expect_nodes_healthy();
  }
  // No acknowledged report lost: each device's newest report reaches the database.
  for (const auto& d : peers_) d->small_peer_info().set_interval(std::chrono::hours(1));
  std::this_thread::sleep_for(2s);
  std::map<std::string, uint64_t> latest;
  for (const auto& d : peers_) latest[d->peer_key()] = d->small_peer_info().sequence();
  EXPECT_TRUE(wait_until(
      [&] {
        const auto stored = stored_sequences();
        for (const auto& [key, seq] : latest)
          if (!stored.contains(key) || stored.at(key) < seq) return false;
        return true;
      },
      kStateWait));
  check_monotonic(last);
  expect_nodes_healthy();
}

TEST_F(FaultTest, DevicesFailOverWhenANodeIsKilledUnderLoad) {
  const size_t devices = env_count("SMALLPEER_FAULT_DEVICES", 30);
  start_nodes(2);
  fleet(devices);
  ASSERT_TRUE(wait_until([&] { return sessions_on(*nodes_[0]) + sessions_on(*nodes_[1]) == devices; }, kStateWait));
  const size_t moved = sessions_on(*nodes_[0]);
  ASSERT_EQ(::kill(nodes_[0]->pid(), SIGKILL), 0);
  const auto killed_at = std::chrono::steady_clock::now();
  EXPECT_EQ(nodes_[0]->stop().signal, SIGKILL);
  EXPECT_TRUE(wait_until([&] { return sessions_on(*nodes_[1]) == devices; }, kStateWait));
  fmt::print("FAULT-FIGURE failover devices_moved={} all_on_node2_after_s={:.2f}\n", moved, seconds_since(killed_at));
  const auto floor = stored_sequences();
  EXPECT_TRUE(wait_until([&] { return all_reported_since(floor); }, kStateWait));
  nodes_.erase(nodes_.begin());
  expect_nodes_healthy();
}

TEST_F(FaultTest, ANodeCutFromTheDatabaseStopsAcceptingAndAcknowledging) {
  const size_t devices = env_count("SMALLPEER_FAULT_DEVICES", 30) / 3 + 2;
  start_nodes(2, true);
  fleet(devices);
  ASSERT_TRUE(wait_until([&] { return sessions_on(*nodes_[0]) + sessions_on(*nodes_[1]) == devices; }, kStateWait));
  ASSERT_GT(sessions_on(*nodes_[0]), 0u) << "no device started on node 1";
  proxies_[0]->cut();
  EXPECT_TRUE(wait_until([&] { return readyz(*nodes_[0]) == 503; }, kStateWait)) << nodes_[0]->log_text();
  EXPECT_EQ(readyz(*nodes_[1]), 200);
  // Cut off, node 1 commits nothing, so it acknowledges nothing...
  const uint64_t committed = metric(*nodes_[0], "smallpeer_spi_reports_total");
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(metric(*nodes_[0], "smallpeer_spi_reports_total"), committed);
  // ...refuses new sessions (503 before any session exists)...
  const auto upgrade = test_support::raw_exchange(
      nodes_[0]->port(),
      "GET /sync HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  EXPECT_NE(upgrade.find("503"), std::string::npos) << upgrade;
  EXPECT_NE(upgrade.find("Retry-After"), std::string::npos) << upgrade;
  // ...and after its grace sends its devices to node 2, where every one reports.
  const auto cut_at = std::chrono::steady_clock::now();
  EXPECT_TRUE(wait_until([&] { return sessions_on(*nodes_[1]) == devices; }, kStateWait)) << nodes_[0]->log_text();
  const auto floor = stored_sequences();
  EXPECT_TRUE(wait_until([&] { return all_reported_since(floor); }, kStateWait));
  fmt::print("FAULT-FIGURE cut all_on_node2_after_s={:.2f}\n", seconds_since(cut_at));
  proxies_[0]->restore();
  EXPECT_TRUE(wait_until([&] { return readyz(*nodes_[0]) == 200; }, kStateWait)) << nodes_[0]->log_text();
  expect_nodes_healthy();
}

TEST_F(FaultTest, LogUploadProgressIsAlikeOnBothNodes) {
  start_nodes(2);
  // One device on node 1 only, uploading slowly.
  DittoConfig config;
  config.persistence_dir = dir_.path() / "uploader";
  config.device_name = "uploader";
  config.identity = {IdentityConfig::Kind::online_playground, nodes_[0]->app_id(), nodes_[0]->app_token()};
  auto d = Ditto::open(config);
  peers_.push_back(d);
  // Lines gzip cannot shrink much, so the bundle takes several seconds at the paced rate.
  std::mt19937_64 random(23);
  for (int i = 0; i < 3000; ++i)
    d->log(LogLevel::info, "app", fmt::format("line {} {:016x}{:016x}{:016x}{:016x}", i, random(), random(), random(), random()));
  d->set_transport_config(
      fmt::format(R"({{"big_peer":{{"urls":["{}"]}},"log_upload":{{"chunk_bytes":1024,"max_bytes_per_second":4096}}}})",
                  nodes_[0]->sync_url()));
  d->start_sync();
  ASSERT_TRUE(wait_until([&] { return sessions_on(*nodes_[0]) == 1; }, kStateWait));
  const auto created = test_support::http_request(nodes_[1]->port(), http::verb::post,
                                                  fmt::format("/api/v1/devices/{}/log-requests", d->peer_key()),
                                                  std::string("cluster-admin"), "{}");
  ASSERT_EQ(created.status, 202) << created.body;
  simdjson::dom::parser parser;
  std::string_view id_view;
  ASSERT_FALSE(parser.parse(created.body).value()["id"].get(id_view));
  const std::string id(id_view);
  const auto bytes = [&](const BigPeerProcess& node) -> int64_t {
    const auto r = node.get("/api/v1/log-requests/" + id);
    simdjson::dom::parser p;
    int64_t n = -1;
    if (r.status != 200 || p.parse(r.body).value()["bytes_received"].get(n)) return -1;
    return n;
  };
  const auto state = [&](const BigPeerProcess& node) {
    const auto r = node.get("/api/v1/log-requests/" + id);
    return r.body.find(R"("state":"uploading")") != std::string::npos ? std::string("uploading") : r.body;
  };
  // While node 1 receives the upload, node 2 shows it uploading beyond the first chunks (it used
  // to stay at the first one).
  EXPECT_TRUE(wait_until([&] { return state(*nodes_[1]) == "uploading" && bytes(*nodes_[1]) >= 8 * 1024; }, kStateWait))
      << "node 1: " << bytes(*nodes_[0]) << " node 2: " << bytes(*nodes_[1]) << " " << state(*nodes_[1]);
  // At the end both show the same, complete request.
  EXPECT_TRUE(wait_until(
      [&] {
        return nodes_[0]->get("/api/v1/log-requests/" + id).body.find(R"("state":"ready")") != std::string::npos &&
               nodes_[1]->get("/api/v1/log-requests/" + id).body.find(R"("state":"ready")") != std::string::npos &&
               bytes(*nodes_[0]) == bytes(*nodes_[1]);
      },
      kStateWait));
  expect_nodes_healthy();
}

}  // namespace

namespace {

TEST_F(FaultTest, SigtermDrainsANodeAndItsDevicesMoveAtOnce) {
  const size_t devices = env_count("SMALLPEER_FAULT_DEVICES", 30) / 3 + 2;
  start_nodes(2);
  fleet(devices);
  ASSERT_TRUE(wait_until([&] { return sessions_on(*nodes_[0]) + sessions_on(*nodes_[1]) == devices; }, kStateWait));
  const size_t moved = sessions_on(*nodes_[0]);
  const auto term_at = std::chrono::steady_clock::now();
  const auto exit = nodes_[0]->stop();  // SIGTERM
  EXPECT_TRUE(exit.exited) << nodes_[0]->log_text();
  EXPECT_EQ(exit.code, 0) << nodes_[0]->log_text();
  EXPECT_TRUE(wait_until([&] { return sessions_on(*nodes_[1]) == devices; }, kStateWait));
  fmt::print("FAULT-FIGURE drain devices_moved={} all_on_node2_after_s={:.2f}\n", moved, seconds_since(term_at));
  // The devices were told why: ERROR moving, which they record as the disconnect reason.
  bool told = false;
  for (const auto& d : peers_)
    for (const auto& e : d->presence().snapshot().big_peer_history) told = told || e.reason.find("moving") != std::string::npos;
  EXPECT_TRUE(told || moved == 0);
  nodes_.erase(nodes_.begin());
  expect_nodes_healthy();
}

}  // namespace
