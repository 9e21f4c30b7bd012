// Several Big Peer nodes on one PostgreSQL database (bigpeer/cluster.h): two real `smallpeer
// big-peer` processes share a fresh database of a real PostgreSQL server, small peers in this
// process connect to one node or the other. Also the --postgres refusals: a bad URL, an unreachable
// server and a newer schema each get a clear error and create nothing.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>

#include <random>

#include "ditto/ditto.h"
#include "support/big_peer_process.h"
#include "support/gunzip.h"
#include "support/postgres_server.h"
#include "support/small_peer.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace smallpeer;
using namespace std::chrono_literals;
using test_support::BigPeerProcess;
using test_support::BigPeerProcessOptions;
using test_support::gunzip;
using test_support::PostgresServer;
using test_support::TempDir;
using test_support::wait_until;
namespace http = boost::beast::http;

namespace {

/// Longer than the documented bound (bigpeer/cluster.h: kNodeTimeout, 5 s, after the last
/// heartbeat) with room for a busy machine; the tests wait for the state, they do not time it.
constexpr auto kOnlineStateWait = 30s;

class TwoNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    UserLogOutput::instance().set_console_enabled(false);
    url_ = PostgresServer::shared().create_database();
    node1_ = start_node("node-1");
    node2_ = start_node("node-2");
  }
  void TearDown() override {
    for (auto& p : peers_) p->close();
  }

  std::unique_ptr<BigPeerProcess> start_node(const std::string& name) {
    return std::make_unique<BigPeerProcess>(test_support::cluster_node_options(dir_.path(), name, url_));
  }

  // A small peer syncing with `node` only.
  std::shared_ptr<Ditto> peer(const std::string& name, const BigPeerProcess& node) {
    auto d = test_support::open_small_peer(node, dir_.path(), name, node.transport_json());
    peers_.push_back(d);
    return d;
  }

  // "true", "false", or why neither, for `d` as `node`'s API shows it.
  static std::string online(const BigPeerProcess& node, const std::shared_ptr<Ditto>& d) {
    const auto r = node.get("/api/v1/devices/" + d->peer_key());
    if (r.status != 200) return "HTTP " + std::to_string(r.status) + " " + r.body;
    if (r.body.find(R"("online":true)") != std::string::npos) return "true";
    if (r.body.find(R"("online":false)") != std::string::npos) return "false";
    return r.body;
  }

  // A field of a log request as `node` shows it, as JSON text.
  static std::string field(const BigPeerProcess& node, const std::string& id, const char* name) {
    const auto r = node.get("/api/v1/log-requests/" + id);
    if (r.status != 200) return "HTTP " + std::to_string(r.status);
    simdjson::dom::parser parser;
    simdjson::dom::element value;
    if (parser.parse(r.body).value()[name].get(value)) return "missing";
    return simdjson::minify(value);
  }

  TempDir dir_{"two-node-test"};
  std::string url_;
  std::unique_ptr<BigPeerProcess> node1_, node2_;
  std::vector<std::shared_ptr<Ditto>> peers_;
};

TEST_F(TwoNodeTest, EveryNodeShowsEachDevicesOnlineState) {
  auto a = peer("kiosk-a", *node1_);
  auto b = peer("kiosk-b", *node2_);
  for (const auto* node : {node1_.get(), node2_.get()}) {
    EXPECT_TRUE(wait_until([&] { return online(*node, a) == "true"; }, kOnlineStateWait)) << online(*node, a);
    EXPECT_TRUE(wait_until([&] { return online(*node, b) == "true"; }, kOnlineStateWait)) << online(*node, b);
  }
  // The fleet list and its online filter agree on both nodes.
  for (const auto* node : {node1_.get(), node2_.get()}) {
    const auto list = node->get("/api/v1/devices?online=true").body;
    EXPECT_NE(list.find(a->peer_key()), std::string::npos) << list;
    EXPECT_NE(list.find(b->peer_key()), std::string::npos) << list;
  }
  // A peer that goes away is offline on both nodes, with its disconnect time.
  b->stop_sync();
  for (const auto* node : {node1_.get(), node2_.get()}) {
    EXPECT_TRUE(wait_until([&] { return online(*node, b) == "false"; }, kOnlineStateWait)) << online(*node, b);
    const auto device = node->get("/api/v1/devices/" + b->peer_key()).body;
    EXPECT_EQ(device.find(R"("last_disconnected_at":null)"), std::string::npos) << device;
    EXPECT_EQ(online(*node, a), "true");
  }
}

