#include "bigpeer/server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <charconv>
#include <csignal>

#include "bigpeer/database_health.h"
#include "bigpeer/storage/postgres_bundles.h"
#include "common/error.h"
#include "spi/small_peer_info_collector.h"

namespace smallpeer::bigpeer {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
/// The channel on which nodes announce a saved log request (payload: its id).
constexpr const char* kLogRequestsChannel = "smallpeer_log_requests";
/// The channel on which nodes announce a device whose enrollment state changed (payload: its key).
constexpr const char* kEnrollmentsChannel = "smallpeer_enrollments";
/// The channel on which nodes announce a device whose admin grant changed (payload: its key).
constexpr const char* kAdminGrantsChannel = "smallpeer_admin_grants";
/// The ERROR code a session gets when its device is revoked while connected (docs/SYNC.md).
constexpr std::string_view kErrorRevoked = "revoked";
/// How long shutdown waits for sessions to say goodbye before it stops the I/O threads anyway.
constexpr std::chrono::seconds kSessionCloseGrace{3};

// The server's TLS settings: TLS 1.2 or later, the certificate chain and key the operator gave.
std::shared_ptr<net::ssl::context> make_tls_context(const BigPeerOptions& options) {
  if (options.tls_cert.empty() && options.tls_key.empty()) return nullptr;
  if (options.tls_cert.empty() || options.tls_key.empty()) {
    throw Error(ErrorCode::invalid_argument, "TLS needs both a certificate (--tls-cert) and its key (--tls-key)");
  }
  auto context = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  context->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 | net::ssl::context::no_sslv3 |
                       net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
  boost::system::error_code ec;
  context->use_certificate_chain_file(options.tls_cert.string(), ec);
  if (ec) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("cannot load the TLS certificate {}: {}", options.tls_cert.string(), ec.message()));
  }
  context->use_private_key_file(options.tls_key.string(), net::ssl::context::pem, ec);
  if (ec) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("cannot load the TLS key {}: {}", options.tls_key.string(), ec.message()));
  }
  return context;
}

// SQLite in the data directory, or PostgreSQL when given a URL.
std::unique_ptr<Store> open_store(const BigPeerOptions& options, const DataDirectory& data_dir, const std::string& peer_key,
                                  const std::shared_ptr<const Clock>& clock) {
  auto hlc = std::make_shared<HybridLogicalClock>(clock, options.max_clock_offset);
  if (options.postgres_url.empty()) {
    return Store::open(data_dir.store_file(), std::move(hlc), peer_key, StoreOptions::for_big_peer());
  }
  return std::make_unique<PostgresStore>(options.postgres_url, std::move(hlc), peer_key);
}

/// The main store's setting that says the enrollment records are in devices.sqlite3.
constexpr const char* kDeviceStoreSetting = "enrollment.device_store";

// On SQLite, the device enrollment records' own store (devices.sqlite3), with records of a Big Peer
// from before it moved over; null on PostgreSQL, where every node must see them in the shared
// database. Apart, the handshake's enrollment check never waits behind the ingest's group commit,
// and the records' pages have a page cache of their own, bounded at 2 MiB (the records of the
// ~2,000 devices seen last; the rest come from the OS's page cache), instead of staying among the
// fleet's documents in the 64 MiB one, ~1 KB per device (bigpeer/README.md, "Benchmarks"). A main
// store whose records went there refuses to start without the file: every device would enroll
// anew, revoked ones included.
std::unique_ptr<Store> open_device_store(const BigPeerOptions& options, const DataDirectory& data_dir, Store& store,
                                         const std::string& peer_key, const std::shared_ptr<const Clock>& clock) {
  if (!options.postgres_url.empty()) return nullptr;
  const auto file = data_dir.device_store_file();
  const bool moved_before = store.setting(kDeviceStoreSetting).has_value();
  if (moved_before && !std::filesystem::exists(file)) {
    throw Error(ErrorCode::io,
                fmt::format("the device enrollment records of {0} are in {1}, which is missing: restore it from the "
                            "backup taken with {0} (or, to start with no records, so that every device enrolls anew, "
                            "revoked ones included: sqlite3 {0} \"DELETE FROM settings WHERE key='{2}'\")",
                            data_dir.store_file().string(), file.string(), kDeviceStoreSetting));
  }
  auto hlc = std::make_shared<HybridLogicalClock>(clock, options.max_clock_offset);
  auto device_store = Store::open(file, std::move(hlc), peer_key, StoreOptions{.cache_kib = int64_t{2} * 1024});
  try {
    if (const uint64_t moved = Enrollments::move_records(store, *device_store); moved > 0) {
      spdlog::info("enrollment: moved {} record(s) from {} to {}", moved, data_dir.store_file().string(), file.string());
    }
    if (!moved_before) store.set_settings({{kDeviceStoreSetting, "devices.sqlite3"}});
  } catch (const Error& e) {
    throw Error(e.code(), fmt::format("moving the device enrollment records to {}: {}", file.string(), e.what()));
  }
  return device_store;
}

