#include "log/user_log_output.h"

#include <fmt/format.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "log/spdlog_level.h"

namespace smallpeer {

namespace fs = std::filesystem;
using log_detail::from_spdlog;
using log_detail::to_spdlog;

namespace {

// Prints our level names ("warning", "verbose") where spdlog's %l would print "warn" and "trace".
class LevelNameFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const auto name = to_string(from_spdlog(msg.level));
    dest.append(name.data(), name.data() + name.size());
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<LevelNameFlag>(); }
};

std::unique_ptr<spdlog::formatter> make_user_formatter() {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc, std::string("\n"));
  formatter->add_flag<LevelNameFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ [%^%*%$] %v");
  return formatter;
}

struct CallbackSlot {
  UserLogOutput::Callback callback;
  bool removed = false;
  std::vector<std::thread::id> running;  // one entry per invocation in flight
};

// Set while this thread runs a user callback, so a callback that logs is not fed its own output forever.
thread_local bool t_in_callback = false;

}  // namespace

struct UserLogOutput::Impl {
  std::atomic<bool> enabled{true};
  std::atomic<LogLevel> minimum{LogLevel::info};
  // Console and file are spdlog sinks behind a dist_sink, which swaps sinks safely while others log.
  std::shared_ptr<spdlog::sinks::sink> console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  std::shared_ptr<spdlog::sinks::dist_sink_mt> outputs = std::make_shared<spdlog::sinks::dist_sink_mt>();
  std::shared_ptr<spdlog::logger> logger = std::make_shared<spdlog::logger>("smallpeer", outputs);

  std::mutex mutex;  // guards the members below
  std::condition_variable callback_finished;
  std::shared_ptr<spdlog::sinks::sink> file_sink;
  std::map<CallbackId, std::shared_ptr<CallbackSlot>> callbacks;
  CallbackId next_id = 1;
};

UserLogOutput::UserLogOutput() : impl_(std::make_shared<Impl>()) {
  impl_->console->set_formatter(make_user_formatter());
  impl_->outputs->add_sink(impl_->console);
  impl_->logger->set_level(to_spdlog(LogLevel::info));
  impl_->logger->flush_on(spdlog::level::trace);  // the log file must survive a crash too
}

UserLogOutput& UserLogOutput::instance() {
  // Not in spdlog's registry (the host's spdlog::set_level() would change it) and deliberately
  // leaked, so engine threads still running while static destructors run at exit can log safely.
  static UserLogOutput* const output = new UserLogOutput();  // NOLINT(cppcoreguidelines-owning-memory): leaked on purpose
  return *output;
}

void UserLogOutput::set_enabled(bool enabled) {
  impl_->enabled.store(enabled);
}

bool UserLogOutput::enabled() const {
  return impl_->enabled.load();
}

void UserLogOutput::set_minimum_level(LogLevel level) {
  require_valid_log_level(level);
  impl_->minimum.store(level);
  impl_->logger->set_level(to_spdlog(level));
}

LogLevel UserLogOutput::minimum_level() const {
  return impl_->minimum.load();
}

void UserLogOutput::set_log_file(const std::optional<fs::path>& path) {
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (path) {
    if (path->empty()) throw Error(ErrorCode::invalid_argument, "log file path is empty");
    try {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path->string(), false);
    } catch (const spdlog::spdlog_ex& e) {
      throw Error(ErrorCode::io, fmt::format("cannot open log file {}: {}", path->string(), e.what()));
    }
    sink->set_formatter(make_user_formatter());
  }
  std::lock_guard lock(impl_->mutex);
  if (impl_->file_sink) impl_->outputs->remove_sink(impl_->file_sink);
  if (sink) impl_->outputs->add_sink(sink);
  impl_->file_sink = std::move(sink);
}

UserLogOutput::CallbackId UserLogOutput::add_callback(Callback callback) {
  if (!callback) throw Error(ErrorCode::invalid_argument, "log callback is empty");
  auto slot = std::make_shared<CallbackSlot>();
  slot->callback = std::move(callback);
  std::lock_guard lock(impl_->mutex);
  const auto id = impl_->next_id++;
  impl_->callbacks.emplace(id, std::move(slot));
  return id;
}

void UserLogOutput::remove_callback(CallbackId id) {
  Callback doomed;  // destroyed after unlocking: its captures may do anything on destruction
  std::unique_lock lock(impl_->mutex);
  const auto it = impl_->callbacks.find(id);
  if (it == impl_->callbacks.end()) return;
  const auto slot = it->second;
  impl_->callbacks.erase(it);
  slot->removed = true;
  // Wait for other threads' calls; a call on this thread is our caller, which we must not wait for.
  const auto self = std::this_thread::get_id();
  impl_->callback_finished.wait(
      lock, [&] { return std::all_of(slot->running.begin(), slot->running.end(), [&](auto t) { return t == self; }); });
  if (slot->running.empty()) doomed = std::move(slot->callback);
}

void UserLogOutput::write(LogLevel level, std::string_view message) {
  require_valid_log_level(level);
  auto& impl = *impl_;
  if (!impl.enabled.load(std::memory_order_relaxed) || level > impl.minimum.load(std::memory_order_relaxed)) return;
  impl.logger->log(to_spdlog(level), spdlog::string_view_t(message.data(), message.size()));
  if (t_in_callback) return;

  std::vector<std::shared_ptr<CallbackSlot>> slots;
  {
    std::lock_guard lock(impl.mutex);
    if (impl.callbacks.empty()) return;
    slots.reserve(impl.callbacks.size());
    for (const auto& [id, slot] : impl.callbacks) slots.push_back(slot);
  }
  const auto self = std::this_thread::get_id();
  for (const auto& slot : slots) {
    {
      std::lock_guard lock(impl.mutex);
      if (slot->removed) continue;
      slot->running.push_back(self);
    }
    t_in_callback = true;
    try {
      slot->callback(level, message);
    } catch (...) {
      // A throwing callback must not take logging (or the engine thread that logged) down with it.
    }
    t_in_callback = false;
    {
      std::lock_guard lock(impl.mutex);
      slot->running.erase(std::find(slot->running.begin(), slot->running.end(), self));
    }
    impl.callback_finished.notify_all();
  }
}

void UserLogOutput::set_console_enabled(bool enabled) {
  impl_->console->set_level(enabled ? spdlog::level::trace : spdlog::level::off);
}

}  // namespace smallpeer
