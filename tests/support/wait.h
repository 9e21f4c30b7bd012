// Waiting for something that happens on another thread or in another process, with a deadline.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace smallpeer::test_support {

/// Polls `condition` every 10 ms until it holds (true) or `timeout` passes (false).
inline bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

}  // namespace smallpeer::test_support
