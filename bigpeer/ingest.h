// Group commit for replicated documents: every session's received batches go into one queue, and
// a single writer thread commits whatever has accumulated in one Store::merge_batch transaction.
// One fsync-bound transaction per group instead of per batch is what lets one Big Peer keep up
// with a whole fleet reporting at once, and sessions' I/O threads never wait for SQLite.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bigpeer/database_health.h"
#include "bigpeer/metrics.h"
#include "bigpeer/report_history.h"
#include "store/store.h"

namespace smallpeer::bigpeer {

/// The writer thread and its queue. Thread-safe.
class IngestQueue {
 public:
  using Cursors = std::vector<std::pair<std::string, std::string>>;
  using Done = std::function<void(std::exception_ptr)>;

  /// A group takes everything queued up to this many documents (one session batch is never split).
  static constexpr size_t kDefaultMaxGroupDocuments = 4096;
  /// The gather wait a Big Peer uses unless --ingest-gather-ms says otherwise (see the constructor).
  static constexpr std::chrono::milliseconds kBigPeerGather{3};

  /// Starts the writer thread; `store`, `metrics` and `health` (optional: told when the database
  /// is away) outlive the queue. While the database is unavailable a group waits for it, up to
  /// kDatabaseOutageGrace (or until stop()), and is then refused. With `history` (optional, outlives
  /// the queue), each Small Peer Info report commits with its history row (report_history.h).
  /// With a `gather` wait, a writer under load (its last group held at least an eighth of
  /// max_group_documents) waits up to that long for half of max_group_documents to be queued
  /// before it commits, and stops waiting after a quarter of it in which nothing arrived: fewer,
  /// bigger commits cost less per document (bigpeer/BENCHMARKS.md, "Group commits that gather"). A
  /// batch after a smaller group never waits.
  IngestQueue(Store& store, BigPeerMetrics& metrics, size_t max_group_documents = kDefaultMaxGroupDocuments,
              NodeHealth* health = nullptr, const ReportHistory* history = nullptr,
              std::chrono::microseconds gather = std::chrono::microseconds::zero());
  /// Stops after committing everything queued (as stop()).
  ~IngestQueue();
  IngestQueue(const IngestQueue&) = delete;
  IngestQueue& operator=(const IngestQueue&) = delete;

  /// Checks the batch's documents on the calling thread, then queues it; `done` runs on the writer
  /// thread once it is committed (nullptr) or refused (the store's exception). A document that fails
  /// the check, or stop(), refuses the batch at once, on the calling thread.
  void submit(std::vector<Document> documents, Cursors cursors, Done done);
  /// Commits everything queued, then ends the writer thread. Idempotent.
  void stop();
  /// Documents queued and not yet committed.
  [[nodiscard]] uint64_t queued_documents() const;

 private:
  struct Batch {
    std::vector<Document> documents;
    Cursors cursors;
    Done done;
  };

  void run();
  void gather(std::unique_lock<std::mutex>& lock);
  void commit(std::vector<Batch>& group);
  void count_committed(const std::vector<Document>& documents);
  static void finish(Batch& batch, std::exception_ptr failure);
  [[nodiscard]] bool stopping_now() const;

  Store& store_;
  BigPeerMetrics& metrics_;
  const size_t max_group_documents_;
  const std::chrono::microseconds gather_;
  const size_t gather_documents_;      // what a gathering writer waits for: half a full group
  const size_t under_load_documents_;  // a last group this big means load: an eighth of a full group
  NodeHealth* const health_;
  const ReportHistory* const history_;
  FailureLog failures_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Batch> queue_;
  uint64_t queued_documents_ = 0;
  size_t last_group_documents_ = 0;
  bool writer_idle_ = false;  // only then does submit() pay for a notify
  bool gathering_ = false;    // or when it gathers and the queue has reached gather_documents_
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace smallpeer::bigpeer
