// The fleet's history (admin): GET /api/v1/fleet/history, the samples behind the portal's
// "online devices over time" chart (the other charts count GET /api/v1/devices in the browser).
#pragma once

#include "bigpeer/fleet_history.h"
#include "bigpeer/http/router.h"

namespace smallpeer::bigpeer {

/// Adds the fleet history route; `history` outlives the router.
void add_fleet_routes(Router& router, const FleetHistory& history);

}  // namespace smallpeer::bigpeer
