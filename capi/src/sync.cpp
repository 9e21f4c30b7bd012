// sp_sync_* and sp_presence_*: replication and who is connected, as apps see it.
#include "common/json.h"
#include "convert.h"
#include "guard.h"

using namespace smallpeer;
using namespace smallpeer::capi;

extern "C" {

SP_API sp_status_t sp_sync_set_transport_config(sp_ditto_t* ditto, const char* config_json) {
  return guard([&] { engine(ditto).set_transport_config(required(config_json, "config_json")); });
}

SP_API sp_status_t sp_sync_get_transport_config(sp_ditto_t* ditto, char** out_json) {
  return guard([&] {
    require_out(out_json, "out_json");
    *out_json = to_c_string(engine(ditto).transport_config_json());
  });
}

SP_API sp_status_t sp_sync_start(sp_ditto_t* ditto) {
  return guard([&] { engine(ditto).start_sync(); });
}

SP_API sp_status_t sp_sync_stop(sp_ditto_t* ditto) {
  return guard([&] { engine(ditto).stop_sync(); });
}

SP_API sp_status_t sp_sync_is_running(sp_ditto_t* ditto, bool* out_running) {
  return guard([&] {
    require_out(out_running, "out_running");
    *out_running = engine(ditto).sync_running();
  });
}

SP_API sp_status_t sp_sync_lan_port(sp_ditto_t* ditto, int32_t* out_port) {
  return guard([&] {
    require_out(out_port, "out_port");
    *out_port = engine(ditto).lan_port();
  });
}

SP_API sp_status_t sp_presence_get_json(sp_ditto_t* ditto, char** out_json) {
  return guard([&] {
    require_out(out_json, "out_json");
    auto& d = engine(ditto);
    if (d.is_closed()) throw Error(ErrorCode::closed, "the Ditto instance is closed");
    const auto snapshot = d.presence().snapshot();
    JsonWriter w;
    w.begin_object()
        .key("local_peer_key")
        .value(d.peer_key())
        .key("is_connected_to_big_peer")
        .value(snapshot.connected_to_big_peer())
        .key("connections_by_transport")
        .begin_object();
    for (const auto& [transport, count] : snapshot.connections_by_transport()) w.key(to_string(transport)).value(uint64_t{count});
    w.end_object().key("peers");
    write_connected_peers(w, snapshot.peers, SIZE_MAX);
    w.key("big_peer_connection_history");
    write_big_peer_history(w, snapshot.big_peer_history);
    w.end_object();
    *out_json = to_c_string(w.str());
  });
}

}  // extern "C"
