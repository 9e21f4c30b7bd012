// The C ABI as a binding sees it: only smallpeer.h, statuses, messages, ownership and threads.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <smallpeer/smallpeer.h>
#include <smallpeer/smallpeer_diagnostics.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/gunzip.h"
#include "support/temp_dir.h"

using smallpeer::test_support::TempDir;

namespace {
// The decompressed content of the gzip file at `path`.
std::string gunzip(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return smallpeer::test_support::gunzip(std::string(std::istreambuf_iterator<char>(in), {}));
}
}  // namespace
using namespace std::chrono_literals;

namespace {

// Frees a string the library returned.
struct CString {
  char* p = nullptr;
  ~CString() { sp_free(p); }
  [[nodiscard]] std::string str() const { return p ? p : ""; }
};

std::string config_for(const std::filesystem::path& dir, const std::string& extra = "") {
  return R"({"persistence_dir":")" + dir.string() + "\"" + extra + "}";
}

class CApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sp_logger_set_console_enabled(false);
    ASSERT_EQ(sp_ditto_open(config_for(dir_.path() / "peer", R"(,"device_name":"capi-device")").c_str(), &ditto_), SP_OK)
        << sp_last_error_message();
  }
  void TearDown() override { sp_ditto_free(ditto_); }

  TempDir dir_{"capi-test"};
  sp_ditto_t* ditto_ = nullptr;
};

TEST(CApi, VersionsMatchTheHeader) {
  EXPECT_EQ(sp_abi_version(), SP_ABI_VERSION);
  EXPECT_STREQ(sp_version(), "0.1.0");
}

TEST(CApi, BadConfigsAreRefusedWithAMessage) {
  TempDir dir;
  sp_ditto_t* d = nullptr;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "config must be a JSON object"},
      {"[]", "config must be a JSON object"},
      {"{}", "'persistence_dir' is required"},
      {config_for(dir.path(), R"(,"colour":"red")"), "unknown config field 'colour'"},
      {config_for(dir.path(), R"(,"identity":{"type":"online_playground","app_id":"a"})"), "needs a token"},
      {config_for(dir.path(), R"(,"identity":{"type":"production"})"), "unknown identity type 'production'"},
      {config_for(dir.path(), R"(,"sdk_language":"Cobol")"), "unknown SDK language 'Cobol'"},
  };
  for (const auto& [config, message] : cases) {
    EXPECT_EQ(sp_ditto_open(config.c_str(), &d), SP_ERR_INVALID_ARGUMENT) << config;
    EXPECT_NE(std::string(sp_last_error_message()).find(message), std::string::npos) << sp_last_error_message();
    EXPECT_EQ(d, nullptr);
  }
  EXPECT_EQ(sp_ditto_open(nullptr, &d), SP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sp_ditto_open(config_for(dir.path()).c_str(), nullptr), SP_ERR_INVALID_ARGUMENT);
}

TEST_F(CApiTest, DefaultsAreOffLocalPeerOnlyFiveMinutes) {
  bool enabled = true;
  sp_sync_scope_t scope = -1;
  int64_t interval = 0;
  CString name;
  ASSERT_EQ(sp_spi_get_enabled(ditto_, &enabled), SP_OK);
  ASSERT_EQ(sp_spi_get_sync_scope(ditto_, &scope), SP_OK);
  ASSERT_EQ(sp_spi_get_collection_interval_ms(ditto_, &interval), SP_OK);
  ASSERT_EQ(sp_spi_get_device_name(ditto_, &name.p), SP_OK);
  EXPECT_FALSE(enabled);
  EXPECT_EQ(scope, SP_SYNC_SCOPE_LOCAL_PEER_ONLY);
  EXPECT_EQ(interval, 300000);
  EXPECT_EQ(name.str(), "capi-device");
  CString doc;
  EXPECT_EQ(sp_spi_get_document(ditto_, &doc.p), SP_ERR_NOT_FOUND);
}

