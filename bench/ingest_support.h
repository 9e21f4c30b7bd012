// What the ingest benches share: the Big Peer's /metrics read as numbers, and the in-process
// store ceiling (merges per second into a fresh Big Peer store) that ingest is compared with.
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

#include "clock/clock.h"
#include "clock/hlc.h"
#include "spi/small_peer_info_collector.h"
#include "store/store.h"
#include "support/big_peer_process.h"

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

/// Merges per second at one transaction size.
struct CeilingResult {
  size_t group = 0;   // documents per transaction
  uint64_t docs = 0;  // merged (all won)
  double seconds = 0;
  /// Merges per second.
  [[nodiscard]] double rate() const { return seconds > 0 ? static_cast<double>(docs) / seconds : 0; }
};

/// Merges `reports` over and over into a fresh store in transactions of `group` documents, each
/// copy with a newer version than the last so every merge wins, plus one cursor setting per peer
/// in the transaction as the ingest writes them (its group commit keeps each session's newest).
inline CeilingResult measure_ceiling(const std::vector<Document>& reports, size_t group, double seconds,
                                     const std::filesystem::path& dir) {
  auto store = Store::open(dir / fmt::format("ceiling-{}.sqlite3", group),
                           std::make_shared<HybridLogicalClock>(std::make_shared<SystemClock>()), "ceiling-big-peer",
                           StoreOptions::for_big_peer());
  std::vector<Document> batch;
  batch.reserve(group);
  uint64_t next_version = 0;
  for (size_t i = 0; i < group; ++i) {
    batch.push_back(reports[i % reports.size()]);
    next_version = std::max(next_version, batch.back().version.hlc.value + 1);
  }
  std::vector<std::pair<std::string, std::string>> cursors;
  for (size_t i = 0; i < std::min(group, reports.size()); ++i) {
    cursors.emplace_back("sync.cursors/" + reports[i].id,
                         fmt::format("{}\t{}\n", kSmallPeerInfoCollection, reports[i].stored_at.value));
  }
  CeilingResult result;
  result.group = group;
  const auto merge_round = [&] {
    for (auto& d : batch) d.version.hlc.value = next_version++;
    const auto won = store->merge_batch(batch, cursors);
    const auto wins = static_cast<uint64_t>(std::count(won.begin(), won.end(), true));
    if (wins != batch.size())
      throw std::runtime_error(fmt::format("store ceiling: only {} of {} merges won", wins, batch.size()));
    return wins;
  };
  merge_round();  // first round inserts; every later one replaces, as at a Big Peer that knows its fleet
  merge_round();
  const auto start = Clock::now();
  while (seconds_between(start, Clock::now()) < seconds) result.docs += merge_round();
  result.seconds = seconds_between(start, Clock::now());
  return result;
}

}  // namespace smallpeer::bench
