// Store on PostgreSQL (libpq), for Big Peers that outgrow one machine: several Big Peer nodes share
// one database. Same behaviour as the SQLite store (core/store/store.h), plus LISTEN/NOTIFY so a
// node hears what the others committed.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bigpeer/storage/postgres.h"
#include "store/store.h"
#include "store/store_support.h"

namespace smallpeer::bigpeer {

/// The schema version this binary writes; migrations bring older databases up to it at start.
inline constexpr int kPostgresSchemaVersion = 2;

/// A Store in a PostgreSQL database. Thread-safe.
class PostgresStore final : public Store {
 public:
  /// Connects to `url` (a libpq URL or key=value string), runs pending migrations and restores
  /// the clock. Throws Error(invalid_argument) for a malformed URL, Error(io) if the server cannot
  /// be reached and Error(store) if the schema is newer than this binary.
  PostgresStore(const std::string& url, std::shared_ptr<HybridLogicalClock> hlc, std::string local_peer);
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  // The Store interface; store/store.h documents each function, and they behave as on SQLite.
  Document upsert(std::string_view collection, std::string_view json) override;
  bool merge(const Document& incoming) override;
  [[nodiscard]] std::optional<Document> get(std::string_view collection, std::string_view id,
                                            bool include_deleted = false) const override;
  [[nodiscard]] Page list(std::string_view collection, size_t limit, std::string_view after = {}) const override;
  bool remove(std::string_view collection, std::string_view id) override;
  size_t purge_system(std::string_view collection, const std::vector<std::string>& ids) override;
  [[nodiscard]] std::vector<Document> changes_since(std::string_view collection, HlcTimestamp since,
                                                    size_t limit = SIZE_MAX) const override;
  using Store::merge_batch;
  /// One pipelined transaction: `batch_ends` is not needed (nothing waits behind it on this connection).
  std::vector<bool> merge_batch(const std::vector<Document>& incoming,
                                const std::vector<std::pair<std::string, std::string>>& settings,
                                const std::vector<size_t>& batch_ends) override;
  [[nodiscard]] std::vector<std::string> collection_names(bool system) const override;
  [[nodiscard]] std::map<std::string, uint64_t> user_collection_counts(size_t max_collections) const override;
  ObserverId observe(std::string collection, Observer observer) override;
  ObserverId observe_all(Observer observer) override;
  ObserverId observe_user_collections(Observer observer) override;
  void unobserve(ObserverId id) override;
  [[nodiscard]] std::optional<std::string> setting(std::string_view key) const override;
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> settings_with_prefix(std::string_view prefix) const override;
  void set_settings(const std::vector<std::pair<std::string, std::string>>& values) override;
  /// Empty: the database's files belong to the PostgreSQL server.
  [[nodiscard]] std::vector<std::filesystem::path> files() const override;
  /// "ok" when every table reads; PostgreSQL checks its own pages.
  [[nodiscard]] HybridLogicalClock& clock() const override { return *hlc_; }
  [[nodiscard]] dql::Dialect query_dialect() const override { return dql::Dialect::postgres; }
  [[nodiscard]] std::vector<dql::SqlRow> read_query(const dql::SqlQuery& query, std::chrono::milliseconds timeout) const override;
  uint64_t repair_clock() override;
  uint64_t restamp_collection(std::string_view collection) override;

  /// Connects to `url` and checks that its schema is not newer than this binary, changing nothing;
  /// throws what the constructor would.
  static void check_database(const std::string& url);

  /// The URL it connected to.
  [[nodiscard]] const std::string& url() const { return url_; }
  /// This process's id among the nodes sharing the database (random per start).
  [[nodiscard]] const std::string& node_id() const { return node_id_; }
  /// Calls `handler(payload)` for every NOTIFY on `channel` by another node, on the listener thread.
  void listen(const std::string& channel, std::function<void(const std::string& payload)> handler);
  /// Calls `handler` on the listener thread after it listened again on a new connection (the
  /// notifications sent in between were lost). Set before serving.
  void on_relisten(std::function<void()> handler) { on_relisten_ = std::move(handler); }
  /// Stops the listener thread: no handler runs after this returns. Idempotent.
  void stop_listening();
  /// Sends NOTIFY `channel` with `payload` (delivered to the other nodes).
  void notify_nodes(const std::string& channel, const std::string& payload);

 private:
  /// What a committed write tells the other nodes and the local observers.
  void after_commit(const std::vector<Document>& stored);
  void listen_loop();
  bool merge_with(const Document& incoming, Document& stored);

  const std::string url_;
  const std::shared_ptr<HybridLogicalClock> hlc_;
  const std::string local_peer_;
  const std::string node_id_;

  mutable std::mutex write_mutex_;  // guards writer_ and parser_
  std::unique_ptr<pg::Connection> writer_;
  simdjson::dom::parser parser_;
  mutable std::mutex read_mutex_;  // guards reader_
  std::unique_ptr<pg::Connection> reader_;

  std::mutex listen_mutex_;  // guards listener_ and handlers_
  std::unique_ptr<pg::Connection> listener_;
  std::map<std::string, std::vector<std::function<void(const std::string&)>>> handlers_;
  std::function<void()> on_relisten_;
  std::atomic<bool> stopping_{false};
  std::thread listen_thread_;

  store_support::StoreObservers observers_;
};

}  // namespace smallpeer::bigpeer
