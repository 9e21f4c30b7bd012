// Fuzzes the Big Peer's WebSocket framing (sync::WebSocketReader), which reads a stranger's bytes
// before any authentication: arbitrary bytes, under an input-chosen message limit, must give the
// same messages and the same refusal however they are cut into reads; nothing it returns breaks
// the limit or the control-frame rules, and once refused it takes nothing more.
#include "sync/websocket_reader.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"

using smallpeer::fuzz::require;
using smallpeer::sync::WebSocketOpcode;
using smallpeer::sync::WebSocketReader;

namespace {

struct Outcome {
  std::vector<WebSocketReader::Message> messages;
  std::optional<uint16_t> refusal;
  size_t consumed = 0;
};

// Feeds `bytes` to a fresh reader in pieces of at most `piece` bytes, each until it is used up.
Outcome feed(std::string_view bytes, size_t piece, uint64_t limit) {
  WebSocketReader reader;
  reader.set_max_message_bytes(limit);
  Outcome out;
  while (!bytes.empty()) {
    std::string_view rest = bytes.substr(0, piece);
    bytes.remove_prefix(rest.size());
    while (!rest.empty()) {
      const size_t before = rest.size();
      auto step = reader.read(rest);
      require(step.consumed <= before, "a read consumes at most its input");
      require(step.consumed > 0 || step.refusal, "a read that is not refused makes progress");
      rest.remove_prefix(step.consumed);
      out.consumed += step.consumed;
      if (step.message) {
        const auto& m = *step.message;
        if (m.opcode == WebSocketOpcode::text || m.opcode == WebSocketOpcode::binary) {
          require(m.payload.size() <= limit, "a message is within the limit");
        } else {
          require(m.opcode == WebSocketOpcode::close || m.opcode == WebSocketOpcode::ping || m.opcode == WebSocketOpcode::pong,
                  "a message is data or a control frame");
          require(m.payload.size() <= 125, "a control frame is at most 125 bytes");
        }
        out.messages.push_back(std::move(*step.message));
      }
      if (step.refusal) {
        require(step.refusal->code == 1002 || step.refusal->code == 1009, "a refusal is 1002 or 1009");
        require(!step.refusal->reason.empty(), "a refusal names why");
        require(reader.read(bytes).consumed == 0, "once refused, nothing more is taken");
        out.refusal = step.refusal->code;
        return out;
      }
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // The first byte chooses the limit (up to 64 KiB), the second the size of the cut pieces.
  const uint64_t limit = uint64_t{data[0]} * 257;
  const size_t piece = size_t{data[1]} % 16 + 1;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
  const Outcome whole = feed(bytes, bytes.size() + 1, limit);
  const Outcome cut = feed(bytes, piece, limit);
  require(whole.refusal == cut.refusal, "the cut does not change the refusal");
  require(whole.consumed == cut.consumed, "the cut does not change what is consumed");
  require(whole.messages.size() == cut.messages.size(), "the cut does not change the messages");
  for (size_t i = 0; i < whole.messages.size(); ++i) {
    require(whole.messages[i].opcode == cut.messages[i].opcode && whole.messages[i].payload == cut.messages[i].payload,
            "the cut does not change a message");
  }
  return 0;
}
