// The portal's server side, part of the Big Peer suite (smallpeer_bigpeer_tests): login sessions and
// the cookie as a second credential (the session routes on a router), the embedded static files
// with their headers, the fleet history route and sampler, and the real `smallpeer big-peer`
// process serving the portal.
#include "bigpeer/http/portal.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "bigpeer/fleet_history.h"
#include "bigpeer/http/admin_auth.h"
#include "bigpeer/http/csrf.h"
#include "bigpeer/http/fleet.h"
#include "bigpeer/http/login_throttle.h"
#include "bigpeer/http/router.h"
#include "bigpeer/http/session.h"
#include "clock/clock.h"
#include "support/big_peer_process.h"
#include "support/temp_dir.h"

namespace smallpeer::bigpeer {
namespace {

using namespace std::chrono_literals;
namespace http = boost::beast::http;

constexpr std::string_view kToken = "the-admin-token";

HttpRequest request(http::verb method, std::string target, std::string body = {}) {
  HttpRequest r{method, target, 11};
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}

std::string header(const HttpResponse& r, http::field field) {
  return std::string(to_std(r[field]));
}

std::string error_code_of(const HttpResponse& r) {
  simdjson::dom::parser parser;
  std::string_view code;
  if (parser.parse(r.body())["error"]["code"].get_string().get(code) != simdjson::SUCCESS) return "(no error code)";
  return std::string(code);
}

// The cookie pair ("sp_session=...") of a login's Set-Cookie.
std::string cookie_pair(const HttpResponse& r) {
  const auto set_cookie = header(r, http::field::set_cookie);
  return set_cookie.substr(0, set_cookie.find(';'));
}

class PortalTest : public ::testing::Test {
 protected:
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  std::atomic<size_t> online_{2};
  FleetHistory history_{[this] { return FleetSample{{}, online_.load(), 5}; }, clock_, 1h};
  AdminAuth auth_{std::string(kToken)};
  Router router_ = make_router(false);

