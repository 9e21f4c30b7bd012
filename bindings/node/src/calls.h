/* Call shapes several API areas share; each returns NULL after throwing. */
#pragma once

#include <node_api.h>
#include <smallpeer/smallpeer.h>

#include "async.h"

/** Sync f(h, string) on the open Ditto in argument 0 with the string (named `what`) in argument 1. */
napi_value call_set_string(napi_env env, napi_callback_info info, sp_status_t (*fn)(sp_ditto_t*, const char*), const char* what);
/** Sync f(h, &string) on the open Ditto in argument 0; returns the string. */
napi_value call_get_string(napi_env env, napi_callback_info info, sp_status_t (*fn)(sp_ditto_t*, char**));
/** Sync f(h, bool) on the open Ditto in argument 0 with the boolean (named `what`) in argument 1. */
napi_value call_set_bool(napi_env env, napi_callback_info info, sp_status_t (*fn)(sp_ditto_t*, bool), const char* what);
/** Sync f(h, &bool) on the open Ditto in argument 0; returns the boolean. */
napi_value call_get_bool(napi_env env, napi_callback_info info, sp_status_t (*fn)(sp_ditto_t*, bool*));
/** Queues op with only the open Ditto in argument 0; returns its Promise. */
napi_value call_async_handle_only(napi_env env, napi_callback_info info, const async_op* op);
