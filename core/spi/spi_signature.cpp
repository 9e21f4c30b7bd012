#include "spi/spi_signature.h"

#include <fmt/format.h>

#include "common/base64.h"

namespace smallpeer {

namespace {
constexpr std::string_view kMember = R"(,"_signature":")";
constexpr size_t kSignatureChars = 86;  // unpadded base64url of 64 bytes

std::string signed_bytes(std::string_view peer_key, HlcTimestamp hlc, std::string_view body) {
  return fmt::format("smallpeer-spi-v1\n{}\n{}\n{}", peer_key, hlc.value, body);
}
}  // namespace

std::string seal_spi_document(const PeerIdentity& identity, HlcTimestamp hlc, std::string_view body) {
  const auto signature = identity.sign(signed_bytes(identity.peer_key(), hlc, body));
  std::string out(body.substr(0, body.size() - 1));  // without the closing brace
  out += kMember;
  out += base64url_encode(signature);
  out += "\"}";
  return out;
}

SpiSignature verify_spi_document(const Document& doc) {
  const std::string_view json = doc.json;
  const size_t suffix = kMember.size() + kSignatureChars + 2;
  if (json.size() < suffix + 2 || json.substr(json.size() - suffix, kMember.size()) != kMember || !json.ends_with("\"}")) {
    return SpiSignature::missing;
  }
  const auto signature = base64url_decode_array<64>(json.substr(json.size() - suffix + kMember.size(), kSignatureChars));
  if (!signature) return SpiSignature::invalid;
  const std::string body = std::string(json.substr(0, json.size() - suffix)) + "}";
  return PeerIdentity::verify(doc.id, signed_bytes(doc.id, doc.version.hlc, body), *signature) ? SpiSignature::valid
                                                                                               : SpiSignature::invalid;
}

}  // namespace smallpeer
