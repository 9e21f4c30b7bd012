#include "bigpeer/fleet_history.h"

#include <spdlog/spdlog.h>

#include "common/json.h"

namespace smallpeer::bigpeer {

FleetHistory::FleetHistory(FleetCounter counter, std::shared_ptr<const Clock> clock, std::chrono::milliseconds interval,
                           std::chrono::milliseconds retention)
    : counter_(std::move(counter)), clock_(std::move(clock)), interval_(interval), retention_(retention) {
  sample();
  thread_ = std::thread([this] { run(); });
}

FleetHistory::~FleetHistory() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FleetHistory::run() {
  std::unique_lock lock(mutex_);
  while (!stop_cv_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    sample();
    lock.lock();
  }
}

void FleetHistory::sample() {
  FleetSample s;
  try {
    s = counter_();
  } catch (const std::exception& e) {
    // A failed count (the store busy or closing) leaves a gap rather than a wrong point.
    spdlog::warn("big-peer: fleet history sample failed: {}", e.what());
    return;
  }
  s.time = clock_->now();
  std::lock_guard lock(mutex_);
  samples_.push_back(s);
  while (!samples_.empty() && s.time - samples_.front().time > retention_) samples_.pop_front();
}

std::deque<FleetSample> FleetHistory::samples() const {
  std::lock_guard lock(mutex_);
  return samples_;
}

std::string FleetHistory::to_json() const {
  const auto kept = samples();
  JsonWriter w;
  w.begin_object().key("samples").begin_array();
  for (const auto& s : kept) {
    w.begin_object()
        .key("t")
        .value(format_rfc3339(s.time))
        .key("online")
        .value(static_cast<uint64_t>(s.online))
        .key("total")
        .value(static_cast<uint64_t>(s.total))
        .end_object();
  }
  w.end_array().end_object();
  return w.take();
}

}  // namespace smallpeer::bigpeer
