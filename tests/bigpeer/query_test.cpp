// The DQL case table (tests/query/cases.json) on the store this registration tests: SQLite by
// default, PostgreSQL under "postgres:". Both registrations compare with the same expected items,
// so the two backends agree case by case. Plus what a table cannot say: nesting limits, the row
// cap, the time limit, and that a query changes nothing.
#include "query/query.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <memory>
#include <string>
#include <vector>

#include "bigpeer/storage/postgres_store.h"
#include "clock/clock.h"
#include "clock/hlc.h"
#include "common/error.h"
#include "query/dql.h"
#include "store/store.h"
#include "support/postgres_server.h"
#include "support/temp_dir.h"

namespace smallpeer {
namespace {

class QueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto hlc = std::make_shared<HybridLogicalClock>(std::make_shared<SystemClock>());
    if (test_support::postgres_backend()) {
      store_ =
          std::make_unique<bigpeer::PostgresStore>(test_support::PostgresServer::shared().create_database(), hlc, "pkBigPeer");
    } else {
      store_ = Store::open(dir_.path() / "query.sqlite3", hlc, "pkBigPeer", StoreOptions::for_big_peer());
    }
  }

  /// Stores the table's documents; those marked "$removed" are stored and then removed (tombstones).
  void load(simdjson::dom::object collections) {
    for (auto [collection, documents] : collections) {
      const simdjson::dom::array list = documents.get_array();
      for (simdjson::dom::element document : list) {
        bool removed = false;
        simdjson::dom::object object = document.get_object();
        if (object["$removed"].get(removed) == simdjson::SUCCESS && removed) {
          const std::string id(object["_id"].get_string().value());
          store_->upsert(collection, fmt::format(R"({{"_id":"{}"}})", id));
          store_->remove(collection, id);
        } else {
          store_->upsert(collection, simdjson::minify(document));
        }
      }
    }
  }

  test_support::TempDir dir_{"query-test"};
  std::unique_ptr<Store> store_;
};

TEST_F(QueryTest, TheCaseTableGivesItsExpectedItems) {
  simdjson::dom::parser parser;
  simdjson::dom::element table = parser.load(SMALLPEER_QUERY_CASES);
  load(table["documents"].get_object());
  simdjson::dom::parser item_parser;
  size_t cases = 0;
  const simdjson::dom::array case_list = table["cases"].get_array();
  for (simdjson::dom::object c : case_list) {
    ++cases;
    const std::string name(c["name"].get_string().value());
    const std::string query(c["query"].get_string().value());
    simdjson::dom::element args;
    const std::string args_json = c["args"].get(args) == simdjson::SUCCESS ? simdjson::minify(args) : "";
    std::string_view error;
    if (c["error"].get(error) == simdjson::SUCCESS) {
      try {
        (void)execute_query(*store_, query, args_json);
        ADD_FAILURE() << name << ": ran, but should fail with \"" << error << "\"";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << name << ": " << e.what();
        EXPECT_NE(std::string_view(e.what()).find(error), std::string_view::npos)
            << name << ": \"" << e.what() << "\" does not say \"" << error << "\"";
      }
      continue;
    }
    std::vector<std::string> expected;
    const simdjson::dom::array expected_items = c["expect"].get_array();
    for (simdjson::dom::element item : expected_items) expected.push_back(simdjson::minify(item));
    try {
      const QueryResult result = execute_query(*store_, query, args_json);
      // Items are compared after one more parse and minify, so number spelling is the same on both sides.
      std::vector<std::string> got;
      for (const auto& item : result.items) got.push_back(simdjson::minify(item_parser.parse(item).value()));
      EXPECT_EQ(got, expected) << name << "\n  query: " << query;
      EXPECT_FALSE(result.truncated) << name;
    } catch (const Error& e) {
      ADD_FAILURE() << name << ": failed with " << e.what() << "\n  query: " << query;
    }
  }
  EXPECT_GT(cases, 60U);
}

