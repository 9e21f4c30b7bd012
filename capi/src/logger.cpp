// sp_logger_*: the process-wide log output the app governs (Ditto's DittoLogger).
#include "callbacks.h"
#include "convert.h"
#include "guard.h"
#include "log/user_log_output.h"

using namespace smallpeer;
using namespace smallpeer::capi;

extern "C" {

SP_API sp_status_t sp_logger_set_enabled(bool enabled) {
  return guard([&] { UserLogOutput::instance().set_enabled(enabled); });
}

SP_API sp_status_t sp_logger_get_enabled(bool* out_enabled) {
  return guard([&] {
    require_out(out_enabled, "out_enabled");
    *out_enabled = UserLogOutput::instance().enabled();
  });
}

SP_API sp_status_t sp_logger_set_minimum_level(sp_log_level_t level) {
  return guard([&] { UserLogOutput::instance().set_minimum_level(log_level_from(level)); });
}

SP_API sp_status_t sp_logger_get_minimum_level(sp_log_level_t* out_level) {
  return guard([&] {
    require_out(out_level, "out_level");
    *out_level = static_cast<sp_log_level_t>(UserLogOutput::instance().minimum_level());
  });
}

SP_API sp_status_t sp_logger_set_log_file(const char* path) {
  return guard([&] { UserLogOutput::instance().set_log_file(path ? std::optional<std::filesystem::path>(path) : std::nullopt); });
}

SP_API sp_status_t sp_logger_set_console_enabled(bool enabled) {
  return guard([&] { UserLogOutput::instance().set_console_enabled(enabled); });
}

SP_API sp_status_t sp_logger_add_callback(sp_log_callback_fn callback, void* userdata, sp_userdata_free_fn userdata_free,
                                          sp_token_t** out_token) {
  return guard([&] {
    auto queue = adopt_userdata(userdata, userdata_free);  // frees userdata if anything below throws
    require_out(out_token, "out_token");
    if (callback == nullptr) throw Error(ErrorCode::invalid_argument, "callback is NULL");
    const auto id = UserLogOutput::instance().add_callback([queue, callback](LogLevel level, std::string_view message) {
      queue->push([callback, level, text = std::string(message)](void* ud) {
        callback(ud, static_cast<sp_log_level_t>(level), text.c_str());
      });
    });
    auto token = std::make_unique<sp_token>();
    token->unregister = [id, queue] {
      UserLogOutput::instance().remove_callback(id);
      queue->close();
    };
    *out_token = token.release();
  });
}

}  // extern "C"
