#include "log/log.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/details/file_helper.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include "common/error.h"
#include "common/json.h"

namespace smallpeer {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kLevelNames[] = {"error", "warning", "info", "debug", "verbose"};

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::error:
      return spdlog::level::err;
    case LogLevel::warning:
      return spdlog::level::warn;
    case LogLevel::info:
      return spdlog::level::info;
    case LogLevel::debug:
      return spdlog::level::debug;
    case LogLevel::verbose:
      break;
  }
  return spdlog::level::trace;
}

LogLevel from_spdlog(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::err:
    case spdlog::level::critical:
      return LogLevel::error;
    case spdlog::level::warn:
      return LogLevel::warning;
    case spdlog::level::info:
      return LogLevel::info;
    case spdlog::level::debug:
      return LogLevel::debug;
    default:
      return LogLevel::verbose;
  }
}

void require_valid(LogLevel level) {
  if (!is_valid_log_level(static_cast<int32_t>(level)))
    throw Error(ErrorCode::invalid_argument,
                fmt::format("log level {} does not exist (1 error ... 5 verbose)", static_cast<int32_t>(level)));
}

std::string errno_message() {
  return std::error_code(errno, std::generic_category()).message();
}

// ---- UserLogOutput helpers ----

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

// ---- EngineLog file helpers ----

constexpr std::string_view kCurrentName = "smallpeer.log.jsonl";
constexpr std::string_view kRotatedPrefix = "smallpeer.log.";
constexpr std::string_view kSuffix = ".jsonl";

std::optional<uint64_t> rotated_index(const std::string& name) {
  if (name.size() <= kRotatedPrefix.size() + kSuffix.size() || !name.starts_with(kRotatedPrefix) || !name.ends_with(kSuffix))
    return std::nullopt;
  const std::string_view digits(name.data() + kRotatedPrefix.size(), name.size() - kRotatedPrefix.size() - kSuffix.size());
  uint64_t index = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return index;
}

struct ParsedLine {
  TimePoint ts;
  LogLevel level;
};

// `line` must be followed by SIMDJSON_PADDING readable bytes (it lives inside a padded_string).
std::optional<ParsedLine> parse_line(simdjson::dom::parser& parser, std::string_view line) {
  simdjson::dom::element doc;
  if (parser.parse(line.data(), line.size(), false).get(doc)) return std::nullopt;
  std::string_view ts;
  std::string_view level;
  if (doc["ts"].get(ts) || doc["level"].get(level)) return std::nullopt;
  const auto time = parse_rfc3339(ts);
  const auto parsed_level = parse_log_level(level);
  if (!time || !parsed_level) return std::nullopt;
  return ParsedLine{*time, *parsed_level};
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto end = text.find('\n');
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  return lines;
}

// Reads `size` bytes from the stream's start; simdjson needs the padding after them.
simdjson::padded_string read_padded(std::istream& in, uint64_t size) {
  simdjson::padded_string text(size);
  in.seekg(0);
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (static_cast<uint64_t>(in.gcount()) != size) return simdjson::padded_string(size_t{0});
  return text;
}

// The time of the last readable line: lines are appended, so that is the newest one.
std::optional<TimePoint> newest_timestamp(const fs::path& path, simdjson::dom::parser& parser) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return std::nullopt;
  const auto size = static_cast<uint64_t>(in.tellg());
  // Reading the tail is enough unless it holds no readable line (a huge or corrupt last line).
  for (uint64_t window = std::min<uint64_t>(size, 64 * 1024);; window = size) {
    simdjson::padded_string tail(window);
    in.seekg(static_cast<std::streamoff>(size - window));
    in.read(tail.data(), static_cast<std::streamsize>(window));
    if (static_cast<uint64_t>(in.gcount()) != window) return std::nullopt;
    auto lines = split_lines(std::string_view(tail.data(), window));
    if (window < size && !lines.empty()) lines.erase(lines.begin());  // starts mid-line
    for (auto it = lines.rbegin(); it != lines.rend(); ++it)
      if (auto parsed = parse_line(parser, *it)) return parsed->ts;
    if (window == size) return std::nullopt;
  }
}

