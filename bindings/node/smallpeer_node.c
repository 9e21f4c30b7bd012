/*
 * smallpeer.node: the N-API addon of the `smallpeer` npm package, written in C over the stable C
 * header only. It converts types and errors; the idiomatic API lives in js/index.js.
 *
 * - Handles are plain objects wrapped with napi_wrap, each class with its own type tag, so passing
 *   an observer where a Ditto is expected is a TypeError, never a wrong cast.
 * - Work that touches disk or network (close, store calls, collect now, log export, SPI scope) runs
 *   on the libuv thread pool through napi_async_work and returns a Promise.
 * - Engine-thread callbacks (store observers, the log callback) are queued with non-blocking calls
 *   on unbounded thread-safe functions, so an engine thread never waits for the JS thread (and
 *   sp_token_free on the JS thread can never deadlock against a callback in progress).
 * - Keeping the process alive: only an open Ditto with sync running or with active observers
 *   holds a reference on the event loop (one thread-safe function per Ditto, ref'd while needed),
 *   and a strong reference to its handle object, so garbage collection cannot stop it either.
 *   close() drops both, cancels the observers and releases their thread-safe functions.
 * - GC finalizers only free native memory, call the C library (sp_ditto_free) and use the N-API
 *   calls allowed there (thread-safe function release/unref); they never call into JavaScript or
 *   delete references. A failed C call becomes a DittoError carrying `code` and `status`.
 */
#include <math.h>
#include <node_api.h>
#include <smallpeer/smallpeer.h>
#include <smallpeer/smallpeer_diagnostics.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Type tags: one per handle class ---------------------------------------------------- */

static const napi_type_tag kDittoTag = {0x5a1e9e3f7c0d4b21ULL, 0x9d8e3c1b2a4f6e01ULL};
static const napi_type_tag kObserverTag = {0x5a1e9e3f7c0d4b21ULL, 0x9d8e3c1b2a4f6e02ULL};
static const napi_type_tag kLogCallbackTag = {0x5a1e9e3f7c0d4b21ULL, 0x9d8e3c1b2a4f6e03ULL};

/* ---- Per-environment state ---------------------------------------------------------------- */

typedef struct ditto_handle ditto_handle;
typedef struct observer observer;
typedef struct log_callback log_callback;

/* One per napi_env (main thread or worker); everything in it is touched on that env's JS thread only. */
typedef struct {
  napi_ref error_class;  /* the DittoError constructor from index.js, or NULL */
  ditto_handle* dittos;  /* every Ditto handle not yet finalized */
  log_callback* loggers; /* every registered log callback not yet removed */
} addon_state;

struct ditto_handle {
  sp_ditto_t* d;                  /* NULL once freed */
  bool closing;                   /* close() was called: every later call fails with SP_ERR_CLOSED */
  bool sync_running;              /* sync started through this binding and not stopped */
  napi_ref sync_ref;              /* keeps the handle object (so the engine) alive while sync runs */
  int inflight;                   /* queued async calls that still use d */
  observer* observers;            /* active observers */
  napi_threadsafe_function alive; /* ref'd while sync runs or observers are active; NULL once released */
  bool alive_refd;
  int refs; /* the JS wrapper and the keep-alive tsfn each hold one */
  addon_state* state;
  ditto_handle* next;
};

struct observer {
  sp_token_t* token;             /* NULL once cancelled: the engine no longer calls in */
  napi_threadsafe_function tsfn; /* delivers changes to the JS callback; NULL once released */
  napi_ref owner_ref;            /* keeps the Ditto object alive while observing */
  ditto_handle* owner;           /* NULL once detached from the Ditto's list */
  int refs;                      /* the JS wrapper and the tsfn each hold one */
  observer* next;
};

struct log_callback {
  sp_token_t* token;
  napi_threadsafe_function tsfn;
  int refs; /* the JS wrapper and the tsfn each hold one */
  addon_state* state;
  log_callback* next;
};

/* ---- Errors -------------------------------------------------------------------------------- */

static const char* status_name(sp_status_t status) {
  switch (status) {
    case SP_ERR_INVALID_ARGUMENT:
      return "SP_ERR_INVALID_ARGUMENT";
    case SP_ERR_VALIDATION:
      return "SP_ERR_VALIDATION";
    case SP_ERR_NOT_FOUND:
      return "SP_ERR_NOT_FOUND";
    case SP_ERR_CLOSED:
      return "SP_ERR_CLOSED";
    case SP_ERR_IO:
      return "SP_ERR_IO";
    case SP_ERR_LOCKED:
      return "SP_ERR_LOCKED";
    case SP_ERR_STORE:
      return "SP_ERR_STORE";
    case SP_ERR_INTERNAL:
      return "SP_ERR_INTERNAL";
    default:
      return "SP_ERR_UNKNOWN";
  }
}

static addon_state* get_state(napi_env env) {
  void* data = NULL;
  napi_get_instance_data(env, &data);
  return (addon_state*)data;
}

/* Builds the DittoError for a failed C call (a plain Error with code and status before index.js registers the class). */
static napi_value make_sp_error(napi_env env, sp_status_t status, const char* message) {
  napi_value msg, code, st, err = NULL;
  const char* text = (message && *message) ? message : status_name(status);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, status_name(status), NAPI_AUTO_LENGTH, &code);
  napi_create_int32(env, status, &st);
  addon_state* state = get_state(env);
  napi_value ctor;
  if (state && state->error_class && napi_get_reference_value(env, state->error_class, &ctor) == napi_ok && ctor) {
    napi_value argv[3] = {msg, code, st};
    if (napi_new_instance(env, ctor, 3, argv, &err) != napi_ok) err = NULL;
  }
  if (!err) {
    napi_create_error(env, code, msg, &err);
    napi_set_named_property(env, err, "status", st);
  }
  return err;
}

static void throw_sp_error(napi_env env, sp_status_t status, const char* message) {
  napi_throw(env, make_sp_error(env, status, message));
}

/* Throws for a failed C call on this thread; returns true if it threw. */
static bool failed(napi_env env, sp_status_t status) {
  if (status == SP_OK) return false;
  throw_sp_error(env, status, sp_last_error_message());
  return true;
}

