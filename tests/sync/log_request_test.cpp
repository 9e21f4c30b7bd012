// Log requests end to end (SPEC section 6): a real Big Peer process, small peers in this process.
// Online delivery, offline delivery on reconnect, an upload cut mid-way that resumes, expiry,
// device-initiated sends, and the HTTP API's refusals.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <random>

#include "ditto/ditto.h"
#include "support/big_peer_process.h"
#include "support/gunzip.h"
#include "support/raw_sync_client.h"
#include "support/small_peer.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace smallpeer;
using namespace std::chrono_literals;
using test_support::BigPeerProcess;
using test_support::BigPeerProcessOptions;
using test_support::gunzip;
using test_support::HttpResult;
using test_support::RawSyncClient;
using test_support::TempDir;
using test_support::wait_until;
namespace http = boost::beast::http;

namespace {

class LogRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    UserLogOutput::instance().set_console_enabled(false);
    big_peer_ = std::make_unique<BigPeerProcess>(BigPeerProcessOptions{.data_dir = dir_.path() / "big-peer"});
  }
  void TearDown() override {
    for (auto& p : peers_) p->close();
  }

  // A small peer pointed at the Big Peer, sync started; `extra` is appended to the transport config.
  std::shared_ptr<Ditto> peer(const std::string& name, const std::string& extra = "") {
    auto d = test_support::open_small_peer(*big_peer_, dir_.path(), name,
                                           fmt::format(R"({{"big_peer":{{"urls":["{}"]}}{}}})", big_peer_->sync_url(), extra));
    peers_.push_back(d);
    return d;
  }

  bool online(const std::shared_ptr<Ditto>& d) {
    const auto r = big_peer_->get("/api/v1/devices/" + d->peer_key());
    return r.status == 200 && r.body.find(R"("online":true)") != std::string::npos;
  }

  HttpResult post(const std::string& target, const std::string& body, bool authorized = true) {
    return test_support::http_request(big_peer_->port(), http::verb::post, target,
                                      authorized ? std::optional(big_peer_->admin_token()) : std::nullopt, body);
  }

  // Creates a log request; returns its id.
  std::string request_logs(const std::shared_ptr<Ditto>& d, const std::string& body = "{}") {
    const auto r = post(fmt::format("/api/v1/devices/{}/log-requests", d->peer_key()), body);
    EXPECT_EQ(r.status, 202) << r.body;
    simdjson::dom::parser parser;
    std::string_view id;
    EXPECT_FALSE(parser.parse(r.body).value()["id"].get(id)) << r.body;
    return std::string(id);
  }

  // A field of a log request as JSON text ("null", "\"ready\"", "123").
  std::string field(const std::string& id, const char* name) {
    const auto r = big_peer_->get("/api/v1/log-requests/" + id);
    if (r.status != 200) return "HTTP " + std::to_string(r.status);
    simdjson::dom::parser parser;
    simdjson::dom::element value;
    if (parser.parse(r.body).value()[name].get(value)) return "missing";
    return simdjson::minify(value);
  }

  bool wait_for_state(const std::string& id, const std::string& state, std::chrono::milliseconds timeout = 20s) {
    return wait_until([&] { return field(id, "state") == "\"" + state + "\""; }, timeout);
  }

  TempDir dir_;
  std::unique_ptr<BigPeerProcess> big_peer_;
  std::vector<std::shared_ptr<Ditto>> peers_;
};

