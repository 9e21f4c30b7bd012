// Store on SQLite: one connection behind one mutex, every statement prepared once and reused.
#include <fmt/format.h>
#include <simdjson.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "common/error.h"
#include "store/store.h"
#include "store/store_support.h"

namespace smallpeer {

namespace {

constexpr int kSchemaVersion = 5;
constexpr int kBusyTimeoutMs = 5000;

/// A mutex that knows whether other threads wait for it, so a long batch can step aside for them.
class WaitedMutex {
 public:
  /// Locks, counted as waiting while it blocks.
  void lock() {
    if (mutex_.try_lock()) return;
    waiting_.fetch_add(1, std::memory_order_relaxed);
    mutex_.lock();
    waiting_.fetch_sub(1, std::memory_order_relaxed);
  }
  /// Locks if free.
  bool try_lock() { return mutex_.try_lock(); }
  /// Unlocks.
  void unlock() { mutex_.unlock(); }
  /// Threads blocked in lock() now (a hint: it may change at once).
  [[nodiscard]] unsigned waiting() const { return waiting_.load(std::memory_order_relaxed); }
  /// Called unlocked after seeing waiters: gives them up to 1 ms to take the lock before the caller
  /// locks again (std::mutex is not fair, and an immediate re-lock would usually win).
  void step_aside() const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1);
    while (waiting() > 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  }

 private:
  std::mutex mutex_;
  std::atomic<unsigned> waiting_{0};
};

struct DatabaseCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DatabaseHandle = std::unique_ptr<sqlite3, DatabaseCloser>;
using StatementHandle = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

/// Throws the Error for SQLite's last failure on `db`; file-system refusals become io, contention locked.
[[noreturn]] void throw_sqlite(sqlite3* db, std::string_view what) {
  const std::string message = fmt::format("{} failed: {}", what, sqlite3_errmsg(db));
  switch (sqlite3_extended_errcode(db) & 0xff) {
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      throw Error(ErrorCode::io, message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw Error(ErrorCode::locked, message);
    default:
      throw Error(ErrorCode::store, message);
  }
}

/// Runs SQL that returns no rows we need (schema, transactions, pragmas).
void exec(sqlite3* db, const char* sql, std::string_view what) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) throw_sqlite(db, what);
}

/// Prepares a statement that lives as long as the connection; failures name `what`, or else the SQL.
StatementHandle prepare(sqlite3* db, const std::string& sql, std::string_view what = {}) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
    throw_sqlite(db, what.empty() ? fmt::format("preparing \"{}\"", sql) : std::string(what));
  }
  return StatementHandle(raw);
}

/// One use of a cached statement: binds, steps, reads columns, and resets it when the scope ends.
class Query {
 public:
  /// Uses `stmt`, naming failures after `what`.
  Query(sqlite3* db, const StatementHandle& stmt, std::string_view what) : db_(db), stmt_(stmt.get()), what_(what) {}
  ~Query() { sqlite3_reset(stmt_); }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  /// Binds text; SQLITE_STATIC is safe because callers' strings outlive the query.
  Query& bind(int index, std::string_view text) {
    // A null data pointer would bind SQL NULL, and `id > NULL` matches nothing.
    const char* data = text.data() != nullptr ? text.data() : "";
    check(sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8));
    return *this;
  }
  /// Binds an integer.
  Query& bind(int index, int64_t value) {
    check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  /// Binds NULL.
  Query& bind_null(int index) {
    check(sqlite3_bind_null(stmt_, index));
    return *this;
  }
  /// Advances to the next row; false when there are no more.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw_sqlite(db_, what_);
  }
  /// Runs a statement that returns no rows.
  void run() {
    while (step()) {
    }
  }
  /// A text column of the current row (empty for NULL).
  [[nodiscard]] std::string text(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return data != nullptr ? std::string(data, static_cast<size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
  }
  /// An integer column of the current row.
  [[nodiscard]] int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  /// True if the column of the current row is NULL.
  [[nodiscard]] bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) throw_sqlite(db_, what_);
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string_view what_;
};

/// The integer a pragma that reads one (e.g. "PRAGMA user_version") returns, 0 if it returns no row.
int64_t pragma_integer(sqlite3* db, const char* pragma, std::string_view what) {
  StatementHandle stmt = prepare(db, pragma, what);
  Query query(db, stmt, what);
  return query.step() ? query.integer(0) : 0;
}