static void throw_type(napi_env env, const char* message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
}

/* ---- Argument helpers (each returns false after throwing) ------------------------------------ */

#define MAX_ARGS 4

typedef struct {
  size_t argc;
  napi_value argv[MAX_ARGS];
} args_t;

static bool get_args(napi_env env, napi_callback_info info, args_t* a, size_t required) {
  a->argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, NULL, NULL) != napi_ok) return false;
  if (a->argc < required) {
    char buf[96];
    snprintf(buf, sizeof buf, "expected %zu argument(s), got %zu", required, a->argc);
    throw_type(env, buf);
    return false;
  }
  for (size_t i = a->argc; i < MAX_ARGS; ++i) napi_get_undefined(env, &a->argv[i]);
  return true;
}

static bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_null || t == napi_undefined;
}

/* A malloc'd UTF-8 copy of a JS string argument; NULL after throwing. */
static char* get_string(napi_env env, napi_value v, const char* what) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s must be a string", what);
    throw_type(env, buf);
    return NULL;
  }
  char* s = malloc(len + 1);
  if (!s) {
    napi_throw_error(env, "ERR_MEMORY", "out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  if (strlen(s) != len) { /* C would cut the string at its first NUL */
    free(s);
    char buf[128];
    snprintf(buf, sizeof buf, "%s must not contain NUL characters", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", buf);
    return NULL;
  }
  return s;
}

static bool get_bool(napi_env env, napi_value v, const char* what, bool* out) {
  if (napi_get_value_bool(env, v, out) == napi_ok) return true;
  char buf[128];
  snprintf(buf, sizeof buf, "%s must be a boolean", what);
  throw_type(env, buf);
  return false;
}

static bool get_int64(napi_env env, napi_value v, const char* what, int64_t* out) {
  double d;
  /* Range first: converting NaN or a double beyond int64's range is undefined behaviour in C. */
  if (napi_get_value_double(env, v, &d) == napi_ok && isfinite(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
      d == (double)(int64_t)d) {
    *out = (int64_t)d;
    return true;
  }
  char buf[128];
  snprintf(buf, sizeof buf, "%s must be an integer", what);
  throw_type(env, buf);
  return false;
}

static bool get_int32(napi_env env, napi_value v, const char* what, int32_t* out) {
  int64_t x;
  if (!get_int64(env, v, what, &x)) return false;
  if (x < INT32_MIN || x > INT32_MAX) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s is out of range", what);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", buf);
    return false;
  }
  *out = (int32_t)x;
  return true;
}

/* Unwraps a handle after checking its type tag; NULL after throwing. */
static void* unwrap_tagged(napi_env env, napi_value v, const napi_type_tag* tag, const char* what) {
  napi_valuetype t;
  bool ok = false;
  void* p = NULL;
  if (napi_typeof(env, v, &t) == napi_ok && t == napi_object && napi_check_object_type_tag(env, v, tag, &ok) == napi_ok && ok &&
      napi_unwrap(env, v, &p) == napi_ok && p)
    return p;
  char buf[128];
  snprintf(buf, sizeof buf, "expected a %s handle", what);
  throw_type(env, buf);
  return NULL;
}

static ditto_handle* get_ditto_any(napi_env env, napi_value v) {
  return unwrap_tagged(env, v, &kDittoTag, "Ditto");
}

/* An open Ditto handle; a closed one throws SP_ERR_CLOSED. */
static ditto_handle* get_ditto(napi_env env, napi_value v) {
  ditto_handle* h = get_ditto_any(env, v);
  if (h && (h->closing || !h->d)) {
    throw_sp_error(env, SP_ERR_CLOSED, "the Ditto instance is closed");
    return NULL;
  }
  return h;
}

/* ---- Returning values ---------------------------------------------------------------------- */

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static napi_value make_bool(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

static napi_value make_int(napi_env env, int64_t x) {
  napi_value v;
  napi_create_int64(env, x, &v);
  return v;
}

static napi_value make_str(napi_env env, const char* s) {
  napi_value v;
  napi_create_string_utf8(env, s ? s : "", NAPI_AUTO_LENGTH, &v);
  return v;
}

/* Returns a C-owned string as a JS string and frees it with sp_free. */
static napi_value take_str(napi_env env, char* s) {
  napi_value v = make_str(env, s);
  sp_free(s);
  return v;
}

/* ---- Keeping the event loop alive ------------------------------------------------------------ */

/* JS thread: sync stopped or the Ditto closing; the handle may be collected again. */
static void drop_sync_ref(napi_env env, ditto_handle* h) {
  if (h->sync_ref) napi_delete_reference(env, h->sync_ref);
  h->sync_ref = NULL;
  h->sync_running = false;
}

static void update_alive(napi_env env, ditto_handle* h) {
  if (!h->alive) return;
  bool want = !h->closing && (h->sync_running || h->observers != NULL);
  if (want && !h->alive_refd) napi_ref_threadsafe_function(env, h->alive);
  if (!want && h->alive_refd) napi_unref_threadsafe_function(env, h->alive);
  h->alive_refd = want;
}

/* ---- Observers ----------------------------------------------------------------------------- */

typedef struct {
  char* collection;
  char* id;
  sp_change_kind_t kind;
  char* document; /* NULL on remove */
} change_event;

static char* dup_or_null(const char* s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char* c = malloc(n);
  if (c) memcpy(c, s, n);
  return c;
}

static void free_change(change_event* ev) {
  if (!ev) return;
  free(ev->collection);
  free(ev->id);
  free(ev->document);
  free(ev);
}

static void observer_unref(observer* o) {
  if (--o->refs == 0) free(o);
}

/* Engine thread: copy the change and queue it; never blocks. */
static void on_store_change(void* userdata, const char* collection, const char* id, sp_change_kind_t kind,
                            const char* document_json) {
  observer* o = userdata;
  change_event* ev = calloc(1, sizeof *ev);
  if (!ev) return;
  ev->collection = dup_or_null(collection);
  ev->id = dup_or_null(id);
  ev->kind = kind;
  ev->document = dup_or_null(document_json);
  if (napi_call_threadsafe_function(o->tsfn, ev, napi_tsfn_nonblocking) != napi_ok) free_change(ev);
}

/* If a JS callback threw, report it like any other uncaught exception. */
static void report_callback_exception(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) return;
  napi_value exc;
  napi_get_and_clear_last_exception(env, &exc);
  napi_fatal_exception(env, exc);
}