TEST_F(LogRequestTest, OnlinePeerUploadsAndTheBundleDownloads) {
  auto d = peer("kiosk-1");
  ASSERT_TRUE(wait_until([&] { return online(d); }, 20s));
  const std::string marker = fmt::format("marker line logged by the test {}", std::random_device{}());
  d->log(LogLevel::info, "app", marker);

  const auto id = request_logs(d, R"({"min_level":"info"})");
  ASSERT_TRUE(wait_for_state(id, "ready")) << field(id, "state") << "\n" << big_peer_->log_text();
  EXPECT_NE(field(id, "delivered_at"), "null");
  EXPECT_EQ(field(id, "requested_by"), "\"admin\"");
  EXPECT_EQ(field(id, "download_url"), fmt::format("\"/api/v1/log-requests/{}/download\"", id));

  const auto download = big_peer_->get(fmt::format("/api/v1/log-requests/{}/download", id));
  ASSERT_EQ(download.status, 200) << download.body;
  EXPECT_EQ(download.content_type, "application/gzip");
  EXPECT_NE(download.content_disposition.find("attachment; filename=\"kiosk-1_"), std::string::npos)
      << download.content_disposition;
  EXPECT_NE(download.content_disposition.find("Z.jsonl.gz\""), std::string::npos) << download.content_disposition;
  EXPECT_EQ(std::to_string(download.body.size()), field(id, "bytes_total"));
  const auto lines = gunzip(download.body);
  EXPECT_NE(lines.find(marker), std::string::npos);
  // min_level info: no debug lines.
  EXPECT_EQ(lines.find(R"("level":"debug")"), std::string::npos);
  // The device drops its copy once the Big Peer confirmed it.
  EXPECT_TRUE(wait_until([&] { return std::filesystem::is_empty(dir_.path() / "kiosk-1" / "log-outbox"); }, 10s));
  // /metrics counts requests by state.
  EXPECT_NE(big_peer_->get("/metrics").body.find(R"(smallpeer_log_requests{state="ready"} 1)"), std::string::npos);
}

TEST_F(LogRequestTest, OfflinePeerDeliversAfterItReconnects) {
  auto d = peer("till-2");
  ASSERT_TRUE(wait_until([&] { return online(d); }, 20s));
  d->stop_sync();
  ASSERT_TRUE(wait_until([&] { return !online(d); }, 10s));
  const std::string marker = fmt::format("logged while offline {}", std::random_device{}());
  d->log(LogLevel::warning, "app", marker);

  const auto id = request_logs(d);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(field(id, "state"), "\"pending\"");
  EXPECT_EQ(field(id, "delivered_at"), "null");

  d->start_sync();
  ASSERT_TRUE(wait_for_state(id, "ready")) << field(id, "state") << "\n" << big_peer_->log_text();
  EXPECT_NE(field(id, "delivered_at"), "null");
  const auto download = big_peer_->get(fmt::format("/api/v1/log-requests/{}/download", id));
  ASSERT_EQ(download.status, 200);
  EXPECT_NE(gunzip(download.body).find(marker), std::string::npos);
}

TEST_F(LogRequestTest, InterruptedUploadResumesWhereItStopped) {
  // 16 KB chunks at 64 KB/s: a bundle of a few hundred KB takes seconds, so the cut lands mid-upload.
  auto d = peer("sensor-3", R"(,"log_upload":{"chunk_bytes":16384,"max_bytes_per_second":65536})");
  ASSERT_TRUE(wait_until([&] { return online(d); }, 20s));
  std::mt19937_64 rng(42);
  const std::string first = "first line of the big bundle";
  d->log(LogLevel::info, "app", first);
  for (int i = 0; i < 3000; ++i) d->log(LogLevel::info, "app", fmt::format("noise {:016x}{:016x}{:016x}", rng(), rng(), rng()));
  const std::string last = "last line of the big bundle";
  d->log(LogLevel::info, "app", last);

  const auto id = request_logs(d);
  ASSERT_TRUE(wait_until([&] { return field(id, "state") == "\"uploading\""; }, 20s)) << field(id, "state");
  d->stop_sync();                                            // cut the connection mid-upload
  ASSERT_TRUE(wait_until([&] { return !online(d); }, 10s));  // the Big Peer handled every chunk it got
  const auto received = std::stoull(field(id, "bytes_received"));
  const auto total = std::stoull(field(id, "bytes_total"));
  ASSERT_GT(received, 0u);
  ASSERT_LT(received, total) << "the upload finished before the cut; make the bundle bigger";
  EXPECT_EQ(field(id, "state"), "\"uploading\"");

  d->start_sync();
  ASSERT_TRUE(wait_for_state(id, "ready", 60s)) << field(id, "state") << "\n" << big_peer_->log_text();
  const auto download = big_peer_->get(fmt::format("/api/v1/log-requests/{}/download", id));
  ASSERT_EQ(download.status, 200);
  EXPECT_EQ(download.body.size(), total);
  const auto lines = gunzip(download.body);
  EXPECT_NE(lines.find(first), std::string::npos);
  EXPECT_NE(lines.find(last), std::string::npos);
  // It resumed: the Big Peer asked for the bytes after those it had, not for the whole bundle again.
  EXPECT_NE(big_peer_->log_text().find(fmt::format("request {} sent to {} (from byte {})", id, d->peer_key(), received)),
            std::string::npos)
      << big_peer_->log_text();
}

