// The SmallPeer sync protocol, version 2: binary frames carried one per WebSocket message (to the
// Big Peer) or length-prefixed on a TCP stream (between small peers on a LAN).
//
//   frame   := u32 length (big-endian, of type + payload) | u8 type | payload
//   string  := u32 length | UTF-8 bytes            integers are big-endian
//
// A connection runs: HELLO both ways (each with a fresh 32-byte nonce) -> AUTH both ways -> AUTH_RESULT
// both ways -> CURSORS both ways -> DOCS/ACK in both directions for as long as it lives.
//
// Authentication proves, never reveals: no secret crosses the wire. A side sends its AUTH only once the
// other side's HELLO checked out (protocol version 2, a known app id, a well-formed peer key); a HELLO
// that does not is answered with AUTH_RESULT refused and the connection closes. AUTH carries
//   proof     = HMAC-SHA256(key = HMAC-SHA256(key = app token, "smallpeer-auth-v2\n" + app id), transcript)
//   signature = Ed25519(own secret key, transcript)
//   transcript = "smallpeer/2 auth\n" + encode(prover's HELLO) + encode(verifier's HELLO)
// so it binds both nonces, both peer keys, both roles and the app id (auth_transcript, auth_proof). The
// verifier checks both (the proof in constant time); a fresh nonce per session makes an AUTH from an
// earlier session worthless, and putting the prover's HELLO first makes a reflected AUTH fail. Both
// sides prove themselves, the Big Peer included. Frames before authentication are at most
// kMaxHandshakeFrameBytes; after it, kMaxFrameBytes. Version 1 peers (whose AUTH carried the token in
// clear) are refused with a reason naming both versions. Anything out of that order, an unknown type,
// a malformed payload or an oversized frame ends the connection.
//
// Log requests (SPEC section 6) ride on an established small peer <-> Big Peer connection:
//   Big Peer -> peer: LOG_REQUEST (build or resume a bundle, send from resume_offset), LOG_RESULT
//                     (the bundle is stored, or refused: the peer deletes its copy)
//   peer -> Big Peer: LOG_CHUNK (bytes at an offset of a bundle of known size), LOG_OFFER (a bundle
//                     waiting in the peer's outbox, e.g. one it sent on its own initiative)
// Any of them on a LAN link, or in the wrong direction, is a protocol violation. So is ADMIN_STATE
// (the Big Peer's admin signing key, the device's admin grant, revoked grant ids) anywhere but
// Big Peer -> small peer.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "admin/admin_grant.h"
#include "log/log_filter.h"
#include "rules/replication_rules.h"
#include "store/store.h"

