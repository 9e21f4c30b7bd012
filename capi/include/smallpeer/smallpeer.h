/*
 * smallpeer.h — the one stable C ABI of the SmallPeer engine.
 *
 * Rules (SPEC section 2):
 * - Pure C99. Opaque handles only; every constructor has one NULL-safe release function.
 * - Every fallible call returns sp_status_t (0 = SP_OK). Outputs are out-parameters, written only
 *   on success. On failure, sp_last_error_message() explains it (thread-local).
 * - Strings are UTF-8 and NUL-terminated; a string argument that is not valid UTF-8 is
 *   SP_ERR_INVALID_ARGUMENT. A string or buffer returned through an out-parameter is
 *   owned by the caller: free it with sp_free.
 * - Configuration that may grow crosses as JSON text.
 * - Callbacks take (void *userdata, ...), register with a userdata free function and return a
 *   token; after sp_token_free returns, the callback is not running and never runs again, and the
 *   userdata free function has been called. The userdata free function (if not NULL) runs exactly
 *   once on every path: after sp_token_free, or before a registration call that fails returns
 *   (a NULL callback, a closed handle, a bad argument). A binding hands ownership of userdata to
 *   the registration call and never frees it itself. Callbacks run on an engine thread, one at a time per
 *   token, in order; they may call back into this API.
 * - Enum and status values are explicit and only ever appended.
 * - Thread-safe: any handle may be used from any thread.
 * - The exported functions are exactly those in capi/exports.txt; a function declared here must be
 *   listed there (ctest capi_exports_match checks). smallpeer_diagnostics.h holds test helpers
 *   that are exported but not part of this stable contract.
 */
#ifndef SMALLPEER_SMALLPEER_H
#define SMALLPEER_SMALLPEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The library's own build defines SP_BUILDING_LIBRARY and exports; its users import. */
#if defined(_WIN32) && defined(SP_BUILDING_LIBRARY)
#define SP_API __declspec(dllexport)
#elif defined(_WIN32)
#define SP_API __declspec(dllimport)
#else
#define SP_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** The ABI version this header describes; bindings compare it with sp_abi_version() at load. */
#define SP_ABI_VERSION 1

/* ---- Status codes ------------------------------------------------------------------------ */

/** Result of every fallible call: SP_OK or one of the SP_ERR_* codes. */
typedef int32_t sp_status_t;

#define SP_OK 0
/** A parameter is malformed: NULL, empty, an unknown enum value, JSON of the wrong shape. */
#define SP_ERR_INVALID_ARGUMENT 1
/** Well-formed input breaks a documented limit (metadata size or depth, document shape). */
#define SP_ERR_VALIDATION 2
/** The document or id does not exist. */
#define SP_ERR_NOT_FOUND 3
/** The handle was closed. */
#define SP_ERR_CLOSED 4
/** The file system refused (permissions, missing directory, disk full). */
#define SP_ERR_IO 5
/** The persistence directory is used by another open instance (this process or another). */
#define SP_ERR_LOCKED 6
/** The storage engine failed. */
#define SP_ERR_STORE 7
/** An internal error: a bug. */
#define SP_ERR_INTERNAL 8

/* ---- Enumerations ------------------------------------------------------------------------ */

/** Sync scopes; Small Peer Info accepts only LOCAL_PEER_ONLY and BIG_PEER_ONLY. */
typedef int32_t sp_sync_scope_t;
#define SP_SYNC_SCOPE_LOCAL_PEER_ONLY 0
#define SP_SYNC_SCOPE_BIG_PEER_ONLY 1
#define SP_SYNC_SCOPE_ALL_PEERS 2
#define SP_SYNC_SCOPE_SMALL_PEERS_ONLY 3

/** Log levels, most severe first. */
typedef int32_t sp_log_level_t;
#define SP_LOG_ERROR 1
#define SP_LOG_WARNING 2
#define SP_LOG_INFO 3
#define SP_LOG_DEBUG 4
#define SP_LOG_VERBOSE 5

