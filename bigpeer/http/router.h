// The HTTP API's routing table: method + path pattern -> handler, with who may call it. The router
// answers what is the same for every route once: 404 for a path no route has, 405 (with Allow) for
// a method the path's routes do not take, 401 for an admin route without the admin token or a
// portal session, 429 for an address guessing the token (login_throttle.h), 403 for a
// state-changing admin request on the session cookie that fails the CSRF checks (csrf.h), the
// JSON error for whatever a handler throws, and the security headers.
#pragma once

#include <boost/beast/http/verb.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bigpeer/http/admin_auth.h"
#include "bigpeer/http/common.h"

namespace smallpeer::bigpeer {

/// A request as a route's handler sees it.
struct ApiRequest {
  const HttpRequest& http;
  const Target& target;
  std::vector<std::string> captures;  // the pattern's {name} segments, decoded, in order
  std::string_view client_address;    // the peer's IP address as text ("" when not known)
};

/// Answers one route; may throw ApiError (answered as such) or Error (invalid_argument -> 400,
/// anything else -> 500).
using Handler = std::function<HttpResponse(const ApiRequest&)>;

/// Who may call a route.
enum class Access {
  anyone,  // no credential (health, metrics, the login itself)
  admin,   // the admin token as a bearer header, or a portal session cookie (then state changes
           // must also pass the CSRF checks, csrf.h)
};

/// 429 too_many_attempts with Retry-After: `client_address` sent too many wrong admin tokens.
HttpResponse too_many_attempts(const AdminAuth& auth, std::string_view client_address);

/// Routes requests to handlers. Filled before serving, then read-only and thread-safe.
class Router {
 public:
  /// Admin routes accept what `auth` accepts.
  explicit Router(AdminAuth auth);
  /// Adds a route. `pattern` is an absolute path whose segments are literals or `{name}`
  /// captures matching any one segment, e.g. "/api/v1/devices/{peer_key}/log-requests".
  void add(boost::beast::http::verb method, std::string_view pattern, Access access, Handler handler);
  /// The response to `request` from `client_address` (version and keep-alive are the caller's).
  /// Never throws.
  [[nodiscard]] HttpResponse handle(const HttpRequest& request, std::string_view client_address = {}) const;

 private:
  struct Route {
    boost::beast::http::verb method;
    std::vector<std::string> segments;  // a "{...}" segment is a capture
    Access access;
    Handler handler;
  };
  [[nodiscard]] HttpResponse dispatch(const HttpRequest& request, std::string_view client_address) const;
  [[nodiscard]] static bool matches(const Route& route, const Target& target);

  AdminAuth auth_;
  std::vector<Route> routes_;
};

}  // namespace smallpeer::bigpeer
