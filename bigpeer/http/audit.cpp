#include "bigpeer/http/audit.h"

#include <fmt/format.h>

#include "common/json.h"

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

namespace {

// An entry id: 16 digits, '-', 8 lower-case hex digits (audit_log.cpp).
bool is_entry_id(std::string_view id) {
  if (id.size() != 25 || id[16] != '-') return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (i == 16) continue;
    const bool digit = c >= '0' && c <= '9';
    if (i < 16 ? !digit : !(digit || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

HttpResponse list_audit(const AuditLog& audit, const ApiRequest& request) {
  const size_t limit = parse_limit(request.target);
  std::string after;
  if (const auto text = request.target.param("after")) {
    if (!is_entry_id(*text)) {
      throw bad_parameter(fmt::format("after must be an audit entry id (the last one of a page), not '{}'", shortened(*text)));
    }
    after = std::string(*text);
  }
  const auto page = audit.list(limit, after);
  JsonWriter w;
  w.begin_object().key("entries").begin_array();
  for (const auto& e : page.entries) w.raw(e.to_json());
  w.end_array().key("next_after").value_or_null(page.next_after);
  w.key("retention")
      .begin_object()
      .key("max_entries")
      .value(static_cast<uint64_t>(audit.retention().max_entries))
      .key("max_age_days")
      .value(static_cast<int64_t>(audit.retention().max_age.count() / 24))
      .end_object();
  w.end_object();
  return json_response(http::status::ok, w.take());
}

}  // namespace

void add_audit_routes(Router& router, const AuditLog& audit) {
  router.add(http::verb::get, "/api/v1/audit", Access::admin,
             [&audit](const ApiRequest& request) { return list_audit(audit, request); });
}

}  // namespace smallpeer::bigpeer