bool ends_with_newline(const fs::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in || in.tellg() <= 0) return true;
  in.seekg(-1, std::ios::end);
  return in.get() == '\n';
}

// simdjson rejects invalid UTF-8, so one stray byte would make the whole line unreadable at export.
std::string replace_invalid_utf8(std::string_view s) {
  static constexpr uint32_t kMinCodePoint[] = {0, 0, 0x80, 0x800, 0x10000};
  std::string out;
  out.reserve(s.size() + 8);
  size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const size_t len = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    uint32_t cp = lead & (0x7F >> len);
    for (size_t k = 1; ok && k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      ok = (c & 0xC0) == 0x80;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (ok && len > 1) ok = cp >= kMinCodePoint[len] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    }
  }
  return out;
}

void append_json_text(std::string& out, std::string_view text) {
  if (simdjson::validate_utf8(text.data(), text.size())) {
    append_json_string(out, text);
  } else {
    append_json_string(out, replace_invalid_utf8(text));
  }
}

// A file an export reads: opened under the sink's lock, so a rotation or deletion after that
// cannot change what the export sees (POSIX keeps an open file readable through rename/unlink).
struct ExportSource {
  fs::path path;
  std::ifstream stream;
  uint64_t size = 0;
};

// The engine's rotating JSON Lines files. spdlog's rotating_file_sink renames every file on each
// rotation and knows nothing of age, so this sink rotates by index and prunes by the injected clock.
class JsonLinesFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  JsonLinesFileSink(fs::path directory, std::shared_ptr<const Clock> clock, EngineLogLimits limits)
      : directory_(std::move(directory)), current_path_(directory_ / kCurrentName), clock_(std::move(clock)), limits_(limits) {
    std::error_code ec;
    fs::create_directories(directory_, ec);
    if (ec) throw Error(ErrorCode::io, fmt::format("cannot create log directory {}: {}", directory_.string(), ec.message()));
    simdjson::dom::parser parser;
    try {
      for (const auto& entry : fs::directory_iterator(directory_)) {
        const auto index = rotated_index(entry.path().filename().string());
        if (!index) continue;
        next_index_ = std::max(next_index_, *index + 1);
        if (auto newest = newest_timestamp(entry.path(), parser)) {
          rotated_.push_back({*index, *newest});
        } else {
          fs::remove(entry.path(), ec);  // nothing in it can be dated, so nothing in it can be exported
        }
      }
    } catch (const fs::filesystem_error& e) {
      throw Error(ErrorCode::io, fmt::format("cannot list log directory {}: {}", directory_.string(), e.what()));
    }
    std::sort(rotated_.begin(), rotated_.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
    if (fs::exists(current_path_, ec)) current_newest_ = newest_timestamp(current_path_, parser);
    drop_expired(clock_->now());
    drop_excess();
    open_current();
  }

  /// The files, oldest first.
  std::vector<fs::path> files() {
    std::lock_guard lock(mutex_);
    return files_locked();
  }

  /// Flushes, prunes by age and opens every file, pinning the bytes an export will read.
  std::vector<ExportSource> open_for_export() {
    std::lock_guard lock(mutex_);
    drop_expired(clock_->now());
    if (open_) file_.flush();
    std::vector<ExportSource> sources;
    for (auto& path : files_locked()) {
      std::ifstream in(path, std::ios::binary | std::ios::ate);
      if (!in) throw Error(ErrorCode::io, fmt::format("cannot read log file {}: {}", path.string(), errno_message()));
      const auto size = static_cast<uint64_t>(in.tellg());
      sources.push_back({std::move(path), std::move(in), size});
    }
    return sources;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const TimePoint now = msg.time;  // EngineLog stamps each message with the injected clock
    drop_expired(now);
    const uint64_t size = msg.payload.size() + 1;
    if (current_bytes_ > 0 && current_bytes_ + size > limits_.max_file_bytes) rotate();
    if (!open_) open_current();
    spdlog::memory_buf_t line;
    line.append(msg.payload.begin(), msg.payload.end());
    line.push_back('\n');
    file_.write(line);
    // Flushed per line: a crash must not lose lines, and exports read the file while it is open.
    file_.flush();
    current_bytes_ += size;
    current_newest_ = now;
  }

  void flush_() override {
    if (open_) file_.flush();
  }

 private:
  struct RotatedFile {
    uint64_t index;
    TimePoint newest;
  };

  [[nodiscard]] fs::path rotated_path(uint64_t index) const {
    return directory_ / fmt::format("{}{:06}{}", kRotatedPrefix, index, kSuffix);
  }

  std::vector<fs::path> files_locked() const {
    std::vector<fs::path> paths;
    for (const auto& r : rotated_) paths.push_back(rotated_path(r.index));
    std::error_code ec;
    if (open_ || fs::exists(current_path_, ec)) paths.push_back(current_path_);
    return paths;
  }

  void open_current() {
    try {
      file_.open(current_path_.string(), false);
    } catch (const spdlog::spdlog_ex& e) {
      throw Error(ErrorCode::io, fmt::format("cannot open log file {}: {}", current_path_.string(), e.what()));
    }
    open_ = true;
    current_bytes_ = file_.size();
    // A crash can leave a partial last line; end it so the next line is not glued onto it.
    if (current_bytes_ > 0 && !ends_with_newline(current_path_)) {
      spdlog::memory_buf_t newline;
      newline.push_back('\n');
      file_.write(newline);
      file_.flush();
      ++current_bytes_;
    }
  }

  void close_current() {
    file_.close();
    open_ = false;
  }

  void rotate() {
    close_current();
    std::error_code ec;
    if (current_newest_) {
      fs::rename(current_path_, rotated_path(next_index_), ec);
      if (!ec) rotated_.push_back({next_index_++, *current_newest_});
    }
    // Lines that cannot be dated or kept are dropped rather than letting the file grow without bound.
    if (!current_newest_ || ec) fs::remove(current_path_, ec);
    current_newest_.reset();
    drop_excess();
    open_current();
  }

  // Cheap enough for every write: at most max_files comparisons, and file work only when one expires.
  void drop_expired(TimePoint now) {
    const auto cutoff = now - limits_.max_age;
    std::error_code ec;
    for (auto it = rotated_.begin(); it != rotated_.end();) {
      if (it->newest < cutoff) {
        fs::remove(rotated_path(it->index), ec);
        it = rotated_.erase(it);
      } else {
        ++it;
      }
    }
    // A stale current file starts afresh, rather than one new line keeping days-old lines alive.
    if (current_newest_ && *current_newest_ < cutoff) {
      const bool was_open = open_;
      close_current();
      fs::remove(current_path_, ec);
      current_newest_.reset();
      current_bytes_ = 0;
      if (was_open) open_current();
    }
  }

  void drop_excess() {
    std::error_code ec;
    while (!rotated_.empty() && rotated_.size() + 1 > limits_.max_files) {
      fs::remove(rotated_path(rotated_.front().index), ec);
      rotated_.pop_front();
    }
  }

  const fs::path directory_;
  const fs::path current_path_;
  const std::shared_ptr<const Clock> clock_;
  const EngineLogLimits limits_;
  spdlog::details::file_helper file_;
  bool open_ = false;
  uint64_t current_bytes_ = 0;
  std::optional<TimePoint> current_newest_;  // unset while the current file has no datable line
  std::deque<RotatedFile> rotated_;          // oldest first
  uint64_t next_index_ = 1;
};

