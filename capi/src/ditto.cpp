// sp_ditto_*: opening, closing and identifying a small peer.
#include <fmt/format.h>
#include <simdjson.h>

#include <atomic>

#include "convert.h"
#include "guard.h"
#include "smallpeer/smallpeer_diagnostics.h"

using namespace smallpeer;
using namespace smallpeer::capi;

namespace {
std::atomic<int64_t> live_handles{0};

std::string_view string_field(simdjson::dom::element value, std::string_view key) {
  std::string_view s;
  if (value.get(s)) throw Error(ErrorCode::invalid_argument, fmt::format("config field '{}' must be a string", key));
  return s;
}

IdentityConfig parse_identity(simdjson::dom::element value) {
  simdjson::dom::object obj;
  if (value.get(obj)) throw Error(ErrorCode::invalid_argument, "config field 'identity' must be an object");
  IdentityConfig id;
  std::string_view type = "offline_playground";
  for (auto field : obj) {
    if (field.key == "type") {
      type = string_field(field.value, "identity.type");
    } else if (field.key == "app_id") {
      id.app_id = string_field(field.value, "identity.app_id");
    } else if (field.key == "token") {
      id.token = string_field(field.value, "identity.token");
    } else {
      throw Error(ErrorCode::invalid_argument, fmt::format("unknown identity field '{}'", std::string_view(field.key)));
    }
  }
  if (type == "offline_playground") {
    id.kind = IdentityConfig::Kind::offline_playground;
  } else if (type == "online_playground") {
    id.kind = IdentityConfig::Kind::online_playground;
  } else {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("unknown identity type '{}'; expected offline_playground or online_playground", type));
  }
  return id;
}

DittoConfig parse_config(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (auto err = parser.parse(json.data(), json.size()).get(obj)) {
    throw Error(ErrorCode::invalid_argument, fmt::format("config must be a JSON object: {}", simdjson::error_message(err)));
  }
  DittoConfig config;
  for (auto field : obj) {
    const std::string_view key = field.key;
    if (key == "persistence_dir") {
      config.persistence_dir = std::string(string_field(field.value, key));
    } else if (key == "identity") {
      config.identity = parse_identity(field.value);
    } else if (key == "device_name") {
      config.device_name = std::string(string_field(field.value, key));
    } else if (key == "sdk_language") {
      config.sdk_language = std::string(string_field(field.value, key));
    } else {
      throw Error(ErrorCode::invalid_argument, fmt::format("unknown config field '{}'", key));
    }
  }
  if (config.persistence_dir.empty()) throw Error(ErrorCode::invalid_argument, "config field 'persistence_dir' is required");
  return config;
}
}  // namespace

extern "C" {

SP_API int32_t sp_abi_version(void) {
  return SP_ABI_VERSION;
}

SP_API const char* sp_version(void) {
  return SMALLPEER_VERSION;
}

SP_API sp_status_t sp_ditto_open(const char* config_json, sp_ditto_t** out_ditto) {
  return guard([&] {
    require_out(out_ditto, "out_ditto");
    auto config = parse_config(required(config_json, "config_json"));
    auto handle = std::make_unique<sp_ditto>();
    handle->ditto = Ditto::open(std::move(config));
    ++live_handles;
    *out_ditto = handle.release();
  });
}

SP_API sp_status_t sp_ditto_close(sp_ditto_t* ditto) {
  return guard([&] { engine(ditto).close(); });
}

SP_API void sp_ditto_free(sp_ditto_t* ditto) {
  if (ditto == nullptr) return;
  std::unique_ptr<sp_ditto> owned(ditto);
  guard([&] { owned->ditto->close(); });
  --live_handles;
}

SP_API int64_t sp_ditto_live_handles(void) {
  return live_handles.load();
}

SP_API sp_status_t sp_ditto_peer_key(sp_ditto_t* ditto, char** out_peer_key) {
  return guard([&] {
    require_out(out_peer_key, "out_peer_key");
    *out_peer_key = to_c_string(engine(ditto).peer_key());
  });
}

}  // extern "C"
