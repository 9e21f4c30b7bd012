// The Big Peer: its HTTP API, metrics, shutdown and robustness against a real `smallpeer big-peer`
// process, and its group-commit ingest, registry and checks in-process.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "bigpeer/audit_log.h"
#include "bigpeer/cluster.h"
#include "bigpeer/enrollments.h"
#include "bigpeer/http/admin_auth.h"
#include "bigpeer/ingest.h"
#include "bigpeer/metrics.h"
#include "bigpeer/registry.h"
#include "bigpeer/server.h"
#include "bigpeer/storage/postgres_store.h"
#include "bigpeer/sync_endpoint.h"
#include "clock/clock.h"
#include "clock/hlc.h"
#include "common/error.h"
#include "ditto/ditto.h"
#include "identity/identity.h"
#include "spi/small_peer_info_collector.h"
#include "store/store.h"
#include "support/big_peer_process.h"
#include "support/certificates.h"
#include "support/temp_dir.h"
#include "support/wait.h"
#include "sync/channel.h"
#include "sync/session.h"

namespace smallpeer::bigpeer {
namespace {

using namespace std::chrono_literals;
using test_support::BigPeerProcess;
using test_support::BigPeerProcessOptions;
using test_support::HttpResult;
using test_support::TempDir;

namespace http = boost::beast::http;

std::unique_ptr<Store> open_store(const std::filesystem::path& file, const std::string& peer = "pkSeeder") {
  return Store::open(file, std::make_shared<HybridLogicalClock>(std::make_shared<SystemClock>()), peer);
}

// The Big Peer's own store of `data_dir` (SQLite in it, or its PostgreSQL database), opened beside it.
std::unique_ptr<Store> open_big_peer_store(const std::filesystem::path& data_dir) {
  if (!test_support::postgres_backend()) return open_store(data_dir / "bigpeer.sqlite3");
  return std::make_unique<PostgresStore>(test_support::PostgresServer::shared().database_for(data_dir),
                                         std::make_shared<HybridLogicalClock>(std::make_shared<SystemClock>()), "pkSeeder");
}

// Writes documents into the Big Peer's store before it starts, as earlier sessions would have.
void seed(const std::filesystem::path& data_dir, const std::vector<std::pair<std::string, std::string>>& documents) {
  auto store = open_big_peer_store(data_dir);
  for (const auto& [collection, json] : documents) store->upsert(collection, json);
}

std::string spi_doc(const std::string& peer_key, const std::string& device_name, const std::string& last_updated_at,
                    int sequence = 1) {
  return R"({"_id":")" + peer_key + R"(","schema_version":1,"sequence":)" + std::to_string(sequence) + R"(,"last_updated_at":")" +
         last_updated_at + R"(","device_name":")" + device_name +
         R"(","ditto_sdk_language":"Swift","ditto_sdk_platform":"iOS","ditto_sdk_version":"0.1.0",)"
         R"("os":{"name":"Darwin","version":"23.1","arch":"arm64"},"sync_scope":"BigPeerOnly",)"
         R"("connections_by_transport":{"AccessPoint":0,"Bluetooth":0,"P2PWiFi":0,"WebSocket":1},"metadata":{"site":"north"}})";
}

// Parses a response body; the parser must outlive the element.
simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& body) {
  simdjson::dom::element element;
  const auto error = parser.parse(body).get(element);
  EXPECT_EQ(error, simdjson::SUCCESS) << body;
  return element;
}

std::string error_code_of(const HttpResult& r) {
  simdjson::dom::parser parser;
  std::string_view code;
  if (parser.parse(r.body)["error"]["code"].get(code) != simdjson::SUCCESS) return "(no error code in " + r.body + ")";
  return std::string(code);
}

std::vector<std::string> ids_of(simdjson::dom::array array, const char* field) {
  std::vector<std::string> ids;
  for (auto item : array) ids.emplace_back(std::string_view(item[field]));
  return ids;
}

bool is_null(simdjson::dom::element e) {
  return e.is_null();
}

// ---------------------------------------------------------------------------------------------
// A real `smallpeer big-peer` process.

class BigPeerServerTest : public ::testing::Test {
 protected:
  BigPeerProcess& start(BigPeerProcessOptions options = {}) {
    if (options.data_dir.empty()) options.data_dir = dir_.path();
    process_ = std::make_unique<BigPeerProcess>(std::move(options));
    return *process_;
  }
  BigPeerProcess& peer() { return *process_; }

  TempDir dir_{"bigpeer-test"};
  std::unique_ptr<BigPeerProcess> process_;
};

TEST_F(BigPeerServerTest, HealthAnswersWithoutAToken) {
  auto& bp = start();
  const auto r = bp.get("/api/v1/health", false);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  simdjson::dom::parser parser;
  EXPECT_EQ(std::string_view(parse(parser, r.body)["status"]), "ok");
}

TEST_F(BigPeerServerTest, ApiRefusesAMissingOrWrongAdminToken) {
  auto& bp = start();
  for (const std::string target :
       {"/api/v1/collections", "/api/v1/devices", "/api/v1/devices/pkX", "/api/v1/collections/cars/documents"}) {
    const auto missing = bp.get(target, false);
    EXPECT_EQ(missing.status, 401) << target;
    EXPECT_EQ(error_code_of(missing), "unauthorized") << target;
    EXPECT_NE(missing.www_authenticate.find("Bearer"), std::string::npos);
    const auto wrong = test_support::http_get(bp.port(), target, bp.admin_token() + "x");
    EXPECT_EQ(wrong.status, 401) << target;
    EXPECT_NE(wrong.body.find("wrong admin token"), std::string::npos) << wrong.body;
  }
  EXPECT_EQ(bp.get("/api/v1/collections").status, 200);
}

TEST_F(BigPeerServerTest, BadParametersGet400NamingTheParameter) {
  seed(dir_.path(), {{"cars", R"({"_id":"car-1"})"}});
  auto& bp = start();
  for (const std::string query : {"limit=0", "limit=1001", "limit=abc", "limit=5x", "limit=-1", "limit="}) {
    for (const std::string path : {"/api/v1/devices?", "/api/v1/collections/cars/documents?"}) {
      const auto r = bp.get(path + query);
      EXPECT_EQ(r.status, 400) << path << query;
      EXPECT_EQ(error_code_of(r), "invalid_parameter");
      EXPECT_NE(r.body.find("limit must be an integer from 1 to 1000"), std::string::npos) << r.body;
    }
  }
  for (const std::string query : {"online=yes", "online=1", "online=TRUE", "online="}) {
    const auto r = bp.get("/api/v1/devices?" + query);
    EXPECT_EQ(r.status, 400) << query;
    EXPECT_NE(r.body.find("online must be true or false"), std::string::npos) << r.body;
  }
  EXPECT_EQ(bp.get("/api/v1/devices?limit=%zz").status, 400);
  EXPECT_EQ(bp.get("/api/v1/devices?limit=1000&online=true").status, 200);
}

TEST_F(BigPeerServerTest, UnknownThingsGet404) {
  seed(dir_.path(), {{"cars", R"({"_id":"car-1"})"}});
  auto& bp = start();
  for (const std::string target : {"/api/v1/collections/boats/documents", "/api/v1/collections/boats/documents/x",
                                   "/api/v1/collections/cars/documents/car-2", "/api/v1/devices/pkNobody", "/api/v1/nothing",
                                   "/api/v2/health", "/api/v1/health/", "/nothing"}) {
    const auto r = bp.get(target);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(error_code_of(r), "not_found") << target;
  }
  // Wrong method on a known route, and /sync without an upgrade.
  const auto post = test_support::http_request(bp.port(), http::verb::post, "/api/v1/collections", bp.admin_token(), "{}");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.allow, "GET");
  EXPECT_EQ(error_code_of(post), "method_not_allowed");
  EXPECT_EQ(bp.get("/sync", false).status, 426);
}

