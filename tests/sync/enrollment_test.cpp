// Device enrollment and the audit log against a real Big Peer process (on SQLite, and on
// PostgreSQL as the postgres: entries): a revoked device is refused at the handshake and its
// documents stop arriving until it is allowed again; with approval required a new device waits;
// the enrollment and audit API refuse bad input and change nothing.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ditto/ditto.h"
#include "support/big_peer_process.h"
#include "support/small_peer.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace smallpeer;
using namespace std::chrono_literals;
using test_support::BigPeerProcess;
using test_support::BigPeerProcessOptions;
using test_support::TempDir;
using test_support::wait_until;
namespace http = boost::beast::http;

namespace {

/// A refused device backs off (doubling to 30 s): long enough for it to come back after that.
constexpr auto kReconnectWait = 45s;

class EnrollmentTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (auto& p : peers_) p->close();
  }

  void start_big_peer(std::vector<std::string> extra_args = {}) {
    UserLogOutput::instance().set_console_enabled(false);
    big_peer_ = std::make_unique<BigPeerProcess>(
        BigPeerProcessOptions{.data_dir = dir_.path() / "big-peer", .extra_args = std::move(extra_args)});
  }

  std::shared_ptr<Ditto> peer(const std::string& name) {
    auto d = test_support::open_small_peer(*big_peer_, dir_.path(), name, big_peer_->transport_json());
    peers_.push_back(d);
    return d;
  }

  test_support::HttpResult post(const std::string& target, bool authorized = true) {
    return test_support::http_request(big_peer_->port(), http::verb::post, target,
                                      authorized ? std::optional<std::string>(big_peer_->admin_token()) : std::nullopt);
  }

  bool at_big_peer(std::string_view collection, std::string_view id) {
    return big_peer_->get(fmt::format("/api/v1/collections/{}/documents/{}", collection, id)).status == 200;
  }

  // How many times the Big Peer refused `d` with a reason containing `text`.
  static size_t refusals(const std::shared_ptr<Ditto>& d, std::string_view text) {
    size_t n = 0;
    for (const auto& e : d->presence().snapshot().big_peer_history)
      if (e.kind == BigPeerConnectionEvent::Kind::auth_failed && e.reason.find(text) != std::string::npos) ++n;
    return n;
  }

  static bool connected(const std::shared_ptr<Ditto>& d) { return d->presence().snapshot().connected_to_big_peer(); }

  // The value of a metric line (e.g. `smallpeer_enrollment_refusals_total{reason="revoked"}`), or -1.
  int64_t metric(const std::string& line) {
    const auto body = big_peer_->get("/metrics", false).body;
    const auto at = body.find("\n" + line + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(body.substr(at + line.size() + 2));
  }

  TempDir dir_{"enrollment"};
  std::unique_ptr<BigPeerProcess> big_peer_;
  std::vector<std::shared_ptr<Ditto>> peers_;
};

