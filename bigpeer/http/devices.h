// The fleet's routes (admin): GET /api/v1/devices?q=&online=&limit=&after=,
// GET /api/v1/devices/{peer_key} and GET /api/v1/devices/{peer_key}/history?since=&until=. A device is the union of its stored
// Small Peer Info report and its live (or last) connection, merged by peer key (merge_devices).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bigpeer/http/router.h"
#include "bigpeer/registry.h"
#include "clock/clock.h"
#include "common/json.h"
#include "query/query.h"
#include "store/store.h"

namespace smallpeer::bigpeer {

/// The fields of a Small Peer Info document the fleet list shows.
struct SpiSummary {
  std::optional<std::string> device_name, last_updated_at, sdk_language, sdk_version, sdk_platform, sync_scope;
  std::optional<int64_t> sequence;
  std::optional<int64_t> collection_interval_ms;         // as reported; clamped where it is used
  std::optional<int64_t> disk_available;                 // device_disk_usage.device_available, bytes
  std::optional<std::string> os_json, connections_json;  // minified objects
};

/// A device whose last report is older than this many collection intervals is stale.
inline constexpr int kStaleAfterIntervals = 2;

/// The fleet fields of a Small Peer Info document (all empty if it is not a JSON object).
SpiSummary summarize_spi(std::string_view json);

/// What GET /devices asks for.
struct DeviceQuery {
  std::string q_lower;         // substring of the device name or peer key, lower-cased; "" for all
  std::optional<bool> online;  // only online (true) or offline (false) devices
  std::string after;           // peer keys after this one
  size_t limit = kDefaultPageSize;
};

/// One device as the fleet sees it: its last report and its live connection, either may be missing.
struct DeviceView {
  std::string peer_key;
  std::optional<SpiSummary> spi;
  const PeerConnectionState* connection = nullptr;  // into the connections the view was made from

  /// True while the peer has an authenticated session.
  [[nodiscard]] bool online() const;
  /// The reported name, else the name the peer said hello with.
  [[nodiscard]] std::optional<std::string> device_name() const;
  /// Now when online; otherwise the later of its last report and its last disconnect.
  [[nodiscard]] std::optional<TimePoint> last_seen(TimePoint now) const;
  /// True when its last report is older than kStaleAfterIntervals of its collection interval.
  [[nodiscard]] bool stale(TimePoint now) const;
  /// True if the view passes `query`'s q and online filters.
  [[nodiscard]] bool matches(const DeviceQuery& query) const;
  /// Writes the device's fields (the caller opens and closes the object).
  void write_fields(JsonWriter& w, TimePoint now) const;
};

/// One page of the fleet and where the next one starts (nullopt on the last page).
struct DevicePage {
  std::vector<DeviceView> devices;
  std::optional<std::string> next_after;
};

/// The page of devices `query` selects, in peer key order: the stored Small Peer Info reports
/// merged with `connections` (which the views point into, so it must outlive the page). Reads the
/// store a page at a time; online=true reads only the reports of connected peers.
DevicePage merge_devices(const Store& store, const std::map<std::string, PeerConnectionState>& connections,
                         const DeviceQuery& query);

/// A device the Big Peer knows: its stored report and its connection, at least one present.
struct KnownDevice {
  std::optional<Document> small_peer_info;
  std::optional<PeerConnectionState> connection;
};

/// The device with `peer_key`; throws ApiError 404 if neither a report nor a connection exists.
KnownDevice require_device(const Store& store, const ConnectionRegistry& registry, const std::string& peer_key);

/// Adds the device routes, reading `store` and `registry` (which outlive the router); the history
/// route's read runs within `query_limits`' time limit.
void add_device_routes(Router& router, const Store& store, const ConnectionRegistry& registry,
                       const std::shared_ptr<const Clock>& clock, const QueryOptions& query_limits);

}  // namespace smallpeer::bigpeer
