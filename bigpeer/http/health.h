// The routes any caller may use to see that the Big Peer runs: GET /api/v1/health (status and
// version), GET /metrics (Prometheus text format 0.0.4), and the plain GET /sync that is not a
// WebSocket upgrade (426).
#pragma once

#include <functional>
#include <string>

#include "bigpeer/http/router.h"

namespace smallpeer::bigpeer {

/// Adds the health, metrics and /sync routes; `metrics_text` renders GET /metrics.
void add_health_routes(Router& router, std::function<std::string()> metrics_text);

}  // namespace smallpeer::bigpeer
