#include "bigpeer/report_history.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <utility>

#include "common/error.h"
#include "common/json.h"
#include "spi/small_peer_info_collector.h"

namespace smallpeer::bigpeer {

namespace {

// The transports of SPEC section 4's connections_by_transport; a report's other keys are not kept.
constexpr std::array<std::string_view, 4> kTransports = {"AccessPoint", "Bluetooth", "P2PWiFi", "WebSocket"};
constexpr std::array<std::string_view, 5> kDiskFields = {"device_available", "device_total", "ditto_store", "ditto_logs",
                                                         "ditto_total"};
// A row's text is at most ~450 bytes (a 44-character peer key and the longest numbers): written
// into one allocation.
constexpr size_t kRowBytes = 512;

/// Appends `,"<name>":{...}` with the members of `object` named in `keys` that are whole numbers,
/// in the order of `keys` (the row keeps only bounded values). One pass over `object`: a repeated
/// member counts once, the first, as a lookup by name would find it.
template <size_t N>
void append_integers(std::string& out, std::string_view name, simdjson::dom::object object,
                     const std::array<std::string_view, N>& keys) {
  std::array<std::optional<simdjson::dom::element>, N> found;
  for (const auto field : object) {
    for (size_t k = 0; k < N; ++k) {
      if (field.key == keys[k]) {
        if (!found[k]) found[k] = field.value;
        break;
      }
    }
  }
  out.append(",\"").append(name).append("\":{");
  bool first = true;
  for (size_t k = 0; k < N; ++k) {
    int64_t v = 0;
    if (!found[k] || found[k]->get_int64().get(v) != simdjson::SUCCESS) continue;
    if (!first) out.push_back(',');
    first = false;
    out.append(1, '"').append(keys[k]).append("\":");
    append_json_integer(out, v);
  }
  out.push_back('}');
}

}  // namespace

ReportHistory::ReportHistory(size_t reports, std::shared_ptr<const Clock> clock) : reports_(reports), clock_(std::move(clock)) {
  if (reports_ < 1 || reports_ > kMaxHistoryReports) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("history reports must be 1 to {} per device, got {}", kMaxHistoryReports, reports_));
  }
}

std::optional<Document> ReportHistory::row(const Document& report, TimePoint received) const {
  if (report.deleted || report.collection != kSmallPeerInfoCollection) return std::nullopt;
  // One parser per thread: its buffers are reused across reports.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object doc;
  if (parser.parse(report.json.data(), report.json.size()).get_object().get(doc) != simdjson::SUCCESS) return std::nullopt;
  return row(report, doc, received);
}

