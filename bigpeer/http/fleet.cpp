#include "bigpeer/http/fleet.h"

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

void add_fleet_routes(Router& router, const FleetHistory& history) {
  router.add(http::verb::get, "/api/v1/fleet/history", Access::admin,
             [&history](const ApiRequest&) { return json_response(http::status::ok, history.to_json()); });
}

}  // namespace smallpeer::bigpeer
