// The ingest benchmark. One run:
//   1. starts a real `smallpeer big-peer` process (tests/support/big_peer_process.h);
//   2. opens a fleet of real small peers in this process (tools/fleet.h), waits until every one is
//      connected, then makes them write Small Peer Info documents as fast as the machine sustains
//      (Fleet::collect_all_once in a loop) and measures, after a warm-up, the reports per second
//      the Big Peer committed: its own smallpeer_spi_reports_total counter from GET /metrics at
//      the start and end of the window, not what the fleet wrote;
//   3. samples the Big Peer's VmRSS during the window (peak) and the CPU time of both processes;
//   4. merges the same documents (the peers' stored SPI documents) into a fresh Store in this
//      process with Store::merge_batch, in transactions like the ingest's group commit (each report
//      with its history row, the sessions' cursor settings once a second), every version newer so
//      every merge wins: the store ceiling (bench/ingest_support.h);
//   5. prints the figures, their ratio and each against its target.
// With --compare-backends it instead measures the committed reports per second of the same fleet
// against one SQLite Big Peer, one PostgreSQL Big Peer and two PostgreSQL Big Peers sharing one
// database (the fleet split between them), in one run on a PostgreSQL server it starts
// (tests/support/postgres_server.h), and prints the ratios.
// A measurement, not a test: it exits 0 whatever the figures, and 1 only if the setup fails.
#include <fmt/format.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "clock/clock.h"
#include "clock/hlc.h"
#include "fleet.h"
#include "ingest_support.h"
#include "log/log.h"
#include "proc_stats.h"
#include "spi/small_peer_info_collector.h"
#include "store/store.h"
#include "support/big_peer_process.h"
#include "support/postgres_server.h"
#include "support/temp_dir.h"
#include "sync/session.h"

namespace ingest_bench {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// The targets of the "[sync]" issue.
constexpr double kTargetReportsPerSecond = 20'000;
constexpr double kTargetRatioOfCeiling = 0.5;
constexpr uint64_t kTargetRssMiB = 300;
constexpr uint64_t kMiB = 1024 * 1024;

struct Options {
  size_t peers = 1000;
  double seconds = 20;            // the measured window
  double warmup = 5;              // load before the window starts
  size_t collect_threads = 0;     // Fleet::collect_all_once's threads; 0: the shared runtime's size
  unsigned big_peer_threads = 0;  // the Big Peer's --threads (I/O threads); 0: its default
  double ceiling_seconds = 3;     // per transaction size measured for the store ceiling
  double connect_timeout = 180;   // for opening the fleet and for every peer to connect
  double progress = 4;            // seconds between progress lines
  bool compare_backends = false;
};

const char* const kUsage =
    "usage: smallpeer_ingest_bench [--peers N] [--seconds S] [--warmup S] [--collect-threads N] [--big-peer-threads N]\n"
    "                              [--ceiling-seconds S] [--connect-timeout S] [--progress S]\n"
    "                              [--compare-backends]\n"
    "  --peers            small peers in the fleet (default 1000)\n"
    "  --seconds          measured load window (default 20)\n"
    "  --warmup           load before the window starts (default 5)\n"
    "  --collect-threads  threads writing SPI documents (default 0: as many as the engine runtime)\n"
    "  --big-peer-threads the Big Peer's I/O threads (its --threads; default 0: the Big Peer's default)\n"
    "  --ceiling-seconds  time per transaction size for the store ceiling (default 3)\n"
    "  --connect-timeout  limit for opening the fleet and connecting every peer (default 180)\n"
    "  --progress         seconds between progress lines (default 4)\n"
    "  --compare-backends SQLite vs PostgreSQL, and two PostgreSQL nodes vs one, same fleet, one run\n";

template <typename T>
T parse_number(const std::string& name, const std::string& text, double min) {
  double value = 0;
  size_t used = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !(value >= min))
    throw std::invalid_argument(fmt::format("{} needs a number >= {} (got '{}')", name, min, text));
  return static_cast<T>(value);
}

