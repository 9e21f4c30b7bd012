// sp_spi_*: Small Peer Info settings and collection.
#include "callbacks.h"
#include "convert.h"
#include "guard.h"
#include "rules/sync_scope.h"

using namespace smallpeer;
using namespace smallpeer::capi;

extern "C" {

SP_API sp_status_t sp_spi_set_enabled(sp_ditto_t* ditto, bool enabled) {
  return guard([&] { engine(ditto).small_peer_info().set_enabled(enabled); });
}

SP_API sp_status_t sp_spi_get_enabled(sp_ditto_t* ditto, bool* out_enabled) {
  return guard([&] {
    require_out(out_enabled, "out_enabled");
    *out_enabled = engine(ditto).small_peer_info().enabled();
  });
}

SP_API sp_status_t sp_spi_set_sync_scope(sp_ditto_t* ditto, sp_sync_scope_t scope) {
  return guard([&] {
    auto& spi = engine(ditto).small_peer_info();
    spi.set_sync_scope(sync_scope_from_int(scope));
  });
}

SP_API sp_status_t sp_spi_get_sync_scope(sp_ditto_t* ditto, sp_sync_scope_t* out_scope) {
  return guard([&] {
    require_out(out_scope, "out_scope");
    *out_scope = static_cast<sp_sync_scope_t>(engine(ditto).small_peer_info().sync_scope());
  });
}

SP_API sp_status_t sp_spi_set_metadata_json(sp_ditto_t* ditto, const char* metadata_json) {
  return guard([&] { engine(ditto).small_peer_info().set_metadata_json(required(metadata_json, "metadata_json")); });
}

SP_API sp_status_t sp_spi_get_metadata_json(sp_ditto_t* ditto, char** out_json) {
  return guard([&] {
    require_out(out_json, "out_json");
    *out_json = to_c_string(engine(ditto).small_peer_info().metadata_json());
  });
}

SP_API sp_status_t sp_spi_set_device_name(sp_ditto_t* ditto, const char* device_name) {
  return guard([&] { engine(ditto).small_peer_info().set_device_name(required(device_name, "device_name")); });
}

SP_API sp_status_t sp_spi_get_device_name(sp_ditto_t* ditto, char** out_name) {
  return guard([&] {
    require_out(out_name, "out_name");
    *out_name = to_c_string(engine(ditto).small_peer_info().device_name());
  });
}

SP_API sp_status_t sp_spi_set_collection_interval_ms(sp_ditto_t* ditto, int64_t interval_ms) {
  return guard([&] { engine(ditto).small_peer_info().set_interval(std::chrono::milliseconds(interval_ms)); });
}

SP_API sp_status_t sp_spi_get_collection_interval_ms(sp_ditto_t* ditto, int64_t* out_interval_ms) {
  return guard([&] {
    require_out(out_interval_ms, "out_interval_ms");
    *out_interval_ms = engine(ditto).small_peer_info().interval().count();
  });
}

SP_API sp_status_t sp_spi_collect_now(sp_ditto_t* ditto, char** out_json) {
  return guard([&] {
    auto doc = engine(ditto).small_peer_info().collect_now();
    if (out_json != nullptr) *out_json = to_c_string(doc);
  });
}

SP_API sp_status_t sp_spi_get_document(sp_ditto_t* ditto, char** out_json) {
  return guard([&] {
    require_out(out_json, "out_json");
    auto doc = engine(ditto).small_peer_info().current_document();
    if (!doc) throw Error(ErrorCode::not_found, "no small peer info document has been written yet");
    *out_json = to_c_string(*doc);
  });
}

SP_API sp_status_t sp_spi_set_share_with_admin_devices(sp_ditto_t* ditto, bool share) {
  return guard([&] { engine(ditto).small_peer_info().set_share_with_admin_devices(share); });
}

SP_API sp_status_t sp_spi_get_share_with_admin_devices(sp_ditto_t* ditto, bool* out_share) {
  return guard([&] {
    require_out(out_share, "out_share");
    *out_share = engine(ditto).small_peer_info().share_with_admin_devices();
  });
}

SP_API sp_status_t sp_spi_is_admin_device(sp_ditto_t* ditto, bool* out_is_admin) {
  return guard([&] {
    require_out(out_is_admin, "out_is_admin");
    *out_is_admin = engine(ditto).is_admin_device();
  });
}

SP_API sp_status_t sp_spi_set_admin_signing_key(sp_ditto_t* ditto, const char* signing_key) {
  return guard([&] {
    std::optional<std::string_view> key;
    if (signing_key != nullptr && *signing_key != '\0') key = signing_key;
    engine(ditto).set_admin_signing_key(key);
  });
}

SP_API sp_status_t sp_spi_get_admin_signing_key(sp_ditto_t* ditto, char** out_key) {
  return guard([&] {
    require_out(out_key, "out_key");
    *out_key = to_c_string(engine(ditto).admin_signing_key().value_or(""));
  });
}

SP_API sp_status_t sp_spi_get_fleet_json(sp_ditto_t* ditto, char** out_json) {
  return guard([&] {
    require_out(out_json, "out_json");
    *out_json = to_c_string(engine(ditto).fleet_json());
  });
}

SP_API sp_status_t sp_spi_observe_fleet(sp_ditto_t* ditto, sp_store_observer_fn callback, void* userdata,
                                        sp_userdata_free_fn userdata_free, sp_token_t** out_token) {
  return guard([&] {
    observe_changes(ditto, callback, userdata, userdata_free, out_token,
                    [&](Store::Observer observer) { return engine(ditto).observe_fleet(std::move(observer)); });
  });
}

}  // extern "C"
