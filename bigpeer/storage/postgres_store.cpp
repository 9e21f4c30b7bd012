// Store on PostgreSQL. Two connections (one for writes, one for reads, so API reads do not wait
// behind a group commit) and a third that LISTENs. Every write bumps the one row of store_clock in
// its own transaction, which serialises writers across nodes: stored_at then follows commit order
// on every node, so replication cursors (changes_since) never skip a row another node committed.
// A group commit (merge_batch) is one pipelined transaction with one statement per table: the
// design is in bigpeer/README.md ("Group commit").
#include "bigpeer/storage/postgres_store.h"

#include <fmt/format.h>
#include <poll.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <limits>
#include <set>
#include <type_traits>
#include <unordered_map>

#include "bigpeer/database_health.h"
#include "common/error.h"

namespace smallpeer::bigpeer {

namespace {

/// The channel on which a node says which user collection it changed ("node\ncollection").
constexpr const char* kDocumentsChannel = "smallpeer_documents";

/// Each entry moves the schema from the previous version to its own, in one transaction.
const std::array<std::pair<int, const char*>, 2> kMigrations{{
    {1, R"sql(
CREATE TABLE user_documents(
  collection TEXT COLLATE "C" NOT NULL, id TEXT COLLATE "C" NOT NULL, body TEXT, hlc BIGINT NOT NULL,
  origin TEXT COLLATE "C" NOT NULL, deleted BOOLEAN NOT NULL DEFAULT FALSE, stored_at BIGINT NOT NULL,
  PRIMARY KEY(collection, id));
CREATE TABLE system_documents(
  collection TEXT COLLATE "C" NOT NULL, id TEXT COLLATE "C" NOT NULL, body TEXT, hlc BIGINT NOT NULL,
  origin TEXT COLLATE "C" NOT NULL, deleted BOOLEAN NOT NULL DEFAULT FALSE, stored_at BIGINT NOT NULL,
  PRIMARY KEY(collection, id));
CREATE INDEX user_documents_by_stored_at ON user_documents(collection, stored_at);
CREATE INDEX system_documents_by_stored_at ON system_documents(collection, stored_at);
CREATE TABLE settings(key TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL);
-- One row: the newest stored_at. Writers lock it, so commits and stored_at agree across nodes.
CREATE TABLE store_clock(id INT PRIMARY KEY CHECK (id = 1), last_stored_at BIGINT NOT NULL);
INSERT INTO store_clock VALUES (1, 0);
-- Big Peer nodes sharing this database, each with a heartbeat.
CREATE TABLE nodes(node_id TEXT PRIMARY KEY, listen TEXT NOT NULL, started_at TIMESTAMPTZ NOT NULL,
  heartbeat_at TIMESTAMPTZ NOT NULL);
-- Live sessions per node and peer; a live node's heartbeat makes them count (bigpeer/cluster.h).
CREATE TABLE device_sessions(node_id TEXT NOT NULL,
  peer_key TEXT COLLATE "C" NOT NULL, sessions INT NOT NULL, device_name TEXT NOT NULL,
  sdk_language TEXT NOT NULL, sdk_version TEXT NOT NULL, platform TEXT NOT NULL, remote_address TEXT NOT NULL,
  connected_at_ms BIGINT NOT NULL, PRIMARY KEY(node_id, peer_key));
CREATE INDEX device_sessions_by_peer ON device_sessions(peer_key);
-- When each peer's last session ended, on any node.
CREATE TABLE device_disconnects(peer_key TEXT COLLATE "C" PRIMARY KEY, disconnected_at_ms BIGINT NOT NULL);
-- Log bundles, in chunks as they arrive.
CREATE TABLE log_bundle_chunks(request_id TEXT NOT NULL, offset_bytes BIGINT NOT NULL, data BYTEA NOT NULL,
  PRIMARY KEY(request_id, offset_bytes));
)sql"},
    // No query reads system documents by stored_at on a Big Peer (sessions never send them on), and
    // an indexed stored_at made every SPI report's update write a new index entry (no HOT update).
    {2, R"sql(
DROP INDEX IF EXISTS system_documents_by_stored_at;
)sql"},
}};

int64_t to_column(HlcTimestamp t) {
  return static_cast<int64_t>(std::min<uint64_t>(t.value, std::numeric_limits<int64_t>::max()));
}
/// The statement name for `base` on the table of `collection`.
std::string statement(std::string_view base, std::string_view collection) {
  return std::string(base) + (Store::is_system_collection(collection) ? "_system" : "_user");
}
pg::Param text(std::string_view s) {
  return {std::string(s)};
}
pg::Param number(int64_t n) {
  return {std::to_string(n)};
}
/// The key and value columns of `settings` for put_settings: one row per key, its last value (as
/// writing them one after another would leave it).
std::vector<pg::Param> settings_columns(const std::vector<std::pair<std::string, std::string>>& settings) {
  std::unordered_map<std::string_view, size_t> last;
  last.reserve(settings.size());
  for (size_t i = 0; i < settings.size(); ++i) last[settings[i].first] = i;
  pg::BinaryArray keys(pg::BinaryArray::Type::text), values(pg::BinaryArray::Type::text);
  for (size_t i = 0; i < settings.size(); ++i) {
    if (last[settings[i].first] != i) continue;
    keys.add(std::string_view(settings[i].first));
    values.add(std::string_view(settings[i].second));
  }
  return {keys.take(), values.take()};
}
int64_t clamp(size_t n) {
  return static_cast<int64_t>(std::min<size_t>(n, std::numeric_limits<int64_t>::max()));
}

/// Runs `body` as one transaction on `c` (the caller holds its mutex): BEGIN, `body`, COMMIT. If
/// `body` (or the COMMIT) throws, rolls back and rethrows that exception; a ROLLBACK that fails too
/// is dropped (the connection, and with it the transaction, is gone).
template <typename Body>
auto in_transaction(pg::Connection& c, const char* what, Body&& body) -> decltype(body()) {
  c.exec("BEGIN", what);
  try {
    if constexpr (std::is_void_v<decltype(body())>) {
      body();
      c.exec("COMMIT", what);
    } else {
      auto result = body();
      c.exec("COMMIT", what);
      return result;
    }
  } catch (...) {
    try {
      c.exec("ROLLBACK", "rolling back");
    } catch (...) {
    }
    throw;
  }
}

/// Runs the pending migrations under an advisory lock, so nodes starting together migrate once.
void migrate(pg::Connection& c, const std::string& where) {
  in_transaction(c, "the schema migration", [&] {
    c.exec("SELECT pg_advisory_xact_lock(7318001)", "locking the schema");
    c.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations(version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL "
        "DEFAULT now())",
        "creating schema_migrations");
    const int version = static_cast<int>(
        c.exec("SELECT coalesce(max(version), 0) FROM schema_migrations", "reading the schema version").integer(0, 0));
    if (version > kPostgresSchemaVersion) {
      throw Error(ErrorCode::store, fmt::format("the database {} has schema version {}, newer than the {} this version of "
                                                "SmallPeer reads: upgrade the Big Peer",
                                                where, version, kPostgresSchemaVersion));
    }
    for (const auto& [target, sql] : kMigrations) {
      if (version >= target) continue;
      spdlog::info("store: migrating {} to schema version {}", where, target);
      c.exec(sql, fmt::format("migrating {} to schema version {}", where, target));
      c.exec(fmt::format("INSERT INTO schema_migrations(version) VALUES ({})", target), "recording the migration");
    }
  });
}

void prepare_writer(pg::Connection& c) {
  for (const std::string table : {"user_documents", "system_documents"}) {
    const std::string suffix = table == "user_documents" ? "_user" : "_system";
    // The clock bump is a data-modifying CTE: its row lock lasts until commit.
    const std::string bump =
        "WITH c AS (UPDATE store_clock SET last_stored_at = GREATEST(last_stored_at + 1, $4::bigint) "
        "RETURNING last_stored_at) ";
    c.prepare("write" + suffix,
              bump + fmt::format("INSERT INTO {0}(collection, id, body, hlc, origin, deleted, stored_at) "
                                 "SELECT $1, $2, $3, $4, $5, FALSE, c.last_stored_at FROM c "
                                 "ON CONFLICT(collection, id) DO UPDATE SET body=excluded.body, hlc=excluded.hlc, "
                                 "origin=excluded.origin, deleted=FALSE, stored_at=excluded.stored_at RETURNING stored_at",
                                 table));
    // A group commit's documents for this table in one statement: their columns as arrays (each
    // one binary parameter), one clock bump reserving a stored_at per row (base + its position),
    // and last writer wins inside PostgreSQL (the compare and the write are one statement). It
    // returns the positions (1-based) of the rows it wrote. No (collection, id) twice: ON CONFLICT
    // cannot change a row twice in one statement (merge_batch splits repeats into rounds).
    c.prepare("merge_many" + suffix,
              "WITH c AS (UPDATE store_clock SET last_stored_at = GREATEST(last_stored_at + $7::bigint, $8::bigint) "
              "RETURNING last_stored_at - $7::bigint AS base) " +
                  fmt::format("INSERT INTO {0}(collection, id, body, hlc, origin, deleted, stored_at) "
                              "SELECT d.collection, d.id, d.body, d.hlc, d.origin, d.deleted, c.base + d.n FROM c, "
                              "unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::boolean[]) "
                              "WITH ORDINALITY AS d(collection, id, body, hlc, origin, deleted, n) "
                              "ON CONFLICT(collection, id) DO UPDATE SET body=excluded.body, hlc=excluded.hlc, "
                              "origin=excluded.origin, deleted=excluded.deleted, stored_at=excluded.stored_at "
                              "WHERE excluded.hlc > {0}.hlc OR (excluded.hlc = {0}.hlc AND excluded.origin > {0}.origin) "
                              "RETURNING stored_at - (SELECT base FROM c), stored_at",
                              table));
    c.prepare("tombstone" + suffix,
              "WITH c AS (UPDATE store_clock SET last_stored_at = GREATEST(last_stored_at + 1, $3::bigint) "
              "RETURNING last_stored_at) " +
                  fmt::format("UPDATE {} SET body=NULL, hlc=$3, origin=$4, deleted=TRUE, stored_at=(SELECT last_stored_at "
                              "FROM c) WHERE collection=$1 AND id=$2 AND NOT deleted RETURNING stored_at",
                              table));
  }
  // Many settings (distinct keys) in one statement.
  c.prepare("put_settings",
            "INSERT INTO settings(key, value) SELECT * FROM unnest($1::text[], $2::text[]) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value");
  c.prepare("notify", "SELECT pg_notify($1, $2)");
  c.prepare("purge_system", "DELETE FROM system_documents WHERE collection=$1 AND id = ANY($2::text[]) RETURNING id");
}

void prepare_reader(pg::Connection& c) {
  for (const std::string table : {"user_documents", "system_documents"}) {
    const std::string suffix = table == "user_documents" ? "_user" : "_system";
    c.prepare("get" + suffix,
              fmt::format("SELECT body, hlc, origin, deleted, stored_at FROM {} WHERE collection=$1 AND id=$2", table));
    c.prepare("list" + suffix, fmt::format("SELECT id, body, hlc, origin FROM {} WHERE collection=$1 AND id>$2 AND "
                                           "NOT deleted ORDER BY id LIMIT $3",
                                           table));
    c.prepare("changes" + suffix, fmt::format("SELECT id, body, hlc, origin, deleted, stored_at FROM {} WHERE "
                                              "collection=$1 AND stored_at>$2 ORDER BY stored_at LIMIT $3",
                                              table));
    c.prepare("names" + suffix, fmt::format("SELECT DISTINCT collection FROM {} ORDER BY collection", table));
  }
  c.prepare("get_setting", "SELECT value FROM settings WHERE key=$1");
  c.prepare("settings_by_prefix", "SELECT key, value FROM settings WHERE left(key, char_length($1)) = $1 ORDER BY key");
  c.prepare("count_live",
            "SELECT collection, count(*) FROM user_documents WHERE NOT deleted GROUP BY collection "
            "ORDER BY collection LIMIT $1");
}

/// 64 random bits as hex: a node's id for this run.
std::string new_node_id() {
  if (sodium_init() < 0) throw Error(ErrorCode::internal, "libsodium failed to initialise");
  std::array<unsigned char, 8> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::array<char, 17> hex{};
  sodium_bin2hex(hex.data(), hex.size(), bytes.data(), bytes.size());
  return std::string(hex.data(), 16);
}

}  // namespace

PostgresStore::PostgresStore(const std::string& url, std::shared_ptr<HybridLogicalClock> hlc, std::string local_peer)
    : url_(url), hlc_(std::move(hlc)), local_peer_(std::move(local_peer)), node_id_(new_node_id()) {
  if (!hlc_) throw Error(ErrorCode::invalid_argument, "store needs a clock");
  if (local_peer_.empty()) throw Error(ErrorCode::invalid_argument, "store needs the local peer key");
  writer_ = std::make_unique<pg::Connection>(url_);
  migrate(*writer_, pg::redacted(url_));
  prepare_writer(*writer_);
  reader_ = std::make_unique<pg::Connection>(url_);
  prepare_reader(*reader_);
  listener_ = std::make_unique<pg::Connection>(url_);
  // Versions must keep increasing across restarts even if the wall clock went backwards (by up to
  // the maximum clock offset). Values beyond the clock's bound are skipped (a poisoned store, which
  // repair_clock heals), and a store_clock row beyond it is brought back to the restored value:
  // every write continues from that row, so left poisoned it would stamp every row beyond the
  // bound (and overflow BIGINT at the top).
  const auto limit = number(to_column(hlc_->limit()));
  const auto last = writer_->exec(
      "SELECT GREATEST((SELECT max(hlc) FROM user_documents WHERE hlc <= $1::bigint), (SELECT max(hlc) FROM "
      "system_documents WHERE hlc <= $1::bigint), (SELECT max(stored_at) FROM user_documents WHERE stored_at <= $1::bigint), "
      "(SELECT max(stored_at) FROM system_documents WHERE stored_at <= $1::bigint), (SELECT last_stored_at FROM store_clock "
      "WHERE last_stored_at <= $1::bigint))",
      {limit}, "reading the last HLC timestamp");
  const HlcTimestamp restored{static_cast<uint64_t>(last.integer(0, 0))};
  hlc_->restore(restored);
  const auto reset = writer_->exec("UPDATE store_clock SET last_stored_at = $2::bigint WHERE last_stored_at > $1::bigint",
                                   {limit, number(to_column(restored))}, "bounding the store clock");
  (void)reset;
  listen(kDocumentsChannel, [this](const std::string& collection) {
    // Another node committed to this user collection: wake this node's sessions, which read the
    // changes by their cursors. Only the collection matters to them.
    Document doc;
    doc.collection = collection;
    observers_.notify(doc, ChangeKind::upsert);
  });
  listen_thread_ = std::thread([this] { listen_loop(); });
}

PostgresStore::~PostgresStore() {
  stop_listening();
}

void PostgresStore::stop_listening() {
  stopping_ = true;
  if (listen_thread_.joinable() && listen_thread_.get_id() != std::this_thread::get_id()) listen_thread_.join();
}

void PostgresStore::check_database(const std::string& url) {
  pg::Connection c(url);
  const auto exists = c.exec("SELECT to_regclass('schema_migrations') IS NOT NULL", "reading the schema version");
  if (exists.text(0, 0) != "t") return;
  const int version = static_cast<int>(
      c.exec("SELECT coalesce(max(version), 0) FROM schema_migrations", "reading the schema version").integer(0, 0));
  if (version > kPostgresSchemaVersion) {
    throw Error(ErrorCode::store, fmt::format("the database {} has schema version {}, newer than the {} this version of "
                                              "SmallPeer reads: upgrade the Big Peer",
                                              pg::redacted(url), version, kPostgresSchemaVersion));
  }
}

void PostgresStore::listen(const std::string& channel, std::function<void(const std::string&)> handler) {
  std::lock_guard lock(listen_mutex_);
  if (!handlers_.contains(channel)) listener_->exec("LISTEN " + pg::quote_identifier(listener_->raw(), channel), "LISTEN");
  handlers_[channel].push_back(std::move(handler));
}

void PostgresStore::notify_nodes(const std::string& channel, const std::string& payload) {
  std::lock_guard lock(write_mutex_);
  writer_->run("notify", {text(channel), text(node_id_ + "\n" + payload)}, "NOTIFY");
}

void PostgresStore::listen_loop() {
  FailureLog failures("store: the LISTEN connection to PostgreSQL");
  while (!stopping_) {
    int fd = -1;
    {
      std::lock_guard lock(listen_mutex_);
      fd = PQsocket(listener_->raw());
    }
    if (fd >= 0) {
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, 100);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::vector<std::pair<std::string, std::string>> received;
    bool relistened = false;
    {
      std::lock_guard lock(listen_mutex_);
      PGconn* c = listener_->raw();
      if (PQstatus(c) != CONNECTION_OK || PQconsumeInput(c) == 0) {
        // The server went away or restarted: reconnect and listen again; what was announced in
        // between is lost, so on_relisten_ reloads.
        std::string reason = PQerrorMessage(c);
        while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
        failures.failed(reason);
        PQreset(c);
        if (PQstatus(c) == CONNECTION_OK) {
          failures.succeeded();
          for (const auto& [channel, fns] : handlers_) PQclear(PQexec(c, ("LISTEN " + pg::quote_identifier(c, channel)).c_str()));
          relistened = true;
        } else {
          std::this_thread::sleep_for(std::chrono::seconds(1));
        }
      } else {
        while (PGnotify* n = PQnotifies(c)) {
          received.emplace_back(n->relname, n->extra);
          PQfreemem(n);
        }
      }
    }
    if (relistened) {
      try {
        // Wake every session for every user collection, in case another node committed meanwhile.
        for (const auto& collection : collection_names(false)) {
          Document doc;
          doc.collection = collection;
          observers_.notify(doc, ChangeKind::upsert);
        }
        if (on_relisten_) on_relisten_();
      } catch (const std::exception& e) {
        spdlog::warn("store: reloading after listening again failed: {}", e.what());
      }
    }
    for (const auto& [channel, payload] : received) {
      const auto nl = payload.find('\n');
      if (nl == std::string::npos || payload.compare(0, nl, node_id_) == 0) continue;  // our own
      std::vector<std::function<void(const std::string&)>> fns;
      {
        std::lock_guard lock(listen_mutex_);
        if (const auto it = handlers_.find(channel); it != handlers_.end()) fns = it->second;
      }
      for (const auto& fn : fns) {
        try {
          fn(payload.substr(nl + 1));
        } catch (const std::exception& e) {
          spdlog::warn("store: handling a notification on {} failed: {}", channel, e.what());
        }
      }
    }
  }
}

void PostgresStore::after_commit(const std::vector<Document>& stored) {
  for (const auto& doc : stored) observers_.notify(doc, doc.deleted ? ChangeKind::remove : ChangeKind::upsert);
}

Document PostgresStore::upsert(std::string_view collection, std::string_view json) {
  validate_collection_name(collection);
  Document doc;
  {
    std::lock_guard lock(write_mutex_);
    store_support::fill_local_document(parser_, json, doc);
    doc.collection = std::string(collection);
    doc.version = {hlc_->now(), local_peer_};
    std::vector<std::pair<std::string, std::vector<pg::Param>>> calls = {
        {statement("write", collection),
         {text(collection), text(doc.id), text(doc.json), number(to_column(doc.version.hlc)), text(local_peer_)}}};
    if (!is_system_collection(collection)) {
      calls.push_back({"notify", {text(kDocumentsChannel), text(node_id_ + "\n" + doc.collection)}});
    }
    in_transaction(*writer_, "upsert", [&] {
      const auto results = writer_->run_pipeline(calls, "upsert");
      doc.stored_at = HlcTimestamp{static_cast<uint64_t>(results[0].integer(0, 0))};
    });
  }
  after_commit({doc});
  return doc;
}

bool PostgresStore::merge(const Document& incoming) {
  return merge_batch({incoming}, {}).front();
}

std::vector<bool> PostgresStore::merge_batch(const std::vector<Document>& incoming,
                                             const std::vector<std::pair<std::string, std::string>>& settings,
                                             const std::vector<size_t>& /*batch_ends*/) {
  std::vector<bool> applied(incoming.size(), false);
  std::vector<Document> stored_docs;
  {
    std::lock_guard lock(write_mutex_);
    std::vector<Document> checked;
    checked.reserve(incoming.size());
    std::vector<size_t> index;  // checked[k] is incoming[index[k]]
    // One statement per table and round: round r holds the (r+1)-th occurrence of each document in
    // this batch, so the rounds, run in order, apply repeats in the order given, as one merge after
    // another would.
    struct Rows {
      pg::BinaryArray collection{pg::BinaryArray::Type::text}, id{pg::BinaryArray::Type::text}, body{pg::BinaryArray::Type::text},
          hlc{pg::BinaryArray::Type::int8}, origin{pg::BinaryArray::Type::text}, deleted{pg::BinaryArray::Type::boolean};
      int64_t floor = 0;              // the clock's reading at its last document: stored_at is at least that
      std::vector<size_t> positions;  // positions[n - 1] is the checked document of row n
      bool system = false;
    };
    std::vector<Rows> statements;                         // [2 * round + (system ? 1 : 0)]
    std::unordered_map<std::string, size_t> occurrences;  // "collection\0id" -> times seen so far
    std::set<std::string> user_collections;
    for (size_t i = 0; i < incoming.size(); ++i) {
      const auto& doc = incoming[i];
      auto valid = store_support::checked_incoming(parser_, doc);
      // Sessions refuse such documents before they get here (and say why); this keeps any other
      // caller from storing a version the clock bound would never let it supersede.
      if (hlc_->beyond_bound(doc.version.hlc)) continue;
      checked.push_back(std::move(valid));
      index.push_back(i);
      hlc_->observe(doc.version.hlc);
      const auto& d = checked.back();
      const bool system = is_system_collection(d.collection);
      std::string key = d.collection;
      key += '\0';
      key += d.id;
      const size_t round = occurrences[std::move(key)]++;
      const size_t at = 2 * round + (system ? 1 : 0);
      if (statements.size() <= at) statements.resize(at + 2);
      auto& rows = statements[at];
      rows.system = system;
      rows.collection.add(std::string_view(d.collection));
      rows.id.add(std::string_view(d.id));
      if (d.deleted) {
        rows.body.add_null();
      } else {
        rows.body.add(std::string_view(d.json));
      }
      rows.hlc.add(to_column(d.version.hlc));
      rows.origin.add(std::string_view(d.version.origin));
      rows.deleted.add(d.deleted);
      rows.floor = to_column(hlc_->now());
      rows.positions.push_back(checked.size() - 1);
      if (!system) user_collections.insert(d.collection);
    }
    std::vector<std::pair<std::string, std::vector<pg::Param>>> calls;
    std::vector<const Rows*> merged;  // calls[k] merges *merged[k]
    for (auto& rows : statements) {
      if (rows.positions.empty()) continue;
      const auto count = static_cast<int64_t>(rows.positions.size());
      calls.push_back({rows.system ? "merge_many_system" : "merge_many_user",
                       {rows.collection.take(), rows.id.take(), rows.body.take(), rows.hlc.take(), rows.origin.take(),
                        rows.deleted.take(), number(count), number(rows.floor)}});
      merged.push_back(&rows);
    }
    if (!settings.empty()) calls.push_back({"put_settings", settings_columns(settings)});
    for (const auto& collection : user_collections) {
      calls.push_back({"notify", {text(kDocumentsChannel), text(node_id_ + "\n" + collection)}});
    }
    if (calls.empty()) return applied;
    const auto results = writer_->run_transaction(calls, "merge_batch");
    for (size_t k = 0; k < merged.size(); ++k) {
      const auto& r = results[k];
      for (int row = 0; row < r.rows(); ++row) {
        const auto n = static_cast<size_t>(r.integer(row, 0));
        if (n < 1 || n > merged[k]->positions.size()) {
          throw Error(ErrorCode::store, "merge_batch: the server returned a row it was not sent");
        }
        const size_t position = merged[k]->positions[n - 1];
        applied[index[position]] = true;
        checked[position].stored_at = HlcTimestamp{static_cast<uint64_t>(r.integer(row, 1))};
      }
    }
    // In the order given, as the observers would have heard them one merge at a time.
    for (size_t position = 0; position < checked.size(); ++position) {
      if (applied[index[position]]) stored_docs.push_back(std::move(checked[position]));
    }
  }
  after_commit(stored_docs);
  return applied;
}

std::optional<Document> PostgresStore::get(std::string_view collection, std::string_view id, bool include_deleted) const {
  validate_collection_name(collection);
  std::lock_guard lock(read_mutex_);
  const auto r = reader_->run(statement("get", collection), {text(collection), text(id)}, "get");
  if (r.rows() == 0) return std::nullopt;
  const bool deleted = r.text(0, 3) == "t";
  if (deleted && !include_deleted) return std::nullopt;
  return Document{std::string(collection),
                  std::string(id),
                  r.text(0, 0),
                  {{static_cast<uint64_t>(r.integer(0, 1))}, r.text(0, 2)},
                  deleted,
                  {static_cast<uint64_t>(r.integer(0, 4))}};
}

Page PostgresStore::list(std::string_view collection, size_t limit, std::string_view after) const {
  validate_collection_name(collection);
  if (limit == 0) throw Error(ErrorCode::invalid_argument, "list limit must be at least 1");
  const int64_t fetch = clamp(std::min<size_t>(limit, std::numeric_limits<int64_t>::max() - 1)) + 1;
  Page page;
  std::lock_guard lock(read_mutex_);
  const auto r = reader_->run(statement("list", collection), {text(collection), text(after), number(fetch)}, "list");
  for (int row = 0; row < r.rows(); ++row) {
    if (page.documents.size() == limit) {
      page.next_after = page.documents.back().id;
      break;
    }
    page.documents.push_back(Document{std::string(collection),
                                      r.text(row, 0),
                                      r.text(row, 1),
                                      {{static_cast<uint64_t>(r.integer(row, 2))}, r.text(row, 3)},
                                      false});
  }
  return page;
}

size_t PostgresStore::purge_system(std::string_view collection, const std::vector<std::string>& ids) {
  validate_collection_name(collection);
  if (!is_system_collection(collection)) {
    throw Error(ErrorCode::invalid_argument, fmt::format("purge_system: {} is not a system collection", collection));
  }
  if (ids.empty()) return 0;
  // One statement with a text[] literal: {"a","b"} with every " and \ escaped.
  std::string array = "{";
  for (const auto& id : ids) {
    if (array.size() > 1) array += ',';
    array += '"';
    for (const char c : id) {
      if (c == '"' || c == '\\') array += '\\';
      array += c;
    }
    array += '"';
  }
  array += '}';
  std::vector<Document> purged;
  {
    std::lock_guard lock(write_mutex_);
    const auto r = writer_->run("purge_system", {text(collection), text(array)}, "purging system documents");
    for (int row = 0; row < r.rows(); ++row) {
      purged.push_back(Document{.collection = std::string(collection), .id = r.text(row, 0), .deleted = true});
    }
  }
  for (const auto& doc : purged) observers_.notify(doc, ChangeKind::remove);
  return purged.size();
}

bool PostgresStore::remove(std::string_view collection, std::string_view id) {
  validate_collection_name(collection);
  Document tombstone{std::string(collection), std::string(id), {}, {}, true};
  {
    std::lock_guard lock(write_mutex_);
    tombstone.version = {hlc_->now(), local_peer_};
    std::vector<std::pair<std::string, std::vector<pg::Param>>> calls = {
        {statement("tombstone", collection),
         {text(collection), text(id), number(to_column(tombstone.version.hlc)), text(local_peer_)}}};
    if (!is_system_collection(collection)) {
      calls.push_back({"notify", {text(kDocumentsChannel), text(node_id_ + "\n" + tombstone.collection)}});
    }
    writer_->exec("BEGIN", "remove");
    try {
      const auto results = writer_->run_pipeline(calls, "remove");
      if (results[0].rows() == 0) {
        writer_->exec("ROLLBACK", "remove");
        return false;
      }
      tombstone.stored_at = HlcTimestamp{static_cast<uint64_t>(results[0].integer(0, 0))};
      writer_->exec("COMMIT", "remove");
    } catch (...) {
      writer_->exec("ROLLBACK", "rolling back");
      throw;
    }
  }
  after_commit({tombstone});
  return true;
}

std::vector<Document> PostgresStore::changes_since(std::string_view collection, HlcTimestamp since, size_t limit) const {
  validate_collection_name(collection);
  std::vector<Document> documents;
  std::lock_guard lock(read_mutex_);
  const auto r = reader_->run(statement("changes", collection),
                              {text(collection), number(to_column(since)), number(clamp(limit))}, "changes_since");
  documents.reserve(static_cast<size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) {
    documents.push_back(Document{std::string(collection),
                                 r.text(row, 0),
                                 r.text(row, 1),
                                 {{static_cast<uint64_t>(r.integer(row, 2))}, r.text(row, 3)},
                                 r.text(row, 4) == "t",
                                 {static_cast<uint64_t>(r.integer(row, 5))}});
  }
  return documents;
}

std::vector<std::string> PostgresStore::collection_names(bool system) const {
  std::vector<std::string> names;
  std::lock_guard lock(read_mutex_);
  const auto r = reader_->run(system ? "names_system" : "names_user", {}, "collection_names");
  names.reserve(static_cast<size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) names.push_back(r.text(row, 0));
  return names;
}

std::map<std::string, uint64_t> PostgresStore::user_collection_counts(size_t max_collections) const {
  std::map<std::string, uint64_t> counts;
  if (max_collections == 0) return counts;
  std::lock_guard lock(read_mutex_);
  const auto r = reader_->run("count_live", {number(clamp(max_collections))}, "user_collection_counts");
  for (int row = 0; row < r.rows(); ++row) counts.emplace(r.text(row, 0), static_cast<uint64_t>(r.integer(row, 1)));
  return counts;
}

Store::ObserverId PostgresStore::observe(std::string collection, Observer observer) {
  return observers_.observe(std::move(collection), std::move(observer));
}
Store::ObserverId PostgresStore::observe_all(Observer observer) {
  return observers_.observe_all(std::move(observer));
}
Store::ObserverId PostgresStore::observe_user_collections(Observer observer) {
  return observers_.observe_user_collections(std::move(observer));
}
void PostgresStore::unobserve(ObserverId id) {
  observers_.unobserve(id);
}

std::optional<std::string> PostgresStore::setting(std::string_view key) const {
  std::lock_guard lock(read_mutex_);
  const auto r = reader_->run("get_setting", {text(key)}, "reading a setting");
  if (r.rows() == 0) return std::nullopt;
  return r.text(0, 0);
}

std::vector<std::pair<std::string, std::string>> PostgresStore::settings_with_prefix(std::string_view prefix) const {
  std::vector<std::pair<std::string, std::string>> out;
  std::lock_guard lock(read_mutex_);
  const auto r = reader_->run("settings_by_prefix", {text(prefix)}, "reading settings");
  out.reserve(static_cast<size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) out.emplace_back(r.text(row, 0), r.text(row, 1));
  return out;
}

void PostgresStore::set_settings(const std::vector<std::pair<std::string, std::string>>& values) {
  if (values.empty()) return;
  std::lock_guard lock(write_mutex_);
  writer_->run_transaction({{"put_settings", settings_columns(values)}}, "writing settings");
}

uint64_t PostgresStore::repair_clock() {
  std::lock_guard lock(write_mutex_);
  const auto limit = number(to_column(hlc_->limit()));
  uint64_t restamped = 0;
  in_transaction(*writer_, "repair_clock", [&] {
    // The store_clock row first: other nodes' writes wait on it until this commits.
    writer_->exec("SELECT last_stored_at FROM store_clock FOR UPDATE", "repair_clock");
    for (const std::string table : {"user_documents", "system_documents"}) {
      const auto rows = writer_->exec(
          fmt::format("SELECT collection, id FROM {} WHERE hlc > $1::bigint OR stored_at > $1::bigint ORDER BY stored_at", table),
          {limit}, "repair_clock");
      for (int row = 0; row < rows.rows(); ++row) {
        writer_->exec(fmt::format("UPDATE {} SET hlc = CASE WHEN hlc > $3::bigint THEN $4::bigint ELSE hlc END, "
                                  "stored_at = $4::bigint WHERE collection=$1 AND id=$2",
                                  table),
                      {text(rows.text(row, 0)), text(rows.text(row, 1)), limit, number(to_column(hlc_->now()))}, "repair_clock");
        ++restamped;
      }
    }
    writer_->exec(
        "UPDATE store_clock SET last_stored_at = $1::bigint WHERE last_stored_at < $1::bigint OR "
        "last_stored_at > $2::bigint",
        {number(to_column(hlc_->now())), limit}, "repair_clock");
  });
  return restamped;
}

std::vector<dql::SqlRow> PostgresStore::read_query(const dql::SqlQuery& query, std::chrono::milliseconds timeout) const {
  std::vector<pg::Param> params;
  params.reserve(query.params.size());
  for (const auto& p : query.params) params.push_back(text(p.text));
  std::lock_guard lock(read_mutex_);
  // A read-only transaction, so the statement cannot write whatever it says, with a time limit that
  // ends with it (SET LOCAL).
  reader_->exec("BEGIN READ ONLY", "beginning a query");
  std::vector<dql::SqlRow> rows;
  try {
    reader_->exec(fmt::format("SET LOCAL statement_timeout = {}", timeout.count()), "limiting a query");
    const auto r = reader_->exec(query.sql, params, "running a query");
    rows.reserve(static_cast<size_t>(r.rows()));
    const int columns = r.columns();
    for (int row = 0; row < r.rows(); ++row) {
      dql::SqlRow& out = rows.emplace_back();
      for (int c = 0; c < columns; ++c) {
        if (r.is_null(row, c)) {
          out.emplace_back(std::nullopt);
        } else {
          out.emplace_back(r.text(row, c));
        }
      }
    }
    reader_->exec("COMMIT", "ending a query");
  } catch (const Error& e) {
    try {
      reader_->exec("ROLLBACK", "ending a query");
    } catch (const Error&) {  // NOLINT(bugprone-empty-catch): the first error is the one to report
    }
    if (std::string_view(e.what()).find("statement timeout") != std::string_view::npos) {
      throw Error(ErrorCode::validation, fmt::format("query: ran longer than its {} ms limit", timeout.count()));
    }
    throw;
  }
  return rows;
}

uint64_t PostgresStore::restamp_collection(std::string_view collection) {
  validate_collection_name(collection);
  const std::string table = is_system_collection(collection) ? "system_documents" : "user_documents";
  std::lock_guard lock(write_mutex_);
  uint64_t restamped = 0;
  in_transaction(*writer_, "restamp_collection", [&] {
    const auto rows = writer_->exec(fmt::format("SELECT id FROM {} WHERE collection=$1 ORDER BY stored_at", table),
                                    {text(collection)}, "restamp_collection");
    for (int row = 0; row < rows.rows(); ++row) {
      // The store_clock bump keeps stored_at in commit order across nodes, as every write does.
      writer_->exec(fmt::format("WITH c AS (UPDATE store_clock SET last_stored_at = GREATEST(last_stored_at + 1, $3::bigint) "
                                "RETURNING last_stored_at) UPDATE {} SET stored_at = (SELECT last_stored_at FROM c) "
                                "WHERE collection=$1 AND id=$2",
                                table),
                    {text(collection), text(rows.text(row, 0)), number(to_column(hlc_->now()))}, "restamp_collection");
      ++restamped;
    }
  });
  return restamped;
}

std::vector<std::filesystem::path> PostgresStore::files() const {
  return {};
}

}  // namespace smallpeer::bigpeer
