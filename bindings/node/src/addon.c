/*
 * smallpeer.node: the N-API addon of the `smallpeer` npm package, written in C over the stable C
 * header only. It converts types and errors; the idiomatic API lives in js/index.js. This file
 * sets up the per-environment state, registers each API area's exports and tears down with the env.
 */
#include "addon.h"

#include <stdio.h>
#include <stdlib.h>

#include "callbacks.h"
#include "errors.h"
#include "handles.h"

addon_state* get_state(napi_env env) {
  void* data = NULL;
  napi_get_instance_data(env, &data);
  return (addon_state*)data;
}

/* Environment teardown (process exit or a worker ending): no engine thread may call into this env again. */
static void env_cleanup(void* arg) {
  addon_state* state = arg;
  for (js_callback* l = state->loggers.head; l; l = l->next) js_callback_stop_engine(l);
  for (ditto_handle* h = state->dittos; h; h = h->next) ditto_env_teardown(h);
}

/* The env is going away with its references (error_class included): only native memory is freed here. */
static void state_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  addon_state* state = data;
  for (ditto_handle* h = state->dittos; h; h = h->next) h->state = NULL;
  callback_list_detach(&state->loggers);
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
  state->loggers.owner = state;
  napi_add_env_cleanup_hook(env, env_cleanup, state);

  static const addon_export* const areas[] = {kLibraryExports, kDittoExports,    kSpiExports,   kStoreExports,
                                              kSyncExports,    kPresenceExports, kLoggerExports};
  for (size_t i = 0; i < sizeof areas / sizeof areas[0]; ++i) {
    for (const addon_export* e = areas[i]; e->name; ++e) {
      napi_value f;
      if (napi_create_function(env, e->name, NAPI_AUTO_LENGTH, e->fn, NULL, &f) != napi_ok ||
          napi_set_named_property(env, exports, e->name, f) != napi_ok)
        return NULL;
    }
  }
  napi_value abi;
  napi_create_int32(env, SP_ABI_VERSION, &abi);
  napi_set_named_property(env, exports, "ABI_VERSION", abi);
  /* constants: {SP_OK: 0, SP_ERR_INVALID_ARGUMENT: 1, ...}, the header's values; index.js builds its tables from them. */
  napi_value constants;
  napi_create_object(env, &constants);
  for (const sp_constant* c = kConstants; c->name; ++c) {
    napi_value v;
    napi_create_int32(env, c->value, &v);
    napi_set_named_property(env, constants, c->name, v);
  }
  napi_object_freeze(env, constants);
  napi_set_named_property(env, exports, "constants", constants);
  return exports;
}
