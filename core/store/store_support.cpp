#include "store/store_support.h"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "common/error.h"

namespace smallpeer::store_support {

namespace {
std::string_view type_name(simdjson::dom::element_type type) {
  using simdjson::dom::element_type;
  switch (type) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "a number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "an unknown value";
}

// Whether valid JSON `json` certainly has no whitespace outside its strings. Between two tokens
// one is always punctuation ({}[]:,), as two values never touch, so whitespace outside the strings
// touches punctuation or an end of the text; whitespace that touches neither is inside a string.
// A string holding ", " reads as not minified: the caller then minifies, which is only slower.
bool certainly_minified(std::string_view json) {
  const auto punctuation = [](char c) { return c == '{' || c == '}' || c == '[' || c == ']' || c == ':' || c == ','; };
  const char* const begin = json.data();
  const char* const end = begin + json.size();
  // memchr is vectorised: a document with no whitespace costs four quick scans.
  for (const char space : {' ', '\t', '\n', '\r'}) {
    for (const char* at = begin;
         (at = static_cast<const char*>(std::memchr(at, space, static_cast<size_t>(end - at)))) != nullptr; ++at) {
      if (at == begin || at + 1 == end || punctuation(at[-1]) || punctuation(at[1])) return false;
    }
  }
  return true;
}

}  // namespace

ParsedDocument parse_document(simdjson::dom::parser& parser, std::string_view json) {
  if (json.empty()) throw Error(ErrorCode::validation, "document must be a JSON object, got an empty string");
  simdjson::dom::element root;
  if (const auto err = parser.parse(json.data(), json.size()).get(root)) {
    throw Error(ErrorCode::validation, fmt::format("document is not valid JSON: {}", simdjson::error_message(err)));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object)) {
    throw Error(ErrorCode::validation, fmt::format("document must be a JSON object, got {}", type_name(root.type())));
  }
  ParsedDocument parsed;
  parsed.object = object;
  for (const auto field : object) {
    if (field.key != "_id") continue;
    if (parsed.id) throw Error(ErrorCode::validation, "document has more than one \"_id\"");
    std::string_view id;
    if (field.value.get_string().get(id)) {
      throw Error(ErrorCode::validation, fmt::format("document \"_id\" must be a string, got {}", type_name(field.value.type())));
    }
    // An empty _id could never be paged past: list() starts after "".
    if (id.empty()) throw Error(ErrorCode::validation, "document \"_id\" must not be empty");
    parsed.id = std::string(id);
  }
  // Minifying the text (not re-serialising the DOM) keeps numbers and escapes exactly as written.
  // Text written by a JsonWriter (every SDK's document) is minified already: copied as it is.
  if (certainly_minified(json)) {
    parsed.as_given = true;
    return parsed;
  }
  parsed.minified.resize(json.size());
  size_t length = 0;
  if (const auto err = simdjson::minify(json.data(), json.size(), parsed.minified.data(), length)) {
    throw Error(ErrorCode::validation, fmt::format("document is not valid JSON: {}", simdjson::error_message(err)));
  }
  parsed.minified.resize(length);
  return parsed;
}

std::string random_id() {
  std::array<unsigned char, 16> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::array<char, 33> hex{};
  sodium_bin2hex(hex.data(), hex.size(), bytes.data(), bytes.size());
  return std::string(hex.data(), 32);
}

void fill_local_document(simdjson::dom::parser& parser, std::string_view json, Document& doc) {
  auto parsed = parse_document(parser, json);
  if (parsed.id) {
    doc.id = std::move(*parsed.id);
    doc.json = std::move(parsed).text(json);
    return;
  }
  doc.id = random_id();
  const std::string_view minified = parsed.view(json);
  // The generated _id goes first; minified text starts with '{', and "{}" has no member to follow.
  // Built aside: `json` may be doc.json itself.
  std::string text;
  text.reserve(minified.size() + doc.id.size() + 10);
  text.append("{\"_id\":\"").append(doc.id).append("\"");
  if (minified.size() > 2) text.push_back(',');
  text.append(minified.substr(1));
  doc.json = std::move(text);
}

