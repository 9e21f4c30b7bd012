#include "bigpeer/storage/postgres.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "bigpeer/database_health.h"
#include "common/error.h"

namespace smallpeer::bigpeer::pg {

namespace {
/// libpq's message without its trailing newline.
std::string trimmed(const char* message) {
  std::string text = message != nullptr ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

/// Opens a connection with bounded waits: a server that does not answer is given up on after 5 s
/// (connect) and a silent peer is noticed by TCP keepalives; the URL's own settings win.
PGconn* open_connection(const std::string& conninfo) {
  const char* keys[] = {"connect_timeout", "keepalives_idle", "keepalives_interval", "keepalives_count", "dbname", nullptr};
  const char* values[] = {"5", "10", "5", "3", conninfo.c_str(), nullptr};
  return PQconnectdbParams(keys, values, 1);
}

/// True when `raw` failed because the server is not there to answer: the connection dropped, or
/// SQLSTATE class 08 (connection exception) or 57P01-57P03 (shutting down, starting up).
bool unavailable(PGconn* conn, const PGresult* raw) {
  if (PQstatus(conn) != CONNECTION_OK) return true;
  const char* state = raw != nullptr ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  if (state == nullptr) return raw == nullptr;
  const std::string_view code = state;
  return code.starts_with("08") || code == "57P01" || code == "57P02" || code == "57P03";
}

struct ParamArrays {
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  explicit ParamArrays(const std::vector<Param>& params) {
    for (const auto& p : params) {
      values.push_back(p.value ? p.value->data() : nullptr);
      lengths.push_back(p.value ? static_cast<int>(p.value->size()) : 0);
      formats.push_back(p.binary ? 1 : 0);
    }
  }
};
}  // namespace

int64_t Result::integer(int row, int column) const {
  if (is_null(row, column)) return 0;
  const char* text = PQgetvalue(result_.get(), row, column);
  int64_t value = 0;
  std::from_chars(text, text + PQgetlength(result_.get(), row, column), value);
  return value;
}

uint64_t Result::affected() const {
  const char* text = PQcmdTuples(result_.get());
  uint64_t value = 0;
  if (text != nullptr) std::from_chars(text, text + std::char_traits<char>::length(text), value);
  return value;
}

void check_conninfo(const std::string& conninfo) {
  if (conninfo.empty()) throw Error(ErrorCode::invalid_argument, "the PostgreSQL URL (--postgres) must not be empty");
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    std::string reason = trimmed(error);
    // libpq quotes the whole URL, password included.
    for (size_t at; (at = reason.find(conninfo)) != std::string::npos;) reason.replace(at, conninfo.size(), redacted(conninfo));
    PQfreemem(error);
    throw Error(ErrorCode::invalid_argument,
                fmt::format("the PostgreSQL URL '{}' does not parse: {}", redacted(conninfo), reason));
  }
  PQconninfoFree(options);
}

std::string redacted(const std::string& conninfo) {
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), nullptr);
  if (options == nullptr) {
    // Not parseable: hide everything after a ':' that follows "//user" to be safe.
    const auto at = conninfo.find('@');
    return at == std::string::npos ? conninfo : "postgresql://***" + conninfo.substr(at);
  }
  std::string host, port, dbname, user;
  for (auto* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string_view key = o->keyword;
    if (key == "host") host = o->val;
    if (key == "port") port = o->val;
    if (key == "dbname") dbname = o->val;
    if (key == "user") user = o->val;
  }
  PQconninfoFree(options);
  return fmt::format("postgresql://{}{}{}{}/{}", user, user.empty() ? "" : "@", host.empty() ? "localhost" : host,
                     port.empty() ? "" : ":" + port, dbname);
}

Connection::Connection(const std::string& conninfo) : conninfo_(conninfo) {
  check_conninfo(conninfo);
  conn_.reset(open_connection(conninfo));
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
    throw Error(ErrorCode::io, fmt::format("cannot connect to PostgreSQL at {}: {}", redacted(conninfo),
                                           conn_ ? trimmed(PQerrorMessage(conn_.get())) : "out of memory"));
  }
  // Notices (e.g. "relation already exists, skipping") are not for the operator's log.
  PQsetNoticeProcessor(
      conn_.get(), [](void*, const char*) {}, nullptr);
}

void Connection::check(const Result&, PGresult* raw, std::string_view what) const {
  const auto status = PQresultStatus(raw);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) return;
  std::string message = trimmed(PQresultErrorMessage(raw));
  if (message.empty()) message = trimmed(PQerrorMessage(conn_.get()));
  if (unavailable(conn_.get(), raw)) throw DatabaseUnavailable(fmt::format("{} failed: {}", what, message));
  throw Error(ErrorCode::store, fmt::format("{} failed: {}", what, message));
}

void Connection::ensure_open() {
  if (PQstatus(conn_.get()) == CONNECTION_OK) return;
  PQreset(conn_.get());
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    throw DatabaseUnavailable(
        fmt::format("lost the connection to PostgreSQL at {}: {}", redacted(conninfo_), trimmed(PQerrorMessage(conn_.get()))));
  }
  spdlog::warn("store: reconnected to PostgreSQL at {}", redacted(conninfo_));
  for (const auto& [name, sql] : prepared_) {
    PGresult* raw = PQprepare(conn_.get(), name.c_str(), sql.c_str(), 0, nullptr);
    Result result(raw);
    check(result, raw, fmt::format("preparing {}", name));
  }
}

