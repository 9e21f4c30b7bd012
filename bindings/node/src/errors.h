/*
 * Errors: a failed C call becomes a DittoError carrying `code` (the status name) and `status`; a bad
 * argument is the same DittoError with SP_ERR_INVALID_ARGUMENT, never a TypeError. Every helper here
 * throws on the calling JS thread, except make_sp_error, which only builds the value (to reject a Promise).
 */
#pragma once

#include <node_api.h>
#include <smallpeer/smallpeer.h>
#include <stdbool.h>

/* One #define of smallpeer.h: its name and value. */
typedef struct {
  const char* name;
  int32_t value;
} sp_constant;
/** The header's statuses, sync scopes, log levels and change kinds; ends with {NULL, 0}. */
extern const sp_constant kConstants[];

/** The DittoError for a failed C call (a plain Error with code and status before index.js registers the class). */
napi_value make_sp_error(napi_env env, sp_status_t status, const char* message);
/** Throws the DittoError for status; an empty or NULL message becomes the status name. */
void throw_sp_error(napi_env env, sp_status_t status, const char* message);
/** Throws for a failed C call on this thread (with sp_last_error_message()); returns true if it threw. */
bool failed(napi_env env, sp_status_t status);
/** Throws the DittoError SP_ERR_INVALID_ARGUMENT with this message (a bad argument). */
void throw_invalid_argument(napi_env env, const char* message);
/** Throws the Error for a failed allocation (code ERR_MEMORY). */
void throw_out_of_memory(napi_env env);
/** Makes later failures throw instances of ctor (new DittoError(message, code, status)). */
void set_error_class(napi_env env, napi_value ctor);
