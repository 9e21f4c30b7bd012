// The portal's login: POST /api/v1/session exchanges the admin token for a session cookie
// (HttpOnly, SameSite=Strict, Secure under TLS); DELETE /api/v1/session ends it. Neither needs a
// credential, since the login is how a browser gets one; wrong tokens count toward the address's
// login rate limit (429). GET /api/v1/session (admin) returns the session's CSRF token (csrf.h).
#pragma once

#include "bigpeer/audit_log.h"
#include "bigpeer/http/admin_auth.h"
#include "bigpeer/http/router.h"

namespace smallpeer::bigpeer {

/// Adds the session routes; `auth` shares its sessions with the router's copy; `secure_cookies`
/// adds the Secure flag (set when the port serves https); `audit` (if set) hears every login, failed
/// login and logout.
void add_session_routes(Router& router, const AdminAuth& auth, bool secure_cookies, AuditLog* audit = nullptr);

}  // namespace smallpeer::bigpeer
