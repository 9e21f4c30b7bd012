/*
 * The addon's shared declarations: the per-environment state and each API area's export table.
 *
 * Layout (modelled on duckdb-node-neo's bindings/src): errors.c turns statuses into JS errors,
 * convert.c converts arguments and results, handles.c owns the lifetime of wrapped native handles,
 * async.c runs calls on the libuv pool behind a Promise, callbacks.c brings engine-thread callbacks
 * to JS, calls.c holds the call shapes several areas share, and one api_<area>.c per section of
 * smallpeer.h holds that area's exported functions. addon.c registers them.
 */
#pragma once

#include <node_api.h>
#include <smallpeer/smallpeer.h>

#include "callbacks.h"

typedef struct ditto_handle ditto_handle;

/* One per napi_env (main thread or worker); everything in it is touched on that env's JS thread only. */
typedef struct {
  napi_ref error_class;  /* the DittoError constructor from index.js, or NULL */
  ditto_handle* dittos;  /* every Ditto handle not yet finalized */
  callback_list loggers; /* every registered log callback not yet unlinked */
} addon_state;

/** This environment's addon state. */
addon_state* get_state(napi_env env);

/* One exported function; a table ends with {NULL, NULL}. The exports are internal: js/index.js is their only caller. */
typedef struct {
  const char* name;
  napi_callback fn;
} addon_export;

/* The export tables, one per API area, in the order addon.c registers them. */
extern const addon_export kLibraryExports[];
extern const addon_export kDittoExports[];
extern const addon_export kSpiExports[];
extern const addon_export kStoreExports[];
extern const addon_export kSyncExports[];
extern const addon_export kPresenceExports[];
extern const addon_export kLoggerExports[];