TEST_F(CApiTest, EnableWritesTheDocumentWithThePeerKey) {
  ASSERT_EQ(sp_spi_set_enabled(ditto_, true), SP_OK);
  CString doc, key;
  ASSERT_EQ(sp_spi_get_document(ditto_, &doc.p), SP_OK);
  ASSERT_EQ(sp_ditto_peer_key(ditto_, &key.p), SP_OK);
  simdjson::dom::parser parser;
  auto root = parser.parse(doc.str()).value();
  EXPECT_EQ(std::string(root["_id"].get_string().value()), key.str());
  EXPECT_EQ(root["sequence"].get_int64().value(), 1);
  CString again;
  ASSERT_EQ(sp_spi_collect_now(ditto_, &again.p), SP_OK);
  EXPECT_EQ(parser.parse(again.str()).value()["sequence"].get_int64().value(), 2);
}

TEST_F(CApiTest, ScopeAndMetadataErrorsNameTheProblemAndChangeNothing) {
  EXPECT_EQ(sp_spi_set_sync_scope(ditto_, 9), SP_ERR_INVALID_ARGUMENT);
  const std::string unknown_scope = sp_last_error_message();
  EXPECT_EQ(unknown_scope,
            "unknown sync scope 9; expected 0 (LocalPeerOnly), 1 (BigPeerOnly), 2 (AllPeers) or 3 (SmallPeersOnly)");
  // One check, one message: a collection's scope is refused the same way.
  EXPECT_EQ(sp_store_set_collection_scope(ditto_, "cars", 9), SP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(sp_last_error_message()), unknown_scope);
  EXPECT_EQ(sp_spi_set_sync_scope(ditto_, SP_SYNC_SCOPE_ALL_PEERS), SP_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sp_last_error_message()).find("sync scope AllPeers cannot be used for small peer info"),
            std::string::npos);
  sp_sync_scope_t unchanged = -1;
  ASSERT_EQ(sp_spi_get_sync_scope(ditto_, &unchanged), SP_OK);
  EXPECT_EQ(unchanged, SP_SYNC_SCOPE_LOCAL_PEER_ONLY);  // the refused calls changed nothing
  ASSERT_EQ(sp_spi_set_sync_scope(ditto_, SP_SYNC_SCOPE_BIG_PEER_ONLY), SP_OK);

  ASSERT_EQ(sp_spi_set_metadata_json(ditto_, R"({"a":1})"), SP_OK);
  EXPECT_EQ(sp_spi_set_metadata_json(ditto_, "[1]"), SP_ERR_VALIDATION);
  EXPECT_NE(std::string(sp_last_error_message()).find("must be a JSON object"), std::string::npos);
  const std::string big = R"({"k":")" + std::string(128 * 1024 - 8 + 1, 'x') + R"("})";
  EXPECT_EQ(sp_spi_set_metadata_json(ditto_, big.c_str()), SP_ERR_VALIDATION);
  EXPECT_NE(std::string(sp_last_error_message()).find("128 KB"), std::string::npos);
  const std::string exact = R"({"k":")" + std::string(128 * 1024 - 8, 'x') + R"("})";
  EXPECT_EQ(sp_spi_set_metadata_json(ditto_, exact.c_str()), SP_OK) << sp_last_error_message();
  ASSERT_EQ(sp_spi_set_metadata_json(ditto_, R"({"a":1})"), SP_OK);
  EXPECT_EQ(sp_spi_set_metadata_json(ditto_, nullptr), SP_ERR_INVALID_ARGUMENT);

  CString meta;
  sp_sync_scope_t scope = -1;
  ASSERT_EQ(sp_spi_get_metadata_json(ditto_, &meta.p), SP_OK);
  ASSERT_EQ(sp_spi_get_sync_scope(ditto_, &scope), SP_OK);
  EXPECT_EQ(meta.str(), R"({"a":1})");
  EXPECT_EQ(scope, SP_SYNC_SCOPE_BIG_PEER_ONLY);
  EXPECT_EQ(sp_spi_set_collection_interval_ms(ditto_, 999), SP_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sp_last_error_message()).find("at least 1000 ms"), std::string::npos);
}

