#include "bigpeer/http/devices.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>

#include "bigpeer/report_history.h"
#include "spi/settings.h"
#include "spi/small_peer_info_collector.h"

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

SpiSummary summarize_spi(std::string_view json) {
  // One parser per thread: its buffers are reused across documents and requests.
  thread_local simdjson::dom::parser parser;
  SpiSummary s;
  simdjson::dom::object doc;
  if (parser.parse(json.data(), json.size()).get_object().get(doc) != simdjson::SUCCESS) return s;
  const auto text = [&](const char* key, std::optional<std::string>& out) {
    std::string_view v;
    if (doc[key].get_string().get(v) == simdjson::SUCCESS) out = std::string(v);
  };
  const auto object = [&](const char* key, std::optional<std::string>& out) {
    simdjson::dom::object v;
    if (doc[key].get_object().get(v) == simdjson::SUCCESS) out = simdjson::minify(v);
  };
  text("device_name", s.device_name);
  text("last_updated_at", s.last_updated_at);
  text("ditto_sdk_language", s.sdk_language);
  text("ditto_sdk_version", s.sdk_version);
  text("ditto_sdk_platform", s.sdk_platform);
  text("sync_scope", s.sync_scope);
  int64_t sequence = 0;
  if (doc["sequence"].get_int64().get(sequence) == simdjson::SUCCESS) s.sequence = sequence;
  int64_t interval = 0;
  if (doc["collection_interval_ms"].get_int64().get(interval) == simdjson::SUCCESS) s.collection_interval_ms = interval;
  int64_t available = 0;
  if (doc["device_disk_usage"]["device_available"].get_int64().get(available) == simdjson::SUCCESS) {
    s.disk_available = available;
  }
  object("os", s.os_json);
  object("connections_by_transport", s.connections_json);
  return s;
}

bool DeviceView::online() const {
  return connection && connection->online;
}

std::optional<std::string> DeviceView::device_name() const {
  if (spi && spi->device_name) return spi->device_name;
  if (connection && !connection->device_name.empty()) return connection->device_name;
  return std::nullopt;
}

std::optional<TimePoint> DeviceView::last_seen(TimePoint now) const {
  if (online()) return now;
  std::optional<TimePoint> seen;
  if (spi && spi->last_updated_at) seen = parse_rfc3339(*spi->last_updated_at);
  if (connection && connection->disconnected_at && (!seen || *connection->disconnected_at > *seen)) {
    seen = connection->disconnected_at;
  }
  return seen;
}

bool DeviceView::stale(TimePoint now) const {
  if (!spi || !spi->last_updated_at) return false;
  const auto reported = parse_rfc3339(*spi->last_updated_at);
  if (!reported) return false;
  // The interval is the device's word: bounded to what a device may set (1 s) and to a week, and the
  // default (300 s) for documents from before the field existed.
  const auto interval =
      std::chrono::milliseconds(std::clamp<int64_t>(spi->collection_interval_ms.value_or(kDefaultCollectionInterval.count()),
                                                    kMinCollectionInterval.count(), int64_t{7} * 24 * 3600 * 1000));
  return now - *reported > kStaleAfterIntervals * interval;
}

bool DeviceView::matches(const DeviceQuery& query) const {
  if (query.online && *query.online != online()) return false;
  if (query.q_lower.empty()) return true;
  if (lower_ascii(peer_key).find(query.q_lower) != std::string::npos) return true;
  const auto name = device_name();
  return name && lower_ascii(*name).find(query.q_lower) != std::string::npos;
}