TEST_F(TwoNodeTest, ADocumentWrittenThroughOneNodeReachesAPeerOnTheOther) {
  auto writer = peer("writer", *node1_);
  auto reader = peer("reader", *node2_);
  ASSERT_TRUE(
      wait_until([&] { return online(*node2_, writer) == "true" && online(*node1_, reader) == "true"; }, kOnlineStateWait));
  // Both are connected and idle: only node 1's NOTIFY can make node 2's session send it on.
  writer->upsert("orders", R"({"_id":"o-17","qty":3})");
  EXPECT_TRUE(wait_until([&] { return reader->get("orders", "o-17").has_value(); }, 20s)) << node2_->log_text();
  writer->remove("orders", "o-17");
  EXPECT_TRUE(wait_until([&] { return !reader->get("orders", "o-17").has_value(); }, 20s));
}

TEST_F(TwoNodeTest, ALogRequestCreatedOnNodeOneReachesAPeerOnNodeTwo) {
  auto d = peer("kiosk-remote", *node2_);
  ASSERT_TRUE(wait_until([&] { return online(*node1_, d) == "true"; }, kOnlineStateWait)) << online(*node1_, d);
  const std::string marker = fmt::format("marker line for the two-node test {}", std::random_device{}());
  d->log(LogLevel::info, "app", marker);

  const auto created =
      test_support::http_request(node1_->port(), http::verb::post, fmt::format("/api/v1/devices/{}/log-requests", d->peer_key()),
                                 std::string("cluster-admin"), R"({"min_level":"info"})");
  ASSERT_EQ(created.status, 202) << created.body;
  simdjson::dom::parser parser;
  std::string_view id_view;
  ASSERT_FALSE(parser.parse(created.body).value()["id"].get(id_view)) << created.body;
  const std::string id(id_view);

  // Node 2 pushes it (LISTEN/NOTIFY), the peer uploads to node 2, and node 1 sees it ready.
  ASSERT_TRUE(wait_until([&] { return field(*node1_, id, "state") == R"("ready")"; }, 30s))
      << field(*node1_, id, "state") << "\n--- node 2 ---\n"
      << node2_->log_text();
  EXPECT_EQ(field(*node2_, id, "state"), R"("ready")");
  EXPECT_NE(field(*node1_, id, "delivered_at"), "null");
  // Either node serves the bundle, which is in the database.
  for (const auto* node : {node1_.get(), node2_.get()}) {
    const auto download = node->get(fmt::format("/api/v1/log-requests/{}/download", id));
    ASSERT_EQ(download.status, 200) << download.body;
    EXPECT_EQ(download.content_type, "application/gzip");
    EXPECT_NE(gunzip(download.body).find(marker), std::string::npos);
  }
}

// Issue 17, finding 6: the per-device quota on device-initiated bundles is one quota for the
// cluster. A device sends its one bundle of the day through node 1, then moves to node 2, which
// refuses the next one (counted from the database, not from what node 2 saw itself).
TEST_F(TwoNodeTest, BothNodesEnforceOneDeviceLogBundleQuota) {
  for (auto* node : {&node1_, &node2_}) node->reset();
  const auto start = [&](const std::string& name) {
    BigPeerProcessOptions options;
    options.data_dir = dir_.path() / name;
    options.admin_token = "cluster-admin";
    options.extra_args = {"--postgres", url_, "--device-log-bundles-per-day", "1"};
    return std::make_unique<BigPeerProcess>(options);
  };
  node1_ = start("node-1");
  node2_ = start("node-2");
  auto d = peer("kiosk-quota", *node1_);
  const auto first = d->send_logs(LogFilter{});
  ASSERT_TRUE(wait_until([&] { return field(*node1_, first, "state") == R"("ready")"; }, 30s))
      << field(*node1_, first, "state") << "\n"
      << node1_->log_text();
  d->close();
  peers_.clear();
  d = peer("kiosk-quota", *node2_);  // the same persistence directory: the same peer key
  const auto second = d->send_logs(LogFilter{});
  const std::string refused = R"(smallpeer_log_bundles_refused_total{reason="quota"} 1)";
  ASSERT_TRUE(wait_until([&] { return node2_->get("/metrics").body.find(refused) != std::string::npos; }, 30s))
      << node2_->log_text();
  EXPECT_EQ(field(*node2_, second, "state"), "HTTP 404") << "nothing is stored for a refused offer";
  EXPECT_EQ(field(*node1_, second, "state"), "HTTP 404");
  EXPECT_NE(node2_->log_text().find("log bundle quota exceeded: this device sent 1 bundles in the last 24 h (at most 1)"),
            std::string::npos);
}

