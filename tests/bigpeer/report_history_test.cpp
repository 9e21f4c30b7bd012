// Report history (bigpeer/report_history.h) through the real ingest queue, on the store this
// registration tests: SQLite by default, PostgreSQL under "postgres:". The ring's bound, the rows'
// bounded fields, versions that never let an older report replace a newer row, and a row that
// commits or fails with its report.
#include "bigpeer/report_history.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bigpeer/ingest.h"
#include "bigpeer/metrics.h"
#include "bigpeer/storage/postgres_store.h"
#include "clock/clock.h"
#include "clock/hlc.h"
#include "common/error.h"
#include "spi/small_peer_info_collector.h"
#include "store/store.h"
#include "support/postgres_server.h"
#include "support/temp_dir.h"

namespace smallpeer::bigpeer {
namespace {

using namespace std::chrono_literals;

/// A report of `peer` with `sequence`, versioned at `millis` and written by the device
/// `millis` - 1000 seconds after 2026-12-04T10:00:00.123Z (later reports are later by both).
Document report(const std::string& peer, int64_t sequence, uint64_t millis, const std::string& extra = "") {
  const auto written = parse_rfc3339("2026-12-04T10:00:00.123Z").value() + std::chrono::seconds(millis - 1000);
  const std::string json = fmt::format(
      R"({{"_id":"{}","sequence":{},"last_updated_at":"{}","device_name":"a name","metadata":{{"site":"north"}},)"
      R"("is_connected_to_big_peer":true,"connections_by_transport":{{"WebSocket":1,"Bluetooth":2,"Made-up":9}},)"
      R"("connected_peers":[{{"peer_key":"x"}},{{"peer_key":"y"}}],"collection_interval_ms":300000,)"
      R"("device_disk_usage":{{"device_available":5000000000,"device_total":64000000000,"ditto_store":1234,"ditto_logs":99,"note":"x"}}{}}})",
      peer, sequence, format_rfc3339(written), extra);
  return Document{std::string(kSmallPeerInfoCollection), peer, json, {HlcTimestamp::from_parts(millis, 0), peer}, false, {}};
}

class ReportHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto hlc = std::make_shared<HybridLogicalClock>(std::make_shared<SystemClock>());
    if (test_support::postgres_backend()) {
      store_ = std::make_unique<PostgresStore>(test_support::PostgresServer::shared().create_database(), hlc, "pkBigPeer");
    } else {
      store_ = Store::open(dir_.path() / "history.sqlite3", hlc, "pkBigPeer", StoreOptions::for_big_peer());
    }
    queue_ = std::make_unique<IngestQueue>(*store_, metrics_, IngestQueue::kDefaultMaxGroupDocuments, nullptr, &history_);
  }
  void TearDown() override { queue_.reset(); }

  /// Submits one batch and waits for its commit; the store's exception, if any.
  std::exception_ptr ingest(std::vector<Document> batch) {
    std::promise<std::exception_ptr> done;
    queue_->submit(std::move(batch), {}, [&](const std::exception_ptr& e) { done.set_value(e); });
    return done.get_future().get();
  }
  /// The sequences of `peer`'s kept rows, in the history's order.
  std::vector<int64_t> kept(const std::string& peer) {
    simdjson::dom::parser parser;
    const std::string json = history_json(*store_, peer, clock_->now() - 24h, clock_->now() + 1h, {});
    std::vector<int64_t> out;
    const simdjson::dom::array reports = parser.parse(json)["reports"].get_array().value();
    for (auto row : reports) out.push_back(int64_t(row["sequence"]));
    return out;
  }

  test_support::TempDir dir_{"report-history-test"};
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(SystemClock().now());
  std::unique_ptr<Store> store_;
  BigPeerMetrics metrics_;
  ReportHistory history_{4, clock_};
  std::unique_ptr<IngestQueue> queue_;
};

TEST_F(ReportHistoryTest, ARowKeepsOnlyTheBoundedFieldsOfItsReport) {
  const auto received = SystemClock().now();
  const auto row = history_.row(report("pkA", 10, 1000), received);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->collection, kReportHistoryCollection);
  EXPECT_EQ(row->id, "pkA:2");  // 10 mod 4
  EXPECT_EQ(row->version.hlc, HlcTimestamp::from_parts(1000, 0));
  EXPECT_EQ(
      row->json,
      fmt::format(R"({{"_id":"pkA:2","peer_key":"pkA","sequence":10,"received_at":"{}",)"
                  R"("reported_at":"2026-12-04T10:00:00.123Z","is_connected_to_big_peer":true,)"
                  R"("connections":{{"Bluetooth":2,"WebSocket":1}},"connected_peers":2,)"
                  R"("disk":{{"device_available":5000000000,"device_total":64000000000,"ditto_store":1234,"ditto_logs":99}},)"
                  R"("collection_interval_ms":300000}})",
                  format_rfc3339(received)));
}

