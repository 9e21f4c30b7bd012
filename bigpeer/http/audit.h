// The audit log route (admin): GET /api/v1/audit?limit=&after=, newest first. The log behind it
// is bigpeer/audit_log.h.
#pragma once

#include "bigpeer/audit_log.h"
#include "bigpeer/http/router.h"

namespace smallpeer::bigpeer {

/// Adds the audit route; `audit` outlives the router.
void add_audit_routes(Router& router, const AuditLog& audit);

}  // namespace smallpeer::bigpeer
