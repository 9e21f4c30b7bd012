// A small peer's side of admin devices (docs/SYNC.md "Admin devices"): what it learned from its
// Big Peer (the admin signing key, its own grant, the revoked grant ids), kept in its store.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "admin/admin_grant.h"
#include "clock/clock.h"

namespace smallpeer {
class Store;
}

namespace smallpeer::admin {

/// What a small peer learned from its Big Peer about admin devices, kept in its store's settings
/// so it holds offline. Thread-safe.
class AdminTrust {
 public:
  /// Loads what `store` kept; `app_id` and `own_peer_key` are this peer's.
  AdminTrust(Store& store, std::string app_id, std::string own_peer_key);
  /// Takes the Big Peer's word (from a verified session only): its signing key (unless the app
  /// configured one, which stays), this device's grant (if any) and the revoked grant ids; persists
  /// them. Returns true when this device's admin standing changed.
  bool update(const SigningPublicKey& signing_key, std::optional<AdminGrant> grant, std::vector<std::string> revoked,
              TimePoint now);
  /// True while this device holds a grant for its own key that verifies with the kept signing key,
  /// has not expired at `now` and is not revoked.
  [[nodiscard]] bool is_admin(TimePoint now) const;
  /// This device's grant while is_admin(now), to present to LAN neighbours.
  [[nodiscard]] std::optional<AdminGrant> grant(TimePoint now) const;
  /// True if `grant`, presented on the LAN by the peer authenticated as `peer_key`, makes it an admin
  /// device: it names that key, verifies with the kept signing key for this app, has not expired at
  /// `now` and is not revoked. False while no signing key is kept.
  [[nodiscard]] bool accepts(const AdminGrant& grant, std::string_view peer_key, TimePoint now) const;
  /// True if the Big Peer listed `grant_id` as revoked.
  [[nodiscard]] bool is_revoked(std::string_view grant_id) const;
  /// The kept signing key, if any: the app's configured one, else the one its Big Peer sent.
  [[nodiscard]] std::optional<SigningPublicKey> signing_key() const;
  /// The app's own configuration of the signing key (persisted): grants are then checked against
  /// `key` only, whatever key a Big Peer sends; nullopt forgets it and the learned key too, so the
  /// next Big Peer session teaches the key again. Returns true when this device's admin standing
  /// changed.
  bool configure_signing_key(std::optional<SigningPublicKey> key, TimePoint now);
  /// True while the signing key comes from the app's configuration.
  [[nodiscard]] bool signing_key_configured() const;
  /// Calls `listener` (outside the lock) each time update() or configure_signing_key() changes the
  /// signing key in force; the sync engine renews its LAN links then. One listener; empty removes it.
  void set_on_signing_key_changed(std::function<void()> listener);

 private:
  [[nodiscard]] bool is_admin_locked(TimePoint now) const;
  // Runs `change` under the lock, then the key listener (outside it) if the key in force changed;
  // true if this device's admin standing changed. The one path for update() and configure_signing_key().
  bool change(TimePoint now, const std::function<void()>& change);
  // Everything but the expiry: `grant` names `peer_key`, is not revoked and verifies with the kept
  // signing key for this app. The one check behind is_admin() (this device) and accepts() (a neighbour).
  [[nodiscard]] bool vouches_locked(const AdminGrant& grant, std::string_view peer_key) const;

  Store& store_;
  std::string app_id_;
  std::string own_peer_key_;
  mutable std::mutex mutex_;
  std::optional<SigningPublicKey> signing_key_;
  bool configured_ = false;  // signing_key_ is the app's configured key
  std::optional<AdminGrant> grant_;
  std::set<std::string, std::less<>> revoked_;
  bool grant_valid_ = false;  // vouches_locked(grant_, own key), kept so the rules never verify a signature per document
  std::function<void()> on_signing_key_changed_;
};

}  // namespace smallpeer::admin
