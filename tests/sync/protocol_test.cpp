// Frame encode/decode (core/sync/protocol.h): every frame type round-trips with edge values, and
// every malformed length or payload is refused with an error, never a crash or a read past the end.
// Malformed inputs are decoded from exactly-sized heap buffers, so ASan sees any overread.
#include "sync/protocol.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace smallpeer::sync {
namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

// The decoder's verdict on `bytes`, read from a heap buffer of exactly bytes.size().
struct Decoded {
  std::optional<Frame> frame;
  std::string error;
};
Decoded decode_exact(std::string_view bytes) {
  const std::vector<char> exact(bytes.begin(), bytes.end());
  Decoded d;
  d.frame = decode(std::string_view(exact.data(), exact.size()), d.error);
  return d;
}

// The big-endian length prefix written over the first four bytes of `frame`.
void set_length(std::string& frame, uint32_t len) {
  for (int i = 0; i < 4; ++i) frame[static_cast<size_t>(i)] = static_cast<char>((len >> ((3 - i) * 8)) & 0xff);
}
std::string be32(uint32_t v) {
  std::string s(4, '\0');
  set_length(s, v);
  return s;
}
// A frame built by hand: the length prefix is computed from `payload`.
std::string raw_frame(uint8_t type, std::string_view payload) {
  std::string f = be32(static_cast<uint32_t>(payload.size() + 1));
  f.push_back(static_cast<char>(type));
  f.append(payload);
  return f;
}
std::string str_field(std::string_view s) {
  return be32(static_cast<uint32_t>(s.size())) + std::string(s);
}
std::string be64(uint64_t v) {
  std::string s;
  for (int i = 7; i >= 0; --i) s.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
  return s;
}

// Every field of each frame type, for comparison.
auto fields(const Hello& h) {
  return std::tie(h.protocol_version, h.role, h.app_id, h.peer_key, h.device_name, h.sdk_language, h.sdk_version, h.platform,
                  h.nonce);
}
auto fields(const Auth& a) {
  return std::tie(a.proof, a.signature);
}
auto fields(const AuthResult& r) {
  return std::tie(r.ok, r.reason);
}
bool same(const Cursors& a, const Cursors& b) {
  if (a.since.size() != b.since.size()) return false;
  for (size_t i = 0; i < a.since.size(); ++i)
    if (a.since[i].first != b.since[i].first || a.since[i].second != b.since[i].second) return false;
  return true;
}
auto doc_fields(const Document& d) {
  return std::tie(d.collection, d.id, d.json, d.version.hlc, d.version.origin, d.deleted, d.stored_at);
}
bool same(const Docs& a, const Docs& b) {
  if (a.batch_id != b.batch_id || a.documents.size() != b.documents.size()) return false;
  for (size_t i = 0; i < a.documents.size(); ++i)
    if (doc_fields(a.documents[i]) != doc_fields(b.documents[i])) return false;
  return true;
}
bool same(const Ack& a, const Ack& b) {
  if (a.batch_id != b.batch_id || a.refused.size() != b.refused.size()) return false;
  for (size_t i = 0; i < a.refused.size(); ++i) {
    const auto& x = a.refused[i];
    const auto& y = b.refused[i];
    if (std::tie(x.collection, x.id, x.reason) != std::tie(y.collection, y.id, y.reason)) return false;
  }
  return true;
}
auto fields(const ErrorFrame& e) {
  return std::tie(e.code, e.message);
}
auto fields(const LogRequest& q) {
  return std::tie(q.request_id, q.filter, q.resume_offset);
}
auto fields(const LogChunk& c) {
  return std::tie(c.request_id, c.offset, c.total, c.data);
}
auto fields(const LogResult& r) {
  return std::tie(r.request_id, r.ok, r.reason);
}
auto fields(const LogOffer& o) {
  return std::tie(o.request_id, o.total, o.device_initiated);
}

// Field-by-field equality where the test knows the fields; otherwise equal encodings.
template <typename T>
bool same_frame(const T& a, const T& b) {
  if constexpr (requires { same(a, b); })
    return same(a, b);
  else if constexpr (requires { fields(a); })
    return fields(a) == fields(b);
  else
    return encode(Frame{a}) == encode(Frame{b});
}

