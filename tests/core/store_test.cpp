#include "store/store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <simdjson.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <limits>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "clock/clock.h"
#include "clock/hlc.h"
#include "common/error.h"
#include "store/store_support.h"
#include "support/expect_error.h"
#include "support/sqlite_inspect.h"
#include "support/temp_dir.h"

extern char** environ;

namespace smallpeer {
namespace {

using namespace std::chrono_literals;

using test_support::expect_error;
using test_support::TempDir;

class StoreTest : public ::testing::Test {
 protected:
  // Each open gets a fresh HLC, as a restarted process would.
  std::unique_ptr<Store> open(const std::string& peer = "peer-a") {
    return Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), peer);
  }
  [[nodiscard]] std::filesystem::path db_path() const { return dir_.path() / "store.db"; }
  // A version `ms_ahead` milliseconds past the manual clock, as a remote peer would stamp it.
  [[nodiscard]] Version remote_version(int64_t ms_ahead, std::string origin, uint16_t counter = 0) const {
    const auto millis = static_cast<uint64_t>(to_unix_millis(clock_->now()) + ms_ahead);
    return {HlcTimestamp::from_parts(millis, counter), std::move(origin)};
  }
  static Document remote_doc(std::string collection, std::string id, std::string json, Version version, bool deleted = false) {
    return {std::move(collection), std::move(id), std::move(json), std::move(version), deleted};
  }
  // The Small Peer Info document `id`, padded to ~`pad` bytes, one millisecond ahead from `id`.
  [[nodiscard]] Document padded_report(const std::string& id, size_t pad) const {
    return remote_doc("__small_peer_info", id, R"({"_id":")" + id + R"(","pad":")" + std::string(pad, 'x') + "\"}",
                      remote_version(1, id));
  }
  // kLongBatchDocs Small Peer Info documents of ~650 bytes: about a second of merging, so a write
  // made 50 ms after it starts arrives during it.
  static constexpr int kLongBatchDocs = 30'000;
  [[nodiscard]] std::vector<Document> long_batch() const {
    std::vector<Document> batch;
    for (int i = 0; i < kLongBatchDocs; ++i) {
      batch.push_back(padded_report(fmt::format("pk{:05}", i), 600));
    }
    return batch;
  }

  TempDir dir_;
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
};

// "type name" of every table and index in the file (plus " WITHOUT ROWID" where so), sorted;
// SQLite's automatic key indexes left out.
std::vector<std::string> schema_of(const std::filesystem::path& path) {
  sqlite3* raw = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  std::vector<std::string> out;
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(raw, "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name", -1,
                               &stmt, nullptr),
            SQLITE_OK);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    std::string line = std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))) + " " +
                       reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1));
    if (std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 2))).find("WITHOUT ROWID") !=
        std::string_view::npos)
      line += " WITHOUT ROWID";
    out.push_back(std::move(line));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(raw);
  return out;
}

std::vector<std::string> ids_of(const std::vector<Document>& docs) {
  std::vector<std::string> ids;
  for (const auto& d : docs) ids.push_back(d.id);
  return ids;
}

TEST_F(StoreTest, UpsertStoresMinifiedJsonAndGetReturnsIt) {
  auto store = open();
  const auto doc = store->upsert("cars", R"( { "_id" : "car-1", "make" : "Volvo  XC", "price": 1.50,
                                             "big": 12345678901234567890, "esc": "a\"b\u00e9" } )");
  EXPECT_EQ(doc.id, "car-1");
  // Numbers and escapes stay exactly as written; only whitespace outside strings goes.
  EXPECT_EQ(doc.json, R"({"_id":"car-1","make":"Volvo  XC","price":1.50,"big":12345678901234567890,"esc":"a\"b\u00e9"})");
  EXPECT_EQ(doc.version.origin, "peer-a");
  EXPECT_FALSE(doc.deleted);

  const auto got = store->get("cars", "car-1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->collection, "cars");
  EXPECT_EQ(got->json, doc.json);
  EXPECT_EQ(got->version, doc.version);
  EXPECT_FALSE(got->deleted);
  EXPECT_FALSE(store->get("cars", "car-2"));
  EXPECT_FALSE(store->get("boats", "car-1"));
}

TEST_F(StoreTest, MinifiedTextIsStoredAsItIsAndOtherTextMinified) {
  auto store = open();
  // Minified already, with whitespace inside strings next to punctuation (", ", ": ", "[ ").
  const std::string minified = R"({"_id":"a","note":"one, two: [ three ]","tab":"\t","s":" x ","n":[1,{"k":"v v"}]})";
  EXPECT_EQ(store->upsert("notes", minified).json, minified);
  // The same members with whitespace between tokens: only that whitespace goes.
  const auto spaced = store->upsert("notes",
                                    "\n{ \"_id\":\"a\" ,\"note\" :\"one, two: [ three ]\",\"tab\":\"\\t\",\"s\":\" x \",\r\n"
                                    "\"n\":[ 1 ,{\"k\":\"v v\"}\t] }\n");
  EXPECT_EQ(spaced.json, minified);
  // Whitespace in a string far from punctuation alone keeps the text as it is.
  EXPECT_EQ(store->upsert("notes", R"({"_id":"b","name":"a b c"})").json, R"({"_id":"b","name":"a b c"})");
}

TEST_F(StoreTest, UpsertWithSameIdReplacesWithNewerVersion) {
  auto store = open();
  const auto first = store->upsert("cars", R"({"_id":"c","v":1})");
  const auto second = store->upsert("cars", R"({"_id":"c","v":2})");
  EXPECT_GT(second.version, first.version);
  EXPECT_EQ(store->get("cars", "c")->json, R"({"_id":"c","v":2})");
  EXPECT_EQ(store->list("cars", 10).documents.size(), 1u);
}

TEST_F(StoreTest, UpsertGeneratesRandomIdAsFirstMember) {
  auto store = open();
  const auto a = store->upsert("cars", R"({"make":"Saab"})");
  const auto b = store->upsert("cars", "{}");
  ASSERT_EQ(a.id.size(), 32u);
  EXPECT_TRUE(std::all_of(a.id.begin(), a.id.end(), [](char c) { return std::isxdigit(c) && !std::isupper(c); }));
  EXPECT_NE(a.id, b.id);
  EXPECT_EQ(a.json, R"({"_id":")" + a.id + R"(","make":"Saab"})");
  EXPECT_EQ(b.json, R"({"_id":")" + b.id + R"("})");
  EXPECT_EQ(store->get("cars", a.id)->json, a.json);
}

TEST_F(StoreTest, RejectsDocumentsThatAreNotObjectsAndChangesNothing) {
  auto store = open();
  const auto existing = store->upsert("cars", R"({"_id":"keep","v":1})");
  expect_error([&] { store->upsert("cars", "[1,2]"); }, ErrorCode::validation, "must be a JSON object, got an array");
  expect_error([&] { store->upsert("cars", R"("text")"); }, ErrorCode::validation, "must be a JSON object, got a string");
  expect_error([&] { store->upsert("cars", "42"); }, ErrorCode::validation, "must be a JSON object, got a number");
  expect_error([&] { store->upsert("cars", "null"); }, ErrorCode::validation, "must be a JSON object, got null");
  expect_error([&] { store->upsert("cars", ""); }, ErrorCode::validation, "must be a JSON object");
  expect_error([&] { store->upsert("cars", R"({"_id":"keep",)"); }, ErrorCode::validation, "not valid JSON");
  expect_error([&] { store->upsert("new", R"({"a":1} {"b":2})"); }, ErrorCode::validation, "not valid JSON");

  EXPECT_EQ(store->changes_since("cars", {}).size(), 1u);
  EXPECT_EQ(store->get("cars", "keep")->version, existing.version);
  EXPECT_EQ(store->collection_names(false), std::vector<std::string>{"cars"});
}

TEST_F(StoreTest, RejectsIdsThatAreNotNonEmptyStringsAndChangesNothing) {
  auto store = open();
  const auto existing = store->upsert("cars", R"({"_id":"7","v":1})");
  expect_error([&] { store->upsert("cars", R"({"_id":7,"v":2})"); }, ErrorCode::validation,
               "\"_id\" must be a string, got a number");
  expect_error([&] { store->upsert("cars", R"({"_id":["7"]})"); }, ErrorCode::validation,
               "\"_id\" must be a string, got an array");
  expect_error([&] { store->upsert("cars", R"({"_id":null})"); }, ErrorCode::validation, "\"_id\" must be a string, got null");
  expect_error([&] { store->upsert("cars", R"({"_id":""})"); }, ErrorCode::validation, "must not be empty");
  expect_error([&] { store->upsert("cars", R"({"_id":"7","_id":"8"})"); }, ErrorCode::validation, "more than one \"_id\"");

  const auto docs = store->changes_since("cars", {});
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].json, existing.json);
  EXPECT_EQ(docs[0].version, existing.version);
}

