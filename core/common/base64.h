// Unpadded base64url (RFC 4648 section 5), the one text form of keys, signatures and random
// tokens in SmallPeer (peer keys, admin grants, session ids).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smallpeer {

/// `bytes` as unpadded base64url.
std::string base64url_encode(std::string_view bytes);
/// The bytes of unpadded base64url `text`, or nullopt if it is not exactly that.
std::optional<std::string> base64url_decode(std::string_view text);
/// `n` random bytes from the system's CSPRNG, as unpadded base64url (tokens, ids).
std::string random_base64url(size_t n);

}  // namespace smallpeer
