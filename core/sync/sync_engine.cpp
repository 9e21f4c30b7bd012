#include "sync/sync_engine.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <condition_variable>
#include <random>

#include "admin/admin_grant.h"
#include "common/error.h"
#include "common/json.h"
#include "spi/small_peer_info_collector.h"
#include "sync/channel.h"
#include "sync/session.h"

namespace smallpeer::sync {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
constexpr std::chrono::seconds kConnectTimeout{10};

std::vector<std::string> string_array(simdjson::dom::element value, std::string_view field) {
  simdjson::dom::array array;
  if (value.get(array)) {
    throw Error(ErrorCode::invalid_argument, fmt::format("transport config field '{}' must be an array of strings", field));
  }
  std::vector<std::string> out;
  for (auto item : array) {
    std::string_view s;
    if (item.get(s)) {
      throw Error(ErrorCode::invalid_argument, fmt::format("transport config field '{}' must be an array of strings", field));
    }
    out.emplace_back(s);
  }
  return out;
}

template <typename F>
void for_each_field(simdjson::dom::element value, std::string_view where, F&& f) {
  simdjson::dom::object obj;
  if (value.get(obj)) {
    throw Error(ErrorCode::invalid_argument, fmt::format("transport config field '{}' must be an object", where));
  }
  for (auto field : obj) f(std::string_view(field.key), field.value);
}

std::mt19937& random_engine() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return rng;
}

// +-20% jitter, so a fleet that lost the Big Peer together does not come back in lockstep.
std::chrono::milliseconds jittered(std::chrono::milliseconds d) {
  std::uniform_real_distribution<double> factor(0.8, 1.2);
  return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(d.count()) * factor(random_engine())));
}
}  // namespace

size_t preferred_big_peer_index(std::string_view peer_key, size_t url_count) {
  if (url_count == 0) return 0;
  // FNV-1a: stable across runs and platforms; peer keys are random, so a fleet spreads evenly.
  uint64_t hash = 14695981039346656037ULL;
  for (const unsigned char c : peer_key) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return static_cast<size_t>(hash % url_count);
}

std::chrono::milliseconds big_peer_retry_delay(const Backoff& backoff, size_t failures, size_t url_count) {
  if (failures == 0) return std::chrono::milliseconds(0);
  // Every node is tried once at each back-off level before the level doubles.
  const size_t level = (failures - 1) / std::max<size_t>(1, url_count);
  auto delay = backoff.initial;
  for (size_t i = 0; i < level && delay < backoff.max; ++i) delay *= 2;
  return std::min(delay, backoff.max);
}

namespace {}  // namespace