TEST_F(StoreTest, CollectionNamesMustBeOneTo256BytesWithoutNul) {
  auto store = open();
  expect_error([&] { store->upsert("", "{}"); }, ErrorCode::invalid_argument, "1 to 256 bytes, got 0");
  expect_error([&] { store->upsert(std::string(257, 'c'), "{}"); }, ErrorCode::invalid_argument, "got 257");
  expect_error([&] { store->upsert(std::string("a\0b", 3), "{}"); }, ErrorCode::invalid_argument, "NUL");
  expect_error([&] { (void)store->get("", "x"); }, ErrorCode::invalid_argument, "collection name");
  EXPECT_NO_THROW(store->upsert(std::string(256, 'c'), "{}"));
  EXPECT_TRUE(Store::is_system_collection("__small_peer_info"));
  EXPECT_FALSE(Store::is_system_collection("_cars"));
  EXPECT_FALSE(Store::is_system_collection("cars__"));
}

TEST_F(StoreTest, RemoveLeavesATombstoneThatReplicates) {
  auto store = open();
  const auto doc = store->upsert("cars", R"({"_id":"c","v":1})");
  EXPECT_TRUE(store->remove("cars", "c"));

  EXPECT_FALSE(store->get("cars", "c"));
  const auto tombstone = store->get("cars", "c", /*include_deleted=*/true);
  ASSERT_TRUE(tombstone);
  EXPECT_TRUE(tombstone->deleted);
  EXPECT_EQ(tombstone->json, "");
  EXPECT_GT(tombstone->version, doc.version);

  const auto changes = store->changes_since("cars", doc.version.hlc);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(changes[0].deleted);
  EXPECT_EQ(changes[0].id, "c");
  EXPECT_TRUE(store->list("cars", 10).documents.empty());

  EXPECT_FALSE(store->remove("cars", "c"));
  EXPECT_FALSE(store->remove("cars", "never-existed"));
  EXPECT_EQ(store->get("cars", "c", true)->version, tombstone->version);

  store->upsert("cars", R"({"_id":"c","v":2})");
  EXPECT_EQ(store->get("cars", "c")->json, R"({"_id":"c","v":2})");
}

TEST_F(StoreTest, ListPagesByIdSkippingTombstones) {
  auto store = open();
  std::vector<int> order(25);
  for (int i = 0; i < 25; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(42));
  for (int i : order) store->upsert("cars", R"({"_id":"doc-)" + std::string(i < 10 ? "0" : "") + std::to_string(i) + "\"}");
  store->remove("cars", "doc-13");

  std::vector<std::string> seen;
  std::vector<size_t> sizes;
  std::string after;
  for (int guard = 0; guard < 10; ++guard) {
    const auto page = store->list("cars", 10, after);
    sizes.push_back(page.documents.size());
    for (const auto& d : page.documents) seen.push_back(d.id);
    if (!page.next_after) break;
    EXPECT_EQ(*page.next_after, page.documents.back().id);
    after = *page.next_after;
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 10, 4}));
  ASSERT_EQ(seen.size(), 24u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::count(seen.begin(), seen.end(), "doc-13"), 0);

  // A page that ends exactly at the last document says so, instead of leading to an empty page.
  const auto first = store->list("cars", 12);
  const auto second = store->list("cars", 12, *first.next_after);
  EXPECT_EQ(second.documents.size(), 12u);
  EXPECT_FALSE(second.next_after);

  EXPECT_TRUE(store->list("boats", 10).documents.empty());
  expect_error([&] { (void)store->list("cars", 0); }, ErrorCode::invalid_argument, "limit");
}