TEST_F(CApiTest, SecondOpenOfTheDirectoryIsLocked) {
  sp_ditto_t* second = nullptr;
  EXPECT_EQ(sp_ditto_open(config_for(dir_.path() / "peer").c_str(), &second), SP_ERR_LOCKED);
  EXPECT_NE(std::string(sp_last_error_message()).find("in use by another open Ditto instance"), std::string::npos);
  EXPECT_EQ(second, nullptr);
}

TEST_F(CApiTest, CallsOnAClosedHandleFailCleanly) {
  ASSERT_EQ(sp_ditto_close(ditto_), SP_OK);
  ASSERT_EQ(sp_ditto_close(ditto_), SP_OK) << "close is idempotent";
  bool enabled = false;
  CString s;
  EXPECT_EQ(sp_spi_set_enabled(ditto_, true), SP_ERR_CLOSED);
  EXPECT_STREQ(sp_last_error_message(), "the Ditto instance is closed");
  EXPECT_EQ(sp_spi_get_enabled(ditto_, &enabled), SP_ERR_CLOSED);
  EXPECT_EQ(sp_store_upsert(ditto_, "orders", "{}", nullptr), SP_ERR_CLOSED);
  EXPECT_EQ(sp_store_get(ditto_, "orders", "x", &s.p), SP_ERR_CLOSED);
  EXPECT_EQ(sp_ditto_peer_key(ditto_, &s.p), SP_ERR_CLOSED);
  EXPECT_EQ(sp_sync_get_transport_config(ditto_, &s.p), SP_ERR_CLOSED);
  EXPECT_EQ(sp_ditto_log(ditto_, SP_LOG_INFO, "x"), SP_ERR_CLOSED);
  EXPECT_EQ(sp_ditto_send_logs(ditto_, nullptr, &s.p), SP_ERR_CLOSED);
  EXPECT_EQ(sp_spi_set_enabled(nullptr, true), SP_ERR_INVALID_ARGUMENT);
}

TEST_F(CApiTest, StoreRoundTripAndPaging) {
  CString id;
  ASSERT_EQ(sp_store_upsert(ditto_, "orders", R"({"total": 12})", &id.p), SP_OK);
  EXPECT_EQ(id.str().size(), 32u);
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(sp_store_upsert(ditto_, "orders", (R"({"_id":"o)" + std::to_string(i) + R"("})").c_str(), nullptr), SP_OK);
  CString got;
  ASSERT_EQ(sp_store_get(ditto_, "orders", "o3", &got.p), SP_OK);
  EXPECT_EQ(got.str(), R"({"_id":"o3"})");
  CString page;
  ASSERT_EQ(sp_store_find_all(ditto_, "orders", 4, nullptr, &page.p), SP_OK);
  simdjson::dom::parser parser;
  auto root = parser.parse(page.str()).value();
  EXPECT_EQ(root["documents"].get_array().size(), 4u);
  const std::string after(root["next_after"].get_string().value());
  CString rest;
  ASSERT_EQ(sp_store_find_all(ditto_, "orders", 4, after.c_str(), &rest.p), SP_OK);
  auto root2 = parser.parse(rest.str()).value();
  EXPECT_EQ(root2["documents"].get_array().size(), 2u);
  EXPECT_TRUE(root2["next_after"].is_null());
  EXPECT_EQ(sp_store_find_all(ditto_, "orders", 0, nullptr, &rest.p), SP_ERR_INVALID_ARGUMENT);

  bool removed = false;
  ASSERT_EQ(sp_store_remove(ditto_, "orders", "o3", &removed), SP_OK);
  EXPECT_TRUE(removed);
  CString gone;
  EXPECT_EQ(sp_store_get(ditto_, "orders", "o3", &gone.p), SP_ERR_NOT_FOUND);
  EXPECT_EQ(sp_store_upsert(ditto_, "__small_peer_info", "{}", nullptr), SP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sp_store_upsert(ditto_, "orders", R"({"_id": 5})", nullptr), SP_ERR_VALIDATION);
  CString names;
  ASSERT_EQ(sp_store_collection_names(ditto_, &names.p), SP_OK);
  EXPECT_EQ(names.str(), R"(["orders"])");
}

