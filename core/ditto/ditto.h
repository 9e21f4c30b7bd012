// One open small peer: persistence directory, identity, store, logs, presence and Small Peer Info.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>

#include "identity/identity.h"
#include "log/log.h"
#include "presence/presence.h"
#include "runtime/scheduler.h"
#include "spi/small_peer_info_collector.h"
#include "store/store.h"
#include "sync/sync_engine.h"

namespace smallpeer {

/// How the peer proves it belongs to an app (Ditto's playground identities).
struct IdentityConfig {
  enum class Kind { offline_playground, online_playground };
  Kind kind = Kind::offline_playground;
  std::string app_id;  // optional offline; required online
  std::string token;   // required online (the app token the Big Peer checks)
};

/// Everything needed to open a small peer.
struct DittoConfig {
  std::filesystem::path persistence_dir;
  IdentityConfig identity;
  std::optional<std::string> device_name;  // default: the host name
  std::string sdk_language = "C";          // reported as ditto_sdk_language
  std::shared_ptr<Scheduler> scheduler;    // default: an AsioScheduler on the shared runtime
  EngineLogLimits log_limits;
  /// The wall clock that stamps this peer's document versions (HLCs). Default: the scheduler's.
  std::shared_ptr<const Clock> clock;
  /// A received document whose HLC is further ahead of `clock` is refused (docs/SYNC.md "Clock
  /// bounds"); also the bound beyond which stored HLCs are not restored at open.
  std::chrono::milliseconds max_clock_offset = kDefaultMaxClockOffset;
};

/// An open small peer. Thread-safe; every call after close() throws Error(closed).
class Ditto {
 public:
  /// Opens (creating) the persistence directory. Throws Error(io) if it cannot be written and
  /// Error(locked) if another open instance, in this process or another, uses it.
  static std::shared_ptr<Ditto> open(DittoConfig config);
  ~Ditto();
  Ditto(const Ditto&) = delete;
  Ditto& operator=(const Ditto&) = delete;

  /// Stops background work, closes the store and releases the directory. Idempotent.
  void close();
  /// True after close().
  [[nodiscard]] bool is_closed() const;

  /// This peer's key (derived from its Ed25519 public key).
  [[nodiscard]] const std::string& peer_key() const;
  /// The configuration the instance was opened with.
  [[nodiscard]] const DittoConfig& config() const { return config_; }
  /// The Small Peer Info settings and collector.
  SmallPeerInfoCollector& small_peer_info();
  /// Live connections.
  Presence& presence() { return presence_; }

  /// Upserts into a user collection (system collections are refused); returns the stored document.
  Document upsert(std::string_view collection, std::string_view json);
  /// A live document from any collection, or nullopt.
  std::optional<Document> get(std::string_view collection, std::string_view id);
  /// A page of live documents from any collection.
  Page list(std::string_view collection, size_t limit, std::string_view after);
  /// Runs a read-only DQL query (docs/QUERY.md) with `args_json` (a JSON object, empty for none) over
  /// any collection; returns {"items":[...]}.
  std::string execute(std::string_view query, std::string_view args_json);
  /// Removes a document from a user collection; false if it did not exist.
  bool remove(std::string_view collection, std::string_view id);
  /// Names of user collections (or system ones) that hold documents.
  std::vector<std::string> collection_names(bool system);
  /// Observes committed changes to a collection (on the thread that made the change).
  Store::ObserverId observe(std::string collection, Store::Observer observer);
  /// Stops an observer; safe after close().
  void unobserve(Store::ObserverId id);