TEST_F(StoreTest, ChangesSinceReturnsNewerChangesInHlcOrder) {
  auto store = open();
  const auto a = store->upsert("cars", R"({"_id":"a"})");
  clock_->advance(5ms);
  const auto b = store->upsert("cars", R"({"_id":"b"})");
  store->upsert("boats", R"({"_id":"x"})");
  clock_->advance(5ms);
  const auto a2 = store->upsert("cars", R"({"_id":"a","v":2})");

  EXPECT_EQ(ids_of(store->changes_since("cars", {})), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(ids_of(store->changes_since("cars", b.version.hlc)), std::vector<std::string>{"a"});
  EXPECT_EQ(store->changes_since("cars", b.version.hlc)[0].json, a2.json);
  EXPECT_TRUE(store->changes_since("cars", a2.version.hlc).empty());
  EXPECT_LT(a.version, b.version);
}

TEST_F(StoreTest, ChangesSinceFollowsStoredAtSoARelayNeverSkipsAnOlderMergedVersion) {
  auto relay = open("relay");
  clock_->advance(60s);
  const auto local = relay->upsert("cars", R"({"_id":"local"})");
  // A document written a minute ago elsewhere arrives after the relay's own write: its version is
  // older than the cursor a neighbour already holds, but it was stored later, so it must be sent.
  ASSERT_TRUE(relay->merge(remote_doc("cars", "old", R"({"_id":"old"})", remote_version(-60'000, "far-away"))));
  const auto after_local = relay->changes_since("cars", local.stored_at);
  ASSERT_EQ(ids_of(after_local), std::vector<std::string>{"old"});
  EXPECT_GT(after_local[0].stored_at, local.stored_at);
  EXPECT_LT(after_local[0].version.hlc, local.version.hlc) << "the version stays the writer's";
  EXPECT_EQ(relay->changes_since("cars", {}, 1).size(), 1u) << "limit caps the page";
}

TEST_F(StoreTest, MergeBatchStoresWinnersAndCursorsInOneTransaction) {
  auto store = open();
  store->upsert("cars", R"({"_id":"mine"})");
  std::vector<std::string> heard;
  store->observe_all([&](const Change& c) { heard.push_back(c.collection + "/" + c.id); });
  const std::vector<Document> batch = {
      remote_doc("cars", "new", R"({"_id":"new"})", remote_version(1000, "b")),
      remote_doc("cars", "mine", R"({"_id":"mine","old":true})", remote_version(-100'000, "b")),
      remote_doc("__small_peer_info", "pkB", R"({"_id":"pkB"})", remote_version(1000, "pkB")),
  };
  const auto applied = store->merge_batch(batch, {{"cursor/b/cars", "42"}});
  EXPECT_EQ(applied, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(store->setting("cursor/b/cars"), "42");
  EXPECT_EQ(heard, (std::vector<std::string>{"cars/new", "__small_peer_info/pkB"}));

  // One bad document fails the whole batch, cursor included.
  const std::vector<Document> bad = {remote_doc("cars", "x", R"({"_id":"x"})", remote_version(2000, "b")),
                                     remote_doc("cars", "y", R"({"_id":"not-y"})", remote_version(2000, "b"))};
  EXPECT_THROW(store->merge_batch(bad, {{"cursor/b/cars", "99"}}), Error);
  EXPECT_FALSE(store->get("cars", "x").has_value());
  EXPECT_EQ(store->setting("cursor/b/cars"), "42");
}

TEST_F(StoreTest, MigratesASchemaVersionOneDatabase) {
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "CREATE TABLE user_documents(collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT, hlc INTEGER NOT "
                           "NULL, origin TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(collection, id)) WITHOUT "
                           "ROWID; CREATE TABLE system_documents(collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT, hlc "
                           "INTEGER NOT NULL, origin TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, PRIMARY "
                           "KEY(collection, id)) WITHOUT ROWID; CREATE TABLE settings(key TEXT PRIMARY KEY NOT NULL, value "
                           "TEXT NOT NULL) WITHOUT ROWID; INSERT INTO user_documents VALUES('cars','v1','{\"_id\":\"v1\"}',"
                           "77,'old-peer',0); PRAGMA user_version=1;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  auto store = open();
  const auto doc = store->get("cars", "v1");
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ(doc->stored_at.value, 77u) << "existing rows take their version as stored_at";
  EXPECT_EQ(ids_of(store->changes_since("cars", {})), std::vector<std::string>{"v1"});
  EXPECT_EQ(test_support::sqlite_integrity_check(db_path()), "ok");
  store.reset();
  EXPECT_EQ(schema_of(db_path()), (std::vector<std::string>{
                                      "index user_documents_by_hlc",
                                      "index user_documents_by_stored_at",
                                      "table settings WITHOUT ROWID",
                                      "table system_documents",
                                      "table user_documents",
                                  }))
      << "version 4: documents in rowid tables, no secondary index on system documents";
}

TEST_F(StoreTest, MigratesASchemaVersionTwoDatabaseKeepingEveryRow) {
  {
    auto store = open();  // today's schema, then rebuilt below as version 2 left it
    store.reset();
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "DROP TABLE user_documents; DROP TABLE system_documents; "
                           "CREATE TABLE user_documents(collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT, hlc INTEGER "
                           "NOT NULL, origin TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, stored_at INTEGER NOT NULL "
                           "DEFAULT 0, PRIMARY KEY(collection, id)) WITHOUT ROWID; "
                           "CREATE TABLE system_documents(collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT, hlc INTEGER "
                           "NOT NULL, origin TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, stored_at INTEGER NOT NULL "
                           "DEFAULT 0, PRIMARY KEY(collection, id)) WITHOUT ROWID; "
                           "CREATE INDEX system_documents_by_hlc ON system_documents(collection, hlc, deleted); "
                           "INSERT INTO user_documents VALUES('cars','c1','{\"_id\":\"c1\"}',80,'old-peer',0,81); "
                           "INSERT INTO user_documents VALUES('cars','c2',NULL,82,'old-peer',1,83); "
                           "INSERT INTO system_documents VALUES('__small_peer_info','pk1','{\"_id\":\"pk1\"}',84,'pk1',0,85); "
                           "PRAGMA user_version=2;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  auto store = open();
  const auto c1 = store->get("cars", "c1");
  ASSERT_TRUE(c1.has_value());
  EXPECT_EQ(c1->json, R"({"_id":"c1"})");
  EXPECT_EQ(c1->version.hlc.value, 80u);
  EXPECT_EQ(c1->stored_at.value, 81u);
  const auto c2 = store->get("cars", "c2", true);
  ASSERT_TRUE(c2.has_value());
  EXPECT_TRUE(c2->deleted) << "tombstones survive the rebuild";
  const auto spi = store->get("__small_peer_info", "pk1");
  ASSERT_TRUE(spi.has_value());
  EXPECT_EQ(spi->stored_at.value, 85u);
  EXPECT_EQ(ids_of(store->changes_since("cars", {})), (std::vector<std::string>{"c1", "c2"}));
  EXPECT_EQ(ids_of(store->changes_since("__small_peer_info", {})), std::vector<std::string>{"pk1"});
  EXPECT_EQ(store->user_collection_counts(10).at("cars"), 1u);
  EXPECT_EQ(test_support::sqlite_integrity_check(db_path()), "ok");
}

TEST_F(StoreTest, MigratesASchemaVersionThreeDatabaseDroppingTheSystemStoredAtIndex) {
  {
    auto store = open();
    store->upsert("__small_peer_info", R"({"_id":"pk1","n":1})");
    store->upsert("cars", R"({"_id":"c1"})");
    store.reset();
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "CREATE INDEX system_documents_by_stored_at ON system_documents(collection, stored_at); "
                           "PRAGMA user_version=3;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  auto store = open();
  EXPECT_EQ(store->get("__small_peer_info", "pk1")->json, R"({"_id":"pk1","n":1})");
  EXPECT_EQ(store->get("cars", "c1")->json, R"({"_id":"c1"})");
  store.reset();
  const auto schema = schema_of(db_path());
  EXPECT_EQ(std::count(schema.begin(), schema.end(), "index system_documents_by_stored_at"), 0);
  EXPECT_EQ(std::count(schema.begin(), schema.end(), "index user_documents_by_stored_at"), 1);
}

// The rows of `collection` in the shared system_documents table, read beside the store.
int64_t shared_rows_of(const std::filesystem::path& path, const std::string& collection) {
  return std::stoll(
      test_support::sqlite_pragma(path, fmt::format("SELECT count(*) FROM system_documents WHERE collection='{}'", collection)));
}

TEST_F(StoreTest, AnOwnTableServesEveryReadAndWriteOfItsCollection) {
  StoreOptions options;
  options.own_tables = {"__history"};
  auto store = Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), "peer-a", options);
  std::vector<std::string> heard;
  store->observe("__history", [&](const Change& c) { heard.push_back(c.id); });
  store->upsert("__history", R"({"_id":"k:1","n":1})");
  store->upsert("__other", R"({"_id":"o"})");
  ASSERT_TRUE(store->merge(remote_doc("__history", "k:2", R"({"_id":"k:2","n":2})", remote_version(1, "peer-b"))));
  EXPECT_FALSE(store->merge(remote_doc("__history", "k:2", R"({"_id":"k:2","n":0})", remote_version(0, "peer-b"))))
      << "an older version loses, as in the shared table";
  const auto batch = store->merge_batch({remote_doc("__history", "k:10", R"({"_id":"k:10"})", remote_version(2, "peer-b")),
                                         remote_doc("__small_peer_info", "k", R"({"_id":"k"})", remote_version(2, "k"))},
                                        {{"cursor", "1"}});
  EXPECT_EQ(batch, (std::vector<bool>{true, true}));
  EXPECT_EQ(heard, (std::vector<std::string>{"k:1", "k:2", "k:10"}));

  EXPECT_EQ(store->get("__history", "k:2")->json, R"({"_id":"k:2","n":2})");
  EXPECT_EQ(store->get("__history", "k:2")->version.origin, "peer-b");
  EXPECT_FALSE(store->get("__other", "k:2")) << "each collection sees only its own rows";
  EXPECT_FALSE(store->get("__history", "o"));
  const auto first = store->list("__history", 2);
  EXPECT_EQ(ids_of(first.documents), (std::vector<std::string>{"k:1", "k:10"})) << "by _id, as text";
  EXPECT_EQ(ids_of(store->list("__history", 2, *first.next_after).documents), std::vector<std::string>{"k:2"});
  EXPECT_EQ(ids_of(store->changes_since("__history", {})), (std::vector<std::string>{"k:1", "k:2", "k:10"}));

  EXPECT_TRUE(store->remove("__history", "k:1"));
  EXPECT_FALSE(store->get("__history", "k:1"));
  EXPECT_TRUE(store->get("__history", "k:1", true)->deleted);
  EXPECT_EQ(store->purge_system("__history", {"k:1", "k:2", "absent"}), 2u);
  EXPECT_FALSE(store->get("__history", "k:1", true)) << "purged outright";
  EXPECT_EQ(store->collection_names(true), (std::vector<std::string>{"__history", "__other", "__small_peer_info"}));
  EXPECT_TRUE(store->collection_names(false).empty());
  const auto cursor = store->changes_since("__history", {}).back().stored_at;
  EXPECT_EQ(store->restamp_collection("__history"), 1u);
  EXPECT_EQ(ids_of(store->changes_since("__history", cursor)), std::vector<std::string>{"k:10"});
  EXPECT_EQ(store->query_table("__history"), "collection__history");
  EXPECT_EQ(store->query_table("__other"), "");
  store.reset();

  const auto schema = schema_of(db_path());
  EXPECT_EQ(std::count(schema.begin(), schema.end(), "table collection__history"), 1);
  EXPECT_EQ(std::count(schema.begin(), schema.end(), "table keys__history"), 1);
  EXPECT_EQ(std::count(schema.begin(), schema.end(), "index collection__history_by_id"), 1);
  EXPECT_EQ(test_support::sqlite_pragma(db_path(),
                                        "SELECT \"unique\" FROM pragma_index_list('collection__history') WHERE "
                                        "name='collection__history_by_id'"),
            "0")
      << "no write searches the id index: it must not be unique";
  EXPECT_EQ(shared_rows_of(db_path(), "__history"), 0);
  EXPECT_EQ(shared_rows_of(db_path(), "__other"), 1);
  EXPECT_EQ(test_support::sqlite_integrity_check(db_path()), "ok");
}

TEST_F(StoreTest, ACollectionMovesToItsOwnTableWithEveryRowAndStaysThere) {
  Version tombstone_version;
  {
    auto store = open();
    store->upsert("__history", R"({"_id":"k:1","n":1})");
    store->upsert("__history", R"({"_id":"k:2","n":2})");
    store->remove("__history", "k:2");
    tombstone_version = store->get("__history", "k:2", true)->version;
    store->upsert("__small_peer_info", R"({"_id":"k"})");
  }
  // As a file of the version before own tables.
  ASSERT_EQ(test_support::sqlite_pragma(db_path(), "PRAGMA user_version"), "5");
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw, "PRAGMA user_version=4", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  StoreOptions options;
  options.own_tables = {"__history"};
  {
    auto store = Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), "peer-a", options);
    EXPECT_EQ(store->get("__history", "k:1")->json, R"({"_id":"k:1","n":1})");
    const auto tombstone = store->get("__history", "k:2", true);
    ASSERT_TRUE(tombstone.has_value());
    EXPECT_TRUE(tombstone->deleted) << "a tombstone moves as a tombstone";
    EXPECT_EQ(tombstone->version, tombstone_version);
    EXPECT_EQ(store->get("__small_peer_info", "k")->json, R"({"_id":"k"})") << "other collections stay where they were";
    const auto later = store->upsert("__history", R"({"_id":"k:3"})");
    EXPECT_GT(later.version.hlc, tombstone_version.hlc) << "the clock restores from the own table too";
  }
  EXPECT_EQ(test_support::sqlite_pragma(db_path(), "PRAGMA user_version"), "5");
  EXPECT_EQ(shared_rows_of(db_path(), "__history"), 0);
  // Opened without the option, the store still finds the table (a tool opening the file).
  auto store = open();
  EXPECT_EQ(ids_of(store->list("__history", 10).documents), (std::vector<std::string>{"k:1", "k:3"}));
  store->upsert("__history", R"({"_id":"k:4"})");
  store.reset();
  EXPECT_EQ(shared_rows_of(db_path(), "__history"), 0);
}

TEST_F(StoreTest, AnOwnTableRefusesIdsNotOfTheFormKeyColonNumberAndChangesNothing) {
  StoreOptions options;
  options.own_tables = {"__history"};
  auto store = Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), "peer-a", options);
  for (const std::string id : {"k:01", "k", ":1", "k:x", "k:-1", "k:1234567890123456789", "k:1 "}) {
    expect_error([&] { store->merge(remote_doc("__history", id, R"({"_id":")" + id + "\"}", remote_version(1, "peer-b"))); },
                 ErrorCode::invalid_argument,
                 fmt::format("keeps ids of the form <key>:<number> (the number in decimal, at most 18 digits, no "
                             "leading zeros), got \"{}\"",
                             id));
  }
  // Refused before the clock saw its version: the next local write is not stamped after it.
  const auto far = remote_version(3'600'000, "peer-b");
  expect_error([&] { store->merge(remote_doc("__history", "bad", R"({"_id":"bad"})", far)); }, ErrorCode::invalid_argument,
               "got \"bad\"");
  EXPECT_LT(store->upsert("__other", R"({"_id":"after"})").version.hlc, far.hlc);
  expect_error([&] { store->upsert("__history", R"({"n":1})"); }, ErrorCode::invalid_argument, "collection __history keeps ids");
  EXPECT_TRUE(store->list("__history", 10).documents.empty());
  EXPECT_EQ(store->collection_names(true), std::vector<std::string>{"__other"}) << "nothing of __history";
  EXPECT_TRUE(store->merge(remote_doc("__history", "a:b:0", R"({"_id":"a:b:0"})", remote_version(1, "peer-b"))))
      << "the key is what precedes the last colon";
  EXPECT_TRUE(store->get("__history", "a:b:0").has_value());
}

TEST_F(StoreTest, AKeyNumberedInABatchThatRolledBackIsNumberedAgain) {
  StoreOptions options;
  options.own_tables = {"__history"};
  auto store = Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), "peer-a", options);
  // The batch numbers key "a", then fails on a bad id: the number it gave "a" rolls back with it.
  expect_error(
      [&] {
        store->merge_batch({remote_doc("__history", "a:1", R"({"_id":"a:1","who":"a"})", remote_version(1, "peer-b")),
                            remote_doc("__history", "bad", R"({"_id":"bad"})", remote_version(1, "peer-b"))},
                           {});
      },
      ErrorCode::invalid_argument, "got \"bad\"");
  EXPECT_FALSE(store->get("__history", "a:1"));
  // "b" now gets the number "a" had; "a" must get a number of its own, not share it.
  ASSERT_TRUE(store->merge(remote_doc("__history", "b:1", R"({"_id":"b:1","who":"b"})", remote_version(2, "peer-b"))));
  ASSERT_TRUE(store->merge(remote_doc("__history", "a:1", R"({"_id":"a:1","who":"a"})", remote_version(3, "peer-b"))));
  ASSERT_TRUE(store->get("__history", "a:1").has_value()) << "a's write went to b's row";
  EXPECT_EQ(store->get("__history", "a:1")->json, R"({"_id":"a:1","who":"a"})");
  EXPECT_EQ(store->get("__history", "b:1")->json, R"({"_id":"b:1","who":"b"})");
  EXPECT_EQ(ids_of(store->list("__history", 10).documents), (std::vector<std::string>{"a:1", "b:1"}));
}

TEST_F(StoreTest, AFileWhoseCollectionHasAnIdOfAnotherFormIsNotMovedAndStaysReadable) {
  {
    auto store = open();
    store->upsert("__history", R"({"_id":"k:1"})");
    store->upsert("__history", R"({"_id":"odd"})");
  }
  StoreOptions options;
  options.own_tables = {"__history"};
  expect_error([&] { Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), "peer-a", options); }, ErrorCode::store,
               "moving __history to a table of its own");
  auto store = open();
  EXPECT_EQ(ids_of(store->list("__history", 10).documents), (std::vector<std::string>{"k:1", "odd"}))
      << "the move rolled back whole";
  EXPECT_EQ(shared_rows_of(db_path(), "__history"), 2);
}

