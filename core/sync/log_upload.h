// Log bundles on a small peer (SPEC section 6). A bundle is built from the engine log when the Big
// Peer requests it (or when the app sends its logs on its own initiative), kept in the outbox
// <persistence>/log-outbox/<id>.jsonl.gz until the Big Peer says it stored or refused it, and
// uploaded in chunks over the Big Peer session from whatever offset the Big Peer asks for, so an
// upload cut by a dropped connection resumes where it stopped, with the same bytes.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "log/log.h"
#include "sync/protocol.h"

namespace smallpeer::sync {

class Session;

/// How uploads are paced: chunk size, and an optional bandwidth cap (0: as fast as the link goes).
struct LogUploadSettings {
  uint32_t chunk_bytes = 256 * 1024;
  uint64_t max_bytes_per_second = 0;
};

/// Finished bundles waiting for the Big Peer. Thread-safe.
class LogOutbox {
 public:
  /// Keeps bundles in `directory` (created on first use), built from `log`.
  LogOutbox(std::filesystem::path directory, EngineLog& log);

  /// One bundle in the outbox.
  struct Entry {
    std::string id;
    uint64_t size = 0;
    bool device_initiated = false;  // ids starting with "dev_": sent on the app's own initiative
    /// The LOG_OFFER frame announcing this bundle to the Big Peer.
    [[nodiscard]] LogOffer offer() const { return LogOffer{id, size, device_initiated}; }
  };

  /// The size of bundle `id`, building it first from the engine log lines that pass `filter` if it
  /// is not there yet (an existing bundle is reused as is, so a resumed upload sends the same bytes).
  uint64_t ensure(const std::string& id, const LogFilter& filter);
  /// Builds a bundle for the app's own "send logs" call; returns its new id ("dev_<hex>").
  Entry create_device_bundle(const LogFilter& filter);
  /// Every finished bundle.
  [[nodiscard]] std::vector<Entry> entries() const;
  /// Where bundle `id` lives.
  [[nodiscard]] std::filesystem::path path(const std::string& id) const;
  /// Deletes bundle `id` (no-op if absent).
  void remove(const std::string& id);

 private:
  std::filesystem::path dir_;
  EngineLog& log_;
  mutable std::mutex mutex_;  // one build at a time; entries() never sees a half-written bundle
};

/// Uploads the outbox over one Big Peer session. Create it when the session is established; all
/// its work runs on the session's strand (bundles are built on the shared pool).
class LogUploader : public std::enable_shared_from_this<LogUploader> {
 public:
  /// Serves `session` from `outbox`, logging to `log`; call start() next.
  LogUploader(std::weak_ptr<Session> session, LogOutbox& outbox, EngineLog& log, LogUploadSettings settings);
  /// Offers every bundle in the outbox to the Big Peer.
  void start();
  /// The Big Peer asked for a bundle: build it if needed, then send from its resume offset.
  void on_request(const LogRequest& request);
  /// The Big Peer stored or refused a bundle: drop it from the outbox.
  void on_result(const LogResult& result);
  /// Stops sending (the session ended); bundles stay in the outbox for the next session.
  void stop();

 private:
  struct Upload {
    std::filesystem::path path;
    uint64_t offset = 0;
    uint64_t total = 0;
  };
  void begin_upload(const std::string& id, uint64_t total, uint64_t offset);
  void pump();
  void schedule_pump(std::chrono::milliseconds delay);

  std::weak_ptr<Session> session_;
  LogOutbox& outbox_;
  EngineLog& log_;
  LogUploadSettings settings_;
  // Strand only:
  std::map<std::string, Upload> uploads_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  bool timer_armed_ = false;
  bool stopped_ = false;
  std::chrono::steady_clock::time_point next_send_{};
};

}  // namespace smallpeer::sync
