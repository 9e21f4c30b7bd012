// Report history: besides each device's latest Small Peer Info document, the Big Peer keeps the
// changing fields of its last N reports in the system collection __small_peer_info_history, as a
// ring. Report `sequence` of peer K is the row "K:<sequence mod N>", so storing it replaces the
// report N before: the history is bounded per device and never needs a pruning pass. The ingest
// (IngestQueue) adds the rows to the batch that carries the reports, so each row commits in the
// same transaction as its report, on SQLite and on PostgreSQL alike; a row has the report's
// version, so a resent or older report never replaces a newer row.
#pragma once

#include <simdjson.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clock/clock.h"
#include "query/query.h"
#include "store/store.h"

namespace smallpeer::bigpeer {

// The system collection of report history rows is kReportHistoryCollection (store/store.h), which
// the Big Peer's store gives a table of its own.
/// Reports kept per device by default: 24 hours at the default 5-minute interval.
inline constexpr size_t kDefaultHistoryReports = 288;
/// The most reports --history-reports may keep per device.
inline constexpr size_t kMaxHistoryReports = 100'000;

/// Builds history rows from received reports. Thread-safe (sessions call it on their own threads).
class ReportHistory {
 public:
  /// Keeps `reports` rows per device (1..kMaxHistoryReports), stamping them with `clock`'s time.
  ReportHistory(size_t reports, std::shared_ptr<const Clock> clock);

  /// The history row of `report` received at `received`, or nullopt: none for a tombstone, a
  /// document of another collection, or a report without a whole, non-negative `sequence`.
  [[nodiscard]] std::optional<Document> row(const Document& report, TimePoint received) const;
  /// The same from `body`, `report`'s body already parsed (store_support::check_incoming's).
  [[nodiscard]] std::optional<Document> row(const Document& report, simdjson::dom::object body, TimePoint received) const;
  /// The time a row received now is stamped with.
  [[nodiscard]] TimePoint now() const { return clock_->now(); }
  /// Rows kept per device.
  [[nodiscard]] size_t reports() const { return reports_; }

 private:
  size_t reports_;
  std::shared_ptr<const Clock> clock_;
};

/// The body of GET /api/v1/devices/{peer_key}/history: the rows of `peer_key` received in
/// [since, until], oldest first, each with `missed_before` (reports whose sequence numbers never
/// arrived since the row before) or `sequence_reset` (the sequence went back: a reinstalled app).
std::string history_json(const Store& store, const std::string& peer_key, TimePoint since, TimePoint until,
                         const QueryOptions& limits);

}  // namespace smallpeer::bigpeer
