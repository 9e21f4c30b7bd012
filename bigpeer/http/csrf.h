// Cross-site request forgery defence for the portal's session cookie. SameSite=Strict keeps the
// cookie from other sites, but every port of the same host is the same site; so a request that
// authenticates with the cookie and changes state (POST, PUT, PATCH, DELETE) must also show that
// the portal's own page sent it:
//   1. origin: an `Origin` naming this host and port (else `Sec-Fetch-Site: same-origin`), and no
//      `Sec-Fetch-Site` other than same-origin;
//   2. content type: `Content-Type: application/json` (a cross-origin form or a "simple" fetch can
//      only send text/plain, form-urlencoded or multipart without a preflight);
//   3. token: `X-CSRF-Token` equal (constant-time) to the session's token from GET /api/v1/session.
// Each refusal is 403 with code csrf_origin, csrf_content_type or csrf_token. The router applies
// this to every admin route, so new routes get it without code of their own; bearer calls carry no
// ambient credential and are not checked.
#pragma once

#include <boost/beast/http/verb.hpp>
#include <optional>
#include <string_view>

#include "bigpeer/http/admin_auth.h"
#include "bigpeer/http/common.h"

namespace smallpeer::bigpeer {

/// The header the portal sends the session's CSRF token in.
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";

/// True for the methods that change state: POST, PUT, PATCH, DELETE.
bool changes_state(boost::beast::http::verb method);
/// True if `origin` (an Origin header: scheme://host[:port]) names host and port `host` (a Host
/// header), default ports filled in from the origin's scheme; host names compare case-insensitively.
bool same_origin(std::string_view origin, std::string_view host);
/// Why a state-changing request authenticated by `auth`'s session cookie is refused (ApiError 403
/// naming the failed check), or nullopt if it passes all three.
std::optional<ApiError> csrf_refusal(const HttpRequest& request, const AdminAuth& auth);

}  // namespace smallpeer::bigpeer
