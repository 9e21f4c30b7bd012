// The HTTP API's route table (bigpeer/http/router.h), part of smallpeer_bigpeer_tests: what the
// router answers once for every route (404, 405 with Allow, 401 on admin routes, the JSON error
// of a throwing handler, the security headers) and the decoded captures and query it hands over.
#include "bigpeer/http/router.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <stdexcept>
#include <string>

#include "common/error.h"

namespace smallpeer::bigpeer {
namespace {

namespace http = boost::beast::http;

HttpRequest request(http::verb method, std::string target, std::string_view token = {}) {
  HttpRequest r{method, target, 11};
  if (!token.empty()) r.set(http::field::authorization, "Bearer " + std::string(token));
  return r;
}

std::string error_code_of(const HttpResponse& r) {
  simdjson::dom::parser parser;
  std::string_view code;
  if (parser.parse(r.body())["error"]["code"].get_string().get(code) != simdjson::SUCCESS) return "(no error code)";
  return std::string(code);
}

HttpResponse text(std::string body) {
  HttpResponse r{http::status::ok, 11};
  r.body() = std::move(body);
  return r;
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    router_.add(http::verb::get, "/open", Access::anyone, [](const ApiRequest&) { return text("open"); });
    router_.add(http::verb::get, "/items/{id}/parts/{part}", Access::admin, [](const ApiRequest& r) {
      return text(r.captures.at(0) + "|" + r.captures.at(1) + "|" + std::string(r.target.param("q").value_or("-")));
    });
    router_.add(http::verb::post, "/items/{id}/parts/{part}", Access::admin, [](const ApiRequest&) { return text("posted"); });
    router_.add(http::verb::get, "/refused", Access::anyone, [](const ApiRequest&) -> HttpResponse {
      throw ApiError{http::status::conflict, "busy", "try later"};
    });
    router_.add(http::verb::get, "/invalid", Access::anyone,
                [](const ApiRequest&) -> HttpResponse { throw Error(ErrorCode::invalid_argument, "bad thing"); });
    router_.add(http::verb::get, "/broken", Access::anyone,
                [](const ApiRequest&) -> HttpResponse { throw std::runtime_error("secret detail"); });
  }
  Router router_{AdminAuth("tok")};
};

TEST_F(RouterTest, AnOpenRouteAnswersWithoutACredentialAndCarriesTheSecurityHeaders) {
  const auto r = router_.handle(request(http::verb::get, "/open"));
  EXPECT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(r.body(), "open");
  EXPECT_EQ(std::string(to_std(r["X-Content-Type-Options"])), "nosniff");
  EXPECT_NE(std::string(to_std(r["Content-Security-Policy"])).find("default-src 'self'"), std::string::npos);
}

TEST_F(RouterTest, AnAdminRouteNeedsTheTokenAndGetsDecodedCapturesAndQuery) {
  const auto missing = router_.handle(request(http::verb::get, "/items/a/parts/b"));
  EXPECT_EQ(missing.result(), http::status::unauthorized);
  EXPECT_EQ(error_code_of(missing), "unauthorized");
  EXPECT_NE(missing.body().find("missing admin token"), std::string::npos) << missing.body();
  EXPECT_EQ(std::string(to_std(missing[http::field::www_authenticate])), "Bearer realm=\"smallpeer\"");
  const auto wrong = router_.handle(request(http::verb::get, "/items/a/parts/b", "nope"));
  EXPECT_EQ(wrong.result(), http::status::unauthorized);
  EXPECT_NE(wrong.body().find("wrong admin token"), std::string::npos) << wrong.body();

  const auto ok = router_.handle(request(http::verb::get, "/items/a%2Fb/parts/x%20y?q=one+two", "tok"));
  EXPECT_EQ(ok.result(), http::status::ok);
  EXPECT_EQ(ok.body(), "a/b|x y|one two");
  EXPECT_EQ(router_.handle(request(http::verb::post, "/items/a/parts/b", "tok")).body(), "posted");
}

TEST_F(RouterTest, AnUnknownPathIs404AndAnUnlistedMethodIs405WithTheAllowedMethods) {
  for (const char* target : {"/nope", "/items/a/parts", "/items/a/parts/b/c", "/open/"}) {
    const auto r = router_.handle(request(http::verb::get, target, "tok"));
    EXPECT_EQ(r.result(), http::status::not_found) << target;
    EXPECT_EQ(error_code_of(r), "not_found") << target;
  }
  // The method check comes before authentication: no credential is needed to learn it.
  const auto put = router_.handle(request(http::verb::put, "/items/a/parts/b"));
  EXPECT_EQ(put.result(), http::status::method_not_allowed);
  EXPECT_EQ(error_code_of(put), "method_not_allowed");
  EXPECT_EQ(std::string(to_std(put[http::field::allow])), "GET, POST");
  EXPECT_EQ(std::string(to_std(router_.handle(request(http::verb::post, "/open"))[http::field::allow])), "GET");
}

TEST_F(RouterTest, AMalformedTargetIs400) {
  EXPECT_EQ(router_.handle(request(http::verb::get, "/items/%zz/parts/b", "tok")).result(), http::status::bad_request);
  EXPECT_EQ(router_.handle(request(http::verb::get, "*")).result(), http::status::bad_request);
}

TEST_F(RouterTest, WhatAHandlerThrowsBecomesItsJsonError) {
  const auto refused = router_.handle(request(http::verb::get, "/refused"));
  EXPECT_EQ(refused.result(), http::status::conflict);
  EXPECT_EQ(error_code_of(refused), "busy");
  const auto invalid = router_.handle(request(http::verb::get, "/invalid"));
  EXPECT_EQ(invalid.result(), http::status::bad_request);
  EXPECT_EQ(error_code_of(invalid), "invalid_parameter");
  const auto broken = router_.handle(request(http::verb::get, "/broken"));
  EXPECT_EQ(broken.result(), http::status::internal_server_error);
  EXPECT_EQ(error_code_of(broken), "internal");
  EXPECT_EQ(broken.body().find("secret detail"), std::string::npos) << "unexpected exceptions are not echoed";
}

TEST_F(RouterTest, ARouteAddedTwiceOrAPatternWithoutSlashIsRefused) {
  EXPECT_THROW(router_.add(http::verb::get, "/open", Access::admin, [](const ApiRequest&) { return text(""); }), Error);
  EXPECT_THROW(router_.add(http::verb::get, "open", Access::admin, [](const ApiRequest&) { return text(""); }), Error);
  // Another method on a known path is a new route.
  router_.add(http::verb::delete_, "/open", Access::admin, [](const ApiRequest&) { return text("deleted"); });
  EXPECT_EQ(std::string(to_std(router_.handle(request(http::verb::put, "/open"))[http::field::allow])), "GET, DELETE");
}

}  // namespace
}  // namespace smallpeer::bigpeer
