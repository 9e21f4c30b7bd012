// Fuzzes the DQL parser and translator (core/query/dql.h), which every app's store.execute and the
// Big Peer's POST /api/v1/query reach. Input: the arguments JSON on the first line, the query after
// it. Checks: a bad query or argument is Error(invalid_argument) or Error(validation) and nothing
// else (no crash, no other exception); a query that translates binds every value and name as a
// parameter, so the SQL's only double quotes are the ones of COLLATE "C", and it carries no byte
// outside printable ASCII; its placeholders number exactly its parameters.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"
#include "fuzz_check.h"
#include "query/dql.h"

using smallpeer::fuzz::require;

namespace {

size_t count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

void check_sql(const smallpeer::dql::SqlQuery& sql, smallpeer::dql::Dialect dialect) {
  for (const char c : sql.sql) {
    const auto byte = static_cast<unsigned char>(c);
    require(byte >= 0x20 && byte < 0x7f, "the SQL is printable ASCII: nothing from the query is spliced");
  }
  require(count(sql.sql, "\"") == 2 * count(sql.sql, "COLLATE \"C\""), "the SQL's only double quotes are COLLATE \"C\"");
  const std::string last = (dialect == smallpeer::dql::Dialect::postgres ? "$" : "?") + std::to_string(sql.params.size());
  require(sql.params.empty() || sql.sql.find(last) != std::string::npos, "the last parameter is used");
  const std::string beyond = (dialect == smallpeer::dql::Dialect::postgres ? "$" : "?") + std::to_string(sql.params.size() + 1);
  require(sql.sql.find(beyond + " ") == std::string::npos && sql.sql.find(beyond + ")") == std::string::npos &&
              !sql.sql.ends_with(beyond),
          "no placeholder beyond the parameters");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto newline = text.find('\n');
  const std::string_view args = newline == std::string_view::npos ? std::string_view() : text.substr(0, newline);
  const std::string_view query = newline == std::string_view::npos ? text : text.substr(newline + 1);
  smallpeer::dql::Statement statement;
  try {
    statement = smallpeer::dql::parse(query);
  } catch (const smallpeer::Error& e) {
    require(e.code() == smallpeer::ErrorCode::invalid_argument || e.code() == smallpeer::ErrorCode::validation,
            "a bad query is Error(invalid_argument) or, over the length limit, Error(validation)");
    return 0;
  }
  for (const auto dialect : {smallpeer::dql::Dialect::sqlite, smallpeer::dql::Dialect::postgres}) {
    try {
      const auto plan = smallpeer::dql::translate(statement, args, dialect, 100);
      check_sql(plan.sql, dialect);
    } catch (const smallpeer::Error& e) {
      require(e.code() == smallpeer::ErrorCode::invalid_argument, "a bad argument is Error(invalid_argument)");
    }
  }
  return 0;
}
