// Small Peer Info: defaults, schedule (on a manual clock), persistence, the document's fields.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <map>

#include "common/error.h"
#include "ditto/ditto.h"
#include "support/temp_dir.h"

using namespace smallpeer;
using namespace std::chrono_literals;

namespace {

class SmallPeerInfoTest : public ::testing::Test {
 protected:
  void SetUp() override { UserLogOutput::instance().set_console_enabled(false); }

  std::shared_ptr<Ditto> open(std::optional<std::string> device_name = "test-device") {
    DittoConfig config;
    config.persistence_dir = dir_.path() / "peer";
    config.scheduler = scheduler_;
    config.device_name = std::move(device_name);
    return Ditto::open(config);
  }

  // The stored SPI document, parsed.
  simdjson::dom::element stored(Ditto& d) {
    auto doc = d.small_peer_info().current_document();
    EXPECT_TRUE(doc.has_value());
    docs_.push_back(doc.value_or("{}"));
    return parser_.parse(docs_.back()).value();
  }

  uint64_t stored_sequence(Ditto& d) { return stored(d)["sequence"].get_uint64().value(); }

  test_support::TempDir dir_{"spi-test"};
  std::shared_ptr<ManualScheduler> scheduler_ = std::make_shared<ManualScheduler>();
  simdjson::dom::parser parser_;
  std::vector<std::string> docs_;
};

TEST_F(SmallPeerInfoTest, DiskUsageIsMeasuredAtMostEveryThirtySeconds) {
  auto d = open();
  d->small_peer_info().set_enabled(true);
  auto ditto_total = [&] { return stored(*d)["device_disk_usage"]["ditto_total"].get_uint64().value(); };
  const uint64_t before = ditto_total();
  {
    std::ofstream blob(dir_.path() / "peer" / "blob.bin", std::ios::binary);
    blob << std::string(1 << 20, 'x');
  }
  d->small_peer_info().collect_now();
  EXPECT_EQ(ditto_total(), before) << "a write within kDiskUsageMaxAge reuses the measured figures";
  scheduler_->advance(kDiskUsageMaxAge);
  d->small_peer_info().collect_now();
  EXPECT_GE(ditto_total(), before + (1u << 20)) << "after kDiskUsageMaxAge the directory is measured again";
}

TEST_F(SmallPeerInfoTest, DefaultsAreOffLocalPeerOnlyAndFiveMinutes) {
  auto d = open();
  auto& spi = d->small_peer_info();
  EXPECT_FALSE(spi.enabled());
  EXPECT_EQ(spi.sync_scope(), SyncScope::local_peer_only);
  EXPECT_EQ(spi.interval(), 300s);
  EXPECT_EQ(spi.metadata_json(), "{}");
  EXPECT_FALSE(spi.current_document().has_value());
  scheduler_->advance(1h);
  EXPECT_FALSE(spi.current_document().has_value()) << "disabled means no writes";
}

TEST_F(SmallPeerInfoTest, EnableWritesAtOnceThenEveryInterval) {
  auto d = open();
  const auto t0 = scheduler_->clock()->now();
  d->small_peer_info().set_enabled(true);
  EXPECT_EQ(stored_sequence(*d), 1u);
  EXPECT_EQ(std::string(stored(*d)["last_updated_at"].get_string().value()), format_rfc3339(t0));

  scheduler_->advance(299s);
  EXPECT_EQ(stored_sequence(*d), 1u);
  scheduler_->advance(1s);
  EXPECT_EQ(stored_sequence(*d), 2u);
  EXPECT_EQ(std::string(stored(*d)["last_updated_at"].get_string().value()), format_rfc3339(t0 + 300s));

  scheduler_->advance(1h);  // twelve more five-minute cycles
  EXPECT_EQ(stored_sequence(*d), 14u);
}

TEST_F(SmallPeerInfoTest, DisableStopsWrites) {
  auto d = open();
  d->small_peer_info().set_enabled(true);
  scheduler_->advance(600s);
  EXPECT_EQ(stored_sequence(*d), 3u);
  d->small_peer_info().set_enabled(false);
  scheduler_->advance(24h);
  EXPECT_EQ(stored_sequence(*d), 3u);
  EXPECT_EQ(scheduler_->pending(), 0u) << "no timer is left running while disabled";
}

TEST_F(SmallPeerInfoTest, ShorterIntervalRetimesFromTheLastWrite) {
  auto d = open();
  d->small_peer_info().set_enabled(true);
  scheduler_->advance(10s);
  d->small_peer_info().set_interval(5s);
  scheduler_->advance(0s);  // last write was 10 s ago: due at once
  EXPECT_EQ(stored_sequence(*d), 2u);
  scheduler_->advance(5s);
  EXPECT_EQ(stored_sequence(*d), 3u);
  EXPECT_THROW(d->small_peer_info().set_interval(999ms), Error);
  EXPECT_EQ(d->small_peer_info().interval(), 5s);
}

TEST_F(SmallPeerInfoTest, CollectNowWritesEvenWhenDisabled) {
  auto d = open();
  d->small_peer_info().collect_now();
  d->small_peer_info().collect_now();
  EXPECT_EQ(stored_sequence(*d), 2u);
}

TEST_F(SmallPeerInfoTest, SettingsAndSequenceSurviveReopen) {
  {
    auto d = open();
    auto& spi = d->small_peer_info();
    spi.set_sync_scope(SyncScope::big_peer_only);
    spi.set_interval(42s);
    spi.set_metadata_json(R"({"site":"north","shift":2})");
    spi.set_device_name("forklift-7");
    spi.set_enabled(true);
    scheduler_->advance(42s);
    EXPECT_EQ(stored_sequence(*d), 2u);
  }
  auto d = open(std::nullopt);  // no device name given: the persisted one stands
  auto& spi = d->small_peer_info();
  EXPECT_TRUE(spi.enabled());
  EXPECT_EQ(spi.sync_scope(), SyncScope::big_peer_only);
  EXPECT_EQ(spi.interval(), 42s);
  EXPECT_EQ(spi.metadata_json(), R"({"site":"north","shift":2})");
  EXPECT_EQ(spi.device_name(), "forklift-7");
  EXPECT_EQ(stored_sequence(*d), 3u) << "enabled at open writes at start, continuing the sequence";
  EXPECT_EQ(std::string(stored(*d)["sync_scope"].get_string().value()), "BigPeerOnly");
}

TEST_F(SmallPeerInfoTest, InvalidMetadataKeepsTheOldOne) {
  auto d = open();
  auto& spi = d->small_peer_info();
  spi.set_metadata_json(R"({"ok":true})");
  for (const char* bad : {"[1]", "3", "{broken", ""}) {
    try {
      spi.set_metadata_json(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::validation);
    }
    EXPECT_EQ(spi.metadata_json(), R"({"ok":true})");
  }
}

TEST_F(SmallPeerInfoTest, SpiScopeRefusesUserOnlyScopes) {
  auto d = open();
  EXPECT_THROW(d->small_peer_info().set_sync_scope(SyncScope::all_peers), Error);
  EXPECT_THROW(d->small_peer_info().set_sync_scope(SyncScope::small_peers_only), Error);
  EXPECT_EQ(d->small_peer_info().sync_scope(), SyncScope::local_peer_only);
}

TEST_F(SmallPeerInfoTest, EverySchemaFieldIsPresentWithTheRightType) {
  using T = simdjson::dom::element_type;
  auto d = open();
  d->upsert("orders", R"({"_id":"o1","total":3})");
  d->upsert("orders", R"({"_id":"o2","total":4})");
  d->upsert("tasks", R"({"_id":"t1"})");
  d->small_peer_info().set_metadata_json(R"({"site":"north"})");
  d->small_peer_info().set_enabled(true);
  auto doc = stored(*d);
  const std::vector<std::pair<const char*, T>> fields = {
      {"_id", T::STRING},
      {"schema_version", T::INT64},
      {"sequence", T::INT64},
      {"last_updated_at", T::STRING},
      {"device_name", T::STRING},
      {"ditto_sdk_language", T::STRING},
      {"ditto_sdk_platform", T::STRING},
      {"ditto_sdk_version", T::STRING},
      {"ditto_sdk_commit", T::STRING},
      {"os", T::OBJECT},
      {"sync_scope", T::STRING},
      {"is_connected_to_big_peer", T::BOOL},
      {"connections_by_transport", T::OBJECT},
      {"connected_peers", T::ARRAY},
      {"connected_peers_truncated", T::BOOL},
      {"big_peer_connection_history", T::ARRAY},
      {"device_disk_usage", T::OBJECT},
      {"store", T::OBJECT},
      {"logs_config", T::OBJECT},
      {"metadata", T::OBJECT},
      {"transport_config", T::OBJECT},
      // Ditto's own names (README "The document against Ditto's").
      {"version", T::INT64},
      {"transport_config_change_events", T::ARRAY},
      {"peer_metadata", T::NULL_VALUE},
      {"identity_service_metadata", T::NULL_VALUE},
  };
  for (const auto& [name, type] : fields) {
    auto field = doc[name];
    ASSERT_FALSE(field.error()) << name << " is missing";
    EXPECT_EQ(field.type().value(), type) << name;
  }
  EXPECT_EQ(std::string(doc["_id"].get_string().value()), d->peer_key());
  EXPECT_EQ(doc["schema_version"].get_int64().value(), 1);
  EXPECT_EQ(doc["version"].get_int64().value(), 1);
  EXPECT_GT(doc["device_disk_usage"]["ditto_auth"].get_uint64().value(), 0u) << "the identity key file";
  EXPECT_EQ(doc["device_disk_usage"]["ditto_attachments"].get_uint64().value(), 0u);
  // The configuration at open is the first event.
  EXPECT_EQ(doc["transport_config_change_events"].get_array().size(), 1u);
  EXPECT_EQ(doc["transport_config_change_events"].at(0)["cfg"].type().value(), T::OBJECT);
  EXPECT_EQ(doc["transport_config_change_events"].at(0)["timestamp"].type().value(), T::STRING);
  EXPECT_EQ(std::string(doc["device_name"].get_string().value()), "test-device");
  EXPECT_EQ(std::string(doc["ditto_sdk_language"].get_string().value()), "C");
  EXPECT_EQ(std::string(doc["ditto_sdk_platform"].get_string().value()), "Linux");
  for (const char* k : {"name", "version", "arch"}) EXPECT_FALSE(doc["os"][k].get_string().value().empty()) << k;
  for (const char* k : {"AccessPoint", "Bluetooth", "P2PWiFi", "WebSocket"})
    EXPECT_EQ(doc["connections_by_transport"][k].get_int64().value(), 0) << k;
  for (const char* k : {"device_available", "device_total", "ditto_store", "ditto_logs", "ditto_total"})
    EXPECT_GT(doc["device_disk_usage"][k].get_uint64().value(), 0u) << k;
  EXPECT_GE(
      doc["device_disk_usage"]["ditto_total"].get_uint64().value(),
      doc["device_disk_usage"]["ditto_store"].get_uint64().value() + doc["device_disk_usage"]["ditto_logs"].get_uint64().value());
  EXPECT_EQ(doc["store"]["user_collections"]["orders"]["num_docs"].get_int64().value(), 2);
  EXPECT_EQ(doc["store"]["user_collections"]["tasks"]["num_docs"].get_int64().value(), 1);
  EXPECT_TRUE(doc["store"]["user_collections"]["__small_peer_info"].error()) << "system collections are not user collections";
  EXPECT_EQ(std::string(doc["metadata"]["site"].get_string().value()), "north");
  EXPECT_EQ(doc["logs_config"]["enabled"].type().value(), T::BOOL);
  EXPECT_EQ(doc["logs_config"]["minimum_level"].type().value(), T::STRING);
}

// Ditto's transport_config_change_events: each configuration set, newest last, the newest ten.
TEST_F(SmallPeerInfoTest, TransportConfigChangesAreListedNewestLastAndBounded) {
  auto d = open();
  for (int port = 4001; port <= 4012; ++port) {
    d->set_transport_config(R"({"lan":{"listen":null,"connect":["127.0.0.1:)" + std::to_string(port) + R"("]}})");
  }
  simdjson::dom::parser parser;
  const auto doc = parser.parse(d->small_peer_info().collect_now()).value();
  const auto events = doc["transport_config_change_events"].get_array().value();
  ASSERT_EQ(events.size(), kMaxTransportConfigEvents);
  EXPECT_EQ(std::string(events.at(kMaxTransportConfigEvents - 1)["cfg"]["lan"]["connect"].at(0).get_string().value()),
            "127.0.0.1:4012");
  EXPECT_EQ(std::string(events.at(0)["cfg"]["lan"]["connect"].at(0).get_string().value()), "127.0.0.1:4003");
  // A refused configuration is not an event.
  EXPECT_THROW(d->set_transport_config(R"({"lan":{"listen":"nowhere"}})"), Error);
  const auto after = parser.parse(d->small_peer_info().collect_now()).value();
  EXPECT_EQ(std::string(after["transport_config_change_events"]
                            .at(kMaxTransportConfigEvents - 1)["cfg"]["lan"]["connect"]
                            .at(0)
                            .get_string()
                            .value()),
            "127.0.0.1:4012");
}

TEST_F(SmallPeerInfoTest, DocumentFollowsLiveState) {
  auto d = open();
  d->small_peer_info().set_enabled(true);
  d->presence().add_peer({"pkNeighbour", "tablet-2", Transport::access_point, false});
  d->presence().add_peer({"pkBigPeer", "big-peer", Transport::websocket, true});
  d->presence().record_big_peer_event({BigPeerConnectionEvent::Kind::connected, scheduler_->clock()->now(), ""});
  d->upsert("orders", R"({"_id":"o1"})");
  UserLogOutput::instance().set_minimum_level(LogLevel::debug);
  d->small_peer_info().collect_now();
  auto doc = stored(*d);
  EXPECT_TRUE(doc["is_connected_to_big_peer"].get_bool().value());
  EXPECT_EQ(doc["connections_by_transport"]["AccessPoint"].get_int64().value(), 1);
  EXPECT_EQ(doc["connections_by_transport"]["WebSocket"].get_int64().value(), 1);
  EXPECT_EQ(doc["connected_peers"].get_array().size(), 2u);
  EXPECT_EQ(std::string(doc["big_peer_connection_history"].at(0)["event"].get_string().value()), "connected");
  EXPECT_EQ(doc["store"]["user_collections"]["orders"]["num_docs"].get_int64().value(), 1);
  EXPECT_EQ(std::string(doc["logs_config"]["minimum_level"].get_string().value()), "debug");
  UserLogOutput::instance().set_minimum_level(LogLevel::info);
}

TEST_F(SmallPeerInfoTest, CollectionCountsFollowEveryUserWriteBetweenReports) {
  // The counts are re-read only after a user collection changed; every kind of change must show.
  auto d = open();
  d->small_peer_info().set_enabled(true);
  auto counts = [&] {
    d->small_peer_info().collect_now();
    std::map<std::string, int64_t> out;
    const auto doc = stored(*d);
    const simdjson::dom::object collections = doc["store"]["user_collections"].get_object().value();
    for (const auto field : collections) out[std::string(field.key)] = field.value["num_docs"].get_int64().value();
    return out;
  };
  EXPECT_TRUE(counts().empty());
  d->upsert("orders", R"({"_id":"o1"})");
  EXPECT_EQ(counts(), (std::map<std::string, int64_t>{{"orders", 1}}));
  EXPECT_EQ(counts(), (std::map<std::string, int64_t>{{"orders", 1}})) << "a report without writes in between";
  d->upsert("orders", R"({"_id":"o2"})");
  d->upsert("tasks", R"({"_id":"t1"})");
  EXPECT_EQ(counts(), (std::map<std::string, int64_t>{{"orders", 2}, {"tasks", 1}}));
  d->upsert("orders", R"({"_id":"o2","done":true})");
  EXPECT_EQ(counts(), (std::map<std::string, int64_t>{{"orders", 2}, {"tasks", 1}})) << "a replaced document is still one";
  d->remove("tasks", "t1");
  EXPECT_EQ(counts(), (std::map<std::string, int64_t>{{"orders", 2}}));
}

TEST_F(SmallPeerInfoTest, SecondOpenOfTheSameDirectoryIsRefused) {
  auto d = open();
  try {
    open();
    FAIL() << "second open succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::locked);
    EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos);
  }
  d->close();
  EXPECT_NO_THROW(open()) << "closing releases the directory";
}

