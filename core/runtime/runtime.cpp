#include "runtime/runtime.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <string>

namespace smallpeer {

std::shared_ptr<Runtime> Runtime::shared() {
  // The one piece of process-wide state besides the logging registry: a weak reference, so the
  // pool's threads exist only while some instance uses them.
  static std::mutex mutex;
  static std::weak_ptr<Runtime> current;
  std::lock_guard lock(mutex);
  if (auto existing = current.lock()) return existing;
  unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  if (const char* env = std::getenv("SMALLPEER_THREADS")) threads = std::clamp(std::atoi(env), 1, 64);
  auto runtime = std::make_shared<Runtime>(threads);
  current = runtime;
  return runtime;
}

Runtime::Runtime(unsigned threads) : io_(std::make_shared<boost::asio::io_context>()), work_(boost::asio::make_work_guard(*io_)) {
  threads_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([io = io_] { io->run(); });
}

Runtime::~Runtime() {
  work_.reset();
  io_->stop();
  for (auto& t : threads_) {
    // The last reference may be dropped by a task on one of our own threads: never join oneself.
    // That thread keeps the io_context alive until its run() returns.
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();
    } else if (t.joinable()) {
      t.join();
    }
  }
}

}  // namespace smallpeer