TEST_F(StoreTest, AnOwnTableIsOnlyForASystemCollectionOfLettersDigitsAndUnderscores) {
  for (const std::string& name :
       std::vector<std::string>{"history", "__his'tory", "__a b", "__", std::string("__") + std::string(255, 'x')}) {
    StoreOptions options;
    options.own_tables = {name};
    expect_error([&] { Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), "peer-a", options); },
                 ErrorCode::invalid_argument, fmt::format("got \"{}\"", name));
    EXPECT_FALSE(std::filesystem::exists(db_path())) << name;
  }
  StoreOptions options;
  options.own_tables = {"__history", "__HISTORY"};
  expect_error([&] { Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), "peer-a", options); },
               ErrorCode::invalid_argument, R"(tables of their own for "__history" and "__HISTORY" would be one table)");
  EXPECT_FALSE(std::filesystem::exists(db_path()));
}

TEST_F(StoreTest, RepairClockRestampsThePoisonedRowsOfAnOwnTable) {
  StoreOptions options;
  options.own_tables = {"__history"};
  const Version top{HlcTimestamp{(uint64_t{1} << 63) - 2}, "attacker"};
  {
    auto unbounded = std::make_shared<HybridLogicalClock>(clock_, std::chrono::hours(24 * 365 * 9000));
    auto store = Store::open(db_path(), unbounded, "peer-a", options);
    ASSERT_TRUE(store->merge(remote_doc("__history", "k:1", R"({"_id":"k:1"})", top)));
  }
  auto store = Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), "peer-a", options);
  const auto wall = static_cast<uint64_t>(to_unix_millis(clock_->now()));
  EXPECT_LE(store->upsert("__history", R"({"_id":"k:2"})").version.hlc.millis(), wall + 1) << "restore skipped the poison";
  EXPECT_EQ(store->repair_clock(), 1u);
  EXPECT_LE(store->get("__history", "k:1")->version.hlc, store->clock().limit());
  EXPECT_EQ(store->get("__history", "k:1")->version.origin, "attacker");
}

TEST_F(StoreTest, ChangesSinceOnASystemCollectionFollowsStoredAtWithoutAnIndex) {
  auto store = open();
  store->upsert("__small_peer_info", R"({"_id":"b"})");
  clock_->advance(5ms);
  const auto a = store->upsert("__small_peer_info", R"({"_id":"a"})");
  clock_->advance(5ms);
  const auto b2 = store->upsert("__small_peer_info", R"({"_id":"b","v":2})");
  store->upsert("__log_requests", R"({"_id":"elsewhere"})");
  EXPECT_EQ(ids_of(store->changes_since("__small_peer_info", {})), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ids_of(store->changes_since("__small_peer_info", a.stored_at)), std::vector<std::string>{"b"});
  EXPECT_TRUE(store->changes_since("__small_peer_info", b2.stored_at).empty());
  EXPECT_EQ(ids_of(store->changes_since("__small_peer_info", {}, 1)), std::vector<std::string>{"a"});
}

