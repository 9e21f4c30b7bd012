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
constexpr std::array kTransports = {"AccessPoint", "Bluetooth", "P2PWiFi", "WebSocket"};
constexpr std::array kDiskFields = {"device_available", "device_total", "ditto_store", "ditto_logs", "ditto_total"};
// A row's text is at most ~450 bytes (a 44-character peer key and the longest numbers): written
// into one allocation.
constexpr size_t kRowBytes = 512;

/// Copies `object[key]` when it is a whole number (the row keeps only bounded values).
void copy_integer(JsonWriter& w, simdjson::dom::object object, const char* key) {
  int64_t v = 0;
  if (object[key].get_int64().get(v) == simdjson::SUCCESS) w.key(key).value(v);
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
  JsonWriter w;
  w.reserve(kRowBytes);
  std::string id = fmt::format("{}:{}", report.id, slot);
  w.begin_object().key("_id").value(id).key("peer_key").value(report.id).key("sequence").value(sequence);
  w.key("received_at").value(rfc3339_text(received).view());
  std::string_view reported_text;
  if (reported && reported->get_string().get(reported_text) == simdjson::SUCCESS) {
    if (const auto at = parse_rfc3339(reported_text)) w.key("reported_at").value(rfc3339_text(*at).view());
  }
  bool is_connected = false;
  if (connected && connected->get_bool().get(is_connected) == simdjson::SUCCESS) {
    w.key("is_connected_to_big_peer").value(is_connected);
  }
  simdjson::dom::object by_transport;
  if (transports && transports->get_object().get(by_transport) == simdjson::SUCCESS) {
    w.key("connections").begin_object();
    for (const char* t : kTransports) copy_integer(w, by_transport, t);
    w.end_object();
  }
  simdjson::dom::array peer_list;
  if (peers && peers->get_array().get(peer_list) == simdjson::SUCCESS) {
    w.key("connected_peers").value(static_cast<uint64_t>(peer_list.size()));
  }
  simdjson::dom::object usage;
  if (disk && disk->get_object().get(usage) == simdjson::SUCCESS) {
    w.key("disk").begin_object();
    for (const char* f : kDiskFields) copy_integer(w, usage, f);
    w.end_object();
  }
  int64_t interval_ms = 0;
  if (interval && interval->get_int64().get(interval_ms) == simdjson::SUCCESS) w.key("collection_interval_ms").value(interval_ms);
  w.end_object();
  // JsonWriter's text is minified and its "_id" is `id`: checked as it is, nothing to parse again.
  return Document{std::string(kReportHistoryCollection), std::move(id), w.take(), report.version, false, {}, true};
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
