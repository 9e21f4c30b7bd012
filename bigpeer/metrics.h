// The Big Peer's counters, rendered for Prometheus at GET /metrics.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

namespace smallpeer::bigpeer {

/// Process-lifetime counters; every field is updated with relaxed atomics from any thread.
struct BigPeerMetrics {
  std::atomic<uint64_t> documents_ingested{0};          // documents committed by the ingest writer
  std::atomic<uint64_t> spi_reports{0};                 // __small_peer_info documents among them
  std::atomic<uint64_t> ingest_batches{0};              // group-commit transactions
  std::atomic<uint64_t> ingest_commit_microseconds{0};  // the writer thread's time in them (with the checkpoints it runs)
  std::atomic<uint64_t> ingest_failures{0};             // session batches whose commit failed
  std::atomic<uint64_t> sessions{0};                    // sessions that completed authentication
  std::atomic<uint64_t> auth_refusals{0};               // sessions refused at the handshake (app id, token proof, ...)
  std::atomic<uint64_t> handshakes_refused{0};          // sync connections closed at once: too many handshakes
  std::atomic<uint64_t> rule_violations{0};             // replication rule violations by small peers
  std::atomic<uint64_t> refused_clock_ahead{0};         // documents refused: HLC beyond the clock bound
  std::atomic<uint64_t> refused_bad_signature{0};       // carried SPI documents refused: owner's signature missing or wrong
  std::atomic<uint64_t> refused_replayed{0};            // carried SPI documents refused: not newer than the stored one
  std::atomic<uint64_t> http_requests{0};               // HTTP requests answered (API, metrics, errors)
  std::atomic<uint64_t> unexpected_exceptions{0};       // failures only the catch-alls at the handler boundaries saw
  std::atomic<uint64_t> enrollment_refused_pending{0};  // handshakes refused: the key waits for approval
  std::atomic<uint64_t> enrollment_refused_revoked{0};  // handshakes refused: the key is revoked
  std::atomic<uint64_t> enrollment_refused_other{0};    // handshakes refused: pending cap reached, database away
  std::atomic<uint64_t> revoked_sessions_closed{0};     // live sessions closed because their key was revoked
  std::atomic<uint64_t> audit_entries{0};               // audit entries written by this node
  std::atomic<uint64_t> audit_write_failures{0};        // audit entries the store refused (logged)

  /// Adds `n` to a counter.
  static void add(std::atomic<uint64_t>& counter, uint64_t n = 1) { counter.fetch_add(n, std::memory_order_relaxed); }
};

/// Gauges read at scrape time from the parts that own them.
struct MetricsGauges {
  uint64_t connections = 0;                               // live authenticated sessions
  uint64_t ingest_queue_documents = 0;                    // received, not yet committed
  std::map<std::string, uint64_t> log_requests_by_state;  // "pending" -> count, ...
  std::map<std::string, uint64_t> enrollments_by_state;   // "approved" -> count, ...
  uint64_t log_bundles_refused_quota = 0;                 // a counter owned by LogRequests
};

/// The Prometheus text exposition format (version 0.0.4) of `metrics` and `gauges`.
std::string render_prometheus(const BigPeerMetrics& metrics, const MetricsGauges& gauges);

}  // namespace smallpeer::bigpeer