Options parse_options(int argc, char** argv) {
  Options o;
  using Setter = std::function<void(const std::string&, const std::string&)>;
  const std::map<std::string, Setter> setters = {
      {"--peers", [&](const auto& n, const auto& v) { o.peers = parse_number<size_t>(n, v, 1); }},
      {"--seconds", [&](const auto& n, const auto& v) { o.seconds = parse_number<double>(n, v, 1); }},
      {"--warmup", [&](const auto& n, const auto& v) { o.warmup = parse_number<double>(n, v, 0); }},
      {"--collect-threads", [&](const auto& n, const auto& v) { o.collect_threads = parse_number<size_t>(n, v, 0); }},
      {"--big-peer-threads", [&](const auto& n, const auto& v) { o.big_peer_threads = parse_number<unsigned>(n, v, 0); }},
      {"--ceiling-seconds", [&](const auto& n, const auto& v) { o.ceiling_seconds = parse_number<double>(n, v, 0.1); }},
      {"--connect-timeout", [&](const auto& n, const auto& v) { o.connect_timeout = parse_number<double>(n, v, 1); }},
      {"--progress", [&](const auto& n, const auto& v) { o.progress = parse_number<double>(n, v, 0.5); }},
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (arg == "--compare-backends") {
      o.compare_backends = true;
      continue;
    }
    std::string value;
    if (const auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      throw std::invalid_argument(arg + " needs a value");
    }
    const auto setter = setters.find(arg);
    if (setter == setters.end()) throw std::invalid_argument("unknown option " + arg + "\n" + kUsage);
    setter->second(arg, value);
  }
  return o;
}

// ---- /proc, /metrics, the store ceiling (bench/proc_stats.h, bench/ingest_support.h)
// ----------------------------------------------------------------

using smallpeer::bench::CeilingResult;
using smallpeer::bench::cpu_seconds;
using smallpeer::bench::machine_busy_seconds;
using smallpeer::bench::measure_ceiling;
using smallpeer::bench::Metrics;
using smallpeer::bench::read_metrics;
using smallpeer::bench::rss_bytes;
using smallpeer::bench::seconds_between;

struct CpuSample {
  Clock::time_point at;
  double big_peer = 0;
  double bench = 0;
  double machine = 0;
};

CpuSample sample_cpu(pid_t big_peer) {
  return {Clock::now(), cpu_seconds(big_peer), cpu_seconds(::getpid()), machine_busy_seconds()};
}

// ---- output -------------------------------------------------------------------------------------

std::string verdict(bool pass) {
  return pass ? "PASS" : "MISS";
}

void say(const std::string& line) {
  std::cout << line << std::endl;
}

