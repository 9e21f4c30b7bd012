// What the ingest benches share: the Big Peer's /metrics read as numbers, and the in-process
// store ceiling (reports per second merged into a fresh Big Peer store, with the writes the ingest
// commits for each) that ingest is compared with.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bigpeer/ingest.h"
#include "bigpeer/report_history.h"
#include "clock/clock.h"
#include "clock/hlc.h"
#include "proc_stats.h"
#include "spi/small_peer_info_collector.h"
#include "store/store.h"
#include "store/store_support.h"
#include "support/big_peer_process.h"
#include "sync/session.h"

namespace smallpeer::bench {

using Clock = std::chrono::steady_clock;

/// Seconds from `a` to `b`.
inline double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// One reading of the Big Peer's GET /metrics (Prometheus text), by series name with labels.
struct Metrics {
  Clock::time_point at;
  std::map<std::string, double> values;
  /// The value of `name`; throws if the Big Peer does not export it.
  [[nodiscard]] double operator[](const std::string& name) const {
    const auto it = values.find(name);
    if (it == values.end()) throw std::runtime_error("the Big Peer's /metrics has no " + name);
    return it->second;
  }
};

/// Reads GET /metrics of `big_peer`.
inline Metrics read_metrics(const test_support::BigPeerProcess& big_peer) {
  const auto response = big_peer.get("/metrics", false);
  Metrics m;
  m.at = Clock::now();
  if (response.status != 200) throw std::runtime_error(fmt::format("GET /metrics answered {}", response.status));
  std::istringstream lines(response.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    m.values[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return m;
}

/// The largest group the ingest can form from `connections` sessions, in reports: each session has
/// at most kMaxBatchesInFlight batches of one report unacknowledged, and a group holds at most
/// kDefaultMaxGroupDocuments documents, a report's history row counted (`history_reports` > 0).
inline size_t largest_group(size_t connections, size_t history_reports) {
  const size_t per_report = history_reports > 0 ? 2 : 1;
  return std::min(bigpeer::IngestQueue::kDefaultMaxGroupDocuments / per_report, sync::kMaxBatchesInFlight * connections);
}

/// Reports merged per second at one transaction size.
struct CeilingResult {
  size_t group = 0;        // reports per transaction (each with its history row, if any)
  uint64_t reports = 0;    // merged (all won)
  double seconds = 0;      // spent in merge_batch
  double cpu_seconds = 0;  // of them, on a CPU (the rest: waiting, for the disk above all)
  /// Reports per second.
  [[nodiscard]] double rate() const { return seconds > 0 ? static_cast<double>(reports) / seconds : 0; }
  /// CPU microseconds per report.
  [[nodiscard]] double cpu_us() const { return reports > 0 ? 1e6 * cpu_seconds / static_cast<double>(reports) : 0; }
};

/// A device's history row for any slot of its ring: the row ReportHistory builds for its report,
/// with the id (and the body's "_id", which the row's text begins with) set per slot.
class HistoryRowTemplate {
 public:
  /// The template of `row`, the history row of one report (ReportHistory::row).
  explicit HistoryRowTemplate(const Document& row) : collection_(row.collection) {
    const std::string head = "{\"_id\":\"" + row.id + "\"";
    if (row.json.compare(0, head.size(), head) != 0) throw std::runtime_error("a history row does not begin with its _id");
    tail_ = row.json.substr(head.size());
    device_ = row.id.substr(0, row.id.rfind(':'));
  }
  /// The row for `slot`, with `version` (checked: its text is the template's, minified).
  [[nodiscard]] Document at(uint64_t slot, const Version& version) const {
    Document d{.collection = collection_, .id = fmt::format("{}:{}", device_, slot), .version = version, .checked = true};
    d.json = fmt::format("{{\"_id\":\"{}\"{}", d.id, tail_);
    return d;
  }

 private:
  std::string collection_;
  std::string tail_;    // the row's text after its _id
  std::string device_;  // the peer key the row ids begin with
};

/// Merges `reports` over and over into a fresh Big Peer store as its ingest commits them, and
/// returns reports per second. Transactions of `group` reports, each copy with a newer version than
/// the last so every merge wins, each followed by its history row when the Big Peer keeps
/// `history_reports` per device (0: none; rows in slot order per device, as a device's sequence
/// counts up), and every peer's replication cursor once a second, as a session stores it. The
/// rings are filled first, so every row replaces one (a Big Peer after its devices' first day, the
/// steady state the benches measure). The reports are checked first, as the sessions' threads do;
/// only merge_batch's own time counts.
inline CeilingResult measure_ceiling(std::vector<Document> reports, size_t group, double seconds,
                                     const std::filesystem::path& dir, size_t history_reports) {
  if (reports.empty() || group == 0) throw std::invalid_argument("store ceiling: no reports, or a group of none");
  // Checked as the ingest checks them, on the sessions' threads, before the writer merges them.
  simdjson::dom::parser parser;
  for (auto& r : reports) store_support::check_incoming(parser, r);
  const auto clock = std::make_shared<SystemClock>();
  auto store = Store::open(dir / fmt::format("ceiling-{}-{}.sqlite3", group, history_reports),
                           std::make_shared<HybridLogicalClock>(clock), "ceiling-big-peer", StoreOptions::for_big_peer());
  uint64_t next_version = 1;
  for (const auto& r : reports) next_version = std::max(next_version, r.version.hlc.value + 1);
  const auto version_of = [&](const Document& report) { return Version{{next_version++}, report.version.origin}; };

  // One row template per device. Every report here has a whole `sequence` (a report without one
  // would get no row at the ingest, and the ceiling would not be the ingest's work).
  std::vector<HistoryRowTemplate> rows;
  if (history_reports > 0) {
    const bigpeer::ReportHistory history(history_reports, clock);
    for (const auto& report : reports) {
      auto row = history.row(report, clock->now());
      if (!row) throw std::runtime_error("store ceiling: a report without a whole sequence gets no history row");
      rows.emplace_back(*row);
    }
  }
  std::vector<uint64_t> next_slot(reports.size(), 0);
  std::vector<Document> batch;
  std::vector<size_t> batch_ends;  // one session batch per report, as the ingest splits a group
  size_t next_device = 0;          // where the next transaction starts, so every device reports in turn
  const auto fill = [&](size_t count, bool with_reports, bool with_rows) {
    batch.clear();
    batch_ends.clear();
    for (size_t i = 0; i < count; ++i) {
      const size_t d = next_device;
      next_device = (next_device + 1) % reports.size();
      const Version version = version_of(reports[d]);  // a row has its report's version, as at the ingest
      if (with_reports) {
        batch.push_back(reports[d]);
        batch.back().version = version;
      }
      if (with_rows && !rows.empty()) {
        batch.push_back(rows[d].at(next_slot[d] % history_reports, version));
        ++next_slot[d];
      }
      batch_ends.push_back(batch.size());
    }
  };
  // Every session stores its cursor once a second; here all of them in the transaction that is due.
  std::vector<std::pair<std::string, std::string>> cursors;
  for (const auto& report : reports) {
    cursors.emplace_back("sync.cursors/" + report.id, fmt::format("{}\t{}\n", kSmallPeerInfoCollection, report.stored_at.value));
  }
  const std::vector<std::pair<std::string, std::string>> no_cursors;
  const auto merge = [&](const std::vector<std::pair<std::string, std::string>>& settings) {
    const auto won = store->merge_batch(batch, settings, batch_ends);
    const auto wins = static_cast<uint64_t>(std::count(won.begin(), won.end(), true));
    if (wins != batch.size()) {
      throw std::runtime_error(fmt::format("store ceiling: only {} of {} merges won", wins, batch.size()));
    }
  };

  // Every device's report once, then its ring filled: four rows per device per transaction.
  fill(reports.size(), true, false);
  merge(cursors);
  for (uint64_t filled = 0; filled < history_reports; filled += 4) {
    fill(reports.size() * std::min<uint64_t>(4, history_reports - filled), false, true);
    merge(no_cursors);
  }

  CeilingResult result;
  result.group = group;
  auto last_cursors = Clock::now();
  const auto start = Clock::now();
  while (seconds_between(start, Clock::now()) < seconds) {
    fill(group, true, true);
    const bool cursors_due = seconds_between(last_cursors, Clock::now()) >= 1;
    if (cursors_due) last_cursors = Clock::now();
    const auto t0 = Clock::now();
    const double cpu0 = thread_cpu_seconds();  // SQLite runs on this thread, checkpoints included
    merge(cursors_due ? cursors : no_cursors);
    result.cpu_seconds += thread_cpu_seconds() - cpu0;
    result.seconds += seconds_between(t0, Clock::now());
    result.reports += group;
  }
  return result;
}

}  // namespace smallpeer::bench
