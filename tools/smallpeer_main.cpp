// The `smallpeer` command line: small peer inspection and the Big Peer server.
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "bigpeer/server.h"
#include "bigpeer/storage/data_dir.h"
#include "bigpeer/storage/postgres_store.h"
#include "common/error.h"
#include "common/json.h"
#include "common/private_file.h"
#include "ditto/ditto.h"
#include "fleet_command.h"

// jemalloc's settings for this program, read when it starts (MALLOC_CONF, read after, still
// overrides them). A background thread returns the pages freed memory leaves dirty within about a
// second (dirty_decay_ms), also in an arena nothing allocates from any more: without it, jemalloc
// purges only when a thread allocates, so an idle server kept the pages its sessions' handshakes
// freed. 10,000 idle sessions: ~0.8 KB less RSS each, no CPU cost under load measured
// (bigpeer/BENCHMARKS.md, "Idle memory after the first keep-alive ping").
extern "C" {
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables): jemalloc's interface is this variable
__attribute__((visibility("default"))) const char* malloc_conf = "background_thread:true,dirty_decay_ms:1000";
}

namespace {

using namespace smallpeer;

struct SpiOptions {
  std::string dir;
  std::string device_name;
  std::string metadata;
  std::string scope;
};

DittoConfig config_for(const SpiOptions& o) {
  DittoConfig config;
  config.persistence_dir = o.dir;
  if (!o.device_name.empty()) config.device_name = o.device_name;
  return config;
}

// Opens a small peer, enables Small Peer Info, collects once and prints the document.
int spi_collect(const SpiOptions& o) {
  UserLogOutput::instance().set_console_enabled(false);
  auto ditto = Ditto::open(config_for(o));
  auto& spi = ditto->small_peer_info();
  if (!o.metadata.empty()) spi.set_metadata_json(o.metadata);
  if (!o.scope.empty()) {
    spi.set_sync_scope(sync_scope_from_name(o.scope));
  }
  // Enabling writes the document at once; collect again only if it was already enabled.
  const bool was_enabled = spi.enabled();
  spi.set_enabled(true);
  const std::string doc = was_enabled ? spi.collect_now() : spi.current_document().value();
  std::cout << pretty_json(doc) << '\n';
  ditto->close();
  return 0;
}

// Prints the stored document without writing a new one.
int spi_show(const SpiOptions& o) {
  UserLogOutput::instance().set_console_enabled(false);
  auto ditto = Ditto::open(config_for(o));
  const auto doc = ditto->small_peer_info().current_document();
  if (!doc) {
    std::cerr << "smallpeer: no small peer info document in " << o.dir << " yet (run `smallpeer spi collect --dir " << o.dir
              << "`)\n";
    return 1;
  }
  std::cout << pretty_json(*doc) << '\n';
  return 0;
}

// Runs the Big Peer until SIGINT or SIGTERM. stdout carries one "big-peer: ..." fact per line for
// people; programs read `ready_file` (when given): the same facts as JSON, written once it listens
// and removed when it stops. Logs go to stderr.
int big_peer(bigpeer::BigPeerOptions options, const std::string& log_level, const std::string& ready_file) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("big-peer"));
  spdlog::set_level(spdlog::level::from_str(log_level));
  auto peer = bigpeer::BigPeer::start(std::move(options));
  const auto& endpoint = peer->endpoint();
  const auto address = endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  const std::string authority = host + ":" + std::to_string(endpoint.port());
  const bool tls = peer->tls();
  // One spelling of the URLs for the stdout lines and the ready file.
  const std::string url = std::string(tls ? "https://" : "http://") + authority;
  const std::string sync_url = std::string(tls ? "wss://" : "ws://") + authority + "/sync";
  std::cout << "big-peer: listening on " << url << std::endl;
  std::cout << "big-peer: sync endpoint " << sync_url << std::endl;
  std::cout << "big-peer: app id: " << peer->options().app_id << std::endl;
  if (peer->options().admin_token) {
    std::cout << "big-peer: admin token: (given with --admin-token)" << std::endl;
  } else {
    std::cout << "big-peer: admin token: " << peer->admin_token()
              << (peer->admin_token_generated() ? " (generated, kept in " : " (kept in ")
              << (peer->options().data_dir / "admin_token").string() << ")" << std::endl;
  }
  std::cout << "big-peer: peer key: " << peer->peer_key() << std::endl;
  std::cout << "big-peer: data directory: " << peer->options().data_dir.string() << std::endl;
  if (!peer->options().postgres_url.empty()) {
    std::cout << "big-peer: storage: PostgreSQL " << peer->storage_description() << std::endl;
  }
  if (!tls && !address.is_loopback()) {
    spdlog::warn("serving plain http:// and ws:// on a non-loopback address; give --tls-cert and --tls-key");
  }
  if (!ready_file.empty()) {
    // Mode 0600 and written whole (write_private_file): it holds the admin token.
    JsonWriter w;
    w.begin_object()
        .key("url")
        .value(url)
        .key("sync_url")
        .value(sync_url)
        .key("app_id")
        .value(peer->options().app_id)
        .key("admin_token")
        .value(peer->admin_token())
        .key("peer_key")
        .value(peer->peer_key())
        .key("data_dir")
        .value(peer->options().data_dir.string())
        .key("pid")
        .value(static_cast<int64_t>(::getpid()))
        .end_object();
    write_private_file(ready_file, w.take() + "\n", "ready file");
  }
  std::cout << "big-peer: ready" << std::endl;
  peer->wait_for_signal();
  if (!ready_file.empty()) {
    std::error_code ignored;  // a file someone else removed is no reason to fail a clean stop
    std::filesystem::remove(ready_file, ignored);
  }
  peer->shutdown();
  std::cout << "big-peer: stopped" << std::endl;
  return 0;
}

