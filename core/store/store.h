// The document store: collections of JSON documents in SQLite (WAL), each with an HLC version and
// its origin peer. Deletes leave tombstones so they replicate. System collections ("__" prefix)
// live in their own table, apart from user collections.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clock/hlc.h"
#include "query/sql_query.h"

namespace smallpeer {

/// A document's version: last writer wins by HLC, ties broken by origin peer key.
struct Version {
  HlcTimestamp hlc;
  std::string origin;
  // NOLINTNEXTLINE(modernize-use-nullptr): false positive, clang-tidy 14 flags the 0 the defaulted <=> compares with
  auto operator<=>(const Version&) const = default;
};

/// One stored document (or its tombstone).
struct Document {
  std::string collection;
  std::string id;
  std::string json;  // minified JSON object including "_id"; empty for a tombstone
  Version version;
  bool deleted = false;
  HlcTimestamp stored_at;  // local HLC when this store last stored it: the replication cursor
  // Set only by store_support::check_incoming: the document passed every check of a merge and
  // `json` is its minified body, so a merge checks nothing again (the Big Peer checks on its I/O
  // threads, not its writer).
  bool checked = false;
};

/// What an observer is told after a change commits.
enum class ChangeKind { upsert, remove };

/// A committed change to one document.
struct Change {
  std::string collection;
  std::string id;
  ChangeKind kind;
  std::string json;  // the new document; empty on remove
  Version version;
  HlcTimestamp stored_at;  // the document's stored_at after this change
  /// The stored_at of the change committed just before this one in the same collection, when the
  /// store knows it: a reader that has seen everything up to it has now seen everything up to
  /// `stored_at` (changes are notified after commit, so they may arrive out of order).
  std::optional<HlcTimestamp> previous_stored_at;
};

/// One page of a collection, ordered by _id.
struct Page {
  std::vector<Document> documents;
  std::optional<std::string> next_after;  // pass as `after` for the next page; nullopt at the end
};

/// The Big Peer's report history (bigpeer/report_history.h): a system collection with a table of
/// its own in the Big Peer's store (StoreOptions::for_big_peer).
inline constexpr std::string_view kReportHistoryCollection = "__small_peer_info_history";

/// How a SQLite store is tuned for its owner; the defaults suit a test or a tool.
struct StoreOptions {
  /// Hold the database's lock for the connection's life (SQLite's locking_mode=EXCLUSIVE): no other
  /// connection can read it meanwhile, and no transaction pays for the shared-memory locks. For a
  /// store whose directory its owner already locks (a Ditto instance).
  bool exclusive = false;
  /// Page cache size in KiB; 0 keeps SQLite's default (2 MiB).
  int64_t cache_kib = 0;
  /// Page size in bytes of a database this store creates: a power of two from 512 to 65,536, or 0
  /// for SQLite's default (4,096). A database keeps the page size it was created with.
  int page_size = 0;
  /// Pages the WAL may hold before a commit checkpoints it; 0 keeps SQLite's default (1,000). With
  /// page_size set, these are pages of that size: a database with other pages gets as many bytes.
  int wal_autocheckpoint_pages = 0;
  /// Checkpoint once the WAL holds wal_autocheckpoint_pages on a connection of the store's own,
  /// after a merge_batch released the store's lock, instead of inside the commit that crossed it
  /// (which copies the WAL back and fsyncs while every other write waits). The batch's caller
  /// pays, as it paid before; single writes check only past twice the threshold. Not with `exclusive`.
  bool checkpoint_unlocked = false;
  /// System collections kept each in a table of its own, for a collection of many small rows
  /// written at a high rate whose ids are "<key>:<number>" (decimal, at most 18 digits, no leading zeros; others are
  /// refused). A write finds its row by (the key's number, the number), small integers, instead
  /// of by the (collection, _id) text index of the table system collections share; an index of
  /// _id, which no write after a row's first touches, serves reads. Names are system collections
  /// of letters, digits and '_'. The rows a collection has move to its table when a store first
  /// opens with it named here; a store uses every such table its file has, named here or not.
  std::vector<std::string> own_tables;

