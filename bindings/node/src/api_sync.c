/* Sync: transport config, start, stop, state, LAN port. A running sync keeps its Ditto and the process alive. */
#include "addon.h"
#include "calls.h"
#include "convert.h"
#include "errors.h"
#include "handles.h"

static napi_value js_sync_set_transport_config(napi_env env, napi_callback_info info) {
  return call_set_string(env, info, sp_sync_set_transport_config, "transport config");
}
static napi_value js_sync_get_transport_config(napi_env env, napi_callback_info info) {
  return call_get_string(env, info, sp_sync_get_transport_config);
}

static napi_value js_sync_start(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h || failed(env, sp_sync_start(h->d))) return NULL;
  ditto_sync_started(env, h, a.argv[0]);
  return undefined(env);
}

static napi_value js_sync_stop(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h || failed(env, sp_sync_stop(h->d))) return NULL;
  ditto_sync_stopped(env, h);
  return undefined(env);
}

static napi_value js_sync_is_running(napi_env env, napi_callback_info info) {
  return call_get_bool(env, info, sp_sync_is_running);
}

static napi_value js_sync_lan_port(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t port = 0;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  return failed(env, sp_sync_lan_port(h->d, &port)) ? NULL : make_int(env, port);
}

const addon_export kSyncExports[] = {
    {"syncSetTransportConfig", js_sync_set_transport_config},
    {"syncGetTransportConfig", js_sync_get_transport_config},
    {"syncStart", js_sync_start},
    {"syncStop", js_sync_stop},
    {"syncIsRunning", js_sync_is_running},
    {"syncLanPort", js_sync_lan_port},
    {NULL, NULL},
};
