// The portal (SPEC section 7): static HTML, CSS and JavaScript embedded in the binary at build time
// (bigpeer/embed_portal.cmake), served at "/", plus the endpoints only the portal needs: the login
// session (/api/v1/session) and the fleet history behind its chart (/api/v1/fleet/history).
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "bigpeer/fleet_history.h"
#include "bigpeer/http/admin_auth.h"
#include "bigpeer/http/api.h"

namespace smallpeer::bigpeer {

/// One file of the portal as the build embedded it.
struct EmbeddedFile {
  std::string_view path;          // URL path, e.g. "/assets/app.js"
  std::string_view content_type;  // from the file's extension
  std::string_view bytes;
};

/// Every embedded portal file (defined in the generated portal_files.cpp).
std::span<const EmbeddedFile> embedded_portal_files();

/// Sets the headers every portal page and API answer carries: a Content-Security-Policy allowing
/// only this origin, X-Content-Type-Options nosniff, no framing and no referrer.
void add_security_headers(HttpResponse& response);

/// Answers the portal's requests. Thread-safe.
class Portal {
 public:
  /// `auth` shares its sessions with the API's copy; `history` outlives the portal; `secure_cookies`
  /// adds the Secure flag (set when the port serves https).
  Portal(AdminAuth auth, const FleetHistory& history, bool secure_cookies);
  /// The response if `request` is the portal's (a static file, the session or the fleet history),
  /// else nullopt for the HTTP API to answer.
  [[nodiscard]] std::optional<HttpResponse> handle(const HttpRequest& request) const;

 private:
  [[nodiscard]] HttpResponse session(const HttpRequest& request) const;
  [[nodiscard]] HttpResponse static_file(const HttpRequest& request, std::string_view path) const;

  AdminAuth auth_;
  const FleetHistory& history_;
  bool secure_cookies_;
};

}  // namespace smallpeer::bigpeer
