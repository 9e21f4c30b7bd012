#include "bigpeer/enrollments.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/json.h"
#include "common/json_read.h"

namespace smallpeer::bigpeer {

namespace {
/// A handshake refreshes a key's activity when the stored one is older than this (or moved).
constexpr std::chrono::seconds kActivityRefresh{60};
/// How long the per-state counts (metrics, the pending cap) are reused.
constexpr std::chrono::seconds kCountsTtl{10};

struct Activity {
  std::optional<TimePoint> last_seen;
  std::string address, device_name;
};

std::optional<Enrollment> parse_enrollment(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(json.data(), json.size()).get(obj)) return std::nullopt;
  Enrollment e;
  const auto key = string_member(obj, "peer_key");
  const auto state = string_member(obj, "state");
  const auto first = string_member(obj, "first_seen");
  if (!key || !state || !first) return std::nullopt;
  const auto parsed = parse_enrollment_state(*state);
  const auto first_seen = parse_rfc3339(*first);
  if (!parsed || !first_seen) return std::nullopt;
  e.peer_key = *key;
  e.state = *parsed;
  e.first_seen = *first_seen;
  e.first_address = string_member(obj, "first_address").value_or("");
  if (const auto changed = string_member(obj, "changed_at")) e.changed_at = parse_rfc3339(*changed);
  e.changed_by = string_member(obj, "changed_by").value_or("");
  return e;
}

Activity parse_activity(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object obj;
  Activity a;
  if (parser.parse(json.data(), json.size()).get(obj)) return a;
  if (const auto seen = string_member(obj, "last_seen")) a.last_seen = parse_rfc3339(*seen);
  a.address = string_member(obj, "address").value_or("");
  a.device_name = string_member(obj, "device_name").value_or("");
  return a;
}

std::string activity_json(const std::string& peer_key, TimePoint seen, const std::string& address, const std::string& name) {
  JsonWriter w;
  w.begin_object().key("_id").value(peer_key).key("last_seen").value(format_rfc3339(seen));
  w.key("address").value(address).key("device_name").value(name.substr(0, 256)).end_object();
  return w.take();
}

// The record with its activity merged in.
void merge_activity(const Store& store, Enrollment& e) {
  if (const auto doc = store.get(kDeviceActivityCollection, e.peer_key)) {
    auto a = parse_activity(doc->json);
    e.last_seen = a.last_seen;
    e.last_address = std::move(a.address);
    e.device_name = std::move(a.device_name);
  }
}
}  // namespace

std::string_view to_string(EnrollmentState state) {
  switch (state) {
    case EnrollmentState::approved:
      return "approved";
    case EnrollmentState::pending:
      return "pending";
    case EnrollmentState::revoked:
      return "revoked";
  }
  return "approved";
}

