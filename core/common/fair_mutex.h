// A mutex that serves waiters in arrival order (a ticket lock over std::mutex and a condition
// variable). std::mutex lets the thread that just unlocked take the lock again before a woken
// waiter runs, so a thread that locks in a loop (the Big Peer's group-commit writer) can starve
// every other caller of a store for seconds (an API request, a log request's save). With this one
// a caller waits for at most the holders ahead of it. Costs one uncontended std::mutex lock more
// per lock and unlock; meant for locks held for a transaction, not for hot, tiny sections.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace smallpeer {

/// A FIFO mutex (Lockable): lock() returns in the order the calls arrived.
class FairMutex {
 public:
  /// Waits for every earlier caller to unlock, then holds the lock.
  void lock() {
    std::unique_lock guard(state_);
    const uint64_t ticket = next_ticket_++;
    if (ticket != serving_) turn_.wait(guard, [&] { return ticket == serving_; });
  }
  /// Holds the lock if no one holds it or waits for it; false otherwise.
  bool try_lock() {
    std::lock_guard guard(state_);
    if (next_ticket_ != serving_) return false;
    ++next_ticket_;
    return true;
  }
  /// Passes the lock to the next caller in line, if any.
  void unlock() {
    bool waiters = false;
    {
      std::lock_guard guard(state_);
      ++serving_;
      waiters = next_ticket_ != serving_;
    }
    if (waiters) turn_.notify_all();
  }

 private:
  std::mutex state_;
  std::condition_variable turn_;
  uint64_t next_ticket_ = 0;  // the ticket the next lock() takes
  uint64_t serving_ = 0;      // the ticket that holds (or may take) the lock
};

}  // namespace smallpeer
