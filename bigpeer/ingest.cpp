#include "bigpeer/ingest.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "bigpeer/database_health.h"
#include "common/error.h"
#include "spi/small_peer_info_collector.h"
#include "store/store_support.h"

namespace smallpeer::bigpeer {

IngestQueue::IngestQueue(Store& store, BigPeerMetrics& metrics, size_t max_group_documents, NodeHealth* health,
                         const ReportHistory* history, std::chrono::microseconds gather)
    : store_(store),
      metrics_(metrics),
      max_group_documents_(std::max<size_t>(1, max_group_documents)),
      gather_(std::max(gather, std::chrono::microseconds::zero())),
      gather_documents_(std::max<size_t>(1, max_group_documents_ / 2)),
      under_load_documents_(std::max<size_t>(1, max_group_documents_ / 8)),
      health_(health),
      history_(history),
      failures_("ingest: committing to the database") {
  writer_ = std::thread([this] { run(); });
}

IngestQueue::~IngestQueue() {
  stop();
}

void IngestQueue::submit(std::vector<Document> documents, Cursors cursors, Done done) {
  // Checked (parsed, minified) and history rows built here, on the session's thread, so the one
  // writer thread only writes them. A bad document refuses its own batch, as a failed commit would.
  const size_t received = documents.size();
  try {
    thread_local simdjson::dom::parser parser;
    const TimePoint now = history_ != nullptr ? history_->now() : TimePoint{};
    if (history_ != nullptr) documents.reserve(2 * received);  // room for a row per report
    for (size_t i = 0; i < received; ++i) {
      const auto body = store_support::check_incoming(parser, documents[i]);
      if (history_ == nullptr) continue;
      // A report's history row is built from the parse that checked it (a document checked
      // before, which none from a session is, is parsed again).
      auto row = body ? history_->row(documents[i], *body, now) : history_->row(documents[i], now);
      if (row) documents.push_back(std::move(*row));
    }
  } catch (const std::exception& e) {
    spdlog::warn("ingest: a batch of {} documents was refused: {}", received, e.what());
    BigPeerMetrics::add(metrics_.ingest_failures);
    if (done) done(std::current_exception());
    return;
  }
  bool notify = false;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queued_documents_ += documents.size();
      queue_.push_back(Batch{std::move(documents), std::move(cursors), std::move(done)});
      notify = writer_idle_ || (gathering_ && queued_documents_ >= gather_documents_);
      writer_idle_ = false;
      if (notify) gathering_ = false;
      done = nullptr;
    }
  }
  if (notify) wake_.notify_one();
  // Refused outside the lock: the session must not acknowledge what was never stored.
  if (done) done(std::make_exception_ptr(Error(ErrorCode::closed, "the Big Peer is shutting down")));
}

void IngestQueue::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (writer_.joinable()) writer_.join();
}

bool IngestQueue::stopping_now() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

uint64_t IngestQueue::queued_documents() const {
  std::lock_guard lock(mutex_);
  return queued_documents_;
}

void IngestQueue::run() {
  std::vector<Batch> group;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      writer_idle_ = true;
      wake_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      writer_idle_ = false;
      // stop() flushes: the loop only ends once the queue is empty.
      if (queue_.empty()) return;
      if (gather_.count() > 0 && last_group_documents_ >= under_load_documents_) gather(lock);
      size_t documents = 0;
      while (!queue_.empty() && (group.empty() || documents + queue_.front().documents.size() <= max_group_documents_)) {
        documents += queue_.front().documents.size();
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_documents_ -= documents;
      last_group_documents_ = documents;
    }
    commit(group);
    group.clear();
  }
}

void IngestQueue::gather(std::unique_lock<std::mutex>& lock) {
  // In quarters of the wait: a quarter in which nothing arrived ends it, since a fleet too small
  // to fill half a group (each session has at most a few batches unacknowledged) would otherwise
  // make every commit wait the whole of it.
  const auto deadline = std::chrono::steady_clock::now() + gather_;
  const auto slice = std::max(gather_ / 4, std::chrono::microseconds(1));
  const auto enough = [&] { return queued_documents_ >= gather_documents_ || stopping_; };
  gathering_ = true;
  for (uint64_t before = queued_documents_;; before = queued_documents_) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline || wake_.wait_until(lock, std::min(now + slice, deadline), enough) || queued_documents_ == before) {
      break;
    }
  }
  gathering_ = false;
}