std::string all_bytes() {
  std::string s;
  for (int c = 0; c < 256; ++c) s.push_back(static_cast<char>(c));
  return s;
}

template <size_t N>
std::array<unsigned char, N> filled(unsigned char v) {
  std::array<unsigned char, N> a{};
  a.fill(v);
  return a;
}

// Two samples of every frame type: all fields empty or zero, and all at their edges (maximal
// integers, 64-byte ids, every byte value in strings, several entries in lists).
std::vector<Frame> samples() {
  const std::string id64(64, 'z');
  const std::string bytes = all_bytes();
  Document tombstone;
  tombstone.collection = "c";
  tombstone.id = "";
  tombstone.deleted = true;
  Document full;
  full.collection = "__small_peer_info";
  full.id = "pk" + std::string(43, 'A');
  full.json = R"({"_id":"x","s":"caf\u00e9 日本 🚀"})";
  full.version = {HlcTimestamp{kU64Max}, bytes};
  full.stored_at = HlcTimestamp{kU64Max - 1};
  return {
      Hello{.protocol_version = 0, .role = PeerRole::small_peer},
      Hello{.protocol_version = 0xffff,
            .role = PeerRole::big_peer,
            .app_id = bytes,
            .peer_key = "pk" + std::string(43, '_'),
            .device_name = "tablet 7 \xc3\xa9",
            .sdk_language = "C++",
            .sdk_version = "1.0.0",
            .platform = std::string(1000, 'p'),
            .nonce = filled<32>(0xff)},
      Auth{},
      Auth{.proof = filled<kAuthProofBytes>(0xff), .signature = filled<64>(0xa5)},
      AuthResult{},
      AuthResult{.ok = true, .reason = bytes},
      Cursors{},
      Cursors{.since = {{"", HlcTimestamp{0}}, {"cars", HlcTimestamp{kU64Max}}, {bytes, HlcTimestamp{1}}}},
      Docs{},
      Docs{.batch_id = kU64Max, .documents = {tombstone, full, Document{}}},
      Ack{},
      Ack{.batch_id = kU64Max},
      Ack{.batch_id = 3, .refused = {{"orders", "poison", "clock_ahead: ..."}, {bytes, "", ""}}},
      ErrorFrame{},
      ErrorFrame{.code = "protocol", .message = bytes},
      LogRequest{.request_id = "a", .filter = {.min_level = LogLevel::error}},
      LogRequest{.request_id = id64,
                 .filter = {.min_level = LogLevel::verbose,
                            .since = parse_rfc3339("2026-01-01T00:00:00.000Z"),
                            .until = parse_rfc3339("2026-12-31T23:59:59.999Z"),
                            .max_bytes = kU64Max},
                 .resume_offset = kU64Max},
      LogChunk{.request_id = "-"},
      LogChunk{.request_id = id64, .offset = kU64Max - 3, .total = kU64Max, .data = "abc"},
      LogResult{.request_id = "_"},
      LogResult{.request_id = id64, .ok = true, .reason = bytes},
      LogOffer{.request_id = "0"},
      LogOffer{.request_id = id64, .total = kU64Max, .device_initiated = true},
      AdminState{},
      AdminState{
          .signing_key = filled<32>(0xff),
          .grant = admin::AdminGrant{"ag_" + std::string(61, '-'), "pk" + std::string(43, 'B'), INT64_MAX, filled<64>(0x5a)},
          .revoked = {"ag_a", "ag_" + std::string(61, 'Z')}},
      AdminProof{.grant = {"ag_x", "", 0, {}}},
      AdminProof{.grant = {"ag_" + std::string(61, '_'), "pk" + std::string(43, 'C'), INT64_MAX, filled<64>(0xff)}},
  };
}

TEST(ProtocolTest, EveryFrameTypeHasRoundTripSamples) {
  std::set<size_t> covered;
  for (const auto& f : samples()) covered.insert(f.index());
  for (size_t i = 0; i < std::variant_size_v<Frame>; ++i)
    EXPECT_TRUE(covered.contains(i)) << "frame alternative " << i << " has no sample in samples(): add one";
}

