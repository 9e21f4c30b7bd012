// Runs engine tasks at clock times. The real one sleeps on Asio timers (no polling); the manual one
// runs due tasks only when a test advances its clock.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "clock/clock.h"
#include "runtime/runtime.h"

namespace smallpeer {

/// Schedules tasks on engine threads against a Clock.
class Scheduler {
 public:
  using Task = std::function<void()>;
  using TimerId = uint64_t;
  virtual ~Scheduler() = default;
  /// The clock that `call_at` deadlines refer to.
  [[nodiscard]] virtual std::shared_ptr<const Clock> clock() const = 0;
  /// Runs `task` once at `when` (at once if it is past); returns an id for cancel().
  virtual TimerId call_at(TimePoint when, Task task) = 0;
  /// Stops a pending task from starting; a task already running finishes.
  virtual void cancel(TimerId id) = 0;
  /// Runs `task` soon on an engine thread.
  virtual void post(Task task) = 0;
};

/// The production scheduler: Asio system timers on the shared Runtime.
class AsioScheduler final : public Scheduler {
 public:
  /// Uses `runtime` (by default the shared one) and the system clock.
  explicit AsioScheduler(std::shared_ptr<Runtime> runtime = Runtime::shared());
  // NOLINTNEXTLINE(bugprone-exception-escape): only std::mutex::lock can throw (a broken mutex); terminating is right
  ~AsioScheduler() override;
  [[nodiscard]] std::shared_ptr<const Clock> clock() const override { return clock_; }
  TimerId call_at(TimePoint when, Task task) override;
  void cancel(TimerId id) override;
  void post(Task task) override;

 private:
  struct State;
  std::shared_ptr<Runtime> runtime_;
  std::shared_ptr<const Clock> clock_;
  std::shared_ptr<State> state_;
};

/// A deterministic scheduler for tests: tasks run on the thread that calls advance() or run_due().
class ManualScheduler final : public Scheduler {
 public:
  /// Runs against `clock`, which only this scheduler's advance() should move.
  explicit ManualScheduler(std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>());
  [[nodiscard]] std::shared_ptr<const Clock> clock() const override { return clock_; }
  TimerId call_at(TimePoint when, Task task) override;
  void cancel(TimerId id) override;
  void post(Task task) override;
  /// Moves the clock forward by `d`, running every task that falls due on the way, in time order.
  void advance(std::chrono::nanoseconds d);
  /// Runs the tasks due at the current time (posted ones included); returns how many ran.
  size_t run_due();
  /// How many tasks are waiting.
  [[nodiscard]] size_t pending() const;
  /// The manual clock.
  [[nodiscard]] ManualClock& manual_clock() { return *clock_; }

 private:
  std::shared_ptr<ManualClock> clock_;
  mutable std::mutex mutex_;
  TimerId next_id_ = 1;
  std::multimap<TimePoint, std::pair<TimerId, Task>> tasks_;
};

}  // namespace smallpeer
