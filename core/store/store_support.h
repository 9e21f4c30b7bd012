// Pieces every Store backend shares: document validation and minifying, generated ids, and the
// observer registry that runs callbacks after a commit.
#pragma once

#include <simdjson.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/store.h"

namespace smallpeer::store_support {

/// A document body that passed validation: its _id (if it has one), its minified text and its
/// parse (valid until the parser that made it parses again).
struct ParsedDocument {
  std::optional<std::string> id;
  /// The minified text; left empty when the text parsed was minified already (`as_given`), so a
  /// caller that owns that text keeps it without a copy.
  std::string minified;
  bool as_given = false;  // the text parsed is its own minified text
  simdjson::dom::object object;

  /// The minified text of `json`, the text this parsed (a view of `minified` or of `json`).
  [[nodiscard]] std::string_view view(std::string_view json) const { return as_given ? json : std::string_view(minified); }
  /// The minified text of `json`, the text this parsed: `minified`, or a copy of `json` if it was minified already.
  std::string text(std::string_view json) && { return as_given ? std::string(json) : std::move(minified); }
};

/// Checks that `json` is an object whose "_id", if present, is a non-empty string; throws Error(validation).
ParsedDocument parse_document(simdjson::dom::parser& parser, std::string_view json);

/// 128 random bits as 32 lowercase hex characters (libsodium must be initialised).
std::string random_id();

/// Builds a locally written document from `json`: its id (generated first in the text if absent)
/// and its minified body. Throws Error(validation) like parse_document.
void fill_local_document(simdjson::dom::parser& parser, std::string_view json, Document& doc);

/// Validates a replicated document and returns the copy to store (minified body, empty for a tombstone).
/// A `checked` document is taken as it is (check_incoming checked it all).
Document checked_incoming(simdjson::dom::parser& parser, const Document& incoming);

/// Validates `doc` as checked_incoming does, in place: its body becomes the minified one and
/// `checked` is set, so a merge under the store's lock skips the parse. Throws Error(validation).
/// Returns the body's parse (valid until `parser` parses again), so a caller that reads the
/// document's fields need not parse it twice; nullopt for a tombstone or a document checked before.
std::optional<simdjson::dom::object> check_incoming(simdjson::dom::parser& parser, Document& doc);

/// The observers of one store, indexed by kind and collection. Thread-safe.
class StoreObservers {
 public:
  /// Adds an observer of one collection.
  Store::ObserverId observe(std::string collection, Store::Observer observer);
  /// Adds an observer of every collection.
  Store::ObserverId observe_all(Store::Observer observer);
  /// Adds an observer of user collections.
  Store::ObserverId observe_user_collections(Store::Observer observer);
  /// Removes an observer and waits until it is not running (except on the calling thread's stack).
  void unobserve(Store::ObserverId id);
  /// True when an observer would hear of a change to `collection` (a store skips building it otherwise).
  [[nodiscard]] bool observed(std::string_view collection) const;
  /// Calls the observers of `doc`'s collection with the change; exceptions are swallowed.
  /// `previous_stored_at` is Change::previous_stored_at (nullopt when the backend does not track it).
  void notify(const Document& doc, ChangeKind kind, std::optional<HlcTimestamp> previous_stored_at = std::nullopt);

 private:
  struct Entry {
    enum class Kind { collection, all, user };
    Kind kind = Kind::collection;
    std::string collection;  // for Kind::collection
    Store::Observer callback;
    bool removed = false;                     // guarded by mutex_
    std::vector<std::thread::id> running_on;  // guarded by mutex_: one per call in progress
  };
  std::vector<std::shared_ptr<Entry>>& index_for(const Entry& entry);
  Store::ObserverId add(std::shared_ptr<Entry> entry, Store::Observer observer);

  mutable std::mutex mutex_;
  std::condition_variable idle_;
  std::map<Store::ObserverId, std::shared_ptr<Entry>> observers_;  // by id, for unobserve
  std::vector<std::shared_ptr<Entry>> all_;
  std::vector<std::shared_ptr<Entry>> user_;
  std::map<std::string, std::vector<std::shared_ptr<Entry>>, std::less<>> by_collection_;
  Store::ObserverId next_id_ = 1;
};

}  // namespace smallpeer::store_support
