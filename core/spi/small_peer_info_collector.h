// The Small Peer Info collector: builds the schema_version 1 document (SPEC section 4) from the
// engine's live state and writes it to __small_peer_info at start, every interval and on demand.
#pragma once

#include <atomic>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "runtime/scheduler.h"
#include "spi/settings.h"
#include "spi/system_facts.h"

namespace smallpeer {

class Store;
class EngineLog;
class PeerIdentity;
class Presence;

/// The system collection that holds this peer's SPI document.
inline constexpr std::string_view kSmallPeerInfoCollection = "__small_peer_info";
/// How long a measured `device_disk_usage` is reused: walking the persistence directory costs more
/// than the rest of the document, and disk use moves slowly next to the 5-minute default interval.
inline constexpr std::chrono::seconds kDiskUsageMaxAge{30};
/// The document schema this collector writes.
inline constexpr int kSpiSchemaVersion = 1;
/// At most this many connected peers are listed; the rest set connected_peers_truncated.
inline constexpr size_t kMaxListedPeers = 32;
/// transport_config_change_events keeps the newest this many.
inline constexpr size_t kMaxTransportConfigEvents = 10;
/// At most this many user collections are listed; the rest set store.truncated.
inline constexpr size_t kMaxListedCollections = 100;

/// Where the collector reads live state from. Every reference outlives the collector.
struct SpiSources {
  Store& store;
  EngineLog& log;
  Presence& presence;
  std::string peer_key;
  std::filesystem::path persistence_dir;
  std::filesystem::path identity_file;  // its size is device_disk_usage.ditto_auth
  std::string sdk_language;
  std::string default_device_name;
  std::function<std::string()> logs_config_json;       // {"enabled":..,"minimum_level":..}
  std::function<std::string()> transport_config_json;  // the active config, secrets removed
  const PeerIdentity* identity = nullptr;              // signs every document (spi/spi_signature.h)
};

/// Owns the SPI settings and the collection schedule of one engine instance. Thread-safe.
class SmallPeerInfoCollector : public std::enable_shared_from_this<SmallPeerInfoCollector> {
 public:
  /// Loads persisted settings; call start() to begin the schedule if they say enabled.
  SmallPeerInfoCollector(SpiSources sources, std::shared_ptr<Scheduler> scheduler);
  ~SmallPeerInfoCollector();

  /// Starts the schedule (writing at once) when the persisted settings say enabled.
  void start();
  /// Stops the schedule and waits for a collection in progress; later calls throw Error(closed).
  void shutdown();

  /// Whether SPI is collected (default false).
  [[nodiscard]] bool enabled() const;
  /// Turns collection on (writing a document at once) or off (no more writes).
  void set_enabled(bool enabled);
  /// The SPI sync scope (default LocalPeerOnly).
  [[nodiscard]] SyncScope sync_scope() const;
  /// The scope without the closed check, for the sync engine's rules (which may run during close).
  [[nodiscard]] SyncScope current_sync_scope() const;
  /// Sets the scope; throws Error(invalid_argument) for AllPeers or SmallPeersOnly.
  void set_sync_scope(SyncScope scope);
  /// Whether the document goes to an admin device met on the LAN (default false).
  [[nodiscard]] bool share_with_admin_devices() const;
  /// Turns sharing with admin devices met on the LAN on or off (persisted).
  void set_share_with_admin_devices(bool share);
  /// share_with_admin_devices() without the closed check, for the sync engine's rules.
  [[nodiscard]] bool current_share_with_admin_devices() const { return share_for_rules_; }
  /// The app's metadata as minified JSON (default "{}").
  [[nodiscard]] std::string metadata_json() const;
  /// Validates and stores metadata; on Error(validation) the old metadata stays.
  void set_metadata_json(std::string_view json);
  /// The device name reported in the document.
  [[nodiscard]] std::string device_name() const;
  /// Sets the device name; throws Error(invalid_argument) if empty or over 256 bytes.
  void set_device_name(std::string_view name);
  /// The collection interval (default 300 s).
  [[nodiscard]] std::chrono::milliseconds interval() const;
  /// Sets the interval (at least 1 s) and re-times the next write from the last one.
  void set_interval(std::chrono::milliseconds interval);
  /// Builds and writes the document now, whether or not enabled; returns it.
  std::string collect_now();
  /// Builds the document without writing it (sequence is the one the next write would use).
  [[nodiscard]] std::string build_document() const;
  /// The last written document, or nullopt before the first write.
  [[nodiscard]] std::optional<std::string> current_document() const;
  /// The sequence number of the last write (0 before the first).
  [[nodiscard]] uint64_t sequence() const;
  /// Asks for a write soon, coalescing requests within `debounce` (connectivity changes use this).
  void request_write(std::chrono::milliseconds debounce);
  /// Records that the transport configuration became `config_json` (secrets removed), for the
  /// document's bounded `transport_config_change_events` (Ditto's field), newest last.
  void note_transport_config(const std::string& config_json);

 private:
  std::string build_document_locked(uint64_t sequence) const;
  std::string write_locked();
  void schedule_locked(TimePoint when);
  void cancel_timers_locked();
  // Persists settings_ changed by `mutate`; settings_ changes only once the store has them.
  template <typename F>
  void update_settings_locked(F&& mutate) {
    SpiSettings updated = settings_;
    mutate(updated);
    save_spi_settings(src_.store, updated);
    settings_ = std::move(updated);
  }
  void on_timer();
  void ensure_open() const;

  SpiSources src_;
  std::shared_ptr<Scheduler> scheduler_;
  OsFacts os_;
  // write_mutex_ serialises writes (sequence order); state_mutex_ guards settings and the timer.
  mutable std::mutex write_mutex_;
  mutable std::mutex state_mutex_;
  SpiSettings settings_;
  std::atomic<SyncScope> scope_for_rules_{SyncScope::local_peer_only};  // settings_.sync_scope, readable without a lock
  std::atomic<bool> share_for_rules_{false};                            // settings_.share_with_admin_devices, likewise
  bool closed_ = false;
  uint64_t sequence_ = 0;
  std::optional<TimePoint> last_write_;
  std::optional<Scheduler::TimerId> timer_;
  std::optional<Scheduler::TimerId> debounce_timer_;
  // device_disk_usage as last measured (a statvfs and a walk of the persistence directory), and
  // when: documents written within kDiskUsageMaxAge of it reuse the figures. Guarded by state_mutex_.
  mutable std::string disk_usage_json_;
  mutable std::optional<TimePoint> disk_usage_at_;
  // The live-document counts of user collections as last read, re-read only after a user
  // collection changed: a store observer (registered for the collector's life) raises the flag.
  // Shared with that observer, which may run on any writer's thread. Counts guarded by state_mutex_.
  std::shared_ptr<std::atomic<bool>> counts_stale_ = std::make_shared<std::atomic<bool>>(true);
  std::optional<uint64_t> counts_observer_;
  mutable std::map<std::string, uint64_t> user_collection_counts_;
  // The last kMaxTransportConfigEvents transport configurations set since open, each as
  // {"cfg": <config>, "timestamp": "..."}. Guarded by state_mutex_.
  std::deque<std::string> transport_config_events_;
};

}  // namespace smallpeer
