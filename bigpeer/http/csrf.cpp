#include "bigpeer/http/csrf.h"

#include <fmt/format.h>

#include <boost/beast/http/field.hpp>

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

namespace {

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// "host:port" split, with `default_port` when there is none; IPv6 literals keep their brackets.
std::pair<std::string, std::string> host_and_port(std::string_view authority, std::string_view default_port) {
  const auto bracket = authority.rfind(']');
  const auto colon = authority.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    return {lower_ascii(authority.substr(0, colon)), std::string(authority.substr(colon + 1))};
  }
  return {lower_ascii(authority), std::string(default_port)};
}

ApiError forbidden(std::string_view code, std::string message) {
  return ApiError{http::status::forbidden, std::string(code), std::move(message)};
}

}  // namespace

bool changes_state(http::verb method) {
  return method == http::verb::post || method == http::verb::put || method == http::verb::patch || method == http::verb::delete_;
}

bool same_origin(std::string_view origin, std::string_view host) {
  origin = trimmed(origin);
  host = trimmed(host);
  std::string_view default_port;
  if (origin.starts_with("http://")) {
    default_port = "80";
    origin.remove_prefix(7);
  } else if (origin.starts_with("https://")) {
    default_port = "443";
    origin.remove_prefix(8);
  } else {
    return false;  // "null" (sandboxed frames, file:, redirects) and anything else
  }
  if (origin.empty() || host.empty() || origin.find_first_of("/?#@") != std::string_view::npos) return false;
  return host_and_port(origin, default_port) == host_and_port(host, default_port);
}

std::optional<ApiError> csrf_refusal(const HttpRequest& request, const AdminAuth& auth) {
  const auto header = [&](auto field) -> std::optional<std::string_view> {
    const auto it = request.find(field);
    if (it == request.end()) return std::nullopt;
    return to_std(it->value());
  };
  const auto origin = header(http::field::origin);
  const auto fetch_site = header("Sec-Fetch-Site");
  const auto host = header(http::field::host);
  if (fetch_site && lower_ascii(trimmed(*fetch_site)) != "same-origin") {
    return forbidden("csrf_origin", fmt::format("cross-origin request refused: Sec-Fetch-Site is '{}', not same-origin",
                                                shortened(*fetch_site)));
  }
  if (origin) {
    if (!host || !same_origin(*origin, *host)) {
      return forbidden("csrf_origin", fmt::format("cross-origin request refused: Origin '{}' is not this server's ({})",
                                                  shortened(*origin), shortened(host.value_or("no Host header"))));
    }
  } else if (!fetch_site) {
    return forbidden("csrf_origin",
                     "a request authenticated by the session cookie must carry an Origin header (or Sec-Fetch-Site: "
                     "same-origin); scripts should send 'Authorization: Bearer <admin token>' instead");
  }
  const auto content_type = header(http::field::content_type);
  const auto media_type = content_type ? lower_ascii(trimmed(content_type->substr(0, content_type->find(';')))) : std::string();
  if (media_type != "application/json") {
    return forbidden("csrf_content_type",
                     fmt::format("a request authenticated by the session cookie must be sent as Content-Type: "
                                 "application/json, not '{}'",
                                 shortened(content_type.value_or(""))));
  }
  const auto sent = header(boost::beast::string_view(kCsrfHeader.data(), kCsrfHeader.size()));
  if (!sent || sent->empty()) {
    return forbidden("csrf_token",
                     fmt::format("missing {} header: GET /api/v1/session returns the session's token", kCsrfHeader));
  }
  const auto expected = auth.csrf_token(request);
  if (!expected || !constant_time_equal(*sent, *expected)) {
    return forbidden("csrf_token",
                     fmt::format("wrong {}: it must be the token GET /api/v1/session returned for this session", kCsrfHeader));
  }
  return std::nullopt;
}

}  // namespace smallpeer::bigpeer
