/* Small peer: open, close, isClosed, peerKey. */
#include <stdlib.h>

#include "addon.h"
#include "async.h"
#include "convert.h"
#include "errors.h"
#include "handles.h"

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
  return ditto_wrap(env, d);
}

static sp_status_t close_execute(async_call* c) {
  return sp_ditto_close(c->d);
}
static const async_op kClose = {close_execute, NULL};

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
  napi_value p = async_queue(env, a.argv[0], h, &kClose, NULL, NULL, 0);
  if (!p) return NULL;
  ditto_begin_close(env, h);
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

const addon_export kDittoExports[] = {
    {"open", js_open}, {"close", js_close}, {"isClosed", js_is_closed}, {"peerKey", js_peer_key}, {NULL, NULL},
};