TEST_F(BigPeerServerTest, CollectionsAndPagedDocuments) {
  std::vector<std::pair<std::string, std::string>> docs;
  for (int i = 1; i <= 5; ++i) docs.emplace_back("cars", R"({"_id":"car-)" + std::to_string(i) + R"(","wheels":4})");
  docs.emplace_back("cars", R"({"_id":"a b/c","wheels":3})");
  docs.emplace_back("people", R"({"_id":"p-1","name":"Ada"})");
  docs.emplace_back(std::string(kSmallPeerInfoCollection), spi_doc("pkA", "one", "2026-01-01T00:00:00.000Z"));
  seed(dir_.path(), docs);
  auto& bp = start();
  simdjson::dom::parser parser;

  const auto collections = bp.get("/api/v1/collections");
  ASSERT_EQ(collections.status, 200) << collections.body;
  auto list = parse(parser, collections.body)["collections"].get_array().value();
  std::map<std::string, std::pair<bool, int64_t>> seen;
  for (auto c : list) {
    int64_t count = -1;
    if (c["document_count"].get(count) != simdjson::SUCCESS) count = -1;
    seen[std::string(std::string_view(c["name"]))] = {bool(c["system"]), count};
  }
  EXPECT_EQ(seen["cars"], std::make_pair(false, int64_t{6}));
  EXPECT_EQ(seen["people"], std::make_pair(false, int64_t{1}));
  EXPECT_TRUE(seen["__small_peer_info"].first);

  // Pages in _id order, each naming where the next starts, the last naming none.
  std::vector<std::string> all;
  std::string after;
  int pages = 0;
  for (;;) {
    const auto r = bp.get("/api/v1/collections/cars/documents?limit=2" + (after.empty() ? "" : "&after=" + after));
    ASSERT_EQ(r.status, 200) << r.body;
    auto page = parse(parser, r.body);
    EXPECT_EQ(std::string_view(page["collection"]), "cars");
    const auto ids = ids_of(page["documents"].get_array().value(), "_id");
    EXPECT_LE(ids.size(), 2u);
    all.insert(all.end(), ids.begin(), ids.end());
    ++pages;
    if (is_null(page["next_after"])) break;
    after = std::string(std::string_view(page["next_after"]));
    EXPECT_EQ(after, ids.back());
    // Ids travel percent-encoded.
    std::string encoded;
    for (char ch : after) encoded += ch == ' ' ? "%20" : ch == '/' ? "%2F" : std::string(1, ch);
    after = encoded;
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(all, (std::vector<std::string>{"a b/c", "car-1", "car-2", "car-3", "car-4", "car-5"}));
  EXPECT_EQ(pages, 3);

  const auto whole = parse(parser, bp.get("/api/v1/collections/cars/documents").body);
  EXPECT_EQ(ids_of(whole["documents"].get_array().value(), "_id").size(), 6u);

  const auto one = bp.get("/api/v1/collections/cars/documents/car-3");
  ASSERT_EQ(one.status, 200) << one.body;
  auto doc = parse(parser, one.body);
  EXPECT_EQ(std::string_view(doc["id"]), "car-3");
  EXPECT_EQ(int64_t(doc["document"]["wheels"]), 4);
  EXPECT_EQ(std::string_view(doc["version"]["origin"]), "pkSeeder");
  EXPECT_FALSE(std::string_view(doc["version"]["hlc"]).empty());

  const auto odd = bp.get("/api/v1/collections/cars/documents/a%20b%2Fc");
  ASSERT_EQ(odd.status, 200) << odd.body;
  EXPECT_EQ(int64_t(parse(parser, odd.body)["document"]["wheels"]), 3);
}

// POST /api/v1/query on this registration's backend (SQLite, or PostgreSQL under "postgres:"):
// the same rows on both, the row cap, 400 for every bad query, 401 without the token, no writes.
TEST_F(BigPeerServerTest, QueriesAnswerWithinTheRowCapAndBadOnesGet400) {
  const std::string spi(kSmallPeerInfoCollection);
  std::vector<std::pair<std::string, std::string>> docs = {
      {spi, R"({"_id":"pkA","device_name":"one","metadata":{"site":"north","app_version":"3.4.1"},"sequence":3})"},
      {spi, R"({"_id":"pkB","device_name":"two","metadata":{"site":"north","app_version":"3.4.1"},"sequence":9})"},
      {spi, R"({"_id":"pkC","device_name":"three","metadata":{"site":"south","app_version":"3.4.1"},"sequence":5})"},
      {spi, R"({"_id":"pkD","device_name":"four","metadata":{"site":"north","app_version":"3.3.0"},"sequence":7})"}};
  for (int i = 1; i <= 5; ++i) docs.emplace_back("cars", fmt::format(R"({{"_id":"car-{}","wheels":4}})", i));
  seed(dir_.path(), docs);
  BigPeerProcessOptions options;
  options.extra_args = {"--query-max-rows", "3"};
  auto& bp = start(std::move(options));
  auto post = [&](const std::string& body, const std::optional<std::string>& token = std::nullopt) {
    return test_support::http_request(bp.port(), http::verb::post, "/api/v1/query", token ? token : bp.admin_token(), body);
  };

  auto r = post(R"({"query":"SELECT device_name, sequence FROM __small_peer_info WHERE metadata.site = :site AND )"
                R"(metadata.app_version = '3.4.1' ORDER BY sequence DESC LIMIT 5","args":{"site":"north"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"items":[{"device_name":"two","sequence":9},{"device_name":"one","sequence":3}]})");

  r = post(R"({"query":"SELECT metadata.site, COUNT(*) AS devices FROM __small_peer_info GROUP BY metadata.site"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"items":[{"site":"north","devices":3},{"site":"south","devices":1}]})");

  // Over the cap: cut, and said so; a LIMIT within it is not cut.
  r = post(R"({"query":"SELECT _id FROM cars"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"items":[{"_id":"car-1"},{"_id":"car-2"},{"_id":"car-3"}],"truncated":true})");
  EXPECT_EQ(post(R"({"query":"SELECT _id FROM cars ORDER BY _id DESC LIMIT 2"})").body,
            R"({"items":[{"_id":"car-5"},{"_id":"car-4"}]})");

  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"query":"DELETE FROM cars"})", "only SELECT statements can run here (read-only); found DELETE at position 1"},
      {R"({"query":"SELECT * cars"})", "expected FROM at position 10, found 'cars'"},
      {R"({"query":"SELECT * FROM cars WHERE wheels = :n"})", "argument :n (position 35) is not given"},
      {R"({"query":"SELECT * FROM cars WHERE wheels = :n","args":{"n":{"x":1}}})", "argument :n is an object"},
      {R"({"query":"SELECT * FROM cars","args":[1]})", "the arguments must be a JSON object"},
      {R"({"query":42})", R"(\"query\" must be a string)"},
      {R"(not json)", "the body must be a JSON object"},
      {"", "the body must be a JSON object"},
  };
  for (const auto& [body, message] : bad) {
    const auto answer = post(body);
    EXPECT_EQ(answer.status, 400) << body << " -> " << answer.body;
    EXPECT_EQ(error_code_of(answer), "invalid_query") << body;
    EXPECT_NE(answer.body.find(message), std::string::npos) << body << " -> " << answer.body;
  }
  // A query longer than the 64 KiB limit cannot arrive: the body limit is the same size.
  const auto overlong = post(R"({"query":"SELECT * FROM cars WHERE x = ')" + std::string(70'000, 'x') + R"('"})");
  EXPECT_EQ(overlong.status, 413) << overlong.body;

  EXPECT_EQ(post(R"({"query":"SELECT * FROM cars"})", std::string("wrong-token")).status, 401);
  // Nothing a query said changed the store.
  r = post(R"({"query":"SELECT COUNT(*) FROM cars"})");
  EXPECT_EQ(r.body, R"({"items":[{"count":5}]})");
}

// A device is stale when its last report is older than two of its collection intervals (300 s when
// the document predates the field); the interval is bounded, so a device cannot claim years.
TEST_F(BigPeerServerTest, DevicesSayWhetherTheirReportIsOverdueAndTheirFreeDisk) {
  const auto now = format_rfc3339(SystemClock().now());
  const auto minutes_ago = [](int minutes) { return format_rfc3339(SystemClock().now() - std::chrono::minutes(minutes)); };
  const std::string spi(kSmallPeerInfoCollection);
  seed(dir_.path(), {{spi, R"({"_id":"pkFresh","last_updated_at":")" + now +
                               R"(","collection_interval_ms":60000,"device_disk_usage":{"device_available":123456789}})"},
                     {spi, R"({"_id":"pkLate","last_updated_at":")" + minutes_ago(3) + R"(","collection_interval_ms":60000})"},
                     {spi, R"({"_id":"pkOld","last_updated_at":")" + minutes_ago(11) + R"("})"},
                     {spi, R"({"_id":"pkRecentOld","last_updated_at":")" + minutes_ago(4) + R"("})"},
                     {spi, R"({"_id":"pkClaimsYears","last_updated_at":")" + minutes_ago(60 * 24 * 15) +
                               R"(","collection_interval_ms":9000000000000})"}});
  auto& bp = start();
  simdjson::dom::parser parser;
  const auto r = bp.get("/api/v1/devices");
  ASSERT_EQ(r.status, 200) << r.body;
  std::map<std::string, bool> stale;
  const simdjson::dom::array devices = parse(parser, r.body)["devices"].get_array().value();
  for (auto d : devices) {
    stale[std::string(std::string_view(d["peer_key"]))] = bool(d["stale"]);
    if (std::string_view(d["peer_key"]) == "pkFresh") {
      EXPECT_EQ(int64_t(d["disk_available"]), 123456789);
      EXPECT_EQ(int64_t(d["collection_interval_ms"]), 60000);
    }
    if (std::string_view(d["peer_key"]) == "pkOld") {
      EXPECT_TRUE(d["disk_available"].is_null());
    }
  }
  EXPECT_EQ(stale, (std::map<std::string, bool>{
                       {"pkFresh", false}, {"pkLate", true}, {"pkOld", true}, {"pkRecentOld", false}, {"pkClaimsYears", true}}));
}

TEST_F(BigPeerServerTest, DevicesComeFromSmallPeerInfoWithSearchFiltersAndPaging) {
  seed(dir_.path(), {{std::string(kSmallPeerInfoCollection), spi_doc("pkAlpha", "Forklift-7", "2026-03-01T10:00:00.000Z", 7)},
                     {std::string(kSmallPeerInfoCollection), spi_doc("pkBravo", "scanner-2", "2026-03-02T10:00:00.000Z")},
                     {std::string(kSmallPeerInfoCollection), spi_doc("pkCharlie", "FORKLIFT-9", "2026-03-03T10:00:00.000Z")}});
  auto& bp = start();
  simdjson::dom::parser parser;
  const auto keys = [&](const std::string& query) {
    const auto r = bp.get("/api/v1/devices" + query);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    auto page = parse(parser, r.body);
    std::vector<std::string> out = ids_of(page["devices"].get_array().value(), "peer_key");
    if (!is_null(page["next_after"])) out.push_back("next:" + std::string(std::string_view(page["next_after"])));
    return out;
  };
  EXPECT_EQ(keys(""), (std::vector<std::string>{"pkAlpha", "pkBravo", "pkCharlie"}));
  EXPECT_EQ(keys("?q=forklift"), (std::vector<std::string>{"pkAlpha", "pkCharlie"}));
  EXPECT_EQ(keys("?q=PKBR"), (std::vector<std::string>{"pkBravo"}));
  EXPECT_EQ(keys("?q=nothing-like-it"), std::vector<std::string>{});
  EXPECT_EQ(keys("?online=false"), (std::vector<std::string>{"pkAlpha", "pkBravo", "pkCharlie"}));
  EXPECT_EQ(keys("?online=true"), std::vector<std::string>{});
  EXPECT_EQ(keys("?limit=2"), (std::vector<std::string>{"pkAlpha", "pkBravo", "next:pkBravo"}));
  EXPECT_EQ(keys("?limit=2&after=pkBravo"), (std::vector<std::string>{"pkCharlie"}));
  EXPECT_EQ(keys("?q=forklift&limit=1"), (std::vector<std::string>{"pkAlpha", "next:pkAlpha"}));
  EXPECT_EQ(keys("?q=forklift&limit=1&after=pkAlpha"), (std::vector<std::string>{"pkCharlie"}));

  auto first = parse(parser, bp.get("/api/v1/devices?limit=1").body)["devices"].get_array().value().at(0).value();
  EXPECT_EQ(std::string_view(first["device_name"]), "Forklift-7");
  EXPECT_FALSE(bool(first["online"]));
  EXPECT_EQ(std::string_view(first["last_seen"]), "2026-03-01T10:00:00.000Z");
  EXPECT_EQ(std::string_view(first["last_updated_at"]), "2026-03-01T10:00:00.000Z");
  EXPECT_EQ(int64_t(first["sequence"]), 7);
  EXPECT_EQ(std::string_view(first["ditto_sdk_language"]), "Swift");
  EXPECT_EQ(std::string_view(first["os"]["arch"]), "arm64");
  EXPECT_EQ(int64_t(first["connections_by_transport"]["WebSocket"]), 1);
  EXPECT_TRUE(is_null(first["connection"]));

  const auto detail = bp.get("/api/v1/devices/pkBravo");
  ASSERT_EQ(detail.status, 200) << detail.body;
  auto device = parse(parser, detail.body);
  EXPECT_EQ(std::string_view(device["peer_key"]), "pkBravo");
  EXPECT_FALSE(bool(device["online"]));
  EXPECT_EQ(std::string_view(device["small_peer_info"]["device_name"]), "scanner-2");
  EXPECT_EQ(std::string_view(device["small_peer_info"]["metadata"]["site"]), "north");
}

TEST_F(BigPeerServerTest, MetricsAreInPrometheusTextFormatWithoutAToken) {
  auto& bp = start();
  const auto r = bp.get("/metrics", false);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  const std::regex sample(R"(^[a-z_]+(\{[a-z_]+="[a-z_]+"\})? [0-9]+(\.[0-9]+)?$)");  // name, optional label, value
  const std::regex type(R"(^# TYPE ([a-z_]+) (gauge|counter)$)");
  std::map<std::string, std::string> types;
  std::set<std::string> samples;
  std::istringstream lines(r.body);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, type)) {
      types[m[1]] = m[2];
    } else if (line.rfind("# HELP ", 0) == 0) {
      continue;
    } else {
      EXPECT_TRUE(std::regex_match(line, sample)) << line;
      samples.insert(line.substr(0, line.find_first_of("{ ")));
    }
  }
  const std::map<std::string, std::string> expected = {{"smallpeer_connections", "gauge"},
                                                       {"smallpeer_documents_ingested_total", "counter"},
                                                       {"smallpeer_spi_reports_total", "counter"},
                                                       {"smallpeer_sessions_total", "counter"},
                                                       {"smallpeer_rule_violations_total", "counter"},
                                                       {"smallpeer_ingest_batches_total", "counter"},
                                                       {"smallpeer_ingest_commit_seconds_total", "counter"},
                                                       {"smallpeer_log_requests", "gauge"}};
  for (const auto& [name, kind] : expected) {
    EXPECT_EQ(types[name], kind) << name;
    EXPECT_TRUE(samples.count(name)) << name;
  }
  EXPECT_NE(r.body.find("\nsmallpeer_connections 0\n"), std::string::npos);
  for (const char* state : {"pending", "delivered", "uploading", "ready", "failed", "expired"}) {
    EXPECT_NE(r.body.find(fmt::format("\nsmallpeer_log_requests{{state=\"{}\"}} 0\n", state)), std::string::npos) << state;
  }
}

