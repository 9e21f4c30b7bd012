#include "bigpeer/http/health.h"

#include <boost/beast/http/field.hpp>

#include "common/json.h"

#ifndef SMALLPEER_VERSION
#define SMALLPEER_VERSION "0.0.0"
#endif

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

void add_health_routes(Router& router, std::function<std::string()> metrics_text) {
  router.add(http::verb::get, "/api/v1/health", Access::anyone, [](const ApiRequest&) {
    JsonWriter w;
    w.begin_object().key("status").value("ok").key("version").value(SMALLPEER_VERSION).end_object();
    return json_response(http::status::ok, w.take());
  });
  router.add(http::verb::get, "/metrics", Access::anyone, [metrics_text = std::move(metrics_text)](const ApiRequest&) {
    HttpResponse response{http::status::ok, 11};
    response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    response.set(http::field::cache_control, "no-store");
    response.body() = metrics_text();
    return response;
  });
  // The upgrade itself never reaches the router: the connection hands it to the sync endpoint.
  router.add(http::verb::get, "/sync", Access::anyone, [](const ApiRequest&) {
    auto response = error_response(http::status::upgrade_required, "upgrade_required",
                                   "/sync is the small peers' WebSocket endpoint; send a WebSocket upgrade");
    response.set(http::field::upgrade, "websocket");
    return response;
  });
}

}  // namespace smallpeer::bigpeer
