#include "sync_load.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "ditto/ditto.h"
#include "identity/identity.h"
#include "spi/small_peer_info_collector.h"
#include "support/temp_dir.h"
#include "sync/protocol.h"

namespace smallpeer::bench {

namespace {

// A session's reports count up from 10^18, so every sequence number has the same 19 digits (and
// stays a JSON int64) and is patched in place without padding: the document stays minified, as
// every SDK writes it. (Until 2026-12-06 the field was padded with JSON whitespace, which made the
// Big Peer minify every report, work a real device's report does not cause.)
constexpr uint64_t kFirstSequence = 1'000'000'000'000'000'000;
constexpr size_t kReadChunk = 16 * 1024;

uint64_t wall_millis() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

void put_be(char* at, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    at[bytes - 1 - i] = static_cast<char>((v >> (i * 8)) & 0xff);
  }
}

uint64_t get_be(const char* at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(at[i]);
  return v;
}

// A client WebSocket frame header (FIN, `opcode`, masked with the all-zero key, so the payload goes
// as it is: a valid mask that costs nothing to apply; this is a bench on loopback).
std::string ws_header(uint8_t opcode, size_t length) {
  std::string h;
  h.push_back(static_cast<char>(0x80 | opcode));
  if (length < 126) {
    h.push_back(static_cast<char>(0x80 | length));
  } else if (length < 65536) {
    h.push_back(static_cast<char>(0x80 | 126));
    h.resize(4);
    put_be(h.data() + 2, length, 2);
  } else {
    h.push_back(static_cast<char>(0x80 | 127));
    h.resize(10);
    put_be(h.data() + 2, length, 8);
  }
  h.append(4, '\0');
  return h;
}

std::string ws_message(const std::string& payload) {
  return ws_header(0x2, payload.size()) + payload;
}

// Per session: the document with this session's key and a fixed-width sequence field.
std::string session_document(const std::string& templ, const std::string& template_key, const std::string& key,
                             size_t& sequence_offset) {
  std::string doc = templ;
  for (size_t at = doc.find(template_key); at != std::string::npos; at = doc.find(template_key, at + key.size())) {
    doc.replace(at, template_key.size(), key);
  }
  const std::string field = "\"sequence\":";
  const auto at = doc.find(field);
  if (at == std::string::npos) throw std::runtime_error("the SPI document has no \"sequence\" field");
  const auto digits = at + field.size();
  auto end = digits;
  while (end < doc.size() && doc[end] >= '0' && doc[end] <= '9') ++end;
  doc.replace(digits, end - digits, std::to_string(kFirstSequence));
  sequence_offset = digits;
  return doc;
}

}  // namespace

std::string spi_document_key(const std::string& document) {
  const std::string id_field = "\"_id\":\"";
  const auto at = document.find(id_field);
  if (at == std::string::npos) throw std::invalid_argument("sync load: the SPI document has no \"_id\"");
  const auto end = document.find('"', at + id_field.size());
  std::string key = document.substr(at + id_field.size(), end - at - id_field.size());
  if (!PeerIdentity::is_valid_peer_key(key)) {
    throw std::invalid_argument("sync load: the SPI document's \"_id\" is not a peer key: " + key);
  }
  return key;
}

std::string sample_spi_document(const std::string& metadata_json) {
  test_support::TempDir dir("smallpeer-sync-load");
  DittoConfig config;
  config.persistence_dir = dir.path();
  config.device_name = "load-generator-sample";
  auto ditto = Ditto::open(config);
  auto& spi = ditto->small_peer_info();
  spi.set_metadata_json(metadata_json);
  spi.set_sync_scope(SyncScope::big_peer_only);
  std::string doc = spi.collect_now();
  ditto->close();
  return doc;
}

// One session's state.
struct Session {
  enum class State { upgrading, hello, auth, result, cursors, established, closed };
  int fd = -1;
  State state = State::upgrading;
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> public_key{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> secret_key{};
  std::string peer_key;
  sync::Hello own_hello;
  sync::Hello their_hello;
  bool result_sent = false;
  bool result_received = false;
  std::string in;       // bytes read and not yet parsed
  std::string out;      // bytes not yet written (the socket was full)
  std::string message;  // a fragmented WebSocket message being put together
  bool want_write = false;
  // The DOCS message, patched per send.
  std::string docs;
  size_t batch_at = 0, hlc_at = 0, stored_at = 0, sequence_at = 0;
  uint64_t next_batch = 1;
  uint64_t sequence = kFirstSequence - 1;  // the last one sent
  uint64_t last_hlc = 0;
  size_t outstanding = 0;
};

struct SyncLoad::Worker {
  SyncLoad& load;
  int epoll = -1;
  std::vector<Session> sessions;
  size_t next_to_connect = 0;
  size_t handshaking = 0;
  size_t handshake_cap = 0;
  bool sending = false;