namespace {

// A name from the wire (the sync codec carries raw bytes) that every backend can store as text:
// PostgreSQL refuses NUL and invalid UTF-8, and one such document would fail its whole group.
void check_text_field(std::string_view value, const char* what) {
  if (value.find('\0') != std::string_view::npos || !simdjson::validate_utf8(value.data(), value.size())) {
    throw Error(ErrorCode::validation, fmt::format("merged document's {} must be UTF-8 without NUL characters", what));
  }
}

// The checks of a replicated document besides its body.
void check_incoming_fields(const Document& incoming) {
  Store::validate_collection_name(incoming.collection);
  if (incoming.id.empty()) throw Error(ErrorCode::validation, "merged document has an empty _id");
  check_text_field(incoming.collection, "collection name");
  check_text_field(incoming.id, "_id");
  check_text_field(incoming.version.origin, "origin");
  if (incoming.version.hlc.value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    throw Error(ErrorCode::validation, "merged document has an HLC timestamp out of range");
  }
}

// The body of a replicated (not deleted) document whose "_id" must be its id.
ParsedDocument checked_body(simdjson::dom::parser& parser, const Document& incoming) {
  auto parsed = parse_document(parser, incoming.json);
  if (parsed.id != incoming.id) {
    throw Error(ErrorCode::validation, fmt::format("merged document's \"_id\" does not match its id \"{}\"", incoming.id));
  }
  return parsed;
}

}  // namespace

Document checked_incoming(simdjson::dom::parser& parser, const Document& incoming) {
  // Every field but the body is copied; the body is the minified text (copying the incoming body
  // first would cost an allocation and a copy per merged document for nothing).
  Document stored{incoming.collection, incoming.id, {}, incoming.version, incoming.deleted, incoming.stored_at};
  if (incoming.checked) {
    // check_incoming ran every check already (on the Big Peer, off the writer thread).
    if (!incoming.deleted) stored.json = incoming.json;
    return stored;
  }
  check_incoming_fields(incoming);
  if (!incoming.deleted) stored.json = checked_body(parser, incoming).text(incoming.json);
  return stored;
}

std::optional<simdjson::dom::object> check_incoming(simdjson::dom::parser& parser, Document& doc) {
  if (doc.checked) return std::nullopt;
  check_incoming_fields(doc);
  std::optional<simdjson::dom::object> body;
  if (!doc.deleted) {
    auto parsed = checked_body(parser, doc);
    if (!parsed.as_given) doc.json = std::move(parsed.minified);  // else kept as it came, no copy
    body = parsed.object;
  }
  doc.checked = true;
  return body;
}

Store::ObserverId StoreObservers::observe(std::string collection, Store::Observer observer) {
  Store::validate_collection_name(collection);
  auto entry = std::make_shared<Entry>();
  entry->collection = std::move(collection);
  return add(std::move(entry), std::move(observer));
}

Store::ObserverId StoreObservers::observe_all(Store::Observer observer) {
  auto entry = std::make_shared<Entry>();
  entry->kind = Entry::Kind::all;
  return add(std::move(entry), std::move(observer));
}

Store::ObserverId StoreObservers::observe_user_collections(Store::Observer observer) {
  auto entry = std::make_shared<Entry>();
  entry->kind = Entry::Kind::user;
  return add(std::move(entry), std::move(observer));
}

// Unknown ids are ignored. From inside an observer, invocations further up the calling thread's
// own stack are not waited for (that would deadlock); they finish after this returns.
void StoreObservers::unobserve(Store::ObserverId id) {
  std::unique_lock lock(mutex_);
  const auto it = observers_.find(id);
  if (it == observers_.end()) return;
  const auto entry = it->second;
  observers_.erase(it);
  auto& list = index_for(*entry);
  std::erase(list, entry);
  if (list.empty() && entry->kind == Entry::Kind::collection) by_collection_.erase(entry->collection);
  entry->removed = true;
  const auto self = std::this_thread::get_id();
  idle_.wait(lock, [&] {
    return std::all_of(entry->running_on.begin(), entry->running_on.end(), [&](std::thread::id t) { return t == self; });
  });
}