std::filesystem::path required_data_dir(const BigPeerOptions& options) {
  if (options.data_dir.empty()) throw Error(ErrorCode::invalid_argument, "the Big Peer needs a data directory (--data)");
  // A bad URL, an unreachable server or a newer schema is refused before anything is created.
  if (!options.postgres_url.empty()) PostgresStore::check_database(options.postgres_url);
  return options.data_dir;
}
}  // namespace

std::pair<std::string, uint16_t> parse_listen_address(std::string_view text) {
  std::string_view host, port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw Error(ErrorCode::invalid_argument, fmt::format("listen address '{}' must look like [::1]:8080", text));
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      throw Error(ErrorCode::invalid_argument, fmt::format("listen address '{}' must look like host:port", text));
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  uint16_t number = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size()) {
    throw Error(ErrorCode::invalid_argument, fmt::format("listen address '{}' needs a host and a port from 0 to 65535", text));
  }
  return {std::string(host), number};
}

BigPeer::BigPeer(BigPeerOptions options)
    : options_(std::move(options)),
      data_dir_(required_data_dir(options_)),
      identity_(PeerIdentity::load_or_create(data_dir_.identity_file())),
      clock_(std::make_shared<SystemClock>()),
      store_(open_store(options_, data_dir_, identity_.peer_key(), clock_)) {
  if (options_.admin_token) {
    if (options_.admin_token->empty()) throw Error(ErrorCode::invalid_argument, "the admin token must not be empty");
    admin_token_ = *options_.admin_token;
  } else {
    admin_token_ = data_dir_.load_or_create_admin_token(admin_token_generated_);
  }
  if (options_.app_id.empty() || options_.app_token.empty()) {
    throw Error(ErrorCode::invalid_argument, "the app id and the app token must not be empty");
  }
  tls_ = make_tls_context(options_);
  // After every check of the options: a start they refuse moves nothing.
  device_store_ = open_device_store(options_, data_dir_, *store_, identity_.peer_key(), clock_);
  if (options_.history_reports > 0) report_history_ = std::make_unique<ReportHistory>(options_.history_reports, clock_);
  ingest_ = std::make_unique<IngestQueue>(*store_, metrics_, IngestQueue::kDefaultMaxGroupDocuments, &health_,
                                          report_history_.get(), options_.ingest_gather);
  postgres_ = dynamic_cast<PostgresStore*>(store_.get());
  if (postgres_ != nullptr) {
    // Several nodes may share the database: bundles live in it, every saved log request is
    // announced (LISTEN/NOTIFY) so the node holding the peer's session pushes it at once, and the
    // nodes publish their sessions for each other's online state.
    log_requests_ = std::make_unique<LogRequests>(
        *store_, make_postgres_bundle_store(options_.postgres_url), registry_, clock_,
        [store = postgres_](const std::string& id) { store->notify_nodes(kLogRequestsChannel, id); });
    postgres_->listen(kLogRequestsChannel, [this](const std::string& id) { log_requests_->refresh(id); });
    cluster_ =
        std::make_unique<ClusterPresence>(options_.postgres_url, postgres_->node_id(), options_.listen, registry_, &health_);
    registry_.set_cluster([this](const std::string& peer_key) { cluster_->peer_changed(peer_key); },
                          [this] { return cluster_->remote_peers(); });
  } else {
    log_requests_ = std::make_unique<LogRequests>(*store_, make_file_bundle_store(data_dir_.log_bundle_dir()), registry_, clock_);
  }
  audit_ = std::make_unique<AuditLog>(*store_, clock_, options_.audit, &metrics_);
  // A changed key: close its sessions here at once, and tell the other nodes to do the same.
  enrollments_ = std::make_unique<Enrollments>(device_store_ ? *device_store_ : *store_, clock_, options_.enrollment,
                                               [this](const std::string& peer_key) {
                                                 enforce_enrollment(peer_key);
                                                 if (postgres_ != nullptr) postgres_->notify_nodes(kEnrollmentsChannel, peer_key);
                                               });
  // A grant given or revoked: the device's sessions re-handshake for the new ADMIN_STATE, here and
  // on the other nodes.
  admin_grants_ = std::make_unique<AdminGrants>(*store_, options_.app_id, clock_, [this](const std::string& peer_key) {
    apply_admin_change(peer_key);
    if (postgres_ != nullptr) postgres_->notify_nodes(kAdminGrantsChannel, peer_key);
  });
  if (postgres_ != nullptr) {
    postgres_->listen(kEnrollmentsChannel, [this](const std::string& peer_key) { enforce_enrollment(peer_key); });
    postgres_->listen(kAdminGrantsChannel, [this](const std::string& peer_key) {
      try {
        admin_grants_->refresh();
      } catch (const std::exception& e) {
        spdlog::warn("admin devices: cannot re-read the grants now: {}", e.what());
      }
      apply_admin_change(peer_key);
    });
    postgres_->on_relisten([this] {
      log_requests_->refresh_all();
      enforce_enrollment_all();
    });
  }
  log_requests_->set_device_quota(options_.log_bundle_quota);
  for (unsigned i = 0; i < std::max(1u, options_.threads); ++i) {
    sync_ios_.push_back(std::make_unique<net::io_context>(1));
    sync_strands_.push_back(net::make_strand(*sync_ios_.back()));
  }
  http_io_ = std::make_unique<net::io_context>(1);
  api_threads_ = std::make_unique<net::thread_pool>(std::max(1u, options_.api_threads));
  fleet_history_ = std::make_unique<FleetHistory>([this] { return count_fleet(); }, clock_);
  api_ = std::make_unique<HttpApi>(HttpApiConfig{
      .store = store_.get(),
      .query_limits = options_.query_limits,
      .registry = &registry_,
      .log_requests = log_requests_.get(),
      .fleet_history = fleet_history_.get(),
      .enrollments = enrollments_.get(),
      .admin_grants = admin_grants_.get(),
      .audit = audit_.get(),
      .clock = clock_,
      .auth = AdminAuth(admin_token_),
      .metrics_text =
          [this] {
            MetricsGauges gauges{registry_.established_count(), ingest_->queued_documents(), {}};
            gauges.log_bundles_refused_quota = log_requests_->quota_refusals();
            for (const auto& [state, count] : log_requests_->counts()) {
              gauges.log_requests_by_state[std::string(to_string(state))] = count;
            }
            try {
              for (const auto& [state, count] : enrollments_->counts()) {
                gauges.enrollments_by_state[state] = count;
              }
            } catch (const std::exception& e) {
              spdlog::debug("metrics: enrollment counts unavailable: {}", e.what());
            }
            return render_prometheus(metrics_, gauges);
          },
      .serve_portal = true,
      .secure_cookies = tls_ != nullptr,
  });
  sync_ = std::make_unique<SyncEndpoint>(
      SyncEndpointConfig{options_.app_id, options_.app_token, &identity_, store_.get(), ingest_.get(), &registry_,
                         log_requests_.get(), &metrics_, clock_, sync_ios_.front()->get_executor(), tls_, options_.handshakes,
                         enrollments_.get(), admin_grants_.get(), options_.sync_cursor_interval});
  auto pick_sync_strand = [this] { return next_sync_strand(); };
  services_ = HttpServices{api_.get(), api_threads_.get(), sync_.get(), &metrics_, tls_.get(), &health_, pick_sync_strand};
}