/// BEGIN IMMEDIATE ... COMMIT, rolled back if the scope is left without commit().
class Transaction {
 public:
  /// Begins a write transaction.
  explicit Transaction(sqlite3* db) : db_(db) { exec(db_, "BEGIN IMMEDIATE", "beginning a transaction"); }
  ~Transaction() {
    if (!committed_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  /// Commits; afterwards the destructor does nothing.
  void commit() {
    exec(db_, "COMMIT", "committing a transaction");
    committed_ = true;
  }

 private:
  sqlite3* db_;
  bool committed_ = false;
};

/// HLC values are stored in a signed INTEGER column; 48-bit milliseconds keep them far below 2^63.
int64_t to_column(HlcTimestamp t) {
  return static_cast<int64_t>(std::min<uint64_t>(t.value, std::numeric_limits<int64_t>::max()));
}

/// The table of a system collection that has one of its own (StoreOptions::own_tables).
std::string own_table_name(std::string_view collection) {
  return fmt::format("collection{}", collection);
}

/// The statements for one documents table: user_documents or system_documents, shared by
/// collections and keyed by (collection, id), or a system collection's own table, whose ids are
/// "<key>:<number>" and whose rows a write finds by (key number, number), small integers (the
/// table's `keys` table numbers the keys); its index of ids, which no write after a row's first
/// touches, serves reads. Every statement takes the collection as ?1 and the id as ?2, and an own
/// table's writes the key number as ?8 and the number as ?9, so callers bind alike (an own table's
/// statements leave ?1 unused).
struct TableStatements {
  std::string table;
  std::string own_collection;  // empty for a shared table
  StatementHandle get, write, merge, tombstone, list, changes, names;
  StatementHandle key_number, add_key;  // an own table's key numbers; null for a shared table
  mutable StatementHandle purge;        // prepared on first use (only the Big Peer purges)
  // An own table's key numbers read or added so far (under the store's lock; cleared when a
  // transaction that may have added one fails).
  // Looked up by string_view, so a hit (every write of a known key) allocates nothing.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  mutable std::unordered_map<std::string, int64_t, KeyHash, std::equal_to<>> key_numbers;

  TableStatements(sqlite3* db, std::string table_name, std::string own = {})
      : table(std::move(table_name)),
        own_collection(std::move(own)),
        get(prepare(db, fmt::format("SELECT body, hlc, origin, deleted, stored_at FROM {} WHERE {}", table, match()))),
        write(prepare(db, fmt::format("INSERT INTO {0}({1}, body, hlc, origin, deleted, stored_at) "
                                      "VALUES({2}, ?3, ?4, ?5, 0, ?4) ON CONFLICT({3}) DO UPDATE SET "
                                      "body=excluded.body, hlc=excluded.hlc, origin=excluded.origin, deleted=0, "
                                      "stored_at=excluded.stored_at",
                                      table, key_columns(), key_values(), conflict_target()))),
        // Last writer wins inside SQLite, so the compare and the write are one atomic statement.
        merge(prepare(db, fmt::format("INSERT INTO {0}({1}, body, hlc, origin, deleted, stored_at) "
                                      "VALUES({2}, ?3, ?4, ?5, ?6, ?7) ON CONFLICT({3}) DO UPDATE SET "
                                      "body=excluded.body, hlc=excluded.hlc, origin=excluded.origin, "
                                      "deleted=excluded.deleted, stored_at=excluded.stored_at WHERE excluded.hlc > {0}.hlc OR "
                                      "(excluded.hlc = {0}.hlc AND excluded.origin > {0}.origin)",
                                      table, key_columns(), key_values(), conflict_target()))),
        tombstone(prepare(db, fmt::format("UPDATE {} SET body=NULL, hlc=?3, origin=?4, deleted=1, stored_at=?3 "
                                          "WHERE {} AND deleted=0",
                                          table, match()))),
        list(prepare(db, fmt::format("SELECT id, body, hlc, origin FROM {} WHERE {}id>?2 AND "
                                     "deleted=0 ORDER BY id LIMIT ?3",
                                     table, scope()))),
        changes(prepare(db, fmt::format("SELECT id, body, hlc, origin, deleted, stored_at FROM {} WHERE {}"
                                        "stored_at>?2 ORDER BY stored_at LIMIT ?3",
                                        table, scope()))),
        names(prepare(db, own_collection.empty() ? fmt::format("SELECT DISTINCT collection FROM {} ORDER BY collection", table)
                                                 : fmt::format("SELECT {} FROM {} LIMIT 1", collection_column(), table))) {
    if (own_collection.empty()) return;
    key_number = prepare(db, fmt::format("SELECT number FROM {} WHERE key=?1", own_keys_table(own_collection)));
    add_key =
        prepare(db, fmt::format("INSERT INTO {}(key) VALUES(?1) ON CONFLICT(key) DO NOTHING", own_keys_table(own_collection)));
  }

  /// The table of the numbers of an own table's keys.
  static std::string own_keys_table(std::string_view collection) { return fmt::format("keys{}", collection); }
  /// The condition that picks the row of id ?2 (of collection ?1 in a shared table).
  [[nodiscard]] std::string match() const { return own_collection.empty() ? "collection=?1 AND id=?2" : "id=?2"; }
  /// The condition that picks the collection's rows, to be followed by another: none in an own table.
  [[nodiscard]] std::string scope() const { return own_collection.empty() ? "collection=?1 AND " : ""; }
  /// The collection's name as a result column (an own table's name is letters, digits and '_').
  [[nodiscard]] std::string collection_column() const {
    return own_collection.empty() ? "collection" : fmt::format("'{}'", own_collection);
  }

 private:
  [[nodiscard]] std::string key_columns() const { return own_collection.empty() ? "collection, id" : "key, number, id"; }
  [[nodiscard]] std::string key_values() const { return own_collection.empty() ? "?1, ?2" : "?8, ?9, ?2"; }
  [[nodiscard]] std::string conflict_target() const { return own_collection.empty() ? "collection, id" : "key, number"; }
};

/// True for a name a system collection's own table may have: "__" and ASCII letters, digits and
/// '_' (it goes into SQL), at most 256 bytes.
bool own_table_named_well(std::string_view collection) {
  const bool ascii = std::all_of(collection.begin(), collection.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
  return ascii && collection.size() > 2 && collection.size() <= 256 && collection.starts_with("__");
}

/// The key and number of an own table's id "<key>:<number>" (the number in decimal, without
/// leading zeros), or nullopt for an id not of that form.
std::optional<std::pair<std::string_view, int64_t>> split_own_id(std::string_view id) {
  const auto colon = id.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  const std::string_view digits = id.substr(colon + 1);
  if (digits.empty() || digits.size() > 18 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  int64_t number = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + (c - '0');
  }
  return std::pair{id.substr(0, colon), number};
}

constexpr const char* kSchema = R"sql(
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS user_documents(
  collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT, hlc INTEGER NOT NULL, origin TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(collection, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS system_documents(
  collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT, hlc INTEGER NOT NULL, origin TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(collection, id)) WITHOUT ROWID;
-- `deleted` makes these covering for live-document counts, which then skip the bodies.
CREATE INDEX IF NOT EXISTS user_documents_by_hlc ON user_documents(collection, hlc, deleted);
CREATE INDEX IF NOT EXISTS system_documents_by_hlc ON system_documents(collection, hlc, deleted);
CREATE TABLE IF NOT EXISTS settings(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
PRAGMA user_version = 1;
COMMIT;
)sql";

// Version 2: stored_at, the local HLC of the last store of a row. Replication cursors follow it
// rather than the document's own (possibly remote, older) version, so relays never skip a merge.
constexpr const char* kMigrationToV2 = R"sql(
BEGIN IMMEDIATE;
ALTER TABLE user_documents ADD COLUMN stored_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE system_documents ADD COLUMN stored_at INTEGER NOT NULL DEFAULT 0;
UPDATE user_documents SET stored_at = hlc;
UPDATE system_documents SET stored_at = hlc;
CREATE INDEX IF NOT EXISTS user_documents_by_stored_at ON user_documents(collection, stored_at);
CREATE INDEX IF NOT EXISTS system_documents_by_stored_at ON system_documents(collection, stored_at);
PRAGMA user_version = 2;
COMMIT;
)sql";

// Version 3: documents in rowid tables, and no HLC index on system documents.
// A WITHOUT ROWID table keeps at most ~1,000 bytes of a row on its b-tree page, so every SPI
// document (~1.3 KB) spilled onto an overflow page: an update wrote the leaf, the overflow page and
// both indexes. A rowid table keeps rows up to ~4,000 bytes on the leaf, and updating a document's
// body leaves its (collection, id) key index alone. Only live-document counts of user collections
// read the HLC index; on system documents it was one more b-tree written per SPI report.
constexpr const char* kMigrationToV3 = R"sql(
BEGIN IMMEDIATE;
CREATE TABLE user_documents_v3(
  collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT, hlc INTEGER NOT NULL, origin TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0, stored_at INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(collection, id));
INSERT INTO user_documents_v3 SELECT collection, id, body, hlc, origin, deleted, stored_at FROM user_documents;
DROP TABLE user_documents;
ALTER TABLE user_documents_v3 RENAME TO user_documents;
CREATE INDEX user_documents_by_hlc ON user_documents(collection, hlc, deleted);
CREATE INDEX user_documents_by_stored_at ON user_documents(collection, stored_at);
CREATE TABLE system_documents_v3(
  collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT, hlc INTEGER NOT NULL, origin TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0, stored_at INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(collection, id));
INSERT INTO system_documents_v3 SELECT collection, id, body, hlc, origin, deleted, stored_at FROM system_documents;
DROP TABLE system_documents;
ALTER TABLE system_documents_v3 RENAME TO system_documents;
CREATE INDEX system_documents_by_stored_at ON system_documents(collection, stored_at);
PRAGMA user_version = 3;
COMMIT;
)sql";

// Version 4: no stored_at index on system documents either. Only a small peer's session to the
// Big Peer reads a system collection's changes (its own SPI document, one row; see
// Session::may_ever_send), so the index served no query, yet every SPI report wrote its page: a
// second WAL frame per device commit and more pages per Big Peer group commit. changes_since on a
// system collection now finds the rows by the (collection, id) key and sorts them.
constexpr const char* kMigrationToV4 = R"sql(
BEGIN IMMEDIATE;
DROP INDEX IF EXISTS system_documents_by_stored_at;
PRAGMA user_version = 4;
COMMIT;
)sql";

// Version 5: a system collection may have a table of its own (StoreOptions::own_tables). The
// tables come with the options, not the version; the version only keeps an older SmallPeer, which
// would look for their rows in system_documents and not see them, from opening the file.
constexpr const char* kMigrationToV5 = R"sql(
BEGIN IMMEDIATE;
PRAGMA user_version = 5;
COMMIT;
)sql";

/// Checkpoints a shared store's WAL on a connection of its own, on the thread of a write that has
/// released the store's lock (StoreOptions::checkpoint_unlocked): copying the WAL back into the
/// database, and the fsync that goes with it, then never runs inside a commit while every other
/// write waits. Thread-safe.
class Checkpointer {
 public:
  /// Opens its connection to `path` (throws Error(io) if it cannot); checkpoints are due once the
  /// WAL holds `threshold_pages` pages.
  Checkpointer(const std::filesystem::path& path, int threshold_pages)
      : path_(path), threshold_(threshold_pages), db_(open(path)) {}

