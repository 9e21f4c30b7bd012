/*
 * The one callback lifecycle (contract at the top of callbacks.h). In short: the userdata is freed
 * on the JS thread when both the JS handle's GC finalizer and the thread-safe function's finalizer
 * have run; JS is called only on the env's JS thread, from call_js, while the token is set.
 */
#include "callbacks.h"

#include <stdio.h>
#include <stdlib.h>

#include "errors.h"

static void unref(js_callback* cb) {
  if (atomic_fetch_sub(&cb->refs, 1) == 1) free(cb);
}

/* The userdata free function the engine runs exactly once (any thread): drops the engine's reference. */
static void engine_release(void* userdata) {
  unref(userdata);
}

static void unlink_from_list(js_callback* cb) {
  callback_list* list = cb->list;
  if (!list) return;
  for (js_callback** p = &list->head; *p; p = &(*p)->next) {
    if (*p == cb) {
      *p = cb->next;
      break;
    }
  }
  cb->next = NULL;
  cb->list = NULL;
}

static void release_tsfn(js_callback* cb) {
  if (!cb->tsfn) return;
  napi_threadsafe_function tsfn = cb->tsfn;
  cb->tsfn = NULL;
  napi_release_threadsafe_function(tsfn, napi_tsfn_release);
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

/* JS thread (env NULL while Node drains the queue at teardown): deliver one event unless cancelled since. */
static void call_js(napi_env env, napi_value js_cb, void* context, void* data) {
  js_callback* cb = context;
  if (env && js_cb && cb->token && cb->kind->deliver(env, js_cb, data) != napi_ok) report_callback_exception(env);
  cb->kind->free_event(data);
}

/* JS thread, after release or at env teardown: drops the thread-safe function's reference. */
static void tsfn_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  js_callback* cb = data;
  js_callback_stop_engine(cb); /* still set only at env teardown */
  cb->tsfn = NULL;
  unlink_from_list(cb);
  unref(cb);
}

/* JS thread, GC: drops the JS handle's reference (it does not cancel: the owner's list still holds the callback). */
static void wrapper_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  unref(data);
}

napi_value js_callback_create(napi_env env, const callback_kind* kind, napi_value fn, callback_register_fn register_fn, void* arg,
                              callback_list* list, napi_value owner_obj) {
  js_callback* cb = calloc(1, sizeof *cb);
  napi_value obj, name;
  if (!cb) {
    throw_out_of_memory(env);
    return NULL;
  }
  cb->kind = kind;
  atomic_init(&cb->refs, 2); /* the thread-safe function's and the engine's; the JS handle's once it exists */
  napi_create_string_utf8(env, kind->resource_name, NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, fn, NULL, name, 0, 1, cb, tsfn_finalize, cb, call_js, &cb->tsfn) != napi_ok) {
    free(cb);
    char buf[96];
    snprintf(buf, sizeof buf, "could not create the %s's thread-safe function", kind->what);
    napi_throw_error(env, "ERR_NAPI", buf);
    return NULL;
  }
  napi_unref_threadsafe_function(env, cb->tsfn);
  sp_status_t st = register_fn(arg, cb, engine_release, &cb->token);
  if (st != SP_OK) {
    /* The engine has run engine_release already: releasing the thread-safe function drops the last reference. */
    napi_value err = make_sp_error(env, st, sp_last_error_message());
    release_tsfn(cb);
    napi_throw(env, err);
    return NULL;
  }
  atomic_fetch_add(&cb->refs, 1); /* the JS handle's */
  napi_create_object(env, &obj);
  napi_type_tag_object(env, obj, kind->tag);
  napi_wrap(env, obj, cb, wrapper_finalize, NULL, NULL);
  if (owner_obj) napi_create_reference(env, owner_obj, 1, &cb->owner_ref);
  cb->list = list;
  cb->next = list->head;
  list->head = cb;
  return obj;
}

void js_callback_post(js_callback* cb, void* event) {
  if (napi_call_threadsafe_function(cb->tsfn, event, napi_tsfn_nonblocking) != napi_ok) cb->kind->free_event(event);
}

void js_callback_cancel(napi_env env, js_callback* cb, bool in_finalizer) {
  js_callback_stop_engine(cb); /* waits only for a queue push in progress */
  release_tsfn(cb);
  unlink_from_list(cb);
  if (cb->owner_ref && !in_finalizer) napi_delete_reference(env, cb->owner_ref);
  cb->owner_ref = NULL;
}

void js_callback_stop_engine(js_callback* cb) {
  if (!cb->token) return;
  sp_token_t* token = cb->token;
  cb->token = NULL;
  sp_token_free(token);
}

bool js_callback_is_active(const js_callback* cb) {
  return cb->token != NULL;
}

void callback_list_detach(callback_list* list) {
  js_callback* next;
  for (js_callback* cb = list->head; cb; cb = next) {
    next = cb->next;
    cb->list = NULL;
    cb->next = NULL;
  }
  list->head = NULL;
}
