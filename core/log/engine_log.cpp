#include "log/engine_log.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/logger.h>

#include <iterator>

#include "common/error.h"
#include "common/json.h"
#include "log/json_lines_sink.h"
#include "log/log_export.h"
#include "log/spdlog_level.h"
#include "log/user_log_output.h"

namespace smallpeer {

namespace fs = std::filesystem;
using log_detail::JsonLinesFileSink;
using log_detail::to_spdlog;

namespace {

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

}  // namespace

struct EngineLog::Impl {
  fs::path directory;
  std::shared_ptr<const Clock> clock;
  std::string peer_field;  // ,"peer":"<key>", escaped once
  std::shared_ptr<JsonLinesFileSink> sink;
  std::shared_ptr<spdlog::logger> logger;
};

EngineLog::EngineLog(fs::path directory, const std::string& peer_key, std::shared_ptr<const Clock> clock, EngineLogLimits limits)
    : impl_(std::make_unique<Impl>()) {
  if (directory.empty()) throw Error(ErrorCode::invalid_argument, "log directory is empty");
  if (!clock) throw Error(ErrorCode::invalid_argument, "log clock is null");
  if (limits.max_file_bytes == 0 || limits.max_files == 0 || limits.max_age.count() <= 0) {
    throw Error(ErrorCode::invalid_argument, "log limits must be positive (max_file_bytes, max_files, max_age)");
  }
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
  require_valid_log_level(level);
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

LogExportResult EngineLog::export_gzip(const fs::path& out, const LogFilter& filter) {
  filter.validate();
  return log_detail::export_gzip(impl_->sink->open_for_export(), out, filter);
}

LogExportResult EngineLog::export_gzip(const std::vector<EngineLog*>& logs, const fs::path& out, const LogFilter& filter) {
  filter.validate();
  std::vector<log_detail::ExportSource> sources;
  for (EngineLog* log : logs) {
    auto own = log->impl_->sink->open_for_export();
    std::move(own.begin(), own.end(), std::back_inserter(sources));
  }
  return log_detail::export_gzip(std::move(sources), out, filter, /*merge_by_time=*/logs.size() > 1);
}

}  // namespace smallpeer