std::optional<EnrollmentState> parse_enrollment_state(std::string_view text) {
  for (auto s : {EnrollmentState::approved, EnrollmentState::pending, EnrollmentState::revoked}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

std::string Enrollment::to_json() const {
  JsonWriter w;
  w.begin_object().key("peer_key").value(peer_key).key("state").value(to_string(state));
  w.key("first_seen").value(format_rfc3339(first_seen)).key("first_address").value(first_address);
  w.key("last_seen").value_or_null(format_rfc3339(last_seen));
  w.key("last_address").value_or_null(last_address.empty() ? std::nullopt : std::optional(last_address));
  w.key("device_name").value_or_null(device_name.empty() ? std::nullopt : std::optional(device_name));
  w.key("changed_at").value_or_null(format_rfc3339(changed_at));
  w.key("changed_by").value_or_null(changed_by.empty() ? std::nullopt : std::optional(changed_by));
  w.end_object();
  return w.take();
}

Enrollments::Enrollments(Store& store, std::shared_ptr<const Clock> clock, EnrollmentOptions options,
                         std::function<void(const std::string&)> changed)
    : store_(store), clock_(std::move(clock)), options_(options), changed_(std::move(changed)) {}

void Enrollments::save(const Enrollment& e) {
  JsonWriter w;
  w.begin_object().key("_id").value(e.peer_key).key("peer_key").value(e.peer_key).key("state").value(to_string(e.state));
  w.key("first_seen").value(format_rfc3339(e.first_seen)).key("first_address").value(e.first_address);
  w.key("changed_at").value_or_null(format_rfc3339(e.changed_at));
  w.key("changed_by").value_or_null(e.changed_by.empty() ? std::nullopt : std::optional(e.changed_by));
  w.end_object();
  store_.upsert(kEnrollmentsCollection, w.take());
}

std::optional<std::string> Enrollments::admit(const std::string& peer_key, const std::string& device_name,
                                              const std::string& address) {
  const TimePoint now = clock_->now();
  std::optional<Enrollment> record;
  if (const auto doc = store_.get(kEnrollmentsCollection, peer_key)) record = parse_enrollment(doc->json);
  if (!record) {
    Enrollment e;
    e.peer_key = peer_key;
    e.state = options_.approval_required ? EnrollmentState::pending : EnrollmentState::approved;
    e.first_seen = now;
    e.first_address = address;
    // A token holder can make up keys: with approval required, the queue it could fill is capped,
    // and a key over the cap is refused without being recorded.
    if (e.state == EnrollmentState::pending && pending_count() >= options_.max_pending) {
      return fmt::format(
          "device not enrolled: {} devices already wait for the operator's approval on this Big Peer; "
          "ask the operator to approve or revoke them",
          options_.max_pending);
    }
    save(e);
    if (e.state == EnrollmentState::pending) {
      std::lock_guard lock(mutex_);
      for (auto& [state, count] : counts_) {
        if (state == "pending") ++count;
      }
    }
    spdlog::info("enrollment: registered {} ({}) from {} as {}", peer_key, device_name, address, to_string(e.state));
    record = std::move(e);
  }
  // Activity goes to its own document, so this write can never undo the operator's change of state.
  const auto stored = store_.get(kDeviceActivityCollection, peer_key);
  const Activity activity = stored ? parse_activity(stored->json) : Activity{};
  if (!activity.last_seen || now - *activity.last_seen >= kActivityRefresh || activity.address != address ||
      activity.device_name != device_name.substr(0, 256)) {
    store_.upsert(kDeviceActivityCollection, activity_json(peer_key, now, address, device_name));
  }
  switch (record->state) {
    case EnrollmentState::approved:
      return std::nullopt;
    case EnrollmentState::pending:
      return fmt::format("device not yet approved: peer key {} waits for the Big Peer operator's approval", peer_key);
    case EnrollmentState::revoked:
      return fmt::format("device revoked: the Big Peer operator revoked peer key {}", peer_key);
  }
  return std::nullopt;
}

bool Enrollments::allowed(const std::string& peer_key) const {
  const auto doc = store_.get(kEnrollmentsCollection, peer_key);
  if (!doc) return true;
  const auto e = parse_enrollment(doc->json);
  return !e || e->state == EnrollmentState::approved;
}

std::optional<Enrollment> Enrollments::get(const std::string& peer_key) const {
  const auto doc = store_.get(kEnrollmentsCollection, peer_key);
  if (!doc) return std::nullopt;
  auto e = parse_enrollment(doc->json);
  if (e) merge_activity(store_, *e);
  return e;
}

Enrollments::Page Enrollments::list(std::optional<EnrollmentState> state, size_t limit, const std::string& after) const {
  Page page;
  std::string cursor = after;
  while (page.enrollments.size() < limit) {
    const auto stored = store_.list(kEnrollmentsCollection, limit - page.enrollments.size(), cursor);
    for (const auto& doc : stored.documents) {
      cursor = doc.id;
      auto e = parse_enrollment(doc.json);
      if (!e || (state && e->state != *state)) continue;
      merge_activity(store_, *e);
      page.enrollments.push_back(std::move(*e));
    }
    if (!stored.next_after) return page;
  }
  page.next_after = cursor;
  return page;
}

uint64_t Enrollments::move_records(Store& from, Store& to) {
  constexpr size_t kPage = 1000;
  uint64_t moved = 0;
  for (const std::string_view collection : {kEnrollmentsCollection, kDeviceActivityCollection}) {
    // Each page is written (as local writes: a version stamped far ahead, as stores poisoned
    // before clocks were bounded have, could make a merge skip a record) and then deleted, so the
    // next list starts at what is left. A record `to` already has stays as it is: written by this
    // move before a crash, or since (a revocation made after the move must not be undone by a
    // record an older Big Peer wrote into `from` meanwhile).
    for (smallpeer::Page page = from.list(collection, kPage); !page.documents.empty(); page = from.list(collection, kPage)) {
      std::vector<std::string> ids;
      ids.reserve(page.documents.size());
      for (const auto& doc : page.documents) {
        if (!to.get(collection, doc.id, true)) {
          to.upsert(collection, doc.json);
          ++moved;
        }
        ids.push_back(doc.id);
      }
      if (from.purge_system(collection, ids) == 0) {
        throw Error(ErrorCode::store, fmt::format("none of {} left the main store (the first: {})", collection, ids.front()));
      }
    }
  }
  return moved;
}

std::optional<std::pair<EnrollmentState, Enrollment>> Enrollments::set_state(const std::string& peer_key, EnrollmentState state,
                                                                             const std::string& by) {
  const auto doc = store_.get(kEnrollmentsCollection, peer_key);
  if (!doc) return std::nullopt;
  auto e = parse_enrollment(doc->json);
  if (!e) return std::nullopt;
  const EnrollmentState before = e->state;
  e->state = state;
  e->changed_at = clock_->now();
  e->changed_by = by;
  save(*e);
  {
    std::lock_guard lock(mutex_);
    counted_at_ = {};  // recount at the next scrape
  }
  spdlog::info("enrollment: {} set {} from {} to {}", by, peer_key, to_string(before), to_string(state));
  if (before != state && changed_) changed_(peer_key);
  merge_activity(store_, *e);
  return std::pair{before, std::move(*e)};
}

std::vector<std::pair<std::string, uint64_t>> Enrollments::counts() const {
  {
    std::lock_guard lock(mutex_);
    if (counted_at_ != std::chrono::steady_clock::time_point{} && std::chrono::steady_clock::now() - counted_at_ < kCountsTtl) {
      return counts_;
    }
  }
  uint64_t approved = 0, pending = 0, revoked = 0;
  std::string after;
  for (;;) {
    const auto page = store_.list(kEnrollmentsCollection, 1000, after);
    for (const auto& doc : page.documents) {
      const auto e = parse_enrollment(doc.json);
      if (!e) continue;
      (e->state == EnrollmentState::approved ? approved : e->state == EnrollmentState::pending ? pending : revoked) += 1;
    }
    if (!page.next_after) break;
    after = *page.next_after;
  }
  std::lock_guard lock(mutex_);
  counts_ = {{"approved", approved}, {"pending", pending}, {"revoked", revoked}};
  counted_at_ = std::chrono::steady_clock::now();
  return counts_;
}

size_t Enrollments::pending_count() const {
  for (const auto& [state, count] : counts()) {
    if (state == "pending") return count;
  }
  return 0;
}

}  // namespace smallpeer::bigpeer
