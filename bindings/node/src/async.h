/*
 * Async work: calls that touch disk or network (close, store calls, collect now, log export, SPI
 * scope) run on the libuv thread pool through napi_async_work and settle a Promise. Each kind of
 * call is an async_op carrying its own execute and resolve functions, defined beside the export
 * that queues it. While queued, a call on a Ditto holds its handle object (so its C handle) alive;
 * a process-wide call (the logger's export) has none.
 */
#pragma once

#include <node_api.h>
#include <smallpeer/smallpeer.h>
#include <stdbool.h>
#include <stdint.h>

#include "handles.h"

typedef struct async_call async_call;

/* One kind of async call. */
typedef struct {
  /* libuv pool thread: the C call on c->d with c's arguments, its results into c's out fields. */
  sp_status_t (*execute)(async_call* c);
  /* JS thread, after success: the Promise's value; NULL resolves undefined. */
  napi_value (*resolve)(napi_env env, async_call* c);
} async_op;

struct async_call {
  const async_op* op;
  sp_ditto_t* d; /* the C handle, alive while the call is queued; NULL for a process-wide call */
  char* s1;      /* string arguments (malloc'd, owned by the call) */
  char* s2;
  int32_t i1;
  char* out_str; /* results; out_str is owned by the C library (sp_free) */
  bool out_bool;
  int64_t out_int;
  /* Bookkeeping, async.c only. */
  ditto_handle* h;     /* NULL for a process-wide call */
  napi_ref handle_ref; /* keeps the Ditto object (and so d) alive while queued */
  napi_deferred deferred;
  napi_async_work work;
  sp_status_t status;
  char* message; /* sp_last_error_message() of the pool thread, copied */
};

/**
 * Queues op on the open Ditto h (whose object is handle_obj), or process-wide when h is NULL, with
 * arguments s1, s2 (taken: freed on every path) and i1. Returns the Promise, or NULL after throwing.
 */
napi_value async_queue(napi_env env, napi_value handle_obj, ditto_handle* h, const async_op* op, char* s1, char* s2, int32_t i1);
/** Resolves with c->out_str (NULL becomes ""). */
napi_value async_resolve_string(napi_env env, async_call* c);
/** Resolves with c->out_bool. */
napi_value async_resolve_bool(napi_env env, async_call* c);
/** Resolves with c->out_int. */
napi_value async_resolve_int(napi_env env, async_call* c);