TEST(ProtocolTest, EveryFrameRoundTripsWithEdgeValues) {
  for (const auto& sent : samples()) {
    SCOPED_TRACE(std::string(frame_name(sent)));
    const std::string bytes = encode(sent);
    ASSERT_GE(bytes.size(), 5u);
    const uint32_t len = (uint32_t{static_cast<unsigned char>(bytes[0])} << 24) |
                         (uint32_t{static_cast<unsigned char>(bytes[1])} << 16) |
                         (uint32_t{static_cast<unsigned char>(bytes[2])} << 8) | static_cast<unsigned char>(bytes[3]);
    EXPECT_EQ(len, bytes.size() - 4) << "the prefix counts the type byte and the payload";
    const auto got = decode_exact(bytes);
    ASSERT_TRUE(got.frame.has_value()) << got.error;
    ASSERT_EQ(got.frame->index(), sent.index());
    EXPECT_EQ(frame_name(*got.frame), frame_name(sent));
    std::visit(
        [&](const auto& s) {
          using T = std::decay_t<decltype(s)>;
          EXPECT_TRUE(same_frame(s, std::get<T>(*got.frame))) << "a field changed on the way";
        },
        sent);
    EXPECT_EQ(encode(*got.frame), bytes);
  }
}

TEST(ProtocolTest, FrameNamesAreTheTypeNames) {
  EXPECT_EQ(frame_name(Hello{}), "hello");
  EXPECT_EQ(frame_name(Auth{}), "auth");
  EXPECT_EQ(frame_name(AuthResult{}), "auth_result");
  EXPECT_EQ(frame_name(Cursors{}), "cursors");
  EXPECT_EQ(frame_name(Docs{}), "docs");
  EXPECT_EQ(frame_name(Ack{}), "ack");
  EXPECT_EQ(frame_name(ErrorFrame{}), "error");
  EXPECT_EQ(frame_name(LogRequest{}), "log_request");
  EXPECT_EQ(frame_name(LogChunk{}), "log_chunk");
  EXPECT_EQ(frame_name(LogResult{}), "log_result");
  EXPECT_EQ(frame_name(LogOffer{}), "log_offer");
  EXPECT_EQ(frame_name(AdminState{}), "admin_state");
  EXPECT_EQ(frame_name(AdminProof{}), "admin_proof");
}

TEST(ProtocolTest, AdminStateRefusesBadGrantIdsAndTooManyRevocations) {
  const admin::AdminGrant grant{"ag_ok", "pk" + std::string(43, 'A'), 1, {}};
  EXPECT_TRUE(decode_exact(encode(AdminState{.grant = grant, .revoked = {"ag_x"}})).frame);
  for (const std::string& bad :
       {std::string(), std::string("ag_"), std::string("xx_abc"), std::string("ag_a/b"), "ag_" + std::string(62, 'a')}) {
    auto g = grant;
    g.grant_id = bad;
    EXPECT_FALSE(decode_exact(encode(AdminState{.grant = g})).frame) << bad;
    EXPECT_FALSE(decode_exact(encode(AdminState{.revoked = {bad}})).frame) << bad;
    EXPECT_FALSE(decode_exact(encode(AdminProof{g})).frame) << bad;
  }
  auto negative = grant;
  negative.expires_at_ms = -1;
  EXPECT_FALSE(decode_exact(encode(AdminState{.grant = negative})).frame) << "an expiry before 1970";
  EXPECT_TRUE(decode_exact(encode(AdminState{.revoked = std::vector<std::string>(admin::kMaxRevokedGrants, "ag_x")})).frame);
  EXPECT_FALSE(decode_exact(encode(AdminState{.revoked = std::vector<std::string>(admin::kMaxRevokedGrants + 1, "ag_x")})).frame);
}