  Worker(SyncLoad& owner, size_t count, size_t cap) : load(owner), sessions(count), handshake_cap(std::max<size_t>(1, cap)) {
    epoll = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll < 0) throw std::runtime_error(fmt::format("epoll_create1: {}", std::strerror(errno)));
    for (auto& s : sessions) {
      crypto_sign_keypair(s.public_key.data(), s.secret_key.data());
      s.peer_key = PeerIdentity::peer_key_for(s.public_key);
    }
  }
  ~Worker() {
    for (auto& s : sessions) {
      if (s.fd >= 0) ::close(s.fd);
    }
    if (epoll >= 0) ::close(epoll);
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void fail(Session& s, const std::string& reason) {
    if (s.state == Session::State::closed) return;
    if (s.state != Session::State::established) --handshaking;
    s.state = Session::State::closed;
    if (s.fd >= 0) {
      ::epoll_ctl(epoll, EPOLL_CTL_DEL, s.fd, nullptr);
      ::close(s.fd);
      s.fd = -1;
    }
    load.failed_.fetch_add(1);
    load.note_failure(fmt::format("session {}: {}", s.peer_key, reason));
  }

  void connect_next() {
    while (handshaking < handshake_cap && next_to_connect < sessions.size() && !load.stop_.load()) {
      const size_t index = next_to_connect++;
      Session& s = sessions[index];
      ++handshaking;
      s.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (s.fd < 0) {
        fail(s, fmt::format("socket: {}", std::strerror(errno)));
        continue;
      }
      const int one = 1;
      ::setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(load.options_.port);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
        fail(s, fmt::format("connect: {}", std::strerror(errno)));
        continue;
      }
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT;
      ev.data.u64 = index;
      s.want_write = true;
      if (::epoll_ctl(epoll, EPOLL_CTL_ADD, s.fd, &ev) != 0) {
        fail(s, fmt::format("epoll_ctl: {}", std::strerror(errno)));
        continue;
      }
      s.out = fmt::format(
          "GET /sync HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Key: c21hbGxwZWVyLWxvYWQtZ2Vu\r\nSec-WebSocket-Version: 13\r\n\r\n",
          load.options_.port);
    }
  }

