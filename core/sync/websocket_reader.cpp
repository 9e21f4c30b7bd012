#include "sync/websocket_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace smallpeer::sync {

namespace {

bool is_control(WebSocketOpcode opcode) {
  return (static_cast<uint8_t>(opcode) & 0x08) != 0;
}

// XORs `n` bytes with the 4-byte mask key, starting `offset` bytes into the frame's payload, eight
// bytes at a time.
void unmask(char* data, size_t n, const unsigned char* key, size_t offset) {
  std::array<unsigned char, 8> key8{};
  for (size_t i = 0; i < key8.size(); ++i) key8[i] = key[(offset + i) & 3];
  uint64_t word_key = 0;
  std::memcpy(&word_key, key8.data(), sizeof word_key);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word = 0;
    std::memcpy(&word, data + i, sizeof word);
    word ^= word_key;
    std::memcpy(data + i, &word, sizeof word);
  }
  for (; i < n; ++i) data[i] = static_cast<char>(static_cast<unsigned char>(data[i]) ^ key8[i & 7]);
}

WebSocketReader::Refusal protocol_error(std::string reason) {
  return {1002, std::move(reason)};
}

}  // namespace

const unsigned char* WebSocketReader::mask_key() const {
  return header_.data() + header_length() - 4;
}

size_t WebSocketReader::header_length() const {
  const unsigned length7 = header_[1] & 0x7f;
  const size_t extended = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
  return 2 + extended + ((header_[1] & 0x80) != 0 ? 4 : 0);
}

WebSocketReader::Step WebSocketReader::read(std::string_view input) {
  Step step;
  if (broken_) {
    step.refusal = protocol_error("the stream was already refused");
    return step;
  }
  size_t at = 0;
  while (at < input.size()) {
    if (!in_frame_) {
      while (header_have_ < 2 && at < input.size()) header_[header_have_++] = static_cast<unsigned char>(input[at++]);
      if (header_have_ < 2) break;
      const size_t need = header_length();
      while (header_have_ < need && at < input.size()) header_[header_have_++] = static_cast<unsigned char>(input[at++]);
      if (header_have_ < need) break;
      header_have_ = 0;
      if (auto refusal = begin_frame()) {
        broken_ = true;
        step.consumed = at;
        step.refusal = std::move(refusal);
        return step;
      }
      in_frame_ = true;
    }
    // The payload (possibly empty), unmasked as it is appended.
    const size_t take = static_cast<size_t>(std::min<uint64_t>(frame_left_, input.size() - at));
    std::string& into = is_control(opcode_) ? *control_ : message_;
    const size_t old = into.size();
    into.append(input.data() + at, take);
    unmask(into.data() + old, take, mask_key(), mask_phase_);
    mask_phase_ = static_cast<uint8_t>((mask_phase_ + take) & 3);
    frame_left_ -= static_cast<uint32_t>(take);
    at += take;
    if (frame_left_ > 0) break;
    in_frame_ = false;
    if (auto message = end_frame()) {
      step.consumed = at;
      step.message = std::move(message);
      return step;
    }
  }
  step.consumed = at;
  return step;
}

std::optional<WebSocketReader::Refusal> WebSocketReader::begin_frame() {
  const unsigned b0 = header_[0];
  const unsigned b1 = header_[1];
  if ((b0 & 0x70) != 0) return protocol_error("a frame with RSV bits set (no extension was negotiated)");
  if ((b1 & 0x80) == 0) return protocol_error("an unmasked frame from the client");
  fin_ = (b0 & 0x80) != 0;
  uint64_t length = b1 & 0x7f;
  if (length == 126) {
    length = (uint64_t{header_[2]} << 8) | header_[3];
    if (length < 126) return protocol_error("a frame length not in its shortest form");
  } else if (length == 127) {
    length = 0;
    for (size_t i = 2; i < 10; ++i) length = (length << 8) | header_[i];
    if ((length >> 63) != 0) return protocol_error("a frame length with its top bit set");
    if (length <= 0xffff) return protocol_error("a frame length not in its shortest form");
  }
  const auto opcode = static_cast<WebSocketOpcode>(b0 & 0x0f);
  switch (opcode) {
    case WebSocketOpcode::continuation:
      if (!in_message_) return protocol_error("a continuation frame outside a message");
      break;
    case WebSocketOpcode::text:
    case WebSocketOpcode::binary:
      if (in_message_) return protocol_error("a new message before the last one's final fragment");
      break;
    case WebSocketOpcode::close:
    case WebSocketOpcode::ping:
    case WebSocketOpcode::pong:
      if (!fin_) return protocol_error("a fragmented control frame");
      if (length > 125) return protocol_error(fmt::format("a control frame of {} bytes (at most 125)", length));
      break;
    default:
      return protocol_error(fmt::format("a frame with the unknown opcode {}", b0 & 0x0f));
  }
  if (!is_control(opcode)) {
    const uint64_t so_far = in_message_ ? message_.size() : 0;
    if (so_far + length > max_message_bytes_) {
      return Refusal{1009,
                     fmt::format("a message of at least {} bytes refused (limit {} bytes)", so_far + length, max_message_bytes_)};
    }
  }
  if (opcode == WebSocketOpcode::text || opcode == WebSocketOpcode::binary) {
    // One allocation for a message in one frame (a report); a frame's claim alone reserves at most
    // kReserveStep (a larger message's string grows as its bytes arrive).
    constexpr uint64_t kReserveStep = uint64_t{64} * 1024;
    in_message_ = true;
    message_opcode_ = opcode;
    message_.reserve(static_cast<size_t>(std::min(length, kReserveStep)));
  } else if (is_control(opcode)) {
    control_ = std::make_unique<std::string>();
  }
  opcode_ = opcode;
  frame_left_ = static_cast<uint32_t>(length);  // checked above: a control frame's <= 125, a data frame's <= max_message_bytes_
  mask_phase_ = 0;
  return std::nullopt;
}

std::optional<WebSocketReader::Message> WebSocketReader::end_frame() {
  if (is_control(opcode_)) {
    Message control{opcode_, std::move(*control_)};
    control_.reset();
    return control;
  }
  if (!fin_) return std::nullopt;
  in_message_ = false;
  return Message{message_opcode_, std::exchange(message_, std::string())};
}

size_t encode_websocket_header(std::array<unsigned char, 10>& out, WebSocketOpcode opcode, uint64_t payload_bytes) {
  out[0] = static_cast<unsigned char>(0x80 | static_cast<unsigned>(opcode));
  if (payload_bytes < 126) {
    out[1] = static_cast<unsigned char>(payload_bytes);
    return 2;
  }
  if (payload_bytes <= 0xffff) {
    out[1] = 126;
    out[2] = static_cast<unsigned char>(payload_bytes >> 8);
    out[3] = static_cast<unsigned char>(payload_bytes);
    return 4;
  }
  out[1] = 127;
  for (size_t i = 0; i < 8; ++i) out[2 + i] = static_cast<unsigned char>(payload_bytes >> (8 * (7 - i)));
  return 10;
}

}  // namespace smallpeer::sync