struct ObserverLog {
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> events;
  std::thread::id thread;
  std::atomic<bool> freed{false};
};

TEST_F(CApiTest, ObserversRunOnAnEngineThreadAndStopWhenTheTokenIsFreed) {
  ObserverLog log;
  sp_token_t* token = nullptr;
  auto cb = [](void* ud, const char* collection, const char* id, sp_change_kind_t kind, const char* json) {
    auto* l = static_cast<ObserverLog*>(ud);
    std::lock_guard lock(l->m);
    l->thread = std::this_thread::get_id();
    l->events.push_back(std::string(collection) + "/" + id +
                        (kind == SP_CHANGE_UPSERT ? " upsert " + std::string(json) : " remove"));
    l->cv.notify_all();
  };
  ASSERT_EQ(sp_store_observe(
                ditto_, "orders", cb, &log, [](void* ud) { static_cast<ObserverLog*>(ud)->freed = true; }, &token),
            SP_OK);
  ASSERT_EQ(sp_store_upsert(ditto_, "orders", R"({"_id":"a"})", nullptr), SP_OK);
  ASSERT_EQ(sp_store_upsert(ditto_, "tasks", R"({"_id":"b"})", nullptr), SP_OK);
  ASSERT_EQ(sp_store_remove(ditto_, "orders", "a", nullptr), SP_OK);
  {
    std::unique_lock lock(log.m);
    ASSERT_TRUE(log.cv.wait_for(lock, 5s, [&] { return log.events.size() >= 2; }));
    EXPECT_EQ(log.events, (std::vector<std::string>{R"(orders/a upsert {"_id":"a"})", "orders/a remove"}));
    EXPECT_NE(log.thread, std::this_thread::get_id());
  }
  sp_token_free(token);
  EXPECT_TRUE(log.freed.load());
  ASSERT_EQ(sp_store_upsert(ditto_, "orders", R"({"_id":"c"})", nullptr), SP_OK);
  std::this_thread::sleep_for(100ms);
  std::lock_guard lock(log.m);
  EXPECT_EQ(log.events.size(), 2u);
}

TEST_F(CApiTest, CallbackMayFreeATokenWhoseCallIsStillQueued) {
  // Each "first" callback frees a "second" token whose call is queued behind it. With every pool
  // thread doing that at once, no thread is left to start those calls, so freeing must not wait for
  // them. 64 pairs cover any pool size (SMALLPEER_THREADS is at most 64).
  constexpr int kPairs = 64;
  struct Shared {
    std::mutex m;
    std::condition_variable cv;
    bool go = false;
    int freed = 0;
  } shared;
  struct First {
    Shared* shared;
    sp_token_t* second = nullptr;
  };
  std::vector<First> firsts(kPairs, First{&shared});
  std::vector<sp_token_t*> first_tokens(kPairs, nullptr);
  auto first_cb = [](void* ud, const char*, const char*, sp_change_kind_t, const char*) {
    auto* f = static_cast<First*>(ud);
    {
      std::unique_lock lock(f->shared->m);
      f->shared->cv.wait(lock, [&] { return f->shared->go; });
    }
    sp_token_free(std::exchange(f->second, nullptr));
    std::lock_guard lock(f->shared->m);
    ++f->shared->freed;
    f->shared->cv.notify_all();
  };
  auto second_cb = [](void*, const char*, const char*, sp_change_kind_t, const char*) {};
  for (auto& f : firsts)
    ASSERT_EQ(sp_store_observe(ditto_, "pairs", first_cb, &f, nullptr, &first_tokens[&f - firsts.data()]), SP_OK);
  for (auto& f : firsts) ASSERT_EQ(sp_store_observe(ditto_, "pairs", second_cb, nullptr, nullptr, &f.second), SP_OK);
  ASSERT_EQ(sp_store_upsert(ditto_, "pairs", "{}", nullptr), SP_OK);
  {
    std::unique_lock lock(shared.m);
    shared.go = true;
    shared.cv.notify_all();
    ASSERT_TRUE(shared.cv.wait_for(lock, 10s, [&] { return shared.freed == kPairs; })) << "sp_token_free deadlocked";
  }
  for (auto* token : first_tokens) sp_token_free(token);
}

