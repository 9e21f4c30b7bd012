#include "admin/admin_grant.h"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <vector>

#include "common/base64.h"
#include "common/error.h"

namespace smallpeer::admin {

namespace {
constexpr std::string_view kGrantPrefix = "ag_";
constexpr std::string_view kSigningKeyPrefix = "ask";

bool is_base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Splits `text` on `sep`.
std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    const auto at = text.find(sep);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

}  // namespace

std::string AdminGrant::signed_bytes(std::string_view app_id) const {
  return fmt::format("smallpeer-admin-grant-v1\n{}\n{}\n{}\n{}\n", app_id, grant_id, peer_key, expires_at_ms);
}

bool AdminGrant::verifies(std::string_view app_id, const SigningPublicKey& signing_key) const {
  if (sodium_init() < 0) return false;
  const std::string bytes = signed_bytes(app_id);
  return crypto_sign_verify_detached(signature.data(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                                     signing_key.data()) == 0;
}

std::string AdminGrant::to_text() const {
  return fmt::format("{}\t{}\t{}\t{}", grant_id, peer_key, expires_at_ms, base64url_encode(signature));
}

std::optional<AdminGrant> AdminGrant::from_text(std::string_view text) {
  const auto parts = split(text, '\t');
  if (parts.size() != 4 || !is_valid_grant_id(parts[0])) return std::nullopt;
  AdminGrant g;
  g.grant_id = std::string(parts[0]);
  g.peer_key = std::string(parts[1]);
  if (std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), g.expires_at_ms).ec != std::errc()) return std::nullopt;
  const auto sig = base64url_decode_array<64>(parts[3]);
  if (!sig) return std::nullopt;
  g.signature = *sig;
  return g;
}

bool is_valid_grant_id(std::string_view id) {
  if (!id.starts_with(kGrantPrefix) || id.size() == kGrantPrefix.size() || id.size() > kMaxGrantIdBytes) return false;
  return std::all_of(id.begin() + kGrantPrefix.size(), id.end(), is_base64url_char);
}

std::string new_grant_id() {
  return std::string(kGrantPrefix) + random_base64url(16);
}

SigningKey SigningKey::generate() {
  if (sodium_init() < 0) throw Error(ErrorCode::internal, "libsodium failed to initialise");
  SigningKey key;
  crypto_sign_keypair(key.public_.data(), key.secret_.data());
  return key;
}

std::optional<SigningKey> SigningKey::from_secret_text(std::string_view text) {
  if (sodium_init() < 0) return std::nullopt;
  const auto secret = base64url_decode_array<64>(text);
  if (!secret) return std::nullopt;
  SigningKey key;
  key.secret_ = *secret;
  // The secret key is the seed followed by the public key: both halves must agree.
  SigningPublicKey derived{};
  std::array<unsigned char, 64> rebuilt{};
  crypto_sign_seed_keypair(derived.data(), rebuilt.data(), key.secret_.data());
  sodium_memzero(rebuilt.data(), rebuilt.size());
  crypto_sign_ed25519_sk_to_pk(key.public_.data(), key.secret_.data());
  if (sodium_memcmp(derived.data(), key.public_.data(), derived.size()) != 0) return std::nullopt;
  return key;
}

std::string SigningKey::to_secret_text() const {
  return base64url_encode(secret_);
}

AdminGrant SigningKey::sign(std::string_view app_id, std::string grant_id, std::string peer_key, int64_t expires_at_ms) const {
  AdminGrant g{std::move(grant_id), std::move(peer_key), expires_at_ms, {}};
  const std::string bytes = g.signed_bytes(app_id);
  crypto_sign_detached(g.signature.data(), nullptr, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                       secret_.data());
  return g;
}

std::string signing_key_text(const SigningPublicKey& key) {
  return std::string(kSigningKeyPrefix) + base64url_encode(key);
}

std::optional<SigningPublicKey> parse_signing_key(std::string_view text) {
  if (!text.starts_with(kSigningKeyPrefix)) return std::nullopt;
  return base64url_decode_array<32>(text.substr(kSigningKeyPrefix.size()));
}

}  // namespace smallpeer::admin