/** What happened to a document, as told to a store observer. */
typedef int32_t sp_change_kind_t;
#define SP_CHANGE_UPSERT 0
#define SP_CHANGE_REMOVE 1

/* ---- Handles ----------------------------------------------------------------------------- */

/** An open small peer. */
typedef struct sp_ditto sp_ditto_t;
/** A registered callback; sp_token_free unregisters it. */
typedef struct sp_token sp_token_t;

/** Frees userdata when its callback is unregistered; may be NULL. */
typedef void (*sp_userdata_free_fn)(void* userdata);
/** Told about each committed change (store and fleet observers); `document_json` is NULL on remove. Runs on an engine
 * thread. */
typedef void (*sp_store_observer_fn)(void* userdata, const char* collection, const char* id, sp_change_kind_t kind,
                                     const char* document_json);

/* ---- Library ----------------------------------------------------------------------------- */

/** The ABI version of the loaded library (compare with SP_ABI_VERSION). */
SP_API int32_t sp_abi_version(void);
/** The library version, e.g. "0.1.0". Static storage: do not free. */
SP_API const char* sp_version(void);
/** Why the last failed call on this thread failed; "" if none. Valid until the next call on this thread; do not free. */
SP_API const char* sp_last_error_message(void);
/** Frees a string or buffer this library returned. NULL is allowed. */
SP_API void sp_free(void* ptr);
/** Unregisters a callback: when it returns the callback is not running and never runs again. NULL is allowed. */
SP_API void sp_token_free(sp_token_t* token);

/* ---- Small peer -------------------------------------------------------------------------- */

/**
 * Opens a small peer. `config_json` is an object:
 *   {"persistence_dir": "/path",                      required
 *    "identity": {"type": "offline_playground", "app_id": "..."}        default
 *              | {"type": "online_playground", "app_id": "...", "token": "..."},
 *    "device_name": "...",                            optional, default: host name
 *    "sdk_language": "C"}                             Swift, Kotlin, Java, JavaScript, Python, C or C++
 * Unknown keys are refused. SP_ERR_LOCKED if another open instance uses the directory; SP_ERR_IO
 * if it cannot be written. On success *out_ditto is released with sp_ditto_free.
 */
SP_API sp_status_t sp_ditto_open(const char* config_json, sp_ditto_t** out_ditto);
/** Stops background work and closes the store; later calls on the handle fail with SP_ERR_CLOSED. Idempotent. */
SP_API sp_status_t sp_ditto_close(sp_ditto_t* ditto);
/** Closes (if needed) and releases the handle. NULL is allowed. */
SP_API void sp_ditto_free(sp_ditto_t* ditto);
/** This peer's key. *out_peer_key is owned by the caller: free it with sp_free. */
SP_API sp_status_t sp_ditto_peer_key(sp_ditto_t* ditto, char** out_peer_key);

/* ---- Small Peer Info --------------------------------------------------------------------- */

/** Turns Small Peer Info on (a document is written at once, then every interval) or off (default). */
SP_API sp_status_t sp_spi_set_enabled(sp_ditto_t* ditto, bool enabled);
/** Whether Small Peer Info is on. */
SP_API sp_status_t sp_spi_get_enabled(sp_ditto_t* ditto, bool* out_enabled);
/** Sets the SPI sync scope: SP_SYNC_SCOPE_LOCAL_PEER_ONLY (default) or SP_SYNC_SCOPE_BIG_PEER_ONLY. */
SP_API sp_status_t sp_spi_set_sync_scope(sp_ditto_t* ditto, sp_sync_scope_t scope);
/** The SPI sync scope. */
SP_API sp_status_t sp_spi_get_sync_scope(sp_ditto_t* ditto, sp_sync_scope_t* out_scope);
/** Sets the app metadata: a JSON object, at most 128 KB minified, at most 64 levels deep (SP_ERR_VALIDATION otherwise, as
 * Ditto's validation error: not JSON, not an object, too big, too deep; the old metadata stays). */
