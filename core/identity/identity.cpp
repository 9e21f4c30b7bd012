#include "identity/identity.h"

#include <sodium.h>

#include <cstring>
#include <fstream>
#include <optional>

#include "common/base64.h"
#include "common/error.h"
#include "common/private_file.h"

namespace smallpeer {

namespace {
constexpr std::string_view kPrefix = "pk";

void ensure_sodium() {
  if (sodium_init() < 0) throw Error(ErrorCode::internal, "libsodium failed to initialise");
}

std::optional<std::array<unsigned char, 32>> decode_peer_key(std::string_view peer_key) {
  if (peer_key.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  return base64url_decode_array<32>(peer_key.substr(kPrefix.size()));
}
}  // namespace

bool PeerIdentity::is_valid_peer_key(std::string_view peer_key) {
  ensure_sodium();
  return decode_peer_key(peer_key).has_value();
}

std::string PeerIdentity::peer_key_for(const std::array<unsigned char, 32>& public_key) {
  return std::string(kPrefix) + base64url_encode(public_key);
}

PeerIdentity PeerIdentity::load_or_create(const std::filesystem::path& file) {
  ensure_sodium();
  PeerIdentity id;
  std::ifstream in(file, std::ios::binary);
  if (in) {
    in.read(reinterpret_cast<char*>(id.secret_key_.data()), static_cast<std::streamsize>(id.secret_key_.size()));
    if (in.gcount() != static_cast<std::streamsize>(id.secret_key_.size())) {
      throw Error(ErrorCode::io, "peer identity file " + file.string() + " is truncated; move it away to make a new identity");
    }
    // The file is the seed followed by the public key: a key whose halves disagree would sign with
    // one key and announce another, so a damaged or foreign file is refused rather than used.
    std::array<unsigned char, 32> derived{};
    std::array<unsigned char, 64> rebuilt{};
    crypto_sign_seed_keypair(derived.data(), rebuilt.data(), id.secret_key_.data());
    const bool extra = in.peek() != std::ifstream::traits_type::eof();
    crypto_sign_ed25519_sk_to_pk(id.public_key_.data(), id.secret_key_.data());
    const bool consistent = sodium_memcmp(derived.data(), id.public_key_.data(), derived.size()) == 0;
    sodium_memzero(rebuilt.data(), rebuilt.size());
    if (extra || !consistent) {
      throw Error(ErrorCode::io, "peer identity file " + file.string() +
                                     " is corrupt (not a 64-byte Ed25519 key pair); move it away to make a new identity");
    }
  } else {
    crypto_sign_keypair(id.public_key_.data(), id.secret_key_.data());
    write_private_file(file, std::string_view(reinterpret_cast<const char*>(id.secret_key_.data()), id.secret_key_.size()),
                       "peer identity file");
  }
  id.peer_key_ = peer_key_for(id.public_key_);
  return id;
}

std::array<unsigned char, 64> PeerIdentity::sign(std::string_view message) const {
  std::array<unsigned char, 64> sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       secret_key_.data());
  return sig;
}

bool PeerIdentity::verify(std::string_view peer_key, std::string_view message, const std::array<unsigned char, 64>& signature) {
  ensure_sodium();
  const auto pk = decode_peer_key(peer_key);
  if (!pk) return false;
  return crypto_sign_verify_detached(signature.data(), reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                     pk->data()) == 0;
}

}  // namespace smallpeer
