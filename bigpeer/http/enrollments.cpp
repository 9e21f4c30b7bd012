#include "bigpeer/http/enrollments.h"

#include <fmt/format.h>

#include "common/json.h"
#include "identity/identity.h"

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

namespace {

const std::string& checked_peer_key(const ApiRequest& request) {
  const std::string& peer_key = request.captures[0];
  if (!PeerIdentity::is_valid_peer_key(peer_key)) {
    throw bad_parameter(fmt::format("'{}' is not a peer key (pk followed by 43 base64url characters)", shortened(peer_key)));
  }
  return peer_key;
}

HttpResponse list_enrollments(const Enrollments& enrollments, const ApiRequest& request) {
  std::optional<EnrollmentState> state;
  if (const auto text = request.target.param("state")) {
    state = parse_enrollment_state(*text);
    if (!state) throw bad_parameter(fmt::format("state must be approved, pending or revoked, not '{}'", shortened(*text)));
  }
  const size_t limit = parse_limit(request.target);
  std::string after;
  if (const auto text = request.target.param("after")) {
    if (!PeerIdentity::is_valid_peer_key(*text)) throw bad_parameter("after must be a peer key (the last one of a page)");
    after = std::string(*text);
  }
  const auto page = enrollments.list(state, limit, after);
  JsonWriter w;
  w.begin_object().key("approval_required").value(enrollments.options().approval_required);
  w.key("enrollments").begin_array();
  for (const auto& e : page.enrollments) w.raw(e.to_json());
  w.end_array().key("next_after").value_or_null(page.next_after).end_object();
  return json_response(http::status::ok, w.take());
}

HttpResponse get_enrollment(const Enrollments& enrollments, const ApiRequest& request) {
  const std::string& peer_key = checked_peer_key(request);
  const auto e = enrollments.get(peer_key);
  if (!e) throw not_found(fmt::format("no device with peer key {} has enrolled", peer_key));
  return json_response(http::status::ok, e->to_json());
}

HttpResponse change_enrollment(Enrollments& enrollments, AuditLog& audit, const ApiRequest& request, EnrollmentState state) {
  const std::string& peer_key = checked_peer_key(request);
  const std::string actor = request_actor(request.http);
  const auto changed = enrollments.set_state(peer_key, state, actor);
  if (!changed) throw not_found(fmt::format("no device with peer key {} has enrolled", peer_key));
  const auto& [before, after] = *changed;
  const char* action = state == EnrollmentState::revoked    ? "device.revoke"
                       : before == EnrollmentState::pending ? "device.approve"
                                                            : "device.allow";
  audit.record(request, action, peer_key, fmt::format("was {}", to_string(before)));
  return json_response(http::status::ok, after.to_json());
}

}  // namespace

void add_enrollment_routes(Router& router, Enrollments& enrollments, AuditLog& audit) {
  router.add(http::verb::get, "/api/v1/enrollments", Access::admin,
             [&enrollments](const ApiRequest& request) { return list_enrollments(enrollments, request); });
  router.add(http::verb::get, "/api/v1/enrollments/{peer_key}", Access::admin,
             [&enrollments](const ApiRequest& request) { return get_enrollment(enrollments, request); });
  router.add(http::verb::post, "/api/v1/enrollments/{peer_key}/revoke", Access::admin,
             [&enrollments, &audit](const ApiRequest& request) {
               return change_enrollment(enrollments, audit, request, EnrollmentState::revoked);
             });
  router.add(http::verb::post, "/api/v1/enrollments/{peer_key}/allow", Access::admin,
             [&enrollments, &audit](const ApiRequest& request) {
               return change_enrollment(enrollments, audit, request, EnrollmentState::approved);
             });
}

}  // namespace smallpeer::bigpeer
