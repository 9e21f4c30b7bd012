// Who may use the HTTP API: holders of the admin token. The token arrives as a bearer header from
// scripts; the portal's login cookie becomes a second source here when the portal lands.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace smallpeer::bigpeer {

/// Checks requests for the admin token.
class AdminAuth {
 public:
  /// What a request proved.
  enum class Result { allowed, missing, wrong };

  /// Accepts requests carrying `token`.
  explicit AdminAuth(std::string token) : token_(std::move(token)) {}
  /// Looks at every credential source in turn; the first one present decides.
  [[nodiscard]] Result check(const boost::beast::http::request<boost::beast::http::string_body>& request) const;

 private:
  std::string token_;
};

/// Beast 1.74 has its own string_view; this views the same characters as a std::string_view.
inline std::string_view to_std(boost::beast::string_view text) {
  return {text.data(), text.size()};
}
/// The token of an `Authorization: Bearer <token>` header, or nullopt if there is none.
std::optional<std::string_view> bearer_token(std::string_view authorization);
/// Compares in time that depends only on the lengths, so a token cannot be guessed byte by byte.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace smallpeer::bigpeer
