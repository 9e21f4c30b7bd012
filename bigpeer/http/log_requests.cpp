#include "bigpeer/http/log_requests.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <boost/beast/http/field.hpp>

#include "bigpeer/http/devices.h"
#include "common/json.h"

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

namespace {

HttpResponse create_log_request(const Store& store, const ConnectionRegistry& registry, LogRequests& log_requests,
                                const ApiRequest& request) {
  const std::string& peer_key = request.captures[0];
  LogRequestFilters filters;
  std::chrono::seconds ttl = kDefaultLogRequestTtl;
  const std::string& body = request.http.body();
  if (!body.empty()) {
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (auto err = parser.parse(body.data(), body.size()).get(obj))
      throw bad_parameter(fmt::format("the body must be a JSON object: {}", simdjson::error_message(err)));
    for (auto field : obj) {
      const std::string_view key = field.key;
      std::string_view text;
      if (field.value.is_null()) continue;
      if (key == "min_level") {
        const auto level = field.value.get(text) ? std::nullopt : parse_log_level(text);
        if (!level) throw bad_parameter("min_level must be one of error, warning, info, debug, verbose");
        filters.min_level = *level;
      } else if (key == "since" || key == "until") {
        const auto t = field.value.get(text) ? std::nullopt : parse_rfc3339(text);
        if (!t) throw bad_parameter(fmt::format("{} must be an RFC 3339 time such as 2026-11-26T09:00:00Z", key));
        (key == "since" ? filters.since : filters.until) = *t;
      } else if (key == "max_bytes") {
        uint64_t n = 0;
        if (field.value.get(n) || n < 1024)
          throw bad_parameter("max_bytes must be an integer of at least 1024 (bytes of uncompressed log lines)");
        filters.max_bytes = n;
      } else if (key == "ttl_seconds") {
        uint64_t n = 0;
        if (field.value.get(n) || n < 1 || n > static_cast<uint64_t>(kMaxLogRequestTtl.count()))
          throw bad_parameter(fmt::format("ttl_seconds must be an integer from 1 to {}", kMaxLogRequestTtl.count()));
        ttl = std::chrono::seconds(n);
      } else {
        throw bad_parameter(
            fmt::format("unknown field '{}'; expected min_level, since, until, max_bytes, ttl_seconds", shortened(key)));
      }
    }
  }
  if (filters.since && filters.until && *filters.since > *filters.until) throw bad_parameter("since is after until");
  const KnownDevice device = require_device(store, registry, peer_key);
  std::string device_name = device.connection ? device.connection->device_name : "";
  if (device.small_peer_info) {
    if (auto name = summarize_spi(device.small_peer_info->json).device_name) device_name = *name;
  }
  const auto record = log_requests.create(peer_key, device_name, filters, ttl, "admin");
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

HttpResponse download_log_bundle(const LogRequests& log_requests, const ApiRequest& request) {
  const std::string& id = request.captures[0];
  const auto record = log_requests.get(id);
  if (!record) throw not_found(fmt::format("no log request '{}'", shortened(id)));
  if (record->state != LogRequestState::ready) {
    return error_response(http::status::conflict, "not_ready",
                          fmt::format("log request {} is {}, not ready{}{}", id, to_string(record->state),
                                      record->reason.empty() ? "" : ": ", record->reason));
  }
  std::string bundle = log_requests.read_bundle(id);
  HttpResponse response{http::status::ok, 11};
  response.set(http::field::content_type, "application/gzip");
  response.set(http::field::cache_control, "no-store");
  response.set(http::field::content_disposition, fmt::format("attachment; filename=\"{}\"", record->file_name()));
  response.body() = std::move(bundle);
  return response;
}

}  // namespace

void add_log_request_routes(Router& router, const Store& store, const ConnectionRegistry& registry, LogRequests& log_requests) {
  router.add(http::verb::get, "/api/v1/devices/{peer_key}/log-requests", Access::admin,
             [&store, &registry, &log_requests](const ApiRequest& request) {
               return list_log_requests(store, registry, log_requests, request);
             });
  router.add(http::verb::post, "/api/v1/devices/{peer_key}/log-requests", Access::admin,
             [&store, &registry, &log_requests](const ApiRequest& request) {
               return create_log_request(store, registry, log_requests, request);
             });
  router.add(http::verb::get, "/api/v1/log-requests/{id}", Access::admin,
             [&log_requests](const ApiRequest& request) { return get_log_request(log_requests, request); });
  router.add(http::verb::get, "/api/v1/log-requests/{id}/download", Access::admin,
             [&log_requests](const ApiRequest& request) { return download_log_bundle(log_requests, request); });
}

}  // namespace smallpeer::bigpeer
