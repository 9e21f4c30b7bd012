// A simulated fleet: N real small peers (smallpeer::Ditto instances) in one process, sharing the
// engine's thread pool, each with Small Peer Info enabled (BigPeerOnly) and syncing with one Big
// Peer (or one node of a cluster at a time) while it writes plausible app log lines. `smallpeer fleet` runs it; benchmarks use it
// as their load generator.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ditto/ditto.h"
#include "runtime/runtime.h"

namespace smallpeer::tools {

/// What a fleet runs: where its peers sync, how many there are and how busy they are.
struct FleetOptions {
  // ws://host:port/sync; several: the nodes of one cluster, each peer holding one session at a
  // time (docs/SYNC.md, "Several Big Peer URLs")
  std::vector<std::string> big_peer_urls;
  std::string app_id;
  std::string app_token;
  size_t peers = 10;
  std::chrono::milliseconds interval{300'000};   // SPI collection interval, at least 1 s
  std::optional<std::chrono::seconds> duration;  // the command's run time once every peer is open
  std::filesystem::path data_dir;                // empty: a temporary directory that stop() removes
  double log_rate = 0.2;                         // app log lines per second per peer; 0 writes none
  size_t open_threads = 8;                       // peers opened (and closed) at the same time
};

/// Counters across the whole fleet.
struct FleetStats {
  size_t opened = 0;        // peers open now
  size_t connected = 0;     // peers whose presence shows a live Big Peer connection
  uint64_t spi_writes = 0;  // SPI documents written since this fleet opened its peers
  uint64_t log_lines = 0;   // app log lines the fleet wrote into the peers' engine logs
};

/// How one simulated device presents itself. A pure function of its index, so a reopened fleet
/// (and every run of a benchmark) describes the same devices.
struct PeerProfile {
  std::string kind;           // tablet, scanner, forklift, kiosk, gateway or controller
  std::string device_name;    // e.g. "forklift-017", "tablet-north-003"
  std::string sdk_language;   // Swift, Kotlin, Java, JavaScript, Python or C
  std::string metadata_json;  // site, fleet, shift, app_version, asset_tag, hardware
};

/// The profile of the peer at `index` (0-based); device names are unique across indexes.
PeerProfile peer_profile(size_t index);

/// The persistence directory of the peer at `index` under a fleet's data directory.
std::filesystem::path peer_directory(const std::filesystem::path& data_dir, size_t index);

/// Checks `options` as the command does; throws Error(invalid_argument) naming the bad option.
void validate(const FleetOptions& options);

/// File descriptors budgeted per open peer: lock, SQLite db/wal/shm, log file, a socket, headroom.
inline constexpr size_t kFilesPerPeer = 8;
/// File descriptors budgeted for the process itself (stdio, epoll, the runtime, exports).
inline constexpr size_t kFilesForProcess = 64;

/// Raises the soft RLIMIT_NOFILE to the hard limit; throws Error(io) saying how to fix it when even
/// that is too low for `peers` peers. Returns the soft limit now in force.
uint64_t ensure_open_file_limit(size_t peers);

/// The process's resident set size (VmRSS) in bytes, or 0 where /proc is not available.
uint64_t resident_set_bytes();

/// N real small peers in this process. Thread-safe: stats() and collect_all_once() may run while
/// start() is still opening, and stop() may be called from another thread to cut start() short.
class Fleet {
 public:
  /// Validates `options` (throws Error(invalid_argument)); opens nothing yet.
  explicit Fleet(FleetOptions options);
  /// Calls stop().
  ~Fleet();
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  /// Opens and configures every peer, starts sync and the log writers. Returns when all are open
  /// or stop() was called. If a peer fails to open, stops the fleet and throws naming the peer.
  void start();
  /// Current counters; after stop(), opened and connected are 0 and the others keep their final values.
  [[nodiscard]] FleetStats stats() const;
  /// Writes one SPI document on every open peer (collect_now), spread over `threads` threads
  /// (0: as many as the shared runtime runs); returns how many were written.
  uint64_t collect_all_once(size_t threads = 0);
  /// Stops the log writers, closes every peer (releasing its directory) and removes a temporary
  /// data directory. Idempotent.
  void stop();

  /// The options the fleet runs with.
  [[nodiscard]] const FleetOptions& options() const { return options_; }
  /// The data directory (a temporary one is only made by start()).
  [[nodiscard]] std::filesystem::path data_dir() const;
  /// The open peers in index order (all of them once start() returned; empty after stop()).
  [[nodiscard]] std::vector<std::shared_ptr<Ditto>> peers() const;

 private:
  struct Peer;
  class LogWriters;

  std::shared_ptr<Peer> open_peer(size_t index, const std::filesystem::path& data_dir);
  [[nodiscard]] std::vector<std::shared_ptr<Peer>> open_peers() const;
  void shut_down_locked();  // stop()'s work; the caller holds lifecycle_

  const FleetOptions options_;
  // Keeps the shared pool alive for the fleet's lifetime, so it is not torn down and rebuilt as
  // the last peer closes and the next opens.
  std::shared_ptr<Runtime> runtime_;
  std::shared_ptr<LogWriters> log_writers_;
  std::mutex lifecycle_;  // held by start() and stop(), so stop() waits for start() to give up
  std::atomic<bool> stop_requested_{false};
  bool started_ = false;
  bool stopped_ = false;
  bool temporary_dir_ = false;
  mutable std::mutex peers_mutex_;            // guards everything below
  std::vector<std::shared_ptr<Peer>> peers_;  // by index; null until that peer is open
  std::filesystem::path data_dir_;
  std::optional<FleetStats> final_stats_;
};

/// Fleet::start() on its own thread, so the caller can show progress while a thousand peers open.
class BackgroundStart {
 public:
  /// Starts `fleet.start()` on a new thread.
  explicit BackgroundStart(Fleet& fleet);
  /// If start() is still running: stops the fleet (which cuts start() short) and waits for it.
  ~BackgroundStart();
  BackgroundStart(const BackgroundStart&) = delete;
  BackgroundStart& operator=(const BackgroundStart&) = delete;
  /// True once start() has returned or thrown.
  [[nodiscard]] bool done() const { return done_; }
  /// True once start() has thrown.
  [[nodiscard]] bool failed() const { return done_ && error_ != nullptr; }
  /// Waits for start() to end and rethrows its error, if any.
  void finish();

 private:
  Fleet& fleet_;
  std::exception_ptr error_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace smallpeer::tools
