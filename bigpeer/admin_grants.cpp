#include "bigpeer/admin_grants.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/base64.h"
#include "common/error.h"
#include "common/json.h"
#include "common/json_read.h"
#include "identity/identity.h"

namespace smallpeer::bigpeer {

namespace {
/// The store setting that holds the admin signing key's secret (base64url).
constexpr std::string_view kSigningKeySetting = "admin.signing_key.secret";
/// How long the cached grants serve the sessions' checks before they are read again.
constexpr std::chrono::seconds kCacheTtl{5};

std::optional<AdminGrantRecord> parse_record(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(json.data(), json.size()).get(obj)) return std::nullopt;
  AdminGrantRecord r;
  const auto id = string_member(obj, "_id");
  const auto key = string_member(obj, "peer_key");
  const auto signature = string_member(obj, "signature");
  const auto created = string_member(obj, "created_at");
  int64_t expires = 0;
  if (!id || !key || !signature || !created || obj["expires_at_ms"].get(expires)) return std::nullopt;
  const auto sig = base64url_decode_array<64>(*signature);
  const auto created_at = parse_rfc3339(*created);
  if (!sig || !created_at) return std::nullopt;
  r.grant.grant_id = *id;
  r.grant.peer_key = *key;
  r.grant.expires_at_ms = expires;
  r.grant.signature = *sig;
  r.label = string_member(obj, "label").value_or("");
  r.created_at = *created_at;
  r.created_by = string_member(obj, "created_by").value_or("");
  if (const auto revoked = string_member(obj, "revoked_at")) r.revoked_at = parse_rfc3339(*revoked);
  r.revoked_by = string_member(obj, "revoked_by").value_or("");
  return r;
}
}  // namespace

void AdminGrantRecord::write_members(JsonWriter& w, TimePoint now) const {
  w.key("grant_id").value(grant.grant_id).key("peer_key").value(grant.peer_key).key("label").value(label);
  w.key("state").value(revoked_at ? "revoked" : active(now) ? "active" : "expired");
  w.key("expires_at").value(format_rfc3339(expires_at()));
  w.key("created_at").value(format_rfc3339(created_at)).key("created_by").value(created_by);
  w.key("revoked_at").value_or_null(format_rfc3339(revoked_at));
  w.key("revoked_by").value_or_null(revoked_by.empty() ? std::nullopt : std::optional(revoked_by));
}

AdminGrants::AdminGrants(Store& store, std::string app_id, std::shared_ptr<const Clock> clock,
                         std::function<void(const std::string&)> changed)
    : store_(store), app_id_(std::move(app_id)), clock_(std::move(clock)), changed_(std::move(changed)) {
  // The first node to start makes the key. Two nodes starting together may both write one: the
  // last write stays, and every node reads the key again at each refresh (devices take the key
  // their Big Peer sends over a verified session, so a grant signed meanwhile is re-sent signed).
  if (!store_.setting(kSigningKeySetting)) {
    store_.set_settings({{std::string(kSigningKeySetting), admin::SigningKey::generate().to_secret_text()}});
    spdlog::info("admin devices: made the admin signing key");
  }
  std::lock_guard lock(mutex_);
  load_locked();
}

void AdminGrants::load_locked() const {
  const auto secret = store_.setting(kSigningKeySetting);
  auto key = secret ? admin::SigningKey::from_secret_text(*secret) : std::nullopt;
  if (!key) {
    throw Error(ErrorCode::store, fmt::format("the admin signing key in setting {} is missing or damaged", kSigningKeySetting));
  }
  std::vector<AdminGrantRecord> grants;
  Page page;
  do {
    page = store_.list(kAdminGrantsCollection, kMaxAdminGrants, page.next_after.value_or(""));
    for (const auto& doc : page.documents) {
      if (auto record = parse_record(doc.json)) grants.push_back(std::move(*record));
    }
  } while (page.next_after);
  std::sort(grants.begin(), grants.end(), [](const auto& a, const auto& b) { return a.created_at > b.created_at; });
  key_ = key;
  grants_ = std::move(grants);
  index_locked();
  loaded_at_ = std::chrono::steady_clock::now();
}

void AdminGrants::index_locked() const {
  active_until_.clear();
  for (const auto& g : grants_) {
    if (!g.revoked_at) active_until_[g.grant.peer_key] = std::max(active_until_[g.grant.peer_key], g.expires_at());
  }
}

void AdminGrants::refresh() {
  const TimePoint now = clock_->now();
  std::vector<std::string> expired;
  {
    std::lock_guard lock(mutex_);
    load_locked();
    for (const auto& g : grants_) {
      if (g.expires_at() <= now) expired.push_back(g.grant.grant_id);
    }
    if (expired.empty()) return;
    std::erase_if(grants_, [&](const auto& g) { return g.expires_at() <= now; });
    index_locked();
  }
  store_.purge_system(kAdminGrantsCollection, expired);
}