TEST_F(SmallPeerInfoTest, CallsAfterCloseFailCleanly) {
  auto d = open();
  auto& spi = d->small_peer_info();
  d->close();
  EXPECT_THROW(spi.set_enabled(true), Error);
  EXPECT_THROW(d->upsert("orders", "{}"), Error);
  EXPECT_THROW(d->small_peer_info(), Error);
  try {
    d->get("orders", "x");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::closed);
  }
}

// "Every call after close() throws Error(closed)" (ditto.h) holds for the accessors too: the peer
// key and the transport configuration are not served from a closed instance.
TEST_F(SmallPeerInfoTest, EveryCallAfterCloseThrowsClosed) {
  auto d = open();
  EXPECT_FALSE(d->peer_key().empty()) << "served while open";
  EXPECT_NE(d->transport_config_json().find("big_peer"), std::string::npos) << "served while open";
  d->close();
  const auto expect_closed = [](const char* what, const auto& call) {
    try {
      call();
      ADD_FAILURE() << what << " succeeded after close";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::closed) << what;
      EXPECT_STREQ(e.what(), "the Ditto instance is closed") << what;
    }
  };
  expect_closed("peer_key", [&] { (void)d->peer_key(); });
  expect_closed("transport_config_json", [&] { (void)d->transport_config_json(); });
  expect_closed("get", [&] { (void)d->get("orders", "x"); });
  expect_closed("small_peer_info", [&] { (void)d->small_peer_info(); });
}

TEST_F(SmallPeerInfoTest, AppsCannotWriteSystemCollections) {
  auto d = open();
  EXPECT_THROW(d->upsert("__small_peer_info", R"({"_id":"x"})"), Error);
  EXPECT_THROW(d->remove("__small_peer_info", d->peer_key()), Error);
}

TEST_F(SmallPeerInfoTest, UnwritableDirectoryIsAnIoError) {
  // A path under a regular file fails for every user, root included (root ignores permissions).
  std::filesystem::create_directories(dir_.path());
  const auto file = dir_.path() / "plain-file";
  { std::ofstream(file) << "x"; }
  DittoConfig config;
  config.persistence_dir = file / "peer";
  config.scheduler = scheduler_;
  try {
    Ditto::open(config);
    FAIL() << "opened under a regular file";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_NE(std::string(e.what()).find("plain-file"), std::string::npos) << e.what();
  }
}

}  // namespace