TEST_F(QueryTest, NestingBeyondTheLimitIsAnErrorNotACrash) {
  const std::string deep = "SELECT * FROM cars WHERE " + std::string(200, '(') + "a = 1" + std::string(200, ')');
  try {
    (void)execute_query(*store_, deep, "");
    FAIL() << "a query nested 200 deep ran";
  } catch (const Error& e) {
    EXPECT_NE(std::string_view(e.what()).find("nest deeper than 64"), std::string_view::npos) << e.what();
  }
  std::string nots = "SELECT * FROM cars WHERE ";
  for (int i = 0; i < 10'000; ++i) nots += "NOT ";
  nots += "a = 1";
  EXPECT_THROW((void)execute_query(*store_, nots, ""), Error);
  const std::string shallow = "SELECT * FROM cars WHERE " + std::string(30, '(') + "a = 1" + std::string(30, ')');
  EXPECT_NO_THROW((void)execute_query(*store_, shallow, ""));
}

TEST_F(QueryTest, AnOverlongQueryIsRefusedByItsLength) {
  const std::string query = "SELECT * FROM cars WHERE a = '" + std::string(dql::kMaxQueryBytes, 'x') + "'";
  try {
    (void)execute_query(*store_, query, "");
    FAIL() << "an overlong query ran";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::validation);
    EXPECT_NE(std::string_view(e.what()).find("byte limit"), std::string_view::npos) << e.what();
  }
}

TEST_F(QueryTest, TheRowCapCutsTheResultAndSaysSo) {
  for (int i = 0; i < 12; ++i) store_->upsert("cars", fmt::format(R"({{"_id":"c{:02}","n":{}}})", i, i));
  const QueryOptions capped{.max_rows = 5};
  auto result = execute_query(*store_, "SELECT n FROM cars", "", capped);
  EXPECT_EQ(result.items.size(), 5U);
  EXPECT_TRUE(result.truncated);
  EXPECT_EQ(to_json(result), R"({"items":[{"n":0},{"n":1},{"n":2},{"n":3},{"n":4}],"truncated":true})");
  result = execute_query(*store_, "SELECT n FROM cars LIMIT 5", "", capped);
  EXPECT_EQ(result.items.size(), 5U);
  EXPECT_FALSE(result.truncated);
  result = execute_query(*store_, "SELECT n FROM cars WHERE n >= 9", "", capped);
  EXPECT_EQ(to_json(result), R"({"items":[{"n":9},{"n":10},{"n":11}]})");
}

TEST_F(QueryTest, AQueryOverItsTimeLimitStopsWithAClearError) {
  // Enough documents that a self-join through ORDER BY of every field takes far over 1 ms.
  for (int i = 0; i < 3000; ++i) {
    store_->upsert("big", fmt::format(R"({{"_id":"d{:05}","n":{},"s":"{}","m":{{"k":{}}}}})", i, i % 97, i % 13, i));
  }
  const QueryOptions limited{.timeout = std::chrono::milliseconds(1)};
  std::string query = "SELECT * FROM big WHERE ";
  for (int i = 0; i < 200; ++i) query += fmt::format("{}(n != {} AND s LIKE '%{}%')", i == 0 ? "" : " OR ", i, i);
  query += " ORDER BY m.k DESC, s, n";
  try {
    for (int attempt = 0; attempt < 50; ++attempt) (void)execute_query(*store_, query, "", limited);
    FAIL() << "50 runs of a heavy query each finished within 1 ms";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::validation);
    EXPECT_NE(std::string_view(e.what()).find("ran longer than its 1 ms limit"), std::string_view::npos) << e.what();
  }
  // The store still answers afterwards.
  EXPECT_EQ(to_json(execute_query(*store_, "SELECT COUNT(*) FROM big", "")), R"({"items":[{"count":3000}]})");
}

TEST_F(QueryTest, AQueryChangesNothingAndNeverSplicesItsValues) {
  store_->upsert("cars", R"({"_id":"c1","make":"Volvo"})");
  const std::string hostile = "x'); DROP TABLE user_documents; --";
  const auto result =
      execute_query(*store_, "SELECT * FROM cars WHERE make = :m OR make = 'Volvo'", fmt::format(R"({{"m":"{}"}})", hostile));
  EXPECT_EQ(result.items.size(), 1U);
  const auto plan_statement = dql::parse("SELECT * FROM cars WHERE make = :m");
  const auto plan = dql::translate(plan_statement, fmt::format(R"({{"m":"{}"}})", hostile), store_->query_dialect());
  EXPECT_EQ(plan.sql.sql.find("DROP"), std::string::npos) << plan.sql.sql;
  ASSERT_TRUE(store_->get("cars", "c1").has_value());
}

}  // namespace
}  // namespace smallpeer
