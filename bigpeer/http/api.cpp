#include "bigpeer/http/api.h"

#include "bigpeer/http/admin_devices.h"
#include "bigpeer/http/audit.h"
#include "bigpeer/http/devices.h"
#include "bigpeer/http/documents.h"
#include "bigpeer/http/enrollments.h"
#include "bigpeer/http/fleet.h"
#include "bigpeer/http/health.h"
#include "bigpeer/http/log_requests.h"
#include "bigpeer/http/portal.h"
#include "bigpeer/http/session.h"
#include "common/error.h"

namespace smallpeer::bigpeer {

namespace {
const HttpApiConfig& checked(const HttpApiConfig& config) {
  if (!config.store || !config.registry || !config.log_requests || !config.fleet_history || !config.enrollments ||
      !config.admin_grants || !config.audit || !config.clock || !config.auth || !config.metrics_text) {
    throw Error(ErrorCode::invalid_argument,
                "the HTTP API needs a store, a registry, log requests, a fleet history, enrollments, admin grants, an audit log, "
                "a clock, the "
                "admin auth and a "
                "metrics renderer");
  }
  return config;
}
}  // namespace

HttpApi::HttpApi(HttpApiConfig config) : router_(*checked(config).auth), serve_portal_(config.serve_portal) {
  add_health_routes(router_, std::move(config.metrics_text));
  add_session_routes(router_, *config.auth, config.secure_cookies, config.audit);
  add_document_routes(router_, *config.store, config.query_limits);
  add_device_routes(router_, *config.store, *config.registry, config.clock, config.query_limits);
  add_log_request_routes(router_, *config.store, *config.registry, *config.log_requests, *config.audit);
  add_enrollment_routes(router_, *config.enrollments, *config.audit);
  add_admin_device_routes(router_, *config.admin_grants, *config.enrollments, *config.registry, *config.audit, config.clock);
  add_audit_routes(router_, *config.audit);
  add_fleet_routes(router_, *config.fleet_history);
}

HttpResponse HttpApi::handle(const HttpRequest& request, std::string_view client_address) const {
  if (serve_portal_) {
    if (auto response = portal_response(request)) return std::move(*response);
  }
  return router_.handle(request, client_address);
}

}  // namespace smallpeer::bigpeer