struct RepairOptions {
  std::string dir;
  std::string postgres_url;
  double max_clock_offset_s = std::chrono::duration<double>(kDefaultMaxClockOffset).count();
};

// Heals a store poisoned by far-future HLCs (docs/SYNC.md "Repairing a poisoned store"): a small
// peer's persistence directory, a Big Peer's data directory, or a Big Peer's PostgreSQL database.
// The owner must be stopped: the directory's lock is taken, as the running process holds it.
int repair_clock(const RepairOptions& o) {
  const auto offset = std::chrono::milliseconds(static_cast<int64_t>(o.max_clock_offset_s * 1000));
  auto hlc = std::make_shared<HybridLogicalClock>(std::make_shared<SystemClock>(), offset);
  const std::filesystem::path dir = o.dir;
  std::unique_ptr<Store> store;
  std::optional<bigpeer::DataDirectory> big_peer_dir;
  int small_peer_lock = -1;
  std::string where;
  if (!o.postgres_url.empty()) {
    store = std::make_unique<bigpeer::PostgresStore>(o.postgres_url, hlc, "smallpeer-repair-clock");
    where = "PostgreSQL database";
  } else if (std::filesystem::exists(dir / "bigpeer.sqlite3")) {
    big_peer_dir.emplace(dir);  // throws Error(locked) while the Big Peer runs
    store = Store::open(big_peer_dir->store_file(), hlc, "smallpeer-repair-clock");
    where = big_peer_dir->store_file().string();
  } else if (std::filesystem::exists(dir / "store.sqlite3")) {
    small_peer_lock = ::open((dir / "smallpeer.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (small_peer_lock < 0 || ::flock(small_peer_lock, LOCK_EX | LOCK_NB) != 0) {
      throw Error(ErrorCode::locked, fmt::format("{} is in use by an open small peer; close it first", dir.string()));
    }
    store = Store::open(dir / "store.sqlite3", hlc, "smallpeer-repair-clock");
    where = (dir / "store.sqlite3").string();
  } else {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("no store in {}: expected a small peer's store.sqlite3 or a Big Peer's bigpeer.sqlite3 (or give "
                            "--postgres)",
                            dir.string()));
  }
  const auto repair = [&](Store& s, const std::string& file) {
    const uint64_t restamped = s.repair_clock();
    std::cout << "repair-clock: re-stamped " << restamped << " document(s) in " << file << " whose HLC was more than "
              << o.max_clock_offset_s << " s ahead of this machine's clock (" << format_rfc3339(SystemClock().now()) << ")"
              << std::endl;
  };
  repair(*store, where);
  store.reset();
  // A Big Peer on SQLite keeps its device enrollment records in a store of their own.
  if (big_peer_dir && std::filesystem::exists(big_peer_dir->device_store_file())) {
    repair(*Store::open(big_peer_dir->device_store_file(), hlc, "smallpeer-repair-clock"),
           big_peer_dir->device_store_file().string());
  }
  if (small_peer_lock >= 0) ::close(small_peer_lock);
  return 0;
}

}  // namespace