/* JS thread: deliver one change, unless the observer was cancelled after it was queued. */
static void observer_call_js(napi_env env, napi_value js_cb, void* context, void* data) {
  observer* o = context;
  change_event* ev = data;
  if (env && js_cb && o->token) {
    napi_value event, global, result;
    napi_create_object(env, &event);
    napi_set_named_property(env, event, "collection", make_str(env, ev->collection));
    napi_set_named_property(env, event, "id", make_str(env, ev->id));
    napi_set_named_property(env, event, "kind", make_str(env, ev->kind == SP_CHANGE_REMOVE ? "remove" : "upsert"));
    napi_value doc;
    if (ev->document)
      doc = make_str(env, ev->document);
    else
      napi_get_null(env, &doc);
    napi_set_named_property(env, event, "documentJSON", doc);
    napi_get_global(env, &global);
    if (napi_call_function(env, global, js_cb, 1, &event, &result) != napi_ok) report_callback_exception(env);
  }
  free_change(ev);
}

static void observer_unlink(observer* o) {
  ditto_handle* h = o->owner;
  if (!h) return;
  for (observer** p = &h->observers; *p; p = &(*p)->next) {
    if (*p == o) {
      *p = o->next;
      break;
    }
  }
  o->next = NULL;
  o->owner = NULL;
}

/* Normally after cancel; with the token still set only at environment teardown, where Node closes
 * thread-safe functions itself: stop the engine calling in before this tsfn is deleted. */
static void observer_tsfn_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  observer* o = data;
  if (o->token) {
    sp_token_free(o->token);
    o->token = NULL;
  }
  o->tsfn = NULL;
  observer_unlink(o);
  observer_unref(o);
}

/* JS thread: stop an observer; after this its callback never runs again. From a GC finalizer
 * (`in_finalizer`), napi_delete_reference is not allowed: the reference is left to the env. */
static void observer_cancel(napi_env env, observer* o, bool in_finalizer) {
  if (o->token) {
    sp_token_t* token = o->token;
    o->token = NULL;
    sp_token_free(token); /* waits only for a queue push in progress */
  }
  if (o->tsfn) {
    napi_threadsafe_function tsfn = o->tsfn;
    o->tsfn = NULL;
    napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  }
  ditto_handle* h = o->owner;
  observer_unlink(o);
  if (o->owner_ref && !in_finalizer) napi_delete_reference(env, o->owner_ref);
  o->owner_ref = NULL;
  if (h) update_alive(env, h);
}

static void observer_wrapper_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  observer_unref(data);
}

/* ---- Ditto handle lifetime ----------------------------------------------------------------- */

static void cancel_observers(napi_env env, ditto_handle* h, bool in_finalizer) {
  while (h->observers) observer_cancel(env, h->observers, in_finalizer);
}

static void unlink_ditto(ditto_handle* h) {
  if (!h->state) return;
  for (ditto_handle** p = &h->state->dittos; *p; p = &(*p)->next) {
    if (*p == h) {
      *p = h->next;
      break;
    }
  }
  h->state = NULL;
}

/* Frees the C handle once closed and no queued call uses it. */
static void maybe_free_closed(ditto_handle* h) {
  if (h->closing && h->inflight == 0 && h->d) {
    sp_ditto_free(h->d);
    h->d = NULL;
  }
}

static void ditto_unref(ditto_handle* h) {
  if (--h->refs == 0) free(h);
}

static void alive_call_js(napi_env env, napi_value js_cb, void* context, void* data) {
  (void)env;
  (void)js_cb;
  (void)context;
  (void)data;
}

static void alive_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  ditto_handle* h = data;
  h->alive = NULL;
  ditto_unref(h);
}

static void release_alive(napi_env env, ditto_handle* h) {
  if (!h->alive) return;
  napi_threadsafe_function alive = h->alive;
  if (h->alive_refd) napi_unref_threadsafe_function(env, alive);
  h->alive_refd = false;
  h->alive = NULL;
  napi_release_threadsafe_function(alive, napi_tsfn_release);
}

/* Fallback when close() was never called: releases the C handle (no JavaScript is touched). */
static void ditto_finalize(napi_env env, void* data, void* hint) {
  (void)hint;
  ditto_handle* h = data;
  h->closing = true;
  cancel_observers(env, h, true); /* none outside env teardown: each observer keeps its Ditto reachable */
  h->sync_ref = NULL;             /* likewise; a finalizer may not delete references */
  release_alive(env, h);
  unlink_ditto(h);
  if (h->d && h->inflight == 0) sp_ditto_free(h->d);
  h->d = NULL;
  ditto_unref(h);
}

/* ---- Async calls --------------------------------------------------------------------------- */

typedef enum {
  OP_CLOSE,
  OP_SPI_SET_SCOPE,
  OP_SPI_GET_SCOPE,
  OP_SPI_COLLECT_NOW,
  OP_SPI_GET_DOCUMENT,
  OP_STORE_UPSERT,
  OP_STORE_GET,
  OP_STORE_FIND_ALL,
  OP_STORE_REMOVE,
  OP_STORE_COLLECTION_NAMES,
  OP_STORE_SET_SCOPE,
  OP_STORE_GET_SCOPE,
  OP_EXPORT_LOGS,
  OP_SEND_LOGS,
} op_t;

typedef enum { RESULT_UNDEFINED, RESULT_STRING, RESULT_BOOL, RESULT_INT } result_kind;

typedef struct {
  op_t op;
  ditto_handle* h;
  sp_ditto_t* d;
  napi_ref handle_ref; /* keeps the Ditto object (and so d) alive while queued */
  napi_deferred deferred;
  napi_async_work work;
  char *s1, *s2, *s3; /* string arguments */
  int32_t i1;
  /* result */
  sp_status_t status;
  char* message;
  result_kind kind;
  char* out_str; /* owned by the C library: sp_free */
  bool out_bool;
  int64_t out_int;
} async_call;