TransportConfig TransportConfig::parse(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root)) {
    throw Error(ErrorCode::invalid_argument, fmt::format("transport config is not valid JSON: {}", simdjson::error_message(err)));
  }
  TransportConfig config;
  for_each_field(root, "(root)", [&](std::string_view key, simdjson::dom::element value) {
    if (key == "big_peer") {
      for_each_field(value, "big_peer", [&](std::string_view k, simdjson::dom::element v) {
        if (k == "urls") {
          config.big_peer_urls = string_array(v, "big_peer.urls");
          for (const auto& url : config.big_peer_urls) parse_websocket_url(url);
        } else if (k == "ca_file") {
          std::string_view ca;
          if (v.get(ca)) throw Error(ErrorCode::invalid_argument, "transport config field 'big_peer.ca_file' must be a string");
          config.ca_file = std::string(ca);
        } else {
          throw Error(ErrorCode::invalid_argument, fmt::format("unknown transport config field 'big_peer.{}'", k));
        }
      });
    } else if (key == "lan") {
      for_each_field(value, "lan", [&](std::string_view k, simdjson::dom::element v) {
        if (k == "listen") {
          if (v.is_null()) return;
          std::string_view listen;
          if (v.get(listen)) {
            throw Error(ErrorCode::invalid_argument, "transport config field 'lan.listen' must be \"host:port\" or null");
          }
          // A listener binds an interface: its host must be an IP address, refused here rather than at start.
          boost::system::error_code ec;
          boost::asio::ip::make_address(parse_host_port(listen).first, ec);
          if (ec) throw Error(ErrorCode::invalid_argument, fmt::format("lan.listen '{}' must be an IP address and port", listen));
          config.lan_listen = std::string(listen);
        } else if (k == "connect") {
          config.lan_connect = string_array(v, "lan.connect");
          for (const auto& address : config.lan_connect) parse_host_port(address);
        } else if (k == "max_handshakes" || k == "max_handshakes_per_address") {
          uint64_t n = 0;
          if (v.get(n) || n < 1 || n > 100'000) {
            throw Error(ErrorCode::invalid_argument,
                        fmt::format("transport config field 'lan.{}' must be an integer from 1 to 100000", k));
          }
          (k == "max_handshakes" ? config.lan_handshakes.total : config.lan_handshakes.per_address) = n;
        } else {
          throw Error(ErrorCode::invalid_argument, fmt::format("unknown transport config field 'lan.{}'", k));
        }
      });
    } else if (key == "log_upload") {
      for_each_field(value, "log_upload", [&](std::string_view k, simdjson::dom::element v) {
        uint64_t n = 0;
        if (k == "chunk_bytes") {
          if (v.get(n) || n < 1024 || n > kMaxLogChunkBytes) {
            throw Error(ErrorCode::invalid_argument,
                        fmt::format("transport config field 'log_upload.chunk_bytes' must be an integer from 1024 to {}",
                                    kMaxLogChunkBytes));
          }
          config.log_upload.chunk_bytes = static_cast<uint32_t>(n);
        } else if (k == "max_bytes_per_second") {
          if (v.get(n)) {
            throw Error(ErrorCode::invalid_argument,
                        "transport config field 'log_upload.max_bytes_per_second' must be a non-negative integer (0: no cap)");
          }
          config.log_upload.max_bytes_per_second = n;
        } else {
          throw Error(ErrorCode::invalid_argument, fmt::format("unknown transport config field 'log_upload.{}'", k));
        }
      });
    } else {
      throw Error(ErrorCode::invalid_argument, fmt::format("unknown transport config field '{}'", key));
    }
  });
  return config;
}

std::string TransportConfig::to_json() const {
  JsonWriter w;
  w.begin_object().key("big_peer").begin_object().key("urls").begin_array();
  for (const auto& url : big_peer_urls) w.value(url);
  w.end_array();
  if (!ca_file.empty()) w.key("ca_file").value(ca_file);
  w.end_object().key("lan").begin_object().key("listen");
  if (lan_listen) {
    w.value(*lan_listen);
  } else {
    w.null();
  }
  w.key("connect").begin_array();
  for (const auto& address : lan_connect) w.value(address);
  w.end_array();
  if (const TransportConfig defaults; lan_handshakes.total != defaults.lan_handshakes.total ||
                                      lan_handshakes.per_address != defaults.lan_handshakes.per_address) {
    w.key("max_handshakes").value(static_cast<uint64_t>(lan_handshakes.total));
    w.key("max_handshakes_per_address").value(static_cast<uint64_t>(lan_handshakes.per_address));
  }
  w.end_object();
  const LogUploadSettings defaults;
  if (log_upload.chunk_bytes != defaults.chunk_bytes || log_upload.max_bytes_per_second != defaults.max_bytes_per_second) {
    w.key("log_upload").begin_object().key("chunk_bytes").value(static_cast<uint64_t>(log_upload.chunk_bytes));
    w.key("max_bytes_per_second").value(log_upload.max_bytes_per_second).end_object();
  }
  w.end_object();
  return w.take();
}

struct SyncEngine::State : std::enable_shared_from_this<SyncEngine::State> {
  // One outgoing target, reconnected with back-off for as long as the engine runs.
  struct Connector : std::enable_shared_from_this<Connector> {
    std::weak_ptr<State> state;
    uint64_t generation = 0;
    bool big_peer = false;
    // Big Peer: the nodes of big_peer.urls, one session at a time (docs/SYNC.md, "Several Big
    // Peer URLs"); `index` is the one in use, `failures` the attempts failed since the last session.
    std::vector<WebSocketUrl> urls;
    size_t index = 0;
    size_t failures = 0;
    bool move_now = false;  // the last session ended with ERROR "moving"
    std::string host;
    uint16_t port = 0;
    std::chrono::milliseconds delay{0};
    std::unique_ptr<net::steady_timer> timer;
  };