TEST_F(CApiTest, LogCallbackAndExport) {
  ObserverLog log;
  sp_token_t* token = nullptr;
  ASSERT_EQ(sp_logger_set_minimum_level(SP_LOG_DEBUG), SP_OK);
  ASSERT_EQ(sp_logger_add_callback(
                [](void* ud, sp_log_level_t level, const char* msg) {
                  auto* l = static_cast<ObserverLog*>(ud);
                  std::lock_guard lock(l->m);
                  if (std::string(msg).find("hello from the test") != std::string::npos)
                    l->events.push_back(std::to_string(level));
                  l->cv.notify_all();
                },
                &log, nullptr, &token),
            SP_OK);
  ASSERT_EQ(sp_ditto_log(ditto_, SP_LOG_WARNING, "hello from the test"), SP_OK);
  {
    std::unique_lock lock(log.m);
    ASSERT_TRUE(log.cv.wait_for(lock, 5s, [&] { return !log.events.empty(); }));
    EXPECT_EQ(log.events.front(), std::to_string(SP_LOG_WARNING));
  }
  sp_token_free(token);
  sp_logger_set_minimum_level(SP_LOG_INFO);
  EXPECT_EQ(sp_logger_set_minimum_level(0), SP_ERR_INVALID_ARGUMENT);

  const auto out = dir_.path() / "export.jsonl.gz";
  uint64_t lines = 0;
  ASSERT_EQ(sp_ditto_export_logs(ditto_, out.c_str(), R"({"min_level":"warning"})", &lines), SP_OK) << sp_last_error_message();
  EXPECT_GE(lines, 1u);
  std::ifstream f(out, std::ios::binary);
  unsigned char magic[2] = {0, 0};
  f.read(reinterpret_cast<char*>(magic), 2);
  EXPECT_EQ(magic[0], 0x1f);
  EXPECT_EQ(magic[1], 0x8b);
  EXPECT_EQ(sp_ditto_export_logs(ditto_, out.c_str(), R"({"min_level":"loud"})", &lines), SP_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sp_last_error_message()).find("unknown log level 'loud'"), std::string::npos);
  EXPECT_EQ(sp_ditto_export_logs(ditto_, out.c_str(), R"({"since":"yesterday"})", &lines), SP_ERR_INVALID_ARGUMENT);
  // The options are a log filter, with the rules the Big Peer's HTTP API applies: null is absent,
  // max_bytes 0 and unknown fields are refused by name.
  const auto refused = [&](const char* json) {
    EXPECT_EQ(sp_ditto_export_logs(ditto_, out.c_str(), json, &lines), SP_ERR_INVALID_ARGUMENT) << json;
    return std::string(sp_last_error_message());
  };
  EXPECT_NE(refused(R"({"max_bytes":0})").find("max_bytes must be a positive integer"), std::string::npos);
  EXPECT_EQ(refused(R"({"colour":"blue"})"), "unknown field 'colour'; expected min_level, since, until, max_bytes");
  EXPECT_EQ(refused(R"({"since":"2026-11-26T10:00:00Z","until":"2026-11-26T09:00:00Z"})"), "since is after until");
  uint64_t all_lines = 0;
  ASSERT_EQ(sp_ditto_export_logs(ditto_, out.c_str(), nullptr, &all_lines), SP_OK) << sp_last_error_message();
  uint64_t with_nulls = 0;
  ASSERT_EQ(
      sp_ditto_export_logs(ditto_, out.c_str(), R"({"min_level":null,"since":null,"until":null,"max_bytes":null})", &with_nulls),
      SP_OK)
      << sp_last_error_message();
  EXPECT_EQ(with_nulls, all_lines);
  uint64_t capped = 0;
  ASSERT_EQ(sp_ditto_export_logs(ditto_, out.c_str(), R"({"max_bytes":1})", &capped), SP_OK) << sp_last_error_message();
  EXPECT_EQ(capped, 0u);  // a cap smaller than any line keeps none

  // "Send logs to support" without a Big Peer: the bundle waits in the outbox; bad options change nothing.
  const auto outbox = dir_.path() / "peer" / "log-outbox";
  CString id;
  EXPECT_EQ(sp_ditto_send_logs(ditto_, R"({"min_level":"loud"})", &id.p), SP_ERR_INVALID_ARGUMENT);
  EXPECT_FALSE(std::filesystem::exists(outbox) && !std::filesystem::is_empty(outbox));
  ASSERT_EQ(sp_ditto_send_logs(ditto_, R"({"min_level":"warning"})", &id.p), SP_OK) << sp_last_error_message();
  EXPECT_EQ(id.str().rfind("dev_", 0), 0u) << id.str();
  EXPECT_TRUE(std::filesystem::exists(outbox / (id.str() + ".jsonl.gz")));
}

