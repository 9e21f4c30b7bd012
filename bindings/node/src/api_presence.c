/* Presence: the peers this small peer sees, as JSON. */
#include "addon.h"
#include "calls.h"

static napi_value js_presence_json(napi_env env, napi_callback_info info) {
  return call_get_string(env, info, sp_presence_get_json);
}

const addon_export kPresenceExports[] = {
    {"presenceJSON", js_presence_json},
    {NULL, NULL},
};
