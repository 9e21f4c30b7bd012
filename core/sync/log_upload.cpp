#include "sync/log_upload.h"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <fstream>

#include "clock/clock.h"
#include "common/error.h"
#include "runtime/runtime.h"
#include "sync/session.h"

namespace smallpeer::sync {

namespace {
constexpr std::string_view kBundleSuffix = ".jsonl.gz";
constexpr std::string_view kDevicePrefix = "dev_";
// Chunks are queued only while the connection has less than this waiting to be written.
constexpr size_t kMaxQueuedBytes = size_t{1024} * 1024;
}  // namespace

LogOutbox::LogOutbox(std::filesystem::path directory, EngineLog& log) : dir_(std::move(directory)), log_(log) {}

std::filesystem::path LogOutbox::path(const std::string& id) const {
  return dir_ / (id + std::string(kBundleSuffix));
}

uint64_t LogOutbox::ensure(const std::string& id, const LogFilter& filter) {
  if (!is_valid_log_request_id(id)) throw Error(ErrorCode::invalid_argument, fmt::format("invalid log request id '{}'", id));
  std::lock_guard lock(mutex_);
  const auto bundle = path(id);
  std::error_code ec;
  if (const auto size = std::filesystem::file_size(bundle, ec); !ec) return size;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw Error(ErrorCode::io, fmt::format("cannot create the log outbox {}: {}", dir_.string(), ec.message()));
  // Built aside and renamed, so a crash mid-build never leaves a bundle that looks finished.
  auto part = bundle;
  part += ".part";
  log_.export_gzip(part, filter);
  std::filesystem::rename(part, bundle, ec);
  if (ec) throw Error(ErrorCode::io, fmt::format("cannot move log bundle into place {}: {}", bundle.string(), ec.message()));
  return std::filesystem::file_size(bundle);
}

LogOutbox::Entry LogOutbox::create_device_bundle(const LogFilter& filter) {
  std::array<unsigned char, 8> random{};
  randombytes_buf(random.data(), random.size());
  std::string id(kDevicePrefix);
  for (unsigned char b : random) id += fmt::format("{:02x}", b);
  const uint64_t size = ensure(id, filter);
  return {id, size, true};
}

std::vector<LogOutbox::Entry> LogOutbox::entries() const {
  std::lock_guard lock(mutex_);
  std::vector<Entry> out;
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = item.path().filename().string();
    if (!name.ends_with(kBundleSuffix)) continue;
    const std::string id = name.substr(0, name.size() - kBundleSuffix.size());
    if (!is_valid_log_request_id(id)) continue;
    std::error_code size_ec;
    const auto size = item.file_size(size_ec);
    if (!size_ec) out.push_back({id, size, id.starts_with(kDevicePrefix)});
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.id < b.id; });
  return out;
}

void LogOutbox::remove(const std::string& id) {
  if (!is_valid_log_request_id(id)) return;
  std::lock_guard lock(mutex_);
  std::error_code ec;
  std::filesystem::remove(path(id), ec);
}

LogUploader::LogUploader(std::weak_ptr<Session> session, LogOutbox& outbox, EngineLog& log, LogUploadSettings settings)
    : session_(std::move(session)), outbox_(outbox), log_(log), settings_(settings) {
  settings_.chunk_bytes = std::clamp<uint32_t>(settings_.chunk_bytes, 1024, kMaxLogChunkBytes);
}

void LogUploader::start() {
  auto session = session_.lock();
  if (!session) return;
  for (const auto& entry : outbox_.entries()) session->send_frame(entry.offer());
}

void LogUploader::on_request(const LogRequest& request) {
  if (stopped_) return;
  log_.log(LogLevel::info, "logs",
           fmt::format("the Big Peer requested log bundle {} (from byte {})", request.request_id, request.resume_offset));
  // Building reads every log file: do it on the shared pool, then continue on the session's strand.
  auto runtime = Runtime::shared();
  boost::asio::post(runtime->io(), [self = shared_from_this(), request, runtime] {
    std::string error;
    uint64_t total = 0;
    try {
      total = self->outbox_.ensure(request.request_id, request.filter);
    } catch (const std::exception& e) {
      error = e.what();
    }
    auto session = self->session_.lock();
    if (!session) return;
    boost::asio::post(session->executor(), [self, request, total, error] {
      if (self->stopped_) return;
      if (!error.empty()) {
        self->log_.log(LogLevel::error, "logs", fmt::format("cannot build log bundle {}: {}", request.request_id, error));
        if (auto s = self->session_.lock()) s->send_frame(LogResult{request.request_id, false, error});
        return;
      }
      self->begin_upload(request.request_id, total, request.resume_offset);
    });
  });
}

void LogUploader::on_result(const LogResult& result) {
  uploads_.erase(result.request_id);
  outbox_.remove(result.request_id);
  log_.log(result.ok ? LogLevel::info : LogLevel::warning, "logs",
           result.ok ? fmt::format("log bundle {} uploaded", result.request_id)
                     : fmt::format("the Big Peer refused log bundle {}: {}", result.request_id, result.reason));
}

void LogUploader::stop() {
  stopped_ = true;
  uploads_.clear();
  if (timer_) timer_->cancel();
}

void LogUploader::begin_upload(const std::string& id, uint64_t total, uint64_t offset) {
  // A second request for the same bundle (after a gap, or on reconnect) moves its position.
  uploads_[id] = Upload{outbox_.path(id), std::min(offset, total), total};
  pump();
}

void LogUploader::schedule_pump(std::chrono::milliseconds delay) {
  auto session = session_.lock();
  if (!session || timer_armed_) return;
  timer_armed_ = true;
  timer_ = std::make_unique<boost::asio::steady_timer>(session->executor(), delay);
  timer_->async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!self) return;
    self->timer_armed_ = false;
    if (!ec) self->pump();
  });
}

void LogUploader::pump() {
  auto session = session_.lock();
  if (stopped_ || !session) return;
  std::string buffer;
  while (!uploads_.empty()) {
    if (session->pending_bytes() > kMaxQueuedBytes) return schedule_pump(std::chrono::milliseconds(5));
    const auto now = std::chrono::steady_clock::now();
    if (settings_.max_bytes_per_second > 0 && now < next_send_) {
      return schedule_pump(std::chrono::ceil<std::chrono::milliseconds>(next_send_ - now));
    }
    auto it = uploads_.begin();
    auto& [id, upload] = *it;
    if (upload.offset >= upload.total) {
      uploads_.erase(it);  // all sent; the bundle stays in the outbox until the Big Peer's result
      continue;
    }
    const uint64_t n = std::min<uint64_t>(settings_.chunk_bytes, upload.total - upload.offset);
    buffer.resize(n);
    std::ifstream in(upload.path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(upload.offset));
    if (!in || !in.read(buffer.data(), static_cast<std::streamsize>(n))) {
      const std::string reason = fmt::format("log bundle {} can no longer be read", id);
      log_.log(LogLevel::error, "logs", reason);
      session->send_frame(LogResult{id, false, reason});
      uploads_.erase(it);
      continue;
    }
    if (!session->send_frame(LogChunk{id, upload.offset, upload.total, buffer})) return;
    upload.offset += n;
    if (settings_.max_bytes_per_second > 0) {
      next_send_ = std::max(next_send_, now) + std::chrono::microseconds(n * 1'000'000 / settings_.max_bytes_per_second);
    }
  }
}

}  // namespace smallpeer::sync
