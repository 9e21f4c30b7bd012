// The SmallPeer sync protocol, version 1: binary frames carried one per WebSocket message (to the
// Big Peer) or length-prefixed on a TCP stream (between small peers on a LAN).
//
//   frame   := u32 length (big-endian, of type + payload) | u8 type | payload
//   string  := u32 length | UTF-8 bytes            integers are big-endian
//
// A connection runs: HELLO both ways (each with a fresh nonce) -> AUTH both ways (the app token
// and an Ed25519 signature over the other side's nonce) -> AUTH_RESULT both ways -> CURSORS both
// ways -> DOCS/ACK in both directions for as long as it lives. Anything out of that order, an
// unknown type, a malformed payload or an oversized frame ends the connection.
//
// Log requests (SPEC section 6) ride on an established small peer <-> Big Peer connection:
//   Big Peer -> peer: LOG_REQUEST (build or resume a bundle, send from resume_offset), LOG_RESULT
//                     (the bundle is stored, or refused: the peer deletes its copy)
//   peer -> Big Peer: LOG_CHUNK (bytes at an offset of a bundle of known size), LOG_OFFER (a bundle
//                     waiting in the peer's outbox, e.g. one it sent on its own initiative)
// Any of them on a LAN link, or in the wrong direction, is a protocol violation.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "rules/replication_rules.h"
#include "store/store.h"

namespace smallpeer::sync {

/// The protocol version this build speaks.
inline constexpr uint16_t kProtocolVersion = 1;
/// Frames larger than this are refused (and the connection dropped).
inline constexpr uint32_t kMaxFrameBytes = 4 * 1024 * 1024;

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

/// Proof of app membership and of the peer key.
struct Auth {
  std::string app_token;
  std::array<unsigned char, 64> signature{};  // over auth_message(other side's nonce, own key, app id)
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

/// Acknowledges a Docs batch.
struct Ack {
  uint64_t batch_id = 0;
};

/// A fatal protocol error, sent before closing.
struct ErrorFrame {
  std::string code;
  std::string message;
};

/// Log chunks carry at most this many bytes of a bundle.
inline constexpr uint32_t kMaxLogChunkBytes = 1024 * 1024;

/// Big Peer -> small peer: send the log bundle `request_id` (building it with these filters if the
/// peer has no copy yet), starting at byte `resume_offset`.
struct LogRequest {
  std::string request_id;
  uint8_t min_level = 5;   // LogLevel value: keep this level and more severe
  std::string since;       // RFC 3339, or empty for no lower bound
  std::string until;       // RFC 3339, or empty for no upper bound
  uint64_t max_bytes = 0;  // cap on uncompressed bytes, 0 for none
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

/// Any decoded frame.
using Frame = std::variant<Hello, Auth, AuthResult, Cursors, Docs, Ack, ErrorFrame, LogRequest, LogChunk, LogResult, LogOffer>;

/// True for a usable log request id: 1-64 bytes of [A-Za-z0-9_-] (it names files on both sides).
bool is_valid_log_request_id(std::string_view id);
/// Encodes a frame, length prefix included.
std::string encode(const Frame& frame);
/// Decodes one whole frame (length prefix included); nullopt with `error` set if malformed.
std::optional<Frame> decode(std::string_view bytes, std::string& error);
/// The message an Auth signature covers: binds the other side's nonce, the signer's key and the app.
std::string auth_message(const std::array<unsigned char, 32>& nonce, std::string_view peer_key, std::string_view app_id);
/// The frame's type name, for logs ("hello", "docs", ...).
std::string_view frame_name(const Frame& frame);

}  // namespace smallpeer::sync