bool Connection::retry_after_drop(bool was_idle) {
  if (!was_idle || PQstatus(conn_.get()) == CONNECTION_OK) return false;
  ensure_open();
  return true;
}

Result Connection::exec(const std::string& sql, std::string_view what) {
  return send_once_more_after_drop([&] { return PQexec(conn_.get(), sql.c_str()); }, what);
}

Result Connection::exec(const std::string& sql, const std::vector<Param>& params, std::string_view what, bool binary_result) {
  const ParamArrays a(params);
  return send_once_more_after_drop(
      [&] {
        return PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(params.size()), nullptr, a.values.data(), a.lengths.data(),
                            a.formats.data(), binary_result ? 1 : 0);
      },
      what);
}

Result Connection::send_once_more_after_drop(const std::function<PGresult*()>& send, std::string_view what) {
  // Only a statement outside a transaction may be resent: inside one, the transaction is gone.
  const bool idle = PQtransactionStatus(conn_.get()) == PQTRANS_IDLE || PQstatus(conn_.get()) != CONNECTION_OK;
  ensure_open();
  PGresult* raw = send();
  if (PQresultStatus(raw) == PGRES_FATAL_ERROR && retry_after_drop(idle)) {
    PQclear(raw);
    raw = send();
  }
  Result result(raw);
  check(result, raw, what);
  return result;
}

void Connection::prepare(const std::string& name, const std::string& sql) {
  PGresult* raw = PQprepare(conn_.get(), name.c_str(), sql.c_str(), 0, nullptr);
  Result result(raw);
  check(result, raw, fmt::format("preparing {}", name));
  prepared_[name] = sql;
}

Result Connection::run(const std::string& name, const std::vector<Param>& params, std::string_view what, bool binary_result) {
  const ParamArrays a(params);
  return send_once_more_after_drop(
      [&] {
        return PQexecPrepared(conn_.get(), name.c_str(), static_cast<int>(params.size()), a.values.data(), a.lengths.data(),
                              a.formats.data(), binary_result ? 1 : 0);
      },
      what);
}

std::vector<Result> Connection::run_pipeline(const std::vector<std::pair<std::string, std::vector<Param>>>& calls,
                                             std::string_view what) {
  PGconn* c = conn_.get();
  // Never re-opened here: that would run the calls outside the caller's transaction.
  if (PQstatus(c) != CONNECTION_OK) {
    throw DatabaseUnavailable(fmt::format("{} failed: the connection to PostgreSQL dropped", what));
  }
  if (PQenterPipelineMode(c) != 1) throw Error(ErrorCode::store, fmt::format("{} failed: cannot enter pipeline mode", what));
  std::string failure;
  std::vector<Result> results;
  results.reserve(calls.size());
  // In blocking mode the server's answers must be read before they fill the socket, so the calls
  // go in slices, each ended by a sync (which does not end the caller's transaction).
  constexpr size_t kSlice = 256;
  for (size_t begin = 0; begin < calls.size() && failure.empty(); begin += kSlice) {
    const size_t end = std::min(calls.size(), begin + kSlice);
    for (size_t i = begin; i < end; ++i) {
      const ParamArrays a(calls[i].second);
      if (PQsendQueryPrepared(c, calls[i].first.c_str(), static_cast<int>(calls[i].second.size()), a.values.data(),
                              a.lengths.data(), a.formats.data(), 0) != 1) {
        failure = trimmed(PQerrorMessage(c));
        break;
      }
    }
    PQpipelineSync(c);
    // Every query's result is followed by a NULL; the sync's own result ends the slice.
    for (;;) {
      PGresult* raw = PQgetResult(c);
      if (raw == nullptr) {
        if (PQstatus(c) != CONNECTION_OK) {
          if (failure.empty()) failure = trimmed(PQerrorMessage(c));
          break;
        }
        continue;
      }
      const auto status = PQresultStatus(raw);
      if (status == PGRES_PIPELINE_SYNC) {
        PQclear(raw);
        break;
      }
      if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && failure.empty()) {
        failure = status == PGRES_PIPELINE_ABORTED ? "pipeline aborted" : trimmed(PQresultErrorMessage(raw));
      }
      results.emplace_back(raw);
    }
  }
  PQexitPipelineMode(c);
  if (!failure.empty() && PQstatus(c) != CONNECTION_OK) throw DatabaseUnavailable(fmt::format("{} failed: {}", what, failure));
  if (!failure.empty()) throw Error(ErrorCode::store, fmt::format("{} failed: {}", what, failure));
  return results;
}

std::string quote_identifier(PGconn* conn, std::string_view name) {
  char* quoted = PQescapeIdentifier(conn, name.data(), name.size());
  std::string out = quoted != nullptr ? quoted : "";
  PQfreemem(quoted);
  return out;
}

std::string quote_literal(PGconn* conn, std::string_view text) {
  char* quoted = PQescapeLiteral(conn, text.data(), text.size());
  std::string out = quoted != nullptr ? quoted : "";
  PQfreemem(quoted);
  return out;
}

}  // namespace smallpeer::bigpeer::pg