void DeviceView::write_fields(JsonWriter& w, TimePoint now) const {
  const auto from_spi_or_hello = [&](std::optional<std::string> SpiSummary::*field, std::string PeerConnectionState::*hello) {
    if (spi && (*spi).*field) return (*spi).*field;
    if (connection && !(connection->*hello).empty()) return std::optional<std::string>(connection->*hello);
    return std::optional<std::string>();
  };
  w.key("peer_key").value(peer_key);
  w.key("device_name").value_or_null(device_name());
  w.key("online").value(online());
  w.key("last_seen").value_or_null(format_rfc3339(last_seen(now)));
  w.key("last_updated_at").value_or_null(spi ? spi->last_updated_at : std::nullopt);
  w.key("sequence").value_or_null(spi ? spi->sequence : std::nullopt);
  w.key("collection_interval_ms").value_or_null(spi ? spi->collection_interval_ms : std::nullopt);
  w.key("stale").value(stale(now));
  w.key("disk_available").value_or_null(spi ? spi->disk_available : std::nullopt);
  w.key("ditto_sdk_language").value_or_null(from_spi_or_hello(&SpiSummary::sdk_language, &PeerConnectionState::sdk_language));
  w.key("ditto_sdk_version").value_or_null(from_spi_or_hello(&SpiSummary::sdk_version, &PeerConnectionState::sdk_version));
  w.key("ditto_sdk_platform").value_or_null(from_spi_or_hello(&SpiSummary::sdk_platform, &PeerConnectionState::platform));
  w.key("sync_scope").value_or_null(spi ? spi->sync_scope : std::nullopt);
  w.key("os");
  if (spi && spi->os_json) {
    w.raw(*spi->os_json);
  } else {
    w.null();
  }
  w.key("connections_by_transport");
  if (spi && spi->connections_json) {
    w.raw(*spi->connections_json);
  } else {
    w.null();
  }
  w.key("has_small_peer_info").value(spi.has_value());
  w.key("connection");
  if (online()) {
    w.begin_object()
        .key("remote_address")
        .value(connection->remote_address)
        .key("connected_at")
        .value(format_rfc3339(connection->connected_at))
        .key("sessions")
        .value(static_cast<uint64_t>(connection->sessions))
        .end_object();
  } else {
    w.null();
  }
  w.key("last_disconnected_at").value_or_null(format_rfc3339(connection ? connection->disconnected_at : std::nullopt));
}

DevicePage merge_devices(const Store& store, const std::map<std::string, PeerConnectionState>& connections,
                         const DeviceQuery& query) {
  // Both sources are in peer key order, so one pass merges them. online=true only needs the
  // connected ones, so it skips the stored fleet and reads the reports of those alone.
  const bool online_only = query.online == true;
  auto live = connections.upper_bound(query.after);
  Page stored;
  size_t next = 0;
  std::string store_after = query.after;
  bool more_stored = !online_only;
  DevicePage out;
  for (;;) {
    if (next == stored.documents.size() && more_stored) {
      stored = store.list(kSmallPeerInfoCollection, 256, store_after);
      next = 0;
      more_stored = stored.next_after.has_value();
      if (more_stored) store_after = *stored.next_after;
    }
    const Document* doc = next < stored.documents.size() ? &stored.documents[next] : nullptr;
    const bool has_live = live != connections.end();
    if (!doc && !has_live) break;
    const bool take_doc = doc && (!has_live || doc->id <= live->first);
    const bool take_live = has_live && (!doc || live->first <= doc->id);
    DeviceView view;
    if (take_doc) {
      view.peer_key = doc->id;
      view.spi = summarize_spi(doc->json);
      ++next;
    }
    if (take_live) {
      view.peer_key = live->first;
      view.connection = &live->second;
      if (online_only && live->second.online) {
        if (const auto report = store.get(kSmallPeerInfoCollection, live->first)) view.spi = summarize_spi(report->json);
      }
      ++live;
    }
    if (!view.matches(query)) continue;
    if (out.devices.size() == query.limit) {
      out.next_after = out.devices.back().peer_key;
      break;
    }
    out.devices.push_back(std::move(view));
  }
  return out;
}

