#include "bigpeer/http/session.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <boost/beast/http/field.hpp>
#include <string>

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

namespace {

std::string_view cookie_flags(bool secure) {
  return secure ? "; Path=/; HttpOnly; SameSite=Strict; Secure" : "; Path=/; HttpOnly; SameSite=Strict";
}

HttpResponse log_in(const AdminAuth& auth, bool secure, const ApiRequest& request) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object body;
  const std::string& text = request.http.body();
  if (parser.parse(text.data(), text.size()).get_object().get(body) != simdjson::SUCCESS) {
    throw ApiError{http::status::bad_request, "bad_request", "the body must be a JSON object {\"token\": \"<admin token>\"}"};
  }
  std::string_view token;
  if (body["token"].get_string().get(token) != simdjson::SUCCESS || token.empty()) {
    throw bad_parameter("token must be a non-empty string (the admin token)");
  }
  if (!auth.token_matches(token)) {
    auto response = error_response(http::status::unauthorized, "unauthorized", "wrong admin token");
    response.set(http::field::www_authenticate, "Bearer realm=\"smallpeer\"");
    return response;
  }
  HttpResponse response{http::status::no_content, 11};
  response.set(http::field::cache_control, "no-store");
  response.set(http::field::set_cookie, fmt::format("{}={}{}; Max-Age={}", kSessionCookie, auth.open_session(),
                                                    cookie_flags(secure), std::chrono::seconds(kSessionLifetime).count()));
  return response;
}

HttpResponse log_out(const AdminAuth& auth, bool secure, const ApiRequest& request) {
  auth.close_session(request.http);
  HttpResponse response{http::status::no_content, 11};
  response.set(http::field::cache_control, "no-store");
  response.set(http::field::set_cookie, fmt::format("{}={}; Max-Age=0", kSessionCookie, cookie_flags(secure)));
  return response;
}

}  // namespace

void add_session_routes(Router& router, const AdminAuth& auth, bool secure_cookies, AuditLog* audit) {
  router.add(http::verb::post, "/api/v1/session", Access::anyone, [auth, secure_cookies, audit](const ApiRequest& request) {
    auto response = log_in(auth, secure_cookies, request);
    if (audit) audit->record(request.http, response.result() == http::status::no_content ? "login" : "login_failed", "");
    return response;
  });
  router.add(http::verb::delete_, "/api/v1/session", Access::anyone, [auth, secure_cookies, audit](const ApiRequest& request) {
    if (audit) audit->record(request.http, "logout", "");
    return log_out(auth, secure_cookies, request);
  });
}

}  // namespace smallpeer::bigpeer
