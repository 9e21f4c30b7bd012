/*
 * Handle lifetime: a Ditto handle is a JS External, accepted only if its pointer is one of this
 * env's live handles (addon_state.dittos); observers and log callbacks are plain JS objects wrapped
 * with napi_wrap, each class with its own type tag. Passing the wrong kind of handle is a DittoError
 * SP_ERR_INVALID_ARGUMENT, never a wrong cast.
 *
 * A Ditto handle is freed when both its JS object's GC finalizer and its keep-alive thread-safe
 * function's finalizer have run. Keeping the process alive: only an open Ditto with sync running
 * or with active observers holds a reference on the event loop (its keep-alive thread-safe
 * function, ref'd while needed) and a strong reference to its own handle object while sync runs
 * (each observer holds one too), so garbage collection cannot stop it either. close() drops both,
 * cancels the observers and releases their thread-safe functions; the C handle is freed once the
 * close and every queued call have finished. GC finalizers only free native memory, call the C
 * library (sp_ditto_free) and use the N-API calls allowed there (thread-safe function
 * release/unref); they never call into JavaScript or delete references.
 */
#pragma once

#include <node_api.h>
#include <smallpeer/smallpeer.h>
#include <stdbool.h>

#include "addon.h"
#include "callbacks.h"

/* Type tags: one per wrapped handle class. */
extern const napi_type_tag kObserverTag;
extern const napi_type_tag kLogCallbackTag;

struct ditto_handle {
  sp_ditto_t* d;                  /* NULL once freed */
  bool closing;                   /* close() was called: every later call fails with SP_ERR_CLOSED */
  bool sync_running;              /* sync started through this binding and not stopped */
  napi_ref sync_ref;              /* keeps the handle object (so the engine) alive while sync runs */
  int inflight;                   /* queued async calls that still use d */
  callback_list observers;        /* active store observers */
  napi_threadsafe_function alive; /* ref'd while sync runs or observers are active; NULL once released */
  bool alive_refd;
  int refs; /* the JS wrapper and the keep-alive tsfn each hold one */
  addon_state* state;
  ditto_handle* next;
};

/** Unwraps a handle after checking its type tag; NULL after throwing a DittoError (SP_ERR_INVALID_ARGUMENT) naming `what`. */
void* unwrap_tagged(napi_env env, napi_value v, const napi_type_tag* tag, const char* what);
/** A Ditto handle, open or closed, found without any property lookup; NULL after throwing. */
ditto_handle* get_ditto_any(napi_env env, napi_value v);
/** An open Ditto handle; a closed one throws SP_ERR_CLOSED. */
ditto_handle* get_ditto(napi_env env, napi_value v);

/** A new Ditto handle (an External) for a freshly opened d, which it then owns; NULL after throwing (d freed). */
napi_value ditto_wrap(napi_env env, sp_ditto_t* d);
/** close(): marks h closing, cancels its observers and drops what kept it and the process alive. */
void ditto_begin_close(napi_env env, ditto_handle* h);
/** Sync started on h (whose object is obj): hold the object and the event loop. */
void ditto_sync_started(napi_env env, ditto_handle* h, napi_value obj);
/** Sync stopped on h: let go of the object and, without observers, the event loop. */
void ditto_sync_stopped(napi_env env, ditto_handle* h);
/** Refs or unrefs h's keep-alive after sync or its observers changed. */
void ditto_update_keep_alive(napi_env env, ditto_handle* h);
/** An async call starts using h->d. */
void ditto_call_started(ditto_handle* h);
/** An async call finished with h->d: a closed h's C handle is freed after the last one. */
void ditto_call_finished(ditto_handle* h);
/** JS thread: cancels a store observer (see callbacks.h) and updates its Ditto's keep-alive. */
void observer_cancel(napi_env env, js_callback* o, bool in_finalizer);
/** Env teardown: no engine thread may call into this env again, and an idle open Ditto is closed. */
void ditto_env_teardown(ditto_handle* h);
