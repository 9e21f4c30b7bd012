// PostgresStore::merge_batch against the SQLite store on the same input: a group commit sends each
// table's documents as one statement (arrays, one clock bump), and must still decide exactly what
// one merge after another would (last writer wins by (HLC, origin), repeats within the batch,
// tombstones, cursors, refusals). Runs under the "postgres:" registration only.
#include "bigpeer/storage/postgres_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "clock/clock.h"
#include "clock/hlc.h"
#include "common/error.h"
#include "spi/small_peer_info_collector.h"
#include "store/store.h"
#include "support/postgres_server.h"
#include "support/temp_dir.h"

namespace smallpeer::bigpeer {
namespace {

using Settings = std::vector<std::pair<std::string, std::string>>;

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test_support::postgres_backend()) GTEST_SKIP() << "PostgreSQL only (the postgres: registration)";
    postgres_ = std::make_unique<PostgresStore>(test_support::PostgresServer::shared().create_database(), clock(), "pkBigPeer");
    sqlite_ = Store::open(dir_.path() / "reference.sqlite3", clock(), "pkBigPeer");
  }
  static std::shared_ptr<HybridLogicalClock> clock() {
    return std::make_shared<HybridLogicalClock>(std::make_shared<SystemClock>());
  }
  // A replicated document `offset` ticks after `base_`.
  Document doc(const std::string& collection, const std::string& id, uint64_t offset, const std::string& origin,
               const std::string& body = "", bool deleted = false) const {
    const std::string json = deleted ? "" : fmt::format(R"({{"_id":"{}","v":"{}"}})", id, body.empty() ? origin : body);
    return Document{collection, id, json, {{base_.value + offset}, origin}, deleted, {}};
  }
  // Merges into both stores and checks they agree on what was applied.
  std::vector<bool> merge_both(const std::vector<Document>& docs, const Settings& settings = {}) {
    const auto expected = sqlite_->merge_batch(docs, settings);
    const auto got = postgres_->merge_batch(docs, settings);
    EXPECT_EQ(got, expected);
    return got;
  }
  // Checks that both stores hold the same version of every document named in `docs`.
  void expect_same_state(const std::vector<Document>& docs) {
    for (const auto& d : docs) {
      const auto expected = sqlite_->get(d.collection, d.id, true);
      const auto got = postgres_->get(d.collection, d.id, true);
      ASSERT_EQ(got.has_value(), expected.has_value()) << d.collection << "/" << d.id;
      if (!got) continue;
      EXPECT_EQ(got->json, expected->json) << d.collection << "/" << d.id;
      EXPECT_EQ(got->version.hlc.value, expected->version.hlc.value) << d.collection << "/" << d.id;
      EXPECT_EQ(got->version.origin, expected->version.origin) << d.collection << "/" << d.id;
      EXPECT_EQ(got->deleted, expected->deleted) << d.collection << "/" << d.id;
    }
  }

  test_support::TempDir dir_{"postgres-store-test"};
  std::unique_ptr<PostgresStore> postgres_;
  std::unique_ptr<Store> sqlite_;
  HlcTimestamp base_ = clock()->now();
};

TEST_F(PostgresStoreTest, AGroupDecidesAsOneMergeAfterAnother) {
  const std::string spi(kSmallPeerInfoCollection);
  // Already stored: what the group's documents race against.
  merge_both({doc("orders", "a", 100, "pkM"), doc("orders", "b", 100, "pkM"), doc("orders", "gone", 100, "pkM"),
              doc(spi, "pkX", 100, "pkX")});
  const std::vector<Document> group = {
      doc("orders", "a", 50, "pkZ"),                 // older: refused
      doc("orders", "b", 100, "pkA"),                // same HLC, lower origin: refused
      doc("orders", "a", 100, "pkN"),                // same HLC, higher origin: applied
      doc("orders", "gone", 120, "pkM", "", true),   // tombstone: applied
      doc("orders", "new", 10, "pkM"),               // never seen: applied
      doc("orders", "a", 200, "pkM", "second"),      // a repeat that wins again: applied
      doc("orders", "a", 150, "pkM", "late"),        // a repeat older than the one before: refused
      doc(spi, "pkX", 110, "pkX"),                   // system collection, same batch
      doc(spi, "pkX", 130, "pkX", "newer"),          // and its repeat
      doc("orders", "new", 10, "pkM"),               // the very same version again: refused
      doc("orders", "gone", 125, "pkM", "revived"),  // newer than the tombstone: applied
      doc("orders", "a", 300, "pkM", "third"),       // third round
  };
  const Settings cursors = {{"cursor.s1", "1"}, {"cursor.s2", "2"}, {"cursor.s1", "3"}};
  const auto applied = merge_both(group, cursors);
  EXPECT_EQ(applied, (std::vector<bool>{false, false, true, true, true, true, false, true, true, false, true, true}));
  expect_same_state(group);
  EXPECT_EQ(postgres_->setting("cursor.s1"), "3") << "the last value given for a key wins";
  EXPECT_EQ(postgres_->setting("cursor.s2"), "2");
  // stored_at follows the order the versions were applied in, so a replication cursor sees each
  // document's newest version after everything older.
  const auto changes = postgres_->changes_since("orders", {});
  ASSERT_EQ(changes.size(), 4u);
  for (size_t i = 1; i < changes.size(); ++i) EXPECT_LT(changes[i - 1].stored_at.value, changes[i].stored_at.value);
  EXPECT_EQ(changes.back().id, "a");
  EXPECT_EQ(changes.back().json, R"({"_id":"a","v":"third"})");
  // The next group's versions come after all of these.
  merge_both({doc("orders", "later", 1, "pkM")});
  const auto after = postgres_->changes_since("orders", changes.back().stored_at);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after.front().id, "later");
}

TEST_F(PostgresStoreTest, ABadDocumentRefusesTheWholeBatch) {
  std::vector<Document> group = {doc("orders", "fine", 1, "pkM"), doc("orders", "bad", 2, "pkM")};
  group[1].json = "not json";
  EXPECT_THROW(sqlite_->merge_batch(group, {{"cursor.s1", "9"}}), Error);
  EXPECT_THROW(postgres_->merge_batch(group, {{"cursor.s1", "9"}}), Error);
  EXPECT_FALSE(postgres_->get("orders", "fine").has_value()) << "nothing of a refused batch is stored";
  EXPECT_FALSE(postgres_->setting("cursor.s1").has_value()) << "nor its cursor";
  // The store carries on.
  EXPECT_EQ(postgres_->merge_batch({doc("orders", "fine", 1, "pkM")}, {}), std::vector<bool>{true});
}

TEST_F(PostgresStoreTest, AFullGroupOfLargeDocumentsIsOneTransaction) {
  // Megabytes of parameters one way and thousands of result rows the other: the pipeline must not
  // block on one direction while the server blocks on the other.
  std::vector<Document> group;
  const std::string padding(4000, 'x');
  for (int i = 0; i < 4096; ++i) group.push_back(doc("orders", fmt::format("d{:05}", i), 1, "pkM", padding));
  const auto applied = postgres_->merge_batch(group, {{"cursor.big", "1"}});
  EXPECT_EQ(std::count(applied.begin(), applied.end(), true), 4096);
  EXPECT_EQ(postgres_->changes_since("orders", {}).size(), 4096u);
  EXPECT_EQ(postgres_->setting("cursor.big"), "1");
}

}  // namespace
}  // namespace smallpeer::bigpeer
