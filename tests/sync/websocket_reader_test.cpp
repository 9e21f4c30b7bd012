// The Big Peer's own WebSocket framing (core/sync/websocket_reader.h): a client's masked frames are
// read whole however the bytes are cut, every length form and the mask's phase across reads come
// out right, and every rule of RFC 6455 it checks refuses the stream with the right close code,
// at the header, before any payload is taken.
#include "sync/websocket_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace smallpeer::sync {
namespace {

using Opcode = WebSocketOpcode;

// A client's frame: `first` is the header's first byte (FIN, RSV, opcode), the payload is masked
// with `key` unless `masked` is false, and the length is written in `length_form` bytes (0: the
// shortest form, else 1, 2 or 8).
std::string client_frame(unsigned first, const std::string& payload, bool masked = true, size_t length_form = 0,
                         uint64_t claimed = UINT64_MAX) {
  const uint64_t length = claimed == UINT64_MAX ? payload.size() : claimed;
  if (length_form == 0) length_form = length < 126 ? 1 : length <= 0xffff ? 2 : 8;
  std::string out(1, static_cast<char>(first));
  const unsigned mask_bit = masked ? 0x80 : 0;
  if (length_form == 1) {
    out += static_cast<char>(mask_bit | length);
  } else {
    out += static_cast<char>(mask_bit | (length_form == 2 ? 126 : 127));
    for (size_t i = length_form; i-- > 0;) out += static_cast<char>((length >> (8 * i)) & 0xff);
  }
  const std::string key = "\x3a\xc5\x71\x0e";
  if (masked) out += key;
  for (size_t i = 0; i < payload.size(); ++i) out += masked ? static_cast<char>(payload[i] ^ key[i & 3]) : payload[i];
  return out;
}

std::string payload_of(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + static_cast<char>(i * 7));
  return s;
}

struct Result {
  std::vector<WebSocketReader::Message> messages;
  std::optional<WebSocketReader::Refusal> refusal;
  size_t consumed = 0;  // bytes consumed in all
};

// Feeds `bytes` in pieces cut before each offset of `cuts`, as read() is meant to be called: each
// piece until it is used up, a message or a refusal at a time.
Result feed(const std::string& bytes, const std::vector<size_t>& cuts, uint64_t limit = 1 << 20) {
  WebSocketReader reader;
  reader.set_max_message_bytes(limit);
  Result result;
  size_t from = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    const size_t to = i < cuts.size() ? cuts[i] : bytes.size();
    std::string_view rest(bytes.data() + from, to - from);
    from = to;
    while (!rest.empty()) {
      auto step = reader.read(rest);
      rest.remove_prefix(step.consumed);
      result.consumed += step.consumed;
      if (step.message) result.messages.push_back(std::move(*step.message));
      if (step.refusal) {
        result.refusal = step.refusal;
        return result;
      }
    }
  }
  return result;
}

TEST(WebSocketReaderTest, EveryLengthFormAndEveryCutGivesTheSameMessages) {
  for (const size_t size : {size_t{0}, size_t{1}, size_t{125}, size_t{126}, size_t{1411}, size_t{65535}, size_t{65536}}) {
    SCOPED_TRACE(size);
    const std::string payload = payload_of(size, 'a');
    // A message in three fragments (odd lengths, so the mask's phase moves), a ping between them.
    const size_t a = size / 3;
    const size_t b = size / 3 + 1 < size ? size / 3 + 1 : size - a;
    const std::string stream = client_frame(0x02, payload.substr(0, a)) + client_frame(0x89, "hi") +
                               client_frame(0x00, payload.substr(a, b)) + client_frame(0x80, payload.substr(a + b)) +
                               client_frame(0x82, "after");
    std::vector<std::vector<size_t>> cut_sets{{}};
    const size_t step = size > 2000 ? 997 : 1;  // every offset for the small ones
    for (size_t at = 1; at < stream.size(); at += step) cut_sets.push_back({at});
    if (size < 2000) {  // and one byte at a time
      std::vector<size_t> all;
      for (size_t i = 1; i < stream.size(); ++i) all.push_back(i);
      cut_sets.push_back(all);
    }
    for (const auto& cuts : cut_sets) {
      const Result r = feed(stream, cuts);
      ASSERT_FALSE(r.refusal) << r.refusal->reason;
      ASSERT_EQ(r.messages.size(), 3U);
      EXPECT_EQ(r.messages[0].opcode, Opcode::ping);
      EXPECT_EQ(r.messages[0].payload, "hi");
      EXPECT_EQ(r.messages[1].opcode, Opcode::binary);
      EXPECT_EQ(r.messages[1].payload, payload);
      EXPECT_EQ(r.messages[2].payload, "after");
      EXPECT_EQ(r.consumed, stream.size());
    }
  }
}