TEST_F(LogRequestTest, RequestNobodyPicksUpExpires) {
  auto d = peer("offline-4");
  ASSERT_TRUE(wait_until([&] { return online(d); }, 20s));
  d->stop_sync();
  ASSERT_TRUE(wait_until([&] { return !online(d); }, 10s));
  const auto id = request_logs(d, R"({"ttl_seconds":1})");
  ASSERT_TRUE(wait_for_state(id, "expired", 10s)) << field(id, "state");
  EXPECT_EQ(field(id, "reason"), "\"the device did not connect before the request expired\"");
  const auto download = big_peer_->get(fmt::format("/api/v1/log-requests/{}/download", id));
  EXPECT_EQ(download.status, 409);
  EXPECT_NE(download.body.find("expired"), std::string::npos);
  // It stays expired when the device comes back.
  d->start_sync();
  ASSERT_TRUE(wait_until([&] { return online(d); }, 20s));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(field(id, "state"), "\"expired\"");
}

TEST_F(LogRequestTest, DeviceSendsItsLogsOnItsOwnInitiative) {
  auto d = peer("handheld-5");
  const std::string marker = fmt::format("the user pressed send logs {}", std::random_device{}());
  d->log(LogLevel::error, "app", marker);
  const auto id = d->send_logs(LogFilter{});
  EXPECT_TRUE(id.starts_with("dev_")) << id;
  ASSERT_TRUE(wait_for_state(id, "ready")) << field(id, "state") << "\n" << big_peer_->log_text();
  EXPECT_EQ(field(id, "requested_by"), "\"device\"");
  const auto list = big_peer_->get(fmt::format("/api/v1/devices/{}/log-requests", d->peer_key()));
  ASSERT_EQ(list.status, 200);
  EXPECT_NE(list.body.find(id), std::string::npos);
  const auto download = big_peer_->get(fmt::format("/api/v1/log-requests/{}/download", id));
  ASSERT_EQ(download.status, 200);
  EXPECT_NE(gunzip(download.body).find(marker), std::string::npos);
}

TEST_F(LogRequestTest, DeviceSendsLogsWhileOfflineAndTheyArriveLater) {
  auto d = peer("handheld-6");
  ASSERT_TRUE(wait_until([&] { return online(d); }, 20s));
  d->stop_sync();
  const auto id = d->send_logs(LogFilter{});
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(big_peer_->get("/api/v1/log-requests/" + id).status, 404);
  d->start_sync();
  ASSERT_TRUE(wait_for_state(id, "ready")) << field(id, "state") << "\n" << big_peer_->log_text();
}