void AdminGrants::refresh_if_stale() const {
  std::lock_guard lock(mutex_);
  if (std::chrono::steady_clock::now() - loaded_at_ < kCacheTtl) return;
  try {
    load_locked();
  } catch (const std::exception& e) {
    // The store is away: the grants just read stay in force until it answers again.
    spdlog::debug("admin devices: cannot re-read the grants now: {}", e.what());
    loaded_at_ = std::chrono::steady_clock::now();
  }
}

void AdminGrants::save(const AdminGrantRecord& r) {
  JsonWriter w;
  w.begin_object().key("_id").value(r.grant.grant_id).key("peer_key").value(r.grant.peer_key).key("label").value(r.label);
  w.key("expires_at_ms").value(r.grant.expires_at_ms);
  w.key("signature").value(base64url_encode(r.grant.signature));
  w.key("created_at").value(format_rfc3339(r.created_at)).key("created_by").value(r.created_by);
  w.key("revoked_at").value_or_null(format_rfc3339(r.revoked_at));
  w.key("revoked_by").value_or_null(r.revoked_by.empty() ? std::nullopt : std::optional(r.revoked_by));
  w.end_object();
  store_.upsert(kAdminGrantsCollection, w.take());
}

AdminGrantRecord AdminGrants::create(const std::string& peer_key, TimePoint expires_at, std::string label,
                                     const std::string& by) {
  if (!PeerIdentity::is_valid_peer_key(peer_key)) {
    throw Error(ErrorCode::invalid_argument, "peer_key must be a peer key (pk followed by 43 base64url characters)");
  }
  const TimePoint now = clock_->now();
  if (expires_at <= now) throw Error(ErrorCode::invalid_argument, "expires_at must be in the future");
  if (expires_at > now + kMaxAdminGrantLifetime) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("expires_at must be within {} days from now", kMaxAdminGrantLifetime.count() / 24));
  }
  if (label.size() > kMaxAdminGrantLabelBytes) {
    throw Error(ErrorCode::invalid_argument, fmt::format("label must be at most {} bytes", kMaxAdminGrantLabelBytes));
  }
  AdminGrantRecord record;
  {
    std::lock_guard lock(mutex_);
    load_locked();  // another node may have granted meanwhile
    std::erase_if(grants_, [&](const auto& g) { return g.expires_at() <= now; });
    for (const auto& g : grants_) {
      if (g.grant.peer_key == peer_key && g.active(now)) {
        throw Error(ErrorCode::validation,
                    fmt::format("peer key {} already holds active admin grant {}; revoke it first", peer_key, g.grant.grant_id));
      }
    }
    if (grants_.size() >= kMaxAdminGrants) {
      throw Error(ErrorCode::validation, fmt::format("{} admin grants are kept already (at most {}); revoke or let some expire",
                                                     grants_.size(), kMaxAdminGrants));
    }
    record.grant = key_->sign(app_id_, admin::new_grant_id(), peer_key, to_unix_millis(expires_at));
    record.label = std::move(label);
    record.created_at = now;
    record.created_by = by;
    save(record);
    grants_.insert(grants_.begin(), record);
    index_locked();
  }
  if (changed_) changed_(peer_key);
  return record;
}

std::optional<AdminGrantRecord> AdminGrants::revoke(const std::string& grant_id, const std::string& by) {
  AdminGrantRecord record;
  {
    std::lock_guard lock(mutex_);
    load_locked();
    const auto it = std::find_if(grants_.begin(), grants_.end(), [&](const auto& g) { return g.grant.grant_id == grant_id; });
    if (it == grants_.end()) return std::nullopt;
    if (it->revoked_at) return *it;
    it->revoked_at = clock_->now();
    it->revoked_by = by;
    save(*it);
    record = *it;
    index_locked();
  }
  if (changed_) changed_(record.grant.peer_key);
  return record;
}

std::vector<AdminGrantRecord> AdminGrants::list() const {
  std::lock_guard lock(mutex_);
  load_locked();
  return grants_;
}

std::optional<int64_t> AdminGrants::active_until(const std::string& peer_key) const {
  refresh_if_stale();
  const TimePoint now = clock_->now();
  std::lock_guard lock(mutex_);
  const auto it = active_until_.find(peer_key);
  if (it == active_until_.end() || it->second <= now) return std::nullopt;
  return to_unix_millis(it->second);
}

sync::AdminState AdminGrants::state_for(const std::string& peer_key) const {
  refresh_if_stale();
  const TimePoint now = clock_->now();
  std::lock_guard lock(mutex_);
  sync::AdminState state;
  state.signing_key = key_->public_key();
  for (const auto& g : grants_) {
    if (g.revoked_at && g.expires_at() > now && state.revoked.size() < admin::kMaxRevokedGrants) {
      state.revoked.push_back(g.grant.grant_id);
    }
    if (g.grant.peer_key == peer_key && g.active(now)) state.grant = g.grant;
  }
  return state;
}

admin::SigningPublicKey AdminGrants::signing_key() const {
  std::lock_guard lock(mutex_);
  return key_->public_key();
}

}  // namespace smallpeer::bigpeer
