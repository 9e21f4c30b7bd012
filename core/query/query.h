// Running a DQL query (query/dql.h) against a Store: parse, translate for the store's dialect, run
// read-only, shape the rows. The one entry point of store.execute and POST /api/v1/query.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace smallpeer {

/// Bounds on one query; the defaults (no bounds) suit a device querying its own store.
struct QueryOptions {
  size_t max_rows = 0;                   // 0: no cap; else at most this many items, and `truncated` says if more matched
  std::chrono::milliseconds timeout{0};  // 0: no limit; else Error(validation) when the query runs longer
};

/// What a query returned: one minified JSON object per item.
struct QueryResult {
  std::vector<std::string> items;
  bool truncated = false;  // more rows matched than QueryOptions::max_rows
};

/// Runs the read-only DQL `query` with `args_json` (a JSON object of :name values; empty for none)
/// on `store`. Throws Error(invalid_argument) for a bad query or argument, naming the problem and
/// its position, and Error(validation) for one over a limit (length, time).
QueryResult execute_query(const Store& store, std::string_view query, std::string_view args_json,
                          const QueryOptions& options = {});

/// The result as JSON: {"items":[...]} plus "truncated":true when the row cap cut it.
std::string to_json(const QueryResult& result);

}  // namespace smallpeer
