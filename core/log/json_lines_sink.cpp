#include "log/json_lines_sink.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <system_error>

#include "common/error.h"

namespace smallpeer::log_detail {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kCurrentName = "smallpeer.log.jsonl";
constexpr std::string_view kRotatedPrefix = "smallpeer.log.";
constexpr std::string_view kSuffix = ".jsonl";

std::optional<uint64_t> rotated_index(const std::string& name) {
  if (name.size() <= kRotatedPrefix.size() + kSuffix.size() || !name.starts_with(kRotatedPrefix) || !name.ends_with(kSuffix)) {
    return std::nullopt;
  }
  const std::string_view digits(name.data() + kRotatedPrefix.size(), name.size() - kRotatedPrefix.size() - kSuffix.size());
  uint64_t index = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return index;
}

// The time of the last readable line: lines are appended, so that is the newest one.
std::optional<TimePoint> newest_timestamp(const fs::path& path, simdjson::dom::parser& parser) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return std::nullopt;
  const auto size = static_cast<uint64_t>(in.tellg());
  // Reading the tail is enough unless it holds no readable line (a huge or corrupt last line).
  for (uint64_t window = std::min<uint64_t>(size, uint64_t{64} * 1024);; window = size) {
    simdjson::padded_string tail(window);
    in.seekg(static_cast<std::streamoff>(size - window));
    in.read(tail.data(), static_cast<std::streamsize>(window));
    if (static_cast<uint64_t>(in.gcount()) != window) return std::nullopt;
    auto lines = split_lines(std::string_view(tail.data(), window));
    if (window < size && !lines.empty()) lines.erase(lines.begin());  // starts mid-line
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
      if (auto parsed = parse_line(parser, *it)) return parsed->ts;
    }
    if (window == size) return std::nullopt;
  }
}

bool ends_with_newline(const fs::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in || in.tellg() <= 0) return true;
  in.seekg(-1, std::ios::end);
  return in.get() == '\n';
}

}  // namespace

std::string errno_message() {
  return std::error_code(errno, std::generic_category()).message();
}

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

JsonLinesFileSink::JsonLinesFileSink(fs::path directory, std::shared_ptr<const Clock> clock, EngineLogLimits limits)
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

std::vector<fs::path> JsonLinesFileSink::files() {
  std::lock_guard lock(mutex_);
  return files_locked();
}

std::vector<ExportSource> JsonLinesFileSink::open_for_export() {
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

void JsonLinesFileSink::sink_it_(const spdlog::details::log_msg& msg) {
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

void JsonLinesFileSink::flush_() {
  if (open_) file_.flush();
}

fs::path JsonLinesFileSink::rotated_path(uint64_t index) const {
  return directory_ / fmt::format("{}{:06}{}", kRotatedPrefix, index, kSuffix);
}

std::vector<fs::path> JsonLinesFileSink::files_locked() const {
  std::vector<fs::path> paths;
  for (const auto& r : rotated_) paths.push_back(rotated_path(r.index));
  std::error_code ec;
  if (open_ || fs::exists(current_path_, ec)) paths.push_back(current_path_);
  return paths;
}

void JsonLinesFileSink::open_current() {
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

void JsonLinesFileSink::close_current() {
  file_.close();
  open_ = false;
}

void JsonLinesFileSink::rotate() {
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
void JsonLinesFileSink::drop_expired(TimePoint now) {
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

void JsonLinesFileSink::drop_excess() {
  std::error_code ec;
  while (!rotated_.empty() && rotated_.size() + 1 > limits_.max_files) {
    fs::remove(rotated_path(rotated_.front().index), ec);
    rotated_.pop_front();
  }
}

}  // namespace smallpeer::log_detail