KnownDevice require_device(const Store& store, const ConnectionRegistry& registry, const std::string& peer_key) {
  KnownDevice device{store.get(kSmallPeerInfoCollection, peer_key), registry.peer(peer_key)};
  if (!device.small_peer_info && !device.connection) {
    throw not_found(fmt::format("no device with peer key '{}'", shortened(peer_key)));
  }
  return device;
}

namespace {

std::optional<bool> parse_online(const Target& target) {
  const auto text = target.param("online");
  if (!text) return std::nullopt;
  if (*text == "true") return true;
  if (*text == "false") return false;
  throw bad_parameter(fmt::format("online must be true or false, got '{}'", shortened(*text)));
}

HttpResponse list_devices(const Store& store, const ConnectionRegistry& registry, TimePoint now, const ApiRequest& request) {
  DeviceQuery query;
  query.limit = parse_limit(request.target);
  query.online = parse_online(request.target);
  query.q_lower = lower_ascii(request.target.param("q").value_or(""));
  query.after = std::string(request.target.param("after").value_or(""));
  const auto connections = registry.peers();
  const DevicePage page = merge_devices(store, connections, query);
  JsonWriter w;
  w.begin_object().key("devices").begin_array();
  for (const auto& view : page.devices) {
    w.begin_object();
    view.write_fields(w, now);
    w.end_object();
  }
  w.end_array();
  w.key("next_after").value_or_null(page.next_after);
  w.end_object();
  return json_response(http::status::ok, w.take());
}

HttpResponse get_device(const Store& store, const ConnectionRegistry& registry, TimePoint now, const ApiRequest& request) {
  const std::string& key = request.captures[0];
  const KnownDevice device = require_device(store, registry, key);
  DeviceView view;
  view.peer_key = key;
  if (device.small_peer_info) view.spi = summarize_spi(device.small_peer_info->json);
  view.connection = device.connection ? &*device.connection : nullptr;
  JsonWriter w;
  w.begin_object();
  view.write_fields(w, now);
  w.key("small_peer_info");
  if (device.small_peer_info) {
    w.raw(device.small_peer_info->json);
  } else {
    w.null();
  }
  w.end_object();
  return json_response(http::status::ok, w.take());
}

/// The time parameter `name` (RFC 3339), or `fallback` when absent.
TimePoint parse_time(const Target& target, const char* name, TimePoint fallback) {
  const auto text = target.param(name);
  if (!text) return fallback;
  const auto t = parse_rfc3339(*text);
  if (!t) {
    throw bad_parameter(
        fmt::format("{} must be an RFC 3339 time such as 2026-12-04T10:00:00Z, got '{}'", name, shortened(*text)));
  }
  return *t;
}

HttpResponse get_history(const Store& store, const ConnectionRegistry& registry, TimePoint now, const QueryOptions& limits,
                         const ApiRequest& request) {
  const std::string& key = request.captures[0];
  const TimePoint until = parse_time(request.target, "until", now);
  const TimePoint since = parse_time(request.target, "since", until - std::chrono::hours(24));
  if (since > until) throw bad_parameter("since must not be later than until");
  require_device(store, registry, key);
  return json_response(http::status::ok, history_json(store, key, since, until, limits));
}

}  // namespace

void add_device_routes(Router& router, const Store& store, const ConnectionRegistry& registry,
                       const std::shared_ptr<const Clock>& clock, const QueryOptions& query_limits) {
  router.add(http::verb::get, "/api/v1/devices", Access::admin, [&store, &registry, clock](const ApiRequest& request) {
    return list_devices(store, registry, clock->now(), request);
  });
  router.add(http::verb::get, "/api/v1/devices/{peer_key}", Access::admin, [&store, &registry, clock](const ApiRequest& request) {
    return get_device(store, registry, clock->now(), request);
  });
  router.add(http::verb::get, "/api/v1/devices/{peer_key}/history", Access::admin,
             [&store, &registry, clock, query_limits](const ApiRequest& request) {
               return get_history(store, registry, clock->now(), query_limits, request);
             });
}

}  // namespace smallpeer::bigpeer
