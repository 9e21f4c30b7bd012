#include "bigpeer/metrics.h"

#include <fmt/format.h>

#include <iterator>

namespace smallpeer::bigpeer {

namespace {
void append_metric(std::string& out, std::string_view name, std::string_view type, std::string_view help, uint64_t value) {
  fmt::format_to(std::back_inserter(out), "# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
}
// Seconds, to the microsecond.
void append_metric(std::string& out, std::string_view name, std::string_view type, std::string_view help, double value) {
  fmt::format_to(std::back_inserter(out), "# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3:.6f}\n", name, help, type, value);
}
uint64_t read(const std::atomic<uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}
}  // namespace

std::string render_prometheus(const BigPeerMetrics& m, const MetricsGauges& g) {
  std::string out;
  out.reserve(2048);
  append_metric(out, "smallpeer_connections", "gauge", "Live authenticated small peer sessions.", g.connections);
  append_metric(out, "smallpeer_sessions_total", "counter", "Small peer sessions that completed authentication.",
                read(m.sessions));
  append_metric(out, "smallpeer_auth_refusals_total", "counter",
                "Sessions refused at the handshake (protocol version, app id, proof of the app token, signature).",
                read(m.auth_refusals));
  append_metric(out, "smallpeer_sync_handshakes_refused_total", "counter",
                "Sync connections closed at once because too many handshakes were in progress (in total or from one address).",
                read(m.handshakes_refused));
  append_metric(out, "smallpeer_rule_violations_total", "counter",
                "Replication rule violations by small peers (each drops the connection).", read(m.rule_violations));
  out +=
      "# HELP smallpeer_documents_refused_total Received documents refused without ending the session, by reason.\n"
      "# TYPE smallpeer_documents_refused_total counter\n";
  fmt::format_to(std::back_inserter(out), "smallpeer_documents_refused_total{{reason=\"clock_ahead\"}} {}\n",
                 read(m.refused_clock_ahead));
  fmt::format_to(std::back_inserter(out), "smallpeer_documents_refused_total{{reason=\"bad_signature\"}} {}\n",
                 read(m.refused_bad_signature));
  fmt::format_to(std::back_inserter(out), "smallpeer_documents_refused_total{{reason=\"replayed\"}} {}\n",
                 read(m.refused_replayed));
  append_metric(out, "smallpeer_documents_ingested_total", "counter", "Replicated documents committed to the store.",
                read(m.documents_ingested));
  append_metric(out, "smallpeer_spi_reports_total", "counter", "Small Peer Info documents committed to the store.",
                read(m.spi_reports));
  append_metric(out, "smallpeer_ingest_batches_total", "counter", "Group-commit transactions written by the ingest queue.",
                read(m.ingest_batches));
  append_metric(out, "smallpeer_ingest_commit_seconds_total", "counter",
                "Time the ingest's writer thread spent in group commits, with the WAL checkpoints it runs after them.",
                static_cast<double>(read(m.ingest_commit_microseconds)) / 1e6);
  append_metric(out, "smallpeer_ingest_failures_total", "counter", "Session batches the store refused.", read(m.ingest_failures));
  append_metric(out, "smallpeer_ingest_queue_documents", "gauge", "Documents received and not yet committed.",
                g.ingest_queue_documents);
  append_metric(out, "smallpeer_http_requests_total", "counter", "HTTP requests answered.", read(m.http_requests));
  append_metric(out, "smallpeer_unexpected_exceptions_total", "counter",
                "Exceptions that reached a catch-all at an I/O or API handler boundary (a bug: it should stay 0).",
                read(m.unexpected_exceptions));
  out +=
      "# HELP smallpeer_enrollment_refusals_total Handshakes refused by device enrollment after the proof checked out, by "
      "reason.\n# TYPE smallpeer_enrollment_refusals_total counter\n";
  fmt::format_to(std::back_inserter(out),
                 "smallpeer_enrollment_refusals_total{{reason=\"pending\"}} {}\n"
                 "smallpeer_enrollment_refusals_total{{reason=\"revoked\"}} {}\n"
                 "smallpeer_enrollment_refusals_total{{reason=\"other\"}} {}\n",
                 read(m.enrollment_refused_pending), read(m.enrollment_refused_revoked), read(m.enrollment_refused_other));
  append_metric(out, "smallpeer_revoked_sessions_closed_total", "counter",
                "Live sessions this node closed because the operator revoked their device.", read(m.revoked_sessions_closed));
  append_metric(out, "smallpeer_audit_entries_total", "counter", "Audit log entries this node wrote.", read(m.audit_entries));
  append_metric(out, "smallpeer_audit_write_failures_total", "counter",
                "Audit log entries the store refused (each is logged with the action).", read(m.audit_write_failures));
  if (!g.enrollments_by_state.empty()) {
    out += "# HELP smallpeer_enrollments Enrolled device keys by state.\n# TYPE smallpeer_enrollments gauge\n";
    for (const auto& [state, count] : g.enrollments_by_state) {
      fmt::format_to(std::back_inserter(out), "smallpeer_enrollments{{state=\"{}\"}} {}\n", state, count);
    }
  }
  out +=
      "# HELP smallpeer_log_bundles_refused_total Log bundles offered by devices on their own initiative and refused, by "
      "reason.\n"
      "# TYPE smallpeer_log_bundles_refused_total counter\n";
  fmt::format_to(std::back_inserter(out), "smallpeer_log_bundles_refused_total{{reason=\"quota\"}} {}\n",
                 g.log_bundles_refused_quota);
  if (!g.log_requests_by_state.empty()) {
    out += "# HELP smallpeer_log_requests Log requests by state.\n# TYPE smallpeer_log_requests gauge\n";
    for (const auto& [state, count] : g.log_requests_by_state) {
      fmt::format_to(std::back_inserter(out), "smallpeer_log_requests{{state=\"{}\"}} {}\n", state, count);
    }
  }
  return out;
}

}  // namespace smallpeer::bigpeer
