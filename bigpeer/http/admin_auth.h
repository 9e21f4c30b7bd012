// Who may use the HTTP API: holders of the admin token. The token arrives as a bearer header from
// scripts, or the portal's login exchanges it for a session cookie (HttpOnly, SameSite=Strict).
// Wrong tokens are rate limited per client address (login_throttle.h); each session has a CSRF
// token its state-changing requests must echo (csrf.h).
#pragma once

#include <array>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "bigpeer/http/common.h"
#include "bigpeer/http/login_throttle.h"

namespace smallpeer::bigpeer {

/// The portal's session cookie name.
inline constexpr std::string_view kSessionCookie = "sp_session";
/// How long a portal session lasts after login.
inline constexpr std::chrono::hours kSessionLifetime{12};
/// Sessions kept at most; a login beyond this ends the oldest session.
inline constexpr size_t kMaxSessions = 1000;

/// Checks requests for the admin token or a portal session. Copies share their sessions.
class AdminAuth {
 public:
  /// What a request proved.
  enum class Result { allowed, missing, wrong, throttled };
  /// Which credential a request presents (the first one present decides, as in check()).
  enum class Credential { none, bearer, session };

  /// Accepts requests carrying `token`, or a session opened with it.
  explicit AdminAuth(std::string token);
  /// Looks at every credential source in turn (bearer header, then session cookie); the first one
  /// present decides. A bearer token from `client_address` counts toward its login rate limit
  /// (throttled while it is refused, even for the right token).
  [[nodiscard]] Result check(const boost::beast::http::request<boost::beast::http::string_body>& request,
                             std::string_view client_address = {}) const;
  /// The credential `request` presents.
  [[nodiscard]] static Credential presented(const boost::beast::http::request<boost::beast::http::string_body>& request);
  /// True if `token` is the admin token.
  [[nodiscard]] bool token_matches(std::string_view token) const;
  /// A login's check of `token` from `client_address`: allowed, wrong (counted) or throttled.
  [[nodiscard]] Result check_login(std::string_view token, std::string_view client_address) const;
  /// How long `client_address` must wait before its next token is looked at, if it must.
  [[nodiscard]] std::optional<std::chrono::seconds> retry_after(std::string_view client_address) const;
  /// The CSRF token of the valid session `request`'s cookie names, or nullopt: a keyed hash of the
  /// session id (base64url), so it lives and dies with the session and reveals nothing of the id.
  [[nodiscard]] std::optional<std::string> csrf_token(
      const boost::beast::http::request<boost::beast::http::string_body>& request) const;
  /// Opens a session for the portal's login (the caller checked the token) and returns its id: 256
  /// random bits, base64url. Sessions live in memory only, so a restart logs everyone out.
  [[nodiscard]] std::string open_session() const;
  /// Ends the session whose id `request`'s cookie carries, if any.
  void close_session(const boost::beast::http::request<boost::beast::http::string_body>& request) const;

 private:
  struct Sessions {
    Sessions();
    std::array<unsigned char, 32> csrf_key{};  // random per process: CSRF tokens end with a restart, as sessions do
    LoginThrottle throttle;
    std::mutex mutex;
    std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> expiry;  // id -> end
  };
  [[nodiscard]] bool session_valid(std::string_view id) const;

  std::string token_;
  std::shared_ptr<Sessions> sessions_;
};

/// Compares in time that depends only on the lengths, so a token cannot be guessed byte by byte.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace smallpeer::bigpeer