  /// The writer's sqlite3_wal_hook: called after each commit, its database lock released, with
  /// the pages the WAL now holds.
  static int on_commit(void* self, sqlite3* /*db*/, const char* /*schema*/, int pages) {
    static_cast<Checkpointer*>(self)->wal_pages_.store(pages, std::memory_order_relaxed);
    return SQLITE_OK;
  }

  /// Called without the store's lock: checkpoints if the WAL holds `factor` times the threshold
  /// (a batch writer passes 1; single writes 2, so only a store nobody batches into makes them
  /// pay). A checkpoint already running on another thread is enough.
  void run_if_due(int factor) {
    const int due = threshold_ * factor;
    if (wal_pages_.load(std::memory_order_relaxed) < due) return;
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock() || wal_pages_.load(std::memory_order_relaxed) < due) return;
    int wal_pages = 0, copied = 0;
    // PASSIVE: copies what no reader still needs and never blocks a writer; once everything in
    // the WAL was copied, the next commit starts it over.
    const int rc = sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_pages, &copied);
    const bool failed = (rc != SQLITE_OK && rc != SQLITE_BUSY) || wal_pages < 0;  // -1: not in WAL mode
    if (failed && !failing_) {
      spdlog::warn("store: checkpointing {} failed: {} (the WAL grows until a checkpoint succeeds)", path_.string(),
                   wal_pages < 0 ? "the database is not in WAL mode" : sqlite3_errmsg(db_.get()));
    }
    failing_ = failed;
    if (!failed && copied == wal_pages) wal_pages_.store(0, std::memory_order_relaxed);  // starts over at the next commit
  }

 private:
  static DatabaseHandle open(const std::filesystem::path& path) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    DatabaseHandle db(raw);
    if (rc != SQLITE_OK) throw_sqlite(raw, "opening the checkpoint connection");
    // A connection learns the database is in WAL mode at its first read; until then a checkpoint
    // silently does nothing.
    exec(raw, "PRAGMA journal_mode", "opening the checkpoint connection");
    return db;
  }

  const std::filesystem::path path_;
  const int threshold_;
  std::atomic<int> wal_pages_{0};
  std::mutex mutex_;  // guards db_ and failing_
  DatabaseHandle db_;
  bool failing_ = false;  // the last checkpoint failed (logged once)
};

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::filesystem::path& path, std::shared_ptr<HybridLogicalClock> hlc, std::string local_peer,
              const StoreOptions& options)
      : path_(path),
        hlc_(std::move(hlc)),
        local_peer_(std::move(local_peer)),
        exclusive_(options.exclusive),
        db_(open_database(path)) {
    configure_and_migrate(options);
    if (options.checkpoint_unlocked) {
      // After configure_and_migrate: the wal_autocheckpoint pragma would replace this hook.
      checkpointer_ = std::make_unique<Checkpointer>(path, wal_threshold_pages_ > 0 ? wal_threshold_pages_ : 1000);
      sqlite3_wal_hook(db_.get(), &Checkpointer::on_commit, checkpointer_.get());
    }
    tables_[0] = std::make_unique<TableStatements>(db_.get(), "user_documents");
    tables_[1] = std::make_unique<TableStatements>(db_.get(), "system_documents");
    get_setting_ = prepare(db_.get(), "SELECT value FROM settings WHERE key=?1");
    settings_by_prefix_ =
        prepare(db_.get(), "SELECT key, value FROM settings WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key");
    put_setting_ = prepare(db_.get(),
                           "INSERT INTO settings(key, value) VALUES(?1, ?2) "
                           "ON CONFLICT(key) DO UPDATE SET value=excluded.value");
    count_live_ = prepare(db_.get(),
                          "SELECT collection, count(*) FROM user_documents WHERE deleted=0 "
                          "GROUP BY collection ORDER BY collection LIMIT ?1");
    attach_own_tables(options.own_tables);
    restore_clock();
  }

  Document upsert(std::string_view collection, std::string_view json) override {
    return upsert_sealed(collection, json, nullptr);
  }

  Document upsert_sealed(std::string_view collection, std::string_view json, const Seal& seal) override {
    validate_collection_name(collection);
    Document doc;
    std::optional<HlcTimestamp> previous;
    {
      std::lock_guard lock(mutex_);
      store_support::fill_local_document(parser_, json, doc);
      doc.collection = std::string(collection);
      const auto& t = table(collection);
      const auto key = own_key(t, doc.id);  // checked before the clock moves
      // Stamped under the lock so HLC order is commit order, which changes_since() relies on.
      doc.version = {hlc_->now(), local_peer_};
      doc.stored_at = doc.version.hlc;
      if (seal) doc.json = seal(doc.version, doc.json);
      // A single statement is its own transaction: no BEGIN/COMMIT round trips on the hot path
      // (an own table's first id of a key numbers the key first, committed on its own).
      Query query(db_.get(), t.write, "upsert");
      bind_own_key(t, query, key);
      query.bind(1, collection).bind(2, doc.id).bind(3, doc.json).bind(4, to_column(doc.version.hlc)).bind(5, local_peer_).run();
      previous = chain_locked(doc.collection, doc.stored_at);
    }
    notify(doc, ChangeKind::upsert, previous);
    if (checkpointer_) checkpointer_->run_if_due(2);
    return doc;
  }

  bool merge(const Document& incoming) override {
    std::string body;
    HlcTimestamp stored_at;
    std::optional<HlcTimestamp> previous;
    {
      std::lock_guard lock(mutex_);
      if (!merge_locked(incoming, body, stored_at)) return false;
      previous = chain_locked(incoming.collection, stored_at);
    }
    if (observers_.observed(incoming.collection)) {
      const Document stored = as_stored(incoming, std::move(body), stored_at);
      notify(stored, stored.deleted ? ChangeKind::remove : ChangeKind::upsert, previous);
    }
    if (checkpointer_) checkpointer_->run_if_due(2);
    return true;
  }

  using Store::merge_batch;
  std::vector<bool> merge_batch(const std::vector<Document>& incoming,
                                const std::vector<std::pair<std::string, std::string>>& settings,
                                const std::vector<size_t>& batch_ends) override {
    std::vector<bool> applied(incoming.size(), false);
    // What won, in commit order: incoming[index] stored at `stored_at` (with the checked body of a
    // document that was not checked before). Only what an observer hears of becomes a Document.
    struct Winner {
      size_t index;
      HlcTimestamp stored_at;
      std::string body;
    };
    std::vector<Winner> winners;
    std::vector<Document> stored_docs;
    std::vector<std::optional<HlcTimestamp>> previous;
    auto next_end = batch_ends.begin();
    std::unique_lock lock(mutex_);
    for (size_t i = 0;;) {
      try {
        Transaction transaction(db_.get());
        for (const size_t first = i; i < incoming.size(); ++i) {
          // Another thread waits for the connection (on the Big Peer, an API call behind a group
          // commit of thousands of documents): at the end of a batch (a report and its history row
          // stay in one transaction), commit what is merged and let it in first. The settings
          // (replication cursors) go in the last transaction, so a cursor never runs ahead of the
          // documents it covers.
          while (next_end != batch_ends.end() && *next_end < i) ++next_end;
          if (i > first && next_end != batch_ends.end() && *next_end == i && mutex_.waiting() > 0) break;
          std::string body;
          HlcTimestamp stored_at;
          if (merge_locked(incoming[i], body, stored_at)) {
            applied[i] = true;
            winners.push_back({i, stored_at, std::move(body)});
          }
        }
        if (i == incoming.size()) {
          for (const auto& [key, value] : settings) {
            Query(db_.get(), put_setting_, "writing a setting").bind(1, key).bind(2, value).run();
          }
        }
        transaction.commit();
      } catch (...) {
        // Rolled back: a key this transaction numbered is not numbered in the file.
        for (const auto& t : own_tables_) t->key_numbers.clear();
        throw;
      }
      previous.clear();
      // Whether a collection is observed, asked once per collection and transaction.
      std::vector<std::pair<std::string_view, bool>> observed;
      const auto is_observed = [&](std::string_view collection) {
        for (const auto& [name, yes] : observed) {
          if (name == collection) return yes;
        }
        return observed.emplace_back(collection, observers_.observed(collection)).second;
      };
      for (auto& w : winners) {  // in commit order
        const Document& doc = incoming[w.index];
        const auto before = chain_locked(doc.collection, w.stored_at);
        if (!is_observed(doc.collection)) continue;
        stored_docs.push_back(as_stored(doc, std::move(w.body), w.stored_at));
        previous.push_back(before);
      }
      winners.clear();
      lock.unlock();
      for (size_t d = 0; d < stored_docs.size(); ++d) {
        notify(stored_docs[d], stored_docs[d].deleted ? ChangeKind::remove : ChangeKind::upsert, previous[d]);
      }
      if (i == incoming.size()) {
        if (checkpointer_) checkpointer_->run_if_due(1);
        return applied;
      }
      stored_docs.clear();
      mutex_.step_aside();
      lock.lock();
    }
  }

  [[nodiscard]] std::optional<Document> get(std::string_view collection, std::string_view id,
                                            bool include_deleted) const override {
    validate_collection_name(collection);
    std::lock_guard lock(mutex_);
    Query query(db_.get(), table(collection).get, "get");
    query.bind(1, collection).bind(2, id);
    if (!query.step()) return std::nullopt;
    const bool deleted = query.integer(3) != 0;
    if (deleted && !include_deleted) return std::nullopt;
    return Document{std::string(collection),
                    std::string(id),
                    query.text(0),
                    {{static_cast<uint64_t>(query.integer(1))}, query.text(2)},
                    deleted,
                    {static_cast<uint64_t>(query.integer(4))}};
  }

  [[nodiscard]] Page list(std::string_view collection, size_t limit, std::string_view after) const override {
    validate_collection_name(collection);
    if (limit == 0) throw Error(ErrorCode::invalid_argument, "list limit must be at least 1");
    // One row past the page tells whether another page follows, so the last page has no next_after.
    const auto fetch = static_cast<int64_t>(std::min<size_t>(limit, std::numeric_limits<int64_t>::max() - 1)) + 1;
    Page page;
    std::lock_guard lock(mutex_);
    Query query(db_.get(), table(collection).list, "list");
    query.bind(1, collection).bind(2, after).bind(3, fetch);
    while (query.step()) {
      if (page.documents.size() == limit) {
        page.next_after = page.documents.back().id;
        break;
      }
      page.documents.push_back(Document{std::string(collection),
                                        query.text(0),
                                        query.text(1),
                                        {{static_cast<uint64_t>(query.integer(2))}, query.text(3)},
                                        false});
    }
    return page;
  }

  bool remove(std::string_view collection, std::string_view id) override {
    validate_collection_name(collection);
    Document tombstone{std::string(collection), std::string(id), {}, {}, true};
    std::optional<HlcTimestamp> previous;
    {
      std::lock_guard lock(mutex_);
      tombstone.version = {hlc_->now(), local_peer_};
      tombstone.stored_at = tombstone.version.hlc;
      Query(db_.get(), table(collection).tombstone, "remove")
          .bind(1, collection)
          .bind(2, id)
          .bind(3, to_column(tombstone.version.hlc))
          .bind(4, local_peer_)
          .run();
      if (sqlite3_changes(db_.get()) == 0) return false;
      previous = chain_locked(tombstone.collection, tombstone.stored_at);
    }
    notify(tombstone, ChangeKind::remove, previous);
    return true;
  }

  size_t purge_system(std::string_view collection, const std::vector<std::string>& ids) override {
    validate_collection_name(collection);
    if (!is_system_collection(collection)) {
      throw Error(ErrorCode::invalid_argument, fmt::format("purge_system: {} is not a system collection", collection));
    }
    std::vector<Document> purged;
    {
      std::lock_guard lock(mutex_);
      const auto& t = table(collection);
      if (!t.purge) t.purge = prepare(db_.get(), fmt::format("DELETE FROM {} WHERE {}", t.table, t.match()), "preparing purge");
      Transaction tx(db_.get());
      for (const auto& id : ids) {
        Query(db_.get(), t.purge, "purge").bind(1, collection).bind(2, id).run();
        if (sqlite3_changes(db_.get()) > 0) {
          purged.push_back(Document{.collection = std::string(collection), .id = id, .deleted = true});
        }
      }
      tx.commit();
    }
    for (const auto& doc : purged) notify(doc, ChangeKind::remove, std::nullopt);
    return purged.size();
  }

  [[nodiscard]] std::vector<Document> changes_since(std::string_view collection, HlcTimestamp since,
                                                    size_t limit) const override {
    validate_collection_name(collection);
    std::vector<Document> documents;
    std::lock_guard lock(mutex_);
    Query query(db_.get(), table(collection).changes, "changes_since");
    query.bind(1, collection)
        .bind(2, to_column(since))
        .bind(3, static_cast<int64_t>(std::min<size_t>(limit, std::numeric_limits<int64_t>::max())));
    while (query.step()) {
      documents.push_back(Document{std::string(collection),
                                   query.text(0),
                                   query.text(1),
                                   {{static_cast<uint64_t>(query.integer(2))}, query.text(3)},
                                   query.integer(4) != 0,
                                   {static_cast<uint64_t>(query.integer(5))}});
    }
    return documents;
  }

  [[nodiscard]] std::vector<std::string> collection_names(bool system) const override {
    std::vector<std::string> names;
    std::lock_guard lock(mutex_);
    for (const auto* t : all_tables()) {
      const bool wanted = t == tables_[system ? 1 : 0].get() || (system && !t->own_collection.empty());
      if (!wanted) continue;
      Query query(db_.get(), t->names, "collection_names");
      while (query.step()) names.push_back(query.text(0));
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  [[nodiscard]] std::map<std::string, uint64_t> user_collection_counts(size_t max_collections) const override {
    std::map<std::string, uint64_t> counts;
    if (max_collections == 0) return counts;
    std::lock_guard lock(mutex_);
    Query query(db_.get(), count_live_, "user_collection_counts");
    query.bind(1, static_cast<int64_t>(std::min<size_t>(max_collections, std::numeric_limits<int64_t>::max())));
    while (query.step()) counts.emplace(query.text(0), static_cast<uint64_t>(query.integer(1)));
    return counts;
  }

  ObserverId observe(std::string collection, Observer observer) override {
    return observers_.observe(std::move(collection), std::move(observer));
  }
  ObserverId observe_all(Observer observer) override { return observers_.observe_all(std::move(observer)); }
  ObserverId observe_user_collections(Observer observer) override {
    return observers_.observe_user_collections(std::move(observer));
  }
  void unobserve(ObserverId id) override { observers_.unobserve(id); }

  [[nodiscard]] std::optional<std::string> setting(std::string_view key) const override {
    std::lock_guard lock(mutex_);
    Query query(db_.get(), get_setting_, "reading a setting");
    query.bind(1, key);
    if (!query.step()) return std::nullopt;
    return query.text(0);
  }

  [[nodiscard]] std::vector<std::pair<std::string, std::string>> settings_with_prefix(std::string_view prefix) const override {
    std::vector<std::pair<std::string, std::string>> out;
    std::lock_guard lock(mutex_);
    // substr() compares the key's first bytes to the prefix exactly (LIKE would treat % and _ specially).
    Query query(db_.get(), settings_by_prefix_, "reading settings");
    query.bind(1, prefix);
    while (query.step()) out.emplace_back(query.text(0), query.text(1));
    return out;
  }

  void set_settings(const std::vector<std::pair<std::string, std::string>>& values) override {
    std::lock_guard lock(mutex_);
    Transaction transaction(db_.get());
    for (const auto& [key, value] : values) {
      Query(db_.get(), put_setting_, "writing a setting").bind(1, key).bind(2, value).run();
    }
    transaction.commit();
  }

  [[nodiscard]] std::vector<std::filesystem::path> files() const override {
    std::vector<std::filesystem::path> result;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::path file = path_;
      file += suffix;
      std::error_code ec;
      if (std::filesystem::exists(file, ec)) result.push_back(std::move(file));
    }
    return result;
  }

  [[nodiscard]] HybridLogicalClock& clock() const override { return *hlc_; }

  [[nodiscard]] dql::Dialect query_dialect() const override { return dql::Dialect::sqlite; }

  [[nodiscard]] std::string query_table(std::string_view collection) const override {
    const auto& t = table(collection);
    return t.own_collection.empty() ? std::string() : t.table;
  }

  [[nodiscard]] std::vector<dql::SqlRow> read_query(const dql::SqlQuery& query,
                                                    std::chrono::milliseconds timeout) const override {
    // A shared store (the Big Peer's) answers queries on a read-only connection of its own, so a
    // slow query never holds up ingest: WAL lets readers and the writer run side by side. An
    // exclusive store (a device's) has only its one connection.
    std::unique_lock lock(exclusive_ ? mutex_ : reader_mutex_);
    sqlite3* db = exclusive_ ? db_.get() : reader();
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, query.sql.c_str(), static_cast<int>(query.sql.size()), &raw, nullptr) != SQLITE_OK) {
      throw_sqlite(db, "preparing a query");
    }
    const StatementHandle stmt(raw);
    if (sqlite3_stmt_readonly(raw) == 0) throw Error(ErrorCode::internal, "query: the translated statement would write");
    for (size_t i = 0; i < query.params.size(); ++i) {
      const auto& p = query.params[i];
      const int index = static_cast<int>(i) + 1;
      const int rc = p.type == dql::SqlParam::Type::integer ? sqlite3_bind_int64(raw, index, p.integer)
                     : p.type == dql::SqlParam::Type::real
                         ? sqlite3_bind_double(raw, index, p.real)
                         : sqlite3_bind_text64(raw, index, p.text.data(), p.text.size(), SQLITE_STATIC, SQLITE_UTF8);
      if (rc != SQLITE_OK) throw_sqlite(db, "binding a query parameter");
    }
    // SQLite calls the handler every 1,000 virtual machine steps; a nonzero return interrupts the query.
    struct Deadline {
      std::chrono::steady_clock::time_point at;
      static int passed(void* self) { return std::chrono::steady_clock::now() > static_cast<Deadline*>(self)->at ? 1 : 0; }
    } deadline{std::chrono::steady_clock::now() + timeout};
    if (timeout.count() > 0) sqlite3_progress_handler(db, 1000, &Deadline::passed, &deadline);
    struct HandlerReset {
      sqlite3* db;
      ~HandlerReset() { sqlite3_progress_handler(db, 0, nullptr, nullptr); }
    } reset{db};
    std::vector<dql::SqlRow> rows;
    const int columns = sqlite3_column_count(raw);
    for (;;) {
      const int rc = sqlite3_step(raw);
      if (rc == SQLITE_DONE) break;
      if (rc == SQLITE_INTERRUPT) {
        throw Error(ErrorCode::validation, fmt::format("query: ran longer than its {} ms limit", timeout.count()));
      }
      if (rc != SQLITE_ROW) throw_sqlite(db, "running a query");
      dql::SqlRow& row = rows.emplace_back();
      for (int c = 0; c < columns; ++c) {
        const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(raw, c));
        if (data == nullptr) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(std::string(data, static_cast<size_t>(sqlite3_column_bytes(raw, c))));
        }
      }
    }
    return rows;
  }

  uint64_t repair_clock() override {
    std::lock_guard lock(mutex_);
    const int64_t limit = to_column(hlc_->limit());
    uint64_t restamped = 0;
    Transaction transaction(db_.get());
    for (const auto* t : all_tables()) {
      std::vector<std::pair<std::string, std::string>> rows;
      {
        StatementHandle select =
            prepare(db_.get(), fmt::format("SELECT {}, id FROM {} WHERE hlc > ?1 OR stored_at > ?1 ORDER BY stored_at",
                                           t->collection_column(), t->table));
        Query query(db_.get(), select, "repair_clock");
        query.bind(1, limit);
        while (query.step()) rows.emplace_back(query.text(0), query.text(1));
      }
      StatementHandle update =
          prepare(db_.get(), fmt::format("UPDATE {} SET hlc = CASE WHEN hlc > ?3 THEN ?4 ELSE hlc END, stored_at = ?4 "
                                         "WHERE {}",
                                         t->table, t->match()));
      for (const auto& [collection, id] : rows) {
        Query(db_.get(), update, "repair_clock")
            .bind(1, collection)
            .bind(2, id)
            .bind(3, limit)
            .bind(4, to_column(hlc_->now()))
            .run();
        ++restamped;
      }
    }
    transaction.commit();
    last_stored_at_.clear();  // the chain restarts: the next change of each collection reads by cursor
    return restamped;
  }

  uint64_t restamp_collection(std::string_view collection) override {
    validate_collection_name(collection);
    std::lock_guard lock(mutex_);
    const auto& t = table(collection);
    std::vector<std::string> ids;
    Transaction transaction(db_.get());
    {
      StatementHandle select =
          prepare(db_.get(), fmt::format("SELECT id FROM {} WHERE {}1 ORDER BY stored_at", t.table, t.scope()));
      Query query(db_.get(), select, "restamp_collection");
      if (t.own_collection.empty()) query.bind(1, collection);  // an own table's select has no parameter
      while (query.step()) ids.push_back(query.text(0));
    }
    StatementHandle update = prepare(db_.get(), fmt::format("UPDATE {} SET stored_at=?3 WHERE {}", t.table, t.match()));
    for (const auto& id : ids) {
      Query(db_.get(), update, "restamp_collection").bind(1, collection).bind(2, id).bind(3, to_column(hlc_->now())).run();
    }
    transaction.commit();
    last_stored_at_.erase(std::string(collection));
    return ids.size();
  }

 private:
  static DatabaseHandle open_database(const std::filesystem::path& path) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    DatabaseHandle db(raw);
    if (rc != SQLITE_OK) {
      throw Error(ErrorCode::io, fmt::format("cannot open database {}: {}", path.string(),
                                             raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    }
    // SQLite silently falls back to read-only when the file is not writable; we need to write.
    if (sqlite3_db_readonly(raw, "main") == 1) {
      throw Error(ErrorCode::io, fmt::format("cannot open database {} for writing", path.string()));
    }
    return db;
  }

  void configure_and_migrate(const StoreOptions& options) {
    sqlite3* db = db_.get();
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    const std::string where = fmt::format("opening database {}", path_.string());
    // Before the first access: in exclusive mode the WAL index lives in this process's memory.
    if (options.exclusive) exec(db, "PRAGMA locking_mode=EXCLUSIVE", where);
    // Before WAL mode, which writes a new database's header and so fixes its page size (an existing
    // database keeps its own).
    if (options.page_size > 0) exec(db, fmt::format("PRAGMA page_size={}", options.page_size).c_str(), where);
    {
      StatementHandle stmt = prepare(db, "PRAGMA journal_mode=WAL", where);
      Query query(db, stmt, where);
      if (!query.step() || query.text(0) != "wal") {
        throw Error(ErrorCode::store, fmt::format("database {} cannot use WAL journal mode", path_.string()));
      }
    }
    // From here the page size is the file's. SQLite turns the cache's KiB into pages at the page size
    // of the moment, and the WAL threshold is in pages of options.page_size: both now follow the file.
    const int64_t page_size = pragma_integer(db, "PRAGMA page_size", where);
    if (options.cache_kib > 0) exec(db, fmt::format("PRAGMA cache_size=-{}", options.cache_kib).c_str(), where);
    wal_threshold_pages_ = options.wal_autocheckpoint_pages;
    if (options.page_size > 0 && page_size > 0 && wal_threshold_pages_ > 0) {
      wal_threshold_pages_ =
          static_cast<int>(std::max<int64_t>(1, int64_t{wal_threshold_pages_} * options.page_size / page_size));
    }
    if (wal_threshold_pages_ > 0) {
      exec(db, fmt::format("PRAGMA wal_autocheckpoint={}", wal_threshold_pages_).c_str(), where);
    }
    // In WAL mode NORMAL only fsyncs at checkpoints: a commit survives a process crash (kill -9), not power loss.
    exec(db, "PRAGMA synchronous=NORMAL", where);
    int64_t version = pragma_integer(db, "PRAGMA user_version", where);
    if (version > kSchemaVersion) {
      throw Error(ErrorCode::store, fmt::format("database {} has schema version {}, newer than the {} this version "
                                                "of SmallPeer reads",
                                                path_.string(), version, kSchemaVersion));
    }
    // Each step moves the schema up one version in its own transaction.
    const std::array<std::pair<int, const char*>, 5> steps{
        {{1, kSchema}, {2, kMigrationToV2}, {3, kMigrationToV3}, {4, kMigrationToV4}, {5, kMigrationToV5}}};
    for (const auto& [target, sql] : steps) {
      if (version >= target) continue;
      if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
        const std::string message = sqlite3_errmsg(db);
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw Error(ErrorCode::store,
                    fmt::format("migrating {} to schema version {} failed: {}", path_.string(), target, message));
      }
      version = target;
    }
  }

  // Versions must keep increasing across restarts even if the wall clock went backwards (by up to
  // the maximum clock offset). Values beyond the clock's bound are skipped: they come from a
  // poisoned store (repair_clock heals it) or a wall clock that went back further, and restoring
  // them would stop the clock at the top again.
  void restore_clock() {
    HlcTimestamp last;
    const int64_t limit = to_column(hlc_->limit());
    for (const auto* t : all_tables()) {
      for (const char* column : {"hlc", "stored_at"}) {
        StatementHandle stmt = prepare(db_.get(), fmt::format("SELECT max({0}) FROM {1} WHERE {0} <= ?1", column, t->table));
        Query query(db_.get(), stmt, "reading the last HLC timestamp");
        query.bind(1, limit);
        if (query.step() && !query.is_null(0)) last = std::max(last, HlcTimestamp{static_cast<uint64_t>(query.integer(0))});
      }
    }
    hlc_->restore(last);
  }

  // Validates and merges one document under mutex_; true if it won, stored at `stored_at`. A
  // checked document's body is bound as it is, never copied (on the Big Peer, every one); an
  // unchecked one is checked here and its minified body left in `body`.
  bool merge_locked(const Document& incoming, std::string& body, HlcTimestamp& stored_at) {
    if (!incoming.checked) body = store_support::checked_incoming(parser_, incoming).json;
    const auto& t = table(incoming.collection);
    const auto key = own_key(t, incoming.id);  // checked before the clock moves
    // Sessions refuse such documents before they get here (and say why); this keeps any other
    // caller from storing a version the clock bound would never let it supersede.
    const auto received = hlc_->receive(incoming.version.hlc);
    if (!received) return false;
    stored_at = *received;
    Query query(db_.get(), t.merge, "merge");
    bind_own_key(t, query, key);
    query.bind(1, incoming.collection).bind(2, incoming.id);
    if (incoming.deleted) {
      query.bind_null(3);
    } else {
      query.bind(3, incoming.checked ? incoming.json : body);
    }
    query.bind(4, to_column(incoming.version.hlc))
        .bind(5, incoming.version.origin)
        .bind(6, int64_t{incoming.deleted})
        .bind(7, to_column(stored_at));
    query.run();
    return sqlite3_changes(db_.get()) != 0;
  }

  // The key and number of `id` when `t` is an own table (nullopt for a shared table); throws
  // Error(invalid_argument) for an id not of its form "<key>:<number>". A writer calls it before
  // it changes anything, the clock included.
  static std::optional<std::pair<std::string_view, int64_t>> own_key(const TableStatements& t, std::string_view id) {
    if (t.own_collection.empty()) return std::nullopt;
    if (auto parts = split_own_id(id)) return parts;
    throw Error(ErrorCode::invalid_argument,
                fmt::format("collection {} keeps ids of the form <key>:<number> (the number in decimal, at most 18 "
                            "digits, no leading zeros), got \"{}\"",
                            t.own_collection, id));
  }

  // Under mutex_: binds an own table's write's ?8 (the number of the id's key, numbering a new
  // key) and ?9 (the id's number) from own_key's `key`. Nothing for a shared table.
  void bind_own_key(const TableStatements& t, Query& query, const std::optional<std::pair<std::string_view, int64_t>>& key) {
    if (key) query.bind(8, key_number_locked(t, key->first)).bind(9, key->second);
  }

  // Under mutex_: the number of `key` in own table `t`, numbering it if it has none.
  int64_t key_number_locked(const TableStatements& t, std::string_view key) {
    if (const auto it = t.key_numbers.find(key); it != t.key_numbers.end()) return it->second;
    // Added if absent, then read: another connection writing the file may number it first.
    Query(db_.get(), t.add_key, "numbering a key").bind(1, key).run();
    Query query(db_.get(), t.key_number, "numbering a key");
    query.bind(1, key);
    if (!query.step()) throw Error(ErrorCode::store, fmt::format("numbering a key: {} has no number", key));
    const int64_t number = query.integer(0);
    t.key_numbers.emplace(std::string(key), number);
    return number;
  }

  // The document merge_locked stored for `incoming`: its `body` (if it was not checked before),
  // stored at `stored_at`, its body empty for a tombstone.
  static Document as_stored(const Document& incoming, std::string body, HlcTimestamp stored_at) {
    if (incoming.deleted) {
      body.clear();
    } else if (incoming.checked) {
      body = incoming.json;
    }
    return Document{incoming.collection, incoming.id, std::move(body), incoming.version, incoming.deleted, stored_at};
  }

  [[nodiscard]] const TableStatements& table(std::string_view collection) const {
    if (!is_system_collection(collection)) return *tables_[0];
    for (const auto& own : own_tables_) {
      if (own->own_collection == collection) return *own;
    }
    return *tables_[1];
  }

  // Every table the store writes documents to: user, system, then the own tables.
  [[nodiscard]] std::vector<TableStatements*> all_tables() const {
    std::vector<TableStatements*> all{tables_[0].get(), tables_[1].get()};
    for (const auto& own : own_tables_) all.push_back(own.get());
    return all;
  }

  // Uses every own table the file has, and gives each collection of `requested` that has none yet
  // its table, moving the collection's rows from system_documents in the same transaction.
  void attach_own_tables(const std::vector<std::string>& requested) {
    sqlite3* db = db_.get();
    std::vector<std::string> collections;
    {
      StatementHandle stmt = prepare(db,
                                     "SELECT substr(name, 11) FROM sqlite_master WHERE type='table' AND "
                                     "substr(name, 1, 12)='collection__' ORDER BY name",
                                     "reading the store's own tables");
      Query query(db, stmt, "reading the store's own tables");
      while (query.step()) collections.push_back(query.text(0));
    }
    for (auto& collection : collections) {
      // Its name goes into SQL: a file with a table of another name is not one this store made.
      if (!own_table_named_well(collection)) {
        throw Error(ErrorCode::store, fmt::format("database {} has a table for collection \"{}\", a name this store never "
                                                  "gives a table",
                                                  path_.string(), collection));
      }
      own_tables_.push_back(std::make_unique<TableStatements>(db, own_table_name(collection), collection));
    }
    for (const auto& collection : requested) {
      const bool attached =
          std::any_of(own_tables_.begin(), own_tables_.end(), [&](const auto& t) { return t->own_collection == collection; });
      if (attached) continue;
      const std::string table = own_table_name(collection);
      const std::string what = fmt::format("moving {} to a table of its own in {}", collection, path_.string());
      spdlog::info("store: giving {} a table of its own in {}", collection, path_.string());
      Transaction transaction(db);
      exec(db,
           fmt::format("CREATE TABLE {1}(number INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE); "
                       "CREATE TABLE {0}(key INTEGER NOT NULL, number INTEGER NOT NULL, id TEXT NOT NULL, body TEXT, "
                       "hlc INTEGER NOT NULL, origin TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, stored_at INTEGER "
                       "NOT NULL DEFAULT 0, UNIQUE(key, number)); CREATE INDEX {0}_by_id ON {0}(id)",
                       table, TableStatements::own_keys_table(collection))
               .c_str(),
           what);
      auto own = std::make_unique<TableStatements>(db, table, collection);
      int64_t moved = 0;
      {
        StatementHandle select = prepare(db,
                                         "SELECT id, body, hlc, origin, deleted, stored_at FROM system_documents WHERE "
                                         "collection=?1 ORDER BY stored_at",
                                         what);
        Query rows(db, select, what);
        rows.bind(1, collection);
        while (rows.step()) {
          // Bound SQLITE_STATIC: the texts live until the insert has run.
          const std::string id = rows.text(0);
          const std::string body = rows.is_null(1) ? std::string() : rows.text(1);
          const std::string origin = rows.text(3);
          Query insert(db, own->merge, what);
          try {
            bind_own_key(*own, insert, own_key(*own, id));
          } catch (const Error& e) {
            throw Error(ErrorCode::store, fmt::format("{}: {}", what, e.what()));
          }
          insert.bind(1, collection).bind(2, id);
          if (rows.is_null(1)) {
            insert.bind_null(3);
          } else {
            insert.bind(3, body);
          }
          insert.bind(4, rows.integer(2)).bind(5, origin).bind(6, rows.integer(4)).bind(7, rows.integer(5)).run();
          ++moved;
        }
      }
      StatementHandle drop = prepare(db, "DELETE FROM system_documents WHERE collection=?1", what);
      Query(db, drop, what).bind(1, collection).run();
      transaction.commit();
      if (moved > 0) {
        spdlog::info("store: moved {} documents of {} to a table of their own in {}", moved, collection, path_.string());
      }
      own_tables_.push_back(std::move(own));
    }
  }

  void notify(const Document& doc, ChangeKind kind, std::optional<HlcTimestamp> previous) {
    observers_.notify(doc, kind, previous);
  }

  // Under mutex_, after a change to `collection` stored at `stored_at` committed: the stored_at of
  // the collection's previous change (unknown for a collection's first change since open), and
  // this change becomes that previous change.
  std::optional<HlcTimestamp> chain_locked(std::string_view collection, HlcTimestamp stored_at) {
    const auto it = last_stored_at_.find(collection);
    if (it == last_stored_at_.end()) {
      last_stored_at_.emplace(collection, stored_at);
      return std::nullopt;
    }
    return std::exchange(it->second, stored_at);
  }

  const std::filesystem::path path_;
  const std::shared_ptr<HybridLogicalClock> hlc_;
  const std::string local_peer_;

  /// The read-only connection for queries, opened at the first query (under reader_mutex_).
  sqlite3* reader() const {
    if (!reader_db_) {
      sqlite3* raw = nullptr;
      const int rc = sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
      DatabaseHandle db(raw);
      if (rc != SQLITE_OK) throw_sqlite(raw, "opening the query connection");
      sqlite3_busy_timeout(raw, kBusyTimeoutMs);
      exec(raw, "PRAGMA query_only=1", "opening the query connection");
      reader_db_ = std::move(db);
    }
    return reader_db_.get();
  }

  const bool exclusive_;
  int wal_threshold_pages_ = 0;       // StoreOptions::wal_autocheckpoint_pages in this file's pages (0: SQLite's default)
  mutable WaitedMutex reader_mutex_;  // guards reader_db_
  mutable DatabaseHandle reader_db_;
  mutable WaitedMutex mutex_;                   // guards the connection, its statements and parser_
  std::unique_ptr<Checkpointer> checkpointer_;  // null unless checkpoint_unlocked; declared before db_: it outlives the hook
  DatabaseHandle db_;                           // declared before the statements, so it is closed after they are finalized
  std::array<std::unique_ptr<TableStatements>, 2> tables_;    // [0] user, [1] system
  std::vector<std::unique_ptr<TableStatements>> own_tables_;  // system collections' own tables
  StatementHandle get_setting_, put_setting_, count_live_, settings_by_prefix_;
  simdjson::dom::parser parser_;
  std::map<std::string, HlcTimestamp, std::less<>> last_stored_at_;  // per collection, for Change::previous_stored_at

  store_support::StoreObservers observers_;
};

}  // namespace

