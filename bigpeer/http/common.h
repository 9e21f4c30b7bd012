// What every part of the Big Peer's HTTP layer shares: the request and response types, the JSON
// error format {"error":{"code","message"}} (ApiError thrown by handlers, error_response written
// by the router and the connection), the security headers, and the request target split into
// percent-decoded path segments and query parameters.
#pragma once

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smallpeer::bigpeer {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

/// Pages of documents and devices hold at most this many entries (and 100 unless asked).
inline constexpr size_t kMaxPageSize = 1000;
inline constexpr size_t kDefaultPageSize = 100;

/// Beast 1.74 has its own string_view; this views the same characters as a std::string_view.
inline std::string_view to_std(boost::beast::string_view text) {
  return {text.data(), text.size()};
}

/// Thrown by handlers for a request the API refuses; the router answers it as an error response.
struct ApiError {
  boost::beast::http::status status;
  std::string code;
  std::string message;
};

/// 400 invalid_parameter with `message`.
ApiError bad_parameter(std::string message);
/// 404 not_found with `message`.
ApiError not_found(std::string message);

/// User input echoed in messages is cut to 80 bytes, so an error never carries a megabyte back.
std::string_view shortened(std::string_view text);
/// `text` with ASCII letters lower-cased.
std::string lower_ascii(std::string_view text);

/// Sets the headers every portal page and API answer carries: a Content-Security-Policy allowing
/// only this origin, X-Content-Type-Options nosniff, no framing and no referrer.
void add_security_headers(HttpResponse& response);
/// A JSON response with `body`, `Cache-Control: no-store` and the security headers.
HttpResponse json_response(boost::beast::http::status status, std::string body);
/// A JSON error response {"error":{"code":...,"message":...}}.
HttpResponse error_response(boost::beast::http::status status, std::string_view code, std::string_view message);

/// The token of an `Authorization: Bearer <token>` header, or nullopt if there is none.
std::optional<std::string_view> bearer_token(std::string_view authorization);
/// The value of cookie `name` in a `Cookie:` header, or nullopt if it is not there.
std::optional<std::string_view> cookie_value(std::string_view cookie_header, std::string_view name);
/// RFC 3986 percent-decoding; '+' means a space only where `plus_is_space` (query strings, as
/// HTML forms send them). Throws ApiError 400 bad_request on a malformed escape.
std::string percent_decode(std::string_view in, bool plus_is_space);

/// A request target split into decoded path segments and query parameters.
struct Target {
  std::vector<std::string> segments;                       // "/api/v1/x" -> api, v1, x
  std::vector<std::pair<std::string, std::string>> query;  // in order, repeats kept

  /// The last value given for `name`, if any.
  [[nodiscard]] std::optional<std::string_view> param(std::string_view name) const;
};

/// Splits and decodes an origin-form target; throws ApiError 400 bad_request if it is not an
/// absolute path or its percent-encoding is malformed.
Target parse_target(std::string_view target);
/// The `limit` query parameter: 1..kMaxPageSize, kDefaultPageSize when absent; else ApiError 400.
size_t parse_limit(const Target& target);

}  // namespace smallpeer::bigpeer