static void async_execute(napi_env env, void* data) {
  (void)env;
  async_call* c = data;
  sp_status_t st = SP_OK;
  sp_sync_scope_t scope = 0;
  uint64_t lines = 0;
  switch (c->op) {
    case OP_CLOSE:
      st = sp_ditto_close(c->d);
      break;
    case OP_SPI_SET_SCOPE:
      st = sp_spi_set_sync_scope(c->d, c->i1);
      break;
    case OP_SPI_GET_SCOPE:
      st = sp_spi_get_sync_scope(c->d, &scope);
      c->kind = RESULT_INT;
      c->out_int = scope;
      break;
    case OP_SPI_COLLECT_NOW:
      st = sp_spi_collect_now(c->d, &c->out_str);
      c->kind = RESULT_STRING;
      break;
    case OP_SPI_GET_DOCUMENT:
      st = sp_spi_get_document(c->d, &c->out_str);
      c->kind = RESULT_STRING;
      break;
    case OP_STORE_UPSERT:
      st = sp_store_upsert(c->d, c->s1, c->s2, &c->out_str);
      c->kind = RESULT_STRING;
      break;
    case OP_STORE_GET:
      st = sp_store_get(c->d, c->s1, c->s2, &c->out_str);
      c->kind = RESULT_STRING;
      break;
    case OP_STORE_FIND_ALL:
      st = sp_store_find_all(c->d, c->s1, c->i1, c->s2, &c->out_str);
      c->kind = RESULT_STRING;
      break;
    case OP_STORE_REMOVE:
      st = sp_store_remove(c->d, c->s1, c->s2, &c->out_bool);
      c->kind = RESULT_BOOL;
      break;
    case OP_STORE_COLLECTION_NAMES:
      st = sp_store_collection_names(c->d, &c->out_str);
      c->kind = RESULT_STRING;
      break;
    case OP_STORE_SET_SCOPE:
      st = sp_store_set_collection_scope(c->d, c->s1, c->i1);
      break;
    case OP_STORE_GET_SCOPE:
      st = sp_store_get_collection_scope(c->d, c->s1, &scope);
      c->kind = RESULT_INT;
      c->out_int = scope;
      break;
    case OP_EXPORT_LOGS:
      st = sp_ditto_export_logs(c->d, c->s1, c->s2, &lines);
      c->kind = RESULT_INT;
      c->out_int = (int64_t)lines;
      break;
    case OP_SEND_LOGS:
      st = sp_ditto_send_logs(c->d, c->s1, &c->out_str);
      c->kind = RESULT_STRING;
      break;
  }
  c->status = st;
  if (st != SP_OK) c->message = dup_or_null(sp_last_error_message()); /* thread-local: read it here */
}

static void async_complete(napi_env env, napi_status work_status, void* data) {
  async_call* c = data;
  ditto_handle* h = c->h;
  h->inflight--;
  if (work_status == napi_cancelled) {
    c->status = SP_ERR_INTERNAL;
    free(c->message);
    c->message = dup_or_null("the call was cancelled");
  }
  if (c->status != SP_OK) {
    napi_reject_deferred(env, c->deferred, make_sp_error(env, c->status, c->message));
  } else {
    napi_value v;
    switch (c->kind) {
      case RESULT_STRING:
        v = make_str(env, c->out_str);
        break;
      case RESULT_BOOL:
        v = make_bool(env, c->out_bool);
        break;
      case RESULT_INT:
        v = make_int(env, c->out_int);
        break;
      default:
        v = undefined(env);
        break;
    }
    napi_resolve_deferred(env, c->deferred, v);
  }
  sp_free(c->out_str);
  maybe_free_closed(h);
  napi_delete_reference(env, c->handle_ref);
  napi_delete_async_work(env, c->work);
  free(c->s1);
  free(c->s2);
  free(c->s3);
  free(c->message);
  free(c);
}

/* Queues c (whose strings it now owns) and returns its Promise; frees c and returns NULL after throwing. */
static napi_value queue_call(napi_env env, napi_value handle_obj, ditto_handle* h, async_call* c) {
  napi_value promise, name;
  c->h = h;
  c->d = h->d;
  napi_create_string_utf8(env, "smallpeer", NAPI_AUTO_LENGTH, &name);
  if (napi_create_promise(env, &c->deferred, &promise) != napi_ok ||
      napi_create_async_work(env, NULL, name, async_execute, async_complete, c, &c->work) != napi_ok) {
    free(c->s1);
    free(c->s2);
    free(c->s3);
    free(c);
    return NULL;
  }
  napi_create_reference(env, handle_obj, 1, &c->handle_ref);
  h->inflight++;
  napi_queue_async_work(env, c->work);
  return promise;
}

static async_call* new_call(napi_env env, op_t op) {
  async_call* c = calloc(1, sizeof *c);
  if (!c)
    napi_throw_error(env, "ERR_MEMORY", "out of memory");
  else
    c->op = op;
  return c;
}

/* ---- Library ------------------------------------------------------------------------------- */

static napi_value js_version(napi_env env, napi_callback_info info) {
  (void)info;
  return make_str(env, sp_version());
}

static napi_value js_abi_version(napi_env env, napi_callback_info info) {
  (void)info;
  return make_int(env, sp_abi_version());
}

static napi_value js_live_handles(napi_env env, napi_callback_info info) {
  (void)info;
  return make_int(env, sp_ditto_live_handles());
}

/* setErrorClass(DittoError): failed calls then throw instances of it (new DittoError(message, code, status)). */
static napi_value js_set_error_class(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  napi_valuetype t;
  napi_typeof(env, a.argv[0], &t);
  if (t != napi_function) {
    throw_type(env, "the error class must be a constructor");
    return NULL;
  }
  addon_state* state = get_state(env);
  if (state->error_class) napi_delete_reference(env, state->error_class);
  napi_create_reference(env, a.argv[0], 1, &state->error_class);
  return undefined(env);
}

/* ---- Ditto --------------------------------------------------------------------------------- */

