#include "bigpeer/log_requests.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "bigpeer/database_health.h"
#include "common/error.h"
#include "common/json.h"
#include "common/json_read.h"

namespace smallpeer::bigpeer {

namespace {
constexpr std::string_view kStates[] = {"pending", "delivered", "uploading", "ready", "failed", "expired"};
// Progress is saved at most this often while chunks stream in (and always at the end).
constexpr auto kProgressSaveInterval = std::chrono::milliseconds(250);

std::optional<LogRequestState> parse_state(std::string_view name) {
  for (size_t i = 0; i < std::size(kStates); ++i) {
    if (kStates[i] == name) return static_cast<LogRequestState>(i);
  }
  return std::nullopt;
}

std::string new_request_id() {
  std::array<unsigned char, 12> random{};
  randombytes_buf(random.data(), random.size());
  std::string id = "lr_";
  for (unsigned char b : random) id += fmt::format("{:02x}", b);
  return id;
}

// A file name part: letters, digits, '-' and '_' only, at most 48 characters.
std::string file_name_part(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (out.size() == 48) break;
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    out.push_back(keep ? c : '-');
  }
  return out.empty() ? std::string("device") : out;
}
}  // namespace

std::string_view to_string(LogRequestState state) {
  return kStates[static_cast<size_t>(state)];
}

bool is_terminal(LogRequestState state) {
  return state == LogRequestState::ready || state == LogRequestState::failed || state == LogRequestState::expired;
}

std::string LogRequestRecord::to_json() const {
  JsonWriter w;
  w.begin_object().key("_id").value(id).key("id").value(id).key("peer_key").value(peer_key);
  w.key("device_name").value(device_name).key("state").value(to_string(state));
  w.key("requested_by").value(requested_by).key("requested_at").value(format_rfc3339(requested_at));
  w.key("expires_at").value(format_rfc3339(expires_at));
  w.key("delivered_at").value_or_null(format_rfc3339(delivered_at));
  w.key("completed_at").value_or_null(format_rfc3339(completed_at));
  w.key("min_level").value(smallpeer::to_string(filter.min_level));
  w.key("since").value_or_null(format_rfc3339(filter.since));
  w.key("until").value_or_null(format_rfc3339(filter.until));
  w.key("max_bytes").value_or_null(filter.max_bytes);
  w.key("bytes_received").value(bytes_received).key("bytes_total").value_or_null(bytes_total);
  w.key("reason");
  if (reason.empty()) {
    w.null();
  } else {
    w.value(reason);
  }
  w.key("download_url");
  if (state == LogRequestState::ready) {
    w.value(fmt::format("/api/v1/log-requests/{}/download", id));
  } else {
    w.null();
  }
  w.end_object();
  return w.take();
}

std::optional<LogRequestRecord> LogRequestRecord::from_json(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(json.data(), json.size()).get(obj)) return std::nullopt;
  LogRequestRecord r;
  auto id = string_member(obj, "id");
  auto peer_key = string_member(obj, "peer_key");
  const auto state = string_member(obj, "state");
  const auto requested_at = string_member(obj, "requested_at");
  const auto expires_at = string_member(obj, "expires_at");
  if (!id || !peer_key || !state || !requested_at || !expires_at) return std::nullopt;
  r.id = std::move(*id);
  r.peer_key = std::move(*peer_key);
  r.device_name = string_member(obj, "device_name").value_or("");
  r.requested_by = string_member(obj, "requested_by").value_or("");
  r.reason = string_member(obj, "reason").value_or("");
  const auto parsed_state = parse_state(*state);
  const auto req = parse_rfc3339(*requested_at);
  const auto exp = parse_rfc3339(*expires_at);
  if (!parsed_state || !req || !exp) return std::nullopt;
  r.state = *parsed_state;
  r.requested_at = *req;
  r.expires_at = *exp;
  if (const auto at = string_member(obj, "delivered_at")) r.delivered_at = parse_rfc3339(*at);
  if (const auto at = string_member(obj, "completed_at")) r.completed_at = parse_rfc3339(*at);
  // The filter's fields are read by the filter's own parser; a document that breaks its rules is not one we wrote.
  try {
    for (auto field : obj) read_log_filter_field(r.filter, field.key, field.value);
    r.filter.validate();
  } catch (const Error&) {
    return std::nullopt;
  }
  uint64_t n = 0;
  if (!obj["bytes_received"].get(n)) r.bytes_received = n;
  if (!obj["bytes_total"].get(n)) r.bytes_total = n;
  return r;
}

std::string LogRequestRecord::file_name() const {
  const auto stamp = format_rfc3339(completed_at.value_or(requested_at));  // 2026-11-26T21:15:38.123Z
  std::string compact;
  for (char c : stamp.substr(0, 19)) {
    if (c != '-' && c != ':') compact.push_back(c);
  }
  return fmt::format("{}_{}_{}Z.jsonl.gz", file_name_part(device_name), file_name_part(peer_key.substr(0, 12)), compact);
}

