#include "bigpeer/http/session.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <boost/beast/http/field.hpp>
#include <string>

#include "common/json.h"

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
  const auto result = auth.check_login(token, request.client_address);
  if (result == AdminAuth::Result::throttled) return too_many_attempts(auth, request.client_address);
  if (result != AdminAuth::Result::allowed) {
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

HttpResponse session_info(const AdminAuth& auth, const ApiRequest& request) {
  // A bearer caller has no session and needs no token: csrf_token is null for it.
  JsonWriter w;
  w.begin_object().key("csrf_token").value_or_null(auth.csrf_token(request.http)).end_object();
  return json_response(http::status::ok, w.take());
}

}  // namespace

void add_session_routes(Router& router, const AdminAuth& auth, bool secure_cookies, AuditLog* audit) {
  router.add(http::verb::post, "/api/v1/session", Access::anyone, [auth, secure_cookies, audit](const ApiRequest& request) {
    auto response = log_in(auth, secure_cookies, request);
    if (audit) audit->record(request, response.result() == http::status::no_content ? "login" : "login_failed", "");
    return response;
  });
  router.add(http::verb::get, "/api/v1/session", Access::admin,
             [auth](const ApiRequest& request) { return session_info(auth, request); });
  router.add(http::verb::delete_, "/api/v1/session", Access::anyone, [auth, secure_cookies, audit](const ApiRequest& request) {
    if (audit) audit->record(request, "logout", "");
    return log_out(auth, secure_cookies, request);
  });
}

}  // namespace smallpeer::bigpeer