  SyncDependencies deps;
  Backoff backoff;
  std::shared_ptr<Runtime> runtime = Runtime::shared();
  mutable std::mutex mutex;
  std::condition_variable sessions_ended;
  TransportConfig config;
  std::string config_json = TransportConfig{}.to_json();  // config.to_json(), kept: every SPI report reads it
  bool running = false;
  uint64_t generation = 0;  // bumped by stop(): callbacks of an older generation do nothing
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<HandshakeAdmission> lan_admission;  // with the acceptor: its caps on strangers
  AcceptBackoff accept_backoff;                       // only touched by the one accept in flight
  std::unique_ptr<net::steady_timer> accept_timer;    // the wait after a failed accept
  uint16_t lan_port = 0;
  std::set<std::shared_ptr<Session>> sessions;
  // Sessions between the generation check in start_session and their insertion into `sessions`:
  // stop() waits for these too, or a connection completing while it runs would start a session
  // it never saw, on a store the owner frees once stop() returns.
  size_t starting = 0;
  // Connection attempts inside attempt(): stop() waits for these too. Opening a connection builds
  // its TLS context (loading the system trust store can take a second on a slow device); one still
  // running once the owner closed could outlive the process's OpenSSL at exit (found under qemu on
  // aarch64: a crash in OPENSSL_sk_dup after main returned).
  size_t attempting = 0;
  std::vector<std::shared_ptr<Connector>> connectors;

  State(SyncDependencies d, Backoff b) : deps(std::move(d)), backoff(b) {}

  TransportConfig config_copy() const {
    std::lock_guard lock(mutex);
    return config;
  }

  // The sessions now, copied under the mutex so the caller can act on each without holding it.
  std::vector<std::shared_ptr<Session>> live_sessions() const {
    std::lock_guard lock(mutex);
    return {sessions.begin(), sessions.end()};
  }

  bool current(uint64_t gen) const {
    std::lock_guard lock(mutex);
    return running && generation == gen;
  }

  void log(LogLevel level, const std::string& message) { deps.log.log(level, "sync", message); }

  // ADMIN_STATE from the Big Peer (a verified session: wss:// with its certificate checked, or
  // loopback ws://): keep its signing key, this device's grant and the revoked ids. A device that is
  // not an admin device after it drops the fleet's documents it still holds (from the Big Peer and
  // from the field: revoked, expired, or checked against another key) and its cursor of them, so a
  // later grant starts from a whole fleet again.
  void on_admin_state(const AdminState& state) {
    const auto now = deps.clock->now();
    try {
      const bool standing_changed = deps.admin.update(state.signing_key, state.grant, state.revoked, now);
      end_revoked_admin_links();
      if (deps.admin.signing_key() != state.signing_key) {
        log(LogLevel::warning,
            "the Big Peer's admin signing key differs from the one the app configured; its grants are "
            "checked against the configured key");
      }
      if (deps.admin.is_admin(now)) {
        if (standing_changed) {
          log(LogLevel::info, fmt::format("this device is an admin device (grant {}, until {})", state.grant->grant_id,
                                          format_rfc3339(TimePoint(std::chrono::milliseconds(state.grant->expires_at_ms)))));
        }
        return;
      }
      size_t dropped = 0;
      for (const auto collection : {admin::kFleetCollection, admin::kCarriedCollection}) {
        std::vector<std::string> ids;
        Page page;
        do {
          page = deps.store.list(collection, 1000, page.next_after.value_or(""));
          for (auto& doc : page.documents) ids.push_back(std::move(doc.id));
        } while (page.next_after);
        if (!ids.empty()) dropped += deps.store.purge_system(collection, ids);
      }
      if (!standing_changed && dropped == 0) return;
      forget_cursors(deps.store, kSmallPeerInfoCollection);
      log(LogLevel::info, fmt::format("this device is no longer an admin device; dropped {} fleet document(s)", dropped));
    } catch (const std::exception& e) {
      log(LogLevel::warning, fmt::format("could not keep the Big Peer's admin state: {}", e.what()));
    }
  }