bool StoreObservers::observed(std::string_view collection) const {
  std::lock_guard lock(mutex_);
  return !all_.empty() || (!user_.empty() && !Store::is_system_collection(collection)) || by_collection_.contains(collection);
}

void StoreObservers::notify(const Document& doc, ChangeKind kind, std::optional<HlcTimestamp> previous_stored_at) {
  std::vector<std::shared_ptr<Entry>> targets;
  {
    std::lock_guard lock(mutex_);
    // Indexed by kind and collection, so a Big Peer with a thousand sessions observing user
    // collections pays nothing per ingested Small Peer Info document.
    targets = all_;
    if (!Store::is_system_collection(doc.collection)) targets.insert(targets.end(), user_.begin(), user_.end());
    if (const auto it = by_collection_.find(doc.collection); it != by_collection_.end()) {
      targets.insert(targets.end(), it->second.begin(), it->second.end());
    }
  }
  if (targets.empty()) return;
  const Change change{
      doc.collection,    doc.id, kind, kind == ChangeKind::remove ? std::string() : doc.json, doc.version, doc.stored_at,
      previous_stored_at};
  const auto self = std::this_thread::get_id();
  for (const auto& entry : targets) {
    {
      std::lock_guard lock(mutex_);
      if (entry->removed) continue;
      entry->running_on.push_back(self);
    }
    try {
      entry->callback(change);
    } catch (...) {
      // The change is already committed, so the writer must not see a failure, and one bad
      // observer must not keep the others from hearing about it.
    }
    {
      std::lock_guard lock(mutex_);
      entry->running_on.erase(std::find(entry->running_on.begin(), entry->running_on.end(), self));
    }
    idle_.notify_all();
  }
}

// Under mutex_: the index list an entry belongs to.
std::vector<std::shared_ptr<StoreObservers::Entry>>& StoreObservers::index_for(const Entry& entry) {
  switch (entry.kind) {
    case Entry::Kind::all:
      return all_;
    case Entry::Kind::user:
      return user_;
    case Entry::Kind::collection:
      break;
  }
  return by_collection_[entry.collection];
}

Store::ObserverId StoreObservers::add(std::shared_ptr<Entry> entry, Store::Observer observer) {
  if (!observer) throw Error(ErrorCode::invalid_argument, "observer must not be empty");
  entry->callback = std::move(observer);
  std::lock_guard lock(mutex_);
  const Store::ObserverId id = next_id_++;
  index_for(*entry).push_back(entry);
  observers_.emplace(id, std::move(entry));
  return id;
}

}  // namespace smallpeer::store_support

namespace smallpeer {

// Pure name rules, here rather than beside SqliteStore so the parsers need no SQLite (smallpeer_codec).
namespace {
constexpr size_t kMaxCollectionNameBytes = 256;
}  // namespace

bool Store::is_system_collection(std::string_view collection) {
  return collection.starts_with("__");
}

void Store::validate_collection_name(std::string_view collection) {
  if (collection.empty() || collection.size() > kMaxCollectionNameBytes) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("collection name must be 1 to {} bytes, got {}", kMaxCollectionNameBytes, collection.size()));
  }
  if (collection.find('\0') != std::string_view::npos) {
    throw Error(ErrorCode::invalid_argument, "collection name must not contain NUL characters");
  }
}

}  // namespace smallpeer

namespace smallpeer {

Document Store::upsert_sealed(std::string_view collection, std::string_view, const Seal&) {
  throw Error(ErrorCode::internal, fmt::format("this store cannot seal local writes (collection {})", collection));
}

}  // namespace smallpeer
