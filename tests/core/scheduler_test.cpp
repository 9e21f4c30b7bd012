#include "runtime/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <vector>

using namespace smallpeer;
using namespace std::chrono_literals;

TEST(ManualScheduler, RunsTasksInTimeOrderOnlyWhenTheClockReachesThem) {
  ManualScheduler s;
  std::vector<int> ran;
  const auto t0 = s.clock()->now();
  s.call_at(t0 + 2s, [&] { ran.push_back(2); });
  s.call_at(t0 + 1s, [&] { ran.push_back(1); });
  s.advance(500ms);
  EXPECT_TRUE(ran.empty());
  s.advance(2s);
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));
}

TEST(ManualScheduler, TaskSeesItsOwnDeadlineAsNowAndCanReschedule) {
  ManualScheduler s;
  std::vector<TimePoint> seen;
  std::function<void()> tick = [&] {
    seen.push_back(s.clock()->now());
    s.call_at(s.clock()->now() + 300s, tick);
  };
  const auto t0 = s.clock()->now();
  s.call_at(t0 + 300s, tick);
  s.advance(std::chrono::hours(1));
  ASSERT_EQ(seen.size(), 12u);
  EXPECT_EQ(seen.front(), t0 + 300s);
  EXPECT_EQ(seen.back(), t0 + 3600s);
}

TEST(ManualScheduler, CancelledTaskNeverRuns) {
  ManualScheduler s;
  bool ran = false;
  const auto id = s.call_at(s.clock()->now() + 1s, [&] { ran = true; });
  s.cancel(id);
  s.advance(10s);
  EXPECT_FALSE(ran);
}

TEST(AsioScheduler, RunsATimerOnTheSharedRuntime) {
  AsioScheduler s;
  std::mutex m;
  std::condition_variable cv;
  bool ran = false;
  s.call_at(s.clock()->now() + 20ms, [&] {
    std::lock_guard lock(m);
    ran = true;
    cv.notify_all();
  });
  std::unique_lock lock(m);
  EXPECT_TRUE(cv.wait_for(lock, 5s, [&] { return ran; }));
}

TEST(AsioScheduler, CancelStopsAPendingTimer) {
  AsioScheduler s;
  std::atomic<bool> ran{false};
  const auto id = s.call_at(s.clock()->now() + 50ms, [&] { ran = true; });
  s.cancel(id);
  std::this_thread::sleep_for(150ms);
  EXPECT_FALSE(ran.load());
}

TEST(Runtime, MayBeReleasedByOneOfItsOwnTasks) {
  // The task holds the last reference, so ~Runtime runs on the pool thread, which must then still
  // return safely through io_context::run() (AddressSanitizer saw a heap-use-after-free here).
  auto runtime = std::make_shared<Runtime>(2);
  std::weak_ptr<Runtime> weak = runtime;
  std::promise<void> released;
  boost::asio::post(runtime->io(), [runtime, done = released.get_future().share()] { done.wait(); });
  runtime.reset();
  released.set_value();
  for (int i = 0; i < 500 && !weak.expired(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(weak.expired());
  std::this_thread::sleep_for(100ms);  // lets the detached thread leave run()
}
