// Log bundles in PostgreSQL (table log_bundle_chunks): every Big Peer node sharing the database
// stores the chunks it receives there, and any node serves the download.
#pragma once

#include <memory>
#include <string>

#include "bigpeer/storage/bundles.h"

namespace smallpeer::bigpeer {

/// A LogBundleStore on its own connection to `url` (the schema is the store's, already migrated).
std::unique_ptr<LogBundleStore> make_postgres_bundle_store(const std::string& url);

}  // namespace smallpeer::bigpeer