TEST_F(CApiTest, ConcurrentCallsFromEightThreads) {
  ASSERT_EQ(sp_spi_set_enabled(ditto_, true), SP_OK);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string doc = R"({"_id":"t)" + std::to_string(t) + "-" + std::to_string(i) + R"("})";
        if (sp_store_upsert(ditto_, "load", doc.c_str(), nullptr) != SP_OK) ++failures;
        if (sp_spi_set_metadata_json(ditto_, (R"({"thread":)" + std::to_string(t) + "}").c_str()) != SP_OK) ++failures;
        char* out = nullptr;
        if (sp_spi_collect_now(ditto_, i % 2 ? &out : nullptr) != SP_OK) ++failures;
        sp_free(out);
        bool enabled = false;
        if (sp_spi_get_enabled(ditto_, &enabled) != SP_OK || !enabled) ++failures;
        if (sp_ditto_log(ditto_, SP_LOG_DEBUG, "concurrent") != SP_OK) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  CString doc;
  ASSERT_EQ(sp_spi_get_document(ditto_, &doc.p), SP_OK);
  simdjson::dom::parser parser;
  auto root = parser.parse(doc.str()).value();
  EXPECT_EQ(root["sequence"].get_int64().value(), 1 + 8 * 50) << "every write got its own sequence number";
  EXPECT_EQ(root["store"]["user_collections"]["load"]["num_docs"].get_int64().value(), 400);
}

TEST_F(CApiTest, CloseRacingCallsNeverCrashes) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!stop) {
        const auto rc = sp_store_upsert(ditto_, "race", "{}", nullptr);
        if (rc != SP_OK && rc != SP_ERR_CLOSED) ADD_FAILURE() << "unexpected status " << rc;
        if (rc == SP_ERR_CLOSED) return;
      }
    });
  }
  std::this_thread::sleep_for(20ms);
  ASSERT_EQ(sp_ditto_close(ditto_), SP_OK);
  stop = true;
  for (auto& t : threads) t.join();
}

TEST(CApi, FreeingHandlesReleasesThem) {
  TempDir dir;
  const int64_t before = sp_ditto_live_handles();
  sp_ditto_t* d = nullptr;
  ASSERT_EQ(sp_ditto_open(config_for(dir.path() / "a").c_str(), &d), SP_OK);
  EXPECT_EQ(sp_ditto_live_handles(), before + 1);
  sp_ditto_free(d);
  EXPECT_EQ(sp_ditto_live_handles(), before);
  // The directory is free again once the handle is released.
  ASSERT_EQ(sp_ditto_open(config_for(dir.path() / "a").c_str(), &d), SP_OK);
  sp_ditto_free(d);
}

}  // namespace

