#include "sync/protocol.h"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>

namespace smallpeer::sync {

namespace {

class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(uint16_t v) { be(v, 2); }
  void u32(uint32_t v) { be(v, 4); }
  void u64(uint64_t v) { be(v, 8); }
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  template <size_t N>
  void bytes(const std::array<unsigned char, N>& b) {
    out_.append(reinterpret_cast<const char*>(b.data()), N);
  }
  std::string finish(FrameType type) {
    std::string frame;
    frame.reserve(out_.size() + 5);
    const auto len = static_cast<uint32_t>(out_.size() + 1);
    for (int i = 3; i >= 0; --i) frame.push_back(static_cast<char>((len >> (i * 8)) & 0xff));
    frame.push_back(static_cast<char>(type));
    frame += out_;
    return frame;
  }

 private:
  void be(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
  }
  std::string out_;
};

// Reads fields in order; the first short read marks the whole payload malformed.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  uint8_t u8() { return static_cast<uint8_t>(be(1)); }
  uint16_t u16() { return static_cast<uint16_t>(be(2)); }
  uint32_t u32() { return static_cast<uint32_t>(be(4)); }
  uint64_t u64() { return be(8); }
  std::string str() {
    const uint32_t n = u32();
    if (!ok_ || n > in_.size() - pos_) return fail<std::string>();
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  template <size_t N>
  std::array<unsigned char, N> bytes() {
    std::array<unsigned char, N> b{};
    if (!ok_ || N > in_.size() - pos_) return fail<std::array<unsigned char, N>>();
    std::copy_n(reinterpret_cast<const unsigned char*>(in_.data() + pos_), N, b.begin());
    pos_ += N;
    return b;
  }
  // A count of items that each take at least `min_item_bytes`: refuses counts the payload cannot hold.
  uint32_t count(size_t min_item_bytes) {
    const uint32_t n = u32();
    if (!ok_ || static_cast<uint64_t>(n) * min_item_bytes > in_.size() - pos_) return fail<uint32_t>();
    return n;
  }
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] bool at_end() const { return pos_ == in_.size(); }