std::string BigPeer::storage_description() const {
  if (options_.postgres_url.empty()) return data_dir_.store_file().string();
  return pg::redacted(options_.postgres_url);
}

FleetSample BigPeer::count_fleet() const {
  // The same fleet GET /api/v1/devices lists: Small Peer Info reporters plus peers connected since start.
  FleetSample sample;
  const auto peers = registry_.peers();
  for (const auto& [key, state] : peers) {
    if (state.online) ++sample.online;
  }
  sample.total = peers.size();
  std::string after;
  for (;;) {
    const auto page = store_->list(kSmallPeerInfoCollection, 1000, after);
    for (const auto& doc : page.documents) {
      if (!peers.contains(doc.id)) ++sample.total;
    }
    if (!page.next_after) break;
    after = *page.next_after;
  }
  return sample;
}

std::unique_ptr<BigPeer> BigPeer::start(BigPeerOptions options) {
  auto peer = std::make_unique<BigPeer>(std::move(options));
  peer->listen();
  return peer;
}

void BigPeer::listen() {
  const auto [host, port] = parse_listen_address(options_.listen);
  boost::system::error_code ec;
  tcp::endpoint endpoint;
  if (const auto address = net::ip::make_address(host, ec); !ec) {
    endpoint = tcp::endpoint(address, port);
  } else {
    tcp::resolver resolver(*http_io_);
    const auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) {
      throw Error(ErrorCode::invalid_argument, fmt::format("cannot resolve listen host '{}': {}", host, ec.message()));
    }
    endpoint = results.begin()->endpoint();
  }
  // The acceptor lives on a strand so shutdown can close it while an accept is in flight.
  acceptor_.emplace(net::make_strand(*http_io_));
  const auto fail = [&](std::string_view what) {
    throw Error(ErrorCode::io, fmt::format("cannot listen on {}: {} failed: {}", options_.listen, what, ec.message()));
  };
  acceptor_->open(endpoint.protocol(), ec);
  if (ec) fail("open");
  acceptor_->set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) fail("SO_REUSEADDR");
  acceptor_->bind(endpoint, ec);
  if (ec) fail("bind");
  acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail("listen");
  endpoint_ = acceptor_->local_endpoint();
  accept_backoff_.emplace(acceptor_->get_executor());

  if (options_.handle_signals) {
    signals_.emplace(*sync_ios_.front(), SIGINT, SIGTERM);
    signals_->async_wait([this](const boost::system::error_code& error, int signal_number) {
      if (error) return;
      spdlog::info("big-peer: received signal {}", signal_number);
      if (!stop_signalled_.exchange(true)) stop_requested_.set_value(signal_number);
    });
  }
  for (const auto& io : sync_ios_) work_.push_back(net::make_work_guard(*io));
  work_.push_back(net::make_work_guard(*http_io_));
  accept_next();
  expiry_timer_.emplace(net::make_strand(*sync_ios_.front()));
  expire_log_requests();
  threads_.reserve(sync_ios_.size() + 1);
  for (const auto& io : sync_ios_) threads_.emplace_back([this, &io = *io] { run_io(io); });
  threads_.emplace_back([this] { run_io(*http_io_); });
}