void IngestQueue::commit(std::vector<Batch>& group) {
  // One batch (the common case under light load) goes straight in; several are moved (not copied)
  // into one vector for one transaction.
  std::vector<Document> merged;
  Cursors cursors;
  std::vector<size_t> batch_ends;  // where the store may split the group for a waiting reader
  const std::vector<Document>* documents = &group.front().documents;
  const Cursors* settings = &group.front().cursors;
  if (group.size() > 1) {
    size_t total = 0, total_cursors = 0;
    for (const auto& b : group) {
      total += b.documents.size();
      total_cursors += b.cursors.size();
    }
    merged.reserve(total);
    cursors.reserve(total_cursors);
    batch_ends.reserve(group.size());
    // A session sends a cursor with every batch; only its newest one per key needs writing.
    std::unordered_map<std::string_view, size_t> cursor_at;
    cursor_at.reserve(total_cursors);
    for (auto& b : group) {
      std::move(b.documents.begin(), b.documents.end(), std::back_inserter(merged));
      batch_ends.push_back(merged.size());
      // In queue order, so a later cursor for the same key replaces an earlier one. The values
      // move; the keys stay in the batch, where cursor_at's views of them point.
      for (auto& [key, value] : b.cursors) {
        const auto [it, inserted] = cursor_at.try_emplace(key, cursors.size());
        if (inserted) {
          cursors.emplace_back(key, std::move(value));
        } else {
          cursors[it->second].second = std::move(value);
        }
      }
    }
    documents = &merged;
    settings = &cursors;
  }
  const auto waiting_since = std::chrono::steady_clock::now();
  auto pause = std::chrono::milliseconds(100);
  try {
    for (;;) {
      try {
        const auto started = std::chrono::steady_clock::now();
        store_.merge_batch(*documents, *settings, batch_ends);
        BigPeerMetrics::add(
            metrics_.ingest_commit_microseconds,
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
        break;
      } catch (const DatabaseUnavailable& e) {
        // Nothing was stored, so nothing was acknowledged: the group waits for the database and its
        // sessions pause (each has at most a few unacknowledged batches). A long outage, or
        // shutdown, gives up: the sessions close and their peers resend on another connection.
        failures_.failed(e.what());
        if (health_ != nullptr) health_->database_down();
        if (std::chrono::steady_clock::now() - waiting_since >= kDatabaseOutageGrace || stopping_now()) throw;
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, pause, [&] { return stopping_; });
        pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::seconds(1));
      }
    }
    failures_.succeeded();
  } catch (const DatabaseUnavailable&) {
    BigPeerMetrics::add(metrics_.ingest_failures, group.size());
    for (auto& b : group) finish(b, std::current_exception());
    return;
  } catch (const std::exception& e) {
    // Every document was checked before it was queued (submit), so what fails here fails the
    // whole group (disk full, an I/O error): each batch is refused and its session closes.
    spdlog::warn("ingest: a group of {} batches ({} documents) was refused: {}", group.size(), documents->size(), e.what());
    BigPeerMetrics::add(metrics_.ingest_failures, group.size());
    for (auto& b : group) finish(b, std::current_exception());
    return;
  }
  BigPeerMetrics::add(metrics_.ingest_batches);
  count_committed(*documents);
  for (auto& b : group) finish(b, nullptr);
}

void IngestQueue::finish(Batch& batch, std::exception_ptr failure) {
  try {
    if (batch.done) batch.done(std::move(failure));
  } catch (const std::exception& e) {
    // The writer thread serves every session; one callback's failure must not end it.
    spdlog::error("ingest: a completion callback threw: {}", e.what());
  }
}

void IngestQueue::count_committed(const std::vector<Document>& documents) {
  uint64_t spi = 0;
  uint64_t history = 0;
  for (const auto& d : documents) {
    spi += d.collection == kSmallPeerInfoCollection ? 1 : 0;
    history += d.collection == kReportHistoryCollection ? 1 : 0;
  }
  // History rows are the Big Peer's own, not documents a peer sent.
  BigPeerMetrics::add(metrics_.documents_ingested, documents.size() - history);
  BigPeerMetrics::add(metrics_.spi_reports, spi);
}

}  // namespace smallpeer::bigpeer
