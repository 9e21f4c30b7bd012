/* Errors: statuses to DittoError, bad arguments to DittoError SP_ERR_INVALID_ARGUMENT (see errors.h). */
#include "errors.h"

#include <string.h>

#include "addon.h"

/* Every value smallpeer.h defines that the package uses, spelled by the preprocessor from the header
 * itself; js/test/constants.test.cjs checks this table against the header's #defines both ways. */
#define SP_CONSTANT(name) \
  { #name, name }
const sp_constant kConstants[] = {
    SP_CONSTANT(SP_OK),
    SP_CONSTANT(SP_ERR_INVALID_ARGUMENT),
    SP_CONSTANT(SP_ERR_VALIDATION),
    SP_CONSTANT(SP_ERR_NOT_FOUND),
    SP_CONSTANT(SP_ERR_CLOSED),
    SP_CONSTANT(SP_ERR_IO),
    SP_CONSTANT(SP_ERR_LOCKED),
    SP_CONSTANT(SP_ERR_STORE),
    SP_CONSTANT(SP_ERR_INTERNAL),
    SP_CONSTANT(SP_SYNC_SCOPE_LOCAL_PEER_ONLY),
    SP_CONSTANT(SP_SYNC_SCOPE_BIG_PEER_ONLY),
    SP_CONSTANT(SP_SYNC_SCOPE_ALL_PEERS),
    SP_CONSTANT(SP_SYNC_SCOPE_SMALL_PEERS_ONLY),
    SP_CONSTANT(SP_LOG_ERROR),
    SP_CONSTANT(SP_LOG_WARNING),
    SP_CONSTANT(SP_LOG_INFO),
    SP_CONSTANT(SP_LOG_DEBUG),
    SP_CONSTANT(SP_LOG_VERBOSE),
    SP_CONSTANT(SP_CHANGE_UPSERT),
    SP_CONSTANT(SP_CHANGE_REMOVE),
    {NULL, 0},
};

/* The status's name from kConstants ("SP_ERR_UNKNOWN" for a value the header did not define when built). */
static const char* status_name(sp_status_t status) {
  for (const sp_constant* c = kConstants; c->name; ++c) {
    if (strncmp(c->name, "SP_ERR_", 7) == 0 && c->value == status) return c->name;
  }
  return "SP_ERR_UNKNOWN";
}

napi_value make_sp_error(napi_env env, sp_status_t status, const char* message) {
  napi_value msg, code, st, err = NULL;
  const char* text = (message && *message) ? message : status_name(status);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, status_name(status), NAPI_AUTO_LENGTH, &code);
  napi_create_int32(env, status, &st);
  addon_state* state = get_state(env);
  napi_value ctor;
  if (state && state->error_class && napi_get_reference_value(env, state->error_class, &ctor) == napi_ok && ctor) {
    napi_value argv[3] = {msg, code, st};
    if (napi_new_instance(env, ctor, 3, argv, &err) != napi_ok) err = NULL;
  }
  if (!err) {
    napi_create_error(env, code, msg, &err);
    napi_set_named_property(env, err, "status", st);
  }
  return err;
}

void throw_sp_error(napi_env env, sp_status_t status, const char* message) {
  napi_throw(env, make_sp_error(env, status, message));
}

bool failed(napi_env env, sp_status_t status) {
  if (status == SP_OK) return false;
  throw_sp_error(env, status, sp_last_error_message());
  return true;
}

void throw_invalid_argument(napi_env env, const char* message) {
  throw_sp_error(env, SP_ERR_INVALID_ARGUMENT, message);
}

void throw_out_of_memory(napi_env env) {
  napi_throw_error(env, "ERR_MEMORY", "out of memory");
}

void set_error_class(napi_env env, napi_value ctor) {
  addon_state* state = get_state(env);
  if (state->error_class) napi_delete_reference(env, state->error_class);
  napi_create_reference(env, ctor, 1, &state->error_class);
}
