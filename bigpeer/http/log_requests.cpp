#include "bigpeer/http/log_requests.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <boost/beast/http/field.hpp>

#include "bigpeer/http/devices.h"
#include "common/error.h"
#include "common/json.h"
#include "log/log_filter.h"

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

namespace {

HttpResponse create_log_request(const Store& store, const ConnectionRegistry& registry, LogRequests& log_requests,
                                AuditLog& audit, const ApiRequest& request) {
  const std::string& peer_key = request.captures[0];
  std::chrono::seconds ttl = kDefaultLogRequestTtl;
  // The body is a log filter (core/log/log_filter.h, one parser for every surface) plus ttl_seconds.
  const LogFilterExtraField ttl_field{
      "ttl_seconds", [&](const simdjson::dom::element& value) {
        uint64_t n = 0;
        if (value.get(n) || n < 1 || n > static_cast<uint64_t>(kMaxLogRequestTtl.count())) {
          throw Error(ErrorCode::invalid_argument,
                      fmt::format("ttl_seconds must be an integer from 1 to {}", kMaxLogRequestTtl.count()));
        }
        ttl = std::chrono::seconds(n);
      }};
  const std::string& body = request.http.body();
  const LogFilter filter = body.empty() ? LogFilter{} : parse_log_filter(body, {&ttl_field, 1});
  const KnownDevice device = require_device(store, registry, peer_key);
  std::string device_name = device.connection ? device.connection->device_name : "";
  if (device.small_peer_info) {
    if (auto name = summarize_spi(device.small_peer_info->json).device_name) device_name = *name;
  }
  const auto record = log_requests.create(peer_key, device_name, filter, ttl, "admin");
  audit.record(request, "log_request.create", record.id, fmt::format("device {}", peer_key));
  auto response = json_response(http::status::accepted, record.to_json());
  response.set(http::field::location, fmt::format("/api/v1/log-requests/{}", record.id));
  return response;
}

HttpResponse list_log_requests(const Store& store, const ConnectionRegistry& registry, const LogRequests& log_requests,
                               const ApiRequest& request) {
  const std::string& peer_key = request.captures[0];
  require_device(store, registry, peer_key);
  JsonWriter w;
  w.begin_object().key("log_requests").begin_array();
  for (const auto& record : log_requests.for_peer(peer_key)) w.raw(record.to_json());
  w.end_array().end_object();
  return json_response(http::status::ok, w.take());
}

HttpResponse get_log_request(const LogRequests& log_requests, const ApiRequest& request) {
  const std::string& id = request.captures[0];
  const auto record = log_requests.get(id);
  if (!record) throw not_found(fmt::format("no log request '{}'", shortened(id)));
  return json_response(http::status::ok, record->to_json());
}

HttpResponse download_log_bundle(const LogRequests& log_requests, AuditLog& audit, const ApiRequest& request) {
  const std::string& id = request.captures[0];
  const auto record = log_requests.get(id);
  if (!record) throw not_found(fmt::format("no log request '{}'", shortened(id)));
  if (record->state != LogRequestState::ready) {
    return error_response(http::status::conflict, "not_ready",
                          fmt::format("log request {} is {}, not ready{}{}", id, to_string(record->state),
                                      record->reason.empty() ? "" : ": ", record->reason));
  }
  std::string bundle = log_requests.read_bundle(id);
  audit.record(request, "log_request.download", id, fmt::format("device {}, {} bytes", record->peer_key, bundle.size()));
  HttpResponse response{http::status::ok, 11};
  response.set(http::field::content_type, "application/gzip");
  response.set(http::field::cache_control, "no-store");
  response.set(http::field::content_disposition, fmt::format("attachment; filename=\"{}\"", record->file_name()));
  response.body() = std::move(bundle);
  return response;
}

}  // namespace

void add_log_request_routes(Router& router, const Store& store, const ConnectionRegistry& registry, LogRequests& log_requests,
                            AuditLog& audit) {
  router.add(http::verb::get, "/api/v1/devices/{peer_key}/log-requests", Access::admin,
             [&store, &registry, &log_requests](const ApiRequest& request) {
               return list_log_requests(store, registry, log_requests, request);
             });
  router.add(http::verb::post, "/api/v1/devices/{peer_key}/log-requests", Access::admin,
             [&store, &registry, &log_requests, &audit](const ApiRequest& request) {
               return create_log_request(store, registry, log_requests, audit, request);
             });
  router.add(http::verb::get, "/api/v1/log-requests/{id}", Access::admin,
             [&log_requests](const ApiRequest& request) { return get_log_request(log_requests, request); });
  router.add(http::verb::get, "/api/v1/log-requests/{id}/download", Access::admin,
             [&log_requests, &audit](const ApiRequest& request) { return download_log_bundle(log_requests, audit, request); });
}

}  // namespace smallpeer::bigpeer
