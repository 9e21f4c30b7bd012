// The simulated fleet against the real engine: peers open with Small Peer Info enabled
// (BigPeerOnly), look like different devices, write app log lines into their engine logs, keep
// their identities across reopen and release everything on stop. No Big Peer: the URL points at
// a closed loopback port (tests that need a Big Peer live with the Big Peer's tests).
#include "fleet.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "common/error.h"
#include "fleet_command.h"
#include "support/temp_dir.h"
#include "support/wait.h"
#include "sync/channel.h"

using namespace smallpeer;
using namespace smallpeer::tools;
using namespace std::chrono_literals;
using test_support::TempDir;
using test_support::wait_until;

namespace {

// A loopback port nobody listens on: bound, read back and released.
uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

FleetOptions fleet_options(size_t peers, const std::filesystem::path& data_dir = {}) {
  FleetOptions o;
  o.big_peer_urls = {fmt::format("ws://127.0.0.1:{}/sync", closed_port())};
  o.app_id = "fleet-test-app";
  o.app_token = "fleet-test-token";
  o.peers = peers;
  o.data_dir = data_dir;
  o.log_rate = 0;  // tests that want log lines ask for them
  return o;
}

// What the engine says about a Big Peer URL it refuses.
std::string url_error(const std::string& url) {
  try {
    sync::parse_websocket_url(url);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << url << " was expected to be refused";
  return "(accepted)";
}

std::string str(simdjson::ondemand::value v) {
  return std::string(std::string_view(v.get_string().value()));
}

// Every line of a peer's engine log files, oldest file first.
std::vector<std::string> engine_log_lines(const std::filesystem::path& peer_dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(peer_dir / "logs"))
    if (entry.path().extension() == ".jsonl") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::vector<std::string> lines;
  for (const auto& f : files) {
    std::ifstream in(f);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override { UserLogOutput::instance().set_console_enabled(false); }
  TempDir dir_{"fleet-test"};
};

TEST(FleetProfile, DeterministicUniqueAndVaried) {
  std::set<std::string> names;
  std::set<std::string> languages;
  std::set<std::string> sites;
  simdjson::ondemand::parser parser;
  for (size_t i = 0; i < 6000; ++i) {
    const auto p = peer_profile(i);
    const auto again = peer_profile(i);
    EXPECT_EQ(p.device_name, again.device_name);
    EXPECT_EQ(p.metadata_json, again.metadata_json);
    EXPECT_TRUE(names.insert(p.device_name).second) << "duplicate device name " << p.device_name;
    languages.insert(p.sdk_language);
    if (i < 12) {
      simdjson::padded_string json(p.metadata_json);
      auto doc = parser.iterate(json);
      sites.insert(str(doc["site"]));
      EXPECT_FALSE(str(doc["fleet"]).empty());
      EXPECT_FALSE(str(doc["shift"]).empty());
      EXPECT_FALSE(str(doc["app_version"]).empty());
    }
  }
  EXPECT_EQ(languages, (std::set<std::string>{"Swift", "Kotlin", "Java", "JavaScript", "Python", "C"}));
  EXPECT_GE(sites.size(), 3u);
  EXPECT_EQ(peer_profile(2).device_name, "forklift-001");
  EXPECT_EQ(peer_directory("/d", 17), std::filesystem::path("/d/peer-00017"));
}

TEST_F(FleetTest, PeersOpenWithSmallPeerInfoEnabledBigPeerOnlyAsDifferentDevices) {
  const auto options = fleet_options(5, dir_.path());
  Fleet fleet(options);
  fleet.start();
  const auto peers = fleet.peers();
  ASSERT_EQ(peers.size(), 5u);
  std::set<std::string> names, languages, metadata, keys;
  simdjson::ondemand::parser parser;
  for (size_t i = 0; i < peers.size(); ++i) {
    auto& d = *peers[i];
    auto& spi = d.small_peer_info();
    EXPECT_TRUE(spi.enabled());
    EXPECT_EQ(spi.sync_scope(), SyncScope::big_peer_only);
    EXPECT_EQ(spi.interval(), options.interval);
    EXPECT_TRUE(d.sync_running());
    EXPECT_EQ(d.config().persistence_dir, peer_directory(dir_.path(), i));
    keys.insert(d.peer_key());

    const auto doc_text = spi.current_document();
    ASSERT_TRUE(doc_text.has_value());
    simdjson::padded_string json(*doc_text);
    auto doc = parser.iterate(json);
    EXPECT_EQ(str(doc["_id"]), d.peer_key());
    const std::string name = str(doc["device_name"]);
    EXPECT_EQ(name, peer_profile(i).device_name);
    names.insert(name);
    languages.insert(str(doc["ditto_sdk_language"]));
    EXPECT_EQ(str(doc["sync_scope"]), "BigPeerOnly");
    EXPECT_FALSE(doc["is_connected_to_big_peer"].get_bool().value());
    const std::string md(std::string_view(simdjson::to_json_string(doc["metadata"]).value()));
    EXPECT_EQ(md, peer_profile(i).metadata_json);
    metadata.insert(md);
    auto urls = doc["transport_config"]["big_peer"]["urls"].get_array();
    std::vector<std::string> url_list;
    for (auto url : urls) url_list.push_back(std::string(std::string_view(url.get_string().value())));
    EXPECT_EQ(url_list, options.big_peer_urls);
  }
  EXPECT_EQ(names.size(), 5u);
  EXPECT_EQ(languages.size(), 5u);
  EXPECT_EQ(metadata.size(), 5u);
  EXPECT_EQ(keys.size(), 5u);
}

TEST_F(FleetTest, StatsCountPeersAndSmallPeerInfoWrites) {
  Fleet fleet(fleet_options(5));
  EXPECT_EQ(fleet.stats().opened, 0u);
  fleet.start();
  auto s = fleet.stats();
  EXPECT_EQ(s.opened, 5u);
  EXPECT_EQ(s.connected, 0u) << "nothing listens on the Big Peer port";
  EXPECT_EQ(s.spi_writes, 5u) << "enabling writes one document per peer";
  EXPECT_EQ(s.log_lines, 0u);

  EXPECT_EQ(fleet.collect_all_once(), 5u);
  EXPECT_EQ(fleet.stats().spi_writes, 10u);
  EXPECT_EQ(fleet.collect_all_once(3), 5u);
  EXPECT_EQ(fleet.stats().spi_writes, 15u);
  for (const auto& d : fleet.peers()) EXPECT_EQ(d->small_peer_info().sequence(), 3u);

  fleet.stop();
  s = fleet.stats();
  EXPECT_EQ(s.opened, 0u);
  EXPECT_EQ(s.spi_writes, 15u);
  EXPECT_EQ(fleet.collect_all_once(), 0u);
}

TEST_F(FleetTest, ShortIntervalKeepsWritingDocuments) {
  auto options = fleet_options(3);
  options.interval = 1s;  // three peers, three writes each: the one at start and two on the timer
  Fleet fleet(options);
  fleet.start();
  EXPECT_TRUE(wait_until([&] { return fleet.stats().spi_writes >= 9u; }, 10s)) << fleet.stats().spi_writes;
}

TEST_F(FleetTest, AppLogLinesLandInTheEnginesLogFiles) {
  auto options = fleet_options(5, dir_.path());
  options.log_rate = 40;
  Fleet fleet(options);
  fleet.start();
  ASSERT_TRUE(wait_until([&] { return fleet.stats().log_lines >= 150; }, 20s)) << fleet.stats().log_lines;
  std::vector<std::string> keys;
  for (const auto& d : fleet.peers()) keys.push_back(d->peer_key());
  fleet.stop();
  const uint64_t written = fleet.stats().log_lines;

  uint64_t found = 0;
  std::set<std::string> levels, messages;
  simdjson::ondemand::parser parser;
  for (size_t i = 0; i < keys.size(); ++i) {
    uint64_t mine = 0;
    for (const auto& line : engine_log_lines(peer_directory(dir_.path(), i))) {
      simdjson::padded_string json(line);
      auto doc = parser.iterate(json);
      if (str(doc["component"]) != "app") continue;
      EXPECT_EQ(str(doc["peer"]), keys[i]);
      levels.insert(str(doc["level"]));
      messages.insert(str(doc["msg"]));
      ++mine;
    }
    EXPECT_GT(mine, 0u) << "peer " << i << " wrote no app log lines";
    found += mine;
  }
  EXPECT_EQ(found, written) << "every counted line is in a log file, and nothing else is";
  EXPECT_EQ(levels, (std::set<std::string>{"info", "debug", "warning"}));
  EXPECT_GT(messages.size(), 20u) << "messages vary";
}

TEST_F(FleetTest, ReopeningTheSameDataKeepsPeerKeysAndSequences) {
  const auto options = fleet_options(5, dir_.path());
  std::vector<std::string> keys;
  std::vector<uint64_t> sequences;
  {
    Fleet first(options);
    first.start();
    first.collect_all_once();
    for (const auto& d : first.peers()) {
      keys.push_back(d->peer_key());
      sequences.push_back(d->small_peer_info().sequence());
    }
  }  // the destructor stops
  Fleet second(options);
  second.start();
  const auto peers = second.peers();
  ASSERT_EQ(peers.size(), keys.size());
  for (size_t i = 0; i < peers.size(); ++i) {
    EXPECT_EQ(peers[i]->peer_key(), keys[i]);
    EXPECT_EQ(peers[i]->small_peer_info().sequence(), sequences[i] + 1) << "reopening writes one more, continuing the count";
  }
  EXPECT_EQ(second.stats().spi_writes, 5u) << "the write during reopen counts, the no-op enable does not";
}

TEST_F(FleetTest, StopReleasesEveryPeerDirectory) {
  Fleet fleet(fleet_options(5, dir_.path()));
  fleet.start();
  std::vector<std::string> keys;
  for (const auto& d : fleet.peers()) keys.push_back(d->peer_key());
  fleet.stop();
  EXPECT_TRUE(fleet.peers().empty());
  fleet.stop();  // idempotent
  EXPECT_THROW(fleet.start(), Error);
  for (size_t i = 0; i < keys.size(); ++i) {
    DittoConfig config;
    config.persistence_dir = peer_directory(dir_.path(), i);
    std::shared_ptr<Ditto> d;
    ASSERT_NO_THROW(d = Ditto::open(config)) << "peer " << i << " is still locked";
    EXPECT_EQ(d->peer_key(), keys[i]);
    d->close();
  }
}

TEST_F(FleetTest, TemporaryDataDirectoryIsRemovedOnStop) {
  Fleet fleet(fleet_options(2));
  fleet.start();
  const auto dir = fleet.data_dir();
  ASSERT_FALSE(dir.empty());
  EXPECT_TRUE(std::filesystem::exists(peer_directory(dir, 1) / "peer_identity.key"));
  fleet.stop();
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST_F(FleetTest, APeerThatCannotOpenFailsStartAndClosesTheOthers) {
  DittoConfig blocker_config;
  blocker_config.persistence_dir = peer_directory(dir_.path(), 3);
  auto blocker = Ditto::open(blocker_config);
  Fleet fleet(fleet_options(6, dir_.path()));
  try {
    fleet.start();
    FAIL() << "start() should fail while peer 3's directory is in use";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::locked);
    EXPECT_NE(std::string(e.what()).find("peer 3"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fleet.peers().empty());
  EXPECT_THROW(fleet.start(), Error) << "a fleet that failed is stopped, not half open";
  blocker->close();
  for (size_t i = 0; i < 6; ++i) {
    if (!std::filesystem::exists(peer_directory(dir_.path(), i))) continue;  // never reached
    DittoConfig config;
    config.persistence_dir = peer_directory(dir_.path(), i);
    EXPECT_NO_THROW(Ditto::open(config)->close()) << "peer " << i << " was left open";
  }
}

TEST_F(FleetTest, StopDuringStartCutsItShort) {
  auto options = fleet_options(300, dir_.path());
  options.open_threads = 1;
  Fleet fleet(options);
  std::exception_ptr error;
  std::thread starter([&] {
    try {
      fleet.start();
    } catch (...) {
      error = std::current_exception();
    }
  });
  ASSERT_TRUE(wait_until([&] { return fleet.stats().opened >= 2; }));
  fleet.stop();
  starter.join();
  EXPECT_FALSE(error) << "stopping is not an error";
  EXPECT_TRUE(fleet.peers().empty());
  size_t dirs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    ++dirs;
    DittoConfig config;
    config.persistence_dir = entry.path();
    EXPECT_NO_THROW(Ditto::open(config)->close()) << entry.path() << " was left open";
  }
  EXPECT_LT(dirs, 300u) << "start() went on opening after stop()";
}

TEST(FleetOptionsTest, FleetRefusesBadOptions) {
  auto o = fleet_options(1);
  o.peers = 0;
  EXPECT_THROW(Fleet{o}, Error);
  o = fleet_options(1);
  o.interval = 500ms;
  EXPECT_THROW(Fleet{o}, Error);
  o = fleet_options(1);
  o.big_peer_urls = {"ws://127.0.0.1:1/sync", "http://127.0.0.1:1/sync"};
  try {
    Fleet fleet(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find(url_error(o.big_peer_urls[1])), std::string::npos) << e.what();
  }
}

// Parses a `fleet` command line; returns CLI11's error message, or "" when it parsed.
std::string parse_fleet(const std::string& args, FleetOptions& options) {
  CLI::App app{"test"};
  add_fleet_command(app, options);
  try {
    app.parse("fleet --app-id a --app-token t " + args, false);
    return "";
  } catch (const CLI::ParseError& e) {
    return e.what();
  }
}

TEST(FleetOptionsTest, CommandLineParsesAndValidates) {
  FleetOptions o;
  EXPECT_EQ(
      parse_fleet("--big-peer ws://127.0.0.1:9/sync --peers 40 --interval 2.5 --duration 20 --data /tmp/f --log-rate 1.5", o),
      "");
  EXPECT_EQ(o.big_peer_urls, std::vector<std::string>{"ws://127.0.0.1:9/sync"});
  EXPECT_EQ(o.peers, 40u);
  EXPECT_EQ(o.interval, 2500ms);
  EXPECT_EQ(o.duration, std::optional<std::chrono::seconds>(20s));
  EXPECT_EQ(o.data_dir, std::filesystem::path("/tmp/f"));
  EXPECT_EQ(o.log_rate, 1.5);
  EXPECT_NO_THROW(validate(o));

  // A cluster: --big-peer repeated lists every node, in order.
  FleetOptions cluster;
  EXPECT_EQ(parse_fleet("--big-peer ws://127.0.0.1:9/sync --big-peer ws://127.0.0.1:10/sync --peers 3", cluster), "");
  EXPECT_EQ(cluster.big_peer_urls, (std::vector<std::string>{"ws://127.0.0.1:9/sync", "ws://127.0.0.1:10/sync"}));
  EXPECT_EQ(cluster.peers, 3u);

  FleetOptions defaults;
  EXPECT_EQ(parse_fleet("--big-peer ws://127.0.0.1:9/sync", defaults), "");
  EXPECT_EQ(defaults.peers, 10u);
  EXPECT_EQ(defaults.interval, 300s);
  EXPECT_FALSE(defaults.duration);

  FleetOptions bad;
  EXPECT_NE(parse_fleet("--big-peer ws://127.0.0.1:9/sync --peers 0", bad), "");
  EXPECT_NE(parse_fleet("--big-peer ws://127.0.0.1:9/sync --interval 0.5", bad), "");
  EXPECT_NE(parse_fleet("--big-peer ws://127.0.0.1:9/sync --log-rate -1", bad), "");
  EXPECT_NE(parse_fleet("", bad), "") << "--big-peer is required";
  // A URL the engine refuses is refused with the engine's own explanation.
  for (const std::string url : {"http://example.com/sync", "ws:///sync", "ws://127.0.0.1:99999/sync"}) {
    const auto error = parse_fleet("--big-peer " + url, bad);
    EXPECT_NE(error.find(url_error(url)), std::string::npos) << error;
  }
}

TEST(FleetLimitsTest, OpenFileLimitIsRaisedOrExplained) {
  EXPECT_GE(ensure_open_file_limit(5), kFilesForProcess + 5 * kFilesPerPeer);
  try {
    ensure_open_file_limit(100'000'000);
    FAIL() << "no system allows 800 million open files";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("100000000 peers need about"), std::string::npos) << message;
    EXPECT_NE(message.find("ulimit -Hn"), std::string::npos) << message;
  }
  EXPECT_GT(resident_set_bytes(), 0u);
}

}  // namespace