int run(const Options& o) {
  using smallpeer::test_support::BigPeerProcess;
  using smallpeer::test_support::BigPeerProcessOptions;
  namespace tools = smallpeer::tools;

  // A thousand peers on the console would bury the progress lines; their engine logs keep it all.
  smallpeer::UserLogOutput::instance().set_console_enabled(false);
  // Raised before the Big Peer starts, so the child inherits a limit that fits every connection.
  tools::ensure_open_file_limit(o.peers);

  smallpeer::test_support::TempDir scratch("smallpeer-ingest-bench");
  const auto began = Clock::now();
  say(fmt::format("ingest bench: {} peers, {:.0f} s warm-up, {:.1f} s window, {} CPU cores online", o.peers, o.warmup, o.seconds,
                  std::thread::hardware_concurrency()));

  BigPeerProcessOptions bp_options;
  bp_options.data_dir = scratch.path() / "big-peer";
  if (o.big_peer_threads > 0) bp_options.extra_args = {"--threads", std::to_string(o.big_peer_threads)};
  BigPeerProcess big_peer(bp_options);
  const pid_t bp_pid = big_peer.pid();
  say(fmt::format("big peer: pid {}, {}, RSS {} MB at start", bp_pid, big_peer.sync_url(), rss_bytes(bp_pid) / kMiB));

  tools::FleetOptions fleet_options;
  fleet_options.big_peer_urls = {big_peer.sync_url()};
  fleet_options.app_id = big_peer.app_id();
  fleet_options.app_token = big_peer.app_token();
  fleet_options.peers = o.peers;
  fleet_options.data_dir = scratch.path() / "fleet";
  fleet_options.log_rate = 0;  // app log lines never reach the Big Peer; they would only take fleet CPU
  tools::Fleet fleet(fleet_options);

  // ---- open the fleet and wait for every connection ----
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.connect_timeout));
  tools::BackgroundStart starting(fleet);
  auto next_progress = Clock::now();
  double bp_connections = 0;
  for (;;) {
    const auto stats = fleet.stats();
    bp_connections = read_metrics(big_peer)["smallpeer_connections"];
    const bool all = starting.done() && stats.connected == o.peers && bp_connections >= static_cast<double>(o.peers);
    if (Clock::now() >= next_progress || all) {
      say(fmt::format("  [{:5.1f} s] fleet: {}/{} open, {} connected; big peer: {:.0f} sessions, RSS {} MB",
                      seconds_between(began, Clock::now()), stats.opened, o.peers, stats.connected, bp_connections,
                      rss_bytes(bp_pid) / kMiB));
      next_progress = Clock::now() + 2s;
    }
    if (starting.failed()) starting.finish();  // rethrows why the fleet could not start
    if (all) break;
    if (Clock::now() > deadline)
      throw std::runtime_error(fmt::format("only {} of {} peers connected within {:.0f} s (big peer: {:.0f} sessions)",
                                           stats.connected, o.peers, o.connect_timeout, bp_connections));
    std::this_thread::sleep_for(250ms);
  }
  starting.finish();
  // Connecting makes every peer write a report (debounced by 1 s); let those land first.
  std::this_thread::sleep_for(1500ms);
  for (int i = 0; i < 100 && read_metrics(big_peer)["smallpeer_ingest_queue_documents"] > 0; ++i)
    std::this_thread::sleep_for(100ms);
  const uint64_t idle_rss = rss_bytes(bp_pid);
  say(fmt::format("all {} peers connected after {:.1f} s; big peer RSS {} MB idle, bench process RSS {} MB", o.peers,
                  seconds_between(began, Clock::now()), idle_rss / kMiB, tools::resident_set_bytes() / kMiB));

  // ---- load: every peer writes its SPI document, over and over ----
  std::atomic<bool> stop_load{false};
  std::atomic<uint64_t> written{0};
  std::atomic<uint64_t> rounds{0};
  std::exception_ptr load_error;  // written by the driver before it sets load_failed
  std::atomic<bool> load_failed{false};
  std::thread driver([&] {
    try {
      while (!stop_load) {
        written += fleet.collect_all_once(o.collect_threads);
        ++rounds;
      }
    } catch (...) {
      load_error = std::current_exception();
      load_failed = true;
    }
  });
  // The Big Peer's RSS, sampled every 100 ms; the peak is reset when the window starts.
  std::atomic<uint64_t> peak_rss{0};
  std::atomic<bool> stop_sampler{false};
  std::thread sampler([&] {
    while (!stop_sampler) {
      const uint64_t rss = rss_bytes(bp_pid);
      uint64_t seen = peak_rss.load();
      while (rss > seen && !peak_rss.compare_exchange_weak(seen, rss)) {
      }
      std::this_thread::sleep_for(100ms);
    }
  });
  struct StopThreads {
    std::atomic<bool>& a;
    std::atomic<bool>& b;
    std::thread& t1;
    std::thread& t2;
    ~StopThreads() {
      a = true;
      b = true;
      if (t1.joinable()) t1.join();
      if (t2.joinable()) t2.join();
    }
  } stop_threads{stop_load, stop_sampler, driver, sampler};

  // One progress line: what the Big Peer committed and the fleet wrote since the last one.
  struct Mark {
    Metrics metrics;
    uint64_t written;
  };
  const auto progress_line = [&](const char* phase, const Mark& from, const Mark& to) {
    const double dt = seconds_between(from.metrics.at, to.metrics.at);
    return fmt::format(
        "  [{:5.1f} s] {}: {:7.0f} reports/s committed, {:7.0f} written/s by the fleet, queue {:5.0f}, "
        "{:.0f} sessions, big peer RSS {} MB",
        seconds_between(began, to.metrics.at), phase,
        (to.metrics["smallpeer_spi_reports_total"] - from.metrics["smallpeer_spi_reports_total"]) / dt,
        static_cast<double>(to.written - from.written) / dt, to.metrics["smallpeer_ingest_queue_documents"],
        to.metrics["smallpeer_connections"], rss_bytes(bp_pid) / kMiB);
  };
  const auto run_phase = [&](const char* phase, double seconds, Mark from) {
    const auto end = from.metrics.at + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    const auto step = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.progress));
    for (auto next = from.metrics.at + step;; next += step) {
      std::this_thread::sleep_until(std::min(next, end));
      if (load_failed) std::rethrow_exception(load_error);
      Mark now{read_metrics(big_peer), written.load()};
      say(progress_line(phase, from, now));
      from = now;
      if (Clock::now() >= end) return now;
    }
  };

  say(fmt::format("load: {} peers writing SPI documents as fast as they can ({} collect threads)", o.peers,
                  o.collect_threads == 0 ? std::string("runtime-sized") : std::to_string(o.collect_threads)));
  Mark warm{read_metrics(big_peer), written.load()};
  if (o.warmup > 0) warm = run_phase("warm-up", o.warmup, warm);

  const Metrics m0 = read_metrics(big_peer);
  const uint64_t written0 = written.load();
  const CpuSample cpu0 = sample_cpu(bp_pid);
  peak_rss = rss_bytes(bp_pid);
  const Mark last = run_phase("window ", o.seconds, Mark{m0, written0});
  const Metrics& m1 = last.metrics;
  const CpuSample cpu1 = sample_cpu(bp_pid);
  const uint64_t written1 = written.load();
  const uint64_t window_peak_rss = std::max<uint64_t>(peak_rss.load(), rss_bytes(bp_pid));

  stop_load = true;
  driver.join();
  stop_sampler = true;
  sampler.join();
  if (load_error) std::rethrow_exception(load_error);

  const double window = seconds_between(m0.at, m1.at);
  const double reports = m1["smallpeer_spi_reports_total"] - m0["smallpeer_spi_reports_total"];
  const double documents = m1["smallpeer_documents_ingested_total"] - m0["smallpeer_documents_ingested_total"];
  const double groups = m1["smallpeer_ingest_batches_total"] - m0["smallpeer_ingest_batches_total"];
  const double failures = m1["smallpeer_ingest_failures_total"] - m0["smallpeer_ingest_failures_total"];
  const double sessions_after = m1["smallpeer_connections"];
  const double ingest_rate = reports / window;
  const double fleet_rate = static_cast<double>(written1 - written0) / window;
  const double avg_group = groups > 0 ? documents / groups : 0;
  const double cpu_window = seconds_between(cpu0.at, cpu1.at);
  const double bp_cpu = cpu1.big_peer - cpu0.big_peer;
  const double bench_cpu = cpu1.bench - cpu0.bench;
  const double machine_cpu = cpu1.machine - cpu0.machine;
  const double other_cpu = std::max(0.0, machine_cpu - bp_cpu - bench_cpu);
  say(
      fmt::format("load done: {:.0f} SPI reports committed in {:.1f} s ({:.0f} documents in {:.0f} group commits, "
                  "{:.1f} per commit; {:.0f} failures); the fleet wrote {} ({:.0f}/s, {} rounds in all)",
                  reports, window, documents, groups, avg_group, failures, written1 - written0, fleet_rate, rounds.load()));

  // ---- the same documents for the store ceiling, taken from the peers before they close ----
  std::vector<smallpeer::Document> spi_docs;
  for (const auto& peer : fleet.peers()) {
    if (auto doc = peer->get(smallpeer::kSmallPeerInfoCollection, peer->peer_key())) spi_docs.push_back(std::move(*doc));
  }
  if (spi_docs.empty()) throw std::runtime_error("no peer has an SPI document");
  size_t json_bytes = 0;
  for (const auto& d : spi_docs) json_bytes += d.json.size();

  const auto closing = Clock::now();
  fleet.stop();
  const auto bp_exit = big_peer.stop();
  say(fmt::format("fleet closed in {:.1f} s; big peer stopped in {:.1f} s (exit {})", seconds_between(closing, Clock::now()),
                  static_cast<double>(bp_exit.took.count()) / 1000.0, bp_exit.exited ? bp_exit.code : -bp_exit.signal));

  // ---- store ceiling: both cores are free again ----
  say(
      fmt::format("store ceiling: merging {} SPI documents (avg {} bytes of JSON) into a fresh store, {:.0f} s per "
                  "transaction size",
                  spi_docs.size(), json_bytes / spi_docs.size(), o.ceiling_seconds));
  // One report per peer, and the largest group the ingest can form from this fleet. The Big Peer
  // keeps its default report history, so each report comes with its history row.
  const size_t history = smallpeer::bigpeer::kDefaultHistoryReports;
  const size_t largest = smallpeer::bench::largest_group(spi_docs.size(), history);
  std::set<size_t> sizes = {std::min(spi_docs.size(), largest), largest};
  if (avg_group >= 1) sizes.insert(static_cast<size_t>(avg_group + 0.5));
  CeilingResult best;
  for (const size_t size : sizes) {
    const auto r = measure_ceiling(spi_docs, size, o.ceiling_seconds, scratch.path(), history);
    say(fmt::format("  {:5} reports per transaction: {:7.0f} reports/s, {:.1f} us CPU/report ({} in {:.1f} s){}", size, r.rate(),
                    r.cpu_us(), r.reports, r.seconds,
                    size == static_cast<size_t>(avg_group + 0.5) ? "  <- the ingest's average group" : ""));
    if (r.rate() > best.rate()) best = r;
  }

  // ---- the figures ----
  const double ratio = best.rate() > 0 ? ingest_rate / best.rate() : 0;
  const uint64_t peak_mib = window_peak_rss / kMiB;
  say("");
  say("==== ingest benchmark ====");
  say(fmt::format("ingest: {} peers, {:.1f} s window: {:.0f} SPI reports/s accepted by the Big Peer   {} (target >= {:.0f})",
                  o.peers, window, ingest_rate, verdict(ingest_rate >= kTargetReportsPerSecond), kTargetReportsPerSecond));
  say(fmt::format("store ceiling: {:.0f} reports/s (in-process merge_batch, {} per transaction, each with its history row)",
                  best.rate(), best.group));
  say(fmt::format("ratio: {:.2f} of the store ceiling   {} (target >= {:.2f})", ratio, verdict(ratio >= kTargetRatioOfCeiling),
                  kTargetRatioOfCeiling));
  say(fmt::format("big peer RSS with {} peers connected: {} MB (peak; {} MB idle)   {} (target < {} MB)", o.peers, peak_mib,
                  idle_rss / kMiB, verdict(peak_mib < kTargetRssMiB), kTargetRssMiB));
  say(
      fmt::format("cpu over the window ({:.1f} s, {} cores = {:.0f}%): big peer {:.0f}%, fleet (this process) {:.0f}%, "
                  "other processes {:.0f}%",
                  cpu_window, std::thread::hardware_concurrency(), 100.0 * std::thread::hardware_concurrency(),
                  100 * bp_cpu / cpu_window, 100 * bench_cpu / cpu_window, 100 * other_cpu / cpu_window));
  if (reports > 0 && fleet_rate > 0) {
    say(
        fmt::format("cpu per accepted report: big peer {:.1f} us, fleet {:.1f} us; fleet wrote {:.0f}/s ({:.2f} writes per "
                    "accepted report)",
                    1e6 * bp_cpu / reports, 1e6 * bench_cpu / reports, fleet_rate, fleet_rate / ingest_rate));
  }
  if (other_cpu / cpu_window > 0.10)
    say(
        fmt::format("note: other processes used {:.0f}% CPU (of {:.0f}%) during the window, so the load figures are lower "
                    "than a quiet machine gives",
                    100 * other_cpu / cpu_window, 100.0 * std::thread::hardware_concurrency()));
  if (sessions_after < static_cast<double>(o.peers))
    say(fmt::format("note: only {:.0f} of {} sessions were live at the end of the window", sessions_after, o.peers));
  return 0;
}