 private:
  uint64_t be(size_t n) {
    if (!ok_ || n > in_.size() - pos_) return fail<uint64_t>();
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(in_[pos_ + i]);
    pos_ += n;
    return v;
  }
  template <typename T>
  T fail() {
    ok_ = false;
    return T{};
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

struct Encoder {
  std::string operator()(const Hello& h) const {
    Writer w;
    w.u16(h.protocol_version);
    w.u8(h.role == PeerRole::big_peer ? 1 : 0);
    for (const auto* s : {&h.app_id, &h.peer_key, &h.device_name, &h.sdk_language, &h.sdk_version, &h.platform}) w.str(*s);
    w.bytes(h.nonce);
    return w.finish(FrameType::hello);
  }
  std::string operator()(const Auth& a) const {
    Writer w;
    w.bytes(a.proof);
    w.bytes(a.signature);
    return w.finish(FrameType::auth);
  }
  std::string operator()(const AuthResult& r) const {
    Writer w;
    w.u8(r.ok ? 1 : 0);
    w.str(r.reason);
    return w.finish(FrameType::auth_result);
  }
  std::string operator()(const Cursors& c) const {
    Writer w;
    w.u32(static_cast<uint32_t>(c.since.size()));
    for (const auto& [collection, hlc] : c.since) {
      w.str(collection);
      w.u64(hlc.value);
    }
    return w.finish(FrameType::cursors);
  }
  std::string operator()(const Docs& d) const {
    Writer w;
    w.u64(d.batch_id);
    w.u32(static_cast<uint32_t>(d.documents.size()));
    for (const auto& doc : d.documents) {
      w.str(doc.collection);
      w.str(doc.id);
      w.u64(doc.version.hlc.value);
      w.str(doc.version.origin);
      w.u8(doc.deleted ? 1 : 0);
      w.u64(doc.stored_at.value);
      w.str(doc.json);
    }
    return w.finish(FrameType::docs);
  }
  std::string operator()(const Ack& a) const {
    Writer w;
    w.u64(a.batch_id);
    w.u32(static_cast<uint32_t>(a.refused.size()));
    for (const auto& refusal : a.refused) {
      w.str(refusal.collection);
      w.str(refusal.id);
      w.str(refusal.reason);
    }
    return w.finish(FrameType::ack);
  }
  std::string operator()(const ErrorFrame& e) const {
    Writer w;
    w.str(e.code);
    w.str(e.message);
    return w.finish(FrameType::error);
  }
  std::string operator()(const LogRequest& q) const {
    Writer w;
    w.str(q.request_id);
    w.u8(static_cast<uint8_t>(q.filter.min_level));
    w.str(format_rfc3339(q.filter.since).value_or(""));
    w.str(format_rfc3339(q.filter.until).value_or(""));
    w.u64(q.filter.max_bytes.value_or(0));
    w.u64(q.resume_offset);
    return w.finish(FrameType::log_request);
  }
  std::string operator()(const LogChunk& c) const {
    Writer w;
    w.str(c.request_id);
    w.u64(c.offset);
    w.u64(c.total);
    w.str(c.data);
    return w.finish(FrameType::log_chunk);
  }
  std::string operator()(const LogResult& r) const {
    Writer w;
    w.str(r.request_id);
    w.u8(r.ok ? 1 : 0);
    w.str(r.reason);
    return w.finish(FrameType::log_result);
  }
  std::string operator()(const LogOffer& o) const {
    Writer w;
    w.str(o.request_id);
    w.u64(o.total);
    w.u8(o.device_initiated ? 1 : 0);
    return w.finish(FrameType::log_offer);
  }
  std::string operator()(const AdminState& a) const {
    Writer w;
    w.bytes(a.signing_key);
    w.u8(a.grant ? 1 : 0);
    if (a.grant) grant(w, *a.grant);
    w.u32(static_cast<uint32_t>(a.revoked.size()));
    for (const auto& id : a.revoked) w.str(id);
    return w.finish(FrameType::admin_state);
  }
  std::string operator()(const AdminProof& p) const {
    Writer w;
    grant(w, p.grant);
    return w.finish(FrameType::admin_proof);
  }
  static void grant(Writer& w, const admin::AdminGrant& g) {
    w.str(g.grant_id);
    w.str(g.peer_key);
    w.u64(static_cast<uint64_t>(g.expires_at_ms));
    w.bytes(g.signature);
  }
};

// The smallest encoded sizes, so a forged count cannot make us allocate more than the frame holds.
constexpr size_t kMinCursorBytes = 4 + 8;
constexpr size_t kMinDocBytes = 4 + 4 + 8 + 4 + 1 + 8 + 4;

// A grant's fields; nullopt for a malformed id or an expiry before 1970 (a short read is the caller's).
std::optional<admin::AdminGrant> read_grant(Reader& r) {
  admin::AdminGrant g;
  g.grant_id = r.str();
  g.peer_key = r.str();
  g.expires_at_ms = static_cast<int64_t>(r.u64());
  g.signature = r.bytes<64>();
  if (r.ok() && (!admin::is_valid_grant_id(g.grant_id) || g.expires_at_ms < 0)) return std::nullopt;
  return g;
}

std::optional<Frame> decode_payload(FrameType type, Reader& r) {
  switch (type) {
    case FrameType::hello: {
      Hello h;
      h.protocol_version = r.u16();
      const uint8_t role = r.u8();
      if (role > 1) return std::nullopt;
      h.role = role == 1 ? PeerRole::big_peer : PeerRole::small_peer;
      for (auto* s : {&h.app_id, &h.peer_key, &h.device_name, &h.sdk_language, &h.sdk_version, &h.platform}) *s = r.str();
      h.nonce = r.bytes<32>();
      return h;
    }
    case FrameType::auth: {
      Auth a;
      a.proof = r.bytes<kAuthProofBytes>();
      a.signature = r.bytes<64>();
      return a;
    }
    case FrameType::auth_result: {
      AuthResult res;
      const uint8_t ok = r.u8();
      if (ok > 1) return std::nullopt;
      res.ok = ok == 1;
      res.reason = r.str();
      return res;
    }
    case FrameType::cursors: {
      Cursors c;
      const uint32_t n = r.count(kMinCursorBytes);
      c.since.reserve(n);
      for (uint32_t i = 0; i < n && r.ok(); ++i) {
        auto collection = r.str();
        c.since.emplace_back(std::move(collection), HlcTimestamp{r.u64()});
      }
      return c;
    }
    case FrameType::docs: {
      Docs d;
      d.batch_id = r.u64();
      const uint32_t n = r.count(kMinDocBytes);
      d.documents.reserve(n);
      for (uint32_t i = 0; i < n && r.ok(); ++i) {
        Document doc;
        doc.collection = r.str();
        doc.id = r.str();
        doc.version.hlc = HlcTimestamp{r.u64()};
        doc.version.origin = r.str();
        const uint8_t deleted = r.u8();
        if (deleted > 1) return std::nullopt;
        doc.deleted = deleted == 1;
        doc.stored_at = HlcTimestamp{r.u64()};
        doc.json = r.str();
        d.documents.push_back(std::move(doc));
      }
      return d;
    }
    case FrameType::ack: {
      Ack a{r.u64(), {}};
      const uint32_t n = r.count(12);  // three string lengths each
      a.refused.reserve(n);
      for (uint32_t i = 0; i < n && r.ok(); ++i) {
        DocumentRefusal refusal;
        refusal.collection = r.str();
        refusal.id = r.str();
        refusal.reason = r.str();
        a.refused.push_back(std::move(refusal));
      }
      return a;
    }
    case FrameType::error: {
      ErrorFrame e;
      e.code = r.str();
      e.message = r.str();
      return e;
    }
    case FrameType::log_request: {
      LogRequest q;
      q.request_id = r.str();
      q.filter.min_level = static_cast<LogLevel>(r.u8());
      const std::string since = r.str();
      const std::string until = r.str();
      if (const uint64_t max_bytes = r.u64(); max_bytes > 0) q.filter.max_bytes = max_bytes;
      q.resume_offset = r.u64();
      if (!r.ok()) return q;  // decode() reports the short payload
      // The filter's own rules: "" is no bound, anything else must be an RFC 3339 time.
      for (const auto& [text, bound] : {std::pair{&since, &q.filter.since}, std::pair{&until, &q.filter.until}}) {
        if (text->empty()) continue;
        *bound = parse_rfc3339(*text);
        if (!*bound) return std::nullopt;
      }
      if (!is_valid_log_request_id(q.request_id) || !q.filter.problem().empty()) return std::nullopt;
      return q;
    }
    case FrameType::log_chunk: {
      LogChunk c;
      c.request_id = r.str();
      c.offset = r.u64();
      c.total = r.u64();
      c.data = r.str();
      if (r.ok() && (!is_valid_log_request_id(c.request_id) || c.data.size() > kMaxLogChunkBytes || c.offset > c.total ||
                     c.data.size() > c.total - c.offset)) {
        return std::nullopt;
      }
      return c;
    }
    case FrameType::log_result: {
      LogResult res;
      res.request_id = r.str();
      const uint8_t ok = r.u8();
      if (ok > 1) return std::nullopt;
      res.ok = ok == 1;
      res.reason = r.str();
      if (r.ok() && !is_valid_log_request_id(res.request_id)) return std::nullopt;
      return res;
    }
    case FrameType::log_offer: {
      LogOffer o;
      o.request_id = r.str();
      o.total = r.u64();
      const uint8_t device = r.u8();
      if (device > 1) return std::nullopt;
      o.device_initiated = device == 1;
      if (r.ok() && !is_valid_log_request_id(o.request_id)) return std::nullopt;
      return o;
    }
    case FrameType::admin_state: {
      AdminState a;
      a.signing_key = r.bytes<32>();
      const uint8_t has_grant = r.u8();
      if (has_grant > 1) return std::nullopt;
      if (has_grant == 1) {
        a.grant = read_grant(r);
        if (!a.grant) return std::nullopt;
      }
      const uint32_t n = r.count(4);
      if (n > admin::kMaxRevokedGrants) return std::nullopt;
      a.revoked.reserve(n);
      for (uint32_t i = 0; i < n && r.ok(); ++i) {
        a.revoked.push_back(r.str());
        if (r.ok() && !admin::is_valid_grant_id(a.revoked.back())) return std::nullopt;
      }
      return a;
    }
    case FrameType::admin_proof: {
      auto g = read_grant(r);
      if (!g) return std::nullopt;
      return AdminProof{std::move(*g)};
    }
  }
  return std::nullopt;
}

}  // namespace

bool is_valid_log_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string encode(const Frame& frame) {
  return std::visit(Encoder{}, frame);
}

std::optional<Frame> decode(std::string_view bytes, std::string& error) {
  if (bytes.size() < 5) {
    error = "frame shorter than its 5-byte header";
    return std::nullopt;
  }
  Reader header(bytes.substr(0, 4));
  const uint32_t len = header.u32();
  if (len > kMaxFrameBytes) {
    error = fmt::format("frame of {} bytes exceeds the limit of {} bytes", len, kMaxFrameBytes);
    return std::nullopt;
  }
  if (len != bytes.size() - 4) {
    error = fmt::format("frame length {} does not match the {} bytes received", len, bytes.size() - 4);
    return std::nullopt;
  }
  const auto type = static_cast<uint8_t>(bytes[4]);
  if (type < static_cast<uint8_t>(FrameType::hello) || type > static_cast<uint8_t>(FrameType::admin_proof)) {
    error = fmt::format("unknown frame type {}", type);
    return std::nullopt;
  }
  Reader r(bytes.substr(5));
  auto frame = decode_payload(static_cast<FrameType>(type), r);
  if (!frame || !r.ok() || !r.at_end()) {
    error = fmt::format("malformed {} frame", frame ? frame_name(*frame) : std::string_view("payload of a"));
    return std::nullopt;
  }
  return frame;
}

std::string auth_transcript(const Hello& prover, const Hello& verifier) {
  std::string t = "smallpeer/2 auth\n";
  t += encode(prover);
  t += encode(verifier);
  return t;
}

std::array<unsigned char, kAuthProofBytes> auth_proof(std::string_view app_token, std::string_view app_id,
                                                      std::string_view transcript) {
  static_assert(kAuthProofBytes == crypto_auth_hmacsha256_BYTES && crypto_auth_hmacsha256_KEYBYTES == kAuthProofBytes);
  // The key: HMAC(token, label + app id), so the token itself is only ever an HMAC key.
  const std::string label = "smallpeer-auth-v2\n" + std::string(app_id);
  std::array<unsigned char, crypto_auth_hmacsha256_KEYBYTES> key{};
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(app_token.data()), app_token.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(label.data()), label.size());
  crypto_auth_hmacsha256_final(&state, key.data());
  std::array<unsigned char, kAuthProofBytes> proof{};
  crypto_auth_hmacsha256(proof.data(), reinterpret_cast<const unsigned char*>(transcript.data()), transcript.size(), key.data());
  sodium_memzero(key.data(), key.size());
  sodium_memzero(&state, sizeof state);
  return proof;
}

bool verify_auth_proof(std::string_view app_token, std::string_view app_id, std::string_view transcript,
                       const std::array<unsigned char, kAuthProofBytes>& proof) {
  const auto expected = auth_proof(app_token, app_id, transcript);
  return crypto_verify_32(expected.data(), proof.data()) == 0;
}

std::string_view frame_name(const Frame& frame) {
  static constexpr std::string_view kNames[] = {"hello",     "auth",        "auth_result", "cursors",   "docs",
                                                "ack",       "error",       "log_request", "log_chunk", "log_result",
                                                "log_offer", "admin_state", "admin_proof"};
  static_assert(std::size(kNames) == std::variant_size_v<Frame>, "every frame type has a name");
  return kNames[frame.index()];
}

}  // namespace smallpeer::sync