TEST(ProtocolTest, WireLayoutIsBigEndianAsDocumented) {
  // Fixed bytes, so an encoder change that still round-trips with itself is caught.
  EXPECT_EQ(encode(Ack{.batch_id = 0x0102030405060708}),
            std::string("\0\0\0\x0d\x06\x01\x02\x03\x04\x05\x06\x07\x08\0\0\0\0", 17));
  EXPECT_EQ(encode(ErrorFrame{.code = "ab", .message = ""}), std::string("\0\0\0\x0b\x07\0\0\0\x02"
                                                                         "ab\0\0\0\0",
                                                                         15));
  EXPECT_EQ(encode(AuthResult{.ok = true, .reason = "x"}), std::string("\0\0\0\x07\x03\x01\0\0\0\x01x", 11));
}

TEST(ProtocolTest, ShortHeadersAreRefused) {
  const std::string ack = encode(Ack{.batch_id = 7});
  for (size_t n = 0; n < 5; ++n) {
    const auto got = decode_exact(std::string_view(ack).substr(0, n));
    EXPECT_FALSE(got.frame.has_value()) << n << " bytes";
    EXPECT_NE(got.error.find("5-byte header"), std::string::npos) << got.error;
  }
}

TEST(ProtocolTest, EveryTruncationOfEveryFrameIsRefused) {
  for (const auto& f : samples()) {
    SCOPED_TRACE(std::string(frame_name(f)));
    const std::string bytes = encode(f);
    for (size_t n = 0; n < bytes.size(); ++n) {
      // The prefix kept (it now claims more than arrived) ...
      const auto cut = decode_exact(std::string_view(bytes).substr(0, n));
      ASSERT_FALSE(cut.frame.has_value()) << "cut to " << n << " bytes";
      EXPECT_FALSE(cut.error.empty());
      // ... and fixed up to match, so only the payload is short.
      if (n < 5) continue;
      std::string fixed = bytes.substr(0, n);
      set_length(fixed, static_cast<uint32_t>(n - 4));
      const auto short_payload = decode_exact(fixed);
      ASSERT_FALSE(short_payload.frame.has_value()) << "payload cut to " << n - 5 << " bytes";
      EXPECT_NE(short_payload.error.find("malformed"), std::string::npos) << short_payload.error;
    }
  }
}

TEST(ProtocolTest, LengthThatDisagreesWithTheBytesIsRefused) {
  const std::string ack = encode(Ack{.batch_id = 7});
  for (const uint32_t len : {0u, 1u, 8u, 10u, 100u}) {
    std::string f = ack;
    set_length(f, len);
    const auto got = decode_exact(f);
    EXPECT_FALSE(got.frame.has_value()) << "length " << len;
    EXPECT_NE(got.error.find("does not match"), std::string::npos) << got.error;
  }
}

TEST(ProtocolTest, TrailingGarbageIsRefused) {
  for (const auto& f : samples()) {
    SCOPED_TRACE(std::string(frame_name(f)));
    std::string bytes = encode(f) + std::string("\0", 1);
    // Not counted in the prefix: the length does not match.
    EXPECT_FALSE(decode_exact(bytes).frame.has_value());
    // Counted in the prefix: a payload with bytes left over.
    set_length(bytes, static_cast<uint32_t>(bytes.size() - 4));
    const auto got = decode_exact(bytes);
    EXPECT_FALSE(got.frame.has_value());
    EXPECT_NE(got.error.find("malformed"), std::string::npos) << got.error;
  }
}

TEST(ProtocolTest, OversizedFramesAreRefusedBeforeReadingThem) {
  // Only the header arrived: the claimed size alone is refused.
  for (const uint32_t len : {kMaxFrameBytes + 1, std::numeric_limits<uint32_t>::max()}) {
    std::string header = be32(len) + "\x05";
    const auto got = decode_exact(header);
    EXPECT_FALSE(got.frame.has_value());
    EXPECT_NE(got.error.find("exceeds the limit"), std::string::npos) << got.error;
  }
}

// A docs frame of one document whose length prefix is exactly `len`, and the size of its JSON.
std::pair<std::string, size_t> docs_frame_of_length(uint32_t len) {
  Docs d{.batch_id = 1, .documents = {Document{.collection = "c", .id = "d"}}};
  const size_t json_size = len - (encode(d).size() - 4);
  d.documents[0].json.assign(json_size, 'j');
  return {encode(d), json_size};
}

