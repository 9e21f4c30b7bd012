// DQL, the query language of `store.execute` and the Big Peer's POST /api/v1/query: a subset of
// Ditto's DQL, parsed here once to an AST and translated to one SQL statement per backend (SQLite
// JSON1, PostgreSQL jsonb), with every value and field name bound as a parameter, never spliced.
// Pure (no I/O, no SQLite): the fuzz target links it alone. The language and its semantics are in
// docs/QUERY.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "query/sql_query.h"

namespace smallpeer::dql {

/// The longest query text accepted, in bytes.
constexpr size_t kMaxQueryBytes = size_t{64} * 1024;
/// How deeply conditions may nest (parentheses and NOT), so a hostile query cannot exhaust the stack.
constexpr size_t kMaxNesting = 64;
/// The most values an IN list may hold, after arrays in arguments are expanded.
constexpr size_t kMaxInValues = 1000;

/// A JSON value from the query text or its arguments (objects are not comparable, so not kept).
struct Value {
  enum class Type { null, boolean, number, string, array };
  Type type = Type::null;
  bool boolean = false;
  double number = 0;
  std::optional<int64_t> integer;  // set when the number is an integer that fits
  std::string string;
  std::vector<Value> items;  // Type::array
};

/// A dotted field path such as metadata.site; `text` is how the query wrote it (for messages).
struct Path {
  std::vector<std::string> segments;
  std::string text;
  bool operator==(const Path& other) const { return segments == other.segments; }
};

struct Expr;
/// An owned expression node.
using ExprPtr = std::unique_ptr<Expr>;

/// One node of a WHERE condition.
struct Expr {
  enum class Kind {
    path,        // a field: `path`
    literal,     // a value written in the query: `value`
    parameter,   // :name, bound from the arguments: `name`
    compare,     // children[0] `op` children[1]
    all_of,      // AND of children
    any_of,      // OR of children
    negation,    // NOT children[0]
    in_list,     // children[0] [NOT] IN (children[1..])
    is_null,     // children[0] IS [NOT] NULL
    is_missing,  // children[0] IS [NOT] MISSING
    like,        // children[0] [NOT] LIKE children[1]
  };
  Kind kind = Kind::literal;
  size_t position = 0;  // 1-based byte offset in the query, for messages
  Path path;
  Value value;
  std::string name;  // parameter name, or the comparison operator (= != < <= > >=)
  bool negated = false;
  std::vector<ExprPtr> children;
};

/// A LIMIT or OFFSET: a number written in the query, or a parameter.
struct Count {
  std::optional<int64_t> literal;
  std::string parameter;
  size_t position = 0;
};

/// One output column: a field (named by its last segment unless AS renames it) or COUNT(*).
struct Projection {
  bool count = false;
  Path path;
  std::string name;
};

/// One ORDER BY key: a field, or COUNT(*) (by that or its alias) in a grouped query.
struct OrderKey {
  bool count = false;
  Path path;
  bool descending = false;
};

/// A parsed SELECT statement.
struct Statement {
  std::string collection;
  bool select_all = false;  // SELECT *
  std::vector<Projection> projections;
  ExprPtr where;  // null when there is no WHERE
  std::vector<Path> group_by;
  std::vector<OrderKey> order_by;
  std::optional<Count> limit;
  std::optional<Count> offset;
  /// True if the result is counts (COUNT(*) with or without GROUP BY).
  [[nodiscard]] bool aggregate() const;
};

/// Parses `text`; throws Error(invalid_argument) naming the problem and its 1-based position
/// ("query: expected FROM at position 10, found WHERE"). Never anything else for bad input.
Statement parse(std::string_view text);

/// A statement translated for one backend, and how to turn its SQL rows into result items.
struct Plan {
  SqlQuery sql;
  const Statement* statement = nullptr;  // not owned; outlives the plan
  size_t row_cap = 0;                    // 0: none; else the SQL fetches one more row to detect truncation
};

/// Translates `statement` for `dialect`, binding `:name` parameters from `args_json` (a JSON
/// object, or empty for none). The documents are in `own_table` when it is not empty (a table of
/// the collection's own, Store::query_table), else in user_documents or system_documents by the
/// collection's name. `row_cap` > 0 caps the rows returned (the SQL fetches row_cap + 1 to
/// detect more). Throws Error(invalid_argument) for a missing or mistyped argument or an
/// unusable collection name.
Plan translate(const Statement& statement, std::string_view args_json, Dialect dialect, size_t row_cap = 0,
               std::string_view own_table = {});

/// The result item (a minified JSON object) for one row the plan's SQL returned.
std::string shape_row(const Plan& plan, const SqlRow& row);

}  // namespace smallpeer::dql
