#include "bigpeer/admin_auth.h"

#include <sodium.h>

#include <boost/beast/http/field.hpp>
#include <cctype>

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

AdminAuth::Result AdminAuth::check(const http::request<http::string_body>& request) const {
  const auto header = request.find(http::field::authorization);
  if (header != request.end()) {
    const auto token = bearer_token(to_std(header->value()));
    return token && constant_time_equal(*token, token_) ? Result::allowed : Result::wrong;
  }
  // The portal's session cookie will be checked here.
  return Result::missing;
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

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && (a.empty() || sodium_memcmp(a.data(), b.data(), a.size()) == 0);
}

}  // namespace smallpeer::bigpeer