TEST(ProtocolTest, FrameOfExactlyTheLimitIsAcceptedAndOneByteMoreIsNot) {
  const auto [at_limit, json_size] = docs_frame_of_length(kMaxFrameBytes);
  ASSERT_EQ(at_limit.size(), size_t{kMaxFrameBytes} + 4);
  const auto ok = decode_exact(at_limit);
  ASSERT_TRUE(ok.frame.has_value()) << ok.error;
  EXPECT_EQ(std::get<Docs>(*ok.frame).documents.at(0).json.size(), json_size);

  const auto over = decode_exact(docs_frame_of_length(kMaxFrameBytes + 1).first);
  EXPECT_FALSE(over.frame.has_value());
  EXPECT_NE(over.error.find("exceeds the limit"), std::string::npos) << over.error;
}

TEST(ProtocolTest, UnknownTypesAreRefused) {
  std::vector<int> unknown{0};
  for (int t = static_cast<int>(std::variant_size_v<Frame>) + 1; t <= 255; ++t) unknown.push_back(t);
  for (const int t : unknown) {
    const auto got = decode_exact(raw_frame(static_cast<uint8_t>(t), be64(1)));
    EXPECT_FALSE(got.frame.has_value()) << "type " << t;
    EXPECT_EQ(got.error, "unknown frame type " + std::to_string(t));
  }
}

TEST(ProtocolTest, StringLengthPastTheEndIsRefused) {
  // An error frame: code then message. The code's length claims one byte more than is left, or 4 GiB.
  const std::string rest = "ab" + be32(0);
  for (const uint32_t claimed : {static_cast<uint32_t>(rest.size() + 1), std::numeric_limits<uint32_t>::max()}) {
    const auto got = decode_exact(raw_frame(7, be32(claimed) + rest));
    EXPECT_FALSE(got.frame.has_value()) << "claimed " << claimed;
    EXPECT_NE(got.error.find("malformed"), std::string::npos) << got.error;
  }
  // A hello's platform string claims one byte more than the rest of the frame.
  std::string hello = encode(Hello{.platform = "linux"});
  const size_t platform_at = hello.find("linux");
  ASSERT_NE(platform_at, std::string::npos);
  hello.replace(platform_at - 4, 4, be32(static_cast<uint32_t>(hello.size() - platform_at + 1)));
  EXPECT_FALSE(decode_exact(hello).frame.has_value());
}

TEST(ProtocolTest, ListCountsBeyondThePayloadAreRefused) {
  // A count of 2^32-1 must be refused from the payload size, not trusted for an allocation.
  for (const uint32_t count : {1u, 2u, std::numeric_limits<uint32_t>::max()}) {
    EXPECT_FALSE(decode_exact(raw_frame(4, be32(count))).frame.has_value()) << "cursors count " << count;
    EXPECT_FALSE(decode_exact(raw_frame(5, be64(1) + be32(count))).frame.has_value()) << "docs count " << count;
  }
  // One cursor present but two claimed.
  const std::string cursor = str_field("cars") + be64(9);
  EXPECT_TRUE(decode_exact(raw_frame(4, be32(1) + cursor)).frame.has_value());
  EXPECT_FALSE(decode_exact(raw_frame(4, be32(2) + cursor)).frame.has_value());
}

