/* Errors: statuses to DittoError, bad arguments to Node's TypeError codes (see errors.h). */
#include "errors.h"

#include "addon.h"

static const char* status_name(sp_status_t status) {
  switch (status) {
    case SP_ERR_INVALID_ARGUMENT:
      return "SP_ERR_INVALID_ARGUMENT";
    case SP_ERR_VALIDATION:
      return "SP_ERR_VALIDATION";
    case SP_ERR_NOT_FOUND:
      return "SP_ERR_NOT_FOUND";
    case SP_ERR_CLOSED:
      return "SP_ERR_CLOSED";
    case SP_ERR_IO:
      return "SP_ERR_IO";
    case SP_ERR_LOCKED:
      return "SP_ERR_LOCKED";
    case SP_ERR_STORE:
      return "SP_ERR_STORE";
    case SP_ERR_INTERNAL:
      return "SP_ERR_INTERNAL";
    default:
      return "SP_ERR_UNKNOWN";
  }
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

void throw_type(napi_env env, const char* message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
}

void throw_out_of_memory(napi_env env) {
  napi_throw_error(env, "ERR_MEMORY", "out of memory");
}

void set_error_class(napi_env env, napi_value ctor) {
  addon_state* state = get_state(env);
  if (state->error_class) napi_delete_reference(env, state->error_class);
  napi_create_reference(env, ctor, 1, &state->error_class);
}