struct GzCloser {
  void operator()(gzFile file) const { gzclose(file); }
};

// Writes `lines` (each followed by '\n') to `out`; returns the compressed size.
uint64_t write_gzip(const fs::path& out, const std::vector<std::string_view>& lines) {
  std::error_code ec;
  const auto fail = [&](const std::string& why) {
    fs::remove(out, ec);
    return Error(ErrorCode::io, fmt::format("cannot write log export {}: {}", out.string(), why));
  };
  errno = 0;
  std::unique_ptr<gzFile_s, GzCloser> gz(gzopen(out.c_str(), "wb"));
  if (!gz) throw Error(ErrorCode::io, fmt::format("cannot write log export {}: {}", out.string(), errno_message()));
  std::string chunk;
  const auto write_chunk = [&] {
    if (chunk.empty()) return;
    if (gzwrite(gz.get(), chunk.data(), static_cast<unsigned>(chunk.size())) != static_cast<int>(chunk.size())) {
      int zerr = 0;
      const std::string why = gzerror(gz.get(), &zerr);
      gz.reset();
      throw fail(why);
    }
    chunk.clear();
  };
  for (const auto line : lines) {
    chunk.append(line);
    chunk.push_back('\n');
    if (chunk.size() >= 256 * 1024) write_chunk();
  }
  write_chunk();
  errno = 0;
  if (gzclose(gz.release()) != Z_OK) throw fail(errno != 0 ? errno_message() : std::string("gzclose failed"));
  const auto size = fs::file_size(out, ec);
  if (ec) throw fail(ec.message());
  return size;
}

}  // namespace