TEST(ProtocolTest, BooleansAndRolesOtherThanZeroOrOneAreRefused) {
  // The hello's role byte follows its u16 version.
  const auto hello_with_role = [](uint8_t role) {
    std::string f = encode(Hello{});
    f[5 + 2] = static_cast<char>(role);
    return f;
  };
  const std::string docs_entry = str_field("c") + str_field("d") + be64(1) + str_field("o");
  for (const uint8_t bad : {uint8_t{2}, uint8_t{255}}) {
    const std::string b(1, static_cast<char>(bad));
    EXPECT_FALSE(decode_exact(hello_with_role(bad)).frame) << "hello role";
    EXPECT_FALSE(decode_exact(raw_frame(3, b + be32(0))).frame) << "auth_result ok";
    EXPECT_FALSE(decode_exact(raw_frame(5, be64(1) + be32(1) + docs_entry + b + be64(1) + be32(0))).frame) << "docs deleted";
    EXPECT_FALSE(decode_exact(raw_frame(10, str_field("r") + b + be32(0))).frame) << "log_result ok";
    EXPECT_FALSE(decode_exact(raw_frame(11, str_field("r") + be64(1) + b)).frame) << "log_offer device_initiated";
  }
  // The same frames with a 1 decode, so the refusals above are about the byte alone.
  const std::string one(1, '\1');
  EXPECT_TRUE(decode_exact(hello_with_role(1)).frame);
  EXPECT_TRUE(decode_exact(raw_frame(3, one + be32(0))).frame);
  EXPECT_TRUE(decode_exact(raw_frame(5, be64(1) + be32(1) + docs_entry + one + be64(1) + be32(0))).frame);
  EXPECT_TRUE(decode_exact(raw_frame(10, str_field("r") + one + be32(0))).frame);
  EXPECT_TRUE(decode_exact(raw_frame(11, str_field("r") + be64(1) + one)).frame);
}

TEST(ProtocolTest, LogRequestIdsAreCheckedOnEveryLogFrame) {
  EXPECT_TRUE(is_valid_log_request_id("a"));
  EXPECT_TRUE(is_valid_log_request_id("AZaz09_-"));
  EXPECT_TRUE(is_valid_log_request_id(std::string(64, 'x')));
  for (const std::string& bad : {std::string(), std::string(65, 'x'), std::string("a/b"), std::string(".."), std::string("a b"),
                                 std::string("a\0b", 3), std::string("caf\xc3\xa9"), std::string("a.b")}) {
    EXPECT_FALSE(is_valid_log_request_id(bad)) << bad;
    EXPECT_FALSE(decode_exact(encode(LogRequest{.request_id = bad, .filter = {.min_level = LogLevel::info}})).frame) << bad;
    EXPECT_FALSE(decode_exact(encode(LogChunk{.request_id = bad})).frame) << bad;
    EXPECT_FALSE(decode_exact(encode(LogResult{.request_id = bad})).frame) << bad;
    EXPECT_FALSE(decode_exact(encode(LogOffer{.request_id = bad})).frame) << bad;
  }
}

TEST(ProtocolTest, LogRequestLevelsOutsideOneToFiveAreRefused) {
  for (const uint8_t level : {uint8_t{1}, uint8_t{5}})
    EXPECT_TRUE(decode_exact(encode(LogRequest{.request_id = "r", .filter = {.min_level = static_cast<LogLevel>(level)}})).frame)
        << int{level};
  for (const uint8_t level : {uint8_t{0}, uint8_t{6}, uint8_t{255}})
    EXPECT_FALSE(decode_exact(encode(LogRequest{.request_id = "r", .filter = {.min_level = static_cast<LogLevel>(level)}})).frame)
        << int{level};
}

TEST(ProtocolTest, LogChunksStayInsideTheirBundle) {
  const auto decodes = [](LogChunk c) { return decode_exact(encode(c)).frame.has_value(); };
  EXPECT_TRUE(decodes({.request_id = "r", .offset = 0, .total = 0, .data = ""}));
  EXPECT_TRUE(decodes({.request_id = "r", .offset = 5, .total = 5, .data = ""}));
  EXPECT_TRUE(decodes({.request_id = "r", .offset = 0, .total = kMaxLogChunkBytes, .data = std::string(kMaxLogChunkBytes, 'd')}));
  EXPECT_FALSE(decodes({.request_id = "r", .offset = 0, .total = kU64Max, .data = std::string(kMaxLogChunkBytes + 1, 'd')}))
      << "a chunk over kMaxLogChunkBytes";
  EXPECT_FALSE(decodes({.request_id = "r", .offset = 6, .total = 5, .data = ""})) << "offset past the end";
  EXPECT_FALSE(decodes({.request_id = "r", .offset = 3, .total = 5, .data = "abc"})) << "data past the end";
  EXPECT_FALSE(decodes({.request_id = "r", .offset = kU64Max - 1, .total = kU64Max, .data = "ab"}))
      << "offset + size wraps around";
}