  /// Writes a line to this instance's engine log (and the user's log output).
  void log(LogLevel level, std::string_view component, std::string_view message);
  /// Exports the engine log lines that pass `filter` to a gzip JSON Lines file.
  LogExportResult export_logs(const std::filesystem::path& out, const LogFilter& filter);
  /// Exports the engine logs of every instance open in this process (DittoLogger.exportToFile),
  /// merged oldest first, to one gzip JSON Lines file; an empty export when none is open.
  static LogExportResult export_open_instances_logs(const std::filesystem::path& out, const LogFilter& filter);
  /// Builds a log bundle now and sends it to the Big Peer on the app's own initiative (at once if
  /// connected, else on the next connection); returns the bundle's request id ("dev_...").
  std::string send_logs(const LogFilter& filter);
  /// The active transport configuration as JSON, secrets removed.
  std::string transport_config_json() const;
  /// Validates, persists and applies a transport configuration (see sync::TransportConfig).
  void set_transport_config(std::string_view json);
  /// Starts sync. Throws Error(invalid_argument) if Big Peer URLs are configured under an offline
  /// playground identity, Error(io) if the LAN port cannot be bound.
  void start_sync();
  /// Stops sync and closes every connection.
  void stop_sync();
  /// True while sync runs.
  bool sync_running();
  /// The bound LAN TCP port, or 0.
  uint16_t lan_port();
  /// Sets a user collection's sync scope (default AllPeers); system collections are refused.
  void set_collection_scope(std::string_view collection, SyncScope scope);
  /// A collection's sync scope (for __small_peer_info: the SPI scope).
  SyncScope collection_scope(std::string_view collection);
  /// True while this device holds a valid, unexpired, unrevoked admin grant from its Big Peer.
  bool is_admin_device();
  /// The admin signing key ("ask…") this device checks grants with: the app's configured one, else
  /// the one its Big Peer sent; nullopt before either.
  std::optional<std::string> admin_signing_key();
  /// Pins the admin signing key from the app's configuration (persisted); nullopt forgets it (and
  /// the learned one). Error(invalid_argument) naming the problem if `key` is not "ask" + base64url
  /// of 32 bytes; nothing changes then.
  void set_admin_signing_key(std::optional<std::string_view> key);
  /// On an admin device, the fleet's Small Peer Info documents (ordered by _id) as a JSON array;
  /// "[]" on any other device.
  std::string fleet_json();
  /// Observes the fleet on an admin device: after each change to either fleet collection, the
  /// device's newest document from either source (Change::collection is kFleetCollection), or a
  /// remove once neither holds it. Told on the thread that made the change; unobserve() stops it.
  Store::ObserverId observe_fleet(Store::Observer observer);

 private:
  explicit Ditto(DittoConfig config);
  template <typename F>
  decltype(auto) guarded(F&& f) const;
  [[nodiscard]] SyncScope scope_of(std::string_view collection) const;
  // The transport configuration without the closed check, for the SPI collector, which runs while
  // close() waits for it (taking the lifecycle lock there would deadlock).
  [[nodiscard]] std::string transport_json_unguarded() const;
  void load_scopes();
  // The newest live version of one device's document in either fleet collection.
  [[nodiscard]] std::optional<Document> fleet_document(std::string_view id) const;

  DittoConfig config_;
  mutable std::shared_mutex lifecycle_;
  // Set before close() waits for the lock: glibc's rwlock prefers readers, so without it a steady
  // stream of calls would starve close() forever.
  std::atomic<bool> closing_{false};
  bool closed_ = false;
  int lock_fd_ = -1;
  PeerIdentity identity_;
  std::string peer_key_;
  Presence presence_;
  std::shared_ptr<Scheduler> scheduler_;
  std::unique_ptr<EngineLog> log_;
  std::unique_ptr<sync::LogOutbox> log_outbox_;
  std::unique_ptr<Store> store_;
  std::shared_ptr<SmallPeerInfoCollector> spi_;
  mutable std::mutex scopes_mutex_;
  std::map<std::string, SyncScope, std::less<>> scopes_;  // user collections that are not AllPeers
  std::unique_ptr<admin::AdminTrust> admin_;
  std::unique_ptr<sync::SyncEngine> sync_;
};

}  // namespace smallpeer
