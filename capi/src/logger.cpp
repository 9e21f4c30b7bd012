// sp_logger_* and sp_ditto_log / sp_ditto_export_logs: log output settings and engine logs.
#include <fmt/format.h>
#include <simdjson.h>

#include <cstring>

#include "callbacks.h"
#include "guard.h"
#include "log/log.h"

using namespace smallpeer;
using namespace smallpeer::capi;

namespace {
LogLevel level_from(sp_log_level_t value) {
  if (!is_valid_log_level(value))
    throw Error(ErrorCode::invalid_argument, fmt::format("unknown log level {}; expected 1 (error) to 5 (verbose)", value));
  return static_cast<LogLevel>(value);
}

LogExportOptions parse_export_options(const char* json) {
  LogExportOptions options;
  if (json == nullptr) return options;
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (auto err = parser.parse(json, std::strlen(json)).get(obj))
    throw Error(ErrorCode::invalid_argument,
                fmt::format("export options must be a JSON object: {}", simdjson::error_message(err)));
  for (auto field : obj) {
    const std::string_view key = field.key;
    std::string_view text;
    if (key == "min_level") {
      if (field.value.get(text)) throw Error(ErrorCode::invalid_argument, "min_level must be a string");
      const auto level = parse_log_level(text);
      if (!level)
        throw Error(ErrorCode::invalid_argument,
                    fmt::format("unknown log level '{}'; expected error, warning, info, debug or verbose", text));
      options.min_level = *level;
    } else if (key == "since" || key == "until") {
      if (field.value.get(text)) throw Error(ErrorCode::invalid_argument, fmt::format("{} must be an RFC 3339 string", key));
      const auto t = parse_rfc3339(text);
      if (!t) throw Error(ErrorCode::invalid_argument, fmt::format("{} '{}' is not an RFC 3339 time", key, text));
      (key == "since" ? options.since : options.until) = *t;
    } else if (key == "max_bytes") {
      uint64_t n = 0;
      if (field.value.get(n) || n == 0) throw Error(ErrorCode::invalid_argument, "max_bytes must be a positive integer");
      options.max_bytes = n;
    } else {
      throw Error(ErrorCode::invalid_argument, fmt::format("unknown export option '{}'", key));
    }
  }
  if (options.since && options.until && *options.since > *options.until)
    throw Error(ErrorCode::invalid_argument, "since is after until");
  return options;
}
}  // namespace

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
  return guard([&] { UserLogOutput::instance().set_minimum_level(level_from(level)); });
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
    require_out(out_token, "out_token");
    if (callback == nullptr) throw Error(ErrorCode::invalid_argument, "callback is NULL");
    auto queue = std::make_shared<CallbackQueue>(userdata, userdata_free);
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

SP_API sp_status_t sp_ditto_log(sp_ditto_t* ditto, sp_log_level_t level, const char* message) {
  return guard([&] { engine(ditto).log(level_from(level), "app", required(message, "message")); });
}

SP_API sp_status_t sp_ditto_export_logs(sp_ditto_t* ditto, const char* path, const char* options_json, uint64_t* out_lines) {
  return guard([&] {
    const auto p = required(path, "path");
    if (p.empty()) throw Error(ErrorCode::invalid_argument, "path is empty");
    const auto result = engine(ditto).export_logs(std::filesystem::path(p), parse_export_options(options_json));
    if (out_lines != nullptr) *out_lines = result.lines;
  });
}

SP_API sp_status_t sp_ditto_send_logs(sp_ditto_t* ditto, const char* options_json, char** out_request_id) {
  return guard([&] {
    const auto id = engine(ditto).send_logs(parse_export_options(options_json));
    if (out_request_id != nullptr) *out_request_id = to_c_string(id);
  });
}

}  // extern "C"
