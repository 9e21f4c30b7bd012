#include "bigpeer/http/router.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/beast/http/field.hpp>

#include "bigpeer/database_health.h"
#include "bigpeer/http/csrf.h"
#include "common/error.h"

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

namespace {
bool is_capture(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}
}  // namespace

Router::Router(AdminAuth auth) : auth_(std::move(auth)) {}

void Router::add(http::verb method, std::string_view pattern, Access access, Handler handler) {
  if (!pattern.starts_with('/')) {
    throw Error(ErrorCode::invalid_argument, fmt::format("route pattern '{}' must start with '/'", pattern));
  }
  Route route{method, {}, access, std::move(handler)};
  const std::string_view path = pattern.substr(1);
  for (size_t start = 0;;) {
    const auto slash = path.find('/', start);
    route.segments.emplace_back(path.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  for (const auto& other : routes_) {
    if (other.method == method && other.segments == route.segments) {
      throw Error(ErrorCode::invalid_argument,
                  fmt::format("route {} {} is added twice", to_std(http::to_string(method)), pattern));
    }
  }
  routes_.push_back(std::move(route));
}

bool Router::matches(const Route& route, const Target& target) {
  if (route.segments.size() != target.segments.size()) return false;
  for (size_t i = 0; i < route.segments.size(); ++i) {
    if (!is_capture(route.segments[i]) && route.segments[i] != target.segments[i]) return false;
  }
  return true;
}

HttpResponse Router::handle(const HttpRequest& request, std::string_view client_address) const {
  HttpResponse response = [&] {
    try {
      return dispatch(request, client_address);
    } catch (const ApiError& e) {
      return error_response(e.status, e.code, e.message);
    } catch (const DatabaseUnavailable& e) {
      // Not the client's fault and not for long (docs/DEPLOY.md, "Database outages").
      auto unavailable = error_response(http::status::service_unavailable, "database_unavailable", e.what());
      unavailable.set(http::field::retry_after, std::to_string(kRetryAfterSeconds));
      return unavailable;
    } catch (const Error& e) {
      if (e.code() == ErrorCode::invalid_argument) {
        return error_response(http::status::bad_request, "invalid_parameter", e.what());
      }
      spdlog::error("http: {} {} failed: {}", to_std(request.method_string()), to_std(request.target()), e.what());
      return error_response(http::status::internal_server_error, "internal", e.what());
    } catch (const std::exception& e) {
      spdlog::error("http: {} {} failed: {}", to_std(request.method_string()), to_std(request.target()), e.what());
      return error_response(http::status::internal_server_error, "internal", "internal error");
    }
  }();
  add_security_headers(response);
  return response;
}

HttpResponse too_many_attempts(const AdminAuth& auth, std::string_view client_address) {
  const auto wait = auth.retry_after(client_address).value_or(kLoginFailureWindow);
  auto response = error_response(http::status::too_many_requests, "too_many_attempts",
                                 fmt::format("too many wrong admin tokens from this address: try again in {} s", wait.count()));
  response.set(http::field::retry_after, std::to_string(wait.count()));
  return response;
}

HttpResponse Router::dispatch(const HttpRequest& request, std::string_view client_address) const {
  const Target target = parse_target(to_std(request.target()));
  const Route* chosen = nullptr;
  std::string allowed;  // the methods this path answers, in the order their routes were added
  for (const auto& route : routes_) {
    if (!matches(route, target)) continue;
    if (route.method == request.method() && !chosen) chosen = &route;
    if (!allowed.empty()) allowed += ", ";
    allowed += to_std(http::to_string(route.method));
  }
  if (allowed.empty()) throw not_found(fmt::format("no such endpoint: {}", shortened(to_std(request.target()))));
  if (!chosen) {
    auto response = error_response(http::status::method_not_allowed, "method_not_allowed",
                                   fmt::format("{} only answers {}", shortened(to_std(request.target())), allowed));
    response.set(http::field::allow, allowed);
    return response;
  }
  if (chosen->access == Access::admin) {
    const auto result = auth_.check(request, client_address);
    if (result == AdminAuth::Result::throttled) return too_many_attempts(auth_, client_address);
    if (result != AdminAuth::Result::allowed) {
      auto response = error_response(http::status::unauthorized, "unauthorized",
                                     result == AdminAuth::Result::missing
                                         ? "missing admin token: log in, or send the header 'Authorization: Bearer <admin token>'"
                                         : "wrong admin token or expired session");
      response.set(http::field::www_authenticate, "Bearer realm=\"smallpeer\"");
      return response;
    }
    // The cookie rides along with any request the browser sends to this host, whoever asked for it.
    if (changes_state(request.method()) && AdminAuth::presented(request) == AdminAuth::Credential::session) {
      if (auto refusal = csrf_refusal(request, auth_)) throw std::move(*refusal);
    }
  }
  ApiRequest api_request{request, target, {}, client_address};
  for (size_t i = 0; i < chosen->segments.size(); ++i) {
    if (is_capture(chosen->segments[i])) api_request.captures.push_back(target.segments[i]);
  }
  return chosen->handler(api_request);
}

}  // namespace smallpeer::bigpeer
