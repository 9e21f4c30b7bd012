#include "bigpeer/audit_log.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/beast/http/field.hpp>

#include "bigpeer/http/admin_auth.h"
#include "common/json.h"
#include "common/json_read.h"

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

namespace {
/// Ids are this minus the microseconds since the epoch (16 digits, zero-padded), then random hex:
/// ascending id order is newest first, and two entries of one microsecond never collide.
constexpr int64_t kIdBase = 9'999'999'999'999'999;

std::string new_id(TimePoint at) {
  const int64_t micros = std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count();
  std::array<unsigned char, 4> random{};
  randombytes_buf(random.data(), random.size());
  return fmt::format("{:016d}-{:02x}{:02x}{:02x}{:02x}", kIdBase - micros, random[0], random[1], random[2], random[3]);
}

std::optional<AuditEntry> parse_entry(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(json.data(), json.size()).get(obj)) return std::nullopt;
  AuditEntry e;
  auto id = string_member(obj, "id");
  const auto at = string_member(obj, "at");
  auto action = string_member(obj, "action");
  if (!id || !at || !action) return std::nullopt;
  const auto parsed = parse_rfc3339(*at);
  if (!parsed) return std::nullopt;
  e.id = std::move(*id);
  e.at = *parsed;
  e.action = std::move(*action);
  e.actor = string_member(obj, "actor").value_or("");
  e.target = string_member(obj, "target").value_or("");
  e.address = string_member(obj, "address").value_or("");
  e.detail = string_member(obj, "detail").value_or("");
  return e;
}
}  // namespace

std::string request_actor(const HttpRequest& request) {
  if (request.find(http::field::authorization) != request.end()) return "admin token";
  const auto cookies = request.equal_range(http::field::cookie);
  for (auto it = cookies.first; it != cookies.second; ++it) {
    if (const auto id = cookie_value(to_std(it->value()), kSessionCookie)) {
      // A hash names the session without revealing the cookie (which would log the operator in).
      std::array<unsigned char, 4> hash{};
      crypto_generichash(hash.data(), hash.size(), reinterpret_cast<const unsigned char*>(id->data()), id->size(), nullptr, 0);
      return fmt::format("session {:02x}{:02x}{:02x}{:02x}", hash[0], hash[1], hash[2], hash[3]);
    }
  }
  return "anonymous";
}

std::string AuditEntry::to_json() const {
  JsonWriter w;
  w.begin_object().key("_id").value(id).key("id").value(id).key("at").value(format_rfc3339(at));
  w.key("actor").value(actor).key("action").value(action).key("target").value(target);
  w.key("address").value(address).key("detail").value(detail).end_object();
  return w.take();
}

AuditLog::AuditLog(Store& store, std::shared_ptr<const Clock> clock, AuditRetention retention, BigPeerMetrics* metrics)
    : store_(store), clock_(std::move(clock)), retention_(retention), metrics_(metrics) {}

void AuditLog::record(AuditEntry entry) {
  entry.at = clock_->now();
  entry.id = new_id(entry.at);
  // Bounded fields: a peer key, a request id, an address; detail is ours. Cut anyway.
  entry.target = entry.target.substr(0, 256);
  entry.detail = entry.detail.substr(0, 1024);
  try {
    store_.upsert(kAuditCollection, entry.to_json());
    if (metrics_ != nullptr) BigPeerMetrics::add(metrics_->audit_entries);
  } catch (const std::exception& e) {
    if (metrics_ != nullptr) BigPeerMetrics::add(metrics_->audit_write_failures);
    spdlog::error("audit: could not record {} by {} from {}: {}", entry.action, entry.actor, entry.address, e.what());
  }
  spdlog::info("audit: {} {} {} from {}{}", entry.actor, entry.action, entry.target, entry.address,
               entry.detail.empty() ? "" : " (" + entry.detail + ")");
}

void AuditLog::record(const ApiRequest& request, std::string action, std::string target, std::string detail) {
  std::string address = request.client_address.empty() ? std::string("unknown") : std::string(request.client_address);
  record(AuditEntry{
      {}, {}, request_actor(request.http), std::move(action), std::move(target), std::move(address), std::move(detail)});
}

AuditLog::Page AuditLog::list(size_t limit, const std::string& after) const {
  Page page;
  const auto stored = store_.list(kAuditCollection, limit, after);
  for (const auto& doc : stored.documents) {
    if (auto e = parse_entry(doc.json)) page.entries.push_back(std::move(*e));
  }
  page.next_after = stored.next_after;
  return page;
}

size_t AuditLog::prune() {
  const TimePoint oldest = clock_->now() - retention_.max_age;
  std::vector<std::string> doomed;
  size_t seen = 0;
  std::string after;
  for (;;) {
    const auto page = store_.list(kAuditCollection, 1000, after);
    for (const auto& doc : page.documents) {
      ++seen;
      // Newest first: past the count, or the first entry past the age, everything after goes too.
      if (seen > retention_.max_entries) {
        doomed.push_back(doc.id);
        continue;
      }
      if (const auto e = parse_entry(doc.json); !e || e->at < oldest) doomed.push_back(doc.id);
    }
    if (!page.next_after) break;
    after = *page.next_after;
  }
  size_t removed = 0;
  for (size_t i = 0; i < doomed.size(); i += 1000) {
    const std::vector<std::string> chunk(doomed.begin() + static_cast<std::ptrdiff_t>(i),
                                         doomed.begin() + static_cast<std::ptrdiff_t>(std::min(doomed.size(), i + 1000)));
    removed += store_.purge_system(kAuditCollection, chunk);
  }
  if (removed > 0) spdlog::info("audit: pruned {} entries beyond the retention", removed);
  return removed;
}

}  // namespace smallpeer::bigpeer