void BigPeer::run_io(net::io_context& io) {
  // The catch-all at the Asio handler boundary: every known failure (the database's included) is
  // handled where it happens, so reaching this is a bug. It must not end the process: the handler
  // that threw is dropped with its connection (its objects go as the exception unwinds), the
  // failure is logged and counted (smallpeer_unexpected_exceptions_total), and the thread goes on.
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      BigPeerMetrics::add(metrics_.unexpected_exceptions);
      spdlog::error("big-peer: unexpected failure in an I/O handler, dropping its connection: {}", e.what());
    } catch (...) {
      BigPeerMetrics::add(metrics_.unexpected_exceptions);
      spdlog::error("big-peer: unexpected non-standard exception in an I/O handler, dropping its connection");
    }
  }
}

sync::SyncStrand BigPeer::next_sync_strand() {
  return sync_strands_[next_sync_io_.fetch_add(1, std::memory_order_relaxed) % sync_strands_.size()];
}

void BigPeer::accept_next() {
  // A plain connection starts on the HTTP thread, so API requests do not queue behind the sync
  // sessions' I/O, and moves to the sync threads if it upgrades to /sync. A TLS stream cannot
  // change threads, so a TLS connection stays on the sync threads from the start.
  auto strand = tls_ ? next_sync_strand() : net::make_strand(*http_io_);
  acceptor_->async_accept(strand, [this](boost::system::error_code ec, sync::SyncSocket socket) {
    if (ec == net::error::operation_aborted || !acceptor_->is_open()) return;
    if (ec) {
      // Out of file descriptors, for instance: retrying at once would spin.
      const auto wait = accept_delays_.failed();
      if (accept_delays_.first_failure()) {
        spdlog::warn("big-peer: accepting a connection failed: {}; retrying with back-off", ec.message());
      }
      accept_backoff_->expires_after(wait);
      accept_backoff_->async_wait([this](boost::system::error_code e) {
        if (!e) accept_next();
      });
      return;
    }
    accept_delays_.succeeded();
    // Sync frames are small and latency matters more than packet count.
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    serve_http(std::move(socket), services_);
    accept_next();
  });
}