TEST_F(ReportHistoryTest, ARowKeepsTheFirstOfARepeatedMemberAndOnlyWholeNumbers) {
  const auto received = SystemClock().now();
  Document d = report("pkA", 5, 1000);
  d.json = R"({"_id":"pkA","sequence":5,"is_connected_to_big_peer":false,"connections_by_transport":)"
           R"({"WebSocket":"1","WebSocket":3,"Bluetooth":2,"Bluetooth":7,"P2PWiFi":1.5,"AccessPoint":-1},)"
           R"("device_disk_usage":{"ditto_total":{"a":1},"device_total":18446744073709551615,"ditto_logs":0},)"
           R"("connected_peers":{},"collection_interval_ms":"300000"})";
  const auto row = history_.row(d, received);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->json, fmt::format(R"({{"_id":"pkA:1","peer_key":"pkA","sequence":5,"received_at":"{}",)"
                                   R"("is_connected_to_big_peer":false,"connections":{{"AccessPoint":-1,"Bluetooth":2}},)"
                                   R"("disk":{{"ditto_logs":0}}}})",
                                   format_rfc3339(received)));
}

TEST_F(ReportHistoryTest, AReportWithoutAWholeNonNegativeSequenceHasNoRow) {
  const auto now = SystemClock().now();
  for (const std::string sequence : {"-1", "1.5", "\"3\"", "null", "1e30"}) {
    Document d = report("pkA", 0, 1000);
    d.json = R"({"_id":"pkA","sequence":)" + sequence + "}";
    EXPECT_FALSE(history_.row(d, now)) << sequence;
  }
  Document missing = report("pkA", 0, 1000);
  missing.json = R"({"_id":"pkA"})";
  EXPECT_FALSE(history_.row(missing, now));
  Document tombstone = report("pkA", 1, 1000);
  tombstone.deleted = true;
  tombstone.json.clear();
  EXPECT_FALSE(history_.row(tombstone, now));
  Document other = report("pkA", 1, 1000);
  other.collection = "cars";
  EXPECT_FALSE(history_.row(other, now));
  EXPECT_THROW(ReportHistory(0, clock_), Error);
  EXPECT_THROW(ReportHistory(kMaxHistoryReports + 1, clock_), Error);
}

TEST_F(ReportHistoryTest, TheRingKeepsTheLastReportsOfEachDeviceOnly) {
  for (int64_t s = 0; s < 10; ++s) {
    clock_->advance(1min);
    ASSERT_EQ(ingest({report("pkA", s, 1000 + s)}), nullptr);
  }
  ASSERT_EQ(ingest({report("pkB", 1, 1000)}), nullptr);
  EXPECT_EQ(kept("pkA"), (std::vector<int64_t>{6, 7, 8, 9}));
  EXPECT_EQ(kept("pkB"), (std::vector<int64_t>{1}));
  // A peer key that is a prefix of another reads only its own rows.
  ASSERT_EQ(ingest({report("pkA2", 3, 1000)}), nullptr);
  EXPECT_EQ(kept("pkA"), (std::vector<int64_t>{6, 7, 8, 9}));
  EXPECT_EQ(store_->list(std::string(kReportHistoryCollection), 100, "").documents.size(), 6u);
  // 12 reports ingested; the 12 history rows are not counted as documents received.
  EXPECT_EQ(metrics_.documents_ingested.load(), 12u);
  EXPECT_EQ(metrics_.spi_reports.load(), 12u);
}

TEST_F(ReportHistoryTest, TheDefaultRingHoldsADayAtTheDefaultInterval) {
  ReportHistory day(kDefaultHistoryReports, clock_);
  // A day and a bit of reports every 5 minutes, stored 20 at a time as the ingest groups them.
  std::vector<Document> batch;
  for (int64_t s = 0; s < 300; ++s) {
    clock_->advance(5min);
    batch.push_back(report("pkA", s, 1000 + static_cast<uint64_t>(s)));
    batch.push_back(*day.row(batch.back(), clock_->now()));
    if (batch.size() == 20) {
      store_->merge_batch(batch, {});
      batch.clear();
    }
  }
  simdjson::dom::parser parser;
  const auto json = parser.parse(history_json(*store_, "pkA", clock_->now() - 24h, clock_->now(), {}));
  const simdjson::dom::array rows = json["reports"].get_array().value();
  ASSERT_EQ(rows.size(), kDefaultHistoryReports);
  EXPECT_EQ(int64_t(rows.at(0)["sequence"]), 300 - static_cast<int64_t>(kDefaultHistoryReports));
  EXPECT_EQ(int64_t(rows.at(kDefaultHistoryReports - 1)["sequence"]), 299);
  EXPECT_EQ(int64_t(json["missed"]), 0);
  EXPECT_EQ(store_->list(std::string(kReportHistoryCollection), 1000, "").documents.size(), kDefaultHistoryReports);
}

