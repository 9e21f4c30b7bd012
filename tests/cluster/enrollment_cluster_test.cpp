// Device enrollment across Big Peer nodes sharing one PostgreSQL database: a device revoked through
// node 1's API while connected to node 2 loses its session there and is refused by node 2 (and by
// node 1) until it is allowed again; both nodes list one audit log.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ditto/ditto.h"
#include "support/big_peer_process.h"
#include "support/postgres_server.h"
#include "support/small_peer.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace smallpeer;
using namespace std::chrono_literals;
using test_support::BigPeerProcess;
using test_support::PostgresServer;
using test_support::TempDir;
using test_support::wait_until;
namespace http = boost::beast::http;

namespace {

/// A refused device backs off (doubling to 30 s): long enough for it to come back after that.
constexpr auto kReconnectWait = 45s;

class EnrollmentClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    UserLogOutput::instance().set_console_enabled(false);
    url_ = PostgresServer::shared().create_database();
    for (const char* name : {"node-1", "node-2"}) {
      nodes_.push_back(std::make_unique<BigPeerProcess>(test_support::cluster_node_options(dir_.path(), name, url_)));
    }
  }
  void TearDown() override {
    for (auto& p : peers_) p->close();
  }

  std::shared_ptr<Ditto> peer(const std::string& name, const BigPeerProcess& node) {
    auto d = test_support::open_small_peer(node, dir_.path(), name, node.transport_json());
    peers_.push_back(d);
    return d;
  }

  static size_t revoked_refusals(const std::shared_ptr<Ditto>& d) {
    size_t n = 0;
    for (const auto& e : d->presence().snapshot().big_peer_history)
      if (e.kind == BigPeerConnectionEvent::Kind::auth_failed && e.reason.find("device revoked") != std::string::npos) ++n;
    return n;
  }

  static bool at(const BigPeerProcess& node, const std::string& id) {
    return node.get("/api/v1/collections/cars/documents/" + id).status == 200;
  }

  TempDir dir_{"enrollment-cluster"};
  std::string url_;
  std::vector<std::unique_ptr<BigPeerProcess>> nodes_;
  std::vector<std::shared_ptr<Ditto>> peers_;
};

TEST_F(EnrollmentClusterTest, ARevocationThroughNodeOneIsEnforcedByNodeTwo) {
  auto& node1 = *nodes_[0];
  auto& node2 = *nodes_[1];
  auto d = peer("truck", node2);
  d->upsert("cars", R"({"_id":"before"})");
  ASSERT_TRUE(wait_until([&] { return at(node1, "before"); }, 30s));
  // Node 1 knows the device's enrollment though it never saw the device.
  ASSERT_EQ(node1.get("/api/v1/enrollments/" + d->peer_key()).status, 200);

  const auto revoked = test_support::http_request(node1.port(), http::verb::post,
                                                  "/api/v1/enrollments/" + d->peer_key() + "/revoke", node1.admin_token());
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  // Node 2 closes the live session (told through the database) and refuses every reconnection.
  ASSERT_TRUE(wait_until([&] { return revoked_refusals(d) >= 1; }, kReconnectWait));
  d->upsert("cars", R"({"_id":"while-revoked"})");
  ASSERT_TRUE(wait_until([&] { return revoked_refusals(d) >= 2; }, kReconnectWait));
  EXPECT_FALSE(at(node1, "while-revoked"));
  const auto metrics = node2.get("/metrics", false).body;
  EXPECT_NE(metrics.find("smallpeer_revoked_sessions_closed_total 1"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find(R"(smallpeer_enrollment_refusals_total{reason="revoked"} 0)"), std::string::npos) << metrics;

  // Both nodes list the one audit log.
  const auto audit = node2.get("/api/v1/audit");
  EXPECT_NE(audit.body.find(R"("action":"device.revoke")"), std::string::npos) << audit.body;

  ASSERT_EQ(test_support::http_request(node2.port(), http::verb::post, "/api/v1/enrollments/" + d->peer_key() + "/allow",
                                       node2.admin_token())
                .status,
            200);
  EXPECT_TRUE(wait_until([&] { return at(node1, "while-revoked"); }, kReconnectWait));
}

}  // namespace
