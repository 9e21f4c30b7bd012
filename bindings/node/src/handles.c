/* Handle lifetime: type tags, unwrapping, and the Ditto handle with its keep-alive (see handles.h). */
#include "handles.h"

#include <stdio.h>
#include <stdlib.h>

#include "errors.h"

const napi_type_tag kObserverTag = {0x5a1e9e3f7c0d4b21ULL, 0x9d8e3c1b2a4f6e02ULL};
const napi_type_tag kLogCallbackTag = {0x5a1e9e3f7c0d4b21ULL, 0x9d8e3c1b2a4f6e03ULL};

void* unwrap_tagged(napi_env env, napi_value v, const napi_type_tag* tag, const char* what) {
  napi_valuetype t;
  bool ok = false;
  void* p = NULL;
  if (napi_typeof(env, v, &t) == napi_ok && t == napi_object && napi_check_object_type_tag(env, v, tag, &ok) == napi_ok && ok &&
      napi_unwrap(env, v, &p) == napi_ok && p)
    return p;
  char buf[128];
  snprintf(buf, sizeof buf, "expected a %s handle", what);
  throw_invalid_argument(env, buf);
  return NULL;
}

ditto_handle* get_ditto_any(napi_env env, napi_value v) {
  /* Every property call goes through here, so no property lookup: a type tag check and napi_unwrap
   * (two V8 private-symbol lookups) were two thirds of a ~225 ns `ditto.smallPeerInfo.isEnabled`.
   * The External's pointer is used only if it is one of this env's live handles (a comparison, never
   * a dereference), so another addon's External, or another env's Ditto, is refused the same way. */
  void* p = NULL;
  if (napi_get_value_external(env, v, &p) == napi_ok) {
    addon_state* state = get_state(env);
    for (ditto_handle* h = state ? state->dittos : NULL; h; h = h->next) {
      if (h == p) return h;
    }
  }
  throw_invalid_argument(env, "expected a Ditto handle");
  return NULL;
}

ditto_handle* get_ditto(napi_env env, napi_value v) {
  ditto_handle* h = get_ditto_any(env, v);
  if (h && (h->closing || !h->d)) {
    throw_sp_error(env, SP_ERR_CLOSED, "the Ditto instance is closed");
    return NULL;
  }
  return h;
}

/* ---- Keeping the event loop alive ------------------------------------------------------------ */

/* JS thread: sync stopped or the Ditto closing; the handle may be collected again. */
static void drop_sync_ref(napi_env env, ditto_handle* h) {
  if (h->sync_ref) napi_delete_reference(env, h->sync_ref);
  h->sync_ref = NULL;
  h->sync_running = false;
}

void ditto_update_keep_alive(napi_env env, ditto_handle* h) {
  if (!h->alive) return;
  bool want = !h->closing && (h->sync_running || h->observers.head != NULL);
  if (want && !h->alive_refd) napi_ref_threadsafe_function(env, h->alive);
  if (!want && h->alive_refd) napi_unref_threadsafe_function(env, h->alive);
  h->alive_refd = want;
}

void ditto_sync_started(napi_env env, ditto_handle* h, napi_value obj) {
  h->sync_running = true;
  if (!h->sync_ref) napi_create_reference(env, obj, 1, &h->sync_ref);
  ditto_update_keep_alive(env, h);
}

void ditto_sync_stopped(napi_env env, ditto_handle* h) {
  drop_sync_ref(env, h);
  ditto_update_keep_alive(env, h);
}

/* The keep-alive thread-safe function is never called: it only holds the loop. */
static void alive_call_js(napi_env env, napi_value js_cb, void* context, void* data) {
  (void)env;
  (void)js_cb;
  (void)context;
  (void)data;
}

static void ditto_unref(ditto_handle* h) {
  if (--h->refs == 0) free(h);
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

/* ---- Observers ------------------------------------------------------------------------------- */

void observer_cancel(napi_env env, js_callback* o, bool in_finalizer) {
  ditto_handle* h = o->list ? o->list->owner : NULL;
  js_callback_cancel(env, o, in_finalizer);
  if (h) ditto_update_keep_alive(env, h);
}

static void cancel_observers(napi_env env, ditto_handle* h, bool in_finalizer) {
  while (h->observers.head) observer_cancel(env, h->observers.head, in_finalizer);
}

/* ---- The Ditto handle ------------------------------------------------------------------------ */

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

napi_value ditto_wrap(napi_env env, sp_ditto_t* d) {
  ditto_handle* h = calloc(1, sizeof *h);
  napi_value obj, name;
  if (!h) {
    sp_ditto_free(d);
    throw_out_of_memory(env);
    return NULL;
  }
  h->d = d;
  h->refs = 1;
  h->observers.owner = h;
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
  if (napi_create_external(env, h, ditto_finalize, NULL, &obj) != napi_ok) {
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

void ditto_begin_close(napi_env env, ditto_handle* h) {
  h->closing = true;
  cancel_observers(env, h, false);
  drop_sync_ref(env, h);
  release_alive(env, h);
}

void ditto_call_started(ditto_handle* h) {
  h->inflight++;
}

void ditto_call_finished(ditto_handle* h) {
  h->inflight--;
  if (h->closing && h->inflight == 0 && h->d) {
    sp_ditto_free(h->d);
    h->d = NULL;
  }
}

void ditto_env_teardown(ditto_handle* h) {
  /* Observers: stop the engine calling in; their memory goes with the thread-safe functions' finalizers. */
  for (js_callback* o = h->observers.head; o; o = o->next) js_callback_stop_engine(o);
  if (!h->closing && h->inflight == 0 && h->d) {
    sp_ditto_close(h->d); /* releases the persistence directory's lock; the finalizer frees */
    h->closing = true;
  }
}