TEST(ProtocolTest, RandomlyCorruptedFramesNeverCrashAndDecodeCanonically) {
  // Whatever a stranger sends: a refusal with a message, or a frame that encodes back to the same bytes.
  std::mt19937 rng(16);
  const auto frames = samples();
  size_t accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string bytes = encode(frames[rng() % frames.size()]);
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % bytes.size();
      switch (rng() % 4) {
        case 0:
          bytes[at] = static_cast<char>(rng());
          break;
        case 1:
          bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8)));
          break;
        case 2:
          bytes.erase(at, 1 + rng() % 8);
          break;
        default:
          bytes.insert(at, 1 + rng() % 8, static_cast<char>(rng()));
      }
      if (bytes.empty()) bytes = "x";
    }
    if (rng() % 2 && bytes.size() >= 4) set_length(bytes, static_cast<uint32_t>(bytes.size() - 4));
    const auto got = decode_exact(bytes);
    if (got.frame) {
      ++accepted;
      ASSERT_EQ(encode(*got.frame), bytes) << "round " << round;
    } else {
      ASSERT_FALSE(got.error.empty()) << "round " << round;
    }
  }
  EXPECT_GT(accepted, 0u) << "some corruptions (a changed string byte) still make a valid frame";
}

std::string from_hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

TEST(ProtocolTest, AuthTranscriptIsBothHellosInTheProversOrder) {
  const Hello prover{.app_id = "app", .peer_key = "pkA", .nonce = filled<32>(1)};
  const Hello verifier{.role = PeerRole::big_peer, .app_id = "app", .peer_key = "pkB", .nonce = filled<32>(2)};
  const std::string t = auth_transcript(prover, verifier);
  EXPECT_EQ(t, "smallpeer/2 auth\n" + encode(prover) + encode(verifier));
  EXPECT_NE(auth_transcript(verifier, prover), t) << "a reflected AUTH covers a different transcript";
  Hello other_nonce = verifier;
  other_nonce.nonce[31] = 3;
  EXPECT_NE(auth_transcript(prover, other_nonce), t);
}

TEST(ProtocolTest, AuthProofIsTheDocumentedHmacAndVerifiesOnlyItsInputs) {
  // HMAC-SHA256(key = HMAC-SHA256(key = token, "smallpeer-auth-v2\n" + app id), transcript), computed
  // independently (Python's hmac), so both ends of the wire agree on the construction.
  const auto proof = auth_proof("secret-token", "app-1", "smallpeer/2 auth\nxyz");
  EXPECT_EQ(std::string(proof.begin(), proof.end()),
            from_hex("1cd0fb557ee5181606b3ac2f5534507bbd451784fe20135c56d49a752f15bb0c"));
  EXPECT_TRUE(verify_auth_proof("secret-token", "app-1", "smallpeer/2 auth\nxyz", proof));
  EXPECT_FALSE(verify_auth_proof("secret-tokeN", "app-1", "smallpeer/2 auth\nxyz", proof)) << "another token";
  EXPECT_FALSE(verify_auth_proof("secret-token", "app-2", "smallpeer/2 auth\nxyz", proof)) << "another app";
  EXPECT_FALSE(verify_auth_proof("secret-token", "app-1", "smallpeer/2 auth\nxyZ", proof)) << "another transcript";
  for (size_t byte = 0; byte < proof.size(); ++byte) {
    auto altered = proof;
    altered[byte] ^= 0x80;
    EXPECT_FALSE(verify_auth_proof("secret-token", "app-1", "smallpeer/2 auth\nxyz", altered)) << "byte " << byte;
  }
  const std::string wire = encode(Auth{.proof = proof});
  EXPECT_EQ(wire.find("secret-token"), std::string::npos) << "the token never crosses the wire";
}

}  // namespace
}  // namespace smallpeer::sync