  /// A Ditto instance's store: exclusive (the instance locks its directory), default cache, so a
  /// process hosting 1,000 small peers stays small.
  static StoreOptions for_ditto() { return {.exclusive = true}; }
  /// The Big Peer's store: 64 MiB of page cache, so the fleet's documents and indexes stay in
  /// memory; 16 KiB pages, so a group commit of thousands of reports and history rows touches,
  /// looks up and writes a quarter of the pages, if ~40% more bytes (bigpeer/BENCHMARKS.md,
  /// "16 KiB pages"); and checkpoints every 40 MB of WAL (2,500 such pages), so a page rewritten by
  /// many group commits is copied back once, by the ingest's writer thread outside the store's
  /// lock, so no API write waits behind it. Report history (bigpeer/report_history.h), one row per
  /// report, has a table of its own (bigpeer/README.md, "Benchmarks"). Not exclusive: operators and
  /// tests may read the file beside it.
  static StoreOptions for_big_peer() {
    return {.cache_kib = int64_t{64} * 1024,
            .page_size = 16'384,
            .wal_autocheckpoint_pages = 2'500,
            .checkpoint_unlocked = true,
            .own_tables = {std::string(kReportHistoryCollection)}};
  }
};

/// The SQLite-backed document store of one peer. Thread-safe.
class Store {
 public:
  using ObserverId = uint64_t;
  using Observer = std::function<void(const Change&)>;

  /// Opens (creating if needed) the database file `path` in WAL mode; stamps local writes with
  /// `hlc` and `local_peer`, tuned by `options`. Throws Error(store|io) when the file cannot be opened,
  /// Error(invalid_argument) for options that cannot work (nothing is created then).
  static std::unique_ptr<Store> open(const std::filesystem::path& path, std::shared_ptr<HybridLogicalClock> hlc,
                                     std::string local_peer, const StoreOptions& options = {});
  virtual ~Store() = default;

  /// True for names starting with "__" (system collections such as __small_peer_info).
  static bool is_system_collection(std::string_view collection);
  /// Throws Error(invalid_argument) unless `collection` is a usable name (1-256 bytes, no NUL).
  static void validate_collection_name(std::string_view collection);

