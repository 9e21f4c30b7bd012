// Fleet history for the portal's "online devices over time" chart: a sampler that records, every
// interval, how many devices are online and how many the fleet holds, keeping the last 24 hours in
// memory (a restart starts a new history).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "clock/clock.h"

namespace smallpeer::bigpeer {

/// One sample of the fleet.
struct FleetSample {
  TimePoint time;
  size_t online = 0;  // devices with a live authenticated session
  size_t total = 0;   // devices the fleet list shows (reporters plus peers connected since start)
};

/// Counts the fleet now; the sampler fills in the time.
using FleetCounter = std::function<FleetSample()>;

/// Samples the fleet on its own thread every `interval`, keeping samples younger than `retention`.
/// Thread-safe.
class FleetHistory {
 public:
  /// Takes a first sample at once, then one every `interval` until destroyed.
  FleetHistory(FleetCounter counter, std::shared_ptr<const Clock> clock,
               std::chrono::milliseconds interval = std::chrono::seconds(10),
               std::chrono::milliseconds retention = std::chrono::hours(24));
  /// Stops the sampler thread.
  ~FleetHistory();
  FleetHistory(const FleetHistory&) = delete;
  FleetHistory& operator=(const FleetHistory&) = delete;

  /// Takes one sample now (the thread calls this; tests may too).
  void sample();
  /// Every kept sample, oldest first.
  [[nodiscard]] std::deque<FleetSample> samples() const;
  /// The samples as the JSON of GET /api/v1/fleet/history: {"samples":[{"t","online","total"}]}.
  [[nodiscard]] std::string to_json() const;

 private:
  void run();

  FleetCounter counter_;
  std::shared_ptr<const Clock> clock_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds retention_;
  mutable std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::deque<FleetSample> samples_;
  std::thread thread_;
};

}  // namespace smallpeer::bigpeer
