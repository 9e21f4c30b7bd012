/* Call shapes several API areas share (see calls.h). */
#include "calls.h"

#include <stdlib.h>

#include "convert.h"
#include "errors.h"
#include "handles.h"

napi_value call_set_string(napi_env env, napi_callback_info info, sp_status_t (*fn)(sp_ditto_t*, const char*), const char* what) {
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

napi_value call_get_string(napi_env env, napi_callback_info info, sp_status_t (*fn)(sp_ditto_t*, char**)) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  char* out = NULL;
  return failed(env, fn(h->d, &out)) ? NULL : take_str(env, out);
}

napi_value call_set_bool(napi_env env, napi_callback_info info, sp_status_t (*fn)(sp_ditto_t*, bool), const char* what) {
  args_t a;
  bool value = false;
  if (!get_args(env, info, &a, 2)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h || !get_bool(env, a.argv[1], what, &value)) return NULL;
  return failed(env, fn(h->d, value)) ? NULL : undefined(env);
}

napi_value call_get_bool(napi_env env, napi_callback_info info, sp_status_t (*fn)(sp_ditto_t*, bool*)) {
  args_t a;
  bool value = false;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  return failed(env, fn(h->d, &value)) ? NULL : make_bool(env, value);
}

napi_value call_async_handle_only(napi_env env, napi_callback_info info, const async_op* op) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  return async_queue(env, a.argv[0], h, op, NULL, NULL, 0);
}