TEST_F(StoreTest, AnExclusiveStoreKeepsOtherConnectionsOutUntilClosed) {
  const auto readable_beside = [&] {
    sqlite3* raw = nullptr;
    EXPECT_EQ(sqlite3_open(db_path().c_str(), &raw), SQLITE_OK);
    const int rc = sqlite3_exec(raw, "SELECT count(*) FROM user_documents", nullptr, nullptr, nullptr);
    sqlite3_close(raw);
    return rc == SQLITE_OK;
  };
  {
    auto store = open();
    store->upsert("cars", R"({"_id":"shared"})");
    EXPECT_TRUE(readable_beside()) << "by default another connection may read beside the store";
  }
  {
    auto store = Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), "peer-a", StoreOptions::for_ditto());
    store->upsert("cars", R"({"_id":"mine"})");
    EXPECT_FALSE(readable_beside()) << "an exclusive store holds its lock while open";
    EXPECT_EQ(store->get("cars", "shared")->json, R"({"_id":"shared"})");
  }
  EXPECT_TRUE(readable_beside()) << "closing releases the lock";
  auto store = open();
  EXPECT_TRUE(store->get("cars", "mine").has_value()) << "what the exclusive store committed is there";
}

TEST_F(StoreTest, TheBigPeerTuningKeepsEveryCommitAcrossAReopen) {
  const auto options = StoreOptions::for_big_peer();
  {
    auto store = Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), "big-peer", options);
    std::vector<Document> batch;
    for (int i = 0; i < 2000; ++i) batch.push_back(padded_report("pk" + std::to_string(i), 1200));
    const auto first = store->merge_batch(batch, {});
    EXPECT_EQ(std::count(first.begin(), first.end(), true), 2000);
    const auto again = store->merge_batch(batch, {});
    EXPECT_EQ(std::count(again.begin(), again.end(), true), 0) << "the same versions a second time change nothing";
  }
  auto store = Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), "big-peer", options);
  EXPECT_TRUE(store->get("__small_peer_info", "pk1999").has_value());
  EXPECT_EQ(test_support::sqlite_integrity_check(db_path()), "ok");
}

TEST_F(StoreTest, TheBigPeerCreatesSixteenKibPagesAndADatabaseKeepsThePagesItWasCreatedWith) {
  const auto hlc = [&] { return std::make_shared<HybridLogicalClock>(clock_); };
  {
    auto store = Store::open(db_path(), hlc(), "big-peer", StoreOptions::for_big_peer());
    store->upsert("__small_peer_info", R"({"_id":"pk1"})");
  }
  EXPECT_EQ(test_support::sqlite_pragma(db_path(), "PRAGMA page_size"), "16384");

  // A Big Peer database created before (SQLite's 4,096-byte pages) opens, reads and writes as it is.
  const auto older = dir_.path() / "older.db";
  Store::open(older, hlc(), "big-peer")->upsert("__small_peer_info", R"({"_id":"pk1"})");
  ASSERT_EQ(test_support::sqlite_pragma(older, "PRAGMA page_size"), "4096");
  {
    auto store = Store::open(older, hlc(), "big-peer", StoreOptions::for_big_peer());
    EXPECT_TRUE(store->get("__small_peer_info", "pk1").has_value());
    store->upsert("__small_peer_info", R"({"_id":"pk2"})");
  }
  EXPECT_EQ(test_support::sqlite_pragma(older, "PRAGMA page_size"), "4096");
  EXPECT_EQ(test_support::sqlite_integrity_check(older), "ok");

  // Its WAL threshold is the same in bytes: 25 pages of 16 KiB (400 KB) are 100 of its 4 KiB pages.
  // Commits of ~60 KB checkpoint once the WAL passes 400 KB, so the file (which SQLite reuses from
  // the start, never shrinking it) stays between that and one commit more; counted in pages of
  // 4 KiB, it would stay near 100 KB.
  auto options = StoreOptions::for_big_peer();
  options.wal_autocheckpoint_pages = 25;
  {
    auto store = Store::open(older, hlc(), "big-peer", options);
    for (int b = 0; b < 50; ++b) {
      std::vector<Document> batch;
      for (int i = 0; i < 40; ++i) {
        batch.push_back(padded_report(fmt::format("pk{}-{}", b, i), 1200));
      }
      store->merge_batch(batch, {});
    }
    const auto wal = std::filesystem::file_size(older.string() + "-wal");
    EXPECT_GT(wal, uintmax_t{350} << 10);
    EXPECT_LT(wal, uintmax_t{1} << 20);
  }
  EXPECT_TRUE(Store::open(older, hlc(), "big-peer")->get("__small_peer_info", "pk2").has_value());
}

TEST_F(StoreTest, APageSizeSqliteCannotUseIsRefusedBeforeAnythingIsCreated) {
  for (const int size : {std::numeric_limits<int>::min(), -4096, 256, 1000, 131'072}) {
    StoreOptions options;
    options.page_size = size;
    expect_error(
        [&] { Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), "peer-a", options); },
        ErrorCode::invalid_argument,
        fmt::format("store page size must be a power of two from 512 to 65536 (or 0 for SQLite's default), got {}", size));
    EXPECT_FALSE(std::filesystem::exists(db_path())) << size;
  }
  StoreOptions options;
  options.page_size = 512;
  Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), "peer-a", options)->upsert("cars", R"({"_id":"1"})");
  EXPECT_EQ(test_support::sqlite_pragma(db_path(), "PRAGMA page_size"), "512");
}

TEST_F(StoreTest, CheckpointsOutsideTheLockCopyTheWalBackAndKeepItBounded) {
  auto options = StoreOptions::for_big_peer();
  options.wal_autocheckpoint_pages = 25;  // 400 KB of WAL (16 KiB pages)
  const auto wal = std::filesystem::path(db_path().string() + "-wal");
  {
    auto store = Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), "big-peer", options);
    // ~25 MB of documents in 200 commits, each ~128 KB: 60 times the threshold.
    for (int b = 0; b < 200; ++b) {
      std::vector<Document> batch;
      for (int i = 0; i < 100; ++i) {
        batch.push_back(padded_report(fmt::format("pk{}-{}", b, i), 1200));
      }
      store->merge_batch(batch, {{"cursor", std::to_string(b)}});
    }
    // The batches copied the WAL into the database file after their commits, and the WAL started
    // over instead of growing: about the threshold plus one commit, not the 25 MB written.
    EXPECT_GT(std::filesystem::file_size(db_path()), uintmax_t{20} << 20);
    EXPECT_LT(std::filesystem::file_size(wal), uintmax_t{4} << 20);
    EXPECT_EQ(store->setting("cursor"), "199");
  }
  auto store = Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), "big-peer", options);
  EXPECT_TRUE(store->get("__small_peer_info", "pk199-99").has_value());
  EXPECT_EQ(test_support::sqlite_integrity_check(db_path()), "ok");
}

TEST_F(StoreTest, AnExclusiveStoreCannotCheckpointOnAnotherConnection) {
  auto options = StoreOptions::for_ditto();
  options.checkpoint_unlocked = true;
  expect_error([&] { Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), "peer-a", options); },
               ErrorCode::invalid_argument, "cannot checkpoint on another");
  EXPECT_FALSE(std::filesystem::exists(db_path())) << "nothing is created for options that conflict";
}

TEST_F(StoreTest, AWriteWaitingForTheStoreGetsInDuringALongBatch) {
  auto store = Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), "big-peer", StoreOptions::for_big_peer());
  constexpr int kDocs = kLongBatchDocs;
  const std::vector<Document> batch = long_batch();
  // Sessions' batches of three documents each (on the Big Peer: a report and its history row).
  constexpr int kBatch = 3;
  std::vector<size_t> batch_ends;
  for (size_t end = kBatch; end <= batch.size(); end += kBatch) batch_ends.push_back(end);
  std::atomic<bool> merging{false};
  auto merged = std::async(std::launch::async, [&] {
    merging = true;
    return store->merge_batch(batch, {{"cursor", "last"}}, batch_ends);
  });
  while (!merging) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const Document api = store->upsert("__log_requests", R"({"_id":"r1"})");
  const auto applied = merged.get();
  EXPECT_EQ(std::count(applied.begin(), applied.end(), true), kDocs);
  EXPECT_EQ(store->setting("cursor"), "last");
  // The write was stored in the middle of the batch: some of its documents before, some after
  // (stored_at is commit order). Without the split it would wait for all of them.
  int before = 0;
  for (int i = 0; i < kDocs; ++i) {
    before += store->get("__small_peer_info", fmt::format("pk{:05}", i))->stored_at < api.stored_at ? 1 : 0;
  }
  EXPECT_GT(before, 0);
  EXPECT_LT(before, kDocs);
  EXPECT_EQ(before % kBatch, 0) << "split inside a batch";
}