// ---- --compare-backends -----------------------------------------------------------------------

/// One setup's committed rate.
struct BackendResult {
  std::string name;
  double reports_per_second = 0;
  double written_per_second = 0;
  double big_peer_us_per_report = 0;  // CPU of the Big Peer process(es) per committed report
  double postgres_us_per_report = 0;  // CPU of the PostgreSQL server's processes per committed report
};

/// CPU seconds used so far by each process of the bench's PostgreSQL server (backends and
/// background processes, from pg_stat_activity), by pid.
std::map<pid_t, double> postgres_cpu_seconds() {
  std::map<pid_t, double> cpu;
  for (const auto& [pid, type] : smallpeer::test_support::PostgresServer::shared().query("postgres",
                                                                                         "SELECT pid::text, backend_type "
                                                                                         "FROM pg_stat_activity")) {
    const auto p = static_cast<pid_t>(std::stol(pid));
    cpu[p] = cpu_seconds(p);
  }
  return cpu;
}

/// CPU seconds between two postgres_cpu_seconds() readings, over the processes in both (so the
/// reading's own short-lived connection does not count).
double postgres_cpu_between(const std::map<pid_t, double>& before, const std::map<pid_t, double>& after) {
  double total = 0;
  for (const auto& [pid, seconds] : after) {
    if (const auto it = before.find(pid); it != before.end()) total += seconds - it->second;
  }
  return total;
}