  // The Big Peer sends a fresh ADMIN_STATE to every live session when a grant is revoked: a LAN link
  // whose other side proved a grant that is now revoked ends, so its next handshake is refused the
  // grant and nothing more of ours reaches it.
  void end_revoked_admin_links() {
    for (const auto& session : live_sessions()) {
      const auto grant_id = session->remote_admin_grant_id();
      if (!grant_id || !deps.admin.is_revoked(*grant_id)) continue;
      log(LogLevel::info, fmt::format("ending the LAN link to {}: its admin grant {} was revoked",
                                      session->remote() ? session->remote()->peer_key : std::string("?"), *grant_id));
      session->close_with_error(std::string(kErrorAdminChanged), "the admin grant this device presented was revoked");
    }
  }

  // A LAN link checked the other side's admin proof against the key in force at its handshake;
  // when that key changes (AdminTrust tells us, whoever changed it: the app or a Big Peer), each
  // link ends (the connecting side comes back at once) and its next handshake is checked against
  // the new key. Sessions still in their handshake end too.
  void end_lan_links(const std::string& why) {
    for (const auto& session : live_sessions()) {
      const auto remote = session->remote();
      if (remote && remote->role == PeerRole::big_peer) continue;
      log(LogLevel::info, fmt::format("ending the LAN link to {}: {}", remote ? remote->peer_key : std::string("a peer"), why));
      session->close_with_error(std::string(kErrorAdminChanged), why);
    }
  }

  // Called with the mutex held.
  void accept_next(uint64_t gen) {
    std::weak_ptr<State> weak = shared_from_this();
    acceptor->async_accept(net::make_strand(runtime->io()), [weak, gen](const boost::system::error_code& ec, tcp::socket socket) {
      auto self = weak.lock();
      if (!self || !self->current(gen)) return;
      if (ec) return self->accept_later(gen, ec);
      self->accept_backoff.succeeded();
      self->admit(std::move(socket), gen);
      std::lock_guard lock(self->mutex);
      if (self->acceptor) self->accept_next(gen);
    });
  }

  // Accepting failed (out of descriptors, say): wait before trying again rather than spin.
  void accept_later(uint64_t gen, const boost::system::error_code& ec) {
    const auto wait = accept_backoff.failed();
    if (accept_backoff.first_failure()) {
      log(LogLevel::warning, fmt::format("accepting a LAN connection failed: {}; retrying with back-off", ec.message()));
    }
    std::lock_guard lock(mutex);
    if (!acceptor || !running || generation != gen) return;
    accept_timer = std::make_unique<net::steady_timer>(runtime->io(), wait);
    accept_timer->async_wait([weak = std::weak_ptr<State>(shared_from_this()), gen](const boost::system::error_code& e) {
      auto self = weak.lock();
      if (e || !self || !self->current(gen)) return;
      std::lock_guard lock(self->mutex);
      if (self->acceptor) self->accept_next(gen);
    });
  }

  // A new LAN connection: a session if the caps on unauthenticated connections allow, else closed at once.
  void admit(tcp::socket socket, uint64_t gen) {
    boost::system::error_code ec;
    const auto endpoint = socket.remote_endpoint(ec);
    std::shared_ptr<HandshakeAdmission::Ticket> ticket;
    {
      std::lock_guard lock(mutex);
      if (!ec && lan_admission) ticket = lan_admission->admit(endpoint.address().to_string());
    }
    if (!ticket) {
      log(LogLevel::debug, fmt::format("closed a LAN connection from {} at once: too many handshakes in progress",
                                       ec ? std::string("an unknown address") : endpoint.address().to_string()));
      socket.close(ec);
      return;
    }
    start_session(make_tcp_channel(std::move(socket)), Transport::access_point, nullptr, gen, ticket);
  }

  void attempt(const std::shared_ptr<Connector>& c) {
    auto self = shared_from_this();
    {
      std::lock_guard lock(mutex);
      if (!running || generation != c->generation) return;
      ++attempting;
    }
    struct Attempting {
      State& state;
      ~Attempting() {
        std::lock_guard lock(state.mutex);
        --state.attempting;
        state.sessions_ended.notify_all();
      }
    } attempting_guard{*this};
    auto done = [weak = std::weak_ptr<State>(self), c](std::shared_ptr<FrameChannel> channel, std::string error) {
      auto self = weak.lock();
      if (!self || !self->current(c->generation)) {
        if (channel) channel->close("sync stopped");
        return;
      }
      if (!channel) {
        self->log(LogLevel::debug, fmt::format("connecting failed: {}", error));
        return self->retry_later(c);
      }
      self->start_session(std::move(channel), c->big_peer ? Transport::websocket : Transport::access_point, c, c->generation);
    };
    if (c->big_peer) {
      WebSocketUrl url;
      {
        std::lock_guard lock(mutex);
        url = c->urls[c->index];
      }
      connect_websocket(runtime->io(), url, kConnectTimeout, TlsClientOptions{config.ca_file}, std::move(done));
    } else {
      connect_tcp(runtime->io(), c->host, c->port, kConnectTimeout, std::move(done));
    }
  }