// Per-device quotas on device-initiated bundles (issue 17, finding 6): over the count or the bytes
// of the last 24 h the Big Peer refuses the offer, stores nothing, counts it in /metrics, and the
// device logs the reason and drops the bundle. The quota is derived from the stored requests, so
// it holds across a restart (as it does across nodes sharing a database).
TEST_F(LogRequestTest, DeviceInitiatedBundlesAreCappedPerDevice) {
  const auto restart = [&](std::vector<std::string> args) {
    for (auto& p : peers_) p->close();
    peers_.clear();
    big_peer_.reset();
    big_peer_ = std::make_unique<BigPeerProcess>(
        BigPeerProcessOptions{.data_dir = dir_.path() / "big-peer", .extra_args = std::move(args)});
  };
  const auto refused_metric = [&] {
    const auto body = big_peer_->get("/metrics").body;
    const std::string name = R"(smallpeer_log_bundles_refused_total{reason="quota"} )";
    const auto at = body.find(name);
    return at == std::string::npos ? std::string("missing")
                                   : body.substr(at + name.size(), body.find('\n', at) - at - name.size());
  };
  const auto device_log = [&](const std::shared_ptr<Ditto>& d) {
    const auto out = dir_.path() / (d->peer_key().substr(0, 8) + "-logs.jsonl.gz");
    d->export_logs(out, {});
    std::ifstream in(out, std::ios::binary);
    return gunzip(std::string(std::istreambuf_iterator<char>(in), {}));
  };

  // Count: two bundles a day; the third is refused.
  restart({"--device-log-bundles-per-day", "2"});
  auto d = peer("handheld-quota");
  ASSERT_TRUE(wait_until([&] { return online(d); }, 20s));
  EXPECT_EQ(refused_metric(), "0");
  const auto first = d->send_logs(LogFilter{});
  ASSERT_TRUE(wait_for_state(first, "ready")) << field(first, "state") << "\n" << big_peer_->log_text();
  const auto second = d->send_logs(LogFilter{});
  ASSERT_TRUE(wait_for_state(second, "ready")) << field(second, "state") << "\n" << big_peer_->log_text();
  const auto third = d->send_logs(LogFilter{});
  ASSERT_TRUE(wait_until([&] { return refused_metric() == "1"; }, 20s)) << refused_metric() << "\n" << big_peer_->log_text();
  EXPECT_EQ(big_peer_->get("/api/v1/log-requests/" + third).status, 404) << "nothing is stored for a refused offer";
  EXPECT_TRUE(wait_until(
      [&] { return !std::filesystem::exists(dir_.path() / "handheld-quota" / "log-outbox" / (third + ".jsonl.gz")); }, 10s))
      << "the device drops the refused bundle";
  EXPECT_NE(device_log(d).find(fmt::format("the Big Peer refused log bundle {}: log bundle quota exceeded: this device sent 2 "
                                           "bundles in the last 24 h (at most 2)",
                                           third)),
            std::string::npos);
  // An operator's request is not the device's initiative: it is not capped.
  const auto asked = request_logs(d);
  ASSERT_TRUE(wait_for_state(asked, "ready")) << field(asked, "state");

  // Bytes: after a restart with room for about half of what was stored, the next bundle is refused,
  // counted from the requests the store kept (as another node sharing the database would).
  const auto stored = std::stoull(field(first, "bytes_total")) + std::stoull(field(second, "bytes_total"));
  restart({"--device-log-bytes-per-day", std::to_string(stored + stored / 4)});
  d = peer("handheld-quota");
  ASSERT_TRUE(wait_until([&] { return online(d); }, 20s));
  EXPECT_EQ(refused_metric(), "0") << "a new process counts from zero";
  const auto fourth = d->send_logs(LogFilter{});
  ASSERT_TRUE(wait_until([&] { return refused_metric() == "1"; }, 20s)) << refused_metric() << "\n" << big_peer_->log_text();
  EXPECT_EQ(big_peer_->get("/api/v1/log-requests/" + fourth).status, 404);
  EXPECT_TRUE(wait_until(
      [&] {
        return device_log(d).find(fmt::format("the Big Peer refused log bundle {}: log bundle quota exceeded: "
                                              "this device sent {} bytes in the last 24 h",
                                              fourth, stored)) != std::string::npos;
      },
      10s))
      << device_log(d).substr(0, 3000);
  // Another device has its own quota.
  auto other = peer("handheld-other");
  const auto theirs = other->send_logs(LogFilter{});
  ASSERT_TRUE(wait_for_state(theirs, "ready")) << field(theirs, "state") << "\n" << big_peer_->log_text();
}

