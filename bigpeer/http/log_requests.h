// The log request routes (admin): POST and GET /api/v1/devices/{peer_key}/log-requests,
// GET /api/v1/log-requests/{id} and GET /api/v1/log-requests/{id}/download (the gzip bundle).
// The lifecycle behind them is bigpeer/log_requests.h.
#pragma once

#include "bigpeer/audit_log.h"
#include "bigpeer/http/router.h"
#include "bigpeer/log_requests.h"
#include "bigpeer/registry.h"
#include "store/store.h"

namespace smallpeer::bigpeer {

/// Adds the log request routes; `store`, `registry`, `log_requests` and `audit` (which hears every
/// request created and bundle downloaded) outlive the router.
void add_log_request_routes(Router& router, const Store& store, const ConnectionRegistry& registry, LogRequests& log_requests,
                            AuditLog& audit);

}  // namespace smallpeer::bigpeer