  void retry_later(const std::shared_ptr<Connector>& c) {
    std::lock_guard lock(mutex);  // stop() cancels timers under the same lock
    if (!running || generation != c->generation) return;
    std::chrono::milliseconds wait;
    if (c->big_peer) {
      // Any end (refused, unreachable, dropped, "unavailable") moves on to another node, so a
      // device whose node died or lost its database is on a live one after one short wait.
      if (c->urls.size() > 1) {
        std::uniform_int_distribution<size_t> other(1, c->urls.size() - 1);
        c->index = (c->index + other(random_engine())) % c->urls.size();
      }
      if (c->move_now) {
        // A draining node asked us to move: go now, spread over a quarter second.
        c->move_now = false;
        c->failures = 0;
        std::uniform_int_distribution<int64_t> spread(0, backoff.initial.count());
        wait = std::chrono::milliseconds(spread(random_engine()));
      } else {
        ++c->failures;
        wait = jittered(big_peer_retry_delay(backoff, c->failures, c->urls.size()));
      }
    } else {
      c->delay = c->delay.count() == 0 ? backoff.initial : std::min(backoff.max, c->delay * 2);
      wait = jittered(c->delay);
    }
    c->timer = std::make_unique<net::steady_timer>(runtime->io(), wait);
    std::weak_ptr<State> weak = shared_from_this();
    c->timer->async_wait([weak, c](const boost::system::error_code& ec) {
      if (auto self = weak.lock(); self && !ec) self->attempt(c);
    });
  }

