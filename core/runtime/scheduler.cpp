#include "runtime/scheduler.h"

#include <boost/asio/post.hpp>
#include <boost/asio/system_timer.hpp>

namespace smallpeer {

struct AsioScheduler::State {
  std::mutex mutex;
  TimerId next_id = 1;
  std::map<TimerId, std::shared_ptr<boost::asio::system_timer>> timers;
};

AsioScheduler::AsioScheduler(std::shared_ptr<Runtime> runtime)
    : runtime_(std::move(runtime)), clock_(std::make_shared<SystemClock>()), state_(std::make_shared<State>()) {}

// NOLINTNEXTLINE(bugprone-exception-escape): see the declaration
AsioScheduler::~AsioScheduler() {
  std::lock_guard lock(state_->mutex);
  for (auto& [id, timer] : state_->timers) timer->cancel();
  state_->timers.clear();
}

Scheduler::TimerId AsioScheduler::call_at(TimePoint when, Task task) {
  auto timer = std::make_shared<boost::asio::system_timer>(runtime_->io(), when);
  TimerId id;
  {
    std::lock_guard lock(state_->mutex);
    id = state_->next_id++;
    state_->timers.emplace(id, timer);
  }
  std::weak_ptr<State> weak = state_;
  timer->async_wait([weak, id, task = std::move(task)](const boost::system::error_code& ec) {
    auto state = weak.lock();
    if (!state) return;
    {
      std::lock_guard lock(state->mutex);
      // Erased means cancelled, even if the timer had already fired.
      if (state->timers.erase(id) == 0) return;
    }
    if (!ec) task();
  });
  return id;
}

void AsioScheduler::cancel(TimerId id) {
  std::lock_guard lock(state_->mutex);
  if (auto it = state_->timers.find(id); it != state_->timers.end()) {
    it->second->cancel();
    state_->timers.erase(it);
  }
}

void AsioScheduler::post(Task task) {
  boost::asio::post(runtime_->io(), std::move(task));
}

ManualScheduler::ManualScheduler(std::shared_ptr<ManualClock> clock) : clock_(std::move(clock)) {}

Scheduler::TimerId ManualScheduler::call_at(TimePoint when, Task task) {
  std::lock_guard lock(mutex_);
  const TimerId id = next_id_++;
  tasks_.emplace(when, std::make_pair(id, std::move(task)));
  return id;
}

void ManualScheduler::cancel(TimerId id) {
  std::lock_guard lock(mutex_);
  for (auto it = tasks_.begin(); it != tasks_.end(); ++it) {
    if (it->second.first == id) {
      tasks_.erase(it);
      return;
    }
  }
}

void ManualScheduler::post(Task task) {
  call_at(clock_->now(), std::move(task));
}

size_t ManualScheduler::run_due() {
  size_t ran = 0;
  for (;;) {
    Task task;
    {
      std::lock_guard lock(mutex_);
      if (tasks_.empty() || tasks_.begin()->first > clock_->now()) return ran;
      task = std::move(tasks_.begin()->second.second);
      tasks_.erase(tasks_.begin());
    }
    task();  // outside the lock: a task may schedule the next one
    ++ran;
  }
}

void ManualScheduler::advance(std::chrono::nanoseconds d) {
  const TimePoint target = clock_->now() + std::chrono::duration_cast<TimePoint::duration>(d);
  for (;;) {
    run_due();
    TimePoint next;
    {
      std::lock_guard lock(mutex_);
      if (tasks_.empty() || tasks_.begin()->first > target) break;
      next = tasks_.begin()->first;
    }
    if (next > clock_->now()) clock_->set(next);
  }
  clock_->set(target);
  run_due();
}

size_t ManualScheduler::pending() const {
  std::lock_guard lock(mutex_);
  return tasks_.size();
}

}  // namespace smallpeer
