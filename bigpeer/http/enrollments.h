// The device enrollment routes (admin): GET /api/v1/enrollments?state=&limit=&after=,
// GET /api/v1/enrollments/{peer_key}, POST /api/v1/enrollments/{peer_key}/revoke and
// POST /api/v1/enrollments/{peer_key}/allow (re-allows a revoked key, approves a pending one).
// Every change is audited. The records behind them are bigpeer/enrollments.h.
#pragma once

#include "bigpeer/audit_log.h"
#include "bigpeer/enrollments.h"
#include "bigpeer/http/router.h"

namespace smallpeer::bigpeer {

/// Adds the enrollment routes; `enrollments` and `audit` outlive the router.
void add_enrollment_routes(Router& router, Enrollments& enrollments, AuditLog& audit);

}  // namespace smallpeer::bigpeer