  // `ticket`: an accepted connection's place among the handshakes in progress, given back once it
  // authenticated or ended.
  void start_session(std::shared_ptr<FrameChannel> channel, Transport transport, const std::shared_ptr<Connector>& connector,
                     uint64_t gen, const std::shared_ptr<HandshakeAdmission::Ticket>& ticket = nullptr) {
    {
      std::lock_guard lock(mutex);
      if (!running || generation != gen) {
        channel->close("sync stopped");
        return;
      }
      ++starting;
    }
    struct Track {
      std::shared_ptr<Session> session;
      bool established = false;
      bool ended = false;
      std::string peer_key;
      bool big_peer = false;
      std::shared_ptr<LogUploader> uploader;  // Big Peer links only; strand only
    };
    auto track = std::make_shared<Track>();
    std::weak_ptr<State> weak = shared_from_this();
    SessionConfig config;
    config.local_role = PeerRole::small_peer;
    config.app_id = deps.app_id;
    config.app_token = deps.app_token;
    config.identity = &deps.identity;
    config.device_name = deps.device_name();
    config.sdk_language = deps.sdk_language;
    config.store = &deps.store;
    config.log = &deps.log;
    config.scope_of = deps.scope_of;
    config.on_established = [weak, track, transport, connector, ticket](Session& session, const PeerInfo& remote) {
      if (ticket) ticket->release();
      auto self = weak.lock();
      if (!self) return;
      std::shared_ptr<LogUploader> uploader;
      if (remote.role == PeerRole::big_peer) {
        uploader = std::make_shared<LogUploader>(session.weak_from_this(), self->deps.log_outbox, self->deps.log,
                                                 self->config_copy().log_upload);
      }
      {
        std::lock_guard lock(self->mutex);
        track->established = true;
        track->peer_key = remote.peer_key;
        track->big_peer = remote.role == PeerRole::big_peer;
        track->uploader = uploader;
      }
      if (uploader) uploader->start();
      if (connector) {  // healthy again: retry fast next time
        std::lock_guard lock(self->mutex);
        connector->delay = std::chrono::milliseconds(0);
        connector->failures = 0;
      }
      if (track->big_peer) {
        self->deps.presence.record_big_peer_event(
            {BigPeerConnectionEvent::Kind::connected, std::chrono::system_clock::now(), ""});
      }
      self->deps.presence.add_peer({remote.peer_key, remote.device_name, transport, track->big_peer});
    };
    // Log request frames arrive on the strand, after on_established: the uploader is there.
    config.on_log_request = [track](Session&, const LogRequest& request) {
      if (track->uploader) track->uploader->on_request(request);
    };
    config.on_log_result = [track](Session&, const LogResult& result) {
      if (track->uploader) track->uploader->on_result(result);
    };
    config.local_is_admin = [weak] {
      auto self = weak.lock();
      return self && self->deps.admin.is_admin(self->deps.clock->now());
    };
    config.on_admin_state = [weak](Session&, const AdminState& state) {
      if (auto self = weak.lock()) self->on_admin_state(state);
    };
    config.admin_grant = [weak]() -> std::optional<admin::AdminGrant> {
      auto self = weak.lock();
      return self ? self->deps.admin.grant(self->deps.clock->now()) : std::nullopt;
    };
    config.verify_admin_proof = [weak](const admin::AdminGrant& grant, const std::string& peer_key) {
      auto self = weak.lock();
      return self && self->deps.admin.accepts(grant, peer_key, self->deps.clock->now());
    };
    config.share_spi_with_admin = deps.share_spi_with_admin;
    config.on_closed = [weak, track, transport, connector, ticket](Session&, const SessionEnd& end) {
      if (ticket) ticket->release();
      if (track->uploader) track->uploader->stop();
      auto self = weak.lock();
      if (!self) return;
      if (track->established) {
        self->deps.presence.remove_peer(track->peer_key, transport);
        if (track->big_peer) {
          self->deps.presence.record_big_peer_event(
              {BigPeerConnectionEvent::Kind::disconnected, std::chrono::system_clock::now(), end.reason});
        }
      } else if (end.auth_failed && connector && connector->big_peer) {
        self->deps.presence.record_big_peer_event(
            {BigPeerConnectionEvent::Kind::auth_failed, std::chrono::system_clock::now(), end.reason});
        self->log(LogLevel::error, fmt::format("the Big Peer refused this peer: {}", end.reason));
      }
      {
        std::lock_guard lock(self->mutex);
        if (connector && connector->big_peer && (end.error_code == kErrorMoving || end.error_code == kErrorAdminChanged)) {
          connector->move_now = true;
        }
        track->ended = true;
        if (track->session) self->sessions.erase(track->session);
        track->session.reset();
      }
      self->sessions_ended.notify_all();
      if (connector) self->retry_later(connector);
    };
    std::shared_ptr<Session> session;
    try {
      session = Session::start(std::move(config), std::move(channel));
    } catch (...) {
      std::lock_guard lock(mutex);
      --starting;
      sessions_ended.notify_all();
      throw;
    }
    bool stopped_meanwhile = false;
    {
      std::lock_guard lock(mutex);
      --starting;
      if (!track->ended) {
        track->session = session;
        sessions.insert(session);
        // stop() ran after the check above: it waits for this session, which it did not close.
        stopped_meanwhile = !running || generation != gen;
      }
    }
    sessions_ended.notify_all();
    if (stopped_meanwhile) session->close("sync stopped");
  }
};

SyncEngine::SyncEngine(SyncDependencies deps, Backoff backoff) : state_(std::make_shared<State>(std::move(deps), backoff)) {
  state_->deps.admin.set_on_signing_key_changed([weak = std::weak_ptr<State>(state_)] {
    if (auto state = weak.lock()) state->end_lan_links("the admin signing key in force changed");
  });
}

// NOLINTNEXTLINE(bugprone-exception-escape): see the declaration
SyncEngine::~SyncEngine() {
  state_->deps.admin.set_on_signing_key_changed({});
  stop();
}

void SyncEngine::set_config(TransportConfig config) {
  bool was_running;
  {
    std::lock_guard lock(state_->mutex);
    was_running = state_->running;
  }
  if (was_running) stop();
  {
    std::string json = config.to_json();
    std::lock_guard lock(state_->mutex);
    state_->config = std::move(config);
    state_->config_json = std::move(json);
  }
  if (was_running) start();
}

