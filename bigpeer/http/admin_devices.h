// The admin device routes (admin; docs/SYNC.md "Admin devices"): POST /api/v1/admin-devices
// {"peer_key", "expires_at", "label"} grants (201), GET /api/v1/admin-devices lists every grant kept
// with its device's last handshake, DELETE /api/v1/admin-devices/{grant_id} revokes. Every change
// is audited. The grants behind them are bigpeer/admin_grants.h.
#pragma once

#include "bigpeer/admin_grants.h"
#include "bigpeer/audit_log.h"
#include "bigpeer/enrollments.h"
#include "bigpeer/http/router.h"
#include "bigpeer/registry.h"

namespace smallpeer::bigpeer {

/// Adds the admin device routes; everything referenced outlives the router.
void add_admin_device_routes(Router& router, AdminGrants& grants, const Enrollments& enrollments,
                             const ConnectionRegistry& registry, AuditLog& audit, const std::shared_ptr<const Clock>& clock);

}  // namespace smallpeer::bigpeer