TEST_F(TwoNodeTest, APeerMovesToNodeTwoAfterNodeOneIsKilled) {
  auto moving = peer("kiosk-moving", *node1_);
  auto stranded = peer("kiosk-stranded", *node1_);
  auto steady = peer("kiosk-steady", *node2_);
  for (const auto& d : {moving, stranded, steady}) {
    ASSERT_TRUE(wait_until([&] { return online(*node2_, d) == "true"; }, kOnlineStateWait)) << online(*node2_, d);
  }
  // Node 1 dies without a word: no shutdown, no cleanup.
  ASSERT_EQ(::kill(node1_->pid(), SIGKILL), 0);
  EXPECT_EQ(node1_->stop().signal, SIGKILL);
  // Its peers' online state goes with it (within kNodeTimeout), the other node's peer stays.
  stranded->stop_sync();  // it has nowhere else to go
  EXPECT_TRUE(wait_until([&] { return online(*node2_, moving) == "false"; }, kOnlineStateWait)) << online(*node2_, moving);
  EXPECT_TRUE(wait_until([&] { return online(*node2_, stranded) == "false"; }, kOnlineStateWait)) << online(*node2_, stranded);
  EXPECT_EQ(online(*node2_, steady), "true");
  // The load balancer would now send it to node 2: it reconnects there and is online again.
  moving->set_transport_config(node2_->transport_json());
  EXPECT_TRUE(wait_until([&] { return online(*node2_, moving) == "true"; }, kOnlineStateWait)) << online(*node2_, moving);
  // A node started afterwards sees the same fleet state.
  auto node3 = start_node("node-3");
  EXPECT_TRUE(wait_until([&] { return online(*node3, moving) == "true"; }, kOnlineStateWait)) << online(*node3, moving);
  EXPECT_EQ(online(*node3, stranded), "false");
  EXPECT_EQ(online(*node3, steady), "true");
}

TEST_F(TwoNodeTest, ANodeCarriesOnAfterTheDatabaseDropsItsConnections) {
  auto d = peer("kiosk-cut", *node1_);
  ASSERT_TRUE(wait_until([&] { return online(*node2_, d) == "true"; }, kOnlineStateWait)) << online(*node2_, d);
  // What a database restart or an operator's pg_terminate_backend does to every node.
  const std::string name = url_.substr(url_.rfind('/') + 1);
  PostgresServer::shared().execute(
      name,
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> "
      "pg_backend_pid()");
  // The nodes reconnect: the peer's writes are stored, both APIs answer, and a log request created
  // on node 2 still reaches the peer on node 1 (LISTEN again after the reconnect).
  d->upsert("notes", R"({"_id":"after-the-cut","text":"still here"})");
  EXPECT_TRUE(wait_until([&] { return node2_->get("/api/v1/collections/notes/documents/after-the-cut").status == 200; }, 30s))
      << node1_->log_text();
  EXPECT_TRUE(wait_until([&] { return online(*node2_, d) == "true" && online(*node1_, d) == "true"; }, kOnlineStateWait));
  std::string id;
  ASSERT_TRUE(wait_until(
      [&] {
        const auto created = test_support::http_request(node2_->port(), http::verb::post,
                                                        fmt::format("/api/v1/devices/{}/log-requests", d->peer_key()),
                                                        std::string("cluster-admin"), "{}");
        if (created.status != 202) return false;
        simdjson::dom::parser parser;
        std::string_view id_view;
        if (parser.parse(created.body).value()["id"].get(id_view)) return false;
        id = std::string(id_view);
        return true;
      },
      30s));
  EXPECT_TRUE(wait_until([&] { return field(*node2_, id, "state") == R"("ready")"; }, 30s))
      << field(*node2_, id, "state") << "\n--- node 1 ---\n"
      << node1_->log_text();
}

