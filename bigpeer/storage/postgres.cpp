#include "bigpeer/storage/postgres.h"

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

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

BinaryArray::BinaryArray(Type type) : type_(type) {}

void BinaryArray::element_length(int32_t length) {
  const auto n = static_cast<uint32_t>(length);
  const char bytes[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
  data_.append(bytes, 4);
  ++count_;
}

void BinaryArray::add(std::string_view text) {
  element_length(static_cast<int32_t>(text.size()));
  data_.append(text);
}

void BinaryArray::add(int64_t number) {
  element_length(8);
  const auto n = static_cast<uint64_t>(number);
  for (int shift = 56; shift >= 0; shift -= 8) data_.push_back(static_cast<char>(n >> shift));
}

void BinaryArray::add(bool value) {
  element_length(1);
  data_.push_back(value ? 1 : 0);
}

void BinaryArray::add_null() {
  element_length(-1);
  has_null_ = true;
}

Param BinaryArray::take() {
  // array_recv's layout: dimensions, has-nulls flag, element type, then per dimension its length
  // and lower bound, then the elements; every integer 4 bytes, big-endian.
  std::string out;
  out.reserve(20 + data_.size());
  const auto put = [&](uint32_t n) {
    const char bytes[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                           static_cast<char>(n)};
    out.append(bytes, 4);
  };
  put(1);
  put(has_null_ ? 1 : 0);
  put(static_cast<uint32_t>(type_));
  put(count_);
  put(1);
  out += data_;
  data_.clear();
  count_ = 0;
  has_null_ = false;
  return Param{std::move(out), true};
}

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

std::string Connection::pipeline(const std::vector<std::pair<std::string, std::vector<Param>>>& calls, bool own_transaction,
                                 std::vector<Result>& results) {
  PGconn* c = conn_.get();
  if (PQenterPipelineMode(c) != 1) return "cannot enter pipeline mode";
  // Non-blocking: a group commit's parameters can be megabytes and its results tens of kilobytes,
  // so the loop below sends and reads as the socket allows instead of blocking on one direction
  // while the server blocks on the other.
  PQsetnonblocking(c, 1);
  std::string failure;
  const auto send_plain = [&](const char* sql) {
    if (failure.empty() && PQsendQueryParams(c, sql, 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) {
      failure = trimmed(PQerrorMessage(c));
    }
  };
  if (own_transaction) send_plain("BEGIN");
  for (const auto& [name, params] : calls) {
    if (!failure.empty()) break;
    const ParamArrays a(params);
    if (PQsendQueryPrepared(c, name.c_str(), static_cast<int>(params.size()), a.values.data(), a.lengths.data(), a.formats.data(),
                            0) != 1) {
      failure = trimmed(PQerrorMessage(c));
    }
  }
  if (own_transaction) send_plain("COMMIT");
  // The sync also after a failed send, so what was sent is answered and drained below.
  bool synced = PQpipelineSync(c) != 1;
  if (synced && failure.empty()) failure = trimmed(PQerrorMessage(c));
  // Results: the BEGIN's, each call's, the COMMIT's (each followed by a NULL), then the sync's.
  const size_t skip_first = own_transaction ? 1 : 0;
  const size_t wanted = calls.size();
  size_t seen = 0;
  while (!synced) {
    const int flushed = PQflush(c);
    if (flushed < 0 || PQconsumeInput(c) == 0) {
      if (failure.empty()) failure = trimmed(PQerrorMessage(c));
      break;
    }
    while (!synced && PQisBusy(c) == 0) {
      PGresult* raw = PQgetResult(c);
      if (raw == nullptr) {
        if (PQstatus(c) == CONNECTION_OK) continue;  // the end of one query's results
        break;                                       // no more will come: noticed below
      }
      const auto status = PQresultStatus(raw);
      if (status == PGRES_PIPELINE_SYNC) {
        PQclear(raw);
        synced = true;
        break;
      }
      if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && failure.empty()) {
        failure = status == PGRES_PIPELINE_ABORTED ? "pipeline aborted" : trimmed(PQresultErrorMessage(raw));
      }
      const size_t at = seen++;
      if (at >= skip_first && at < skip_first + wanted) {
        results.emplace_back(raw);
      } else {
        PQclear(raw);
      }
    }
    if (synced) break;
    if (PQstatus(c) != CONNECTION_OK) {
      if (failure.empty()) failure = trimmed(PQerrorMessage(c));
      break;
    }
    pollfd p{PQsocket(c), static_cast<short>(POLLIN | (flushed == 1 ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) {
      failure = fmt::format("waiting for PostgreSQL: {}", std::strerror(errno));
      break;
    }
  }
  PQexitPipelineMode(c);
  PQsetnonblocking(c, 0);
  if (failure.empty() && results.size() != wanted) failure = "the server answered fewer statements than were sent";
  return failure;
}

std::vector<Result> Connection::run_pipeline(const std::vector<std::pair<std::string, std::vector<Param>>>& calls,
                                             std::string_view what) {
  // Never re-opened here: that would run the calls outside the caller's transaction.
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    throw DatabaseUnavailable(fmt::format("{} failed: the connection to PostgreSQL dropped", what));
  }
  std::vector<Result> results;
  results.reserve(calls.size());
  const std::string failure = pipeline(calls, false, results);
  if (!failure.empty() && PQstatus(conn_.get()) != CONNECTION_OK) {
    throw DatabaseUnavailable(fmt::format("{} failed: {}", what, failure));
  }
  if (!failure.empty()) throw Error(ErrorCode::store, fmt::format("{} failed: {}", what, failure));
  return results;
}

std::vector<Result> Connection::run_transaction(const std::vector<std::pair<std::string, std::vector<Param>>>& calls,
                                                std::string_view what) {
  ensure_open();
  std::vector<Result> results;
  results.reserve(calls.size());
  std::string failure = pipeline(calls, true, results);
  if (!failure.empty() && results.empty() && retry_after_drop(true)) {
    // The server had closed the connection before it answered anything (a restart, an operator's
    // pg_terminate_backend): nothing ran, so it runs once more on the new connection.
    failure = pipeline(calls, true, results);
  }
  if (failure.empty()) return results;
  // A failed statement leaves the transaction aborted (the COMMIT was skipped): end it.
  if (PQstatus(conn_.get()) == CONNECTION_OK && PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
    PQclear(PQexec(conn_.get(), "ROLLBACK"));
  }
  if (PQstatus(conn_.get()) != CONNECTION_OK) throw DatabaseUnavailable(fmt::format("{} failed: {}", what, failure));
  throw Error(ErrorCode::store, fmt::format("{} failed: {}", what, failure));
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
