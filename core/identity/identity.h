// Peer identity: an Ed25519 key pair made on first open and kept in the persistence directory.
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <string_view>

namespace smallpeer {

/// This peer's Ed25519 key pair and the peer key derived from it.
class PeerIdentity {
 public:
  PeerIdentity() = default;
  /// Loads the key pair from `file`, or makes and saves a new one (mode 0600) if there is none.
  static PeerIdentity load_or_create(const std::filesystem::path& file);
  /// The peer key: "pk" followed by the unpadded base64url public key (45 characters).
  [[nodiscard]] const std::string& peer_key() const { return peer_key_; }
  /// The raw 32-byte public key.
  [[nodiscard]] const std::array<unsigned char, 32>& public_key() const { return public_key_; }
  /// A detached Ed25519 signature of `message`.
  [[nodiscard]] std::array<unsigned char, 64> sign(std::string_view message) const;
  /// True if `signature` is `peer_key`'s signature of `message` (false for a malformed peer key).
  static bool verify(std::string_view peer_key, std::string_view message, const std::array<unsigned char, 64>& signature);
  /// True if `peer_key` is well formed: "pk" and the unpadded base64url of 32 bytes.
  static bool is_valid_peer_key(std::string_view peer_key);
  /// The peer key string for a raw public key.
  static std::string peer_key_for(const std::array<unsigned char, 32>& public_key);

 private:
  std::array<unsigned char, 32> public_key_{};
  std::array<unsigned char, 64> secret_key_{};
  std::string peer_key_;
};

}  // namespace smallpeer
