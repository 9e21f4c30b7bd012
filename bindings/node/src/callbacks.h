/*
 * Callbacks from engine threads to JS (store observers, the custom log callback): ONE lifecycle.
 *
 * - Created on the JS thread by js_callback_create: the userdata (a js_callback) is reference
 *   counted (atomically: the engine may drop its reference on an engine thread), with one reference
 *   each for the JS handle, the thread-safe function and the engine. The thread-safe function is
 *   unreferenced at once, so a callback never keeps the event loop alive by itself (an observer's
 *   Ditto decides that). It is registered with engine_release as the userdata free function, which
 *   the engine runs exactly once on every path (smallpeer.h): when sp_token_free unregisters it, or
 *   inside a registration that fails.
 * - Engine thread: the kind's C callback copies the event and js_callback_post queues it with a
 *   non-blocking call on an unbounded queue, so an engine thread never waits for the JS thread
 *   (and sp_token_free on the JS thread can never deadlock against a callback in progress).
 * - JS is called only on the JS thread of the env that created the callback, from the
 *   thread-safe function's call_js, and only while the token is set: never after cancel. A throw
 *   is reported like any uncaught exception.
 * - Cancel (JS thread: remove/cancel, a Ditto's close, or its GC finalizer): sp_token_free first
 *   (when it returns the engine is not running the callback and never runs it again), then the
 *   thread-safe function is released, the callback unlinked from its owner's list and the strong
 *   reference to the owner's JS object deleted (left to the env from a GC finalizer).
 * - Env teardown (the env cleanup hook): only sp_token_free. Node closes every thread-safe
 *   function itself and runs its finalizer; the addon calls no thread-safe function API there.
 * - The userdata is freed (free) when the last reference is dropped: by the JS handle's GC
 *   finalizer, by the thread-safe function's finalizer (once the function was released and its
 *   queue drained, or at env teardown; it also frees a token still set and unlinks the callback),
 *   or by the engine's free function. If registration fails, the engine has dropped its reference
 *   by the time the call returns, no JS handle is made, and releasing the thread-safe function
 *   drops the last one; if the thread-safe function cannot be made, nothing was registered and
 *   the userdata is freed at once. Every path frees it exactly once.
 */
#pragma once

#include <node_api.h>
#include <smallpeer/smallpeer.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct js_callback js_callback;

/* The callbacks one owner holds: a Ditto's store observers, or the env's log callbacks. JS thread only. */
typedef struct {
  js_callback* head;
  void* owner; /* the ditto_handle or addon_state holding the list */
} callback_list;

/* What differs between kinds of callback: how an event reaches JS and how it is freed. */
typedef struct {
  const char* what;          /* names it in errors: "observer", "log callback" */
  const char* resource_name; /* the thread-safe function's async resource name */
  const napi_type_tag* tag;  /* the JS handle's type tag */
  /* JS thread: calls fn with one event; returns napi_call_function's status. */
  napi_status (*deliver)(napi_env env, napi_value fn, void* event);
  /* Any thread: frees one event. */
  void (*free_event)(void* event);
} callback_kind;

struct js_callback {
  const callback_kind* kind;
  sp_token_t* token;             /* NULL once cancelled: the engine no longer calls in */
  napi_threadsafe_function tsfn; /* NULL once released or finalized */
  napi_ref owner_ref;            /* keeps the owner's JS object (a Ditto) alive while registered; NULL for none */
  callback_list* list;           /* the list it is on; NULL once unlinked */
  js_callback* next;
  atomic_int refs; /* the JS handle, the thread-safe function and the engine each hold one */
};

/* Registers cb with the engine (its C callback gets cb as userdata, freed by userdata_free); returns the C status. */
typedef sp_status_t (*callback_register_fn)(void* arg, js_callback* cb, sp_userdata_free_fn userdata_free,
                                            sp_token_t** out_token);

/**
 * JS thread: makes a callback of `kind` that calls fn, registers it through register_fn(arg, ...),
 * links it to list and, if owner_obj is set, keeps owner_obj alive until it is cancelled. Returns
 * its JS handle, or NULL after throwing (nothing is left registered or allocated for the caller).
 */
napi_value js_callback_create(napi_env env, const callback_kind* kind, napi_value fn, callback_register_fn register_fn, void* arg,
                              callback_list* list, napi_value owner_obj);
/** Engine thread: queues one event (owned by the queue from here); never blocks. */
void js_callback_post(js_callback* cb, void* event);
/** JS thread: stops the callback for good (see above); `in_finalizer` from a GC finalizer. */
void js_callback_cancel(napi_env env, js_callback* cb, bool in_finalizer);
/** Env teardown: stops the engine calling in; memory goes with the thread-safe function's finalizer. */
void js_callback_stop_engine(js_callback* cb);
/** Whether the engine still calls it. */
bool js_callback_is_active(const js_callback* cb);
/** The env is going away with the list's owner: its callbacks forget the list. */
void callback_list_detach(callback_list* list);
