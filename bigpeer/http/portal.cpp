#include "bigpeer/http/portal.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

namespace {

constexpr std::string_view kSessionPath = "/api/v1/session";
constexpr std::string_view kHistoryPath = "/api/v1/fleet/history";

HttpResponse method_not_allowed(std::string_view path, std::string_view allow) {
  auto response = error_response(http::status::method_not_allowed, "method_not_allowed",
                                 fmt::format("{} only answers {}", path.substr(0, 80), allow));
  response.set(http::field::allow, std::string(allow));
  return response;
}

HttpResponse unauthorized(std::string_view message) {
  auto response = error_response(http::status::unauthorized, "unauthorized", message);
  response.set(http::field::www_authenticate, "Bearer realm=\"smallpeer\"");
  return response;
}

// The path without its query; static file paths are plain ASCII, so nothing is percent-decoded.
std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

}  // namespace

void add_security_headers(HttpResponse& response) {
  // Scripts, styles, images and API calls from this origin only; no inline code, no framing.
  response.set("Content-Security-Policy",
               "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("X-Frame-Options", "DENY");
  response.set("Referrer-Policy", "no-referrer");
}

Portal::Portal(AdminAuth auth, const FleetHistory& history, bool secure_cookies)
    : auth_(std::move(auth)), history_(history), secure_cookies_(secure_cookies) {}

std::optional<HttpResponse> Portal::handle(const HttpRequest& request) const {
  const std::string_view path = path_of(to_std(request.target()));
  std::optional<HttpResponse> response;
  if (path == kSessionPath) {
    response = session(request);
  } else if (path == kHistoryPath) {
    if (request.method() != http::verb::get) {
      response = method_not_allowed(path, "GET");
    } else if (const auto result = auth_.check(request); result != AdminAuth::Result::allowed) {
      response = unauthorized(result == AdminAuth::Result::missing
                                  ? "missing admin token: log in or send 'Authorization: Bearer <admin token>'"
                                  : "wrong admin token or expired session");
    } else {
      response.emplace(http::status::ok, 11);
      response->set(http::field::content_type, "application/json");
      response->set(http::field::cache_control, "no-store");
      response->body() = history_.to_json();
    }
  } else if (path.starts_with("/api/") || path == "/api" || path == "/metrics" || path == "/sync") {
    return std::nullopt;
  } else {
    response = static_file(request, path);
  }
  add_security_headers(*response);
  return response;
}

HttpResponse Portal::session(const HttpRequest& request) const {
  const std::string_view flags =
      secure_cookies_ ? "; Path=/; HttpOnly; SameSite=Strict; Secure" : "; Path=/; HttpOnly; SameSite=Strict";
  if (request.method() == http::verb::delete_) {
    auth_.close_session(request);
    HttpResponse response{http::status::no_content, 11};
    response.set(http::field::cache_control, "no-store");
    response.set(http::field::set_cookie, fmt::format("{}={}; Max-Age=0", kSessionCookie, flags));
    return response;
  }
  if (request.method() != http::verb::post) return method_not_allowed(kSessionPath, "POST, DELETE");
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object body;
  if (parser.parse(request.body().data(), request.body().size()).get_object().get(body) != simdjson::SUCCESS) {
    return error_response(http::status::bad_request, "bad_request",
                          "the body must be a JSON object {\"token\": \"<admin token>\"}");
  }
  std::string_view token;
  if (body["token"].get_string().get(token) != simdjson::SUCCESS || token.empty()) {
    return error_response(http::status::bad_request, "invalid_parameter", "token must be a non-empty string (the admin token)");
  }
  if (!auth_.token_matches(token)) return unauthorized("wrong admin token");
  HttpResponse response{http::status::no_content, 11};
  response.set(http::field::cache_control, "no-store");
  response.set(http::field::set_cookie, fmt::format("{}={}{}; Max-Age={}", kSessionCookie, auth_.open_session(), flags,
                                                    std::chrono::seconds(kSessionLifetime).count()));
  return response;
}

HttpResponse Portal::static_file(const HttpRequest& request, std::string_view path) const {
  if (request.method() != http::verb::get) return method_not_allowed(path, "GET");
  const std::string_view wanted = path == "/" ? "/index.html" : path;
  for (const auto& file : embedded_portal_files()) {
    if (file.path != wanted) continue;
    HttpResponse response{http::status::ok, 11};
    response.set(http::field::content_type, std::string(file.content_type));
    // Files change only with the binary; revalidating is cheap on loopback and never shows a stale page.
    response.set(http::field::cache_control, "no-cache");
    response.body() = std::string(file.bytes);
    return response;
  }
  // The same JSON 404 as the API's, so a client sees one error format on the whole port.
  return error_response(http::status::not_found, "not_found", fmt::format("no such endpoint or page: {}", path.substr(0, 80)));
}

}  // namespace smallpeer::bigpeer