  // The routes the portal calls (login and fleet history), as the HTTP API adds them.
  Router make_router(bool secure_cookies) {
    Router router{auth_};
    add_session_routes(router, auth_, secure_cookies);
    add_fleet_routes(router, history_);
    return router;
  }
  // As HttpApi::handle: the portal's files first, then the routes.
  HttpResponse handle(const HttpRequest& r) {
    if (auto response = portal_response(r)) return std::move(*response);
    return router_.handle(r);
  }
  HttpResponse login(std::string_view token) {
    return handle(request(http::verb::post, "/api/v1/session", fmt::format(R"({{"token":"{}"}})", token)));
  }
};

TEST_F(PortalTest, LoginWithTheTokenSetsAnHttpOnlySameSiteStrictCookieThatTheApiAccepts) {
  const auto response = login(kToken);
  ASSERT_EQ(response.result(), http::status::no_content);
  const auto set_cookie = header(response, http::field::set_cookie);
  EXPECT_TRUE(set_cookie.starts_with("sp_session=")) << set_cookie;
  EXPECT_NE(set_cookie.find("; HttpOnly"), std::string::npos) << set_cookie;
  EXPECT_NE(set_cookie.find("; SameSite=Strict"), std::string::npos) << set_cookie;
  EXPECT_NE(set_cookie.find("; Path=/"), std::string::npos) << set_cookie;
  EXPECT_EQ(set_cookie.find("Secure"), std::string::npos) << "plain http cannot keep a Secure cookie";
  EXPECT_EQ(set_cookie.find(kToken), std::string::npos) << "the cookie must not carry the admin token";
  EXPECT_EQ(header(response, http::field::cache_control), "no-store");

  // A copy of the AdminAuth (as the HTTP API holds) accepts the session: the cookie is a second credential.
  const AdminAuth api_copy = auth_;
  auto with_cookie = request(http::verb::get, "/api/v1/devices");
  with_cookie.set(http::field::cookie, "theme=dark; " + cookie_pair(response));
  EXPECT_EQ(api_copy.check(with_cookie), AdminAuth::Result::allowed);
  // The bearer header still decides first when both are present.
  with_cookie.set(http::field::authorization, "Bearer wrong");
  EXPECT_EQ(api_copy.check(with_cookie), AdminAuth::Result::wrong);

  auto forged = request(http::verb::get, "/api/v1/devices");
  forged.set(http::field::cookie, "sp_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  EXPECT_EQ(api_copy.check(forged), AdminAuth::Result::wrong);
  EXPECT_EQ(api_copy.check(request(http::verb::get, "/api/v1/devices")), AdminAuth::Result::missing);
}

TEST_F(PortalTest, WithTlsTheCookieIsSecure) {
  const auto response = make_router(true).handle(request(http::verb::post, "/api/v1/session", R"({"token":"the-admin-token"})"));
  ASSERT_EQ(response.result(), http::status::no_content);
  EXPECT_NE(header(response, http::field::set_cookie).find("; Secure"), std::string::npos);
}

TEST_F(PortalTest, AWrongTokenOrABadBodyIsRefusedAndSetsNoCookie) {
  const auto wrong = login("not-the-token");
  EXPECT_EQ(wrong.result(), http::status::unauthorized);
  EXPECT_EQ(error_code_of(wrong), "unauthorized");
  EXPECT_NE(wrong.body().find("wrong admin token"), std::string::npos);
  EXPECT_EQ(header(wrong, http::field::set_cookie), "");
  for (const char* body : {"", "not json", "[]", R"({"token":""})", R"({"token":42})", R"({"other":"x"})"}) {
    const auto bad = handle(request(http::verb::post, "/api/v1/session", body));
    EXPECT_EQ(bad.result(), http::status::bad_request) << body;
    EXPECT_EQ(header(bad, http::field::set_cookie), "") << body;
  }
  const auto put = handle(request(http::verb::put, "/api/v1/session"));
  EXPECT_EQ(put.result(), http::status::method_not_allowed);
  EXPECT_EQ(header(put, http::field::allow), "POST, GET, DELETE");
  // GET /api/v1/session (the CSRF token) needs a credential like any admin route.
  EXPECT_EQ(handle(request(http::verb::get, "/api/v1/session")).result(), http::status::unauthorized);
}

TEST_F(PortalTest, EachSessionHasItsOwnCsrfTokenThatEndsWithIt) {
  const auto pair = cookie_pair(login(kToken));
  const auto other = cookie_pair(login(kToken));
  auto get = request(http::verb::get, "/api/v1/session");
  get.set(http::field::cookie, pair);
  const auto token = auth_.csrf_token(get);
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(token->size(), 43u) << "256 bits, base64url";
  EXPECT_EQ(pair.find(*token), std::string::npos) << "the token is not the session id";
  const auto answer = handle(get);
  ASSERT_EQ(answer.result(), http::status::ok);
  EXPECT_EQ(answer.body(), fmt::format(R"({{"csrf_token":"{}"}})", *token));
  auto get_other = request(http::verb::get, "/api/v1/session");
  get_other.set(http::field::cookie, other);
  EXPECT_NE(auth_.csrf_token(get_other), token);
  // A bearer caller has no session, hence no token (and needs none).
  auto bearer = request(http::verb::get, "/api/v1/session");
  bearer.set(http::field::authorization, fmt::format("Bearer {}", kToken));
  EXPECT_EQ(handle(bearer).body(), R"({"csrf_token":null})");
  // Logged out: no token.
  auto logout = request(http::verb::delete_, "/api/v1/session");
  logout.set(http::field::cookie, pair);
  EXPECT_EQ(handle(logout).result(), http::status::no_content);
  EXPECT_EQ(auth_.csrf_token(get), std::nullopt);
}

TEST(CsrfTest, SameOriginComparesSchemeDefaultPortsHostAndPort) {
  EXPECT_TRUE(same_origin("http://127.0.0.1:8080", "127.0.0.1:8080"));
  EXPECT_TRUE(same_origin("http://Portal.Example.com", "portal.example.com"));
  EXPECT_TRUE(same_origin("http://portal.example.com", "portal.example.com:80"));
  EXPECT_TRUE(same_origin("https://portal.example.com", "portal.example.com:443"));
  EXPECT_TRUE(same_origin("http://[::1]:8080", "[::1]:8080"));
  EXPECT_FALSE(same_origin("http://127.0.0.1:8081", "127.0.0.1:8080")) << "another port of the same host";
  EXPECT_FALSE(same_origin("https://portal.example.com", "portal.example.com:80"));
  EXPECT_FALSE(same_origin("http://evil.example.com", "portal.example.com"));
  EXPECT_FALSE(same_origin("http://portal.example.com.evil.net", "portal.example.com"));
  EXPECT_FALSE(same_origin("null", "portal.example.com"));
  EXPECT_FALSE(same_origin("http://portal.example.com/", "portal.example.com"));
  EXPECT_FALSE(same_origin("http://user@portal.example.com", "portal.example.com"));
  EXPECT_FALSE(same_origin("", "portal.example.com"));
  EXPECT_FALSE(same_origin("http://portal.example.com", ""));
  EXPECT_TRUE(changes_state(http::verb::post));
  EXPECT_TRUE(changes_state(http::verb::put));
  EXPECT_TRUE(changes_state(http::verb::patch));
  EXPECT_TRUE(changes_state(http::verb::delete_));
  EXPECT_FALSE(changes_state(http::verb::get));
  EXPECT_FALSE(changes_state(http::verb::head));
  EXPECT_FALSE(changes_state(http::verb::options));
}

TEST(LoginThrottleTest, CountsPerAddressResetsOnSuccessAndStaysBounded) {
  LoginThrottle throttle;
  for (uint32_t i = 0; i + 1 < kMaxLoginFailures; ++i) throttle.record_failure("192.0.2.7");
  EXPECT_FALSE(throttle.retry_after("192.0.2.7"));
  throttle.record_failure("192.0.2.7");
  const auto wait = throttle.retry_after("192.0.2.7");
  ASSERT_TRUE(wait.has_value());
  EXPECT_GE(*wait, std::chrono::seconds(1));
  EXPECT_LE(*wait, kLoginFailureWindow);
  EXPECT_FALSE(throttle.retry_after("192.0.2.8")) << "another address is not affected";
  throttle.record_success("192.0.2.7");
  EXPECT_FALSE(throttle.retry_after("192.0.2.7"));
  // IPv6: one /64 is one client; a v4-mapped address is its IPv4 address.
  EXPECT_EQ(LoginThrottle::key_of("2001:db8:1:2:aaaa::1"), LoginThrottle::key_of("2001:db8:1:2:bbbb::9"));
  EXPECT_NE(LoginThrottle::key_of("2001:db8:1:2::1"), LoginThrottle::key_of("2001:db8:1:3::1"));
  EXPECT_EQ(LoginThrottle::key_of("::ffff:192.0.2.7"), "192.0.2.7");
  // A flood of addresses costs a capped table.
  for (size_t i = 0; i < kMaxThrottledAddresses + 500; ++i) {
    throttle.record_failure(fmt::format("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255));
  }
  EXPECT_EQ(throttle.tracked(), kMaxThrottledAddresses);
}

TEST_F(PortalTest, LogoutEndsTheSessionAndClearsTheCookie) {
  const auto pair = cookie_pair(login(kToken));
  auto logout = request(http::verb::delete_, "/api/v1/session");
  logout.set(http::field::cookie, pair);
  const auto response = handle(logout);
  EXPECT_EQ(response.result(), http::status::no_content);
  EXPECT_NE(header(response, http::field::set_cookie).find("Max-Age=0"), std::string::npos);
  auto after = request(http::verb::get, "/api/v1/devices");
  after.set(http::field::cookie, pair);
  EXPECT_EQ(auth_.check(after), AdminAuth::Result::wrong);
}

TEST_F(PortalTest, ServesTheEmbeddedFilesWithTheirTypesAndSecurityHeaders) {
  const std::map<std::string, std::string> expected = {
      {"/", "text/html; charset=utf-8"},
      {"/index.html", "text/html; charset=utf-8"},
      {"/login.html", "text/html; charset=utf-8"},
      {"/device.html?key=pk1", "text/html; charset=utf-8"},
      {"/data.html", "text/html; charset=utf-8"},
      {"/charts.html", "text/html; charset=utf-8"},
      {"/enrollments.html", "text/html; charset=utf-8"},
      {"/audit.html", "text/html; charset=utf-8"},
      {"/assets/enrollments.js", "text/javascript; charset=utf-8"},
      {"/assets/audit.js", "text/javascript; charset=utf-8"},
      {"/assets/style.css", "text/css; charset=utf-8"},
      {"/assets/api.js", "text/javascript; charset=utf-8"},
      {"/assets/vendor/chart.min.js", "text/javascript; charset=utf-8"},
  };
  for (const auto& [target, type] : expected) {
    const auto r = handle(request(http::verb::get, target));
    EXPECT_EQ(r.result(), http::status::ok) << target;
    EXPECT_EQ(header(r, http::field::content_type), type) << target;
    EXPECT_FALSE(r.body().empty()) << target;
    const auto csp = std::string(to_std(r["Content-Security-Policy"]));
    EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << target;
    EXPECT_EQ(csp.find("unsafe"), std::string::npos) << target;
    EXPECT_EQ(std::string(to_std(r["X-Content-Type-Options"])), "nosniff") << target;
  }
  EXPECT_EQ(handle(request(http::verb::get, "/")).body(), handle(request(http::verb::get, "/index.html")).body());
  // Chart.js is Debian's file, byte for byte.
  std::ifstream chart("/usr/share/javascript/chart.js/chart.min.js", std::ios::binary);
  std::stringstream chart_bytes;
  chart_bytes << chart.rdbuf();
  EXPECT_EQ(handle(request(http::verb::get, "/assets/vendor/chart.min.js")).body(), chart_bytes.str());

  const auto missing = handle(request(http::verb::get, "/nope.html"));
  EXPECT_EQ(missing.result(), http::status::not_found);
  EXPECT_EQ(error_code_of(missing), "not_found");
  EXPECT_EQ(handle(request(http::verb::get, "/assets/../index.html")).result(), http::status::not_found);
  const auto post = handle(request(http::verb::post, "/index.html"));
  EXPECT_EQ(post.result(), http::status::method_not_allowed);
  EXPECT_EQ(header(post, http::field::allow), "GET");
}

TEST_F(PortalTest, LeavesTheApiMetricsAndSyncToTheHttpApi) {
  for (const char* target : {"/api/v1/devices", "/api/v1/health", "/api/v2/x", "/api", "/metrics", "/sync"}) {
    EXPECT_FALSE(portal_response(request(http::verb::get, target)).has_value()) << target;
  }
}

TEST_F(PortalTest, TheFleetHistoryNeedsTheTokenAndListsTheSamples) {
  EXPECT_EQ(handle(request(http::verb::get, "/api/v1/fleet/history")).result(), http::status::unauthorized);
  clock_->advance(10s);
  online_ = 3;
  history_.sample();
  auto r = request(http::verb::get, "/api/v1/fleet/history");
  r.set(http::field::authorization, "Bearer the-admin-token");
  const auto response = handle(r);
  ASSERT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(header(response, http::field::content_type), "application/json");
  EXPECT_EQ(header(response, http::field::cache_control), "no-store");
  EXPECT_EQ(
      response.body(),
      R"({"samples":[{"t":"2026-01-01T00:00:00.000Z","online":2,"total":5},{"t":"2026-01-01T00:00:10.000Z","online":3,"total":5}]})");
  EXPECT_EQ(handle(request(http::verb::post, "/api/v1/fleet/history")).result(), http::status::method_not_allowed);
}

TEST(FleetHistoryTest, SamplesOnItsOwnAndKeepsOnlyTheRetentionWindow) {
  auto clock = std::make_shared<ManualClock>();
  std::atomic<size_t> calls{0};
  {
    FleetHistory history([&] { return FleetSample{{}, ++calls, 10}; }, clock, 20ms, 30s);
    ASSERT_EQ(history.samples().size(), 1u) << "a first sample at once";
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (calls < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    EXPECT_GE(calls.load(), 3u) << "the thread samples every interval";
  }
  // Retention, driven by hand (a long interval keeps the thread out of it).
  FleetHistory history([&] { return FleetSample{{}, 1, 1}; }, clock, 1h, 30s);
  for (int i = 0; i < 5; ++i) {
    clock->advance(10s);
    history.sample();
  }
  const auto kept = history.samples();
  ASSERT_EQ(kept.size(), 4u);  // 0 s .. 50 s taken; samples older than 30 s before the last are gone
  EXPECT_EQ(kept.back().time - kept.front().time, 30s);
}

TEST(AdminAuthCookieTest, CookieValuesParse) {
  EXPECT_EQ(cookie_value("sp_session=abc", "sp_session"), "abc");
  EXPECT_EQ(cookie_value("a=1; sp_session=abc; b=2", "sp_session"), "abc");
  EXPECT_EQ(cookie_value("a=1;sp_session=abc", "sp_session"), "abc");
  EXPECT_EQ(cookie_value("xsp_session=abc", "sp_session"), std::nullopt);
  EXPECT_EQ(cookie_value("sp_session", "sp_session"), std::nullopt);
  EXPECT_EQ(cookie_value("", "sp_session"), std::nullopt);
}

TEST(PortalProcessTest, TheBigPeerServesThePortalAndTheApiAcceptsItsCookieFlow) {
  test_support::TempDir dir{"portal-test"};
  test_support::BigPeerProcessOptions options;
  options.data_dir = dir.path();
  test_support::BigPeerProcess bp(std::move(options));
  const auto index = bp.get("/", false);
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_NE(index.body.find("Device Dashboard"), std::string::npos);
  const auto login = test_support::http_request(bp.port(), http::verb::post, "/api/v1/session", std::nullopt,
                                                fmt::format(R"({{"token":"{}"}})", bp.admin_token()));
  EXPECT_EQ(login.status, 204);
  const auto refused =
      test_support::http_request(bp.port(), http::verb::post, "/api/v1/session", std::nullopt, R"({"token":"x"})");
  EXPECT_EQ(refused.status, 401);
  const auto history = bp.get("/api/v1/fleet/history");
  EXPECT_EQ(history.status, 200);
  EXPECT_NE(history.body.find(R"("online":0,"total":0)"), std::string::npos) << history.body;
  // Unknown API routes still get the API's JSON 404, not the portal's page.
  const auto unknown = bp.get("/api/v1/nope");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.content_type, "application/json");
}

}  // namespace
}  // namespace smallpeer::bigpeer
