// Admin devices (docs/SYNC.md "Admin devices"): the Big Peer's operator makes a small peer an admin
// device by granting it; the grant is signed with the Big Peer's admin signing key (Ed25519, not the
// Big Peer's peer identity) and delivered to the device over its sync session, together with the
// signing public key and the ids of revoked grants. A small peer is an admin device while it holds
// a grant for its own peer key that verifies with the signing key it keeps, has not expired and has
// not been revoked.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "clock/clock.h"

namespace smallpeer::admin {

/// On an admin device: the fleet's Small Peer Info documents, as received from the Big Peer. A
/// system collection: never sent to anyone, never written by the app.
inline constexpr std::string_view kFleetCollection = "__small_peer_info_fleet";
/// On an admin device: Small Peer Info documents received from field peers over the LAN, which it
/// carries to the Big Peer at its next session (each signed by its owner, spi/spi_signature.h).
inline constexpr std::string_view kCarriedCollection = "__small_peer_info_carried";
/// A grant id: "ag_" and 22 base64url characters (16 random bytes); at most this long on the wire.
inline constexpr size_t kMaxGrantIdBytes = 64;
/// At most this many revoked (unexpired) grant ids travel to a device; the Big Peer caps its
/// active and revoked grants below it.
inline constexpr size_t kMaxRevokedGrants = 1024;

/// The Big Peer's admin signing public key, raw.
using SigningPublicKey = std::array<unsigned char, 32>;
/// An Ed25519 signature.
using Signature = std::array<unsigned char, 64>;

/// One admin grant as signed: grant id, the device's peer key, the expiry (Unix ms), the signature.
struct AdminGrant {
  std::string grant_id;
  std::string peer_key;
  int64_t expires_at_ms = 0;
  Signature signature{};

  /// The bytes the signature covers: "smallpeer-admin-grant-v1\n" app id, grant id, peer key and
  /// expiry, each followed by a newline (the app id binds a grant to one app).
  [[nodiscard]] std::string signed_bytes(std::string_view app_id) const;
  /// True if the signature is `signing_key`'s over signed_bytes(app_id).
  [[nodiscard]] bool verifies(std::string_view app_id, const SigningPublicKey& signing_key) const;
  /// The grant as one line of text (for a setting): id, peer key, expiry, base64url signature.
  [[nodiscard]] std::string to_text() const;
  /// Parses to_text(); nullopt if malformed.
  static std::optional<AdminGrant> from_text(std::string_view text);
};

/// True for "ag_" followed by 1-61 base64url characters.
bool is_valid_grant_id(std::string_view id);
/// A new random grant id.
std::string new_grant_id();

/// The Big Peer's admin signing key pair. Its secret never leaves the Big Peer's store.
class SigningKey {
 public:
  /// A fresh random key pair.
  static SigningKey generate();
  /// The key pair from its to_secret_text() form; nullopt if malformed or inconsistent.
  static std::optional<SigningKey> from_secret_text(std::string_view text);
  /// The 64-byte secret key (seed and public key) as base64url, for the store.
  [[nodiscard]] std::string to_secret_text() const;
  /// The public key.
  [[nodiscard]] const SigningPublicKey& public_key() const { return public_; }
  /// Signs a grant of `peer_key` until `expires_at_ms` for app `app_id`.
  [[nodiscard]] AdminGrant sign(std::string_view app_id, std::string grant_id, std::string peer_key, int64_t expires_at_ms) const;

 private:
  SigningPublicKey public_{};
  std::array<unsigned char, 64> secret_{};
};

/// The signing public key as text ("ask" and base64url; distinct from a peer key's "pk").
std::string signing_key_text(const SigningPublicKey& key);
/// Parses signing_key_text(); nullopt if malformed.
std::optional<SigningPublicKey> parse_signing_key(std::string_view text);

}  // namespace smallpeer::admin
