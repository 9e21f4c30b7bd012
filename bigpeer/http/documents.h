// The Data Browser's routes (admin): GET /api/v1/collections,
// GET /api/v1/collections/{name}/documents?limit=&after= and
// GET /api/v1/collections/{name}/documents/{id}.
#pragma once

#include "bigpeer/http/router.h"
#include "store/store.h"

namespace smallpeer::bigpeer {

/// Adds the collection and document routes, reading from `store` (which outlives the router).
void add_document_routes(Router& router, const Store& store);

}  // namespace smallpeer::bigpeer