TEST_F(LogRequestTest, ApiRefusesBadInputWithTheRightStatus) {
  auto d = peer("kiosk-7");
  ASSERT_TRUE(wait_until([&] { return online(d); }, 20s));
  const auto target = fmt::format("/api/v1/devices/{}/log-requests", d->peer_key());
  struct Case {
    std::string body;
    std::string mentions;
  };
  for (const auto& c : std::vector<Case>{
           {R"({"min_level":"loud"})", "min_level"},
           {R"({"min_level":3})", "min_level"},
           {R"({"since":"yesterday"})", "since"},
           {R"({"since":"2026-11-26T10:00:00Z","until":"2026-11-26T09:00:00Z"})", "since is after until"},
           {R"({"max_bytes":0})", "max_bytes must be a positive integer"},
           {R"({"max_bytes":1.5})", "max_bytes"},
           {R"({"max_bytes":-5})", "max_bytes"},
           {R"({"ttl_seconds":0})", "ttl_seconds"},
           {R"({"ttl_seconds":99999999})", "ttl_seconds"},
           {R"({"colour":"blue"})", "unknown field 'colour'; expected min_level, since, until, max_bytes, ttl_seconds"},
           {R"(not json)", "JSON object"},
           {R"([1,2])", "JSON object"},
       }) {
    const auto r = post(target, c.body);
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r.body;
    EXPECT_NE(r.body.find(c.mentions), std::string::npos) << c.body << " -> " << r.body;
    EXPECT_NE(r.body.find(R"("code":"invalid_parameter")"), std::string::npos) << r.body;
  }
  // Nothing was created by the refused calls.
  EXPECT_EQ(big_peer_->get(target).body, R"({"log_requests":[]})");

  // The log filter's rules, as the C ABI applies them: null is absent, any max_bytes >= 1 is a cap,
  // the default level is debug.
  const auto accepted = post(target, R"({"min_level":null,"since":null,"until":null,"max_bytes":10,"ttl_seconds":null})");
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  simdjson::dom::parser parser;
  const auto record = parser.parse(accepted.body).value();
  EXPECT_EQ(std::string_view(record["min_level"].get_string().value()), "debug");
  EXPECT_EQ(record["max_bytes"].get_uint64().value(), 10u);
  EXPECT_TRUE(record["since"].is_null());

  // 401 without a token, on every log request endpoint.
  EXPECT_EQ(post(target, "{}", false).status, 401);
  EXPECT_EQ(big_peer_->get(target, false).status, 401);
  EXPECT_EQ(big_peer_->get("/api/v1/log-requests/lr_0000", false).status, 401);
  EXPECT_EQ(big_peer_->get("/api/v1/log-requests/lr_0000/download", false).status, 401);

  // 404 for unknown ids.
  EXPECT_EQ(post("/api/v1/devices/pkNoSuchDevice/log-requests", "{}").status, 404);
  EXPECT_EQ(big_peer_->get("/api/v1/devices/pkNoSuchDevice/log-requests").status, 404);
  EXPECT_EQ(big_peer_->get("/api/v1/log-requests/lr_0000").status, 404);
  EXPECT_EQ(big_peer_->get("/api/v1/log-requests/lr_0000/download").status, 404);

  // 405 for methods an endpoint does not answer.
  const auto del = test_support::http_request(big_peer_->port(), http::verb::delete_, target, big_peer_->admin_token());
  EXPECT_EQ(del.status, 405);
  EXPECT_EQ(del.allow, "GET, POST");
  EXPECT_EQ(post("/api/v1/log-requests/lr_0000", "{}").status, 405);
}

TEST_F(LogRequestTest, RequestsSurviveABigPeerRestart) {
  auto d = peer("kiosk-8");
  ASSERT_TRUE(wait_until([&] { return online(d); }, 20s));
  d->stop_sync();
  ASSERT_TRUE(wait_until([&] { return !online(d); }, 10s));
  const auto id = request_logs(d);
  const auto port = big_peer_->port();
  const auto token = big_peer_->admin_token();
  big_peer_->stop();
  big_peer_.reset();
  big_peer_ = std::make_unique<BigPeerProcess>(
      BigPeerProcessOptions{.data_dir = dir_.path() / "big-peer", .admin_token = token, .listen_port = port});
  EXPECT_EQ(field(id, "state"), "\"pending\"");
  d->start_sync();
  ASSERT_TRUE(wait_for_state(id, "ready")) << field(id, "state") << "\n" << big_peer_->log_text();
}

