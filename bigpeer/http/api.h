// The Big Peer's HTTP API (SPEC section 7): /api/v1 for the fleet, the data browser and the
// portal's login, /metrics for Prometheus, and the portal's pages. JSON in, JSON out; errors are
// {"error":{"code","message"}} with the right status. Each resource's routes live in their own
// file (health, documents, devices, enrollments, admin_devices, audit, log_requests, session,
// fleet) and are listed in the router
// table (router.h) this class builds.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "bigpeer/admin_grants.h"
#include "bigpeer/audit_log.h"
#include "bigpeer/enrollments.h"
#include "bigpeer/fleet_history.h"
#include "bigpeer/http/admin_auth.h"
#include "bigpeer/http/common.h"
#include "bigpeer/http/router.h"
#include "bigpeer/log_requests.h"
#include "bigpeer/registry.h"
#include "clock/clock.h"
#include "query/query.h"
#include "store/store.h"

namespace smallpeer::bigpeer {

/// What the HTTP API reads and serves. Everything referenced outlives the API.
struct HttpApiConfig {
  const Store* store = nullptr;
  /// POST /api/v1/query's row cap and time limit.
  QueryOptions query_limits;
  const ConnectionRegistry* registry = nullptr;
  LogRequests* log_requests = nullptr;
  const FleetHistory* fleet_history = nullptr;
  Enrollments* enrollments = nullptr;
  AdminGrants* admin_grants = nullptr;
  AuditLog* audit = nullptr;
  std::shared_ptr<const Clock> clock;
  /// Checks admin routes; its copies (the login's among them) share the portal sessions.
  std::optional<AdminAuth> auth;
  /// Renders GET /metrics.
  std::function<std::string()> metrics_text;
  /// Serve the embedded portal pages outside the API's paths (else those get the API's 404).
  bool serve_portal = true;
  /// Session cookies get the Secure flag (the port serves https).
  bool secure_cookies = false;
};

/// Answers HTTP requests other than the /sync upgrade. Read-only after construction; thread-safe.
class HttpApi {
 public:
  /// Builds the route table; throws Error(invalid_argument) if a required part is missing.
  explicit HttpApi(HttpApiConfig config);
  /// The response to `request` from `client_address` (version and keep-alive are the caller's);
  /// may wait for the store.
  [[nodiscard]] HttpResponse handle(const HttpRequest& request, std::string_view client_address = {}) const;

 private:
  Router router_;
  bool serve_portal_;
};

}  // namespace smallpeer::bigpeer