std::optional<Document> ReportHistory::row(const Document& report, simdjson::dom::object doc, TimePoint received) const {
  if (report.deleted || report.collection != kSmallPeerInfoCollection) return std::nullopt;
  // The fields the row keeps, found in one pass (looked up one by one, each would scan them all);
  // a repeated key counts once, as a lookup would find it.
  std::optional<simdjson::dom::element> sequence_field, reported, connected, transports, peers, disk, interval, other;
  for (const auto field : doc) {
    const std::string_view k = field.key;
    auto& slot = k == "sequence"                   ? sequence_field
                 : k == "last_updated_at"          ? reported
                 : k == "is_connected_to_big_peer" ? connected
                 : k == "connections_by_transport" ? transports
                 : k == "connected_peers"          ? peers
                 : k == "device_disk_usage"        ? disk
                 : k == "collection_interval_ms"   ? interval
                                                   : other;
    if (!slot) slot = field.value;
  }
  int64_t sequence = 0;
  if (!sequence_field || sequence_field->get_int64().get(sequence) != simdjson::SUCCESS || sequence < 0) return std::nullopt;
  const auto slot = static_cast<uint64_t>(sequence) % reports_;

  // Only bounded values: the peer key (checked by the session), whole numbers, booleans and
  // timestamps this code formats. Nothing of the report's free text (names, metadata) is copied.
  // The keys are literals that need no escaping, written straight into the text; `_id` comes
  // first, so every other member starts with its comma.
  std::string id;
  id.reserve(report.id.size() + 21);
  id.append(report.id).push_back(':');
  append_json_integer(id, slot);
  std::string out;
  out.reserve(kRowBytes);
  out.append("{\"_id\":");
  append_json_string(out, id);
  out.append(",\"peer_key\":");
  append_json_string(out, report.id);
  out.append(",\"sequence\":");
  append_json_integer(out, sequence);
  out.append(",\"received_at\":\"").append(rfc3339_text(received).view()).push_back('"');
  std::string_view reported_text;
  if (reported && reported->get_string().get(reported_text) == simdjson::SUCCESS) {
    if (const auto at = parse_rfc3339(reported_text)) {
      out.append(",\"reported_at\":\"").append(rfc3339_text(*at).view()).push_back('"');
    }
  }
  bool is_connected = false;
  if (connected && connected->get_bool().get(is_connected) == simdjson::SUCCESS) {
    out.append(is_connected ? ",\"is_connected_to_big_peer\":true" : ",\"is_connected_to_big_peer\":false");
  }
  simdjson::dom::object by_transport;
  if (transports && transports->get_object().get(by_transport) == simdjson::SUCCESS) {
    append_integers(out, "connections", by_transport, kTransports);
  }
  simdjson::dom::array peer_list;
  if (peers && peers->get_array().get(peer_list) == simdjson::SUCCESS) {
    out.append(",\"connected_peers\":");
    append_json_integer(out, static_cast<uint64_t>(peer_list.size()));
  }
  simdjson::dom::object usage;
  if (disk && disk->get_object().get(usage) == simdjson::SUCCESS) append_integers(out, "disk", usage, kDiskFields);
  int64_t interval_ms = 0;
  if (interval && interval->get_int64().get(interval_ms) == simdjson::SUCCESS) {
    out.append(",\"collection_interval_ms\":");
    append_json_integer(out, interval_ms);
  }
  out.push_back('}');
  // The text is minified and its "_id" is `id`: checked as it is, nothing to parse again.
  return Document{std::string(kReportHistoryCollection), std::move(id), std::move(out), report.version, false, {}, true};
}

std::string history_json(const Store& store, const std::string& peer_key, TimePoint since, TimePoint until,
                         const QueryOptions& limits) {
  // The ids "K:0".."K:<N-1>" sort between "K:" and "K;" (';' follows ':'), so the _id range reads
  // only this device's rows from the store's key index. Reports received in the same millisecond
  // are ordered by the device's own time (which a reinstalled app's reset sequence does not turn
  // back), then by sequence; a row without reported_at sorts first among them (docs/QUERY.md).
  JsonWriter args;
  args.begin_object()
      .key("low")
      .value(peer_key + ":")
      .key("high")
      .value(peer_key + ";")
      .key("since")
      .value(format_rfc3339(since))
      .key("until")
      .value(format_rfc3339(until))
      .end_object();
  const QueryOptions options{.max_rows = kMaxHistoryReports, .timeout = limits.timeout};
  const QueryResult rows =
      execute_query(store,
                    fmt::format("SELECT * FROM {} WHERE _id > :low AND _id < :high AND received_at >= "
                                ":since AND received_at <= :until ORDER BY received_at, reported_at, sequence",
                                kReportHistoryCollection),
                    args.take(), options);

  thread_local simdjson::dom::parser parser;
  JsonWriter w;
  w.begin_object().key("peer_key").value(peer_key);
  w.key("since").value(format_rfc3339(since)).key("until").value(format_rfc3339(until));
  w.key("reports").begin_array();
  std::optional<int64_t> previous;
  int64_t missed = 0;
  for (const auto& item : rows.items) {
    int64_t sequence = 0;
    if (parser.parse(item).get_object()["sequence"].get_int64().get(sequence) != simdjson::SUCCESS) continue;
    // The row's own fields, then what the Big Peer concludes from the one before it.
    std::string extra;
    if (previous && sequence > *previous + 1) {
      missed += sequence - *previous - 1;
      extra = fmt::format(",\"missed_before\":{}", sequence - *previous - 1);
    } else if (previous && sequence <= *previous) {
      extra = ",\"sequence_reset\":true";
    }
    previous = sequence;
    w.raw(item.substr(0, item.size() - 1) + extra + "}");
  }
  w.end_array();
  w.key("missed").value(missed);
  if (rows.truncated) w.key("truncated").value(true);
  w.end_object();
  return w.take();
}

}  // namespace smallpeer::bigpeer