TEST(WebSocketReaderTest, TextCloseAndPongComeOutWithTheirOpcodes) {
  const Result r = feed(client_frame(0x81, "text") + client_frame(0x8a, "") + client_frame(0x88, "\x03\xe8"), {});
  ASSERT_EQ(r.messages.size(), 3U);
  EXPECT_EQ(r.messages[0].opcode, Opcode::text);
  EXPECT_EQ(r.messages[1].opcode, Opcode::pong);
  EXPECT_EQ(r.messages[2].opcode, Opcode::close);
  EXPECT_EQ(r.messages[2].payload, std::string("\x03\xe8"));
}

// The length of a client frame's header (as client_frame wrote it).
size_t header_length(const std::string& frame) {
  const unsigned length7 = static_cast<unsigned char>(frame[1]) & 0x7f;
  return 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + ((static_cast<unsigned char>(frame[1]) & 0x80) != 0 ? 4 : 0);
}

TEST(WebSocketReaderTest, EachBrokenRuleRefusesTheStreamAtTheHeader) {
  struct Case {
    std::string name;
    std::string before;     // frames read whole before the offending one
    std::string offending;  // refused on its header
    uint16_t code;
  };
  const std::string big(200, 'x');
  const std::vector<Case> cases{
      {"unmasked", "", client_frame(0x82, "abc", false), 1002},
      {"RSV1 set", "", client_frame(0xc2, "abc"), 1002},
      {"unknown opcode", "", client_frame(0x83, "abc"), 1002},
      {"continuation outside a message", client_frame(0x82, "ok"), client_frame(0x80, "abc"), 1002},
      {"new message inside a message", client_frame(0x02, "ab"), client_frame(0x82, "cd"), 1002},
      {"fragmented control frame", "", client_frame(0x09, "ab"), 1002},
      {"control frame over 125 bytes", "", client_frame(0x89, std::string(126, 'p')), 1002},
      {"16-bit length not in shortest form", "", client_frame(0x82, "abc", true, 2), 1002},
      {"64-bit length not in shortest form", "", client_frame(0x82, big, true, 8), 1002},
      {"64-bit length with its top bit set", "", client_frame(0x82, "", true, 8, uint64_t{1} << 63), 1002},
      {"a 4 MiB claim over the limit, with no payload sent", "", client_frame(0x82, "", true, 8, uint64_t{4} << 20), 1009},
      {"fragments over the limit together", client_frame(0x02, big), client_frame(0x80, big), 1009},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Result r = feed(c.before + c.offending, {}, 300);
    ASSERT_TRUE(r.refusal);
    EXPECT_EQ(r.refusal->code, c.code);
    EXPECT_FALSE(r.refusal->reason.empty());
    EXPECT_EQ(r.consumed, c.before.size() + header_length(c.offending)) << "the offending frame's payload was not taken";
  }
  // Once refused, the reader takes nothing more.
  WebSocketReader reader;
  reader.set_max_message_bytes(100);
  ASSERT_TRUE(reader.read(client_frame(0x82, "x", false)).refusal);
  const auto again = reader.read(client_frame(0x82, "x"));
  EXPECT_TRUE(again.refusal);
  EXPECT_EQ(again.consumed, 0U);
}

TEST(WebSocketReaderTest, ARaisedLimitAppliesToTheNextFrame) {
  WebSocketReader reader;
  reader.set_max_message_bytes(10);
  const std::string first = client_frame(0x82, "0123456789");
  const auto one = reader.read(first);
  ASSERT_TRUE(one.message);
  reader.set_max_message_bytes(20);  // as the session does once authenticated
  const auto two = reader.read(client_frame(0x82, std::string(20, 'y')));
  ASSERT_TRUE(two.message);
  EXPECT_EQ(two.message->payload.size(), 20U);
}

TEST(WebSocketReaderTest, TheServerHeaderUsesTheShortestLengthForm) {
  std::array<unsigned char, 10> h{};
  EXPECT_EQ(encode_websocket_header(h, Opcode::binary, 0), 2U);
  EXPECT_EQ(h[0], 0x82);
  EXPECT_EQ(h[1], 0);
  EXPECT_EQ(encode_websocket_header(h, Opcode::pong, 125), 2U);
  EXPECT_EQ(h[0], 0x8a);
  EXPECT_EQ(h[1], 125);
  EXPECT_EQ(encode_websocket_header(h, Opcode::binary, 126), 4U);
  EXPECT_EQ(h[1], 126);
  EXPECT_EQ((h[2] << 8) | h[3], 126);
  EXPECT_EQ(encode_websocket_header(h, Opcode::binary, 65535), 4U);
  EXPECT_EQ(encode_websocket_header(h, Opcode::binary, 65536), 10U);
  EXPECT_EQ(h[1], 127);
  uint64_t length = 0;
  for (size_t i = 2; i < 10; ++i) length = (length << 8) | h[i];
  EXPECT_EQ(length, 65536U);
}

}  // namespace
}  // namespace smallpeer::sync