TEST_F(StoreTest, ABatchWithoutEndsIsNeverSplitForAWaitingWrite) {
  auto store = Store::open(db_path(), std::make_shared<HybridLogicalClock>(clock_), "big-peer", StoreOptions::for_big_peer());
  constexpr int kDocs = kLongBatchDocs;
  const std::vector<Document> batch = long_batch();
  std::atomic<bool> merging{false};
  auto merged = std::async(std::launch::async, [&] {
    merging = true;
    return store->merge_batch(batch, {});
  });
  while (!merging) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const Document api = store->upsert("__log_requests", R"({"_id":"r1"})");
  merged.get();
  // The write waited for the whole batch.
  for (int i = 0; i < kDocs; i += 997) {
    EXPECT_LT(store->get("__small_peer_info", fmt::format("pk{:05}", i))->stored_at, api.stored_at) << i;
  }
}

TEST_F(StoreTest, SystemCollectionsAreKeptApartFromUserCollections) {
  auto store = open();
  store->upsert("__small_peer_info", R"({"_id":"peer-a","schema_version":1})");
  store->upsert("cars", R"({"_id":"1"})");
  store->upsert("cars", R"({"_id":"2"})");
  store->upsert("cars", R"({"_id":"3"})");
  store->remove("cars", "3");
  store->upsert("boats", R"({"_id":"1"})");
  store->upsert("gone", R"({"_id":"1"})");
  store->remove("gone", "1");

  EXPECT_EQ(store->collection_names(false), (std::vector<std::string>{"boats", "cars", "gone"}));
  EXPECT_EQ(store->collection_names(true), std::vector<std::string>{"__small_peer_info"});
  EXPECT_EQ(store->user_collection_counts(10), (std::map<std::string, uint64_t>{{"boats", 1}, {"cars", 2}}));
  EXPECT_EQ(store->user_collection_counts(1), (std::map<std::string, uint64_t>{{"boats", 1}}));
  EXPECT_TRUE(store->user_collection_counts(0).empty());
  EXPECT_EQ(store->get("__small_peer_info", "peer-a")->json, R"({"_id":"peer-a","schema_version":1})");
}

TEST_F(StoreTest, MergeKeepsTheNewerVersion) {
  auto store = open();
  const auto local = store->upsert("cars", R"({"_id":"c","v":"local"})");

  EXPECT_FALSE(store->merge(remote_doc("cars", "c", R"({"_id":"c","v":"old"})", remote_version(-1000, "peer-b"))));
  EXPECT_EQ(store->get("cars", "c")->json, local.json);

  const auto newer = remote_version(1000, "peer-b");
  EXPECT_TRUE(store->merge(remote_doc("cars", "c", R"({ "_id": "c", "v": "new" })", newer)));
  const auto got = store->get("cars", "c");
  EXPECT_EQ(got->json, R"({"_id":"c","v":"new"})");
  EXPECT_EQ(got->version, newer);

  // The same version again is not newer.
  EXPECT_FALSE(store->merge(remote_doc("cars", "c", R"({"_id":"c","v":"again"})", newer)));
  EXPECT_EQ(store->get("cars", "c")->json, R"({"_id":"c","v":"new"})");

  // A document nobody had yet is simply stored.
  EXPECT_TRUE(store->merge(remote_doc("cars", "d", R"({"_id":"d"})", remote_version(-5000, "peer-b"))));
  EXPECT_TRUE(store->get("cars", "d"));
}

TEST_F(StoreTest, MergeBreaksHlcTiesByOrigin) {
  auto store = open();
  const auto tie = remote_version(1000, "peer-m");
  ASSERT_TRUE(store->merge(remote_doc("cars", "c", R"({"_id":"c","from":"m"})", tie)));
  EXPECT_FALSE(store->merge(remote_doc("cars", "c", R"({"_id":"c","from":"b"})", {tie.hlc, "peer-b"})));
  EXPECT_EQ(store->get("cars", "c")->version.origin, "peer-m");
  EXPECT_TRUE(store->merge(remote_doc("cars", "c", R"({"_id":"c","from":"z"})", {tie.hlc, "peer-z"})));
  EXPECT_EQ(store->get("cars", "c")->json, R"({"_id":"c","from":"z"})");
}

TEST_F(StoreTest, MergedTombstoneBeatsOlderDocumentsAndLosesToNewerOnes) {
  auto store = open();
  ASSERT_TRUE(store->merge(remote_doc("cars", "c", R"({"_id":"c"})", remote_version(100, "peer-b"))));
  EXPECT_TRUE(store->merge(remote_doc("cars", "c", "", remote_version(200, "peer-b"), /*deleted=*/true)));
  EXPECT_FALSE(store->get("cars", "c"));
  EXPECT_FALSE(store->merge(remote_doc("cars", "c", R"({"_id":"c","late":1})", remote_version(150, "peer-c"))));
  EXPECT_FALSE(store->get("cars", "c"));
  EXPECT_TRUE(store->get("cars", "c", true)->deleted);
  EXPECT_TRUE(store->merge(remote_doc("cars", "c", R"({"_id":"c","back":1})", remote_version(300, "peer-c"))));
  EXPECT_EQ(store->get("cars", "c")->json, R"({"_id":"c","back":1})");
}

