// A thin RAII layer over libpq (Debian's libpq-dev): one connection, its prepared statements, and
// results that free themselves. Errors become Error(store) naming what failed.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smallpeer::bigpeer::pg {

/// Frees a PGresult.
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
/// Closes a PGconn.
struct ConnectionDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};

/// A query's result rows.
class Result {
 public:
  /// Takes ownership of `result`.
  explicit Result(PGresult* result) : result_(result) {}
  /// Number of rows.
  [[nodiscard]] int rows() const { return PQntuples(result_.get()); }
  /// Number of columns.
  [[nodiscard]] int columns() const { return PQnfields(result_.get()); }
  /// True if the cell is NULL.
  [[nodiscard]] bool is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  /// A cell as text (empty for NULL).
  [[nodiscard]] std::string text(int row, int column) const {
    return std::string(PQgetvalue(result_.get(), row, column), static_cast<size_t>(PQgetlength(result_.get(), row, column)));
  }
  /// A cell as a 64-bit integer (0 for NULL).
  [[nodiscard]] int64_t integer(int row, int column) const;
  /// A bytea cell (binary result format) as bytes.
  [[nodiscard]] std::string bytes(int row, int column) const { return text(row, column); }
  /// Rows a command changed (INSERT/UPDATE/DELETE).
  [[nodiscard]] uint64_t affected() const;

 private:
  std::unique_ptr<PGresult, ResultDeleter> result_;
};

/// One parameter: text, or NULL when nullopt. `binary` sends the bytes as they are (for bytea).
struct Param {
  std::optional<std::string> value;
  bool binary = false;
};

/// A one-dimensional array parameter in PostgreSQL's binary format: a whole column of a group
/// commit in one parameter, with no quoting or escaping on either side (unnest($1::text[])).
class BinaryArray {
 public:
  /// The element types used (their pg_type OIDs).
  enum class Type : uint32_t { boolean = 16, int8 = 20, text = 25 };
  /// An empty array of `type`.
  explicit BinaryArray(Type type);
  /// Appends a text element.
  void add(std::string_view text);
  /// Appends a 64-bit integer element.
  void add(int64_t number);
  /// Appends a boolean element.
  void add(bool value);
  /// Appends a NULL element.
  void add_null();
  /// The elements added so far.
  [[nodiscard]] uint32_t size() const { return count_; }
  /// The finished parameter (binary format); the builder is empty afterwards.
  Param take();

 private:
  void element_length(int32_t length);
  Type type_;
  std::string data_;  // the elements, each its length (4 bytes, big-endian) and bytes
  uint32_t count_ = 0;
  bool has_null_ = false;
};

/// Validates a connection URL/string without connecting; throws Error(invalid_argument) naming the problem.
void check_conninfo(const std::string& conninfo);
/// The URL without its password, for messages and logs.
std::string redacted(const std::string& conninfo);

/// One libpq connection. Not thread-safe: its owner serialises use. A connection the server
/// dropped (restart, pg_terminate_backend) is re-opened at the next use outside a transaction, with
/// its prepared statements; a statement that failed because of it is retried once.
class Connection {
 public:
  /// Connects; throws Error(invalid_argument) for a malformed URL and Error(io) if the server
  /// cannot be reached, with libpq's reason.
  explicit Connection(const std::string& conninfo);

  /// Runs SQL without parameters (several statements allowed); throws Error(store) on failure.
  Result exec(const std::string& sql, std::string_view what);
  /// Runs SQL with parameters; throws Error(store) on failure.
  Result exec(const std::string& sql, const std::vector<Param>& params, std::string_view what, bool binary_result = false);
  /// Prepares `sql` under `name` (once per connection).
  void prepare(const std::string& name, const std::string& sql);
  /// Runs a prepared statement; throws Error(store) on failure.
  Result run(const std::string& name, const std::vector<Param>& params, std::string_view what, bool binary_result = false);
  /// Runs many executions of prepared statements in one pipeline (one round trip), inside the
  /// caller's transaction; returns their results in order. Throws Error(store) on the first failure.
  std::vector<Result> run_pipeline(const std::vector<std::pair<std::string, std::vector<Param>>>& calls, std::string_view what);
  /// Runs `calls` as one transaction in one pipeline: BEGIN, the calls, COMMIT, so a group commit
  /// is one round trip. Re-opens a dropped connection first (and runs once more if it was found
  /// dropped before the server answered anything); on failure rolls back and throws Error(store),
  /// or DatabaseUnavailable when the server is away. Returns the calls' results in order.
  std::vector<Result> run_transaction(const std::vector<std::pair<std::string, std::vector<Param>>>& calls,
                                      std::string_view what);
  /// The raw handle (for LISTEN/NOTIFY polling).
  [[nodiscard]] PGconn* raw() const { return conn_.get(); }

 private:
  void check(const Result& result, PGresult* raw, std::string_view what) const;
  /// Sends `calls` in pipeline mode without blocking on either direction (large parameters and
  /// large results may cross), ended by one sync; appends every result to `results` and returns
  /// the first failure's message (empty if none).
  /// With `own_transaction` the calls are wrapped in BEGIN and COMMIT, whose results are dropped.
  std::string pipeline(const std::vector<std::pair<std::string, std::vector<Param>>>& calls, bool own_transaction,
                       std::vector<Result>& results);
  /// Re-opens a dropped connection (outside a transaction); throws Error(io) if it cannot.
  void ensure_open();
  /// True if `raw` failed because the connection dropped, and it is safe to run again.
  bool retry_after_drop(bool was_idle);
  /// Reopens if needed, calls `send`, and calls it once more if the connection had dropped outside
  /// a transaction; returns the checked result (failures name `what`).
  Result send_once_more_after_drop(const std::function<PGresult*()>& send, std::string_view what);
  std::string conninfo_;
  std::unique_ptr<PGconn, ConnectionDeleter> conn_;
  std::map<std::string, std::string> prepared_;
};

/// Quotes an identifier (e.g. a channel name) for SQL.
std::string quote_identifier(PGconn* conn, std::string_view name);
/// Quotes a literal for SQL.
std::string quote_literal(PGconn* conn, std::string_view text);

}  // namespace smallpeer::bigpeer::pg