// The next frame of type T from the server, skipping others (its CURSORS, DOCS...); nullopt on close.
template <typename T>
std::optional<T> next_frame(RawSyncClient& client) {
  for (int i = 0; i < 50; ++i) {
    auto frame = client.receive();
    if (!frame) return std::nullopt;
    if (auto* wanted = std::get_if<T>(&*frame)) return *wanted;
  }
  return std::nullopt;
}

TEST_F(LogRequestTest, ABundleThatIsNotGzipFailsTheRequest) {
  TempDir keys;
  const auto identity = PeerIdentity::load_or_create(keys.path() / "raw.key");
  RawSyncClient client(big_peer_->port());
  ASSERT_TRUE(client.handshake(identity, big_peer_->app_id(), big_peer_->app_token()));
  ASSERT_TRUE(client.establish());
  // The Big Peer records the session just after it sent the client what completes the handshake.
  ASSERT_TRUE(wait_until([&] { return big_peer_->get("/api/v1/devices/" + identity.peer_key()).status == 200; }, 10s));
  const auto r = post(fmt::format("/api/v1/devices/{}/log-requests", identity.peer_key()), "{}");
  ASSERT_EQ(r.status, 202) << r.body;
  const auto request = next_frame<sync::LogRequest>(client);
  ASSERT_TRUE(request);
  const std::string garbage = "these bytes are not gzip";
  ASSERT_TRUE(client.send(sync::LogChunk{request->request_id, 0, garbage.size(), garbage}));
  const auto result = next_frame<sync::LogResult>(client);
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(field(request->request_id, "state"), "\"failed\"");
  EXPECT_NE(field(request->request_id, "reason").find("not valid gzip"), std::string::npos);
}

TEST_F(LogRequestTest, APeerCannotUploadIntoAnotherPeersRequest) {
  auto victim = peer("victim-9");
  ASSERT_TRUE(wait_until([&] { return online(victim); }, 20s));
  victim->stop_sync();
  ASSERT_TRUE(wait_until([&] { return !online(victim); }, 10s));
  const auto id = request_logs(victim);

  TempDir keys;
  const auto intruder = PeerIdentity::load_or_create(keys.path() / "intruder.key");
  RawSyncClient client(big_peer_->port());
  ASSERT_TRUE(client.handshake(intruder, big_peer_->app_id(), big_peer_->app_token()));
  ASSERT_TRUE(client.establish());
  ASSERT_TRUE(client.send(sync::LogChunk{id, 0, 4, "evil"}));
  const auto result = next_frame<sync::LogResult>(client);
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(field(id, "state"), "\"pending\"");
  EXPECT_EQ(field(id, "bytes_received"), "0");
}

TEST_F(LogRequestTest, LogFramesInTheWrongDirectionOrMalformedDropTheConnection) {
  TempDir keys;
  const auto identity = PeerIdentity::load_or_create(keys.path() / "raw.key");
  std::string bad_chunk = sync::encode(sync::LogChunk{"lr_1", 0, 4, "abcd"});
  bad_chunk[bad_chunk.size() - 4 - 4 - 1] = 2;  // total 2 < the 4 bytes it carries (low byte of u64 total)
  const std::vector<std::pair<std::string, std::string>> attacks = {
      {"log_request to the Big Peer", sync::encode(sync::LogRequest{"lr_1", LogFilter{}, 0})},
      {"chunk larger than its bundle", bad_chunk},
      {"id with a slash", sync::encode(sync::LogOffer{"../etc", 10, true})},
  };
  for (const auto& [name, bytes] : attacks) {
    RawSyncClient client(big_peer_->port());
    ASSERT_TRUE(client.handshake(identity, big_peer_->app_id(), big_peer_->app_token())) << name;
    ASSERT_TRUE(client.establish()) << name;
    ASSERT_TRUE(client.send_raw(bytes)) << name;
    EXPECT_TRUE(client.closed_by_server()) << name;
  }
  EXPECT_EQ(big_peer_->get("/api/v1/health", false).status, 200);
}

}  // namespace