  void set_write_interest(Session& s, size_t index, bool want) {
    if (s.want_write == want) return;
    s.want_write = want;
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0U);
    ev.data.u64 = index;
    ::epoll_ctl(epoll, EPOLL_CTL_MOD, s.fd, &ev);
  }

  // Writes `bytes` now if nothing waits, else queues them behind what waits.
  void write(Session& s, size_t index, const char* bytes, size_t size) {
    if (s.out.empty()) {
      const ssize_t n = ::send(s.fd, bytes, size, MSG_NOSIGNAL);
      if (n == static_cast<ssize_t>(size)) return;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        fail(s, fmt::format("send: {}", std::strerror(errno)));
        return;
      }
      const size_t done = n > 0 ? static_cast<size_t>(n) : 0;
      s.out.append(bytes + done, size - done);
      set_write_interest(s, index, true);
      return;
    }
    s.out.append(bytes, size);
  }

  void flush(Session& s, size_t index) {
    while (!s.out.empty()) {
      const ssize_t n = ::send(s.fd, s.out.data(), s.out.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        fail(s, fmt::format("send: {}", std::strerror(errno)));
        return;
      }
      s.out.erase(0, static_cast<size_t>(n));
    }
    set_write_interest(s, index, false);
  }

  void send_frame(Session& s, size_t index, const sync::Frame& frame) {
    const std::string message = ws_message(sync::encode(frame));
    write(s, index, message.data(), message.size());
  }

  // Patches the session's DOCS message (batch id, HLC, stored_at, sequence) and sends it.
  void send_docs(Session& s, size_t index) {
    const uint64_t hlc = std::max(s.last_hlc + 1, wall_millis() << 16);
    s.last_hlc = hlc;
    char* m = s.docs.data();
    put_be(m + s.batch_at, s.next_batch++, 8);
    put_be(m + s.hlc_at, hlc, 8);
    put_be(m + s.stored_at, hlc, 8);
    char digits[24];
    const int n = std::snprintf(digits, sizeof digits, "%llu", static_cast<unsigned long long>(++s.sequence));
    std::memcpy(m + s.sequence_at, digits, static_cast<size_t>(n));
    ++s.outstanding;
    load.sent_.fetch_add(1, std::memory_order_relaxed);
    write(s, index, s.docs.data(), s.docs.size());
  }

  void fill_window(Session& s, size_t index) {
    while (s.state == Session::State::established && s.outstanding < load.options_.window) send_docs(s, index);
  }

  void build_docs(Session& s) {
    size_t sequence_in_json = 0;
    sync::Docs docs;
    Document d;
    d.collection = std::string(kSmallPeerInfoCollection);
    d.id = s.peer_key;
    d.version.origin = s.peer_key;
    d.version.hlc.value = 1;
    d.stored_at.value = 1;
    d.json = session_document(load.options_.document, load.template_key_, s.peer_key, sequence_in_json);
    docs.batch_id = 1;
    docs.documents.push_back(d);
    const std::string frame = sync::encode(docs);
    const std::string header = ws_header(0x2, frame.size());
    s.docs = header + frame;
    const size_t base = header.size();
    s.batch_at = base + 5;
    size_t at = base + 5 + 8 + 4;
    at += 4 + d.collection.size();
    at += 4 + d.id.size();
    s.hlc_at = at;
    at += 8;
    at += 4 + d.version.origin.size();
    at += 1;
    s.stored_at = at;
    at += 8;
    at += 4;
    s.sequence_at = at + sequence_in_json;
    if (s.docs.compare(at, d.json.size(), d.json) != 0) throw std::logic_error("DOCS frame layout changed: update sync_load.cpp");
  }

  // One whole WebSocket message (a sync frame) arrived.
  void on_message(Session& s, size_t index, std::string_view payload) {
    if (s.state == Session::State::established && payload.size() >= 17 && payload[4] == static_cast<char>(sync::FrameType::ack)) {
      const auto refused = get_be(payload.data() + 13, 4);
      if (refused > 0) load.refused_.fetch_add(refused, std::memory_order_relaxed);
      load.acked_.fetch_add(1, std::memory_order_relaxed);
      if (s.outstanding > 0) --s.outstanding;
      if (sending) fill_window(s, index);
      return;
    }
    std::string error;
    auto frame = sync::decode(payload, error);
    if (!frame) return fail(s, "malformed frame from the Big Peer: " + error);
    if (const auto* e = std::get_if<sync::ErrorFrame>(&*frame)) return fail(s, "ERROR " + e->code + ": " + e->message);
    switch (s.state) {
      case Session::State::hello: {
        const auto* hello = std::get_if<sync::Hello>(&*frame);
        if (!hello) return fail(s, fmt::format("expected HELLO, got {}", sync::frame_name(*frame)));
        s.their_hello = *hello;
        const std::string transcript = sync::auth_transcript(s.own_hello, s.their_hello);
        sync::Auth auth;
        auth.proof = sync::auth_proof(load.options_.app_token, load.options_.app_id, transcript);
        crypto_sign_detached(auth.signature.data(), nullptr, reinterpret_cast<const unsigned char*>(transcript.data()),
                             transcript.size(), s.secret_key.data());
        send_frame(s, index, auth);
        s.state = Session::State::auth;
        return;
      }
      case Session::State::auth: {
        if (const auto* r = std::get_if<sync::AuthResult>(&*frame); r && !r->ok) return fail(s, "refused: " + r->reason);
        if (!std::holds_alternative<sync::Auth>(*frame))
          return fail(s, fmt::format("expected AUTH, got {}", sync::frame_name(*frame)));
        const auto& auth = std::get<sync::Auth>(*frame);
        const std::string transcript = sync::auth_transcript(s.their_hello, s.own_hello);
        if (!sync::verify_auth_proof(load.options_.app_token, load.options_.app_id, transcript, auth.proof)) {
          return fail(s, "the Big Peer's AUTH does not prove the app token");
        }
        send_frame(s, index, sync::AuthResult{true, ""});
        s.state = Session::State::result;
        return;
      }
      case Session::State::result: {
        const auto* r = std::get_if<sync::AuthResult>(&*frame);
        if (!r) return fail(s, fmt::format("expected AUTH_RESULT, got {}", sync::frame_name(*frame)));
        if (!r->ok) return fail(s, "refused: " + r->reason);
        send_frame(s, index, sync::Cursors{});
        s.state = Session::State::cursors;
        return;
      }
      case Session::State::cursors: {
        // ADMIN_STATE may come first (the Big Peer sends it once authenticated); a session that is
        // no admin device ignores it, as the engine's small peer does.
        if (std::holds_alternative<sync::AdminState>(*frame)) return;
        if (!std::holds_alternative<sync::Cursors>(*frame)) {
          return fail(s, fmt::format("expected CURSORS, got {}", sync::frame_name(*frame)));
        }
        build_docs(s);
        s.state = Session::State::established;
        --handshaking;
        load.established_.fetch_add(1);
        connect_next();
        if (sending) fill_window(s, index);
        return;
      }
      case Session::State::established: {
        if (const auto* docs = std::get_if<sync::Docs>(&*frame)) {
          send_frame(s, index, sync::Ack{docs->batch_id, {}});  // documents for this peer: taken as stored
        } else if (const auto* request = std::get_if<sync::LogRequest>(&*frame)) {
          send_frame(s, index, sync::LogResult{request->request_id, false, "a load generator session keeps no logs"});
        } else if (!std::holds_alternative<sync::Ack>(*frame) && !std::holds_alternative<sync::LogResult>(*frame) &&
                   !std::holds_alternative<sync::AdminState>(*frame)) {  // again whenever a grant changes: ignored
          return fail(s, fmt::format("unexpected {} from the Big Peer", sync::frame_name(*frame)));
        }
        return;
      }
      default:
        return fail(s, fmt::format("unexpected {} before the WebSocket upgrade", sync::frame_name(*frame)));
    }
  }

  // Parses whole WebSocket frames (server frames are never masked) out of `s.in`.
  void parse(Session& s, size_t index) {
    size_t pos = 0;
    if (s.state == Session::State::upgrading) {
      const auto end = s.in.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (s.in.size() > 8192) fail(s, "the WebSocket upgrade answer is too long");
        return;
      }
      if (s.in.compare(0, 12, "HTTP/1.1 101") != 0) {
        return fail(s, "WebSocket upgrade refused: " + s.in.substr(0, s.in.find("\r\n")));
      }
      pos = end + 4;
      s.state = Session::State::hello;
      s.own_hello.app_id = load.options_.app_id;
      s.own_hello.peer_key = s.peer_key;
      s.own_hello.device_name = "load-generator";
      s.own_hello.sdk_language = "C";
      s.own_hello.sdk_version = "bench";
      s.own_hello.platform = "Linux";
      randombytes_buf(s.own_hello.nonce.data(), s.own_hello.nonce.size());
      send_frame(s, index, s.own_hello);
    }
    while (s.state != Session::State::closed) {
      const size_t avail = s.in.size() - pos;
      if (avail < 2) break;
      const auto* p = reinterpret_cast<const unsigned char*>(s.in.data() + pos);
      const bool fin = (p[0] & 0x80) != 0;
      const uint8_t opcode = p[0] & 0x0f;
      if ((p[1] & 0x80) != 0) return fail(s, "the Big Peer sent a masked WebSocket frame");
      uint64_t length = p[1] & 0x7f;
      size_t header = 2;
      if (length == 126) {
        if (avail < 4) break;
        length = get_be(s.in.data() + pos + 2, 2);
        header = 4;
      } else if (length == 127) {
        if (avail < 10) break;
        length = get_be(s.in.data() + pos + 2, 8);
        header = 10;
      }
      if (length > sync::kMaxFrameBytes + 16) return fail(s, fmt::format("a {}-byte WebSocket frame", length));
      if (avail < header + length) break;
      const std::string_view payload(s.in.data() + pos + header, length);
      pos += header + length;
      if (opcode == 0x9) {  // ping: answer with a pong carrying the same bytes
        const std::string pong = ws_header(0xA, payload.size()) + std::string(payload);
        write(s, index, pong.data(), pong.size());
      } else if (opcode == 0x8) {
        return fail(s, "the Big Peer closed the WebSocket");
      } else if (opcode == 0x0 || opcode == 0x1 || opcode == 0x2) {
        if (fin && s.message.empty()) {
          on_message(s, index, payload);
        } else {
          s.message.append(payload);
          if (fin) {
            const std::string whole = std::move(s.message);
            s.message.clear();
            on_message(s, index, whole);
          }
        }
      }
    }
    if (s.state != Session::State::closed) s.in.erase(0, pos);
  }

  void on_readable(Session& s, size_t index) {
    for (;;) {
      const size_t old = s.in.size();
      s.in.resize(old + kReadChunk);
      const ssize_t n = ::recv(s.fd, s.in.data() + old, kReadChunk, 0);
      if (n <= 0) {
        s.in.resize(old);
        if (n == 0) return fail(s, "the Big Peer closed the connection");
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        return fail(s, fmt::format("recv: {}", std::strerror(errno)));
      }
      s.in.resize(old + static_cast<size_t>(n));
      parse(s, index);
      if (s.state == Session::State::closed || static_cast<size_t>(n) < kReadChunk) return;
    }
  }

  void run() {
    connect_next();
    std::vector<epoll_event> events(256);
    while (!load.stop_.load(std::memory_order_relaxed)) {
      if (!sending && load.sending_.load()) {
        sending = true;
        for (size_t i = 0; i < sessions.size(); ++i) fill_window(sessions[i], i);
      }
      const int n = ::epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 20);
      for (int e = 0; e < n; ++e) {
        const auto index = static_cast<size_t>(events[e].data.u64);
        Session& s = sessions[index];
        if (s.state == Session::State::closed) continue;
        if ((events[e].events & (EPOLLERR | EPOLLHUP)) != 0 && (events[e].events & EPOLLIN) == 0) {
          int error = 0;
          socklen_t len = sizeof error;
          ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &error, &len);
          fail(s, fmt::format("connection failed: {}", std::strerror(error)));
          continue;
        }
        if ((events[e].events & EPOLLOUT) != 0) flush(s, index);
        if (s.state != Session::State::closed && (events[e].events & EPOLLIN) != 0) on_readable(s, index);
      }
      connect_next();
    }
  }
};