// Once a second: requests nobody picked up within their time to live become `expired`.
void BigPeer::expire_log_requests() {
  try {
    log_requests_->expire_due();
  } catch (const DatabaseUnavailable& e) {
    spdlog::debug("logs: expiring log requests waits for the database: {}", e.what());
  } catch (const std::exception& e) {
    spdlog::error("logs: expiring log requests failed: {}", e.what());
  }
  // A database away for longer than the grace: send the devices to a node that may still reach
  // it (all nodes refuse them while the database is down for everyone; they back off meanwhile).
  if (health_.outage() >= kDatabaseOutageGrace && registry_.established_count() > 0) {
    spdlog::warn("big-peer: the database has been unreachable for {} s; asking {} sessions to move",
                 std::chrono::duration_cast<std::chrono::seconds>(health_.outage()).count(), registry_.established_count());
    registry_.close_each(std::string(sync::kErrorUnavailable), "this Big Peer node cannot reach its database");
  }
  // Every 30 s: sessions whose key was revoked on a node whose announcement this node missed, and
  // the audit log's retention. Every minute for the audit log is plenty; 30 s bounds revocation.
  // Both read the store for a while, so they run on the API threads, not on an I/O thread.
  if (++housekeeping_ticks_ % 30 == 0) {
    net::post(*api_threads_, [this, prune = housekeeping_ticks_ % 60 == 0] {
      try {
        enforce_enrollment_all();
        admin_grants_->refresh();  // grants another node changed unannounced, and expired ones purged
        if (prune) audit_->prune();
      } catch (const std::exception& e) {
        spdlog::debug("big-peer: enrollment and audit housekeeping waits for the database: {}", e.what());
      }
    });
  }
  expiry_timer_->expires_after(std::chrono::seconds(1));
  expiry_timer_->async_wait([this](boost::system::error_code ec) {
    if (!ec && !shut_down_) expire_log_requests();
  });
}

