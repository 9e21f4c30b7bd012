#include "bigpeer/http/common.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/beast/http/field.hpp>
#include <cctype>
#include <charconv>

#include "common/json.h"

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

namespace {
int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

ApiError bad_parameter(std::string message) {
  return {http::status::bad_request, "invalid_parameter", std::move(message)};
}

ApiError not_found(std::string message) {
  return {http::status::not_found, "not_found", std::move(message)};
}

std::string_view shortened(std::string_view text) {
  return text.substr(0, 80);
}

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void add_security_headers(HttpResponse& response) {
  // Scripts, styles, images and API calls from this origin only; no inline code, no framing.
  response.set("Content-Security-Policy",
               "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("X-Frame-Options", "DENY");
  response.set("Referrer-Policy", "no-referrer");
}

HttpResponse json_response(http::status status, std::string body) {
  HttpResponse response{status, 11};
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  add_security_headers(response);
  response.body() = std::move(body);
  return response;
}

HttpResponse error_response(http::status status, std::string_view code, std::string_view message) {
  JsonWriter w;
  w.begin_object().key("error").begin_object().key("code").value(code).key("message").value(message).end_object().end_object();
  return json_response(status, w.take());
}

std::string percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      const int hi = i + 2 < in.size() ? hex_digit(in[i + 1]) : -1;
      const int lo = i + 2 < in.size() ? hex_digit(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        throw ApiError{http::status::bad_request, "bad_request", "malformed percent-encoding in the request target"};
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (in[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::optional<std::string_view> Target::param(std::string_view name) const {
  for (auto it = query.rbegin(); it != query.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return std::nullopt;
}

Target parse_target(std::string_view target) {
  if (target.empty() || target.front() != '/') {
    throw ApiError{http::status::bad_request, "bad_request", "the request target must be an absolute path"};
  }
  Target out;
  const auto question = target.find('?');
  const std::string_view path = target.substr(1, question == std::string_view::npos ? std::string_view::npos : question - 1);
  for (size_t start = 0;;) {
    const auto slash = path.find('/', start);
    out.segments.push_back(percent_decode(path.substr(start, slash - start), false));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (question != std::string_view::npos) {
    std::string_view query = target.substr(question + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const auto pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (pair.empty()) continue;
      const auto eq = pair.find('=');
      out.query.emplace_back(percent_decode(pair.substr(0, eq), true),
                             eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true));
    }
  }
  return out;
}

size_t parse_limit(const Target& target) {
  const auto text = target.param("limit");
  if (!text) return kDefaultPageSize;
  size_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < 1 || value > kMaxPageSize) {
    throw bad_parameter(fmt::format("limit must be an integer from 1 to {}, got '{}'", kMaxPageSize, shortened(*text)));
  }
  return value;
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() || authorization[kScheme.size()] != ' ') return std::nullopt;
  // The scheme name is case-insensitive (RFC 9110 section 11.1).
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return std::nullopt;
  }
  auto token = authorization.substr(kScheme.size() + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

std::optional<std::string_view> cookie_value(std::string_view cookie_header, std::string_view name) {
  // RFC 6265 section 5.4: "name=value" pairs separated by "; ".
  while (!cookie_header.empty()) {
    const auto semicolon = cookie_header.find(';');
    auto pair = cookie_header.substr(0, semicolon);
    cookie_header = semicolon == std::string_view::npos ? std::string_view() : cookie_header.substr(semicolon + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    while (!pair.empty() && pair.back() == ' ') pair.remove_suffix(1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
  }
  return std::nullopt;
}

}  // namespace smallpeer::bigpeer
