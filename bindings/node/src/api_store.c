/* Store: documents, collections, collection sync scopes and observers. */
#include <stdlib.h>

#include "addon.h"
#include "async.h"
#include "callbacks.h"
#include "calls.h"
#include "convert.h"
#include "errors.h"
#include "handles.h"

/* Async calls of the shape f(h, s1[, s2]) with strings named w1, w2 (w2 NULL: one string). */
static napi_value strings_call(napi_env env, napi_callback_info info, const async_op* op, const char* w1, const char* w2) {
  args_t a;
  if (!get_args(env, info, &a, w2 ? 3 : 2)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  char* s1 = get_string(env, a.argv[1], w1);
  if (!s1) return NULL;
  char* s2 = NULL;
  if (w2 && !(s2 = get_string(env, a.argv[2], w2))) {
    free(s1);
    return NULL;
  }
  return async_queue(env, a.argv[0], h, op, s1, s2, 0);
}

static sp_status_t upsert_execute(async_call* c) {
  return sp_store_upsert(c->d, c->s1, c->s2, &c->out_str);
}
static const async_op kUpsert = {upsert_execute, async_resolve_string};

/* storeUpsert(h, collection, documentJSON) -> Promise<id>. */
static napi_value js_store_upsert(napi_env env, napi_callback_info info) {
  return strings_call(env, info, &kUpsert, "collection", "document");
}

static sp_status_t get_execute(async_call* c) {
  return sp_store_get(c->d, c->s1, c->s2, &c->out_str);
}
static const async_op kGet = {get_execute, async_resolve_string};

/* storeGet(h, collection, id) -> Promise<document JSON>. */
static napi_value js_store_get(napi_env env, napi_callback_info info) {
  return strings_call(env, info, &kGet, "collection", "id");
}

static sp_status_t remove_execute(async_call* c) {
  return sp_store_remove(c->d, c->s1, c->s2, &c->out_bool);
}
static const async_op kRemove = {remove_execute, async_resolve_bool};

/* storeRemove(h, collection, id) -> Promise<whether it existed>. */
static napi_value js_store_remove(napi_env env, napi_callback_info info) {
  return strings_call(env, info, &kRemove, "collection", "id");
}

static sp_status_t find_all_execute(async_call* c) {
  return sp_store_find_all(c->d, c->s1, c->i1, c->s2, &c->out_str);
}
static const async_op kFindAll = {find_all_execute, async_resolve_string};

/* storeFindAll(h, collection, limit, afterId | null) -> Promise<page JSON>. */
static napi_value js_store_find_all(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t limit;
  if (!get_args(env, info, &a, 3)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h || !get_int32(env, a.argv[2], "limit", &limit)) return NULL;
  char* coll = get_string(env, a.argv[1], "collection");
  if (!coll) return NULL;
  char* after = NULL;
  if (!is_nullish(env, a.argv[3]) && !(after = get_string(env, a.argv[3], "after"))) {
    free(coll);
    return NULL;
  }
  return async_queue(env, a.argv[0], h, &kFindAll, coll, after, limit);
}

static sp_status_t execute_execute(async_call* c) {
  return sp_store_execute(c->d, c->s1, c->s2, &c->out_str);
}
static const async_op kExecute = {execute_execute, async_resolve_string};

/* storeExecute(h, query, argsJson | null) -> Promise<{"items":[...]} JSON>. */
static napi_value js_store_execute(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 3)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  char* query = get_string(env, a.argv[1], "query");
  if (!query) return NULL;
  char* args_json = NULL;
  if (!is_nullish(env, a.argv[2]) && !(args_json = get_string(env, a.argv[2], "args"))) {
    free(query);
    return NULL;
  }
  return async_queue(env, a.argv[0], h, &kExecute, query, args_json, 0);
}

static sp_status_t collection_names_execute(async_call* c) {
  return sp_store_collection_names(c->d, &c->out_str);
}
static const async_op kCollectionNames = {collection_names_execute, async_resolve_string};

/* storeCollectionNames(h) -> Promise<JSON array>. */
static napi_value js_store_collection_names(napi_env env, napi_callback_info info) {
  return call_async_handle_only(env, info, &kCollectionNames);
}

static sp_status_t set_scope_execute(async_call* c) {
  return sp_store_set_collection_scope(c->d, c->s1, c->i1);
}
static const async_op kSetScope = {set_scope_execute, NULL};

/* storeSetCollectionScope(h, collection, scope) -> Promise<void>. */
static napi_value js_store_set_collection_scope(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t scope;
  if (!get_args(env, info, &a, 3)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h || !get_int32(env, a.argv[2], "scope", &scope)) return NULL;
  char* coll = get_string(env, a.argv[1], "collection");
  if (!coll) return NULL;
  return async_queue(env, a.argv[0], h, &kSetScope, coll, NULL, scope);
}