TEST_F(EnrollmentTest, ARevokedDeviceIsRefusedAndReportsAgainOnceAllowed) {
  start_big_peer();
  auto d = peer("tablet");
  d->upsert("cars", R"({"_id":"before"})");
  ASSERT_TRUE(wait_until([&] { return at_big_peer("cars", "before"); }));
  // Its first session enrolled it, approved (approval is not required by default).
  auto listed = big_peer_->get("/api/v1/enrollments");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_NE(listed.body.find(d->peer_key()), std::string::npos) << listed.body;
  EXPECT_NE(listed.body.find(R"("state":"approved")"), std::string::npos) << listed.body;
  EXPECT_NE(listed.body.find(R"("approval_required":false)"), std::string::npos) << listed.body;

  const auto revoked = post("/api/v1/enrollments/" + d->peer_key() + "/revoke");
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_NE(revoked.body.find(R"("state":"revoked")"), std::string::npos) << revoked.body;
  // Its live session is closed, and every reconnection is refused with the reason it logs.
  ASSERT_TRUE(wait_until([&] { return refusals(d, "device revoked") >= 1; }, kReconnectWait));
  EXPECT_FALSE(connected(d));
  d->upsert("cars", R"({"_id":"while-revoked"})");
  ASSERT_TRUE(wait_until([&] { return refusals(d, "device revoked") >= 2; }, kReconnectWait));
  EXPECT_FALSE(at_big_peer("cars", "while-revoked"));
  EXPECT_GE(metric(R"(smallpeer_enrollment_refusals_total{reason="revoked"})"), 2);
  EXPECT_GE(metric("smallpeer_revoked_sessions_closed_total"), 1);
  EXPECT_EQ(metric(R"(smallpeer_enrollments{state="revoked"})"), 1);

  const auto allowed = post("/api/v1/enrollments/" + d->peer_key() + "/allow");
  ASSERT_EQ(allowed.status, 200) << allowed.body;
  EXPECT_NE(allowed.body.find(R"("state":"approved")"), std::string::npos) << allowed.body;
  EXPECT_TRUE(wait_until([&] { return at_big_peer("cars", "while-revoked"); }, kReconnectWait));

  // Both changes are in the audit log, newest first, with who and from where.
  const auto audit = big_peer_->get("/api/v1/audit");
  ASSERT_EQ(audit.status, 200) << audit.body;
  const auto allow_at = audit.body.find(R"("action":"device.allow")");
  const auto revoke_at = audit.body.find(R"("action":"device.revoke")");
  ASSERT_NE(allow_at, std::string::npos) << audit.body;
  ASSERT_NE(revoke_at, std::string::npos) << audit.body;
  EXPECT_LT(allow_at, revoke_at) << audit.body;
  EXPECT_NE(audit.body.find(R"("actor":"admin token")"), std::string::npos) << audit.body;
  EXPECT_NE(audit.body.find(R"("address":"127.0.0.1")"), std::string::npos) << audit.body;
  EXPECT_NE(audit.body.find(R"("detail":"was revoked")"), std::string::npos) << audit.body;
}

TEST_F(EnrollmentTest, WithApprovalRequiredANewDeviceWaitsUntilApproved) {
  start_big_peer({"--require-device-approval"});
  auto d = peer("kiosk");
  d->upsert("cars", R"({"_id":"waiting"})");
  ASSERT_TRUE(wait_until([&] { return refusals(d, "device not yet approved") >= 1; }, kReconnectWait));
  const auto pending = big_peer_->get("/api/v1/enrollments?state=pending");
  ASSERT_EQ(pending.status, 200) << pending.body;
  EXPECT_NE(pending.body.find(d->peer_key()), std::string::npos) << pending.body;
  EXPECT_NE(pending.body.find(R"("device_name":"kiosk")"), std::string::npos) << pending.body;
  EXPECT_EQ(big_peer_->get("/api/v1/enrollments?state=approved").body.find(d->peer_key()), std::string::npos);
  EXPECT_FALSE(at_big_peer("cars", "waiting"));
  EXPECT_FALSE(connected(d));
  EXPECT_GE(metric(R"(smallpeer_enrollment_refusals_total{reason="pending"})"), 1);

  ASSERT_EQ(post("/api/v1/enrollments/" + d->peer_key() + "/allow").status, 200);
  EXPECT_TRUE(wait_until([&] { return at_big_peer("cars", "waiting"); }, kReconnectWait));
  const auto audit = big_peer_->get("/api/v1/audit");
  EXPECT_NE(audit.body.find(R"("action":"device.approve")"), std::string::npos) << audit.body;
}

