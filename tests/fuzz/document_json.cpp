// Fuzzes the store's document JSON checks (core/store/store_support): local writes
// (fill_local_document) and replicated documents (checked_incoming, check_incoming) built from
// arbitrary text.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "fuzz_check.h"
#include "store/store_support.h"

using smallpeer::fuzz::require;
namespace support = smallpeer::store_support;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static simdjson::dom::parser parser;
  const std::string_view json(reinterpret_cast<const char*>(data), size);

  // A locally written document: validated, minified, given an id if it has none.
  smallpeer::Document local;
  bool local_ok = false;
  try {
    auto parsed = support::parse_document(parser, json);
    require(!parsed.id || !parsed.id->empty(), "an accepted _id is not empty");
    require(!parsed.as_given || parsed.minified.empty(), "text minified already is not copied");
    const std::string text = std::move(parsed).text(json);
    require(support::parse_document(parser, text).text(text) == text, "minified text is a fixed point");
    // Text taken as minified already (not minified again) must be what minifying gives.
    std::string minified(json.size(), '\0');
    size_t length = 0;
    require(simdjson::minify(json.data(), json.size(), minified.data(), length) == simdjson::SUCCESS, "accepted text minifies");
    minified.resize(length);
    require(text == minified, "the stored text is the minified text");
    support::fill_local_document(parser, json, local);
    local_ok = true;
  } catch (const smallpeer::Error& e) {
    require(e.code() == smallpeer::ErrorCode::validation, "a refused document is Error(validation)");
  }
  if (local_ok) {
    require(!local.id.empty(), "a stored document has an id");
    const auto reparsed = support::parse_document(parser, local.json);
    require(reparsed.id && *reparsed.id == local.id, "the stored text carries the document's id first or as given");
  }

  // The same text arriving from a peer, under the id it claims (or a wrong one) and as a tombstone.
  smallpeer::Document incoming;
  incoming.collection = "fuzz";
  incoming.id = local_ok ? local.id : std::string("x");
  incoming.json = std::string(json);
  for (const bool deleted : {false, true}) {
    incoming.deleted = deleted;
    std::optional<smallpeer::Document> stored;
    try {
      stored = support::checked_incoming(parser, incoming);
      if (deleted) require(stored->json.empty(), "a stored tombstone has no body");
    } catch (const smallpeer::Error&) {
      // Refused with a message; nothing else to check.
    }
    // Checked in place first (the Big Peer's I/O threads): the same verdict, the same stored body,
    // and a refusal changes nothing.
    smallpeer::Document in_place = incoming;
    bool accepted = false;
    try {
      support::check_incoming(parser, in_place);
      accepted = true;
    } catch (const smallpeer::Error&) {
    }
    require(accepted == stored.has_value(), "checking in place gives checked_incoming's verdict");
    if (accepted) {
      require(in_place.checked, "a document checked in place is marked checked");
      require(support::checked_incoming(parser, in_place).json == stored->json, "a checked document stores the same body");
    } else {
      require(!in_place.checked && in_place.json == incoming.json, "a refused check leaves the document as it was");
    }
  }
  return 0;
}