// --postgres refusals: the process exits 2 with the reason and creates no data directory.
class PostgresRefusalTest : public ::testing::Test {
 protected:
  // Runs `smallpeer big-peer --postgres url`; returns its output, expecting it to fail.
  std::string refused(const std::string& url) {
    BigPeerProcessOptions options;
    options.data_dir = dir_.path() / "never-created";
    options.extra_args = {"--postgres", url};
    options.startup_timeout = 20s;
    try {
      BigPeerProcess process(options);
    } catch (const std::exception& e) {
      EXPECT_FALSE(std::filesystem::exists(options.data_dir)) << "the data directory was created";
      return e.what();
    }
    ADD_FAILURE() << "big-peer started with --postgres " << url;
    return "";
  }
  TempDir dir_{"postgres-refusal-test"};
};

TEST_F(PostgresRefusalTest, AUrlThatDoesNotParseIsNamed) {
  const auto output = refused("postgresql://user:secret@[::1");
  EXPECT_NE(output.find("does not parse"), std::string::npos) << output;
  EXPECT_EQ(output.find("secret"), std::string::npos) << "the password leaked: " << output;
}

TEST_F(PostgresRefusalTest, AnUnreachableServerIsNamed) {
  // A port nothing listens on: PostgreSQL's own port plus one is not it, so ask the kernel.
  const auto port = PostgresServer::shared().port();
  const auto output = refused(fmt::format("postgresql://postgres:secret@127.0.0.1:{}/nothing_here", port == 1 ? 2 : 1));
  EXPECT_NE(output.find("cannot connect to PostgreSQL at postgresql://postgres@127.0.0.1:"), std::string::npos) << output;
  EXPECT_EQ(output.find("secret"), std::string::npos) << "the password leaked: " << output;
}

TEST_F(PostgresRefusalTest, ASchemaNewerThanTheBinaryIsRefusedAndLeftAlone) {
  auto& server = PostgresServer::shared();
  const std::string url = server.create_database();
  const std::string name = url.substr(url.rfind('/') + 1);
  // A database a newer Big Peer migrated.
  server.execute(name, "CREATE TABLE schema_migrations(version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
  server.execute(name, "INSERT INTO schema_migrations(version) VALUES (1), (99)");
  const auto output = refused(url);
  EXPECT_NE(output.find("has schema version 99, newer than the 2 this version of SmallPeer reads"), std::string::npos) << output;
  // Nothing was migrated or created in it.
  EXPECT_THROW(server.execute(name, "SELECT 1 FROM user_documents"), std::runtime_error);
}

TEST_F(PostgresRefusalTest, AnOlderSchemaIsMigratedAtStartAndRecorded) {
  auto& server = PostgresServer::shared();
  const std::string url = server.create_database();
  const std::string name = url.substr(url.rfind('/') + 1);
  // Starts a Big Peer on the database (its own data directory) and stops it cleanly.
  const auto start_and_stop = [&](const std::string& data_dir) {
    BigPeerProcessOptions options;
    options.data_dir = dir_.path() / data_dir;
    options.extra_args = {"--postgres", url};
    BigPeerProcess process(options);
    EXPECT_EQ(process.stop().code, 0);
  };
  start_and_stop("first");
  // Every version is recorded once; a second start finds nothing to do and starts.
  server.execute(name,
                 "DO $$ BEGIN IF (SELECT count(*) FROM schema_migrations) <> 2 OR (SELECT count(DISTINCT version) "
                 "FROM schema_migrations) <> 2 THEN RAISE EXCEPTION 'versions not recorded once'; END IF; END $$");
  start_and_stop("second");
  // Put the database back to version 1 (its system stored_at index, no version 2), with a row.
  server.execute(name, "CREATE INDEX system_documents_by_stored_at ON system_documents(collection, stored_at)");
  server.execute(name, "DELETE FROM schema_migrations WHERE version = 2");
  server.execute(name,
                 "INSERT INTO system_documents(collection, id, body, hlc, origin, stored_at) "
                 "VALUES ('__small_peer_info', 'pk1', '{\"_id\":\"pk1\"}', 5, 'pk1', 5)");
  start_and_stop("third");
  server.execute(name,
                 "DO $$ BEGIN IF (SELECT count(*) FROM schema_migrations WHERE version = 2) <> 1 THEN "
                 "RAISE EXCEPTION 'version 2 not recorded'; END IF; "
                 "IF to_regclass('system_documents_by_stored_at') IS NOT NULL THEN "
                 "RAISE EXCEPTION 'the version 1 index is still there'; END IF; "
                 "IF (SELECT count(*) FROM system_documents WHERE id = 'pk1') <> 1 THEN "
                 "RAISE EXCEPTION 'the row was lost'; END IF; END $$");
}

}  // namespace