TEST_F(EnrollmentTest, TheApiRefusesBadInputAndChangesNothing) {
  start_big_peer();
  auto d = peer("phone");
  ASSERT_TRUE(wait_until([&] { return connected(d); }));
  const std::string key = d->peer_key();
  const auto enrollments_before = big_peer_->get("/api/v1/enrollments").body;
  const auto audit_before = big_peer_->get("/api/v1/audit").body;

  // Unknown (well-formed) key: 404; malformed: 400; no credential: 401; wrong one: 401.
  const std::string unknown = "pk" + std::string(43, 'A');
  EXPECT_EQ(post("/api/v1/enrollments/" + unknown + "/revoke").status, 404);
  EXPECT_EQ(big_peer_->get("/api/v1/enrollments/" + unknown).status, 404);
  const auto malformed = post("/api/v1/enrollments/not-a-key/revoke");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(malformed.body.find("is not a peer key"), std::string::npos) << malformed.body;
  EXPECT_EQ(post("/api/v1/enrollments/not-a-key/allow").status, 400);
  EXPECT_EQ(post("/api/v1/enrollments/" + key + "/revoke", false).status, 401);
  EXPECT_EQ(test_support::http_request(big_peer_->port(), http::verb::post, "/api/v1/enrollments/" + key + "/revoke",
                                       std::string("wrong-token"))
                .status,
            401);
  EXPECT_EQ(big_peer_->get("/api/v1/enrollments", false).status, 401);
  EXPECT_EQ(big_peer_->get("/api/v1/audit", false).status, 401);
  EXPECT_EQ(big_peer_->get("/api/v1/enrollments?state=lost").status, 400);
  EXPECT_EQ(big_peer_->get("/api/v1/enrollments?after=x").status, 400);
  EXPECT_EQ(big_peer_->get("/api/v1/audit?after=x").status, 400);
  EXPECT_EQ(big_peer_->get("/api/v1/audit?limit=0").status, 400);
  EXPECT_EQ(big_peer_->get("/api/v1/enrollments/" + key + "/revoke").status, 405);

  // Nothing changed: the device is still approved and connected, and nothing was audited.
  EXPECT_EQ(big_peer_->get("/api/v1/enrollments").body, enrollments_before);
  EXPECT_EQ(big_peer_->get("/api/v1/audit").body, audit_before);
  EXPECT_TRUE(connected(d));
  const auto one = big_peer_->get("/api/v1/enrollments/" + key);
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_NE(one.body.find(R"("state":"approved")"), std::string::npos) << one.body;
  EXPECT_NE(one.body.find(R"("last_address":"127.0.0.1:)"), std::string::npos) << one.body;
}

TEST_F(EnrollmentTest, LoginsLogoutsAndFailedLoginsAreAudited) {
  start_big_peer();
  const auto login = [&](const std::string& token) {
    return test_support::http_request(big_peer_->port(), http::verb::post, "/api/v1/session", std::nullopt,
                                      fmt::format(R"({{"token":"{}"}})", token));
  };
  EXPECT_EQ(login("wrong").status, 401);
  EXPECT_EQ(login(big_peer_->admin_token()).status, 204);
  EXPECT_EQ(test_support::http_request(big_peer_->port(), http::verb::delete_, "/api/v1/session").status, 204);
  const auto audit = big_peer_->get("/api/v1/audit");
  ASSERT_EQ(audit.status, 200) << audit.body;
  const auto logout_at = audit.body.find(R"("action":"logout")");
  const auto login_at = audit.body.find(R"("action":"login")");
  const auto failed_at = audit.body.find(R"("action":"login_failed")");
  ASSERT_NE(logout_at, std::string::npos) << audit.body;
  ASSERT_NE(login_at, std::string::npos) << audit.body;
  ASSERT_NE(failed_at, std::string::npos) << audit.body;
  EXPECT_LT(logout_at, login_at);
  EXPECT_LT(login_at, failed_at);
  EXPECT_NE(audit.body.find(R"("actor":"anonymous")"), std::string::npos) << audit.body;
  EXPECT_EQ(audit.body.find(big_peer_->admin_token()), std::string::npos) << "the token must never be logged";
  // Paging: one entry per page, the next page starts after it.
  const auto first = big_peer_->get("/api/v1/audit?limit=1");
  const auto next_at = first.body.find(R"("next_after":")");
  ASSERT_NE(next_at, std::string::npos) << first.body;
  const std::string after = first.body.substr(next_at + 14, 25);
  const auto second = big_peer_->get("/api/v1/audit?limit=1&after=" + after);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_NE(second.body.find(R"("action":"login")"), std::string::npos) << second.body;
}

}  // namespace
