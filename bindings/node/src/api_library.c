/* Library: version, ABI version, live handle count, and the DittoError class index.js registers. */
#include <smallpeer/smallpeer_diagnostics.h>

#include "addon.h"
#include "convert.h"
#include "errors.h"

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
  if (!is_function(env, a.argv[0])) {
    throw_invalid_argument(env, "the error class must be a constructor");
    return NULL;
  }
  set_error_class(env, a.argv[0]);
  return undefined(env);
}

const addon_export kLibraryExports[] = {
    {"version", js_version},
    {"abiVersion", js_abi_version},
    {"liveHandles", js_live_handles},
    {"setErrorClass", js_set_error_class},
    {NULL, NULL},
};
