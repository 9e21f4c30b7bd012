// A fleet spread evenly over the nodes of a cluster (docs/DEPLOY.md, "Spreading sessions"): three
// real `smallpeer big-peer` nodes on one real PostgreSQL and a simulated fleet of real small peers
// (tools/fleet.h, what `smallpeer fleet` runs) listing all three URLs. Hashing peer keys spreads
// them binomially; the nodes' balance (bigpeer/cluster.h) must bring every node within 10% of
// even, and give a node that was killed and restarted its share back. The test checks counts only
// (with generous waits for a loaded machine); the times it took are printed as SPREAD-FIGURE lines
// for docs/DEPLOY.md and scripts/cluster_faults.sh (SMALLPEER_FAULT_SPREAD_DEVICES: fleet size).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "fleet.h"
#include "log/log.h"
#include "support/big_peer_process.h"
#include "support/postgres_server.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace smallpeer;
using namespace std::chrono_literals;
using test_support::BigPeerProcess;
using test_support::PostgresServer;
using test_support::TempDir;
using test_support::wait_until;

namespace {

// Upper bounds for states on a loaded machine; the test never asserts how long anything took.
constexpr auto kStateWait = 90s;
// The target: every node within 10% of an even share.
constexpr double kTolerance = 0.10;

size_t env_count(const char* name, size_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && std::atoi(value) > 0 ? static_cast<size_t>(std::atoi(value)) : fallback;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

class SpreadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    UserLogOutput::instance().set_console_enabled(false);
    url_ = PostgresServer::shared().create_database();
  }

  std::unique_ptr<BigPeerProcess> start_node(size_t index, uint16_t port = 0) {
    auto options = test_support::cluster_node_options(dir_.path(), fmt::format("node-{}", index + 1), url_);
    options.listen_port = port;
    return std::make_unique<BigPeerProcess>(options);
  }

  // Authenticated sessions on `node` (its smallpeer_connections gauge); 0 if it does not answer.
  static size_t sessions_on(const BigPeerProcess& node) {
    try {
      const auto body = node.get("/metrics").body;
      const auto at = body.find("\nsmallpeer_connections ");
      return at == std::string::npos ? 0 : std::strtoull(body.c_str() + at + 23, nullptr, 10);
    } catch (const std::exception&) {
      return 0;
    }
  }

  // Sessions on each running node, in order.
  std::vector<size_t> counts() const {
    std::vector<size_t> out;
    for (const auto& n : nodes_)
      if (n->running()) out.push_back(sessions_on(*n));
    return out;
  }

  // True when `devices` sessions are up in all, each node's within kTolerance of an even share.
  static bool even(const std::vector<size_t>& c, size_t devices) {
    size_t total = 0;
    for (const size_t n : c) total += n;
    const double share = static_cast<double>(devices) / static_cast<double>(c.size());
    return total == devices && std::all_of(c.begin(), c.end(), [&](size_t n) {
             return std::abs(static_cast<double>(n) - share) <= kTolerance * share;
           });
  }

  static std::string show(const std::vector<size_t>& c) {
    std::string out;
    for (const size_t n : c) out += fmt::format("{}{}", out.empty() ? "" : "/", n);
    return out;
  }

  // Waits until the running nodes hold the fleet evenly; prints the time it took as `figure`.
  void expect_even(size_t devices, const std::string& figure, std::chrono::steady_clock::time_point since) {
    std::vector<size_t> last;
    const bool settled = wait_until(
        [&] {
          last = counts();
          return even(last, devices);
        },
        kStateWait);
    EXPECT_TRUE(settled) << "sessions per node " << show(last) << " of " << devices << " are not within 10% of even";
    fmt::print("SPREAD-FIGURE {} devices={} nodes={} per_node={} settled_after_s={:.1f}\n", figure, devices, last.size(),
               show(last), seconds_since(since));
  }

  TempDir dir_{"cluster-spread-test"};
  std::string url_;
  std::vector<std::unique_ptr<BigPeerProcess>> nodes_;
};

TEST_F(SpreadTest, ThreeNodesHoldEvenSharesAndARestartedNodeGetsItsShareBack) {
  const size_t devices = env_count("SMALLPEER_FAULT_SPREAD_DEVICES", 300);
  for (size_t i = 0; i < 3; ++i) nodes_.push_back(start_node(i));

  tools::FleetOptions options;
  for (const auto& n : nodes_) options.big_peer_urls.push_back(n->sync_url());
  options.app_id = nodes_[0]->app_id();
  options.app_token = nodes_[0]->app_token();
  options.peers = devices;
  options.data_dir = dir_.path() / "fleet";
  options.log_rate = 0;  // sessions are what is measured; reports stay at the default interval
  tools::Fleet fleet(options);
  const auto started = std::chrono::steady_clock::now();
  fleet.start();

  // Every device has one session somewhere: the hashed spread, before or while the balance acts.
  std::vector<size_t> first;
  ASSERT_TRUE(wait_until(
      [&] {
        first = counts();
        size_t total = 0;
        for (const size_t n : first) total += n;
        return total == devices;
      },
      kStateWait))
      << "sessions per node " << show(first) << " of " << devices;
  fmt::print("SPREAD-FIGURE connected devices={} per_node={} after_s={:.1f}\n", devices, show(first), seconds_since(started));
  expect_even(devices, "initial", started);

  // It stays even: the balance does not oscillate (several shed rounds later, still even).
  std::this_thread::sleep_for(4s);  // twice kShedPause (bigpeer/cluster.h)
  expect_even(devices, "stable", started);

  // A node killed: its devices fail over to the other two, which then hold them evenly.
  const uint16_t port = nodes_[2]->port();
  ASSERT_EQ(::kill(nodes_[2]->pid(), SIGKILL), 0);
  const auto killed_at = std::chrono::steady_clock::now();
  EXPECT_EQ(nodes_[2]->stop().signal, SIGKILL);
  expect_even(devices, "after_kill", killed_at);

  // Restarted on its port: nothing sends devices back by itself (they do not drift back), so it is
  // the balance that gives it its share again.
  nodes_[2] = start_node(2, port);
  const auto restarted_at = std::chrono::steady_clock::now();
  expect_even(devices, "after_restart", restarted_at);
  // And the balance goes on until no node holds more than its limit (fair share plus 2%).
  std::vector<size_t> last;
  const size_t fair = (devices + 2) / 3, limit = fair + std::max<size_t>(1, fair / 50);
  EXPECT_TRUE(wait_until(
      [&] {
        last = counts();
        return even(last, devices) && *std::max_element(last.begin(), last.end()) <= limit;
      },
      kStateWait))
      << "sessions per node " << show(last) << "; limit " << limit;
  fmt::print("SPREAD-FIGURE after_restart_limit devices={} per_node={} limit={} settled_after_s={:.1f}\n", devices, show(last),
             limit, seconds_since(restarted_at));
  fleet.stop();
}

}  // namespace
