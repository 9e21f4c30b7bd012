// The process-wide thread pool that every engine instance shares (one process hosts 1,000+ peers).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace smallpeer {

/// A small Boost.Asio thread pool shared by all instances in the process.
class Runtime {
 public:
  /// The shared pool, started on first use and stopped when its last user lets go.
  static std::shared_ptr<Runtime> shared();
  /// Starts `threads` threads; prefer shared().
  explicit Runtime(unsigned threads);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  /// The io_context the pool runs.
  boost::asio::io_context& io() { return *io_; }
  /// How many threads the pool runs.
  [[nodiscard]] size_t thread_count() const { return threads_.size(); }

 private:
  // Shared with the threads: when a task drops the last reference, ~Runtime runs on a pool thread,
  // which then still has to return through io_context::run().
  std::shared_ptr<boost::asio::io_context> io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

}  // namespace smallpeer