/* open(configJSON) -> Ditto handle. */
static napi_value js_open(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  char* config = get_string(env, a.argv[0], "config");
  if (!config) return NULL;
  sp_ditto_t* d = NULL;
  sp_status_t st = sp_ditto_open(config, &d);
  free(config);
  if (failed(env, st)) return NULL;
  ditto_handle* h = calloc(1, sizeof *h);
  napi_value obj, name;
  if (!h) {
    sp_ditto_free(d);
    napi_throw_error(env, "ERR_MEMORY", "out of memory");
    return NULL;
  }
  h->d = d;
  h->refs = 1;
  napi_create_object(env, &obj);
  napi_create_string_utf8(env, "smallpeer keep-alive", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, h, alive_finalize, NULL, alive_call_js, &h->alive) !=
      napi_ok) {
    sp_ditto_free(d);
    free(h);
    napi_throw_error(env, "ERR_NAPI", "could not create the Ditto handle");
    return NULL;
  }
  h->refs = 2;
  napi_unref_threadsafe_function(env, h->alive);
  if (napi_type_tag_object(env, obj, &kDittoTag) != napi_ok || napi_wrap(env, obj, h, ditto_finalize, NULL, NULL) != napi_ok) {
    release_alive(env, h);
    sp_ditto_free(d);
    h->d = NULL;
    ditto_unref(h);
    napi_throw_error(env, "ERR_NAPI", "could not create the Ditto handle");
    return NULL;
  }
  addon_state* state = get_state(env);
  h->state = state;
  h->next = state->dittos;
  state->dittos = h;
  return obj;
}

/* close(h) -> Promise<void>: cancels observers now, closes off the JS thread, frees the C handle after. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto_any(env, a.argv[0]);
  if (!h) return NULL;
  if (h->closing) {
    napi_deferred deferred;
    napi_value promise;
    napi_create_promise(env, &deferred, &promise);
    napi_resolve_deferred(env, deferred, undefined(env));
    return promise;
  }
  async_call* c = new_call(env, OP_CLOSE);
  if (!c) return NULL;
  napi_value p = queue_call(env, a.argv[0], h, c);
  if (!p) return NULL;
  h->closing = true;
  cancel_observers(env, h, false);
  drop_sync_ref(env, h);
  release_alive(env, h);
  return p;
}

static napi_value js_is_closed(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto_any(env, a.argv[0]);
  return h ? make_bool(env, h->closing) : NULL;
}

static napi_value js_peer_key(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  char* key = NULL;
  return failed(env, sp_ditto_peer_key(h->d, &key)) ? NULL : take_str(env, key);
}

/* ---- Small Peer Info ----------------------------------------------------------------------- */

static napi_value js_spi_set_enabled(napi_env env, napi_callback_info info) {
  args_t a;
  bool on;
  if (!get_args(env, info, &a, 2)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h || !get_bool(env, a.argv[1], "isEnabled", &on)) return NULL;
  return failed(env, sp_spi_set_enabled(h->d, on)) ? NULL : undefined(env);
}

static napi_value js_spi_get_enabled(napi_env env, napi_callback_info info) {
  args_t a;
  bool on = false;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  return failed(env, sp_spi_get_enabled(h->d, &on)) ? NULL : make_bool(env, on);
}

static napi_value js_spi_set_sync_scope(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t scope;
  if (!get_args(env, info, &a, 2)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h || !get_int32(env, a.argv[1], "scope", &scope)) return NULL;
  async_call* c = new_call(env, OP_SPI_SET_SCOPE);
  if (!c) return NULL;
  c->i1 = scope;
  return queue_call(env, a.argv[0], h, c);
}

/* Async calls that take only the handle. */
static napi_value handle_only_call(napi_env env, napi_callback_info info, op_t op) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  async_call* c = new_call(env, op);
  return c ? queue_call(env, a.argv[0], h, c) : NULL;
}

static napi_value js_spi_get_sync_scope(napi_env env, napi_callback_info info) {
  return handle_only_call(env, info, OP_SPI_GET_SCOPE);
}
static napi_value js_spi_collect_now(napi_env env, napi_callback_info info) {
  return handle_only_call(env, info, OP_SPI_COLLECT_NOW);
}
static napi_value js_spi_get_document(napi_env env, napi_callback_info info) {
  return handle_only_call(env, info, OP_SPI_GET_DOCUMENT);
}
static napi_value js_store_collection_names(napi_env env, napi_callback_info info) {
  return handle_only_call(env, info, OP_STORE_COLLECTION_NAMES);
}

/* Sync calls of the shape f(h, string). */
static napi_value set_string(napi_env env, napi_callback_info info, sp_status_t (*fn)(sp_ditto_t*, const char*),
                             const char* what) {
  args_t a;
  if (!get_args(env, info, &a, 2)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  char* s = get_string(env, a.argv[1], what);
  if (!s) return NULL;
  sp_status_t st = fn(h->d, s);
  free(s);
  return failed(env, st) ? NULL : undefined(env);
}

/* Sync calls of the shape f(h, &string). */
static napi_value get_string_out(napi_env env, napi_callback_info info, sp_status_t (*fn)(sp_ditto_t*, char**)) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  char* out = NULL;
  return failed(env, fn(h->d, &out)) ? NULL : take_str(env, out);
}

static napi_value js_spi_set_metadata_json(napi_env env, napi_callback_info info) {
  return set_string(env, info, sp_spi_set_metadata_json, "metadataJSONString");
}
static napi_value js_spi_get_metadata_json(napi_env env, napi_callback_info info) {
  return get_string_out(env, info, sp_spi_get_metadata_json);
}
static napi_value js_spi_set_device_name(napi_env env, napi_callback_info info) {
  return set_string(env, info, sp_spi_set_device_name, "deviceName");
}
static napi_value js_spi_get_device_name(napi_env env, napi_callback_info info) {
  return get_string_out(env, info, sp_spi_get_device_name);
}

static napi_value js_spi_set_collection_interval_ms(napi_env env, napi_callback_info info) {
  args_t a;
  int64_t ms;
  if (!get_args(env, info, &a, 2)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h || !get_int64(env, a.argv[1], "collectionInterval", &ms)) return NULL;
  return failed(env, sp_spi_set_collection_interval_ms(h->d, ms)) ? NULL : undefined(env);
}