namespace smallpeer::sync {

/// The protocol version this build speaks.
inline constexpr uint16_t kProtocolVersion = 2;
/// Frames larger than this are refused (and the connection dropped).
inline constexpr uint32_t kMaxFrameBytes = 4 * 1024 * 1024;
/// Frames before authentication (HELLO, AUTH, AUTH_RESULT, ERROR) larger than this are refused: a
/// stranger cannot make a peer hold more than this for it.
inline constexpr uint32_t kMaxHandshakeFrameBytes = 8 * 1024;
/// Bytes of an HMAC-SHA256 proof of the app token.
inline constexpr size_t kAuthProofBytes = 32;

/// Frame type codes; only ever appended.
enum class FrameType : uint8_t {
  hello = 1,
  auth = 2,
  auth_result = 3,
  cursors = 4,
  docs = 5,
  ack = 6,
  error = 7,
  log_request = 8,
  log_chunk = 9,
  log_result = 10,
  log_offer = 11,
  admin_state = 12,
  admin_proof = 13,
};

/// First frame each side sends.
struct Hello {
  uint16_t protocol_version = kProtocolVersion;
  PeerRole role = PeerRole::small_peer;
  std::string app_id;
  std::string peer_key;
  std::string device_name;
  std::string sdk_language;
  std::string sdk_version;
  std::string platform;
  std::array<unsigned char, 32> nonce{};
};

/// Who the other side of a session is: its HELLO without what only the handshake needs (the
/// protocol version, the app id both sides checked, the nonce). A Big Peer keeps one per connected
/// device, so it is kept small: jemalloc's 192-byte class with its shared_ptr, not the HELLO's 256.
struct PeerInfo {
  PeerRole role = PeerRole::small_peer;
  std::string peer_key;
  std::string device_name;
  std::string sdk_language;
  std::string sdk_version;
  std::string platform;
  /// The part of `hello` that outlives the handshake.
  static PeerInfo of(const Hello& hello) {
    return {hello.role, hello.peer_key, hello.device_name, hello.sdk_language, hello.sdk_version, hello.platform};
  }
};

/// Proof of app membership and of the peer key, both over auth_transcript(own HELLO, other side's
/// HELLO). Carries no secret.
struct Auth {
  std::array<unsigned char, kAuthProofBytes> proof{};  // auth_proof(app token, app id, transcript)
  std::array<unsigned char, 64> signature{};           // Ed25519 over the transcript
};

/// Whether the other side's Auth was accepted; a refusal says why and the connection closes.
struct AuthResult {
  bool ok = false;
  std::string reason;
};

/// "Send me what you stored after these points", per collection, by the sender's stored_at HLC.
struct Cursors {
  std::vector<std::pair<std::string, HlcTimestamp>> since;
};

/// A batch of documents (or tombstones); each carries the sender's stored_at, which becomes the
/// receiver's cursor. The receiver ACKs batch_id once they are durably stored.
struct Docs {
  uint64_t batch_id = 0;
  std::vector<Document> documents;
};

/// A document of a batch that the receiver refused to store (and will not store if sent again
/// unchanged); the rest of the batch is stored and acknowledged.
struct DocumentRefusal {
  std::string collection;
  std::string id;
  std::string reason;  // starts with a machine-readable code, e.g. "clock_ahead: ..."
};

/// Acknowledges a Docs batch: everything in it is durably stored, except the refused documents.
struct Ack {
  uint64_t batch_id = 0;
  std::vector<DocumentRefusal> refused;
};

/// A fatal protocol error, sent before closing.
struct ErrorFrame {
  std::string code;
  std::string message;
};

/// Log chunks carry at most this many bytes of a bundle.
inline constexpr uint32_t kMaxLogChunkBytes = 1024 * 1024;

/// Big Peer -> small peer: send the log bundle `request_id` (building it from the lines `filter`
/// keeps if the peer has no copy yet), starting at byte `resume_offset`.
struct LogRequest {
  std::string request_id;
  LogFilter filter;  // on the wire: u8 level, since and until ("" for none), u64 max_bytes (0 for none)
  uint64_t resume_offset = 0;
};

/// Small peer -> Big Peer: bytes [offset, offset + data.size()) of a bundle of `total` bytes.
struct LogChunk {
  std::string request_id;
  uint64_t offset = 0;
  uint64_t total = 0;
  std::string data;
};

/// Either direction: the bundle's upload ended. From the Big Peer: stored (ok) or refused (the peer
/// drops its copy either way). From a small peer: it could not build the bundle (ok = false).
struct LogResult {
  std::string request_id;
  bool ok = false;
  std::string reason;
};

/// Small peer -> Big Peer: a bundle of `total` bytes waits in the outbox; `device_initiated` when
/// the app asked to send it (the Big Peer then creates the request if it does not know it).
struct LogOffer {
  std::string request_id;
  uint64_t total = 0;
  bool device_initiated = false;
};

/// Big Peer -> small peer, once established: the Big Peer's admin signing key, this device's admin
/// grant if it has one, and the ids of revoked grants that have not expired (docs/SYNC.md "Admin
/// devices"). On the wire: 32-byte key, u8 has grant, [grant id, peer key, u64 expiry (Unix ms),
/// 64-byte signature], count, grant ids (at most admin::kMaxRevokedGrants).
struct AdminState {
  admin::SigningPublicKey signing_key{};
  std::optional<admin::AdminGrant> grant;
  std::vector<std::string> revoked;
};

/// Small peer -> small peer on the LAN, first thing after authentication: an admin device's grant.
/// It proves admin rights because the grant names the peer key the session just authenticated and
/// verifies with the Big Peer's signing key the receiver keeps. On the wire: grant id, peer key,
/// u64 expiry (Unix ms), 64-byte signature.
struct AdminProof {
  admin::AdminGrant grant;
};

/// Any decoded frame.
using Frame = std::variant<Hello, Auth, AuthResult, Cursors, Docs, Ack, ErrorFrame, LogRequest, LogChunk, LogResult, LogOffer,
                           AdminState, AdminProof>;

/// True for a usable log request id: 1-64 bytes of [A-Za-z0-9_-] (it names files on both sides).
bool is_valid_log_request_id(std::string_view id);
/// Encodes a frame, length prefix included.
std::string encode(const Frame& frame);
/// Decodes one whole frame (length prefix included); nullopt with `error` set if malformed.
std::optional<Frame> decode(std::string_view bytes, std::string& error);
/// What an Auth proves and signs: "smallpeer/2 auth\n" + encode(prover's HELLO) + encode(verifier's
/// HELLO), so both nonces, both peer keys, both roles and the app id are bound, in a fixed direction.
std::string auth_transcript(const Hello& prover, const Hello& verifier);
/// HMAC-SHA256 of `transcript` under a key derived from the app token and app id; never the token.
std::array<unsigned char, kAuthProofBytes> auth_proof(std::string_view app_token, std::string_view app_id,
                                                      std::string_view transcript);
/// True if `proof` is auth_proof(app_token, app_id, transcript); compares in constant time.
bool verify_auth_proof(std::string_view app_token, std::string_view app_id, std::string_view transcript,
                       const std::array<unsigned char, kAuthProofBytes>& proof);
/// The frame's type name, for logs ("hello", "docs", ...).
std::string_view frame_name(const Frame& frame);

}  // namespace smallpeer::sync
