// The SQL a DQL query becomes (query/dql.h) and the rows it returns: what a Store backend runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace smallpeer::dql {

/// The SQL a store speaks: SQLite (JSON1) on devices and the default Big Peer, PostgreSQL (jsonb).
enum class Dialect { sqlite, postgres };

/// One bound parameter. SQLite binds by type; PostgreSQL receives `text` and casts in the SQL.
struct SqlParam {
  enum class Type { text, integer, real };
  Type type = Type::text;
  std::string text;  // the value as text (every type, for PostgreSQL)
  int64_t integer = 0;
  double real = 0;
};

/// One statement with its parameters, numbered from 1 in order.
struct SqlQuery {
  std::string sql;
  std::vector<SqlParam> params;
};

/// One result row: each column as text, nullopt for SQL NULL.
using SqlRow = std::vector<std::optional<std::string>>;

}  // namespace smallpeer::dql