size_t BigPeer::enforce_enrollment(const std::string& peer_key) {
  try {
    if (enrollments_->allowed(peer_key)) return 0;
  } catch (const std::exception& e) {
    spdlog::warn("enrollment: cannot check {} now: {}", peer_key, e.what());
    return 0;
  }
  const size_t closed =
      registry_.close_peer(peer_key, std::string(kErrorRevoked), "this device's key was revoked by the Big Peer's operator");
  if (closed > 0) {
    BigPeerMetrics::add(metrics_.revoked_sessions_closed, closed);
    spdlog::info("enrollment: closed {} session(s) of {}: no longer approved", closed, peer_key);
  }
  return closed;
}

void BigPeer::apply_admin_change(const std::string& peer_key) {
  const size_t closed = registry_.close_peer(peer_key, std::string(sync::kErrorAdminChanged),
                                             "this device's admin grant changed; reconnect for the new admin state");
  if (closed > 0) spdlog::info("admin devices: {} re-handshakes for its changed admin grant", peer_key);
  // Grants change by an operator's hand (at most 1,000 kept), so one frame per live session is a
  // bounded cost: the signing key, the revoked ids, and a device's own grant if it holds one.
  size_t told = 0;
  try {
    const sync::AdminState base = admin_grants_->state_for({});
    for (const auto& key : registry_.established_peer_keys()) {
      if (key == peer_key) continue;
      const auto session = registry_.session_of(key);
      if (session == nullptr) continue;
      told += session->send_frame(admin_grants_->active_until(key) ? admin_grants_->state_for(key) : base) ? 1 : 0;
    }
  } catch (const std::exception& e) {
    // The grants cannot be read now: each device still gets the new state at its next session.
    spdlog::warn("admin devices: cannot send the new admin state now: {}", e.what());
  }
  if (told > 0) spdlog::info("admin devices: sent the new admin state to {} session(s)", told);
}

void BigPeer::enforce_enrollment_all() {
  for (const auto& key : registry_.established_peer_keys()) enforce_enrollment(key);
}

int BigPeer::wait_for_signal() {
  return stop_future_.get();
}

void BigPeer::shutdown() {
  if (shut_down_.exchange(true)) return;
  spdlog::info("big-peer: shutting down");
  // 0. /readyz answers 503 and /sync upgrades are refused from now on.
  health_.start_draining();
  // 1. No new connections.
  if (acceptor_ && threads_.empty()) {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
  } else if (acceptor_) {
    auto closed = std::make_shared<std::promise<void>>();
    net::post(acceptor_->get_executor(), [this, closed] {
      boost::system::error_code ignored;
      acceptor_->close(ignored);
      accept_backoff_->cancel();
      closed->set_value();
    });
    closed->get_future().wait_for(std::chrono::seconds(2));
  }
  // 2. Close every session with ERROR "moving" (the small peer reconnects to another node at
  // once), so no new batches arrive.
  registry_.close_all("the Big Peer is shutting down");
  if (!registry_.wait_until_empty(kSessionCloseGrace)) {
    spdlog::warn("big-peer: some sessions did not close within {} s", kSessionCloseGrace.count());
  }
  // 3. Commit everything received: only committed batches were ever acknowledged, and none is dropped.
  ingest_->stop();
  // 4. Stop the threads.
  work_.clear();
  for (const auto& io : sync_ios_) io->stop();
  http_io_->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  api_threads_->stop();
  api_threads_->join();
  registry_.release_all();
  if (postgres_ != nullptr) postgres_->stop_listening();
  if (cluster_) cluster_->leave();  // removes this node and its sessions from the shared database
  if (!stop_signalled_.exchange(true)) stop_requested_.set_value(0);
  spdlog::info("big-peer: stopped");
}

BigPeer::~BigPeer() {
  shutdown();
  // Everything bound to the io_context goes before it; its pending handlers (connections, ended
  // sessions) go with it, while the store and the endpoint they use still exist.
  signals_.reset();
  accept_backoff_.reset();
  expiry_timer_.reset();
  acceptor_.reset();
  http_io_.reset();
  sync_strands_.clear();  // each strand before its io_context
  sync_ios_.clear();
  api_threads_.reset();
}

}  // namespace smallpeer::bigpeer
