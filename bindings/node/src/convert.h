/*
 * Argument and result conversion between JS values and C. Every get_* helper returns false (or
 * NULL) after throwing a DittoError (SP_ERR_INVALID_ARGUMENT) that names the argument; the make_* helpers
 * build JS values and cannot fail in a way the caller handles.
 */
#pragma once

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_ARGS 4

/* The arguments of one call; those not passed are undefined. */
typedef struct {
  size_t argc;
  napi_value argv[MAX_ARGS];
} args_t;

/** Reads the call's arguments, throwing if fewer than `required` were passed. */
bool get_args(napi_env env, napi_callback_info info, args_t* a, size_t required);
/** Whether v is null or undefined. */
bool is_nullish(napi_env env, napi_value v);
/** Whether v is a function. */
bool is_function(napi_env env, napi_value v);
/** A malloc'd UTF-8 copy of a JS string argument named `what`; NULL after throwing (also for embedded NULs). */
char* get_string(napi_env env, napi_value v, const char* what);
/** A boolean argument named `what`. */
bool get_bool(napi_env env, napi_value v, const char* what, bool* out);
/** An integral number argument named `what` that fits int64_t. */
bool get_int64(napi_env env, napi_value v, const char* what, int64_t* out);
/** An integral number argument named `what` that fits int32_t (a DittoError SP_ERR_INVALID_ARGUMENT otherwise). */
bool get_int32(napi_env env, napi_value v, const char* what, int32_t* out);

/** undefined. */
napi_value undefined(napi_env env);
/** A JS boolean. */
napi_value make_bool(napi_env env, bool b);
/** A JS number from an int64_t. */
napi_value make_int(napi_env env, int64_t x);
/** A JS string from UTF-8; NULL becomes "". */
napi_value make_str(napi_env env, const char* s);
/** A JS string from a string the C library returned, which it then frees with sp_free. */
napi_value take_str(napi_env env, char* s);
/** A malloc'd copy of s (NULL for NULL or when out of memory); safe on any thread. */
char* dup_or_null(const char* s);