SP_API sp_status_t sp_spi_set_metadata_json(sp_ditto_t* ditto, const char* metadata_json);
/** The app metadata as minified JSON. *out_json is owned by the caller: free it with sp_free. */
SP_API sp_status_t sp_spi_get_metadata_json(sp_ditto_t* ditto, char** out_json);
/** Sets the device name reported in the document (1-256 bytes). */
SP_API sp_status_t sp_spi_set_device_name(sp_ditto_t* ditto, const char* device_name);
/** The device name. *out_name is owned by the caller: free it with sp_free. */
SP_API sp_status_t sp_spi_get_device_name(sp_ditto_t* ditto, char** out_name);
/** Sets the collection interval in milliseconds (default 300000, at least 1000). */
SP_API sp_status_t sp_spi_set_collection_interval_ms(sp_ditto_t* ditto, int64_t interval_ms);
/** The collection interval in milliseconds. */
SP_API sp_status_t sp_spi_get_collection_interval_ms(sp_ditto_t* ditto, int64_t* out_interval_ms);
/** Builds and writes the SPI document now (enabled or not). If out_json is not NULL it receives the document; free it with
 * sp_free. */
SP_API sp_status_t sp_spi_collect_now(sp_ditto_t* ditto, char** out_json);
/** The last written SPI document (SP_ERR_NOT_FOUND before the first write). Free *out_json with sp_free. */
SP_API sp_status_t sp_spi_get_document(sp_ditto_t* ditto, char** out_json);
/** Turns on (or off, the default) sending this device's Small Peer Info document straight to an admin device met on the LAN
 * that proves a valid grant (docs/SYNC.md "Admin devices"); persisted. */
SP_API sp_status_t sp_spi_set_share_with_admin_devices(sp_ditto_t* ditto, bool share);
/** Whether the document goes to admin devices met on the LAN. */
SP_API sp_status_t sp_spi_get_share_with_admin_devices(sp_ditto_t* ditto, bool* out_share);
/** True while this device holds a valid, unexpired, unrevoked admin grant from its Big Peer (docs/SYNC.md "Admin
 * devices"). */
SP_API sp_status_t sp_spi_is_admin_device(sp_ditto_t* ditto, bool* out_is_admin);
/** Pins the Big Peer's admin signing public key ("ask" + 43 base64url characters, as GET /api/v1/admin-devices shows it)
 * from the app's configuration; persisted. Admin grants are then checked against it only, whatever key a Big Peer sends.
 * NULL or "" forgets it (and the key learned from the Big Peer): the next Big Peer session teaches it again. A malformed
 * key is SP_ERR_INVALID_ARGUMENT and changes nothing. */
SP_API sp_status_t sp_spi_set_admin_signing_key(sp_ditto_t* ditto, const char* signing_key);
/** The admin signing key this device checks grants with (the configured one, else the one its Big Peer sent), or "" before
 * either. Free *out_key with sp_free. */
SP_API sp_status_t sp_spi_get_admin_signing_key(sp_ditto_t* ditto, char** out_key);
/** On an admin device, the fleet's Small Peer Info documents (each device's newest, from the Big Peer or carried from
 * the field) as a JSON array ordered by _id ("[]" on any other device). Free *out_json with sp_free. */
SP_API sp_status_t sp_spi_get_fleet_json(sp_ditto_t* ditto, char** out_json);
/** The collection that holds the fleet's Small Peer Info from the Big Peer on an admin device (query it with
 * sp_store_execute). */
#define SP_FLEET_COLLECTION "__small_peer_info_fleet"
/** Observes the fleet until sp_token_free(*out_token): after each change, the device's (`id`, its peer key) newest document
 * from either source, with collection SP_FLEET_COLLECTION, or SP_CHANGE_REMOVE once the admin device holds none for it. */
SP_API sp_status_t sp_spi_observe_fleet(sp_ditto_t* ditto, sp_store_observer_fn callback, void* userdata,
                                        sp_userdata_free_fn userdata_free, sp_token_t** out_token);

/* ---- Store ------------------------------------------------------------------------------- */

