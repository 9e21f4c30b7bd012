// The Data Browser's routes (admin): GET /api/v1/collections,
// GET /api/v1/collections/{name}/documents?limit=&after= and
// GET /api/v1/collections/{name}/documents/{id}, and POST /api/v1/query (docs/QUERY.md).
#pragma once

#include "bigpeer/http/router.h"
#include "query/query.h"
#include "store/store.h"

namespace smallpeer::bigpeer {

/// Adds the collection, document and query routes, reading from `store` (which outlives the
/// router); queries run within `query_limits`.
void add_document_routes(Router& router, const Store& store, QueryOptions query_limits);

}  // namespace smallpeer::bigpeer
