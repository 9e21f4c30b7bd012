// Which engine log lines to keep: one type, one JSON parser and one set of rules for every surface
// that asks for log lines - the C ABI's export options (sp_ditto_export_logs, sp_ditto_send_logs),
// the Big Peer's HTTP API (POST /api/v1/devices/{peer_key}/log-requests) and the LOG_REQUEST frame.
//
// The JSON form is an object; every field is optional:
//   min_level  "error" | "warning" | "info" | "debug" | "verbose": keep lines at this level or more
//              severe. Default "debug": the engine's files hold debug and above, so the default
//              keeps every line (and "verbose" keeps the same lines).
//   since      RFC 3339 time: keep lines written at or after it.
//   until      RFC 3339 time: keep lines written at or before it. since after until is refused.
//   max_bytes  integer >= 1: a cap on the uncompressed bytes of the kept lines (each with its
//              newline); the newest lines that fit are kept. No cap when absent; 0 is refused (it
//              would keep nothing; leave the field out for no cap).
// null for any field means "absent" (the default), so the JSON of a log request, which writes null
// for unset fields, reads back as the same filter. Any other field is refused by name unless the
// caller accepts it (the HTTP API's ttl_seconds). Every refusal is Error(invalid_argument) naming
// the field and changes nothing.
// On the wire (docs/SYNC.md, LOG_REQUEST) an absent since/until is "" and an absent max_bytes is 0;
// a frame whose fields break these rules is malformed.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "clock/clock.h"
#include "log/log_level.h"

namespace simdjson::dom {
class element;
}

namespace smallpeer {

/// Which engine log lines to keep (see the rules above).
struct LogFilter {
  LogLevel min_level = LogLevel::debug;  // keep lines at this level or more severe
  std::optional<TimePoint> since;        // keep lines written at or after
  std::optional<TimePoint> until;        // keep lines written at or before
  std::optional<uint64_t> max_bytes;     // cap on uncompressed bytes; the newest lines are kept

  /// Why the fields break the rules (an invalid level, max_bytes 0, since after until), or "".
  [[nodiscard]] std::string problem() const;
  /// Throws Error(invalid_argument) with problem() unless it is "".
  void validate() const;
  /// True if a line at `level` written at `ts` passes the level and the time window (max_bytes aside).
  [[nodiscard]] bool keeps(LogLevel level, TimePoint ts) const;

  bool operator==(const LogFilter&) const = default;
};

/// A field a caller accepts beside the filter's own (the HTTP API's ttl_seconds). `parse` gets its
/// non-null value and throws Error(invalid_argument) naming the field if the value is bad.
struct LogFilterExtraField {
  std::string_view name;
  std::function<void(const simdjson::dom::element& value)> parse;
};

/// Reads one field of a filter's JSON form into `filter`: false if `key` is not a filter field,
/// true if it is (null leaves the default); throws Error(invalid_argument) for a bad value.
bool read_log_filter_field(LogFilter& filter, std::string_view key, const simdjson::dom::element& value);

/// Parses a filter's JSON form (a JSON object, see above); `extra` lists the other fields the caller
/// accepts. Throws Error(invalid_argument) naming the problem.
LogFilter parse_log_filter(std::string_view json, std::span<const LogFilterExtraField> extra = {});

}  // namespace smallpeer