SyncLoad::SyncLoad(SyncLoadOptions options) : options_(std::move(options)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  if (options_.port == 0) throw std::invalid_argument("sync load: no Big Peer port");
  if (options_.connections == 0) throw std::invalid_argument("sync load: --connections must be at least 1");
  if (options_.window == 0) throw std::invalid_argument("sync load: --window must be at least 1");
  if (options_.threads == 0 || options_.threads > 64) throw std::invalid_argument("sync load: --threads must be 1-64");
  if (options_.document.empty()) throw std::invalid_argument("sync load: no SPI document to send");
  template_key_ = spi_document_key(options_.document);  // replaced by each session's
  size_t ignored = 0;
  document_bytes_ = session_document(options_.document, template_key_, template_key_, ignored).size();
  const size_t per_thread = (options_.connections + options_.threads - 1) / options_.threads;
  size_t left = options_.connections;
  for (size_t t = 0; t < options_.threads && left > 0; ++t) {
    const size_t count = std::min(per_thread, left);
    left -= count;
    workers_.push_back(std::make_unique<Worker>(*this, count, options_.handshakes_in_flight / options_.threads));
  }
  for (auto& w : workers_) threads_.emplace_back([worker = w.get()] { worker->run(); });
}

SyncLoad::~SyncLoad() {
  stop_.store(true);
  for (auto& t : threads_) t.join();
}

void SyncLoad::wait_established(std::chrono::seconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (established_.load() < options_.connections) {
    if (failed_.load() > 0) throw std::runtime_error("sync load: " + first_failure());
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error(fmt::format("sync load: only {} of {} sessions established after {} s", established_.load(),
                                           options_.connections, timeout.count()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void SyncLoad::start_sending() {
  sending_.store(true);
}

std::string SyncLoad::first_failure() const {
  const std::lock_guard lock(failure_mutex_);
  return first_failure_;
}

void SyncLoad::note_failure(const std::string& reason) {
  const std::lock_guard lock(failure_mutex_);
  if (first_failure_.empty()) first_failure_ = reason;
}

}  // namespace smallpeer::bench
