/* Small Peer Info: enable, sync scope, metadata, device name, collection interval, collect now, the document,
 * and on an admin device the fleet. */
#include "addon.h"
#include "async.h"
#include "calls.h"
#include "convert.h"
#include "errors.h"
#include "handles.h"

static napi_value js_spi_set_enabled(napi_env env, napi_callback_info info) {
  return call_set_bool(env, info, sp_spi_set_enabled, "isEnabled");
}

static napi_value js_spi_get_enabled(napi_env env, napi_callback_info info) {
  return call_get_bool(env, info, sp_spi_get_enabled);
}

static sp_status_t set_sync_scope_execute(async_call* c) {
  return sp_spi_set_sync_scope(c->d, c->i1);
}
static const async_op kSetSyncScope = {set_sync_scope_execute, NULL};

/* spiSetSyncScope(h, scope) -> Promise<void>. */
static napi_value js_spi_set_sync_scope(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t scope;
  if (!get_args(env, info, &a, 2)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h || !get_int32(env, a.argv[1], "scope", &scope)) return NULL;
  return async_queue(env, a.argv[0], h, &kSetSyncScope, NULL, NULL, scope);
}

/* spiGetSyncScope(h) -> scope (held in memory by the engine: no pool work). */
static napi_value js_spi_get_sync_scope(napi_env env, napi_callback_info info) {
  args_t a;
  sp_sync_scope_t scope = 0;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  return failed(env, sp_spi_get_sync_scope(h->d, &scope)) ? NULL : make_int(env, scope);
}

static napi_value js_spi_set_metadata_json(napi_env env, napi_callback_info info) {
  return call_set_string(env, info, sp_spi_set_metadata_json, "metadataJSONString");
}
static napi_value js_spi_get_metadata_json(napi_env env, napi_callback_info info) {
  return call_get_string(env, info, sp_spi_get_metadata_json);
}
static napi_value js_spi_set_device_name(napi_env env, napi_callback_info info) {
  return call_set_string(env, info, sp_spi_set_device_name, "deviceName");
}
static napi_value js_spi_get_device_name(napi_env env, napi_callback_info info) {
  return call_get_string(env, info, sp_spi_get_device_name);
}

static napi_value js_spi_set_collection_interval_ms(napi_env env, napi_callback_info info) {
  args_t a;
  int64_t ms;
  if (!get_args(env, info, &a, 2)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h || !get_int64(env, a.argv[1], "collectionInterval", &ms)) return NULL;
  return failed(env, sp_spi_set_collection_interval_ms(h->d, ms)) ? NULL : undefined(env);
}

static napi_value js_spi_get_collection_interval_ms(napi_env env, napi_callback_info info) {
  args_t a;
  int64_t ms = 0;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  return failed(env, sp_spi_get_collection_interval_ms(h->d, &ms)) ? NULL : make_int(env, ms);
}

static sp_status_t collect_now_execute(async_call* c) {
  return sp_spi_collect_now(c->d, &c->out_str);
}
static const async_op kCollectNow = {collect_now_execute, async_resolve_string};

/* spiCollectNow(h) -> Promise<SPI document JSON>. */
static napi_value js_spi_collect_now(napi_env env, napi_callback_info info) {
  return call_async_handle_only(env, info, &kCollectNow);
}

/* spiGetDocument(h) -> SPI document JSON (SP_ERR_NOT_FOUND before the first write). One keyed read of
 * the store, synchronous like the metadata getters: `smallPeerInfo.document` is a property. */
static napi_value js_spi_get_document(napi_env env, napi_callback_info info) {
  return call_get_string(env, info, sp_spi_get_document);
}

/* spiSetShareWithAdminDevices(h, bool): send the document to admin devices met on the LAN. */
static napi_value js_spi_set_share_with_admin_devices(napi_env env, napi_callback_info info) {
  return call_set_bool(env, info, sp_spi_set_share_with_admin_devices, "shareWithAdminDevices");
}

/* spiGetShareWithAdminDevices(h) -> boolean. */
static napi_value js_spi_get_share_with_admin_devices(napi_env env, napi_callback_info info) {
  return call_get_bool(env, info, sp_spi_get_share_with_admin_devices);
}

/* spiIsAdminDevice(h) -> boolean: whether this device holds a valid admin grant. */
static napi_value js_spi_is_admin_device(napi_env env, napi_callback_info info) {
  return call_get_bool(env, info, sp_spi_is_admin_device);
}

/* spiSetAdminSigningKey(h, key): pins the admin signing key ("" forgets it). */
static napi_value js_spi_set_admin_signing_key(napi_env env, napi_callback_info info) {
  return call_set_string(env, info, sp_spi_set_admin_signing_key, "adminSigningKey");
}
/* spiGetAdminSigningKey(h) -> the key grants are checked with, or "" before there is one. */
static napi_value js_spi_get_admin_signing_key(napi_env env, napi_callback_info info) {
  return call_get_string(env, info, sp_spi_get_admin_signing_key);
}

/* spiGetFleetJSON(h) -> the fleet's documents as a JSON array ("[]" on a device that is no admin device). */
static napi_value js_spi_get_fleet_json(napi_env env, napi_callback_info info) {
  return call_get_string(env, info, sp_spi_get_fleet_json);
}

const addon_export kSpiExports[] = {
    {"spiSetEnabled", js_spi_set_enabled},
    {"spiGetEnabled", js_spi_get_enabled},
    {"spiSetSyncScope", js_spi_set_sync_scope},
    {"spiGetSyncScope", js_spi_get_sync_scope},
    {"spiSetMetadataJSON", js_spi_set_metadata_json},
    {"spiGetMetadataJSON", js_spi_get_metadata_json},
    {"spiSetDeviceName", js_spi_set_device_name},
    {"spiGetDeviceName", js_spi_get_device_name},
    {"spiSetCollectionIntervalMs", js_spi_set_collection_interval_ms},
    {"spiGetCollectionIntervalMs", js_spi_get_collection_interval_ms},
    {"spiCollectNow", js_spi_collect_now},
    {"spiGetDocument", js_spi_get_document},
    {"spiSetShareWithAdminDevices", js_spi_set_share_with_admin_devices},
    {"spiGetShareWithAdminDevices", js_spi_get_share_with_admin_devices},
    {"spiIsAdminDevice", js_spi_is_admin_device},
    {"spiGetFleetJSON", js_spi_get_fleet_json},
    {"spiSetAdminSigningKey", js_spi_set_admin_signing_key},
    {"spiGetAdminSigningKey", js_spi_get_admin_signing_key},
    {NULL, NULL},
};
