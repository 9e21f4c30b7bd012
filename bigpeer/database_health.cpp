#include "bigpeer/database_health.h"

#include <spdlog/spdlog.h>

namespace smallpeer::bigpeer {

void FailureLog::failed(const std::string& reason) {
  std::lock_guard lock(mutex_);
  ++failures_;
  const auto now = std::chrono::steady_clock::now();
  if (failures_ > 1 && now - logged_at_ < every_) {
    ++unlogged_;
    return;
  }
  if (unlogged_ > 0) {
    spdlog::warn("{} still failing ({} more failures): {}", what_, unlogged_, reason);
  } else {
    spdlog::warn("{} failed: {}", what_, reason);
  }
  unlogged_ = 0;
  logged_at_ = now;
}

void FailureLog::succeeded() {
  std::lock_guard lock(mutex_);
  if (failures_ == 0) return;
  spdlog::info("{} works again after {} failures", what_, failures_);
  failures_ = 0;
  unlogged_ = 0;
}

}  // namespace smallpeer::bigpeer