TEST_F(ReportHistoryTest, AResentOrOlderReportNeverReplacesANewerRow) {
  ASSERT_EQ(ingest({report("pkA", 9, 2000)}), nullptr);
  // Sequence 5 maps to 9's slot (5 mod 4 = 9 mod 4) but is older: neither it nor its row wins.
  ASSERT_EQ(ingest({report("pkA", 5, 1000)}), nullptr);
  ASSERT_EQ(ingest({report("pkA", 9, 2000)}), nullptr);  // resent
  EXPECT_EQ(kept("pkA"), (std::vector<int64_t>{9}));
  const auto doc = store_->get(std::string(kSmallPeerInfoCollection), "pkA");
  ASSERT_TRUE(doc);
  EXPECT_NE(doc->json.find(R"("sequence":9)"), std::string::npos);
}

TEST_F(ReportHistoryTest, ARowCommitsOrFailsWithItsReport) {
  // The bad document (its body's _id is not its id) fails the batch's one transaction: the report
  // in the same batch and its history row are both not stored.
  Document bad{"cars", "car-1", R"({"_id":"car-2"})", {HlcTimestamp::from_parts(3000, 0), "pkA"}, false, {}};
  EXPECT_NE(ingest({report("pkA", 1, 3000), bad}), nullptr);
  EXPECT_FALSE(store_->get(std::string(kSmallPeerInfoCollection), "pkA"));
  EXPECT_TRUE(kept("pkA").empty());
  ASSERT_EQ(ingest({report("pkA", 1, 3000)}), nullptr);
  EXPECT_EQ(kept("pkA"), (std::vector<int64_t>{1}));
}

TEST_F(ReportHistoryTest, GapsAreCountedAsMissedReportsAndTheWindowBoundsTheRows) {
  int64_t millis = 1000;
  for (int64_t s : {1, 2, 7}) {  // three slots of the ring of 4
    clock_->advance(1h);
    ASSERT_EQ(ingest({report("pkA", s, ++millis)}), nullptr);
  }
  simdjson::dom::parser parser;
  const auto all = parser.parse(history_json(*store_, "pkA", clock_->now() - 24h, clock_->now(), {}));
  EXPECT_EQ(int64_t(all["missed"]), 4);
  const simdjson::dom::array rows = all["reports"].get_array().value();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(rows.at(0)["missed_before"].error() != simdjson::SUCCESS);
  EXPECT_EQ(int64_t(rows.at(2)["missed_before"]), 4);
  // Only the last two hours: sequences 2 and 7.
  const auto recent = parser.parse(history_json(*store_, "pkA", clock_->now() - 90min, clock_->now(), {}));
  EXPECT_EQ(recent["reports"].get_array().value().size(), 2u);
}

// Several reports in one millisecond of the Big Peer's clock (the clock stands still here) are in
// the order the device wrote them, even when the sequence went back in between.
TEST_F(ReportHistoryTest, ReportsReceivedInTheSameMillisecondAreInTheOrderTheDeviceWroteThem) {
  ASSERT_EQ(ingest({report("pkA", 6, 1001)}), nullptr);
  ASSERT_EQ(ingest({report("pkA", 7, 1002)}), nullptr);
  ASSERT_EQ(ingest({report("pkA", 0, 1003)}), nullptr);  // the app reinstalled: 0 after 7
  EXPECT_EQ(kept("pkA"), (std::vector<int64_t>{6, 7, 0}));
  simdjson::dom::parser parser;
  const auto json = parser.parse(history_json(*store_, "pkA", clock_->now() - 24h, clock_->now(), {}));
  const simdjson::dom::array rows = json["reports"].get_array().value();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(bool(rows.at(2)["sequence_reset"]));
  EXPECT_EQ(int64_t(json["missed"]), 0);
}

}  // namespace
}  // namespace smallpeer::bigpeer
