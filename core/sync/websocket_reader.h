// The server side of a WebSocket's framing (RFC 6455, section 5), without Beast: the Big Peer reads
// its small peers' sockets into one buffer per I/O thread and parses the frames out of it here, so
// a connection holds no read buffer of its own while it waits and a report costs one read.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace smallpeer::sync {

/// A WebSocket frame's opcode.
enum class WebSocketOpcode : uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

/// Reads a client's frames (which must be masked) from bytes as they arrive, however they are cut:
/// whole messages (their fragments joined) and control frames. No extension is negotiated, so the
/// RSV bits must be clear. A message's string grows with the bytes that arrive, never to a length a
/// frame header merely announced.
class WebSocketReader {
 public:
  /// A whole data message (text or binary) or a control frame (close, ping, pong), unmasked.
  struct Message {
    WebSocketOpcode opcode = WebSocketOpcode::binary;
    std::string payload;
  };
  /// Why the stream is refused: the close code to send (1002 protocol error, 1009 too big) and why.
  struct Refusal {
    uint16_t code = 1002;
    std::string reason;
  };
  /// What one call to read() found.
  struct Step {
    size_t consumed = 0;             // bytes of the input used; the caller passes the rest next
    std::optional<Message> message;  // a whole message or control frame, if one was completed
    std::optional<Refusal> refusal;  // set once the stream broke a rule; nothing more is read
  };

  /// Sets the largest data message accepted, in payload bytes of all its fragments (at most 4 GiB).
  void set_max_message_bytes(uint64_t bytes) {
    max_message_bytes_ = static_cast<uint32_t>(std::min<uint64_t>(bytes, UINT32_MAX));
  }
  /// Parses `input` up to the end of the first message or control frame it completes (or to the
  /// end of the input, or to a rule broken).
  Step read(std::string_view input);

 private:
  // Parses header_ (complete): sets the frame's fields, or returns why it is refused.
  std::optional<Refusal> begin_frame();
  // The frame's payload is all in: a control frame or a message's last fragment makes a Message.
  std::optional<Message> end_frame();
  // The header's length so far: 2 bytes, then the extended length and the mask key as its first
  // two bytes announce them.
  [[nodiscard]] size_t header_length() const;
  // The frame's mask key: the header's last 4 bytes (a client's frames are masked), which stay in
  // header_ until the next frame's header starts, after this one's payload.
  [[nodiscard]] const unsigned char* mask_key() const;

  // Widest first, the bytes together, counters as small as they need: every Big Peer session has
  // one, and its size decides its channel's jemalloc class, now 384 bytes (bigpeer/BENCHMARKS.md).
  std::string message_;  // the data message so far
  // The control frame's payload so far (at most 125 bytes): made when one starts, handed out when
  // it ends. A ping or pong every keep-alive interval is not worth 32 bytes of every connection.
  std::unique_ptr<std::string> control_;
  uint32_t frame_left_ = 0;  // payload bytes of the frame still to come (no more than max_message_bytes_ or 125)
  uint32_t max_message_bytes_ = 0;
  std::array<unsigned char, 14> header_{};
  bool in_frame_ = false;  // header_ parsed, payload being read
  WebSocketOpcode opcode_ = WebSocketOpcode::binary;
  bool fin_ = false;
  bool in_message_ = false;  // a data message's first fragment came and its last has not
  WebSocketOpcode message_opcode_ = WebSocketOpcode::binary;
  bool broken_ = false;
  uint8_t header_have_ = 0;  // bytes of header_ so far (at most 14)
  uint8_t mask_phase_ = 0;   // payload bytes of the frame read so far, modulo 4: the mask's phase
};

/// The header of an unmasked (server to client) frame with FIN set, `opcode` and a payload of
/// `payload_bytes`, written into `out`; returns its length (2, 4 or 10 bytes).
size_t encode_websocket_header(std::array<unsigned char, 10>& out, WebSocketOpcode opcode, uint64_t payload_bytes);

}  // namespace smallpeer::sync
