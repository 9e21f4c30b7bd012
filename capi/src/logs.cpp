// sp_ditto_log, sp_ditto_export_logs, sp_ditto_send_logs: an instance's own engine log.
#include <fmt/format.h>
#include <simdjson.h>

#include <cstring>

#include "convert.h"
#include "guard.h"
#include "log/engine_log.h"

using namespace smallpeer;
using namespace smallpeer::capi;

namespace {
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

SP_API sp_status_t sp_ditto_log(sp_ditto_t* ditto, sp_log_level_t level, const char* message) {
  return guard([&] { engine(ditto).log(log_level_from(level), "app", required(message, "message")); });
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