static napi_value js_spi_get_collection_interval_ms(napi_env env, napi_callback_info info) {
  args_t a;
  int64_t ms = 0;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  return failed(env, sp_spi_get_collection_interval_ms(h->d, &ms)) ? NULL : make_int(env, ms);
}

/* ---- Store --------------------------------------------------------------------------------- */

/* Async calls of the shape f(h, s1[, s2]) with strings named w1, w2 (w2 NULL: one string). */
static napi_value strings_call(napi_env env, napi_callback_info info, op_t op, const char* w1, const char* w2) {
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
  async_call* c = new_call(env, op);
  if (!c) {
    free(s1);
    free(s2);
    return NULL;
  }
  c->s1 = s1;
  c->s2 = s2;
  return queue_call(env, a.argv[0], h, c);
}

static napi_value js_store_upsert(napi_env env, napi_callback_info info) {
  return strings_call(env, info, OP_STORE_UPSERT, "collection", "document");
}
static napi_value js_store_get(napi_env env, napi_callback_info info) {
  return strings_call(env, info, OP_STORE_GET, "collection", "id");
}
static napi_value js_store_remove(napi_env env, napi_callback_info info) {
  return strings_call(env, info, OP_STORE_REMOVE, "collection", "id");
}
static napi_value js_store_get_collection_scope(napi_env env, napi_callback_info info) {
  return strings_call(env, info, OP_STORE_GET_SCOPE, "collection", NULL);
}

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
  async_call* c = new_call(env, OP_STORE_FIND_ALL);
  if (!c) {
    free(coll);
    free(after);
    return NULL;
  }
  c->s1 = coll;
  c->s2 = after;
  c->i1 = limit;
  return queue_call(env, a.argv[0], h, c);
}

static napi_value js_store_set_collection_scope(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t scope;
  if (!get_args(env, info, &a, 3)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h || !get_int32(env, a.argv[2], "scope", &scope)) return NULL;
  char* coll = get_string(env, a.argv[1], "collection");
  if (!coll) return NULL;
  async_call* c = new_call(env, OP_STORE_SET_SCOPE);
  if (!c) {
    free(coll);
    return NULL;
  }
  c->s1 = coll;
  c->i1 = scope;
  return queue_call(env, a.argv[0], h, c);
}

/* storeObserve(h, collection, callback) -> observer handle; callback({collection, id, kind, documentJSON}). */
static napi_value js_store_observe(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 3)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  napi_valuetype t;
  napi_typeof(env, a.argv[2], &t);
  if (t != napi_function) {
    throw_type(env, "the observer callback must be a function");
    return NULL;
  }
  char* coll = get_string(env, a.argv[1], "collection");
  if (!coll) return NULL;
  observer* o = calloc(1, sizeof *o);
  napi_value obj, name;
  if (!o) {
    free(coll);
    napi_throw_error(env, "ERR_MEMORY", "out of memory");
    return NULL;
  }
  o->owner = h;
  o->refs = 2;
  napi_create_string_utf8(env, "smallpeer observer", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, a.argv[2], NULL, name, 0, 1, o, observer_tsfn_finalize, o, observer_call_js,
                                      &o->tsfn) != napi_ok) {
    free(coll);
    free(o);
    napi_throw_error(env, "ERR_NAPI", "could not create the observer's thread-safe function");
    return NULL;
  }
  napi_unref_threadsafe_function(env, o->tsfn); /* the Ditto's keep-alive decides */
  sp_status_t st = sp_store_observe(h->d, coll, on_store_change, o, NULL, &o->token);
  free(coll);
  if (st != SP_OK) {
    napi_value err = make_sp_error(env, st, sp_last_error_message());
    o->refs = 1; /* no wrapper: only the tsfn's reference remains */
    o->owner = NULL;
    napi_release_threadsafe_function(o->tsfn, napi_tsfn_release);
    o->tsfn = NULL;
    napi_throw(env, err);
    return NULL;
  }
  napi_create_object(env, &obj);
  napi_type_tag_object(env, obj, &kObserverTag);
  napi_wrap(env, obj, o, observer_wrapper_finalize, NULL, NULL);
  napi_create_reference(env, a.argv[0], 1, &o->owner_ref);
  o->next = h->observers;
  h->observers = o;
  update_alive(env, h);
  return obj;
}

static napi_value js_store_observer_cancel(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  observer* o = unwrap_tagged(env, a.argv[0], &kObserverTag, "store observer");
  if (!o) return NULL;
  observer_cancel(env, o, false);
  return undefined(env);
}

static napi_value js_store_observer_is_active(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  observer* o = unwrap_tagged(env, a.argv[0], &kObserverTag, "store observer");
  return o ? make_bool(env, o->token != NULL) : NULL;
}

/* ---- Sync ---------------------------------------------------------------------------------- */

static napi_value js_sync_set_transport_config(napi_env env, napi_callback_info info) {
  return set_string(env, info, sp_sync_set_transport_config, "transport config");
}
static napi_value js_sync_get_transport_config(napi_env env, napi_callback_info info) {
  return get_string_out(env, info, sp_sync_get_transport_config);
}

static napi_value js_sync_start(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h || failed(env, sp_sync_start(h->d))) return NULL;
  h->sync_running = true;
  if (!h->sync_ref) napi_create_reference(env, a.argv[0], 1, &h->sync_ref);
  update_alive(env, h);
  return undefined(env);
}

static napi_value js_sync_stop(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h || failed(env, sp_sync_stop(h->d))) return NULL;
  drop_sync_ref(env, h);
  update_alive(env, h);
  return undefined(env);
}

static napi_value js_sync_is_running(napi_env env, napi_callback_info info) {
  args_t a;
  bool running = false;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  return failed(env, sp_sync_is_running(h->d, &running)) ? NULL : make_bool(env, running);
}

static napi_value js_sync_lan_port(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t port = 0;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  return failed(env, sp_sync_lan_port(h->d, &port)) ? NULL : make_int(env, port);
}

/* ---- Presence ------------------------------------------------------------------------------ */

static napi_value js_presence_json(napi_env env, napi_callback_info info) {
  return get_string_out(env, info, sp_presence_get_json);
}