TEST_F(StoreTest, MergeMovesTheClockPastRemoteVersions) {
  auto store = open();
  // A peer whose wall clock runs a minute ahead: our next local write must still win.
  const auto far_ahead = remote_version(60'000, "peer-b");
  ASSERT_TRUE(store->merge(remote_doc("cars", "c", R"({"_id":"c"})", far_ahead)));
  const auto local = store->upsert("cars", R"({"_id":"c","v":"local"})");
  EXPECT_GT(local.version.hlc, far_ahead.hlc);
  EXPECT_EQ(store->get("cars", "c")->json, R"({"_id":"c","v":"local"})");
}

TEST_F(StoreTest, MergeRejectsBodiesWhoseIdDoesNotMatch) {
  auto store = open();
  expect_error([&] { store->merge(remote_doc("cars", "c", R"({"_id":"other"})", remote_version(1, "peer-b"))); },
               ErrorCode::validation, "does not match");
  expect_error([&] { store->merge(remote_doc("cars", "c", R"({"v":1})", remote_version(1, "peer-b"))); }, ErrorCode::validation,
               "does not match");
  expect_error([&] { store->merge(remote_doc("cars", "c", "[1]", remote_version(1, "peer-b"))); }, ErrorCode::validation,
               "JSON object");
  EXPECT_TRUE(store->collection_names(false).empty());
}

// The sync codec carries names as raw bytes; PostgreSQL stores neither NUL nor invalid UTF-8, and
// one such document would fail every other session's batch in its group.
TEST_F(StoreTest, MergeRejectsNamesThatAreNotUtf8OrHoldNul) {
  auto store = open();
  const std::string nul_id("a\0b", 3);
  expect_error([&] { store->merge(remote_doc("cars", nul_id, R"({"_id":"a\u0000b"})", remote_version(1, "peer-b"))); },
               ErrorCode::validation, "_id must be UTF-8 without NUL");
  Document tombstone = remote_doc("cars", "\xff\xfe", "", remote_version(1, "peer-b"));
  tombstone.deleted = true;
  expect_error([&] { store->merge(tombstone); }, ErrorCode::validation, "_id must be UTF-8 without NUL");
  expect_error([&] { store->merge(remote_doc("cars\xc3", "c", R"({"_id":"c"})", remote_version(1, "peer-b"))); },
               ErrorCode::validation, "collection name must be UTF-8");
  expect_error([&] { store->merge(remote_doc("cars", "c", R"({"_id":"c"})", remote_version(1, std::string("peer\0b", 6)))); },
               ErrorCode::validation, "origin must be UTF-8");
  EXPECT_TRUE(store->collection_names(false).empty());
  EXPECT_TRUE(store->merge(remote_doc("cars", "caf\xc3\xa9", R"({"_id":"caf\u00e9"})", remote_version(1, "peer-b"))));
}

// Within the maximum clock offset (60 s): further back, restore ignores the stored values, the
// price of healing a poisoned store (docs/SYNC.md "Clock bounds"; the next test).
TEST_F(StoreTest, VersionsKeepIncreasingAfterReopenEvenIfTheClockWentBack) {
  Version before;
  {
    auto store = open();
    store->upsert("cars", R"({"_id":"a"})");
    before = store->upsert("__small_peer_info", R"({"_id":"p"})").version;
  }
  clock_->advance(-50s);
  auto store = open();
  EXPECT_EQ(store->get("__small_peer_info", "p")->version, before);
  EXPECT_GT(store->upsert("cars", R"({"_id":"b"})").version, before);
}

TEST_F(StoreTest, AClockThatWentBackFurtherThanTheBoundRestartsFromTheWallClock) {
  {
    auto store = open();
    store->upsert("cars", R"({"_id":"a"})");
  }
  clock_->advance(-1h);
  auto store = open();
  EXPECT_EQ(store->upsert("cars", R"({"_id":"b"})").version.hlc.millis(), static_cast<uint64_t>(to_unix_millis(clock_->now())));
}

TEST_F(StoreTest, SettingsPersistAcrossReopen) {
  {
    auto store = open();
    EXPECT_FALSE(store->setting("sync_scope"));
    store->set_settings({{"sync_scope", "BigPeerOnly"}, {"enabled", "true"}});
    store->set_settings({{"enabled", "false"}});
    EXPECT_EQ(store->setting("enabled"), "false");
  }
  auto store = open();
  EXPECT_EQ(store->setting("sync_scope"), "BigPeerOnly");
  EXPECT_EQ(store->setting("enabled"), "false");
  EXPECT_FALSE(store->setting("missing"));
}

TEST_F(StoreTest, ObserversHearCommittedChangesToTheirCollectionUntilRemoved) {
  auto store = open();
  std::vector<Change> heard;
  const auto id = store->observe("cars", [&](const Change& c) {
    // Called after commit: the change is already visible.
    EXPECT_EQ(store->get("cars", c.id, true)->version, c.version);
    heard.push_back(c);
  });

  const auto doc = store->upsert("cars", R"({"_id":"c","v":1})");
  store->upsert("boats", R"({"_id":"b"})");
  store->remove("cars", "c");
  store->remove("cars", "c");  // nothing live: no change
  store->merge(remote_doc("cars", "m", R"({"_id":"m"})", remote_version(1000, "peer-b")));
  store->merge(remote_doc("cars", "m", R"({"_id":"m"})", remote_version(-1000, "peer-b")));  // loses: no change

  ASSERT_EQ(heard.size(), 3u);
  EXPECT_EQ(heard[0].kind, ChangeKind::upsert);
  EXPECT_EQ(heard[0].id, "c");
  EXPECT_EQ(heard[0].json, doc.json);
  EXPECT_EQ(heard[0].version, doc.version);
  EXPECT_EQ(heard[1].kind, ChangeKind::remove);
  EXPECT_EQ(heard[1].json, "");
  EXPECT_EQ(heard[2].kind, ChangeKind::upsert);
  EXPECT_EQ(heard[2].id, "m");

  store->unobserve(id);
  store->upsert("cars", R"({"_id":"after"})");
  EXPECT_EQ(heard.size(), 3u);
  store->unobserve(id);  // unknown ids are ignored
}

TEST_F(StoreTest, ThrowingObserverNeitherFailsTheWriteNorSilencesOthers) {
  auto store = open();
  int heard = 0;
  store->observe("cars", [](const Change&) { throw std::runtime_error("observer bug"); });
  store->observe("cars", [&](const Change&) { ++heard; });
  EXPECT_NO_THROW(store->upsert("cars", R"({"_id":"c"})"));
  EXPECT_EQ(heard, 1);
  EXPECT_TRUE(store->get("cars", "c"));
}

TEST_F(StoreTest, EachChangeNamesTheStoredAtOfTheCollectionsChangeBeforeIt) {
  // Sessions send a change as it is only when they have sent everything up to previous_stored_at.
  auto store = open();
  std::vector<Change> heard;
  store->observe_all([&](const Change& c) { heard.push_back(c); });
  const auto first = store->upsert("cars", R"({"_id":"a"})");
  store->upsert("boats", R"({"_id":"b"})");
  const auto second = store->upsert("cars", R"({"_id":"c"})");
  ASSERT_TRUE(store->remove("cars", "a"));
  const auto won = store->merge_batch({remote_doc("cars", "d", R"({"_id":"d"})", remote_version(5000, "peer-b")),
                                       remote_doc("cars", "e", R"({"_id":"e"})", remote_version(-5000, "peer-b")),
                                       remote_doc("cars", "c", R"({"_id":"c","old":true})", remote_version(-5000, "peer-b"))},
                                      {});
  EXPECT_EQ(won, (std::vector<bool>{true, true, false})) << "the older version of c loses and is no change";
  ASSERT_EQ(heard.size(), 6u);
  EXPECT_FALSE(heard[0].previous_stored_at.has_value()) << "a collection's first change since open";
  EXPECT_EQ(heard[0].stored_at, first.stored_at);
  EXPECT_FALSE(heard[1].previous_stored_at.has_value()) << "each collection is its own chain";
  EXPECT_EQ(heard[2].previous_stored_at, first.stored_at);
  EXPECT_EQ(heard[2].stored_at, second.stored_at);
  EXPECT_EQ(heard[3].kind, ChangeKind::remove);
  EXPECT_EQ(heard[3].previous_stored_at, second.stored_at);
  EXPECT_EQ(heard[4].previous_stored_at, heard[3].stored_at) << "merged documents chain in commit order";
  EXPECT_EQ(heard[5].previous_stored_at, heard[4].stored_at);
  EXPECT_LT(heard[4].stored_at, heard[5].stored_at) << "stored_at follows commit order, not the documents' versions";
  // The chain is what changes_since returns: everything after a previous_stored_at is that change on.
  EXPECT_EQ(ids_of(store->changes_since("cars", *heard[4].previous_stored_at)), (std::vector<std::string>{"d", "e"}));
}

// A merge builds the change only for an observer; one that nobody hears of still takes its place in
// the collection's chain (by merge and by merge_batch alike), and a checked document's body is
// stored and heard as it is, never checked or minified again.
TEST_F(StoreTest, AnUnobservedMergeStillChainsAndAnObserverHearsACheckedBodyAsItIs) {
  auto store = open();
  simdjson::dom::parser parser;
  const auto checked = [&](Document d) {
    (void)store_support::check_incoming(parser, d);
    return d;
  };
  ASSERT_TRUE(store->merge(remote_doc("cars", "b", R"({ "_id" : "b" })", remote_version(1000, "peer-b"))));
  const auto by_merge = store->get("cars", "b");
  ASSERT_TRUE(by_merge);
  EXPECT_EQ(by_merge->json, R"({"_id":"b"})") << "an unchecked body is checked and minified all the same";
  ASSERT_EQ(store->merge_batch({checked(remote_doc("cars", "a", R"({"_id":"a"})", remote_version(1001, "peer-b")))}, {}),
            std::vector<bool>{true});
  const auto by_batch = store->get("cars", "a");
  ASSERT_TRUE(by_batch);

  std::vector<Change> heard;
  store->observe("cars", [&](const Change& c) { heard.push_back(c); });
  // Marked checked by hand, spaces and all: the store takes the caller's word (check_incoming's).
  Document as_given = remote_doc("cars", "d", R"({"_id":"d", "note":"a b"})", remote_version(1002, "peer-b"));
  as_given.checked = true;
  ASSERT_EQ(store->merge_batch({as_given, checked(remote_doc("cars", "a", "", remote_version(1003, "peer-b"), true))}, {}),
            (std::vector<bool>{true, true}));
  ASSERT_TRUE(store->merge(checked(remote_doc("cars", "e", R"({"_id":"e"})", remote_version(1004, "peer-b")))));
  ASSERT_EQ(heard.size(), 3u);
  EXPECT_EQ(heard[0].json, as_given.json);
  EXPECT_EQ(heard[0].previous_stored_at, by_batch->stored_at) << "the unobserved merge_batch is in the chain";
  EXPECT_EQ(heard[1].kind, ChangeKind::remove);
  EXPECT_EQ(heard[1].json, "");
  EXPECT_EQ(heard[1].previous_stored_at, heard[0].stored_at);
  EXPECT_EQ(heard[2].json, R"({"_id":"e"})");
  EXPECT_EQ(heard[2].previous_stored_at, heard[1].stored_at);
  EXPECT_EQ(store->get("cars", "d")->json, as_given.json);
  EXPECT_LT(by_merge->stored_at, by_batch->stored_at);
}

TEST_F(StoreTest, ObserverMayUnobserveItselfAndWriteFromItsCallback) {
  auto store = open();
  int calls = 0;
  Store::ObserverId id = 0;
  id = store->observe("cars", [&](const Change& c) {
    ++calls;
    if (c.id == "first") store->upsert("cars", R"({"_id":"nested"})");
    store->unobserve(id);
  });
  store->upsert("cars", R"({"_id":"first"})");
  store->upsert("cars", R"({"_id":"second"})");
  EXPECT_EQ(calls, 2);  // "first", then "nested" from inside it; none after unobserve
  EXPECT_TRUE(store->get("cars", "nested"));
}

TEST_F(StoreTest, UnobserveWaitsForARunningObserverOnAnotherThread) {
  auto store = open();
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<bool> finished{false};
  std::atomic<int> calls{0};
  const auto id = store->observe("cars", [&](const Change&) {
    if (calls++ == 0) {
      entered.set_value();
      released.wait();
      std::this_thread::sleep_for(20ms);
      finished = true;
    }
  });

  std::thread writer([&] { store->upsert("cars", R"({"_id":"slow"})"); });
  entered.get_future().wait();
  auto unobserved = std::async(std::launch::async, [&] {
    store->unobserve(id);
    return finished.load();
  });
  EXPECT_EQ(unobserved.wait_for(50ms), std::future_status::timeout);
  release.set_value();
  EXPECT_TRUE(unobserved.get());  // the observer had finished when unobserve returned
  writer.join();
  store->upsert("cars", R"({"_id":"later"})");
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(StoreTest, ConcurrentUpsertsFromEightThreadsAllLand) {
  auto store = open();
  std::atomic<int> observed{0};
  store->observe("cars", [&](const Change&) { ++observed; });
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  std::vector<std::vector<Document>> written(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        written[t].push_back(store->upsert("cars", R"({"thread":)" + std::to_string(t) + "}"));
        if (i % 10 == 0) (void)store->list("cars", 5);
      }
    });
  }
  for (auto& th : threads) th.join();

  std::set<std::string> ids;
  std::set<HlcTimestamp> versions;
  for (const auto& docs : written) {
    for (const auto& d : docs) {
      ids.insert(d.id);
      versions.insert(d.version.hlc);
      EXPECT_TRUE(store->get("cars", d.id)) << d.id;
    }
  }
  EXPECT_EQ(ids.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(versions.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(store->user_collection_counts(10).at("cars"), uint64_t{kThreads * kPerThread});
  EXPECT_EQ(observed.load(), kThreads * kPerThread);
}

TEST_F(StoreTest, OpeningInAMissingDirectoryIsAnIoErrorNamingThePath) {
  const auto path = dir_.path() / "missing" / "store.db";
  expect_error([&] { Store::open(path, std::make_shared<HybridLogicalClock>(clock_), "peer-a"); }, ErrorCode::io, path.string());
}

TEST_F(StoreTest, OpeningAFileThatIsNotADatabaseFails) {
  {
    std::FILE* f = std::fopen(db_path().c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fputs("this is not an SQLite database, just some text that is long enough to have a header", f);
    std::fclose(f);
  }
  expect_error([&] { open(); }, ErrorCode::store, db_path().string());
}

TEST_F(StoreTest, FilesListTheDatabaseAndItsWalAndIntegrityIsOk) {
  auto store = open();
  store->upsert("cars", R"({"_id":"c"})");
  const auto files = store->files();
  EXPECT_NE(std::find(files.begin(), files.end(), db_path()), files.end());
  auto wal = db_path();
  wal += "-wal";
  EXPECT_NE(std::find(files.begin(), files.end(), wal), files.end());
  for (const auto& f : files) EXPECT_TRUE(std::filesystem::exists(f)) << f;
  EXPECT_EQ(test_support::sqlite_integrity_check(db_path()), "ok");
}

// The crash writer as a child process whose stdout we read line by line.
class CrashWriter {
 public:
  explicit CrashWriter(const std::filesystem::path& db) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    const std::string program = SMALLPEER_CRASH_WRITER;
    const std::string arg = db.string();
    char* argv[] = {const_cast<char*>(program.c_str()), const_cast<char*>(arg.c_str()), nullptr};
    const int rc = ::posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    fd_ = fds[0];
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("cannot start " + program);
    }
  }
  ~CrashWriter() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(fd_);
  }
  CrashWriter(const CrashWriter&) = delete;
  CrashWriter& operator=(const CrashWriter&) = delete;

  // Appends complete lines until `lines` holds `count`, or until EOF or `timeout`; true if reached.
  bool read_until(std::vector<std::string>& lines, size_t count, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (lines.size() < count) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[4096];
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return false;
      pending_.append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = pending_.find('\n')) != std::string::npos; pending_.erase(0, nl + 1)) {
        lines.push_back(pending_.substr(0, nl));
      }
    }
    return true;
  }
  // SIGKILLs the writer and reaps it; returns its wait status.
  int kill_and_wait() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string pending_;  // a line not yet complete
};

