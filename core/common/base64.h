// Unpadded base64url (RFC 4648 section 5), the one text form of keys, signatures and random
// tokens in SmallPeer (peer keys, admin grants, session ids).
#pragma once

#include <array>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace smallpeer {

/// `bytes` as unpadded base64url.
std::string base64url_encode(std::string_view bytes);
/// Raw bytes (a key, a signature, a MAC) as unpadded base64url.
inline std::string base64url_encode(std::span<const unsigned char> bytes) {
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}
/// The bytes of unpadded base64url `text`, or nullopt if it is not exactly that.
std::optional<std::string> base64url_decode(std::string_view text);
/// Exactly `N` bytes (a key, a signature) from unpadded base64url `text`, or nullopt.
template <size_t N>
std::optional<std::array<unsigned char, N>> base64url_decode_array(std::string_view text) {
  const auto bytes = base64url_decode(text);
  if (!bytes || bytes->size() != N) return std::nullopt;
  std::array<unsigned char, N> out{};
  std::memcpy(out.data(), bytes->data(), N);
  return out;
}
/// `n` random bytes from the system's CSPRNG, as unpadded base64url (tokens, ids).
std::string random_base64url(size_t n);

}  // namespace smallpeer