TEST_F(BigPeerServerTest, AGeneratedAdminTokenIsKeptAcrossRestartsAndAGivenOneWins) {
  std::string first;
  {
    auto& bp = start();
    first = bp.admin_token();
    EXPECT_EQ(first.size(), 43u);  // 256 random bits, base64url
    std::ifstream file(dir_.path() / "admin_token");
    std::string stored;
    file >> stored;
    EXPECT_EQ(stored, first);
    EXPECT_EQ(std::filesystem::status(dir_.path() / "admin_token").permissions() & std::filesystem::perms::group_all,
              std::filesystem::perms::none);
    bp.stop();
  }
  {
    auto& bp = start();
    EXPECT_EQ(bp.admin_token(), first);
    EXPECT_EQ(bp.get("/api/v1/collections").status, 200);
    bp.stop();
  }
  {
    BigPeerProcessOptions options;
    options.admin_token = "given-token";
    auto& bp = start(options);
    EXPECT_EQ(bp.get("/api/v1/collections").status, 200);
    EXPECT_EQ(test_support::http_get(bp.port(), "/api/v1/collections", first).status, 401);
  }
}

TEST_F(BigPeerServerTest, SigtermExitsZeroPromptly) {
  auto& bp = start();
  EXPECT_EQ(bp.get("/api/v1/health", false).status, 200);
  const auto exit = bp.stop();
  EXPECT_TRUE(exit.exited);
  EXPECT_EQ(exit.code, 0);
  EXPECT_LT(exit.took, 5s);
  const auto out = bp.output();
  EXPECT_EQ(out.back(), "big-peer: stopped");
}

TEST_F(BigPeerServerTest, ItsAllocatorReturnsFreedPagesFromABackgroundThread) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a sanitizer's allocator replaces jemalloc in this build";
#endif
  // tools/smallpeer_main.cpp's malloc_conf, which jemalloc reads only if the program exports it.
  auto& bp = start();
  const auto thread_names = [&] {
    std::vector<std::string> names;
    for (const auto& task : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", bp.pid()))) {
      std::ifstream comm(task.path() / "comm");
      std::getline(comm, names.emplace_back());
    }
    return names;
  };
  std::vector<std::string> names = thread_names();
  // jemalloc starts its thread as it initialises; the thread names itself once running: wait a little.
  for (int i = 0; i < 50 && std::find(names.begin(), names.end(), "jemalloc_bg_thd") == names.end(); ++i) {
    std::this_thread::sleep_for(100ms);
    names = thread_names();
  }
  EXPECT_TRUE(std::find(names.begin(), names.end(), "jemalloc_bg_thd") != names.end())
      << "no jemalloc_bg_thd among the Big Peer's threads: " << fmt::format("{}", fmt::join(names, ", "));
}

TEST_F(BigPeerServerTest, TheReadyFileCarriesItsFactsForItsUserOnlyAndGoesAtStop) {
  auto& bp = start();
  struct stat info {};
  ASSERT_EQ(::stat(bp.ready_file().c_str(), &info), 0) << bp.ready_file();
  EXPECT_EQ(info.st_mode & 0777, 0600) << "the ready file holds the admin token";
  std::ifstream in(bp.ready_file());
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  simdjson::dom::parser parser;
  const auto facts = parse(parser, text);
  EXPECT_EQ(std::string_view(facts["url"]), fmt::format("http://127.0.0.1:{}", bp.port()));
  EXPECT_EQ(std::string_view(facts["sync_url"]), bp.sync_url());
  EXPECT_EQ(std::string_view(facts["app_id"]), bp.app_id());
  EXPECT_EQ(std::string_view(facts["data_dir"]), bp.data_dir().string());
  EXPECT_EQ(int64_t(facts["pid"]), bp.pid());
  // The harness read the token and the key from this file; they are the ones the process uses.
  std::ifstream token_file(bp.data_dir() / "admin_token");
  std::string kept;
  std::getline(token_file, kept);
  EXPECT_EQ(std::string_view(facts["admin_token"]), kept);
  EXPECT_EQ(bp.get("/api/v1/devices").status, 200);
  const auto out = bp.output();
  EXPECT_NE(std::find(out.begin(), out.end(), "big-peer: peer key: " + std::string(std::string_view(facts["peer_key"]))),
            out.end());
  const auto exit = bp.stop();
  EXPECT_EQ(exit.code, 0);
  EXPECT_FALSE(std::filesystem::exists(bp.ready_file())) << "a stopped Big Peer leaves no ready file behind";
}

TEST_F(BigPeerServerTest, AReadyFileThatCannotBeWrittenStopsItWithTheReason) {
  const auto command = fmt::format("{} big-peer --listen 127.0.0.1:0 --data '{}' --ready-file '{}' 2>&1", SMALLPEER_CLI,
                                   (dir_.path() / "data").string(), (dir_.path() / "missing" / "ready.json").string());
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 256> chunk{};
  while (::fgets(chunk.data(), chunk.size(), pipe) != nullptr) output += chunk.data();
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 2) << output;
  EXPECT_NE(output.find("cannot create ready file"), std::string::npos) << output;
  EXPECT_EQ(output.find("big-peer: ready"), std::string::npos) << output;
}

TEST_F(BigPeerServerTest, ASecondBigPeerOnTheSameDataDirectoryIsRefused) {
  start();
  try {
    BigPeerProcessOptions same_directory;
    same_directory.data_dir = dir_.path();
    BigPeerProcess second(std::move(same_directory));
    FAIL() << "a second Big Peer started on the same directory";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("used by another Big Peer"), std::string::npos) << e.what();
  }
  EXPECT_EQ(peer().get("/api/v1/health", false).status, 200);
}

TEST_F(BigPeerServerTest, MalformedRequestsGetAnErrorAndTheServerKeepsServing) {
  auto& bp = start();
  const auto garbage = test_support::raw_exchange(bp.port(), "GARBAGE\r\n\r\n");
  EXPECT_EQ(garbage.rfind("HTTP/1.1 400", 0), 0u) << garbage;
  EXPECT_NE(garbage.find("\"bad_request\""), std::string::npos) << garbage;

  const auto binary =
      test_support::raw_exchange(bp.port(), std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11) + "\r\n\r\n");
  EXPECT_EQ(binary.rfind("HTTP/1.1 400", 0), 0u) << binary;

  const auto huge_header = test_support::raw_exchange(
      bp.port(), "GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_EQ(huge_header.rfind("HTTP/1.1 431", 0), 0u) << huge_header.substr(0, 200);

  const auto huge_body = test_support::raw_exchange(
      bp.port(), "POST /api/v1/collections HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n" + std::string(1000, 'a'));
  EXPECT_EQ(huge_body.rfind("HTTP/1.1 413", 0), 0u) << huge_body.substr(0, 200);

  EXPECT_EQ(bp.get("/api/v1/health", false).status, 200);
}