/* storeGetCollectionScope(h, collection) -> scope (held in memory by the engine: no pool work). */
static napi_value js_store_get_collection_scope(napi_env env, napi_callback_info info) {
  args_t a;
  sp_sync_scope_t scope = 0;
  if (!get_args(env, info, &a, 2)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  char* coll = get_string(env, a.argv[1], "collection");
  if (!coll) return NULL;
  sp_status_t st = sp_store_get_collection_scope(h->d, coll, &scope);
  free(coll);
  return failed(env, st) ? NULL : make_int(env, scope);
}

/* ---- Observers (the callback lifecycle is callbacks.h's) ------------------------------------ */

typedef struct {
  char* collection;
  char* id;
  sp_change_kind_t kind;
  char* document; /* NULL on remove */
} change_event;

static void free_change(void* data) {
  change_event* ev = data;
  if (!ev) return;
  free(ev->collection);
  free(ev->id);
  free(ev->document);
  free(ev);
}

/* JS thread: callback({collection, id, kind, documentJSON}). */
static napi_status deliver_change(napi_env env, napi_value fn, void* data) {
  change_event* ev = data;
  napi_value event, global, result, doc;
  napi_create_object(env, &event);
  napi_set_named_property(env, event, "collection", make_str(env, ev->collection));
  napi_set_named_property(env, event, "id", make_str(env, ev->id));
  napi_set_named_property(env, event, "kind", make_str(env, ev->kind == SP_CHANGE_REMOVE ? "remove" : "upsert"));
  if (ev->document)
    doc = make_str(env, ev->document);
  else
    napi_get_null(env, &doc);
  napi_set_named_property(env, event, "documentJSON", doc);
  napi_get_global(env, &global);
  return napi_call_function(env, global, fn, 1, &event, &result);
}

static const callback_kind kObserverKind = {"observer", "smallpeer observer", &kObserverTag, deliver_change, free_change};

/* Engine thread: copy the change and queue it; never blocks. */
static void on_store_change(void* userdata, const char* collection, const char* id, sp_change_kind_t kind,
                            const char* document_json) {
  change_event* ev = calloc(1, sizeof *ev);
  if (!ev) return;
  ev->collection = dup_or_null(collection);
  ev->id = dup_or_null(id);
  ev->kind = kind;
  ev->document = dup_or_null(document_json);
  js_callback_post(userdata, ev);
}

typedef struct {
  sp_ditto_t* d;
  const char* collection;
} observe_args;

static sp_status_t register_observer(void* arg, js_callback* cb, sp_userdata_free_fn userdata_free, sp_token_t** out_token) {
  observe_args* o = arg;
  return sp_store_observe(o->d, o->collection, on_store_change, cb, userdata_free, out_token);
}

/* The arguments of an observer registration: the open Ditto in argument 0 and the callback last (argc in all);
 * NULL (with a JS exception) if either is wrong. */
static ditto_handle* observer_arguments(napi_env env, napi_callback_info info, args_t* a, size_t argc) {
  if (!get_args(env, info, a, argc)) return NULL;
  ditto_handle* h = get_ditto(env, a->argv[0]);
  if (!h) return NULL;
  if (!is_function(env, a->argv[argc - 1])) {
    throw_invalid_argument(env, "the observer callback must be a function");
    return NULL;
  }
  return h;
}

/* Registers `fn` through `register_fn(arg, ...)` as a change observer of `h` (in JS `ditto_value`): the one way
 * storeObserve and spiObserveFleet make their handle, which keeps the process alive while active. */
static napi_value change_observer_create(napi_env env, ditto_handle* h, napi_value ditto_value, napi_value fn,
                                         callback_register_fn register_fn, void* arg) {
  napi_value obj = js_callback_create(env, &kObserverKind, fn, register_fn, arg, &h->observers, ditto_value);
  if (!obj) return NULL;
  ditto_update_keep_alive(env, h);
  return obj;
}

/* storeObserve(h, collection, callback) -> observer handle; callback({collection, id, kind, documentJSON}). */
static napi_value js_store_observe(napi_env env, napi_callback_info info) {
  args_t a;
  ditto_handle* h = observer_arguments(env, info, &a, 3);
  if (!h) return NULL;
  char* coll = get_string(env, a.argv[1], "collection");
  if (!coll) return NULL;
  observe_args args = {h->d, coll};
  napi_value obj = change_observer_create(env, h, a.argv[0], a.argv[2], register_observer, &args);
  free(coll);
  return obj;
}

static sp_status_t register_fleet_observer(void* arg, js_callback* cb, sp_userdata_free_fn userdata_free,
                                           sp_token_t** out_token) {
  return sp_spi_observe_fleet(arg, on_store_change, cb, userdata_free, out_token);
}

/* spiObserveFleet(h, callback) -> observer handle (the same as storeObserve's); callback({collection, id, kind,
 * documentJSON}) with each device's newest document from either fleet collection. */
static napi_value js_spi_observe_fleet(napi_env env, napi_callback_info info) {
  args_t a;
  ditto_handle* h = observer_arguments(env, info, &a, 2);
  return h ? change_observer_create(env, h, a.argv[0], a.argv[1], register_fleet_observer, h->d) : NULL;
}

static napi_value js_store_observer_cancel(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  js_callback* o = unwrap_tagged(env, a.argv[0], &kObserverTag, "store observer");
  if (!o) return NULL;
  observer_cancel(env, o, false);
  return undefined(env);
}

static napi_value js_store_observer_is_active(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  js_callback* o = unwrap_tagged(env, a.argv[0], &kObserverTag, "store observer");
  return o ? make_bool(env, js_callback_is_active(o)) : NULL;
}

const addon_export kStoreExports[] = {
    {"storeUpsert", js_store_upsert},
    {"storeGet", js_store_get},
    {"storeFindAll", js_store_find_all},
    {"storeExecute", js_store_execute},
    {"storeRemove", js_store_remove},
    {"storeCollectionNames", js_store_collection_names},
    {"storeObserve", js_store_observe},
    {"storeObserverCancel", js_store_observer_cancel},
    {"storeObserverIsActive", js_store_observer_is_active},
    {"spiObserveFleet", js_spi_observe_fleet},
    {"storeSetCollectionScope", js_store_set_collection_scope},
    {"storeGetCollectionScope", js_store_get_collection_scope},
    {NULL, NULL},
};