LogRequests::LogRequests(Store& store, std::unique_ptr<LogBundleStore> bundles, const ConnectionRegistry& registry,
                         std::shared_ptr<const Clock> clock, std::function<void(const std::string& id)> on_saved)
    : store_(store), bundles_(std::move(bundles)), on_saved_(std::move(on_saved)), registry_(registry), clock_(std::move(clock)) {
  for (std::string after;;) {
    auto page = store_.list(kLogRequestsCollection, 1000, after);
    for (const auto& doc : page.documents) {
      auto record = LogRequestRecord::from_json(doc.json);
      if (!record) {
        spdlog::warn("logs: ignoring malformed log request document {}", doc.id);
        continue;
      }
      // An upload in progress before a restart continues from the bytes stored.
      if (!is_terminal(record->state)) record->bytes_received = bundles_->size(record->id);
      const std::string id = record->id;  // the right-hand side below is evaluated (and moves) first
      entries_[id] = Entry{std::move(*record)};
    }
    if (!page.next_after) break;
    after = *page.next_after;
  }
}

std::string LogRequests::read_bundle(const std::string& id) const {
  return bundles_->read(id);
}

void LogRequests::save(Entry& entry) {
  store_.upsert(kLogRequestsCollection, entry.record.to_json());
  entry.saved_progress_at = std::chrono::steady_clock::now();
  if (on_saved_) {
    try {
      on_saved_(entry.record.id);
    } catch (const std::exception& e) {
      spdlog::warn("logs: telling the other nodes about request {} failed: {}", entry.record.id, e.what());
    }
  }
}

void LogRequests::refresh(const std::string& id) {
  const auto doc = store_.get(kLogRequestsCollection, id);
  if (!doc) return;
  if (auto record = LogRequestRecord::from_json(doc->json)) apply(std::move(*record));
}

void LogRequests::refresh_all() {
  for (std::string after;;) {
    auto page = store_.list(kLogRequestsCollection, 1000, after);
    for (const auto& doc : page.documents) {
      if (auto record = LogRequestRecord::from_json(doc.json)) apply(std::move(*record));
    }
    if (!page.next_after) break;
    after = *page.next_after;
  }
}

void LogRequests::apply(LogRequestRecord record) {
  std::shared_ptr<sync::Session> session = registry_.session_of(record.peer_key);
  std::lock_guard lock(mutex_);
  const std::string id = record.id;
  auto& entry = entries_[id];
  // Both uploading: the node receiving the upload saves its progress every few seconds and
  // announces it, so take the announced record unless this node holds more bytes (it is the one
  // receiving, and the announcement is an older save).
  if (entry.record.state == LogRequestState::uploading && record.state == LogRequestState::uploading &&
      entry.record.bytes_received >= record.bytes_received) {
    return;
  }
  entry.record = std::move(record);
  // Created on another node for a peer connected here: this node pushes it.
  if (session && entry.record.state == LogRequestState::pending) deliver(*session, entry);
}

sync::LogRequest LogRequests::request_frame(const Entry& entry) {
  sync::LogRequest q;
  q.request_id = entry.record.id;
  q.filter = entry.record.filter;
  q.resume_offset = entry.record.bytes_received;
  return q;
}

bool LogRequests::deliver(sync::Session& session, Entry& entry) {
  if (!session.send_frame(request_frame(entry))) return false;
  entry.resume_asked_at = entry.record.bytes_received;
  if (entry.record.state == LogRequestState::pending) {
    entry.record.state = LogRequestState::delivered;
    entry.record.delivered_at = clock_->now();
    save(entry);
  }
  spdlog::info("logs: request {} sent to {} (from byte {})", entry.record.id, entry.record.peer_key, entry.record.bytes_received);
  return true;
}

void LogRequests::finish(Entry& entry, LogRequestState state, std::string reason) {
  entry.record.state = state;
  entry.record.reason = std::move(reason);
  entry.record.completed_at = clock_->now();
  save(entry);
  spdlog::info("logs: request {} is {}{}{}", entry.record.id, to_string(state), entry.record.reason.empty() ? "" : ": ",
               entry.record.reason);
}