TEST_F(BigPeerServerTest, KeepAliveAnswersSeveralRequestsOnOneConnection) {
  auto& bp = start();
  const std::string auth = "Authorization: Bearer " + bp.admin_token() + "\r\n";
  const auto replies = test_support::raw_exchange(bp.port(),
                                                  "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
                                                  "GET /api/v1/collections HTTP/1.1\r\nHost: x\r\n" +
                                                      auth +
                                                      "\r\n"
                                                      "GET /api/v1/devices HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                                                      auth + "\r\n");
  size_t count = 0;
  for (size_t at = replies.find("HTTP/1.1 200 OK"); at != std::string::npos; at = replies.find("HTTP/1.1 200 OK", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 3u) << replies;
}

// ---------------------------------------------------------------------------------------------
// The portal's cookie against cross-site requests, and token guessing (issue 17, findings 4, 6).

// One request to `bp` with exactly `headers` (plus Host), the whole answer back.
http::response<http::string_body> send(const BigPeerProcess& bp, http::verb method, const std::string& target,
                                       const std::map<std::string, std::string>& headers, const std::string& body = {}) {
  http::request<http::string_body> request{method, target, 11};
  request.set(http::field::host, fmt::format("127.0.0.1:{}", bp.port()));
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  return test_support::http_exchange(bp.port(), std::move(request));
}

std::string error_code_of(const http::response<http::string_body>& r) {
  return error_code_of(HttpResult{static_cast<int>(r.result_int()), r.body()});
}

// Logs in as the portal does; returns the session cookie pair ("sp_session=...").
std::string log_in(const BigPeerProcess& bp) {
  const auto r = send(bp, http::verb::post, "/api/v1/session", {{"Content-Type", "application/json"}},
                      fmt::format(R"({{"token":"{}"}})", bp.admin_token()));
  EXPECT_EQ(r.result_int(), 204u) << r.body();
  const std::string set_cookie(r[http::field::set_cookie]);
  return set_cookie.substr(0, set_cookie.find(';'));
}

TEST_F(BigPeerServerTest, CookieStateChangesNeedTheSameOriginJsonAndTheSessionsCsrfToken) {
  seed(dir_.path(), {{"__small_peer_info", spi_doc("pkCsrf", "till-1", "2026-11-20T10:00:00.000Z")}});
  auto& bp = start();
  const std::string target = "/api/v1/devices/pkCsrf/log-requests";
  const auto cookie = log_in(bp);
  const auto session = send(bp, http::verb::get, "/api/v1/session", {{"Cookie", cookie}});
  ASSERT_EQ(session.result_int(), 200u) << session.body();
  simdjson::dom::parser parser;
  const std::string token(std::string_view(parse(parser, session.body())["csrf_token"]));
  const std::string origin = fmt::format("http://127.0.0.1:{}", bp.port());
  const std::map<std::string, std::string> good = {
      {"Cookie", cookie}, {"Origin", origin}, {"Content-Type", "application/json"}, {"X-CSRF-Token", token}};
  const auto with = [&](const std::map<std::string, std::string>& changes, std::initializer_list<std::string> removed = {}) {
    auto headers = good;
    for (const auto& name : removed) headers.erase(name);
    for (auto& [name, value] : changes) headers[name] = value;
    return headers;
  };
  const auto created = [&] {
    const auto list = bp.get(target);
    simdjson::dom::parser p;
    return simdjson::dom::array(parse(p, list.body)["log_requests"]).size();
  };

  // Each check refused on its own, with a 403 naming it; nothing is created.
  const std::vector<std::tuple<std::string, std::map<std::string, std::string>, std::string>> refused = {
      {"no Origin", with({}, {"Origin"}), "csrf_origin"},
      {"another port of the same host", with({{"Origin", fmt::format("http://127.0.0.1:{}", bp.port() + 1)}}), "csrf_origin"},
      {"another host", with({{"Origin", fmt::format("http://localhost:{}", bp.port())}}), "csrf_origin"},
      {"opaque origin", with({{"Origin", "null"}}), "csrf_origin"},
      {"Sec-Fetch-Site same-site", with({{"Sec-Fetch-Site", "same-site"}}), "csrf_origin"},
      {"Sec-Fetch-Site cross-site, no Origin", with({{"Sec-Fetch-Site", "cross-site"}}, {"Origin"}), "csrf_origin"},
      {"text/plain", with({{"Content-Type", "text/plain;charset=UTF-8"}}), "csrf_content_type"},
      {"a form", with({{"Content-Type", "application/x-www-form-urlencoded"}}), "csrf_content_type"},
      {"no Content-Type", with({}, {"Content-Type"}), "csrf_content_type"},
      {"no token", with({}, {"X-CSRF-Token"}), "csrf_token"},
      {"wrong token", with({{"X-CSRF-Token", std::string(token.size(), 'A')}}), "csrf_token"},
      {"the session id as token", with({{"X-CSRF-Token", cookie.substr(cookie.find('=') + 1)}}), "csrf_token"},
  };
  for (const auto& [what, headers, code] : refused) {
    const auto r = send(bp, http::verb::post, target, headers, "{}");
    EXPECT_EQ(r.result_int(), 403u) << what << ": " << r.body();
    EXPECT_EQ(error_code_of(r), code) << what;
    EXPECT_EQ(std::string(r[http::field::content_type]), "application/json") << what;
  }
  // Another session's token is not this one's.
  const auto other_cookie = log_in(bp);
  const auto other = send(bp, http::verb::get, "/api/v1/session", {{"Cookie", other_cookie}});
  simdjson::dom::parser other_parser;
  const std::string other_token(std::string_view(parse(other_parser, other.body())["csrf_token"]));
  EXPECT_NE(other_token, token);
  EXPECT_EQ(error_code_of(send(bp, http::verb::post, target, with({{"X-CSRF-Token", other_token}}), "{}")), "csrf_token");
  EXPECT_EQ(created(), 0u);

  // All three: accepted; Sec-Fetch-Site: same-origin stands in for a missing Origin.
  EXPECT_EQ(send(bp, http::verb::post, target, good, "{}").result_int(), 202u);
  EXPECT_EQ(send(bp, http::verb::post, target, with({{"Sec-Fetch-Site", "same-origin"}}, {"Origin"}), "{}").result_int(), 202u);
  // Reads need none of it.
  EXPECT_EQ(send(bp, http::verb::get, target, {{"Cookie", cookie}}).result_int(), 200u);
  // Bearer calls are unaffected: no Origin, no token, any content type.
  EXPECT_EQ(send(bp, http::verb::post, target, {{"Authorization", "Bearer " + bp.admin_token()}}, "").result_int(), 202u);
  EXPECT_EQ(created(), 3u);
  // After logout the token dies with the session.
  EXPECT_EQ(send(bp, http::verb::delete_, "/api/v1/session", {{"Cookie", cookie}}).result_int(), 204u);
  EXPECT_EQ(send(bp, http::verb::post, target, good, "{}").result_int(), 401u);
  EXPECT_EQ(created(), 3u);
}

TEST_F(BigPeerServerTest, WrongAdminTokensFromOneAddressGet429UntilTheWindowEnds) {
  auto& bp = start();
  const auto login = [&](const std::string& token) {
    return send(bp, http::verb::post, "/api/v1/session", {{"Content-Type", "application/json"}},
                fmt::format(R"({{"token":"{}"}})", token));
  };
  // A success resets the count: nine wrong, one right, then the full budget again.
  for (int i = 0; i < 9; ++i) ASSERT_EQ(login(fmt::format("guess-{}", i)).result_int(), 401u) << i;
  ASSERT_EQ(login(bp.admin_token()).result_int(), 204u);
  // Wrong bearer tokens count as well as wrong logins.
  for (int i = 0; i < 10; ++i) {
    const auto r = i % 2 == 0
                       ? login(fmt::format("guess-{}", i))
                       : send(bp, http::verb::get, "/api/v1/devices", {{"Authorization", fmt::format("Bearer guess-{}", i)}});
    ASSERT_EQ(r.result_int(), 401u) << i << ": " << r.body();
  }
  // The eleventh is refused without looking at the token, even the right one, on either path.
  for (const auto& r : {login("guess-x"), login(bp.admin_token()),
                        send(bp, http::verb::get, "/api/v1/devices", {{"Authorization", "Bearer " + bp.admin_token()}})}) {
    EXPECT_EQ(r.result_int(), 429u) << r.body();
    EXPECT_EQ(error_code_of(r), "too_many_attempts");
    const int retry_after = std::stoi(std::string(r[http::field::retry_after]));
    EXPECT_GE(retry_after, 1);
    EXPECT_LE(retry_after, 300);
    EXPECT_EQ(std::string(r[http::field::set_cookie]), "");
  }
  // Routes that need no credential still answer.
  EXPECT_EQ(bp.get("/api/v1/health", false).status, 200);
}

// ---------------------------------------------------------------------------------------------
// Small peers on /sync (core's session, against the real process).

/// A small peer's side of one session, driven from the test.
class SmallPeerClient {
 public:
  SmallPeerClient(const std::filesystem::path& dir, std::string app_id, std::string app_token)
      : identity_(PeerIdentity::load_or_create(dir / "identity.key")),
        store_(open_store(dir / "small.sqlite3", identity_.peer_key())) {
    config_.local_role = PeerRole::small_peer;
    config_.app_id = std::move(app_id);
    config_.app_token = std::move(app_token);
    config_.identity = &identity_;
    config_.device_name = "test-device";
    config_.store = store_.get();
    config_.scope_of = [](std::string_view c) {
      return c == kSmallPeerInfoCollection ? SyncScope::big_peer_only : SyncScope::all_peers;
    };
    config_.on_established = [this](sync::Session&, const sync::PeerInfo&) { established_.set_value(); };
    config_.on_closed = [this](sync::Session&, const sync::SessionEnd& end) { ended_.set_value(end); };
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  ~SmallPeerClient() {
    if (session_) session_->close("test over");
    if (ended_future_.valid()) ended_future_.wait_for(5s);
    session_.reset();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  /// Connects to `url` and starts the session.
  void connect(const std::string& url, const std::filesystem::path& ca_file = {}) {
    std::promise<std::shared_ptr<sync::Session>> session;
    sync::connect_websocket(io_, sync::parse_websocket_url(url), 5s, sync::TlsClientOptions{ca_file.string()},
                            [&](std::shared_ptr<sync::FrameChannel> c, const std::string& error) {
                              if (!c) ADD_FAILURE() << error;
                              // Started on the channel's strand, as the sync engine does.
                              session.set_value(c ? sync::Session::start(config_, std::move(c)) : nullptr);
                            });
    session_ = session.get_future().get();
    ASSERT_TRUE(session_);
  }
  bool wait_established(std::chrono::milliseconds t = 10s) {
    return established_future_.wait_for(t) == std::future_status::ready;
  }
  std::optional<sync::SessionEnd> wait_ended(std::chrono::milliseconds t = 10s) {
    if (ended_future_.wait_for(t) != std::future_status::ready) return std::nullopt;
    return ended_future_.get();
  }
  void close() { session_->close("test closes"); }
  Store& store() { return *store_; }
  const std::string& peer_key() const { return identity_.peer_key(); }

 private:
  PeerIdentity identity_;
  std::unique_ptr<Store> store_;
  sync::SessionConfig config_;
  std::promise<void> established_;
  std::future<void> established_future_ = established_.get_future();
  std::promise<sync::SessionEnd> ended_;
  std::future<sync::SessionEnd> ended_future_ = ended_.get_future();
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::shared_ptr<sync::Session> session_;
};

// Polls `condition` until it holds or `timeout` passes.
template <class F>
bool eventually(F&& condition, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

int64_t metric(const BigPeerProcess& bp, const std::string& name) {
  const auto body = bp.get("/metrics", false).body;
  const auto at = body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(body.substr(at + name.size() + 2));
}

// Plain HTTP connections have a thread of their own, so the API answers while every sync thread
// is busy (here: held), and a /sync upgrade moves its socket to the sync threads.
TEST(BigPeerThreadsTest, TheApiAnswersWhileTheSyncThreadsAreHeldAndUpgradesMoveToThem) {
  TempDir dir("bigpeer-threads");
  BigPeerOptions options;
  options.listen = "127.0.0.1:0";
  options.data_dir = dir.path() / "big-peer";
  options.admin_token = "threads-admin-token";
  options.threads = 1;
  options.handle_signals = false;
  auto big_peer = BigPeer::start(options);
  const auto port = big_peer->endpoint().port();

  std::promise<void> held;
  std::promise<void> release;
  auto released = release.get_future().share();
  boost::asio::post(big_peer->sync_executor(), [&held, released] {
    held.set_value();
    released.wait();
  });
  held.get_future().wait();
  struct Release {  // lets the sync thread go even if an assertion below returns early
    std::promise<void>& release;
    bool done = false;
    void now() {
      if (!std::exchange(done, true)) release.set_value();
    }
    ~Release() { now(); }
  } let_go{release};

  const auto health = test_support::http_request(port, http::verb::get, "/api/v1/health", std::nullopt, {}, {}, 3s);
  EXPECT_EQ(health.status, 200) << health.body;
  const auto devices = test_support::http_request(port, http::verb::get, "/api/v1/devices", "threads-admin-token", {}, {}, 3s);
  EXPECT_EQ(devices.status, 200) << devices.body;

  TempDir small("bigpeer-threads-small");
  SmallPeerClient client(small.path(), options.app_id, options.app_token);
  client.store().upsert(kSmallPeerInfoCollection, spi_doc(client.peer_key(), "moved-device", "2026-04-01T12:00:00.000Z", 1));
  client.connect(fmt::format("ws://127.0.0.1:{}/sync", port));
  EXPECT_FALSE(client.wait_established(300ms)) << "the session ran although the only sync thread was held";
  let_go.now();
  ASSERT_TRUE(client.wait_established());
  EXPECT_TRUE(eventually([&] {
    return test_support::http_get(port, "/api/v1/devices/" + client.peer_key(), "threads-admin-token")
               .body.find("moved-device") != std::string::npos;
  }));
  client.close();
  EXPECT_TRUE(client.wait_ended());
  big_peer->shutdown();
}

TEST_F(BigPeerServerTest, WebSocketGarbageOnSyncIsDroppedAndHttpKeepsServing) {
  auto& bp = start();
  namespace websocket = boost::beast::websocket;
  boost::asio::io_context io;
  websocket::stream<boost::beast::tcp_stream> ws(io);
  boost::beast::get_lowest_layer(ws).connect({boost::asio::ip::make_address("127.0.0.1"), bp.port()});
  ws.handshake("127.0.0.1", "/sync");
  ws.binary(true);
  ws.write(boost::asio::buffer(std::string("\x00\x00\x00\x02\x63garbage", 12)));
  // The server answers with an error frame at most, then closes; reading must end in an error.
  boost::beast::flat_buffer buffer;
  boost::beast::get_lowest_layer(ws).expires_after(10s);
  std::promise<boost::beast::error_code> closed;
  std::function<void()> read_until_closed = [&] {
    ws.async_read(buffer, [&](boost::beast::error_code e, size_t) {
      if (e) return closed.set_value(e);
      buffer.clear();
      read_until_closed();
    });
  };
  read_until_closed();
  io.run();
  const auto why = closed.get_future().get();
  EXPECT_NE(why, boost::beast::error::timeout) << "the server kept a connection that spoke garbage";
  EXPECT_EQ(bp.get("/api/v1/health", false).status, 200);
  EXPECT_TRUE(eventually([&] { return metric(bp, "smallpeer_rule_violations_total") == 1; }));
  EXPECT_EQ(metric(bp, "smallpeer_connections"), 0);
}

TEST_F(BigPeerServerTest, AWrongAppTokenOrAppIdIsRefusedWithTheReason) {
  auto& bp = start();
  {
    TempDir small("bigpeer-small");
    SmallPeerClient client(small.path(), bp.app_id(), "not-the-token");
    client.connect(bp.sync_url());
    const auto end = client.wait_ended();
    ASSERT_TRUE(end);
    EXPECT_TRUE(end->auth_failed);
    EXPECT_EQ(end->reason, "wrong app token");
  }
  {
    TempDir small("bigpeer-small");
    SmallPeerClient client(small.path(), "other-app", bp.app_token());
    client.connect(bp.sync_url());
    const auto end = client.wait_ended();
    ASSERT_TRUE(end);
    EXPECT_TRUE(end->auth_failed);
    // Each side refuses the other's HELLO; which refusal the client records first depends on timing.
    EXPECT_TRUE(end->reason.starts_with("unknown app id '")) << end->reason;
  }
  EXPECT_EQ(metric(bp, "smallpeer_sessions_total"), 0);
  EXPECT_TRUE(eventually([&] { return metric(bp, "smallpeer_auth_refusals_total") == 2; }));
}

TEST_F(BigPeerServerTest, ASmallPeersReportIsIngestedAndItsDeviceShowsOnline) {
  auto& bp = start();
  TempDir small("bigpeer-small");
  SmallPeerClient client(small.path(), bp.app_id(), bp.app_token());
  client.store().upsert(kSmallPeerInfoCollection, spi_doc(client.peer_key(), "sync-device", "2026-04-01T12:00:00.000Z", 3));
  client.store().upsert("cars", R"({"_id":"from-small","wheels":2})");
  client.connect(bp.sync_url());
  ASSERT_TRUE(client.wait_established());

  simdjson::dom::parser parser;
  const std::string device_url = "/api/v1/devices/" + client.peer_key();
  ASSERT_TRUE(eventually([&] {
    const auto r = bp.get(device_url);
    return r.status == 200 && r.body.find("\"small_peer_info\":{") != std::string::npos;
  })) << bp.get(device_url).body;
  auto device = parse(parser, bp.get(device_url).body);
  EXPECT_TRUE(bool(device["online"]));
  EXPECT_EQ(std::string_view(device["device_name"]), "sync-device");
  EXPECT_EQ(int64_t(device["connection"]["sessions"]), 1);
  EXPECT_EQ(int64_t(device["small_peer_info"]["sequence"]), 3);
  EXPECT_TRUE(eventually([&] { return bp.get("/api/v1/collections/cars/documents/from-small").status == 200; }));

  const auto online = parse(parser, bp.get("/api/v1/devices?online=true").body);
  EXPECT_EQ(ids_of(online["devices"].get_array().value(), "peer_key"), std::vector<std::string>{client.peer_key()});
  EXPECT_EQ(metric(bp, "smallpeer_connections"), 1);
  EXPECT_EQ(metric(bp, "smallpeer_sessions_total"), 1);
  EXPECT_EQ(metric(bp, "smallpeer_spi_reports_total"), 1);
  EXPECT_GE(metric(bp, "smallpeer_documents_ingested_total"), 2);

  client.close();
  ASSERT_TRUE(client.wait_ended());
  ASSERT_TRUE(eventually([&] { return metric(bp, "smallpeer_connections") == 0; }));
  device = parse(parser, bp.get(device_url).body);
  EXPECT_FALSE(bool(device["online"]));
  EXPECT_FALSE(is_null(device["last_disconnected_at"]));
  EXPECT_EQ(std::string_view(device["last_seen"]), std::string_view(device["last_disconnected_at"]));
  const auto offline = parse(parser, bp.get("/api/v1/devices?online=false").body);
  EXPECT_EQ(ids_of(offline["devices"].get_array().value(), "peer_key"), std::vector<std::string>{client.peer_key()});

  // Everything acknowledged is still there after a SIGTERM.
  EXPECT_EQ(bp.stop().code, 0);
  auto store = open_big_peer_store(dir_.path());
  EXPECT_TRUE(store->get(kSmallPeerInfoCollection, client.peer_key()));
  EXPECT_TRUE(store->get("cars", "from-small"));
}

// The Big Peer's sessions share one SessionConfig, and each finds its own connection (registry id,
// handshake ticket) in its owner data: ending one session takes exactly its device offline.
TEST_F(BigPeerServerTest, SessionsSharingOneConfigEachEndTheirOwnConnection) {
  auto& bp = start();
  TempDir first_dir("bigpeer-shared-first");
  TempDir second_dir("bigpeer-shared-second");
  SmallPeerClient first(first_dir.path(), bp.app_id(), bp.app_token());
  SmallPeerClient second(second_dir.path(), bp.app_id(), bp.app_token());
  first.connect(bp.sync_url());
  second.connect(bp.sync_url());
  ASSERT_TRUE(first.wait_established());
  ASSERT_TRUE(second.wait_established());
  simdjson::dom::parser parser;
  const auto online = [&](const SmallPeerClient& client) {
    return bool(parse(parser, bp.get("/api/v1/devices/" + client.peer_key()).body)["online"]);
  };
  ASSERT_TRUE(eventually([&] { return metric(bp, "smallpeer_connections") == 2; }));
  EXPECT_TRUE(online(first));
  EXPECT_TRUE(online(second));

  first.close();
  ASSERT_TRUE(first.wait_ended());
  ASSERT_TRUE(eventually([&] { return metric(bp, "smallpeer_connections") == 1; }));
  EXPECT_FALSE(online(first));
  EXPECT_TRUE(online(second));
  second.close();
  ASSERT_TRUE(second.wait_ended());
  ASSERT_TRUE(eventually([&] { return metric(bp, "smallpeer_connections") == 0; }));
  EXPECT_FALSE(online(second));
  EXPECT_EQ(metric(bp, "smallpeer_sessions_total"), 2);
}

TEST_F(BigPeerServerTest, ADevicesHistoryKeepsItsLastReportsWithTheMissedOnesCounted) {
  BigPeerProcessOptions options;
  options.extra_args = {"--history-reports", "3"};
  auto& bp = start(options);
  TempDir small("bigpeer-history");
  SmallPeerClient client(small.path(), bp.app_id(), bp.app_token());
  client.connect(bp.sync_url());
  ASSERT_TRUE(client.wait_established());
  const std::string device_url = "/api/v1/devices/" + client.peer_key();
  simdjson::dom::parser parser;
  // Each report is stored before the next is written, as a device reporting every interval would be,
  // and is a second later by the device's clock (several may share the Big Peer's millisecond).
  int reports_written = 0;
  const auto report = [&](int sequence) {
    const auto reported_at = fmt::format("2026-04-01T12:00:{:02}.000Z", reports_written++);
    client.store().upsert(kSmallPeerInfoCollection, spi_doc(client.peer_key(), "history-device", reported_at, sequence));
    return eventually([&] {
      const auto r = bp.get(device_url);
      return r.status == 200 && r.body.find(fmt::format(R"("sequence":{},)", sequence)) != std::string::npos;
    });
  };
  const auto sequences = [&](const std::string& query = "") {
    const auto r = bp.get(device_url + "/history" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<int64_t> out;
    const simdjson::dom::array reports = parse(parser, r.body)["reports"].get_array().value();
    for (auto row : reports) out.push_back(int64_t(row["sequence"]));
    return out;
  };
  for (int sequence : {1, 2, 5, 6}) ASSERT_TRUE(report(sequence)) << sequence;
  // Three kept: 5 took the slot of 2 (5 mod 3 = 2 mod 3). 3 and 4 never arrived: missed.
  EXPECT_EQ(sequences(), (std::vector<int64_t>{1, 5, 6}));
  auto history = parse(parser, bp.get(device_url + "/history").body);
  EXPECT_EQ(int64_t(history["missed"]), 3);
  const simdjson::dom::array reports = history["reports"].get_array().value();
  EXPECT_EQ(int64_t(reports.at(1)["missed_before"]), 3);
  EXPECT_EQ(int64_t(reports.at(1)["connections"]["WebSocket"]), 1);
  EXPECT_FALSE(reports.at(1)["metadata"].error() == simdjson::SUCCESS) << "free text is not copied into history rows";
  EXPECT_FALSE(reports.at(1)["device_name"].error() == simdjson::SUCCESS);
  ASSERT_TRUE(report(7));
  EXPECT_EQ(sequences(), (std::vector<int64_t>{5, 6, 7}));
  // A reinstalled app starts its sequence again: shown as a reset, not as missed reports.
  ASSERT_TRUE(report(0));
  history = parse(parser, bp.get(device_url + "/history").body);
  const simdjson::dom::array after_reset = history["reports"].get_array().value();
  EXPECT_TRUE(bool(after_reset.at(after_reset.size() - 1)["sequence_reset"]));

  // The window: nothing received before a day ago.
  const auto day_ago = format_rfc3339(SystemClock().now() - 24h);
  EXPECT_TRUE(sequences("?until=" + day_ago).empty());
  EXPECT_EQ(sequences("?since=" + day_ago).size(), 3u);
  for (const std::string query : {"since=yesterday", "until=2026-13-01T00:00:00Z", "since="}) {
    const auto r = bp.get(fmt::format("{}/history?{}", device_url, query));
    EXPECT_EQ(r.status, 400) << query;
    EXPECT_NE(r.body.find("must be an RFC 3339 time"), std::string::npos) << r.body;
  }
  const auto reversed = bp.get(device_url + "/history?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z");
  EXPECT_EQ(reversed.status, 400);
  EXPECT_NE(reversed.body.find("since must not be later than until"), std::string::npos) << reversed.body;
  EXPECT_EQ(bp.get("/api/v1/devices/pkNobody/history").status, 404);
  // History rows are the Big Peer's own: not counted as ingested documents.
  EXPECT_EQ(metric(bp, "smallpeer_documents_ingested_total"), 6);
}

// A session's cursor goes with its first batch, then with the first after each interval (an hour
// here): it lags, never runs ahead, and a reconnect resends what it does not cover.
TEST_F(BigPeerServerTest, ASessionsCursorIsStoredWithItsFirstBatchThenOncePerIntervalAndAReconnectResendsTheRest) {
  BigPeerProcessOptions options;
  options.extra_args = {"--sync-cursor-interval-ms", "3600000"};
  auto& bp = start(options);
  TempDir small("bigpeer-cursors");
  std::optional<SmallPeerClient> client;
  client.emplace(small.path(), bp.app_id(), bp.app_token());
  client->connect(bp.sync_url());
  ASSERT_TRUE(client->wait_established());
  const std::string peer_key = client->peer_key();
  const Document first = client->store().upsert("cars", R"({"_id":"first"})");
  ASSERT_TRUE(eventually([&] { return metric(bp, "smallpeer_documents_ingested_total") == 1; }));
  client->store().upsert("cars", R"({"_id":"second"})");
  ASSERT_TRUE(eventually([&] { return metric(bp, "smallpeer_documents_ingested_total") == 2; }));
  client->close();
  ASSERT_TRUE(client->wait_ended());
  client.reset();
  ASSERT_EQ(bp.stop().code, 0);
  {
    auto store = open_big_peer_store(dir_.path());
    EXPECT_TRUE(store->get("cars", "second"));
    EXPECT_EQ(store->setting("sync.cursors/" + peer_key), fmt::format("cars\t{}\n", first.stored_at.value));
  }

  auto& again = start(options);
  client.emplace(small.path(), again.app_id(), again.app_token());
  client->connect(again.sync_url());
  ASSERT_TRUE(client->wait_established());
  // "second" comes again, "first" does not; the merge keeps what the store had.
  ASSERT_TRUE(eventually([&] { return metric(again, "smallpeer_documents_ingested_total") == 1; }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(metric(again, "smallpeer_documents_ingested_total"), 1);
  EXPECT_EQ(metric(again, "smallpeer_connections"), 1);
}

TEST_F(BigPeerServerTest, SigtermClosesLiveSessionsAndExitsZero) {
  auto& bp = start();
  TempDir small("bigpeer-small");
  SmallPeerClient client(small.path(), bp.app_id(), bp.app_token());
  client.store().upsert(kSmallPeerInfoCollection, spi_doc(client.peer_key(), "leaving", "2026-04-01T12:00:00.000Z"));
  client.connect(bp.sync_url());
  ASSERT_TRUE(client.wait_established());
  ASSERT_TRUE(eventually([&] { return metric(bp, "smallpeer_spi_reports_total") == 1; }));
  const auto exit = bp.stop();
  EXPECT_TRUE(exit.exited);
  EXPECT_EQ(exit.code, 0);
  EXPECT_LT(exit.took, 5s);
  EXPECT_TRUE(client.wait_ended(5s));
  auto store = open_big_peer_store(dir_.path());
  EXPECT_TRUE(store->get(kSmallPeerInfoCollection, client.peer_key()));
}

TEST_F(BigPeerServerTest, WithACertificateItServesHttpsAndWssOnly) {
  TempDir certs("bigpeer-certs");
  BigPeerProcessOptions options;
  options.tls_cert = certs.path() / "cert.pem";
  options.tls_key = certs.path() / "key.pem";
  test_support::write_self_signed_certificate(options.tls_cert, options.tls_key);
  auto& bp = start(options);
  EXPECT_NE(bp.output().front().find("https://127.0.0.1:"), std::string::npos);
  EXPECT_EQ(bp.get("/api/v1/health", false).status, 200);
  EXPECT_EQ(bp.get("/api/v1/devices").status, 200);
  EXPECT_EQ(bp.get("/api/v1/devices", false).status, 401);
  // Plain HTTP on the TLS port gets no answer, and the server keeps serving.
  EXPECT_EQ(test_support::raw_exchange(bp.port(), "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n", 3s).find("HTTP/1.1 200"),
            std::string::npos);

  TempDir small("bigpeer-small");
  SmallPeerClient client(small.path(), bp.app_id(), bp.app_token());
  client.store().upsert(kSmallPeerInfoCollection, spi_doc(client.peer_key(), "tls-device", "2026-04-01T12:00:00.000Z"));
  client.connect(bp.sync_url(), options.tls_cert);
  ASSERT_TRUE(client.wait_established());
  EXPECT_TRUE(
      eventually([&] { return bp.get("/api/v1/devices/" + client.peer_key()).body.find("tls-device") != std::string::npos; }));
  EXPECT_EQ(metric(bp, "smallpeer_connections"), 1);
}

TEST_F(BigPeerServerTest, ACertificateWithoutItsKeyIsRefused) {
  TempDir certs("bigpeer-certs");
  test_support::write_self_signed_certificate(certs.path() / "cert.pem", certs.path() / "key.pem");
  BigPeerProcessOptions options;
  options.extra_args = {"--tls-cert", (certs.path() / "cert.pem").string()};
  try {
    start(options);
    FAIL() << "started with a certificate and no key";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("TLS needs both a certificate (--tls-cert) and its key (--tls-key)"), std::string::npos)
        << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// In-process: group commit, the registry and the checks.

Document replicated(const std::string& collection, const std::string& id, uint16_t counter = 0) {
  const auto millis = static_cast<uint64_t>(to_unix_millis(std::chrono::system_clock::now()));
  return Document{collection, id, R"({"_id":")" + id + R"("})", {HlcTimestamp::from_parts(millis, counter), "pkRemote"},
                  false,      {}};
}

class BigPeerIngestTest : public ::testing::Test {
 protected:
  ~BigPeerIngestTest() override {
    if (!released_flag_) release();
    queue_.reset();
  }
  // Submits a batch whose completion holds the writer thread until release() and waits until it
  // does, so everything submitted meanwhile is queued together and forms the next groups.
  void hold_writer() {
    queue_->submit({replicated("cars", "holder")}, {}, [this](const std::exception_ptr& /*error*/) { released_.wait(); });
    ASSERT_TRUE(eventually([&] { return metrics_.ingest_batches.load() == 1; }));
  }
  void release() {
    released_flag_ = true;
    release_.set_value();
  }

  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
  bool released_flag_ = false;
  TempDir dir_{"bigpeer-ingest"};
  std::unique_ptr<Store> store_ = open_store(dir_.path() / "big.sqlite3", "pkBig");
  BigPeerMetrics metrics_;
  std::unique_ptr<IngestQueue> queue_ = std::make_unique<IngestQueue>(*store_, metrics_);
};

TEST_F(BigPeerIngestTest, BatchesFromManySessionsCommitTogether) {
  hold_writer();
  constexpr int kThreads = 4, kBatchesPerThread = 25, kDocsPerBatch = 10;
  std::atomic<int> done{0}, failed{0};
  std::vector<std::thread> sessions;
  sessions.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    sessions.emplace_back([&, t] {
      for (int b = 0; b < kBatchesPerThread; ++b) {
        std::vector<Document> docs;
        docs.reserve(kDocsPerBatch);
        for (int d = 0; d < kDocsPerBatch; ++d) docs.push_back(replicated("cars", fmt::format("t{}-b{}-d{}", t, b, d)));
        queue_->submit(std::move(docs), {{fmt::format("cursor/{}", t), std::to_string(b)}}, [&](const std::exception_ptr& e) {
          if (e) ++failed;
          ++done;
        });
      }
    });
  }
  for (auto& s : sessions) s.join();
  EXPECT_EQ(queue_->queued_documents(), uint64_t{kThreads} * kBatchesPerThread * kDocsPerBatch);
  release();
  ASSERT_TRUE(eventually([&] { return done.load() == kThreads * kBatchesPerThread; }));
  EXPECT_EQ(failed.load(), 0);
  // 1,000 queued documents fit in one group: one transaction after the holder's.
  EXPECT_EQ(metrics_.ingest_batches.load(), 2u);
  EXPECT_GT(metrics_.ingest_commit_microseconds.load(), 0u);  // the store's time on them
  EXPECT_EQ(metrics_.documents_ingested.load(), uint64_t{1 + kThreads * kBatchesPerThread * kDocsPerBatch});
  EXPECT_EQ(store_->user_collection_counts(10).at("cars"), uint64_t{1 + kThreads * kBatchesPerThread * kDocsPerBatch});
  // Each session's last cursor wins.
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(store_->setting(fmt::format("cursor/{}", t)), std::to_string(kBatchesPerThread - 1));
  }
  EXPECT_EQ(queue_->queued_documents(), 0u);
}

TEST_F(BigPeerIngestTest, AGroupStopsAtTheDocumentLimitWithoutSplittingABatch) {
  queue_ = std::make_unique<IngestQueue>(*store_, metrics_, 50);
  hold_writer();
  std::atomic<int> done{0};
  for (int b = 0; b < 10; ++b) {
    std::vector<Document> docs;
    docs.reserve(20);
    for (int d = 0; d < 20; ++d) docs.push_back(replicated("cars", fmt::format("b{}-d{}", b, d)));
    queue_->submit(std::move(docs), {}, [&](const std::exception_ptr& /*error*/) { ++done; });
  }
  release();
  ASSERT_TRUE(eventually([&] { return done.load() == 10; }));
  // Two 20-document batches per group of at most 50: five groups after the holder's.
  EXPECT_EQ(metrics_.ingest_batches.load(), 6u);
}

// Under load (the last group held at least an eighth of the group limit), the writer waits for
// half a group before it commits. The gather wait here is four minutes (a minute per quarter), so
// only the queue reaching half a group, or stop(), ends it within the test.
TEST_F(BigPeerIngestTest, UnderLoadTheWriterGathersHalfAGroupAndStopEndsTheWait) {
  queue_ = std::make_unique<IngestQueue>(*store_, metrics_, 40, nullptr, nullptr, std::chrono::minutes(4));
  hold_writer();
  // Shared with the callbacks, which may run after this test's body if an assertion ends it.
  const auto done = std::make_shared<std::atomic<int>>(0);
  const auto submit = [&](const std::string& name, int count) {
    std::vector<Document> docs;
    docs.reserve(static_cast<size_t>(count));
    for (int d = 0; d < count; ++d) docs.push_back(replicated("cars", fmt::format("{}-{}", name, d)));
    queue_->submit(std::move(docs), {}, [done](const std::exception_ptr& e) {
      if (!e) ++*done;
    });
  };
  submit("a", 10);
  release();  // the holder's group was one document: not under load, so batch a commits at once
  ASSERT_TRUE(eventually([&] { return done->load() == 1; }));
  EXPECT_EQ(metrics_.ingest_batches.load(), 2u);
  submit("b", 5);  // after a group of 10 (>= 40 / 8): the writer waits for 20
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(queue_->queued_documents(), 5u);
  EXPECT_EQ(done->load(), 1);
  submit("c", 15);  // 20 queued: b and c commit together
  ASSERT_TRUE(eventually([&] { return done->load() == 3; }));
  EXPECT_EQ(metrics_.ingest_batches.load(), 3u);
  submit("d", 1);  // gathers again (the last group was 20); stop() commits it without waiting
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(done->load(), 3);
  const auto stopping = std::chrono::steady_clock::now();
  queue_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 30s) << "stop() waited for the gather";
  EXPECT_EQ(done->load(), 4);
  EXPECT_EQ(store_->user_collection_counts(10).at("cars"), 32u);  // the holder, a, b, c and d
}

// A gather ends after a quarter of its wait in which nothing arrived: a fleet too small to fill
// half a group does not make every commit wait the whole of it (12 s here; a quarter is 3 s).
TEST_F(BigPeerIngestTest, AGatherInWhichNothingArrivesEndsAfterAQuarterOfItsWait) {
  queue_ = std::make_unique<IngestQueue>(*store_, metrics_, 40, nullptr, nullptr, std::chrono::seconds(12));
  const auto done = std::make_shared<std::atomic<int>>(0);
  std::vector<Document> docs;
  docs.reserve(10);
  for (int d = 0; d < 10; ++d) docs.push_back(replicated("cars", fmt::format("a-{}", d)));
  queue_->submit(std::move(docs), {}, [done](const std::exception_ptr& e) {
    if (!e) ++*done;
  });
  ASSERT_TRUE(eventually([&] { return done->load() == 1; }));  // the first group: nothing to gather after
  const auto submitted = std::chrono::steady_clock::now();
  queue_->submit({replicated("cars", "b")}, {}, [done](const std::exception_ptr& e) {
    if (!e) ++*done;
  });  // after a group of 10: gathers, and nothing more comes
  ASSERT_TRUE(eventually([&] { return done->load() == 2; }, 20s));
  const auto waited = std::chrono::steady_clock::now() - submitted;
  EXPECT_GE(waited, 2s) << "it did not gather at all";
  EXPECT_LT(waited, 9s) << "it waited the whole gather";
}

// Under light load (small groups) a batch commits at once, even with an hour's gather wait.
TEST_F(BigPeerIngestTest, UnderLightLoadNothingWaitsToGather) {
  queue_ = std::make_unique<IngestQueue>(*store_, metrics_, IngestQueue::kDefaultMaxGroupDocuments, nullptr, nullptr,
                                         std::chrono::hours(1));
  for (int i = 0; i < 3; ++i) {
    const auto committed = std::make_shared<std::promise<std::exception_ptr>>();
    auto f = committed->get_future();
    queue_->submit({replicated("cars", fmt::format("d{}", i))}, {},
                   [committed](const std::exception_ptr& e) { committed->set_value(e); });
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready) << "batch " << i;
    EXPECT_FALSE(f.get());
  }
}

TEST_F(BigPeerIngestTest, ABadBatchFailsAloneAndTheOthersAreStored) {
  hold_writer();
  std::promise<std::exception_ptr> a, bad, c;
  queue_->submit({replicated("cars", "a")}, {}, [&](const std::exception_ptr& e) { a.set_value(e); });
  Document spoofed = replicated("cars", "b");
  spoofed.json = R"({"_id":"not-b"})";
  queue_->submit({replicated("cars", "b2"), spoofed}, {}, [&](const std::exception_ptr& e) { bad.set_value(e); });
  // Refused at once, on the submitting thread, while the writer is still held: never queued.
  auto refused = bad.get_future();
  ASSERT_EQ(refused.wait_for(0s), std::future_status::ready);
  const auto why = refused.get();
  ASSERT_TRUE(why);
  try {
    std::rethrow_exception(why);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(R"(does not match its id "b")"), std::string::npos) << e.what();
  }
  EXPECT_EQ(queue_->queued_documents(), 1u);
  queue_->submit({replicated(std::string(kSmallPeerInfoCollection), "pkC")}, {},
                 [&](const std::exception_ptr& e) { c.set_value(e); });
  release();
  EXPECT_FALSE(a.get_future().get());
  EXPECT_FALSE(c.get_future().get());
  EXPECT_TRUE(store_->get("cars", "a"));
  EXPECT_FALSE(store_->get("cars", "b2"));  // the bad batch is all or nothing
  EXPECT_TRUE(store_->get(kSmallPeerInfoCollection, "pkC"));
  EXPECT_EQ(metrics_.ingest_failures.load(), 1u);
  EXPECT_EQ(metrics_.spi_reports.load(), 1u);
}

TEST_F(BigPeerIngestTest, StopCommitsEverythingQueuedAndRefusesLaterBatches) {
  hold_writer();
  std::atomic<int> committed{0};
  for (int i = 0; i < 100; ++i) {
    queue_->submit({replicated("cars", fmt::format("d{}", i))}, {}, [&](const std::exception_ptr& e) {
      if (!e) ++committed;
    });
  }
  auto stopping = std::async(std::launch::async, [&] { queue_->stop(); });
  std::this_thread::sleep_for(50ms);
  release();
  stopping.get();
  EXPECT_EQ(committed.load(), 100);
  EXPECT_EQ(store_->user_collection_counts(10).at("cars"), 101u);
  std::exception_ptr late;
  queue_->submit({replicated("cars", "late")}, {}, [&](const std::exception_ptr& e) { late = e; });
  ASSERT_TRUE(late);
  EXPECT_FALSE(store_->get("cars", "late"));
}

TEST(BigPeerRegistryTest, TracksSessionsPerPeerAndLastDisconnect) {
  ConnectionRegistry registry;
  const TimePoint t0 = std::chrono::system_clock::now();
  const auto first = registry.add("10.0.0.1:1000");
  const auto pending = registry.add("10.0.0.2:2000");
  ASSERT_TRUE(first && pending);
  EXPECT_FALSE(registry.peer("pkA"));
  auto hello = std::make_shared<sync::PeerInfo>();
  hello->peer_key = "pkA";
  hello->device_name = "dev-a";
  hello->sdk_language = "Python";
  registry.established(*first, hello, t0);
  EXPECT_EQ(registry.established_count(), 1u);
  auto state = registry.peer("pkA");
  ASSERT_TRUE(state);
  EXPECT_TRUE(state->online);
  EXPECT_EQ(state->device_name, "dev-a");
  EXPECT_EQ(state->remote_address, "10.0.0.1:1000");
  EXPECT_EQ(state->connected_at, t0);

  // The same peer reconnects before its old session ends.
  const auto second = registry.add("10.0.0.1:1001");
  registry.established(*second, hello, t0 + 1s);
  EXPECT_EQ(registry.peer("pkA")->sessions, 2u);
  EXPECT_EQ(registry.remove(*second, t0 + 2s).peer_key, "pkA");
  state = registry.peer("pkA");
  EXPECT_TRUE(state->online);
  EXPECT_EQ(state->remote_address, "10.0.0.1:1000");
  registry.remove(*first, t0 + 3s);
  state = registry.peer("pkA");
  EXPECT_FALSE(state->online);
  EXPECT_EQ(state->disconnected_at, t0 + 3s);
  EXPECT_EQ(registry.established_count(), 0u);
  EXPECT_EQ(registry.peers().size(), 1u);

  EXPECT_FALSE(registry.wait_until_empty(10ms));  // the pending handshake
  registry.close_all("bye");
  EXPECT_FALSE(registry.add("10.0.0.3:3000"));
  EXPECT_TRUE(registry.remove(*pending, t0 + 4s).peer_key.empty());
  EXPECT_TRUE(registry.wait_until_empty(10ms));
}

TEST(BigPeerChecksTest, AuthorizeRefusesAnotherBigPeer) {
  BigPeerMetrics metrics;
  SyncEndpoint endpoint(SyncEndpointConfig{.app_id = "app-1", .app_token = "secret", .metrics = &metrics});
  sync::Hello hello;
  hello.app_id = "app-1";
  EXPECT_EQ(endpoint.authorize(hello), std::nullopt);
  hello.role = PeerRole::big_peer;
  EXPECT_TRUE(endpoint.authorize(hello));

  EXPECT_EQ(SyncEndpoint::scope_of(kSmallPeerInfoCollection), SyncScope::big_peer_only);
  EXPECT_EQ(SyncEndpoint::scope_of("cars"), SyncScope::all_peers);
  EXPECT_EQ(SyncEndpoint::scope_of("__other"), SyncScope::local_peer_only);
}

TEST(BigPeerChecksTest, ListenAddressesAndBearerTokensParse) {
  EXPECT_EQ(parse_listen_address("127.0.0.1:0"), std::make_pair(std::string("127.0.0.1"), uint16_t{0}));
  EXPECT_EQ(parse_listen_address("[::1]:8080"), std::make_pair(std::string("::1"), uint16_t{8080}));
  EXPECT_EQ(parse_listen_address("localhost:65535"), std::make_pair(std::string("localhost"), uint16_t{65535}));
  for (const char* bad : {"127.0.0.1", ":80", "host:65536", "host:80x", "host:", "[::1]8080", "[::1"}) {
    EXPECT_THROW(parse_listen_address(bad), Error) << bad;
  }
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer abc "), "abc");
  EXPECT_EQ(bearer_token("Basic abc"), std::nullopt);
  EXPECT_EQ(bearer_token("Bearer "), std::nullopt);
  EXPECT_EQ(bearer_token("Bearerabc"), std::nullopt);
  EXPECT_TRUE(constant_time_equal("same", "same"));
  EXPECT_FALSE(constant_time_equal("same", "sane"));
  EXPECT_FALSE(constant_time_equal("same", "same!"));
}

// Issue 17, finding 2: a store poisoned by a far-future HLC (as versions before the clock bound
// stored it) kept a device's reports losing last-writer-wins forever; `smallpeer repair-clock`
// re-stamps the poisoned rows, keeping their content, and the reports flow again.
TEST(RepairClock, HealsAStorePoisonedBeforeClocksWereBounded) {
  UserLogOutput::instance().set_console_enabled(false);
  TempDir dir("repair-clock");
  const auto data = dir.path() / "big-peer";
  std::filesystem::create_directories(data);
  const auto open_device = [&](const std::string& transport) {
    DittoConfig config;
    config.persistence_dir = dir.path() / "device";
    config.identity = {IdentityConfig::Kind::online_playground, "smallpeer-demo", "demo-token"};
    auto d = Ditto::open(config);
    if (!transport.empty()) d->set_transport_config(transport);
    return d;
  };
  std::string key;
  {
    auto device = open_device("");
    key = device->peer_key();
    device->close();
  }
  const std::string url = test_support::postgres_backend() ? test_support::PostgresServer::shared().database_for(data) : "";
  {
    // Today's code: a clock that absorbs any remote HLC.
    auto unbounded = std::make_shared<HybridLogicalClock>(std::make_shared<SystemClock>(), std::chrono::hours(24 * 365 * 9000));
    std::unique_ptr<Store> store = url.empty() ? Store::open(data / "bigpeer.sqlite3", unbounded, "pkSeeder")
                                               : std::make_unique<PostgresStore>(url, unbounded, "pkSeeder");
    // Far beyond the bound yet below 2^63 - 2: on PostgreSQL the old store clock row overflowed
    // BIGINT (every write failed) once it reached the top, so no store could be seeded there.
    const HlcTimestamp top{uint64_t{1} << 62};
    const HlcTimestamp near_top{top.value - 1};
    store->merge_batch({Document{"orders", "poison", R"({"_id":"poison","n":7})", {top, "pkAttacker"}, false, top},
                        Document{std::string(kSmallPeerInfoCollection),
                                 key,
                                 fmt::format(R"({{"_id":"{}","sequence":99}})", key),
                                 {near_top, key},
                                 false,
                                 near_top}},
                       {});
    if (url.empty()) {
      // On SQLite the device enrollment records have a store of their own: repaired too.
      auto devices = Store::open(data / "devices.sqlite3", unbounded, "pkSeeder");
      devices->merge_batch(
          {Document{"__device_activity", key, fmt::format(R"({{"_id":"{}"}})", key), {top, "pkSeeder"}, false, top}}, {});
    }
  }
  std::string command = fmt::format("{} repair-clock --data '{}'", SMALLPEER_CLI, data.string());
  if (!url.empty()) command += fmt::format(" --postgres '{}'", url);
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 256> chunk{};
  while (::fgets(chunk.data(), chunk.size(), pipe) != nullptr) output += chunk.data();
  ASSERT_EQ(::pclose(pipe), 0) << output;
  EXPECT_NE(output.find("re-stamped 2 document(s)"), std::string::npos) << output;
  if (url.empty()) {
    EXPECT_NE(output.find("re-stamped 1 document(s) in " + (data / "devices.sqlite3").string()), std::string::npos) << output;
  }

  BigPeerProcess big_peer({.data_dir = data});
  const auto poison = big_peer.get("/api/v1/collections/orders/documents/poison");
  EXPECT_EQ(poison.status, 200);
  EXPECT_NE(poison.body.find(R"("n":7)"), std::string::npos) << "the newest content is kept: " << poison.body;
  auto device = open_device(big_peer.transport_json());
  device->small_peer_info().set_interval(1h);
  device->small_peer_info().set_sync_scope(SyncScope::big_peer_only);
  device->small_peer_info().set_enabled(true);
  device->start_sync();
  while (device->small_peer_info().sequence() < 3) device->small_peer_info().collect_now();
  const auto target = fmt::format("/api/v1/collections/{}/documents/{}", kSmallPeerInfoCollection, key);
  bool arrived = false;
  for (int i = 0; i < 100 && !arrived; ++i) {
    arrived = big_peer.get(target).body.find(R"("sequence":3)") != std::string::npos;
    if (!arrived) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(arrived) << big_peer.get(target).body;
  device->close();
}

// A Big Peer on SQLite keeps device enrollment records in devices.sqlite3, apart from its main
// store (bigpeer/enrollments.h): those a main store kept from before move over, 1,000 at a time,
// each written before it is deleted; a move cut short by a crash ends on the next; a record the
// device store already has is kept; and a record stamped far ahead (a store poisoned before clocks
// were bounded) moves with its state, where a merge would have skipped it.
TEST(EnrollmentRecords, MoveFromTheMainStoreOnceEvenAfterACrash) {
  TempDir dir("enrollment-move");
  // A clock that absorbs any HLC, as a Big Peer's before clocks were bounded.
  auto unbounded = std::make_shared<HybridLogicalClock>(std::make_shared<SystemClock>(), std::chrono::hours(24 * 365 * 9000));
  auto main_store = Store::open(dir.path() / "bigpeer.sqlite3", unbounded, "pkSeeder");
  auto devices = open_store(dir.path() / "devices.sqlite3");
  main_store->upsert("__audit_log", R"({"_id":"a1","action":"device.revoke"})");  // not a record: stays
  for (int i = 0; i < 2'500; ++i) {
    const auto key = fmt::format("pk{:04}", i);
    main_store->upsert("__device_enrollments",
                       fmt::format(R"({{"_id":"{0}","peer_key":"{0}","state":"{1}","first_seen":"2026-12-01T10:00:00.000Z"}})",
                                   key, i % 7 == 0 ? "revoked" : "approved"));
    if (i % 2 == 0) {
      main_store->upsert("__device_activity", fmt::format(R"({{"_id":"{}","address":"10.0.0.{}:4000"}})", key, i % 250));
    }
  }
  const HlcTimestamp far{uint64_t{1} << 62};
  main_store->merge_batch(
      {Document{"__device_enrollments",
                "pkPoisoned",
                R"({"_id":"pkPoisoned","peer_key":"pkPoisoned","state":"revoked","first_seen":"2026-12-01T10:00:00.000Z"})",
                {far, "pkSeeder"},
                false,
                far}},
      {});
  // A crash after the first page was written and before it was deleted: the copies are there; and
  // since then pk0001 was revoked in the device store.
  const auto first_page = main_store->list("__device_enrollments", 1000);
  devices->merge_batch(first_page.documents, {});
  devices->upsert("__device_enrollments",
                  R"({"_id":"pk0001","peer_key":"pk0001","state":"revoked","first_seen":"2026-12-01T10:00:00.000Z"})");

  EXPECT_EQ(bigpeer::Enrollments::move_records(*main_store, *devices), 2'501u + 1'250u - 1'000u);
  EXPECT_TRUE(main_store->list("__device_enrollments", 10).documents.empty());
  EXPECT_TRUE(main_store->list("__device_activity", 10).documents.empty());
  EXPECT_TRUE(main_store->get("__audit_log", "a1").has_value());
  size_t enrollments = 0;
  for (Page page = devices->list("__device_enrollments", 1000);;
       page = devices->list("__device_enrollments", 1000, *page.next_after)) {
    enrollments += page.documents.size();
    if (!page.next_after) break;
  }
  EXPECT_EQ(enrollments, 2'501u);
  bigpeer::Enrollments records(*devices, std::make_shared<SystemClock>(), {});
  EXPECT_FALSE(records.allowed("pk0014")) << "revoked before the move";
  EXPECT_FALSE(records.allowed("pk0001")) << "revoked in the device store after a first start";
  EXPECT_FALSE(records.allowed("pkPoisoned")) << "stamped far ahead, revoked";
  EXPECT_TRUE(records.allowed("pk0002"));
  const auto activity = records.get("pk2498");
  ASSERT_TRUE(activity.has_value());
  EXPECT_EQ(activity->last_address, "10.0.0.248:4000");
  // Nothing left to move: a second start moves nothing.
  EXPECT_EQ(bigpeer::Enrollments::move_records(*main_store, *devices), 0u);
}

// Without devices.sqlite3, a Big Peer whose records went there would enroll every device anew,
// revoked ones included: it refuses to start, naming the file, and changes nothing.
TEST(EnrollmentRecords, AMissingDeviceStoreIsRefusedNotStartedEmpty) {
  if (test_support::postgres_backend()) GTEST_SKIP() << "PostgreSQL keeps the records in the shared database";
  UserLogOutput::instance().set_console_enabled(false);
  TempDir dir("enrollment-missing");
  BigPeerOptions options;
  options.listen = "127.0.0.1:0";
  options.data_dir = dir.path() / "big-peer";
  options.admin_token = "missing-admin-token";
  options.handle_signals = false;
  BigPeer::start(options)->shutdown();
  for (const auto* name : {"devices.sqlite3", "devices.sqlite3-wal", "devices.sqlite3-shm"}) {
    std::filesystem::remove(options.data_dir / name);
  }
  try {
    BigPeer::start(options);
    ADD_FAILURE() << "started without its device enrollment records";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_NE(std::string(e.what()).find((options.data_dir / "devices.sqlite3").string() + ", which is missing"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(options.data_dir / "devices.sqlite3"));
}

// Records a Big Peer kept before devices.sqlite3 keep their state when it starts again: a revoked
// device stays refused, the operator's change and the last handshake stay as they were. On SQLite
// they move to devices.sqlite3 (and are gone from the main store); on PostgreSQL, where every node
// must see them, they stay in the shared database.
TEST(EnrollmentRecords, ABigPeerFromBeforeKeepsEveryRecordsState) {
  UserLogOutput::instance().set_console_enabled(false);
  TempDir dir("enrollment-upgrade");
  const auto data = dir.path() / "big-peer";
  std::filesystem::create_directories(data);
  DittoConfig config;
  config.persistence_dir = dir.path() / "tablet";
  config.identity = {IdentityConfig::Kind::online_playground, "smallpeer-demo", "demo-token"};
  std::string key;
  {
    auto device = Ditto::open(config);
    key = device->peer_key();
    device->close();
  }
  seed(data,
       {{"__device_enrollments",
         fmt::format(R"({{"_id":"{0}","peer_key":"{0}","state":"revoked","first_seen":"2026-12-01T10:00:00.000Z",)"
                     R"("first_address":"10.0.0.7:4000","changed_at":"2026-12-02T09:00:00.000Z","changed_by":"admin token"}})",
                     key)},
        {"__device_activity", fmt::format(R"({{"_id":"{}","last_seen":"2026-12-02T08:00:00.000Z","address":"10.0.0.7:4001",)"
                                          R"("device_name":"tablet"}})",
                                          key)}});
  {
    BigPeerProcess big_peer({.data_dir = data});
    const auto record = big_peer.get("/api/v1/enrollments/" + key);
    ASSERT_EQ(record.status, 200) << record.body;
    for (const auto* part : {R"("state":"revoked")", R"("first_address":"10.0.0.7:4000")", R"("last_address":"10.0.0.7:4001")",
                             R"("changed_by":"admin token")", R"("device_name":"tablet")"}) {
      EXPECT_NE(record.body.find(part), std::string::npos) << part << " in " << record.body;
    }
    auto device = Ditto::open(config);
    device->set_transport_config(big_peer.transport_json());
    device->start_sync();
    const bool was_refused = test_support::wait_until([&] {
      for (const auto& e : device->presence().snapshot().big_peer_history) {
        if (e.kind == BigPeerConnectionEvent::Kind::auth_failed && e.reason.find("device revoked") != std::string::npos) {
          return true;
        }
      }
      return false;
    });
    EXPECT_TRUE(was_refused) << "a device revoked before the upgrade is refused after it";
    EXPECT_FALSE(device->presence().snapshot().connected_to_big_peer());
    device->close();
  }
  if (test_support::postgres_backend()) {
    EXPECT_TRUE(open_big_peer_store(data)->get("__device_enrollments", key).has_value());
    return;
  }
  EXPECT_FALSE(open_store(data / "bigpeer.sqlite3")->get("__device_enrollments", key).has_value());
  EXPECT_FALSE(open_store(data / "bigpeer.sqlite3")->get("__device_activity", key).has_value());
  const auto moved = open_store(data / "devices.sqlite3")->get("__device_enrollments", key);
  ASSERT_TRUE(moved.has_value());
  EXPECT_NE(moved->json.find(R"("state":"revoked")"), std::string::npos) << moved->json;
}

// The cluster balance (docs/DEPLOY.md, "Spreading sessions"): only a node above its fair share plus
// the slack sheds, only its own excess, a tenth of the share at most per round.
TEST(SessionBalanceTest, OnlyANodeAboveItsShareShedsAndOnlyAFewAtATime) {
  // 300 on three nodes: fair 100, limit 102.
  auto b = plan_balance(110, {95, 95});
  EXPECT_EQ(b.total, 300u);
  EXPECT_EQ(b.nodes, 3u);
  EXPECT_EQ(b.fair, 100u);
  EXPECT_EQ(b.limit, 102u);
  EXPECT_EQ(b.shed, 8u);                            // down to the limit, not below
  EXPECT_EQ(plan_balance(102, {99, 99}).shed, 0u);  // within the slack: nothing moves
  EXPECT_EQ(plan_balance(95, {110, 95}).shed, 0u);  // below the share: never sheds
  // A node restarted empty: the others shed toward it, ten per round each.
  b = plan_balance(150, {150, 0});
  EXPECT_EQ(b.fair, 100u);
  EXPECT_EQ(b.shed, 10u);
  // A single node, or no devices: nothing to balance.
  EXPECT_EQ(plan_balance(300, {}).shed, 0u);
  EXPECT_EQ(plan_balance(0, {0, 0}).shed, 0u);
  // A small fleet: the slack and the round are at least one device.
  b = plan_balance(5, {1});
  EXPECT_EQ(b.fair, 3u);
  EXPECT_EQ(b.limit, 4u);
  EXPECT_EQ(b.shed, 1u);
}

// The audit log's retention on the Big Peer's own store (SQLite, or PostgreSQL as postgres:): the
// newest entries within the count and the age stay, the rest is deleted outright (no tombstones).
TEST(AuditLogTest, PruneKeepsTheNewestWithinCountAndAgeAndLeavesNoTombstones) {
  TempDir dir("audit-log");
  std::filesystem::create_directories(dir.path() / "big-peer");
  auto store = open_big_peer_store(dir.path() / "big-peer");
  auto clock = std::make_shared<ManualClock>();
  BigPeerMetrics metrics;
  AuditLog audit(*store, clock, AuditRetention{.max_entries = 3, .max_age = std::chrono::hours(48)}, &metrics);
  for (int i = 0; i < 5; ++i) {
    audit.record(
        AuditEntry{.actor = "admin token", .action = "device.revoke", .target = fmt::format("pk{}", i), .address = "127.0.0.1"});
    clock->advance(std::chrono::seconds(1));
  }
  EXPECT_EQ(metrics.audit_entries.load(), 5u);
  const auto before = audit.list(10, "");
  ASSERT_EQ(before.entries.size(), 5u);
  EXPECT_EQ(before.entries.front().target, "pk4");  // newest first
  EXPECT_EQ(audit.prune(), 2u);
  const auto kept = audit.list(10, "");
  ASSERT_EQ(kept.entries.size(), 3u);
  EXPECT_EQ(kept.entries.front().target, "pk4");
  EXPECT_EQ(kept.entries.back().target, "pk2");
  EXPECT_FALSE(store->get(kAuditCollection, before.entries.back().id, true)) << "a pruned entry left a tombstone";
  // Paging: after the first entry comes the second.
  const auto second = audit.list(1, kept.entries.front().id);
  ASSERT_EQ(second.entries.size(), 1u);
  EXPECT_EQ(second.entries.front().target, "pk3");

  clock->advance(std::chrono::hours(72));
  audit.record(AuditEntry{.actor = "session 0a1b2c3d", .action = "login", .address = "10.0.0.9"});
  EXPECT_EQ(audit.prune(), 3u);  // past the age
  const auto last = audit.list(10, "");
  ASSERT_EQ(last.entries.size(), 1u);
  EXPECT_EQ(last.entries.front().action, "login");
  EXPECT_EQ(audit.prune(), 0u);
  // Only system collections may be purged.
  const std::vector<std::string> ids{"a"};
  EXPECT_THROW(store->purge_system("cars", ids), Error);
}

}  // namespace
}  // namespace smallpeer::bigpeer