// ---- levels ----

std::string_view to_string(LogLevel level) {
  const auto value = static_cast<int32_t>(level);
  return is_valid_log_level(value) ? kLevelNames[value - 1] : std::string_view("unknown");
}

std::optional<LogLevel> parse_log_level(std::string_view name) {
  for (size_t i = 0; i < std::size(kLevelNames); ++i)
    if (kLevelNames[i] == name) return static_cast<LogLevel>(i + 1);
  return std::nullopt;
}

bool is_valid_log_level(int32_t value) {
  return value >= static_cast<int32_t>(LogLevel::error) && value <= static_cast<int32_t>(LogLevel::verbose);
}

// ---- UserLogOutput ----

struct UserLogOutput::Impl {
  std::atomic<bool> enabled{true};
  std::atomic<LogLevel> minimum{LogLevel::info};
  // Console and file are spdlog sinks behind a dist_sink, which swaps sinks safely while others log.
  std::shared_ptr<spdlog::sinks::sink> console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  std::shared_ptr<spdlog::sinks::dist_sink_mt> outputs = std::make_shared<spdlog::sinks::dist_sink_mt>();
  std::shared_ptr<spdlog::logger> logger = std::make_shared<spdlog::logger>("smallpeer", outputs);

  std::mutex mutex;  // guards the members below
  std::condition_variable callback_finished;
  std::optional<fs::path> file_path;
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
  static UserLogOutput* const output = new UserLogOutput();
  return *output;
}

void UserLogOutput::set_enabled(bool enabled) {
  impl_->enabled.store(enabled);
}

bool UserLogOutput::enabled() const {
  return impl_->enabled.load();
}

void UserLogOutput::set_minimum_level(LogLevel level) {
  require_valid(level);
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
  impl_->file_path = path;
}

std::optional<fs::path> UserLogOutput::log_file() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->file_path;
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
  require_valid(level);
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

// ---- EngineLog ----

struct EngineLog::Impl {
  fs::path directory;
  std::shared_ptr<const Clock> clock;
  std::string peer_field;  // ,"peer":"<key>", escaped once
  std::shared_ptr<JsonLinesFileSink> sink;
  std::shared_ptr<spdlog::logger> logger;
};