LogRequestRecord LogRequests::create(const std::string& peer_key, const std::string& device_name, LogFilter filter,
                                     std::chrono::seconds ttl, std::string requested_by) {
  filter.validate();  // nothing is created for a filter that breaks its rules
  std::shared_ptr<sync::Session> session = registry_.session_of(peer_key);
  std::lock_guard lock(mutex_);
  Entry entry;
  entry.record.id = new_request_id();
  entry.record.peer_key = peer_key;
  entry.record.device_name = device_name;
  entry.record.requested_by = std::move(requested_by);
  entry.record.requested_at = clock_->now();
  entry.record.expires_at = entry.record.requested_at + ttl;
  entry.record.filter = filter;
  // With its device connected here, the request is saved once, already delivered, and then sent:
  // one store write instead of two, each of which may wait behind a group commit under load. A
  // frame that never reaches the device loses nothing: on_established delivers every open request
  // again when the device next connects; only a session that ended meanwhile puts it back to pending.
  if (session) {
    entry.record.state = LogRequestState::delivered;
    entry.record.delivered_at = entry.record.requested_at;
  }
  save(entry);
  const std::string id = entry.record.id;
  auto& stored = entries_[id] = std::move(entry);
  if (session && !deliver(*session, stored)) {
    stored.record.state = LogRequestState::pending;
    stored.record.delivered_at.reset();
    save(stored);
  }
  return stored.record;
}

std::optional<LogRequestRecord> LogRequests::get(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.record;
}

std::vector<LogRequestRecord> LogRequests::for_peer(const std::string& peer_key) const {
  std::vector<LogRequestRecord> out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, entry] : entries_) {
      if (entry.record.peer_key == peer_key) out.push_back(entry.record);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.requested_at != b.requested_at ? a.requested_at > b.requested_at : a.id > b.id;
  });
  return out;
}

void LogRequests::set_device_quota(DeviceBundleQuota quota) {
  std::lock_guard lock(mutex_);
  quota_ = quota;
}

uint64_t LogRequests::quota_refusals() const {
  return quota_refusals_.load(std::memory_order_relaxed);
}

std::string LogRequests::quota_refusal(const std::string& peer_key, uint64_t bytes) const {
  // From the store, not entries_: another node sharing the database may have taken offers too.
  const TimePoint since = clock_->now() - kDeviceBundleQuotaWindow;
  uint64_t count = 0;
  uint64_t offered = 0;
  for (std::string after;;) {
    auto page = store_.list(kLogRequestsCollection, 1000, after);
    for (const auto& doc : page.documents) {
      const auto record = LogRequestRecord::from_json(doc.json);
      if (!record || record->peer_key != peer_key || record->requested_by != "device" || record->requested_at < since) continue;
      ++count;
      offered = std::min(offered + std::min(record->bytes_total.value_or(0), kMaxLogBundleBytes), UINT64_MAX / 2);
    }
    if (!page.next_after) break;
    after = *page.next_after;
  }
  const auto hours = std::chrono::duration_cast<std::chrono::hours>(kDeviceBundleQuotaWindow).count();
  if (count + 1 > quota_.count) {
    return fmt::format("log bundle quota exceeded: this device sent {} bundles in the last {} h (at most {})", count, hours,
                       quota_.count);
  }
  if (bytes > quota_.bytes || offered > quota_.bytes - bytes) {
    return fmt::format("log bundle quota exceeded: this device sent {} bytes in the last {} h, this bundle adds {} (at most {})",
                       offered, hours, bytes, quota_.bytes);
  }
  return {};
}

LogRequestCounts LogRequests::counts() const {
  LogRequestCounts out;
  for (size_t i = 0; i < std::size(kStates); ++i) out[static_cast<LogRequestState>(i)] = 0;
  std::lock_guard lock(mutex_);
  for (const auto& [id, entry] : entries_) ++out[entry.record.state];
  return out;
}

size_t LogRequests::expire_due() {
  const TimePoint now = clock_->now();
  size_t expired = 0;
  std::lock_guard lock(mutex_);
  for (auto& [id, entry] : entries_) {
    auto& r = entry.record;
    // Only requests nobody picked up expire; an upload under way is left to finish.
    if ((r.state == LogRequestState::pending || r.state == LogRequestState::delivered) && r.bytes_received == 0 &&
        now >= r.expires_at) {
      finish(entry, LogRequestState::expired,
             r.state == LogRequestState::pending ? "the device did not connect before the request expired"
                                                 : "the device did not start the upload before the request expired");
      ++expired;
    }
  }
  return expired;
}

void LogRequests::on_established(sync::Session& session, const std::string& peer_key) {
  std::lock_guard lock(mutex_);
  for (auto& [id, entry] : entries_) {
    if (entry.record.peer_key != peer_key || is_terminal(entry.record.state)) continue;
    // The upload may have started on another node (or before a restart): resume from what is stored.
    if (entry.record.state == LogRequestState::uploading) entry.record.bytes_received = bundles_->size(id);
    deliver(session, entry);
  }
}

