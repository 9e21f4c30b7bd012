// A lean sync-protocol load generator for the Big Peer: N real authenticated sessions (each its
// own Ed25519 key and the real version 2 handshake over WebSocket), then DOCS frames carrying a real
// Small Peer Info document with a fresh HLC and sequence per send, at most `window` unacknowledged
// per session, counting ACKs. Each session's frame is encoded once and patched in place per send;
// no SQLite, no engine log, no allocation per report, one epoll loop per thread. Its CPU per report
// is printed beside the Big Peer's, so a reader can check it is the Big Peer that is the limit.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace smallpeer::bench {

/// What SyncLoad connects to and how hard it pushes.
struct SyncLoadOptions {
  uint16_t port = 0;  // the Big Peer's port on 127.0.0.1 (ws://, path /sync)
  std::string app_id = "smallpeer-demo";
  std::string app_token = "demo-token";
  size_t connections = 1000;
  size_t window = 4;  // unacknowledged DOCS per session (the engine's own window)
  size_t threads = 1;
  size_t handshakes_in_flight = 64;  // below the Big Peer's --max-handshakes-per-address (256)
  std::string document;              // a real SPI document; its "_id" is replaced per session
};

/// The app metadata of the benches' sample report: a realistic handful of fields.
inline constexpr const char* kSampleMetadata =
    R"({"site":"north-warehouse","app_version":"3.4.1","fleet":"handhelds","build":"2026.12.03-rc1","owner":"it-ops"})";

/// A real Small Peer Info document (minified JSON) written by a real small peer opened in a
/// temporary directory, with the given metadata; its "_id" is that peer's key.
std::string sample_spi_document(const std::string& metadata_json);

/// The peer key in an SPI document's "_id"; throws std::invalid_argument naming what is wrong.
std::string spi_document_key(const std::string& document);

/// The load generator. Threads start in the constructor and stop in the destructor.
class SyncLoad {
 public:
  /// Starts the threads and begins connecting every session; throws on bad options.
  explicit SyncLoad(SyncLoadOptions options);
  ~SyncLoad();
  SyncLoad(const SyncLoad&) = delete;
  SyncLoad& operator=(const SyncLoad&) = delete;

  /// Blocks until every session is established; throws naming the first failure or the timeout.
  void wait_established(std::chrono::seconds timeout) const;
  /// Every established session starts sending (and keeps its window full until destruction).
  void start_sending();

  /// Sessions past the handshake (both AUTH_RESULTs ok, CURSORS received).
  [[nodiscard]] size_t established() const { return established_.load(); }
  /// DOCS frames sent so far.
  [[nodiscard]] uint64_t sent() const { return sent_.load(); }
  /// ACKs received so far (one per DOCS frame of one document).
  [[nodiscard]] uint64_t acked() const { return acked_.load(); }
  /// Documents the Big Peer listed as refused in its ACKs.
  [[nodiscard]] uint64_t refused() const { return refused_.load(); }
  /// Sessions that ended (closed by the Big Peer, an ERROR frame, a failed handshake).
  [[nodiscard]] uint64_t failed() const { return failed_.load(); }
  /// The first failure's reason ("" if none).
  [[nodiscard]] std::string first_failure() const;
  /// Bytes of each DOCS frame's document.
  [[nodiscard]] size_t document_bytes() const { return document_bytes_; }

  struct Worker;

 private:
  friend struct Worker;
  void note_failure(const std::string& reason);

  SyncLoadOptions options_;
  size_t document_bytes_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> sending_{false};
  std::atomic<size_t> established_{0};
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> acked_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> failed_{0};
  mutable std::mutex failure_mutex_;
  std::string first_failure_;
  std::string template_key_;  // the sample document's own "_id", replaced by each session's key
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
};

}  // namespace smallpeer::bench