/// Committed SPI reports per second of `o.peers` peers split evenly over `nodes` Big Peers that use
/// `postgres_url` (SQLite when empty), measured like run() does for one.
BackendResult measure_backend(const Options& o, const std::string& name, size_t nodes, const std::string& postgres_url) {
  using smallpeer::test_support::BigPeerProcess;
  using smallpeer::test_support::BigPeerProcessOptions;
  namespace tools = smallpeer::tools;
  smallpeer::test_support::TempDir scratch("smallpeer-ingest-compare");
  say(fmt::format("-- {}: {} peers over {} node(s)", name, o.peers, nodes));
  std::vector<std::unique_ptr<BigPeerProcess>> big_peers;
  std::vector<std::unique_ptr<tools::Fleet>> fleets;
  for (size_t i = 0; i < nodes; ++i) {
    BigPeerProcessOptions options;
    options.data_dir = scratch.path() / fmt::format("big-peer-{}", i);
    if (!postgres_url.empty()) options.extra_args = {"--postgres", postgres_url};
    big_peers.push_back(std::make_unique<BigPeerProcess>(options));
  }
  for (size_t i = 0; i < nodes; ++i) {
    tools::FleetOptions fleet_options;
    fleet_options.big_peer_urls = {big_peers[i]->sync_url()};
    fleet_options.app_id = big_peers[i]->app_id();
    fleet_options.app_token = big_peers[i]->app_token();
    fleet_options.peers = o.peers / nodes + (i < o.peers % nodes ? 1 : 0);
    fleet_options.data_dir = scratch.path() / fmt::format("fleet-{}", i);
    fleet_options.log_rate = 0;
    fleets.push_back(std::make_unique<tools::Fleet>(fleet_options));
  }
  const auto sum = [&](const char* metric) {
    double total = 0;
    for (const auto& bp : big_peers) total += read_metrics(*bp)[metric];
    return total;
  };
  {
    std::vector<std::unique_ptr<tools::BackgroundStart>> starting;
    for (auto& f : fleets) starting.push_back(std::make_unique<tools::BackgroundStart>(*f));
    const auto deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.connect_timeout));
    for (;;) {
      bool done = true;
      for (auto& s : starting) {
        if (s->failed()) s->finish();
        done = done && s->done();
      }
      if (done && sum("smallpeer_connections") >= static_cast<double>(o.peers)) break;
      if (Clock::now() > deadline) throw std::runtime_error(fmt::format("{}: not every peer connected in time", name));
      std::this_thread::sleep_for(250ms);
    }
    for (auto& s : starting) s->finish();
  }
  say(fmt::format("   all {} peers connected", o.peers));
  std::this_thread::sleep_for(1500ms);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> written{0};
  std::exception_ptr error;
  std::vector<std::thread> drivers;
  std::mutex error_mutex;
  for (auto& f : fleets) {
    drivers.emplace_back([&, fleet = f.get()] {
      try {
        while (!stop) written += fleet->collect_all_once(o.collect_threads);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        error = std::current_exception();
      }
    });
  }
  const auto stop_drivers = [&] {
    stop = true;
    for (auto& t : drivers)
      if (t.joinable()) t.join();
  };
  BackendResult result{name};
  try {
    std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
    const auto big_peers_cpu = [&] {
      double total = 0;
      for (const auto& bp : big_peers) total += cpu_seconds(bp->pid());
      return total;
    };
    const bool postgres = !postgres_url.empty();
    const auto pg0 = postgres ? postgres_cpu_seconds() : std::map<pid_t, double>{};
    const double c0 = big_peers_cpu();
    const double r0 = sum("smallpeer_spi_reports_total");
    const uint64_t w0 = written.load();
    const auto t0 = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
    const double r1 = sum("smallpeer_spi_reports_total");
    const uint64_t w1 = written.load();
    const double c1 = big_peers_cpu();
    const auto pg1 = postgres ? postgres_cpu_seconds() : std::map<pid_t, double>{};
    const double window = seconds_between(t0, Clock::now());
    result.reports_per_second = (r1 - r0) / window;
    result.written_per_second = static_cast<double>(w1 - w0) / window;
    if (r1 > r0) {
      result.big_peer_us_per_report = (c1 - c0) * 1e6 / (r1 - r0);
      result.postgres_us_per_report = postgres_cpu_between(pg0, pg1) * 1e6 / (r1 - r0);
    }
  } catch (...) {
    stop_drivers();
    throw;
  }
  stop_drivers();
  if (error) std::rethrow_exception(error);
  say(fmt::format(
      "   {:.0f} reports/s committed ({:.0f} written/s by the fleet); CPU per report: Big Peer {:.1f} us, "
      "PostgreSQL {:.1f} us",
      result.reports_per_second, result.written_per_second, result.big_peer_us_per_report, result.postgres_us_per_report));
  for (auto& f : fleets) f->stop();
  return result;
}