TransportConfig SyncEngine::config() const {
  std::lock_guard lock(state_->mutex);
  return state_->config;
}

std::string SyncEngine::config_json() const {
  std::lock_guard lock(state_->mutex);
  return state_->config_json;
}

void SyncEngine::start() {
  std::vector<std::shared_ptr<State::Connector>> connectors;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->running) return;
    const auto gen = ++state_->generation;
    const auto& config = state_->config;
    if (config.lan_listen) {
      const auto [host, port] = parse_host_port(*config.lan_listen);
      boost::system::error_code ec;
      const auto address = net::ip::make_address(host, ec);
      if (ec) throw Error(ErrorCode::invalid_argument, fmt::format("LAN listen address '{}' is not an IP address", host));
      auto acceptor = std::make_unique<tcp::acceptor>(state_->runtime->io());
      const tcp::endpoint endpoint(address, port);
      acceptor->open(endpoint.protocol(), ec);
      if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) acceptor->bind(endpoint, ec);
      if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
      if (ec) throw Error(ErrorCode::io, fmt::format("cannot listen on {}: {}", *config.lan_listen, ec.message()));
      state_->lan_port = acceptor->local_endpoint().port();
      state_->acceptor = std::move(acceptor);
      state_->lan_admission = std::make_unique<HandshakeAdmission>(config.lan_handshakes);
      state_->accept_backoff = AcceptBackoff{};
      state_->accept_next(gen);
    }
    if (!config.big_peer_urls.empty()) {
      // One session with one node; the list is for failover and spreading the fleet.
      auto c = std::make_shared<State::Connector>();
      c->state = state_;
      c->generation = gen;
      c->big_peer = true;
      for (const auto& url : config.big_peer_urls) c->urls.push_back(parse_websocket_url(url));
      c->index = preferred_big_peer_index(state_->deps.identity.peer_key(), c->urls.size());
      connectors.push_back(c);
    }
    for (const auto& address : config.lan_connect) {
      auto c = std::make_shared<State::Connector>();
      c->state = state_;
      c->generation = gen;
      std::tie(c->host, c->port) = parse_host_port(address);
      connectors.push_back(c);
    }
    state_->connectors = connectors;
    state_->running = true;
  }
  state_->log(LogLevel::info, fmt::format("sync started: {}", state_->config.to_json()));
  for (const auto& c : connectors) state_->attempt(c);
}

void SyncEngine::stop() {
  std::set<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(state_->mutex);
    if (!state_->running) return;
    state_->running = false;
    ++state_->generation;
    if (state_->acceptor) {
      boost::system::error_code ec;
      state_->acceptor->close(ec);
    }
    // The acceptor's pending accept still refers to it: keep it alive until that completes.
    net::post(state_->runtime->io(), [acceptor = std::shared_ptr<tcp::acceptor>(std::move(state_->acceptor))] {});
    state_->lan_port = 0;
    if (state_->accept_timer) state_->accept_timer->cancel();
    for (auto& c : state_->connectors) {
      if (c->timer) c->timer->cancel();
    }
    state_->connectors.clear();
    sessions = state_->sessions;
  }
  for (const auto& s : sessions) s->close("sync stopped");
  std::unique_lock lock(state_->mutex);
  state_->sessions_ended.wait_for(lock, std::chrono::seconds(5),
                                  [&] { return state_->sessions.empty() && state_->starting == 0 && state_->attempting == 0; });
  state_->log(LogLevel::info, "sync stopped");
}

bool SyncEngine::running() const {
  std::lock_guard lock(state_->mutex);
  return state_->running;
}

uint16_t SyncEngine::lan_port() const {
  std::lock_guard lock(state_->mutex);
  return state_->lan_port;
}

void SyncEngine::rewind(const std::string& collection) {
  // Each session forgets its cursor and ends; connectors reconnect at once (they were healthy).
  for (const auto& session : state_->live_sessions()) session->rewind(collection);
}

void SyncEngine::offer_log_bundle(const LogOutbox::Entry& entry) {
  // Only Big Peer links carry log frames; the Big Peer answers an offer with a LOG_REQUEST.
  for (const auto& session : state_->live_sessions()) {
    const auto remote = session->remote();
    if (remote && remote->role == PeerRole::big_peer) session->send_frame(entry.offer());
  }
}

}  // namespace smallpeer::sync