/** Inserts or replaces a document (a JSON object; "_id" a string or absent, then generated) in a user collection. If out_id is
 * not NULL it receives the _id; free it with sp_free. */
SP_API sp_status_t sp_store_upsert(sp_ditto_t* ditto, const char* collection, const char* document_json, char** out_id);
/** A live document by _id (SP_ERR_NOT_FOUND if absent). Free *out_json with sp_free. */
SP_API sp_status_t sp_store_get(sp_ditto_t* ditto, const char* collection, const char* id, char** out_json);
/** Up to `limit` (1-1000) live documents with _id after `after_id` (NULL for the first page), ordered by _id, as
 * {"documents":[...],"next_after":"id"|null}. Free *out_json with sp_free. */
SP_API sp_status_t sp_store_find_all(sp_ditto_t* ditto, const char* collection, int32_t limit, const char* after_id,
                                     char** out_json);
/** Runs a read-only DQL query (docs/QUERY.md) over any collection, binding :name arguments from `args_json` (a JSON object,
 * or NULL for none), as {"items":[...]}. A bad query is SP_ERR_INVALID_ARGUMENT naming the problem and its position.
 * Free *out_json with sp_free. */
SP_API sp_status_t sp_store_execute(sp_ditto_t* ditto, const char* query, const char* args_json, char** out_json);
/** Removes a document from a user collection (leaving a tombstone); *out_removed (may be NULL) says whether one was there. */
SP_API sp_status_t sp_store_remove(sp_ditto_t* ditto, const char* collection, const char* id, bool* out_removed);
/** The user collections that hold documents, as a JSON array of names. Free *out_json with sp_free. */
SP_API sp_status_t sp_store_collection_names(sp_ditto_t* ditto, char** out_json);

/** Observes a collection until sp_token_free(*out_token). */
SP_API sp_status_t sp_store_observe(sp_ditto_t* ditto, const char* collection, sp_store_observer_fn callback, void* userdata,
                                    sp_userdata_free_fn userdata_free, sp_token_t** out_token);

/** Sets a user collection's sync scope (default SP_SYNC_SCOPE_ALL_PEERS); persisted. System collections are refused. */
SP_API sp_status_t sp_store_set_collection_scope(sp_ditto_t* ditto, const char* collection, sp_sync_scope_t scope);
/** A collection's sync scope (for "__small_peer_info": the Small Peer Info scope). */
SP_API sp_status_t sp_store_get_collection_scope(sp_ditto_t* ditto, const char* collection, sp_sync_scope_t* out_scope);

/* ---- Sync ---------------------------------------------------------------------------------- */

/**
 * Sets (and persists) where this peer connects and listens:
 *   {"big_peer": {"urls": ["ws://127.0.0.1:8080/sync"]},
 *    "lan": {"listen": "127.0.0.1:0" | null, "connect": ["127.0.0.1:4040"]}}
 * A URL or address that does not parse is SP_ERR_INVALID_ARGUMENT and changes nothing. Plain
 * ws:// is accepted for loopback hosts only. Applies at once if sync is running.
 */
SP_API sp_status_t sp_sync_set_transport_config(sp_ditto_t* ditto, const char* config_json);
/** The active transport configuration. Free *out_json with sp_free. */
SP_API sp_status_t sp_sync_get_transport_config(sp_ditto_t* ditto, char** out_json);
/** Starts sync: listens and connects, reconnecting with back-off. Big Peer URLs need an online playground identity. */
SP_API sp_status_t sp_sync_start(sp_ditto_t* ditto);
/** Stops sync and closes every connection. */
SP_API sp_status_t sp_sync_stop(sp_ditto_t* ditto);
/** Whether sync is running. */
SP_API sp_status_t sp_sync_is_running(sp_ditto_t* ditto, bool* out_running);
/** The bound LAN TCP port (useful with "listen": "127.0.0.1:0"), or 0 when not listening. */
SP_API sp_status_t sp_sync_lan_port(sp_ditto_t* ditto, int32_t* out_port);