int compare_backends(const Options& o) {
  smallpeer::UserLogOutput::instance().set_console_enabled(false);
  smallpeer::tools::ensure_open_file_limit(o.peers);
  say(fmt::format("ingest bench, backends: {} peers, {:.0f} s warm-up, {:.1f} s window each, {} CPU cores online", o.peers,
                  o.warmup, o.seconds, std::thread::hardware_concurrency()));
  auto& server = smallpeer::test_support::PostgresServer::shared();
  say(fmt::format("postgresql-15 started on 127.0.0.1:{} (fsync off, as in the tests)", server.port()));
  const auto sqlite = measure_backend(o, "SQLite, 1 node", 1, "");
  const auto pg1 = measure_backend(o, "PostgreSQL, 1 node", 1, server.create_database());
  const auto pg2 = measure_backend(o, "PostgreSQL, 2 nodes", 2, server.create_database());
  say("");
  say(fmt::format("{:<22} {:>12} {:>12} {:>18} {:>20}", "setup", "reports/s", "written/s", "Big Peer us/report",
                  "PostgreSQL us/report"));
  for (const auto& r : {sqlite, pg1, pg2})
    say(fmt::format("{:<22} {:>12.0f} {:>12.0f} {:>18.1f} {:>20.1f}", r.name, r.reports_per_second, r.written_per_second,
                    r.big_peer_us_per_report, r.postgres_us_per_report));
  const auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  say(fmt::format("ratio PostgreSQL / SQLite (1 node each):   {:.2f}", ratio(pg1.reports_per_second, sqlite.reports_per_second)));
  say(fmt::format("ratio 2 nodes / 1 node (PostgreSQL):       {:.2f}", ratio(pg2.reports_per_second, pg1.reports_per_second)));
  say("note: the fleet shares this machine with the Big Peers and PostgreSQL; on few cores it is the limit");
  return 0;
}

}  // namespace ingest_bench

int main(int argc, char** argv) {
  ingest_bench::Options options;
  try {
    options = ingest_bench::parse_options(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "smallpeer_ingest_bench: " << e.what() << std::endl;
    return 2;
  }
  try {
    return options.compare_backends ? ingest_bench::compare_backends(options) : ingest_bench::run(options);
  } catch (const std::exception& e) {
    std::cerr << "smallpeer_ingest_bench: setup failed: " << e.what() << std::endl;
    return 1;
  }
}