std::unique_ptr<Store> Store::open(const std::filesystem::path& path, std::shared_ptr<HybridLogicalClock> hlc,
                                   std::string local_peer, const StoreOptions& options) {
  if (!hlc) throw Error(ErrorCode::invalid_argument, "store needs a clock");
  if (local_peer.empty()) throw Error(ErrorCode::invalid_argument, "store needs the local peer key");
  if (options.exclusive && options.checkpoint_unlocked) {
    throw Error(ErrorCode::invalid_argument, "an exclusive store has one connection: it cannot checkpoint on another");
  }
  // SQLite ignores a page size it cannot use, so a typo would silently keep 4,096.
  const auto page_size = options.page_size;
  if (page_size != 0 && (page_size < 512 || page_size > 65'536 || (page_size & (page_size - 1)) != 0)) {
    throw Error(
        ErrorCode::invalid_argument,
        fmt::format("store page size must be a power of two from 512 to 65536 (or 0 for SQLite's default), got {}", page_size));
  }
  for (size_t i = 0; i < options.own_tables.size(); ++i) {
    const auto& collection = options.own_tables[i];
    if (!own_table_named_well(collection)) {
      throw Error(ErrorCode::invalid_argument,
                  fmt::format("store: a collection with a table of its own must be a system collection (\"__\" prefix) "
                              "named with ASCII letters, digits and '_' only, got \"{}\"",
                              collection));
    }
    // SQLite's table names ignore case, so "__A" and "__a" would be one table.
    for (size_t j = 0; j < i; ++j) {
      const auto& other = options.own_tables[j];
      const bool same = std::equal(collection.begin(), collection.end(), other.begin(), other.end(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
      });
      if (same) {
        throw Error(ErrorCode::invalid_argument,
                    fmt::format("store: tables of their own for \"{}\" and \"{}\" would be one table", other, collection));
      }
    }
  }
  // Safe to call repeatedly and from several threads; random ids need it.
  if (sodium_init() < 0) throw Error(ErrorCode::internal, "libsodium failed to initialise");
  return std::make_unique<SqliteStore>(path, std::move(hlc), std::move(local_peer), options);
}

}  // namespace smallpeer
