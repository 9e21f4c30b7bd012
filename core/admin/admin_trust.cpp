#include "admin/admin_trust.h"

#include "store/store.h"

namespace smallpeer::admin {

namespace {
constexpr std::string_view kSigningKeySetting = "admin.signing_key";
constexpr std::string_view kConfiguredKeySetting = "admin.signing_key.configured";
constexpr std::string_view kGrantSetting = "admin.grant";
constexpr std::string_view kRevokedSetting = "admin.revoked";
}  // namespace

AdminTrust::AdminTrust(Store& store, std::string app_id, std::string own_peer_key)
    : store_(store), app_id_(std::move(app_id)), own_peer_key_(std::move(own_peer_key)) {
  if (const auto key = store_.setting(kConfiguredKeySetting); key && !key->empty()) {
    signing_key_ = parse_signing_key(*key);
    configured_ = signing_key_.has_value();
  } else if (const auto learned = store_.setting(kSigningKeySetting)) {
    signing_key_ = parse_signing_key(*learned);
  }
  if (const auto grant = store_.setting(kGrantSetting); grant && !grant->empty()) grant_ = AdminGrant::from_text(*grant);
  if (const auto revoked = store_.setting(kRevokedSetting)) {
    std::string_view rest = *revoked;
    while (!rest.empty()) {
      const auto nl = rest.find('\n');
      const std::string_view id = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      if (is_valid_grant_id(id)) revoked_.emplace(id);
    }
  }
  grant_valid_ = grant_ && vouches_locked(*grant_, own_peer_key_);
}

bool AdminTrust::vouches_locked(const AdminGrant& grant, std::string_view peer_key) const {
  return signing_key_ && grant.peer_key == peer_key && !revoked_.contains(grant.grant_id) &&
         grant.verifies(app_id_, *signing_key_);
}

bool AdminTrust::change(TimePoint now, const std::function<void()>& change) {
  std::function<void()> key_changed;
  bool standing_changed = false;
  {
    std::lock_guard lock(mutex_);
    const bool before = is_admin_locked(now);
    const auto key_before = signing_key_;
    change();
    grant_valid_ = grant_ && vouches_locked(*grant_, own_peer_key_);
    standing_changed = before != is_admin_locked(now);
    if (signing_key_ != key_before) key_changed = on_signing_key_changed_;
  }
  if (key_changed) key_changed();
  return standing_changed;
}

bool AdminTrust::update(const SigningPublicKey& signing_key, std::optional<AdminGrant> grant, std::vector<std::string> revoked,
                        TimePoint now) {
  return change(now, [&] {
    std::set<std::string, std::less<>> revoked_set;
    std::string revoked_text;
    for (auto& id : revoked) {
      if (!is_valid_grant_id(id) || revoked_set.size() >= kMaxRevokedGrants) continue;
      revoked_text += id + "\n";
      revoked_set.insert(std::move(id));
    }
    store_.set_settings({{std::string(kSigningKeySetting), signing_key_text(signing_key)},
                         {std::string(kGrantSetting), grant ? grant->to_text() : std::string()},
                         {std::string(kRevokedSetting), revoked_text}});
    if (!configured_) signing_key_ = signing_key;
    grant_ = std::move(grant);
    revoked_ = std::move(revoked_set);
  });
}

bool AdminTrust::configure_signing_key(std::optional<SigningPublicKey> key, TimePoint now) {
  return change(now, [&] {
    if (key) {
      store_.set_settings({{std::string(kConfiguredKeySetting), signing_key_text(*key)}});
    } else {
      store_.set_settings(
          {{std::string(kConfiguredKeySetting), std::string()}, {std::string(kSigningKeySetting), std::string()}});
    }
    signing_key_ = key;
    configured_ = key.has_value();
  });
}

void AdminTrust::set_on_signing_key_changed(std::function<void()> listener) {
  std::lock_guard lock(mutex_);
  on_signing_key_changed_ = std::move(listener);
}

bool AdminTrust::signing_key_configured() const {
  std::lock_guard lock(mutex_);
  return configured_;
}

bool AdminTrust::is_admin(TimePoint now) const {
  std::lock_guard lock(mutex_);
  return is_admin_locked(now);
}

bool AdminTrust::is_admin_locked(TimePoint now) const {
  return grant_valid_ && grant_->expires_at_ms > to_unix_millis(now);
}

std::optional<AdminGrant> AdminTrust::grant(TimePoint now) const {
  std::lock_guard lock(mutex_);
  return is_admin_locked(now) ? grant_ : std::nullopt;
}

bool AdminTrust::accepts(const AdminGrant& grant, std::string_view peer_key, TimePoint now) const {
  std::lock_guard lock(mutex_);
  return grant.expires_at_ms > to_unix_millis(now) && vouches_locked(grant, peer_key);
}

bool AdminTrust::is_revoked(std::string_view grant_id) const {
  std::lock_guard lock(mutex_);
  return revoked_.contains(grant_id);
}

std::optional<SigningPublicKey> AdminTrust::signing_key() const {
  std::lock_guard lock(mutex_);
  return signing_key_;
}

}  // namespace smallpeer::admin
