// Signed Small Peer Info (docs/SYNC.md "Admin devices"): every SPI document carries its owner's
// Ed25519 signature, so the Big Peer can trust a document an admin device carried home from the
// field. The signature covers
//   "smallpeer-spi-v1\n" + peer key + "\n" + HLC (decimal) + "\n" + the document without the signature
// and is the document's last member, "_signature" (unpadded base64url of 64 bytes), appended to
// the minified JSON the store keeps byte for byte. The peer key is the document's _id, and the HLC
// its version, so neither can be changed without the owner's secret key.
#pragma once

#include <string>
#include <string_view>

#include "clock/hlc.h"
#include "identity/identity.h"
#include "store/store.h"

namespace smallpeer {

/// What checking a document's signature found.
enum class SpiSignature { valid, missing, invalid };

/// `body` (a minified JSON object whose _id is `identity`'s peer key) with `identity`'s signature
/// over it and `hlc` appended as its last member.
std::string seal_spi_document(const PeerIdentity& identity, HlcTimestamp hlc, std::string_view body);
/// Whether `doc`'s signature is its owner's (_id) over its body and version HLC.
SpiSignature verify_spi_document(const Document& doc);

}  // namespace smallpeer
