// sp_store_*: the document store and each collection's sync scope, as apps see it.
#include "callbacks.h"
#include "common/json.h"
#include "convert.h"
#include "guard.h"
#include "rules/sync_scope.h"

using namespace smallpeer;
using namespace smallpeer::capi;

namespace {
constexpr int32_t kMaxPageSize = 1000;
}

extern "C" {

SP_API sp_status_t sp_store_upsert(sp_ditto_t* ditto, const char* collection, const char* document_json, char** out_id) {
  return guard([&] {
    auto doc = engine(ditto).upsert(required(collection, "collection"), required(document_json, "document_json"));
    if (out_id != nullptr) *out_id = to_c_string(doc.id);
  });
}

SP_API sp_status_t sp_store_get(sp_ditto_t* ditto, const char* collection, const char* id, char** out_json) {
  return guard([&] {
    require_out(out_json, "out_json");
    const auto c = required(collection, "collection");
    const auto i = required(id, "id");
    auto doc = engine(ditto).get(c, i);
    if (!doc) {
      throw Error(ErrorCode::not_found, "no document with _id '" + std::string(i) + "' in collection '" + std::string(c) + "'");
    }
    *out_json = to_c_string(doc->json);
  });
}

SP_API sp_status_t sp_store_find_all(sp_ditto_t* ditto, const char* collection, int32_t limit, const char* after_id,
                                     char** out_json) {
  return guard([&] {
    require_out(out_json, "out_json");
    if (limit < 1 || limit > kMaxPageSize) {
      throw Error(ErrorCode::invalid_argument,
                  "limit must be between 1 and " + std::to_string(kMaxPageSize) + " (got " + std::to_string(limit) + ")");
    }
    auto page = engine(ditto).list(required(collection, "collection"), static_cast<size_t>(limit), after_id ? after_id : "");
    JsonWriter w;
    w.begin_object().key("documents").begin_array();
    for (const auto& d : page.documents) w.raw(d.json);
    w.end_array().key("next_after");
    if (page.next_after) {
      w.value(*page.next_after);
    } else {
      w.null();
    }
    w.end_object();
    *out_json = to_c_string(w.str());
  });
}

SP_API sp_status_t sp_store_execute(sp_ditto_t* ditto, const char* query, const char* args_json, char** out_json) {
  return guard([&] {
    require_out(out_json, "out_json");
    *out_json = to_c_string(
        engine(ditto).execute(required(query, "query"), args_json != nullptr ? required(args_json, "args_json") : ""));
  });
}

SP_API sp_status_t sp_store_remove(sp_ditto_t* ditto, const char* collection, const char* id, bool* out_removed) {
  return guard([&] {
    const bool removed = engine(ditto).remove(required(collection, "collection"), required(id, "id"));
    if (out_removed != nullptr) *out_removed = removed;
  });
}

SP_API sp_status_t sp_store_collection_names(sp_ditto_t* ditto, char** out_json) {
  return guard([&] {
    require_out(out_json, "out_json");
    JsonWriter w;
    w.begin_array();
    for (const auto& name : engine(ditto).collection_names(false)) w.value(name);
    w.end_array();
    *out_json = to_c_string(w.str());
  });
}

SP_API sp_status_t sp_store_observe(sp_ditto_t* ditto, const char* collection, sp_store_observer_fn callback, void* userdata,
                                    sp_userdata_free_fn userdata_free, sp_token_t** out_token) {
  return guard([&] {
    observe_changes(ditto, callback, userdata, userdata_free, out_token, [&](Store::Observer observer) {
      return engine(ditto).observe(std::string(required(collection, "collection")), std::move(observer));
    });
  });
}

SP_API sp_status_t sp_store_set_collection_scope(sp_ditto_t* ditto, const char* collection, sp_sync_scope_t scope) {
  return guard([&] { engine(ditto).set_collection_scope(required(collection, "collection"), sync_scope_from_int(scope)); });
}

SP_API sp_status_t sp_store_get_collection_scope(sp_ditto_t* ditto, const char* collection, sp_sync_scope_t* out_scope) {
  return guard([&] {
    require_out(out_scope, "out_scope");
    *out_scope = static_cast<sp_sync_scope_t>(engine(ditto).collection_scope(required(collection, "collection")));
  });
}

}  // extern "C"
