// execute_query: the DQL pipeline over a Store.
#include "query/query.h"

#include "common/json.h"
#include "query/dql.h"

namespace smallpeer {

QueryResult execute_query(const Store& store, std::string_view query, std::string_view args_json, const QueryOptions& options) {
  const dql::Statement statement = dql::parse(query);
  const dql::Plan plan =
      dql::translate(statement, args_json, store.query_dialect(), options.max_rows, store.query_table(statement.collection));
  const auto rows = store.read_query(plan.sql, options.timeout);
  QueryResult result;
  result.items.reserve(rows.size());
  for (const auto& row : rows) {
    if (options.max_rows > 0 && result.items.size() == options.max_rows) {
      result.truncated = true;
      break;
    }
    result.items.push_back(dql::shape_row(plan, row));
  }
  return result;
}

std::string to_json(const QueryResult& result) {
  JsonWriter w;
  w.begin_object().key("items").begin_array();
  for (const auto& item : result.items) w.raw(item);
  w.end_array();
  if (result.truncated) w.key("truncated").value(true);
  return w.end_object().take();
}

}  // namespace smallpeer
