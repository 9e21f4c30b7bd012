// The Big Peer's HTTP API (SPEC section 7): /api/v1 for the fleet and the data browser, /metrics
// for Prometheus. JSON in, JSON out; errors are {"error":{"code","message"}} with the right status.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "bigpeer/http/admin_auth.h"
#include "bigpeer/log_requests.h"
#include "bigpeer/registry.h"
#include "clock/clock.h"
#include "store/store.h"

namespace smallpeer::bigpeer {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

/// Pages of documents and devices hold at most this many entries (and 100 unless asked).
inline constexpr size_t kMaxPageSize = 1000;
inline constexpr size_t kDefaultPageSize = 100;

/// A JSON error response {"error":{"code":...,"message":...}}.
HttpResponse error_response(boost::beast::http::status status, std::string_view code, std::string_view message);

class Portal;

/// Answers HTTP requests other than the /sync upgrade. Stateless besides what it reads; thread-safe.
class HttpApi {
 public:
  /// Reads from `store` and `registry` and serves `log_requests` (all outlive the API);
  /// `metrics_text` renders GET /metrics; `portal` (if given, outliving the API) answers the
  /// requests that are the portal's first.
  HttpApi(const Store& store, const ConnectionRegistry& registry, LogRequests& log_requests, AdminAuth auth,
          std::shared_ptr<const Clock> clock, std::function<std::string()> metrics_text, const Portal* portal = nullptr);
  /// The response to `request` (version and keep-alive are the caller's); may wait for the store.
  [[nodiscard]] HttpResponse handle(const HttpRequest& request) const;

 private:
  [[nodiscard]] HttpResponse create_log_request(const std::string& peer_key, const HttpRequest& request) const;
  [[nodiscard]] HttpResponse download_log_bundle(const std::string& id) const;

 private:
  const Store& store_;
  const ConnectionRegistry& registry_;
  LogRequests& log_requests_;
  AdminAuth auth_;
  std::shared_ptr<const Clock> clock_;
  std::function<std::string()> metrics_text_;
  const Portal* portal_;
};

}  // namespace smallpeer::bigpeer