/* ---- Logger -------------------------------------------------------------------------------- */

static napi_value js_logger_set_enabled(napi_env env, napi_callback_info info) {
  args_t a;
  bool on;
  if (!get_args(env, info, &a, 1) || !get_bool(env, a.argv[0], "enabled", &on)) return NULL;
  return failed(env, sp_logger_set_enabled(on)) ? NULL : undefined(env);
}

static napi_value js_logger_get_enabled(napi_env env, napi_callback_info info) {
  (void)info;
  bool on = false;
  return failed(env, sp_logger_get_enabled(&on)) ? NULL : make_bool(env, on);
}

static napi_value js_logger_set_minimum_level(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t level;
  if (!get_args(env, info, &a, 1) || !get_int32(env, a.argv[0], "level", &level)) return NULL;
  return failed(env, sp_logger_set_minimum_level(level)) ? NULL : undefined(env);
}

static napi_value js_logger_get_minimum_level(napi_env env, napi_callback_info info) {
  (void)info;
  sp_log_level_t level = 0;
  return failed(env, sp_logger_get_minimum_level(&level)) ? NULL : make_int(env, level);
}

static napi_value js_logger_set_log_file(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  char* path = NULL;
  if (!is_nullish(env, a.argv[0]) && !(path = get_string(env, a.argv[0], "path"))) return NULL;
  sp_status_t st = sp_logger_set_log_file(path);
  free(path);
  return failed(env, st) ? NULL : undefined(env);
}

static napi_value js_logger_set_console_enabled(napi_env env, napi_callback_info info) {
  args_t a;
  bool on;
  if (!get_args(env, info, &a, 1) || !get_bool(env, a.argv[0], "enabled", &on)) return NULL;
  return failed(env, sp_logger_set_console_enabled(on)) ? NULL : undefined(env);
}

typedef struct {
  sp_log_level_t level;
  char* message;
} log_event;

static void log_callback_unref(log_callback* l) {
  if (--l->refs == 0) free(l);
}

/* Engine thread: queue the message; never blocks. */
static void on_log(void* userdata, sp_log_level_t level, const char* message) {
  log_callback* l = userdata;
  log_event* ev = malloc(sizeof *ev);
  if (!ev) return;
  ev->level = level;
  ev->message = dup_or_null(message ? message : "");
  if (napi_call_threadsafe_function(l->tsfn, ev, napi_tsfn_nonblocking) != napi_ok) {
    free(ev->message);
    free(ev);
  }
}

static void log_call_js(napi_env env, napi_value js_cb, void* context, void* data) {
  log_callback* l = context;
  log_event* ev = data;
  if (env && js_cb && l->token) {
    napi_value argv[2], global, result;
    argv[0] = make_int(env, ev->level);
    argv[1] = make_str(env, ev->message);
    napi_get_global(env, &global);
    if (napi_call_function(env, global, js_cb, 2, argv, &result) != napi_ok) report_callback_exception(env);
  }
  free(ev->message);
  free(ev);
}

static void log_callback_unlink(log_callback* l) {
  if (!l->state) return;
  for (log_callback** p = &l->state->loggers; *p; p = &(*p)->next) {
    if (*p == l) {
      *p = l->next;
      break;
    }
  }
  l->next = NULL;
  l->state = NULL;
}

/* With the token still set only at environment teardown: stop the engine calling in first. */
static void log_tsfn_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  log_callback* l = data;
  if (l->token) {
    sp_token_free(l->token);
    l->token = NULL;
  }
  l->tsfn = NULL;
  log_callback_unlink(l);
  log_callback_unref(l);
}

static void log_wrapper_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  log_callback_unref(data);
}

/* JS thread (or env teardown): unregister; the callback never runs again. */
static void log_callback_remove(log_callback* l) {
  if (l->token) {
    sp_token_t* token = l->token;
    l->token = NULL;
    sp_token_free(token);
  }
  if (l->tsfn) {
    napi_threadsafe_function tsfn = l->tsfn;
    l->tsfn = NULL;
    napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  }
  log_callback_unlink(l);
}

/* loggerAddCallback(fn(level, message)) -> log callback handle. It never keeps the process alive. */
static napi_value js_logger_add_callback(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  napi_valuetype t;
  napi_typeof(env, a.argv[0], &t);
  if (t != napi_function) {
    throw_type(env, "the log callback must be a function");
    return NULL;
  }
  log_callback* l = calloc(1, sizeof *l);
  napi_value obj, name;
  if (!l) {
    napi_throw_error(env, "ERR_MEMORY", "out of memory");
    return NULL;
  }
  l->refs = 2;
  napi_create_string_utf8(env, "smallpeer log callback", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, a.argv[0], NULL, name, 0, 1, l, log_tsfn_finalize, l, log_call_js, &l->tsfn) !=
      napi_ok) {
    free(l);
    napi_throw_error(env, "ERR_NAPI", "could not create the log callback's thread-safe function");
    return NULL;
  }
  napi_unref_threadsafe_function(env, l->tsfn);
  sp_status_t st = sp_logger_add_callback(on_log, l, NULL, &l->token);
  if (st != SP_OK) {
    napi_value err = make_sp_error(env, st, sp_last_error_message());
    l->refs = 1;
    napi_release_threadsafe_function(l->tsfn, napi_tsfn_release);
    l->tsfn = NULL;
    napi_throw(env, err);
    return NULL;
  }
  napi_create_object(env, &obj);
  napi_type_tag_object(env, obj, &kLogCallbackTag);
  napi_wrap(env, obj, l, log_wrapper_finalize, NULL, NULL);
  addon_state* state = get_state(env);
  l->state = state;
  l->next = state->loggers;
  state->loggers = l;
  return obj;
}

static napi_value js_logger_remove_callback(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  log_callback* l = unwrap_tagged(env, a.argv[0], &kLogCallbackTag, "log callback");
  if (!l) return NULL;
  log_callback_remove(l);
  return undefined(env);
}

/* log(h, level, message): writes to this instance's engine log. */
static napi_value js_log(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t level;
  if (!get_args(env, info, &a, 3)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h || !get_int32(env, a.argv[1], "level", &level)) return NULL;
  char* msg = get_string(env, a.argv[2], "message");
  if (!msg) return NULL;
  sp_status_t st = sp_ditto_log(h->d, level, msg);
  free(msg);
  return failed(env, st) ? NULL : undefined(env);
}

