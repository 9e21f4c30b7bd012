// sp_ditto_log, sp_ditto_export_logs, sp_ditto_send_logs: an instance's own engine log;
// sp_logger_export_to_file: every open instance's.
#include "convert.h"
#include "guard.h"
#include "log/engine_log.h"
#include "log/log_filter.h"

using namespace smallpeer;
using namespace smallpeer::capi;

namespace {
// The options JSON is a log filter: one parser and one set of rules with the Big Peer's HTTP API and
// the LOG_REQUEST frame (core/log/log_filter.h). NULL means every default.
LogFilter filter_from(const char* options_json) {
  return options_json == nullptr ? LogFilter{} : parse_log_filter(options_json);
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
    const auto result = engine(ditto).export_logs(std::filesystem::path(p), filter_from(options_json));
    if (out_lines != nullptr) *out_lines = result.lines;
  });
}

SP_API sp_status_t sp_logger_export_to_file(const char* path, const char* options_json, uint64_t* out_bytes) {
  return guard([&] {
    const auto p = required(path, "path");
    if (p.empty()) throw Error(ErrorCode::invalid_argument, "path is empty");
    const auto result = Ditto::export_open_instances_logs(std::filesystem::path(p), filter_from(options_json));
    if (out_bytes != nullptr) *out_bytes = result.compressed_bytes;
  });
}

SP_API sp_status_t sp_ditto_send_logs(sp_ditto_t* ditto, const char* options_json, char** out_request_id) {
  return guard([&] {
    const auto id = engine(ditto).send_logs(filter_from(options_json));
    if (out_request_id != nullptr) *out_request_id = to_c_string(id);
  });
}

}  // extern "C"