  /// Inserts or replaces a document written locally. `json` must be a JSON object; its "_id" must be
  /// a string if present, and a random one is generated if absent. Returns the stored document.
  virtual Document upsert(std::string_view collection, std::string_view json) = 0;
  /// Makes the JSON a local write stores once its version is known: gets the version and the
  /// minified document, returns what to store (a signed Small Peer Info document signs its version).
  using Seal = std::function<std::string(const Version& version, std::string_view json)>;
  /// upsert(), storing `seal`(version, minified json) instead, called under the store's lock after
  /// the version is stamped. Throws Error(internal) on a store that does not seal (the Big Peer's).
  virtual Document upsert_sealed(std::string_view collection, std::string_view json, const Seal& seal);
  /// Merges a replicated document (or tombstone) last-writer-wins; true if it was newer and stored.
  virtual bool merge(const Document& incoming) = 0;
  /// The live document, or nullopt (also for a tombstone unless `include_deleted`).
  [[nodiscard]] virtual std::optional<Document> get(std::string_view collection, std::string_view id,
                                                    bool include_deleted = false) const = 0;
  /// Up to `limit` live documents with _id greater than `after`, ordered by _id.
  [[nodiscard]] virtual Page list(std::string_view collection, size_t limit, std::string_view after = {}) const = 0;
  /// Replaces a live document with a tombstone; false if there was no live document.
  virtual bool remove(std::string_view collection, std::string_view id) = 0;
  /// Deletes system documents outright, no tombstones (they never replicate); observers hear a remove (empty version)
  /// for each that went. Returns how many went; Error(invalid_argument) for a user collection. Used for bounded logs
  /// (the Big Peer's audit log, expired admin grants) and an admin device's fleet when it stops being one.
  virtual size_t purge_system(std::string_view collection, const std::vector<std::string>& ids) = 0;
  /// Documents and tombstones of `collection` stored after `since` (by stored_at, oldest first), at
  /// most `limit`. stored_at is local and only grows, so relayed documents are never skipped.
  [[nodiscard]] virtual std::vector<Document> changes_since(std::string_view collection, HlcTimestamp since,
                                                            size_t limit = SIZE_MAX) const = 0;
  /// Merges replicated documents in one transaction, writing `settings` (replication cursors) in
  /// the same transaction; returns which documents won and were stored. Observers run after commit.
  /// `batch_ends` (ascending offsets into `incoming`) are where it may be split: on SQLite, a thread
  /// waiting for the store there makes the documents merged so far commit (and be observed) first;
  /// the settings always go in the last transaction. Empty: never split.
  virtual std::vector<bool> merge_batch(const std::vector<Document>& incoming,
                                        const std::vector<std::pair<std::string, std::string>>& settings,
                                        const std::vector<size_t>& batch_ends) = 0;
  /// merge_batch in one transaction, never split.
  std::vector<bool> merge_batch(const std::vector<Document>& incoming,
                                const std::vector<std::pair<std::string, std::string>>& settings) {
    return merge_batch(incoming, settings, {});
  }
  /// Names of collections that hold at least one document or tombstone; `system` picks the table.
  [[nodiscard]] virtual std::vector<std::string> collection_names(bool system) const = 0;
  /// Live document count per user collection, for at most `max_collections` collections by name.
  [[nodiscard]] virtual std::map<std::string, uint64_t> user_collection_counts(size_t max_collections) const = 0;
  /// Calls `observer` after each committed change to `collection`, on the thread that made it.
  virtual ObserverId observe(std::string collection, Observer observer) = 0;
  /// Calls `observer` after each committed change to any collection, user or system.
  virtual ObserverId observe_all(Observer observer) = 0;
  /// Calls `observer` after each committed change to any user collection (no "__" prefix).
  virtual ObserverId observe_user_collections(Observer observer) = 0;
  /// Removes an observer; when it returns, that observer is not running and will not run again.
  virtual void unobserve(ObserverId id) = 0;
  /// A persisted engine setting, or nullopt.
  [[nodiscard]] virtual std::optional<std::string> setting(std::string_view key) const = 0;
  /// Every persisted setting whose key starts with `prefix`, ordered by key.
  [[nodiscard]] virtual std::vector<std::pair<std::string, std::string>> settings_with_prefix(std::string_view prefix) const = 0;
  /// Persists several settings in one transaction.
  virtual void set_settings(const std::vector<std::pair<std::string, std::string>>& values) = 0;
  /// The files that make up the database (main file, -wal, -shm), for disk usage.
  [[nodiscard]] virtual std::vector<std::filesystem::path> files() const = 0;
  /// The clock that stamps this store's writes (and bounds the HLCs it accepts).
  [[nodiscard]] virtual HybridLogicalClock& clock() const = 0;
  /// The SQL this store speaks, for the query translator (query/dql.h).
  [[nodiscard]] virtual dql::Dialect query_dialect() const = 0;
  /// The table that holds only `collection`'s documents (StoreOptions::own_tables), for the query
  /// translator; empty when they are in the table their kind shares.
  [[nodiscard]] virtual std::string query_table(std::string_view /*collection*/) const { return {}; }
  /// Runs one read-only statement written by the query translator and returns its rows, each column
  /// as text. Throws Error(validation) when it runs longer than `timeout` (zero: no limit).
  [[nodiscard]] virtual std::vector<dql::SqlRow> read_query(const dql::SqlQuery& query,
                                                            std::chrono::milliseconds timeout) const = 0;
  /// Heals a store poisoned by far-future HLCs (stored by versions before the clock bound, or by a
  /// device whose clock was years ahead): every document or tombstone whose version or stored_at is
  /// beyond clock().limit() is re-stamped with a fresh local HLC, oldest first, keeping its body,
  /// origin and deleted flag. Returns how many rows it re-stamped. One transaction.
  virtual uint64_t repair_clock() = 0;
  /// Gives every document and tombstone of `collection` a fresh stored_at (versions unchanged), so
  /// every replication cursor sees them again: used when a collection's sync scope widens.
  /// Returns how many rows it re-stamped. One transaction; observers are not called.
  virtual uint64_t restamp_collection(std::string_view collection) = 0;
};

}  // namespace smallpeer