// The whole command line; main() adds the last-resort catch.
static int run_smallpeer(int argc, char** argv) {
  CLI::App app{"smallpeer: Small Peer Info engine tools"};
  app.require_subcommand(1);
  auto* spi = app.add_subcommand("spi", "Inspect and collect Small Peer Info of a small peer");
  spi->require_subcommand(1);

  SpiOptions collect_opts;
  auto* collect =
      spi->add_subcommand("collect", "Open a small peer, enable Small Peer Info, collect once and print the document");
  collect->add_option("--dir", collect_opts.dir, "Persistence directory of the small peer")->required();
  collect->add_option("--device-name", collect_opts.device_name, "Device name to report (default: the host name)");
  collect->add_option("--metadata", collect_opts.metadata, "App metadata as a JSON object");
  collect->add_option("--scope", collect_opts.scope, "Sync scope: LocalPeerOnly or BigPeerOnly");

  SpiOptions show_opts;
  auto* show = spi->add_subcommand("show", "Print the small peer's last Small Peer Info document");
  show->add_option("--dir", show_opts.dir, "Persistence directory of the small peer")->required();

  bigpeer::BigPeerOptions big_opts;
  std::string admin_token;
  std::string log_level = "info";
  auto* big = app.add_subcommand("big-peer",
                                 "Run the Big Peer: small peers' sync WebSocket (/sync), the HTTP API (/api/v1) and "
                                 "Prometheus metrics (/metrics) on one port");
  big->add_option("--listen", big_opts.listen, "host:port to listen on; port 0 picks a free port")->capture_default_str();
  big->add_option("--data", big_opts.data_dir, "Data directory: store, identity and admin token")->required();
  big->add_option("--app-id", big_opts.app_id, "The app id small peers must present")->capture_default_str();
  big->add_option("--app-token", big_opts.app_token, "The app token small peers must present")->capture_default_str();
  big->add_option("--admin-token", admin_token,
                  "Admin token for the HTTP API (default: generated at first start and kept in the data directory)");
  big->add_option("--tls-cert", big_opts.tls_cert, "PEM certificate chain: serve https:// and wss:// (with --tls-key)")
      ->check(CLI::ExistingFile);
  big->add_option("--tls-key", big_opts.tls_key, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  big->add_option("--postgres", big_opts.postgres_url,
                  "Store everything in this PostgreSQL database (postgresql://user@host:port/db) instead of SQLite in "
                  "--data; several Big Peers may share one");
  double max_clock_offset_s = std::chrono::duration<double>(kDefaultMaxClockOffset).count();
  big->add_option("--max-clock-offset", max_clock_offset_s,
                  "Seconds a received document's HLC may be ahead of this machine's clock; further ahead is refused")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 31536000.0));
  big->add_option("--device-log-bundles-per-day", big_opts.log_bundle_quota.count,
                  "Log bundles one device may send on its own initiative per 24 h; more are refused")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{0}, uint64_t{1'000'000}));
  big->add_option("--device-log-bytes-per-day", big_opts.log_bundle_quota.bytes,
                  "Bytes of log bundles one device may send on its own initiative per 24 h; more are refused")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 50));
  big->add_option("--query-max-rows", big_opts.query_limits.max_rows,
                  "Items POST /api/v1/query returns at most; a longer result is cut and says \"truncated\": true")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1'000'000}));
  big->add_option("--history-reports", big_opts.history_reports,
                  "Small Peer Info reports kept per device for GET /api/v1/devices/{peer_key}/history (288: a day at "
                  "the default 5-minute interval); 0 keeps none")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, smallpeer::bigpeer::kMaxHistoryReports));
  int64_t query_timeout_ms = big_opts.query_limits.timeout.count();
  big->add_option("--query-timeout-ms", query_timeout_ms, "Milliseconds a POST /api/v1/query may run before it is stopped")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{600'000}));
  int64_t sync_cursor_interval_ms = big_opts.sync_cursor_interval.count();
  big->add_option("--sync-cursor-interval-ms", sync_cursor_interval_ms,
                  "How often a sync session stores its cursor of what it received (0: with every batch); a reconnect "
                  "after a crash resends at most this much")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{3'600'000}));
  int64_t ingest_gather_ms = big_opts.ingest_gather.count();
  big->add_option("--ingest-gather-ms", ingest_gather_ms,
                  "Under load, milliseconds the ingest may wait to commit more reports together (0: never); a "
                  "report's ACK waits at most this much longer")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1000}));
  big->add_option("--threads", big_opts.threads, "Sync I/O threads (plain HTTP connections have one more)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  big->add_option("--max-handshakes", big_opts.handshakes.total,
                  "Sync connections that may be between upgrade and authentication at once; more are closed at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  big->add_option("--max-handshakes-per-address", big_opts.handshakes.per_address, "The same cap per source IP address")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  big->add_flag("--require-device-approval", big_opts.enrollment.approval_required,
                "New device keys wait (pending) until the operator approves them (default: enrolled at once)");
  big->add_option("--max-pending-devices", big_opts.enrollment.max_pending,
                  "With --require-device-approval: new keys beyond this many pending are refused, unrecorded")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  big->add_option("--audit-max-entries", big_opts.audit.max_entries, "Audit log entries kept (the newest)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100'000'000));
  int64_t audit_max_age_days = big_opts.audit.max_age.count() / 24;
  big->add_option("--audit-max-age-days", audit_max_age_days, "Audit log entries older than this many days are deleted")
      ->capture_default_str()
      ->check(CLI::Range(1, 36500));
  std::string ready_file;
  big->add_option("--ready-file", ready_file,
                  "Once listening, write the URLs, app id, admin token, peer key and pid here as JSON (mode 0600); "
                  "removed at shutdown. For programs that start a Big Peer (tests, supervisors)");
  big->add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  RepairOptions repair_opts;
  auto* repair = app.add_subcommand(
      "repair-clock",
      "Re-stamp documents whose HLC is far in the future (a store poisoned before clocks were bounded), with the owner "
      "stopped");
  repair->add_option("--data", repair_opts.dir, "A small peer's persistence directory or a Big Peer's data directory")
      ->required();
  repair->add_option("--postgres", repair_opts.postgres_url, "Repair this Big Peer PostgreSQL database instead");
  repair
      ->add_option("--max-clock-offset", repair_opts.max_clock_offset_s,
                   "Seconds ahead of this machine's clock beyond which an HLC is re-stamped")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 31536000.0));

  smallpeer::tools::FleetOptions fleet_opts;
  auto* fleet = smallpeer::tools::add_fleet_command(app, fleet_opts);

  CLI11_PARSE(app, argc, argv);
  try {
    if (*collect) return spi_collect(collect_opts);
    if (*show) return spi_show(show_opts);
    if (*fleet) return smallpeer::tools::run_fleet_command(fleet_opts);
    if (*repair) return repair_clock(repair_opts);
    if (*big) {
      if (!admin_token.empty()) big_opts.admin_token = admin_token;
      big_opts.max_clock_offset = std::chrono::milliseconds(static_cast<int64_t>(max_clock_offset_s * 1000));
      big_opts.query_limits.timeout = std::chrono::milliseconds(query_timeout_ms);
      big_opts.sync_cursor_interval = std::chrono::milliseconds(sync_cursor_interval_ms);
      big_opts.ingest_gather = std::chrono::milliseconds(ingest_gather_ms);
      big_opts.audit.max_age = std::chrono::hours(audit_max_age_days * 24);
      return big_peer(std::move(big_opts), log_level, ready_file);
    }
  } catch (const smallpeer::Error& e) {
    std::cerr << "smallpeer: " << e.what() << '\n';
    return 2;
  }
  return 1;
}

int main(int argc, char** argv) {
  try {
    return run_smallpeer(argc, argv);
  } catch (const std::exception& e) {  // not a smallpeer::Error: a bug or the system (out of memory, ...)
    std::cerr << "smallpeer: unexpected error: " << e.what() << '\n';
    return 1;
  }
}