EngineLog::EngineLog(fs::path directory, std::string peer_key, std::shared_ptr<const Clock> clock, EngineLogLimits limits)
    : impl_(std::make_unique<Impl>()) {
  if (directory.empty()) throw Error(ErrorCode::invalid_argument, "log directory is empty");
  if (!clock) throw Error(ErrorCode::invalid_argument, "log clock is null");
  if (limits.max_file_bytes == 0 || limits.max_files == 0 || limits.max_age.count() <= 0)
    throw Error(ErrorCode::invalid_argument, "log limits must be positive (max_file_bytes, max_files, max_age)");
  impl_->directory = std::move(directory);
  impl_->clock = std::move(clock);
  impl_->peer_field = R"(,"peer":)";
  append_json_text(impl_->peer_field, peer_key);
  impl_->sink = std::make_shared<JsonLinesFileSink>(impl_->directory, impl_->clock, limits);
  // Not registered in spdlog's registry: it is per instance, and the host's spdlog::set_level() must not touch it.
  impl_->logger = std::make_shared<spdlog::logger>("smallpeer.engine", impl_->sink);
  impl_->logger->set_level(spdlog::level::debug);  // verbose never reaches the files
}

EngineLog::~EngineLog() = default;

void EngineLog::log(LogLevel level, std::string_view component, std::string_view message) {
  require_valid(level);
  if (level <= LogLevel::debug) {
    const TimePoint now = impl_->clock->now();
    std::string line;
    line.reserve(128 + impl_->peer_field.size() + component.size() + message.size());
    line += R"({"ts":")";
    line += format_rfc3339(now);
    line += R"(","level":")";
    line += to_string(level);
    line += '"';
    line += impl_->peer_field;
    line += R"(,"component":)";
    append_json_text(line, component);
    line += R"(,"msg":)";
    append_json_text(line, message);
    line += '}';
    impl_->logger->log(now, spdlog::source_loc{}, to_spdlog(level), spdlog::string_view_t(line.data(), line.size()));
  }
  fmt::memory_buffer text;
  fmt::format_to(std::back_inserter(text), "[{}] {}", component, message);
  UserLogOutput::instance().write(level, std::string_view(text.data(), text.size()));
}

void EngineLog::flush() {
  impl_->logger->flush();
}

const fs::path& EngineLog::directory() const {
  return impl_->directory;
}

std::vector<fs::path> EngineLog::files() const {
  return impl_->sink->files();
}

uint64_t EngineLog::total_bytes() const {
  uint64_t total = 0;
  for (const auto& path : impl_->sink->files()) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (!ec) total += size;
  }
  return total;
}

LogExportResult EngineLog::export_gzip(const fs::path& out, const LogExportOptions& options) {
  require_valid(options.min_level);
  auto sources = impl_->sink->open_for_export();

  // Everything is read into memory (at most max_files * max_file_bytes) so max_bytes can keep the newest.
  LogExportResult result;
  simdjson::dom::parser parser;
  std::vector<simdjson::padded_string> texts;
  texts.reserve(sources.size());
  std::vector<std::string_view> kept;
  for (auto& source : sources) {
    auto text = read_padded(source.stream, source.size);
    if (text.size() != source.size) throw Error(ErrorCode::io, fmt::format("cannot read log file {}", source.path.string()));
    for (const auto line : split_lines(std::string_view(text.data(), text.size()))) {
      if (line.empty()) continue;
      const auto parsed = parse_line(parser, line);
      if (!parsed) {
        ++result.malformed_lines;
        continue;
      }
      if (parsed->level > options.min_level) continue;
      if (options.since && parsed->ts < *options.since) continue;
      if (options.until && parsed->ts > *options.until) continue;
      kept.push_back(line);
    }
    texts.push_back(std::move(text));  // moving keeps the buffer, so `kept` stays valid
  }

  size_t first = 0;
  uint64_t bytes = 0;
  if (options.max_bytes) {
    first = kept.size();
    while (first > 0 && bytes + kept[first - 1].size() + 1 <= *options.max_bytes) bytes += kept[--first].size() + 1;
  } else {
    for (const auto line : kept) bytes += line.size() + 1;
  }
  result.truncated = first > 0;
  kept.erase(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(first));
  result.lines = kept.size();
  result.uncompressed_bytes = bytes;
  result.compressed_bytes = write_gzip(out, kept);
  return result;
}

}  // namespace smallpeer