/* exportLogs(h, path, optionsJSON | null) -> Promise<number of lines>. */
static napi_value js_export_logs(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 2)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  char* path = get_string(env, a.argv[1], "path");
  if (!path) return NULL;
  char* options = NULL;
  if (!is_nullish(env, a.argv[2]) && !(options = get_string(env, a.argv[2], "options"))) {
    free(path);
    return NULL;
  }
  async_call* c = new_call(env, OP_EXPORT_LOGS);
  if (!c) {
    free(path);
    free(options);
    return NULL;
  }
  c->s1 = path;
  c->s2 = options;
  return queue_call(env, a.argv[0], h, c);
}

/* sendLogs(h, optionsJSON | null) -> Promise<log request id>. */
static napi_value js_send_logs(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  char* options = NULL;
  if (!is_nullish(env, a.argv[1]) && !(options = get_string(env, a.argv[1], "options"))) return NULL;
  async_call* c = new_call(env, OP_SEND_LOGS);
  if (!c) {
    free(options);
    return NULL;
  }
  c->s1 = options;
  return queue_call(env, a.argv[0], h, c);
}

/* ---- Module -------------------------------------------------------------------------------- */
/* The exports below (one per C function, plus setErrorClass) are internal: js/index.js is their only caller. */

/* Environment teardown (process exit or a worker ending): no engine thread may call into this env again. */
static void env_cleanup(void* arg) {
  addon_state* state = arg;
  while (state->loggers) log_callback_remove(state->loggers);
  for (ditto_handle* h = state->dittos; h; h = h->next) {
    /* Observers: stop the engine calling in; their memory goes with the tsfn finalizers. */
    for (observer* o = h->observers; o; o = o->next) {
      if (o->token) {
        sp_token_free(o->token);
        o->token = NULL;
      }
    }
    if (!h->closing && h->inflight == 0 && h->d) {
      sp_ditto_close(h->d); /* releases the persistence directory's lock; the finalizer frees */
      h->closing = true;
    }
  }
}

/* The env is going away with its references (error_class included): only native memory is freed here. */
static void state_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  addon_state* state = data;
  for (ditto_handle* h = state->dittos; h; h = h->next) h->state = NULL;
  for (log_callback* l = state->loggers; l; l = l->next) l->state = NULL;
  free(state);
}

NAPI_MODULE_INIT() {
  if (sp_abi_version() != SP_ABI_VERSION) {
    char buf[160];
    snprintf(buf, sizeof buf, "libsmallpeer ABI version %d does not match the addon's %d", (int)sp_abi_version(), SP_ABI_VERSION);
    napi_throw_error(env, "ERR_SMALLPEER_ABI", buf);
    return NULL;
  }
  addon_state* state = calloc(1, sizeof *state);
  if (!state || napi_set_instance_data(env, state, state_finalize, NULL) != napi_ok) {
    free(state);
    napi_throw_error(env, "ERR_NAPI", "could not set up the addon");
    return NULL;
  }
  napi_add_env_cleanup_hook(env, env_cleanup, state);

  static const struct {
    const char* name;
    napi_callback fn;
  } fns[] = {
      {"version", js_version},
      {"abiVersion", js_abi_version},
      {"liveHandles", js_live_handles},
      {"setErrorClass", js_set_error_class},
      {"open", js_open},
      {"close", js_close},
      {"isClosed", js_is_closed},
      {"peerKey", js_peer_key},
      {"spiSetEnabled", js_spi_set_enabled},
      {"spiGetEnabled", js_spi_get_enabled},
      {"spiSetSyncScope", js_spi_set_sync_scope},
      {"spiGetSyncScope", js_spi_get_sync_scope},
      {"spiSetMetadataJSON", js_spi_set_metadata_json},
      {"spiGetMetadataJSON", js_spi_get_metadata_json},
      {"spiSetDeviceName", js_spi_set_device_name},
      {"spiGetDeviceName", js_spi_get_device_name},
      {"spiSetCollectionIntervalMs", js_spi_set_collection_interval_ms},
      {"spiGetCollectionIntervalMs", js_spi_get_collection_interval_ms},
      {"spiCollectNow", js_spi_collect_now},
      {"spiGetDocument", js_spi_get_document},
      {"storeUpsert", js_store_upsert},
      {"storeGet", js_store_get},
      {"storeFindAll", js_store_find_all},
      {"storeRemove", js_store_remove},
      {"storeCollectionNames", js_store_collection_names},
      {"storeObserve", js_store_observe},
      {"storeObserverCancel", js_store_observer_cancel},
      {"storeObserverIsActive", js_store_observer_is_active},
      {"storeSetCollectionScope", js_store_set_collection_scope},
      {"storeGetCollectionScope", js_store_get_collection_scope},
      {"syncSetTransportConfig", js_sync_set_transport_config},
      {"syncGetTransportConfig", js_sync_get_transport_config},
      {"syncStart", js_sync_start},
      {"syncStop", js_sync_stop},
      {"syncIsRunning", js_sync_is_running},
      {"syncLanPort", js_sync_lan_port},
      {"presenceJSON", js_presence_json},
      {"loggerSetEnabled", js_logger_set_enabled},
      {"loggerGetEnabled", js_logger_get_enabled},
      {"loggerSetMinimumLevel", js_logger_set_minimum_level},
      {"loggerGetMinimumLevel", js_logger_get_minimum_level},
      {"loggerSetLogFile", js_logger_set_log_file},
      {"loggerSetConsoleEnabled", js_logger_set_console_enabled},
      {"loggerAddCallback", js_logger_add_callback},
      {"loggerRemoveCallback", js_logger_remove_callback},
      {"log", js_log},
      {"exportLogs", js_export_logs},
      {"sendLogs", js_send_logs},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; ++i) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
      return NULL;
  }
  napi_value abi;
  napi_create_int32(env, SP_ABI_VERSION, &abi);
  napi_set_named_property(env, exports, "ABI_VERSION", abi);
  return exports;
}
