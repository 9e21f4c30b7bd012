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

/// Any decoded frame.
using Frame = std::variant<Hello, Auth, AuthResult, Cursors, Docs, Ack, ErrorFrame>;

/// Encodes a frame, length prefix included.
std::string encode(const Frame& frame);
/// Decodes one whole frame (length prefix included); nullopt with `error` set if malformed.
std::optional<Frame> decode(std::string_view bytes, std::string& error);
/// The message an Auth signature covers: binds the other side's nonce, the signer's key and the app.
std::string auth_message(const std::array<unsigned char, 32>& nonce, std::string_view peer_key, std::string_view app_id);
/// The frame's type name, for logs ("hello", "docs", ...).
std::string_view frame_name(const Frame& frame);

}  // namespace smallpeer::sync