TEST_F(StoreTest, AcknowledgedWritesSurviveSigkill) {
  std::vector<std::string> acknowledged;
  for (int round = 0; round < 3; ++round) {
    {
      CrashWriter writer(db_path());
      ASSERT_TRUE(writer.read_until(acknowledged, acknowledged.size() + 300, 60s))
          << "the writer stopped after " << acknowledged.size() << " ids";
      const int status = writer.kill_and_wait();
      ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
      // Ids printed between our last read and the kill were acknowledged too.
      writer.read_until(acknowledged, SIZE_MAX, 5s);
    }
    auto store = open();
    EXPECT_EQ(test_support::sqlite_integrity_check(db_path()), "ok");
    size_t missing = 0;
    for (const auto& id : acknowledged) missing += store->get("crash", id) ? 0 : 1;
    EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged writes, round " << round;
    EXPECT_GE(store->user_collection_counts(1).at("crash"), acknowledged.size());
  }
}

TEST_F(StoreTest, AVersionBeyondTheClockBoundIsNotMerged) {
  auto store = open();
  const Version top{HlcTimestamp{(uint64_t{1} << 63) - 2}, "attacker"};
  EXPECT_FALSE(store->merge(remote_doc("cars", "p", R"({"_id":"p"})", top)));
  EXPECT_FALSE(store->get("cars", "p").has_value());
  EXPECT_LT(store->upsert("cars", R"({"_id":"mine"})").version.hlc.millis(),
            static_cast<uint64_t>(to_unix_millis(clock_->now())) + 60'001)
      << "and the clock did not move";
}

TEST_F(StoreTest, RestoreSkipsPoisonedVersionsAndRepairClockRestampsThem) {
  const Version top{HlcTimestamp{(uint64_t{1} << 63) - 2}, "attacker"};
  {
    // As stores were written before the bound: a clock that absorbs anything.
    auto unbounded = std::make_shared<HybridLogicalClock>(clock_, std::chrono::hours(24 * 365 * 9000));
    auto store = Store::open(db_path(), unbounded, "peer-a");
    ASSERT_TRUE(store->merge(remote_doc("cars", "poisoned", R"({"_id":"poisoned","n":7})", top)));
    store->upsert("cars", R"({"_id":"stamped-at-the-top"})");
  }
  auto store = open();
  const auto wall = static_cast<uint64_t>(to_unix_millis(clock_->now()));
  EXPECT_LE(store->upsert("cars", R"({"_id":"after"})").version.hlc.millis(), wall + 1) << "restore skipped the poison";
  EXPECT_FALSE(store->merge(remote_doc("cars", "poisoned", R"({"_id":"poisoned","n":8})", remote_version(1000, "peer-b"))))
      << "unrepaired, the poisoned version still wins";
  EXPECT_EQ(store->repair_clock(), 2u);
  const auto healed = store->get("cars", "poisoned");
  ASSERT_TRUE(healed.has_value());
  EXPECT_EQ(healed->json, R"({"_id":"poisoned","n":7})") << "the content is kept";
  EXPECT_EQ(healed->version.origin, "attacker");
  EXPECT_LE(healed->version.hlc, store->clock().limit());
  EXPECT_LE(store->get("cars", "stamped-at-the-top")->stored_at, store->clock().limit());
  // (The refused merge above moved the clock to its version, so the re-stamp is after it.)
  EXPECT_TRUE(store->merge(remote_doc("cars", "poisoned", R"({"_id":"poisoned","n":8})", remote_version(2000, "peer-b"))))
      << "repaired, a later write wins again";
  EXPECT_EQ(store->repair_clock(), 0u) << "nothing left to repair";
}

TEST_F(StoreTest, RestampCollectionPutsEveryRowAfterEveryCursor) {
  auto store = open();
  store->upsert("notes", R"({"_id":"a"})");
  store->upsert("notes", R"({"_id":"b"})");
  store->upsert("other", R"({"_id":"c"})");
  const auto cursor = store->changes_since("notes", {}).back().stored_at;
  ASSERT_TRUE(store->changes_since("notes", cursor).empty());
  const auto before = store->get("notes", "a")->version;
  EXPECT_EQ(store->restamp_collection("notes"), 2u);
  const auto again = store->changes_since("notes", cursor);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].id, "a") << "in their old order";
  EXPECT_NE(again[0].stored_at, again[1].stored_at);
  EXPECT_EQ(store->get("notes", "a")->version, before) << "versions are unchanged";
  EXPECT_TRUE(store->changes_since("other", store->get("other", "c")->stored_at).empty()) << "other collections untouched";
}

}  // namespace
}  // namespace smallpeer