// The header's callback rule: the userdata free function runs exactly once on every path, a failed
// registration included, so a binding hands userdata over and never frees it itself.
namespace {
std::atomic<int> userdata_frees{0};
void count_free(void* ud) {
  ++userdata_frees;
  delete static_cast<int*>(ud);
}
void ignore_change(void*, const char*, const char*, sp_change_kind_t, const char*) {}
void ignore_log(void*, sp_log_level_t, const char*) {}
}  // namespace

TEST_F(CApiTest, UserdataIsFreedExactlyOnceOnEveryRegistrationPath) {
  const auto frees_after = [](const std::function<void(int*)>& attempt) {
    userdata_frees = 0;
    attempt(new int(7));
    return userdata_frees.load();
  };
  sp_token_t* token = nullptr;
  // Failed registrations: the free function has run once when the call returns.
  EXPECT_EQ(frees_after([&](int* ud) {
              EXPECT_EQ(sp_store_observe(ditto_, "cars", nullptr, ud, count_free, &token), SP_ERR_INVALID_ARGUMENT);
            }),
            1);
  EXPECT_EQ(frees_after([&](int* ud) {
              EXPECT_EQ(sp_store_observe(ditto_, "cars", ignore_change, ud, count_free, nullptr), SP_ERR_INVALID_ARGUMENT);
            }),
            1);
  EXPECT_EQ(frees_after([&](int* ud) {
              EXPECT_EQ(sp_store_observe(ditto_, nullptr, ignore_change, ud, count_free, &token), SP_ERR_INVALID_ARGUMENT);
            }),
            1);
  EXPECT_EQ(frees_after([&](int* ud) {
              EXPECT_EQ(sp_store_observe(nullptr, "cars", ignore_change, ud, count_free, &token), SP_ERR_INVALID_ARGUMENT);
            }),
            1);
  EXPECT_EQ(frees_after([&](int* ud) {
              EXPECT_EQ(sp_spi_observe_fleet(ditto_, nullptr, ud, count_free, &token), SP_ERR_INVALID_ARGUMENT);
            }),
            1);
  EXPECT_EQ(frees_after([&](int* ud) {
              EXPECT_EQ(sp_spi_observe_fleet(nullptr, ignore_change, ud, count_free, &token), SP_ERR_INVALID_ARGUMENT);
            }),
            1);
  EXPECT_EQ(frees_after([&](int* ud) {
              EXPECT_EQ(sp_spi_observe_fleet(ditto_, ignore_change, ud, count_free, nullptr), SP_ERR_INVALID_ARGUMENT);
            }),
            1);
  EXPECT_EQ(
      frees_after([&](int* ud) { EXPECT_EQ(sp_logger_add_callback(nullptr, ud, count_free, &token), SP_ERR_INVALID_ARGUMENT); }),
      1);
  EXPECT_EQ(frees_after([&](int* ud) {
              EXPECT_EQ(sp_logger_add_callback(ignore_log, ud, count_free, nullptr), SP_ERR_INVALID_ARGUMENT);
            }),
            1);
  // Successful registrations: nothing freed until sp_token_free, then exactly once.
  EXPECT_EQ(frees_after([&](int* ud) {
              ASSERT_EQ(sp_store_observe(ditto_, "cars", ignore_change, ud, count_free, &token), SP_OK);
              EXPECT_EQ(userdata_frees.load(), 0);
              sp_token_free(token);
            }),
            1);
  EXPECT_EQ(frees_after([&](int* ud) {
              ASSERT_EQ(sp_spi_observe_fleet(ditto_, ignore_change, ud, count_free, &token), SP_OK);
              EXPECT_EQ(userdata_frees.load(), 0);
              sp_token_free(token);
            }),
            1);
  EXPECT_EQ(frees_after([&](int* ud) {
              ASSERT_EQ(sp_logger_add_callback(ignore_log, ud, count_free, &token), SP_OK);
              EXPECT_EQ(userdata_frees.load(), 0);
              sp_token_free(token);
            }),
            1);
  // A closed handle refuses the registration and frees the userdata.
  ASSERT_EQ(sp_ditto_close(ditto_), SP_OK);
  EXPECT_EQ(frees_after([&](int* ud) {
              EXPECT_EQ(sp_store_observe(ditto_, "cars", ignore_change, ud, count_free, &token), SP_ERR_CLOSED);
            }),
            1);
  EXPECT_EQ(frees_after(
                [&](int* ud) { EXPECT_EQ(sp_spi_observe_fleet(ditto_, ignore_change, ud, count_free, &token), SP_ERR_CLOSED); }),
            1);
}