void LogRequests::on_offer(sync::Session& session, const std::string& peer_key, const sync::LogOffer& offer) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(offer.request_id);
  if (it == entries_.end()) {
    if (!offer.device_initiated) {
      session.send_frame(sync::LogResult{offer.request_id, false, "this Big Peer has no such log request"});
      return;
    }
    if (auto reason = quota_refusal(peer_key, offer.total); !reason.empty()) {
      // Nothing is stored for a refused offer; the device drops the bundle and logs the reason.
      quota_refusals_.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("logs: {} offered log bundle {} ({} bytes): refused: {}", peer_key, offer.request_id, offer.total, reason);
      session.send_frame(sync::LogResult{offer.request_id, false, reason});
      return;
    }
    Entry entry;
    entry.record.id = offer.request_id;
    entry.record.peer_key = peer_key;
    if (const auto remote = session.remote()) entry.record.device_name = remote->device_name;
    entry.record.requested_by = "device";
    entry.record.requested_at = clock_->now();
    entry.record.expires_at = entry.record.requested_at + kDefaultLogRequestTtl;
    entry.record.bytes_total = offer.total;
    auto& stored = entries_[offer.request_id] = std::move(entry);  // offer outlives the move
    spdlog::info("logs: {} offers log bundle {} ({} bytes)", peer_key, offer.request_id, offer.total);
    deliver(session, stored);  // saves it as delivered
    return;
  }
  auto& entry = it->second;
  if (entry.record.peer_key != peer_key) {
    session.send_frame(sync::LogResult{offer.request_id, false, "this log request belongs to another device"});
  } else if (is_terminal(entry.record.state)) {
    // The device missed our result (it disconnected): tell it again so it drops its copy.
    session.send_frame(sync::LogResult{offer.request_id, entry.record.state == LogRequestState::ready, entry.record.reason});
  }
  // An unfinished one was sent again when the session was established.
}

void LogRequests::on_result(const std::string& peer_key, const sync::LogResult& result) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(result.request_id);
  if (it == entries_.end() || it->second.record.peer_key != peer_key || is_terminal(it->second.record.state)) return;
  if (!result.ok) finish(it->second, LogRequestState::failed, "the device could not build the bundle: " + result.reason);
}

void LogRequests::on_chunk(sync::Session& session, const std::string& peer_key, const sync::LogChunk& chunk) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(chunk.request_id);
  if (it == entries_.end() || it->second.record.peer_key != peer_key) {
    session.send_frame(sync::LogResult{chunk.request_id, false, "this Big Peer has no such log request for this device"});
    return;
  }
  auto& entry = it->second;
  auto& r = entry.record;
  if (is_terminal(r.state)) {
    session.send_frame(sync::LogResult{r.id, r.state == LogRequestState::ready, r.reason});
    return;
  }
  const auto refuse = [&](const std::string& reason) {
    bundles_->discard(r.id);
    finish(entry, LogRequestState::failed, reason);
    session.send_frame(sync::LogResult{r.id, false, reason});
  };
  if (chunk.total > kMaxLogBundleBytes) {
    return refuse(fmt::format("the bundle of {} bytes exceeds the limit of {} bytes", chunk.total, kMaxLogBundleBytes));
  }
  if (r.bytes_total && *r.bytes_total != chunk.total && r.bytes_received > 0) {
    return refuse(fmt::format("the bundle changed size during the upload ({} then {} bytes)", *r.bytes_total, chunk.total));
  }
  r.bytes_total = chunk.total;
  const uint64_t end = chunk.offset + chunk.data.size();
  if (chunk.offset > r.bytes_received) {
    // A gap (chunks lost with an earlier connection): ask once for the bytes from where we are.
    if (entry.resume_asked_at != r.bytes_received) deliver(session, entry);
    return;
  }
  if (end > r.bytes_received) {
    const size_t skip = static_cast<size_t>(r.bytes_received - chunk.offset);  // bytes we already have
    try {
      bundles_->append(r.id, r.bytes_received, std::string_view(chunk.data).substr(skip));
    } catch (const DatabaseUnavailable&) {
      throw;  // not the bundle's fault: the session closes and the upload resumes later
    } catch (const std::exception& e) {
      return refuse(e.what());
    }
    r.bytes_received = end;
  }
  const bool first = r.state != LogRequestState::uploading;
  r.state = LogRequestState::uploading;
  if (r.bytes_received < *r.bytes_total) {
    if (first || std::chrono::steady_clock::now() - entry.saved_progress_at >= kProgressSaveInterval) save(entry);
    return;
  }
  if (auto error = bundles_->check(r.id); !error.empty()) return refuse(error);
  try {
    bundles_->complete(r.id);
  } catch (const DatabaseUnavailable&) {
    throw;
  } catch (const std::exception& e) {
    return refuse(e.what());
  }
  finish(entry, LogRequestState::ready, "");
  session.send_frame(sync::LogResult{r.id, true, ""});
}

}  // namespace smallpeer::bigpeer