/* ---- Presence ------------------------------------------------------------------------------ */

/**
 * The live connections as JSON:
 *   {"local_peer_key": "...", "is_connected_to_big_peer": false,
 *    "connections_by_transport": {"AccessPoint": 0, ...},
 *    "peers": [{"peer_key", "device_name", "transport", "is_big_peer"}],
 *    "big_peer_connection_history": [{"event", "timestamp", "reason"?}]}
 * Free *out_json with sp_free.
 */
SP_API sp_status_t sp_presence_get_json(sp_ditto_t* ditto, char** out_json);

/* ---- Logger (process-wide, like Ditto's DittoLogger) --------------------------------------- */
/* These settings govern console, log-file and callback output only; each instance always keeps
 * its own rotating engine log files (debug and above), which sp_ditto_export_logs reads. */

/** Turns log output on (default) or off. */
SP_API sp_status_t sp_logger_set_enabled(bool enabled);
/** Whether log output is on. */
SP_API sp_status_t sp_logger_get_enabled(bool* out_enabled);
/** Shows only messages at `level` or more severe (default SP_LOG_INFO). */
SP_API sp_status_t sp_logger_set_minimum_level(sp_log_level_t level);
/** The minimum level shown. */
SP_API sp_status_t sp_logger_get_minimum_level(sp_log_level_t* out_level);
/** Also appends shown messages to the file at `path`; NULL stops that. */
SP_API sp_status_t sp_logger_set_log_file(const char* path);
/** Turns the console (stderr) output on (default) or off. */
SP_API sp_status_t sp_logger_set_console_enabled(bool enabled);

/** Receives each shown message. Runs on an engine thread. */
typedef void (*sp_log_callback_fn)(void* userdata, sp_log_level_t level, const char* message);
/** Adds a custom log callback until sp_token_free(*out_token). */
SP_API sp_status_t sp_logger_add_callback(sp_log_callback_fn callback, void* userdata, sp_userdata_free_fn userdata_free,
                                          sp_token_t** out_token);

/** Writes a message to this instance's engine log (and to the log output, if it passes). */
SP_API sp_status_t sp_ditto_log(sp_ditto_t* ditto, sp_log_level_t level, const char* message);
/**
 * Exports this instance's engine logs to `path` as gzip JSON Lines. `options_json` may be NULL
 * (every line) or a log filter, every field optional and null meaning absent:
 * {"min_level": "debug" (default), "since": "RFC 3339", "until": "RFC 3339", "max_bytes": N >= 1};
 * the Big Peer's log requests take the same fields by the same rules (README "Logs"). If out_lines
 * is not NULL it receives the number of lines written.
 */
SP_API sp_status_t sp_ditto_export_logs(sp_ditto_t* ditto, const char* path, const char* options_json, uint64_t* out_lines);
/**
 * Exports the engine logs of every instance open in this process (Ditto's
 * DittoLogger.exportToFile) to `path` as one gzip JSON Lines file, oldest line first.
 * `options_json` as for sp_ditto_export_logs (NULL: every line at debug and above). With no
 * instance open it writes an empty export. If out_bytes is not NULL it receives the bytes written.
 */
SP_API sp_status_t sp_logger_export_to_file(const char* path, const char* options_json, uint64_t* out_bytes);
/**
 * Sends this instance's engine logs to the Big Peer on the app's own initiative (a "send logs to
 * support" button): builds a gzip JSON Lines bundle now (`options_json` as for
 * sp_ditto_export_logs), keeps it in the persistence directory, and uploads it at once if the Big
 * Peer is connected, else when it next connects; an interrupted upload resumes. If
 * out_request_id is not NULL it receives the log request id the Big Peer lists it under
 * ("dev_..."); free it with sp_free.
 */
SP_API sp_status_t sp_ditto_send_logs(sp_ditto_t* ditto, const char* options_json, char** out_request_id);

#ifdef __cplusplus
}
#endif

#endif /* SMALLPEER_SMALLPEER_H */