// DittoLogger.exportToFile: one export of every open instance's engine log, merged oldest first,
// returning the bytes written; closed instances are left out, and none open is an empty export.
TEST_F(CApiTest, LoggerExportsEveryOpenInstanceInOneFile) {
  sp_ditto_t* second = nullptr;
  ASSERT_EQ(sp_ditto_open(config_for(dir_.path() / "second").c_str(), &second), SP_OK) << sp_last_error_message();
  ASSERT_EQ(sp_ditto_log(ditto_, SP_LOG_INFO, "line from the first instance"), SP_OK);
  ASSERT_EQ(sp_ditto_log(second, SP_LOG_INFO, "line from the second instance"), SP_OK);
  const auto out = dir_.path() / "process.jsonl.gz";
  uint64_t bytes = 0;
  ASSERT_EQ(sp_logger_export_to_file(out.c_str(), nullptr, &bytes), SP_OK) << sp_last_error_message();
  EXPECT_EQ(bytes, std::filesystem::file_size(out));
  const std::string text = gunzip(out);
  EXPECT_NE(text.find("line from the first instance"), std::string::npos);
  EXPECT_NE(text.find("line from the second instance"), std::string::npos);
  // Oldest first across both instances: every "ts" is >= the one before it.
  std::string previous;
  for (size_t at = text.find("\"ts\":\""); at != std::string::npos; at = text.find("\"ts\":\"", at + 1)) {
    const std::string ts = text.substr(at + 6, 24);
    EXPECT_LE(previous, ts);
    previous = ts;
  }
  // Bad arguments change nothing and name the problem.
  EXPECT_EQ(sp_logger_export_to_file(nullptr, nullptr, &bytes), SP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sp_logger_export_to_file("", nullptr, &bytes), SP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sp_logger_export_to_file(out.c_str(), R"({"max_bytes":0})", &bytes), SP_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sp_last_error_message()).find("max_bytes"), std::string::npos);
  // A closed instance's lines are left out.
  ASSERT_EQ(sp_ditto_close(second), SP_OK);
  ASSERT_EQ(sp_logger_export_to_file(out.c_str(), nullptr, nullptr), SP_OK) << sp_last_error_message();
  EXPECT_EQ(gunzip(out).find("line from the second instance"), std::string::npos);
  sp_ditto_free(second);
}

// "Strings are UTF-8": every string argument is checked at the boundary and refused by name.
TEST_F(CApiTest, StringArgumentsThatAreNotUtf8AreRefusedByName) {
  EXPECT_EQ(sp_spi_set_device_name(ditto_, "bad \xff name"), SP_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(sp_last_error_message(), "device_name is not valid UTF-8");
  EXPECT_EQ(sp_spi_set_metadata_json(ditto_, "{\"k\":\"\xc3\"}"), SP_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(sp_last_error_message(), "metadata_json is not valid UTF-8");
  EXPECT_EQ(sp_store_upsert(ditto_, "cars\xff", "{}", nullptr), SP_ERR_INVALID_ARGUMENT);
  CString name;
  ASSERT_EQ(sp_spi_get_device_name(ditto_, &name.p), SP_OK);
  EXPECT_EQ(name.str(), "capi-device");
}
