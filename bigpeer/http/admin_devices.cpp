#include "bigpeer/http/admin_devices.h"

#include <fmt/format.h>
#include <simdjson.h>

#include "admin/admin_grant.h"
#include "common/error.h"
#include "common/json.h"

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

namespace {

// The record with the device's liveness: online now on this node or another, and its last handshake.
std::string grant_json(const AdminGrantRecord& record, const Enrollments& enrollments, const ConnectionRegistry& registry,
                       TimePoint now) {
  const auto connection = registry.peer(record.grant.peer_key);
  const auto enrollment = enrollments.get(record.grant.peer_key);
  JsonWriter w;
  w.begin_object();
  record.write_members(w, now);
  w.key("online").value(connection && connection->online);
  w.key("last_seen").value_or_null(enrollment ? format_rfc3339(enrollment->last_seen) : std::nullopt);
  w.key("device_name")
      .value_or_null(enrollment && !enrollment->device_name.empty() ? std::optional(enrollment->device_name) : std::nullopt);
  w.end_object();
  return w.take();
}

HttpResponse create_grant(AdminGrants& grants, const Enrollments& enrollments, const ConnectionRegistry& registry,
                          AuditLog& audit, const Clock& clock, const ApiRequest& request) {
  simdjson::dom::parser parser;
  simdjson::dom::object body;
  const std::string& text = request.http.body();
  if (parser.parse(text.data(), text.size()).get_object().get(body) != simdjson::SUCCESS) {
    throw bad_parameter(R"(the body must be a JSON object {"peer_key": "pk...", "expires_at": "RFC 3339", "label": "..."})");
  }
  for (const auto field : body) {
    if (field.key != "peer_key" && field.key != "expires_at" && field.key != "label") {
      throw bad_parameter(fmt::format("unknown field '{}' (peer_key, expires_at and label are allowed)", shortened(field.key)));
    }
  }
  std::string_view peer_key;
  std::string_view expires_text;
  std::string_view label;
  if (body["peer_key"].get_string().get(peer_key)) throw bad_parameter("peer_key must be a string");
  if (body["expires_at"].get_string().get(expires_text)) throw bad_parameter("expires_at must be an RFC 3339 time string");
  if (body["label"].error() != simdjson::NO_SUCH_FIELD && body["label"].get_string().get(label)) {
    throw bad_parameter("label must be a string");
  }
  const auto expires_at = parse_rfc3339(expires_text);
  if (!expires_at) throw bad_parameter(fmt::format("expires_at '{}' is not an RFC 3339 time", shortened(expires_text)));
  std::optional<AdminGrantRecord> record;
  try {
    record = grants.create(std::string(peer_key), *expires_at, std::string(label), request_actor(request.http));
  } catch (const Error& e) {
    if (e.code() == ErrorCode::validation) throw ApiError{http::status::conflict, "conflict", e.what()};
    throw;
  }
  audit.record(request, "admin_device.grant", record->grant.grant_id,
               fmt::format("device {} until {}", record->grant.peer_key, format_rfc3339(record->expires_at())));
  auto response = json_response(http::status::created, grant_json(*record, enrollments, registry, clock.now()));
  response.set(http::field::location, fmt::format("/api/v1/admin-devices/{}", record->grant.grant_id));
  return response;
}

HttpResponse list_grants(const AdminGrants& grants, const Enrollments& enrollments, const ConnectionRegistry& registry,
                         const Clock& clock) {
  const TimePoint now = clock.now();
  JsonWriter w;
  w.begin_object().key("signing_key").value(admin::signing_key_text(grants.signing_key()));
  w.key("admin_devices").begin_array();
  for (const auto& record : grants.list()) w.raw(grant_json(record, enrollments, registry, now));
  w.end_array().end_object();
  return json_response(http::status::ok, w.take());
}

HttpResponse revoke_grant(AdminGrants& grants, const Enrollments& enrollments, const ConnectionRegistry& registry,
                          AuditLog& audit, const Clock& clock, const ApiRequest& request) {
  const std::string& grant_id = request.captures[0];
  if (!admin::is_valid_grant_id(grant_id)) {
    throw bad_parameter(fmt::format("'{}' is not an admin grant id (ag_ followed by base64url characters)", shortened(grant_id)));
  }
  const auto record = grants.revoke(grant_id, request_actor(request.http));
  if (!record) throw not_found(fmt::format("no admin grant {}", grant_id));
  audit.record(request, "admin_device.revoke", grant_id, fmt::format("device {}", record->grant.peer_key));
  return json_response(http::status::ok, grant_json(*record, enrollments, registry, clock.now()));
}

}  // namespace

void add_admin_device_routes(Router& router, AdminGrants& grants, const Enrollments& enrollments,
                             const ConnectionRegistry& registry, AuditLog& audit, const std::shared_ptr<const Clock>& clock) {
  router.add(http::verb::post, "/api/v1/admin-devices", Access::admin,
             [&grants, &enrollments, &registry, &audit, clock](const ApiRequest& request) {
               return create_grant(grants, enrollments, registry, audit, *clock, request);
             });
  router.add(http::verb::get, "/api/v1/admin-devices", Access::admin,
             [&grants, &enrollments, &registry, clock](const ApiRequest&) {
               return list_grants(grants, enrollments, registry, *clock);
             });
  router.add(http::verb::delete_, "/api/v1/admin-devices/{grant_id}", Access::admin,
             [&grants, &enrollments, &registry, &audit, clock](const ApiRequest& request) {
               return revoke_grant(grants, enrollments, registry, audit, *clock, request);
             });
}

}  // namespace smallpeer::bigpeer
