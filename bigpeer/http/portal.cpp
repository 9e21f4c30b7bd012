#include "bigpeer/http/portal.h"

#include <fmt/format.h>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

namespace {

// The path without its query; static file paths are plain ASCII, so nothing is percent-decoded.
std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

HttpResponse static_file(const HttpRequest& request, std::string_view path) {
  if (request.method() != http::verb::get) {
    auto response = error_response(http::status::method_not_allowed, "method_not_allowed",
                                   fmt::format("{} only answers GET", shortened(path)));
    response.set(http::field::allow, "GET");
    return response;
  }
  const std::string_view wanted = path == "/" ? "/index.html" : path;
  for (const auto& file : embedded_portal_files()) {
    if (file.path != wanted) continue;
    HttpResponse response{http::status::ok, 11};
    response.set(http::field::content_type, std::string(file.content_type));
    // Files change only with the binary; revalidating is cheap on loopback and never shows a stale page.
    response.set(http::field::cache_control, "no-cache");
    response.body() = std::string(file.bytes);
    return response;
  }
  // The same JSON 404 as the API's, so a client sees one error format on the whole port.
  return error_response(http::status::not_found, "not_found", fmt::format("no such endpoint or page: {}", shortened(path)));
}

}  // namespace

bool is_api_path(std::string_view target) {
  const std::string_view path = path_of(target);
  return path.starts_with("/api/") || path == "/api" || path == "/metrics" || path == "/sync";
}

std::optional<HttpResponse> portal_response(const HttpRequest& request) {
  const std::string_view target = to_std(request.target());
  if (is_api_path(target)) return std::nullopt;
  auto response = static_file(request, path_of(target));
  add_security_headers(response);
  return response;
}

}  // namespace smallpeer::bigpeer
