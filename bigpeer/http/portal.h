// The portal's pages (SPEC section 7): static HTML, CSS and JavaScript embedded in the binary at
// build time (bigpeer/embed_portal.cmake), served at "/". The endpoints the portal calls are
// routes like any other: the login in session.h, the fleet history in fleet.h.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "bigpeer/http/common.h"

namespace smallpeer::bigpeer {

/// One file of the portal as the build embedded it.
struct EmbeddedFile {
  std::string_view path;          // URL path, e.g. "/assets/app.js"
  std::string_view content_type;  // from the file's extension
  std::string_view bytes;
};

/// Every embedded portal file (defined in the generated portal_files.cpp).
std::span<const EmbeddedFile> embedded_portal_files();

/// True for the paths the router answers rather than the portal: /api, /api/..., /metrics, /sync.
bool is_api_path(std::string_view target);

/// The answer to a request for a portal file (the file, or the JSON 404 or 405, with the security
/// headers), or nullopt for a request to an API path, which is the router's.
std::optional<HttpResponse> portal_response(const HttpRequest& request);

}  // namespace smallpeer::bigpeer
