// The Big Peer measured on its own, against Mosquitto, in one run (issue 19 [perf]):
//   1. Big Peer: a real `smallpeer big-peer` (SQLite) fed by the lean sync load generator
//      (bench/sync_load.h: N authenticated sessions, a real SPI document per DOCS frame, window 4),
//      reports/s from the Big Peer's own smallpeer_spi_reports_total (committed), CPU per report of
//      the Big Peer and of the generator (this process) from /proc;
//   2. Mosquitto: Debian's broker (persistence on, autosave_interval 1) fed by an MQTT generator of
//      the same shape (bench/mqtt_anchor.h: N clients, QoS 1 retained publishes of the same document
//      bytes, window 4, counting PUBACKs), with the broker's CPU per publish;
//   3. the in-process store ceiling (bench/ingest_support.h): the store alone committing what the
//      ingest commits per report (the report and its history row), as the ingest bench measures it;
//   4. connection scale: RSS per idle authenticated session against RSS per idle MQTT client, read
//      once the connections have sat --idle-settle seconds (past the Big Peer's first keep-alive ping),
//      and the Big Peer's CPU per new session (the handshake of a new device, its enrollment included);
// then prints the side-by-side table and the ratios against the targets. Each round
// (--rounds, default 2) measures both servers back to back, Big Peer first in odd rounds and
// Mosquitto first in even ones, and the ratios are the median of each round's own, so the drift of
// this machine between and through rounds favours neither server.
// A measurement, not a test: it exits 0 whatever the figures, and 1 only if the setup fails.
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "identity/identity.h"
#include "ingest_support.h"
#include "proc_stats.h"
#include "support/big_peer_process.h"
#include "support/temp_dir.h"
#include "sync/session.h"
#include "sync_load.h"
#ifdef SMALLPEER_BENCH_MQTT
#include "mqtt_anchor.h"
#endif

namespace anchor_bench {

using namespace smallpeer::bench;
using smallpeer::test_support::BigPeerProcess;
using smallpeer::test_support::BigPeerProcessOptions;
using smallpeer::test_support::TempDir;

// The targets of issue 19.
constexpr double kTargetCpuRatio = 1.0;  // Big Peer CPU per report / Mosquitto CPU per publish (first bar 1.5)
constexpr double kFirstBarCpuRatio = 1.5;
constexpr double kTargetRateRatio = 1.0;  // Big Peer reports/s / Mosquitto publishes/s (first bar 0.7)
constexpr double kFirstBarRateRatio = 0.7;
constexpr double kTargetOfCeiling = 0.5;

struct Options {
  size_t connections = 1000;
  size_t window = 4;
  size_t threads = 1;
  size_t idle = 10'000;
  size_t rounds = 2;
  double seconds = 10;
  double warmup = 3;
  // Warm-up also lasts until this many reports per connection are acknowledged: past the Big Peer's
  // default report history ring (288 per device), so the window measures the steady state, where a
  // report's history row replaces one (a deployed Big Peer after each device's first day).
  size_t warmup_reports = 300;
  double ceiling_seconds = 3;
  // How long idle connections sit, after the last one connected, before the server's memory is read:
  // past the Big Peer's 15 s keep-alive ping, whose first round adds to each session's memory.
  double idle_settle = 20;
  bool mqtt = true;
  std::string smallpeer = SMALLPEER_CLI;   // the Big Peer's binary (--smallpeer, for A/B runs of two builds)
  std::vector<std::string> big_peer_args;  // --big-peer-arg: more flags for it (A/B runs of one build's options)
};

void say(const std::string& line) {
  std::cout << line << std::endl;
}

template <typename T>
T parse_number(const std::string& name, const std::string& text, double min) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || static_cast<double>(value) < min) {
    throw std::invalid_argument(fmt::format("{} needs a number >= {} (got '{}')", name, min, text));
  }
  return value;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--connections") {
      o.connections = parse_number<size_t>(arg, next(), 1);
    } else if (arg == "--window") {
      o.window = parse_number<size_t>(arg, next(), 1);
    } else if (arg == "--threads") {
      o.threads = parse_number<size_t>(arg, next(), 1);
    } else if (arg == "--idle") {
      o.idle = parse_number<size_t>(arg, next(), 0);
    } else if (arg == "--rounds") {
      o.rounds = parse_number<size_t>(arg, next(), 1);
    } else if (arg == "--seconds") {
      o.seconds = parse_number<double>(arg, next(), 1);
    } else if (arg == "--warmup") {
      o.warmup = parse_number<double>(arg, next(), 0);
    } else if (arg == "--warmup-reports") {
      o.warmup_reports = parse_number<size_t>(arg, next(), 0);
    } else if (arg == "--idle-settle") {
      o.idle_settle = parse_number<double>(arg, next(), 2);
    } else if (arg == "--ceiling-seconds") {
      o.ceiling_seconds = parse_number<double>(arg, next(), 0.5);
    } else if (arg == "--smallpeer") {
      o.smallpeer = next();
      if (::access(o.smallpeer.c_str(), X_OK) != 0) throw std::invalid_argument("--smallpeer: no executable at " + o.smallpeer);
    } else if (arg == "--big-peer-arg") {
      o.big_peer_args.push_back(next());
    } else if (arg == "--no-mqtt") {
      o.mqtt = false;
    } else if (arg == "--help" || arg == "-h") {
      say("usage: smallpeer_anchor_bench [--connections N (1000)] [--window N (4)] [--threads N (1)] [--seconds S (10)]\n"
          "       [--warmup S (3)] [--warmup-reports N per connection (300; 0: seconds only)] [--rounds N (2)]\n"
          "       [--idle N (10000; 0 skips)] [--idle-settle S (20; idle connections sit S before RSS is read)]\n"
          "       [--ceiling-seconds S (3)] [--no-mqtt]\n"
          "       [--smallpeer PATH (this build's smallpeer: the Big Peer to measure)]\n"
          "       [--big-peer-arg ARG (a flag for that Big Peer, repeatable: --big-peer-arg --history-reports=0)]");
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown option " + arg + " (see --help)");
    }
  }
  return o;
}

// The report history ring the measured Big Peer keeps per device: its --history-reports, if a
// --big-peer-arg gives it, else the Big Peer's default.
size_t history_reports(const Options& o) {
  const std::string flag = "--history-reports";
  for (size_t i = 0; i < o.big_peer_args.size(); ++i) {
    const std::string& arg = o.big_peer_args[i];
    if (arg.rfind(flag + "=", 0) == 0) return parse_number<size_t>(flag, arg.substr(flag.size() + 1), 0);
    if (arg == flag && i + 1 < o.big_peer_args.size()) return parse_number<size_t>(flag, o.big_peer_args[i + 1], 0);
  }
  return smallpeer::bigpeer::kDefaultHistoryReports;
}

std::string verdict(bool pass) {
  return pass ? "PASS" : "MISS";
}

// ---- the Big Peer under the lean generator ---------------------------------------------------

struct BigPeerFigures {
  double reports = 0;  // committed in the window (the Big Peer's own counter)
  double reports_per_second = 0;
  double big_peer_cpu_us = 0;  // per committed report
  double generator_cpu_us = 0;
  double avg_group = 0;
  uint64_t peak_rss = 0;
  uint64_t acked = 0;  // ACKs the generator counted in the window
  uint64_t refused = 0;
  // The warm-up, measured alike: every device's report history ring still filling (each report
  // inserts a new history row rather than replacing one).
  double warmup_seconds = 0;
  double warmup_reports_per_second = 0;
  double warmup_big_peer_cpu_us = 0;
};

BigPeerFigures measure_big_peer(const Options& o, const std::string& document) {
  TempDir scratch("smallpeer-anchor");
  BigPeerProcessOptions bp;
  bp.data_dir = scratch.path() / "big-peer";
  bp.binary = o.smallpeer;
  bp.extra_args = o.big_peer_args;
  BigPeerProcess big_peer(bp);
  SyncLoadOptions lo;
  lo.port = big_peer.port();
  lo.connections = o.connections;
  lo.window = o.window;
  lo.threads = o.threads;
  lo.document = document;
  SyncLoad load(lo);
  load.wait_established(std::chrono::seconds(120));
  const auto w0 = read_metrics(big_peer);
  const double bpw0 = cpu_seconds(big_peer.pid());
  load.start_sending();
  const auto warmup_start = Clock::now();
  const uint64_t warmup_acks = o.warmup_reports * o.connections;
  while (seconds_between(warmup_start, Clock::now()) < o.warmup || load.acked() < warmup_acks) {
    if (load.failed() > 0) throw std::runtime_error("sync load: " + load.first_failure());
    if (seconds_between(warmup_start, Clock::now()) > 600) {
      throw std::runtime_error(fmt::format("warm-up: {} of {} reports acknowledged after 600 s", load.acked(), warmup_acks));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  const auto m0 = read_metrics(big_peer);
  const double bp0 = cpu_seconds(big_peer.pid());
  BigPeerFigures f;
  f.warmup_seconds = seconds_between(w0.at, m0.at);
  const double warmup_reports = m0["smallpeer_spi_reports_total"] - w0["smallpeer_spi_reports_total"];
  if (warmup_reports > 0) {
    f.warmup_reports_per_second = warmup_reports / f.warmup_seconds;
    f.warmup_big_peer_cpu_us = 1e6 * (bp0 - bpw0) / warmup_reports;
  }
  const double self0 = cpu_seconds(::getpid());
  const uint64_t acked0 = load.acked();
  const uint64_t refused0 = load.refused();
  uint64_t peak = 0;
  const auto start = Clock::now();
  while (seconds_between(start, Clock::now()) < o.seconds) {
    peak = std::max(peak, rss_bytes(big_peer.pid()));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const auto m1 = read_metrics(big_peer);
  const double bp1 = cpu_seconds(big_peer.pid());
  const double self1 = cpu_seconds(::getpid());
  if (load.failed() > 0) throw std::runtime_error("sync load: " + load.first_failure());

  const double window = seconds_between(m0.at, m1.at);
  f.reports = m1["smallpeer_spi_reports_total"] - m0["smallpeer_spi_reports_total"];
  f.reports_per_second = f.reports / window;
  const double groups = m1["smallpeer_ingest_batches_total"] - m0["smallpeer_ingest_batches_total"];
  const double documents = m1["smallpeer_documents_ingested_total"] - m0["smallpeer_documents_ingested_total"];
  f.avg_group = groups > 0 ? documents / groups : 0;
  if (f.reports > 0) {
    f.big_peer_cpu_us = 1e6 * (bp1 - bp0) / f.reports;
    f.generator_cpu_us = 1e6 * (self1 - self0) / f.reports;
  }
  f.peak_rss = peak;
  f.acked = load.acked() - acked0;
  f.refused = load.refused() - refused0;
  return f;
}

// ---- connection scale ----------------------------------------------------------------------

struct IdleFigures {
  size_t connections = 0;
  uint64_t rss_before = 0;
  uint64_t rss_connected = 0;   // 2 s after the last connected (the figure until 2026-12-06 evening)
  uint64_t rss_after = 0;       // after --idle-settle
  double handshake_cpu_us = 0;  // the Big Peer's CPU per connection from the first connect to the last established
  double connect_seconds = 0;   // wall time of the same
  /// Bytes per connection that `rss` adds to the server's memory before the connections.
  [[nodiscard]] double per_connection(uint64_t rss) const {
    return connections > 0 ? (static_cast<double>(rss) - static_cast<double>(rss_before)) / static_cast<double>(connections) : 0;
  }
  /// Bytes per connection once the connections have settled.
  [[nodiscard]] double per_connection() const { return per_connection(rss_after); }
};

// The open file limit raised so `needed` files fit, or an error naming the limit.
void ensure_files(uint64_t needed) {
  const uint64_t limit = raise_open_file_limit(needed);
  if (limit < needed) {
    throw std::runtime_error(
        fmt::format("the connections need about {} open files; the limit is {} (raise the hard "
                    "limit, e.g. `ulimit -Hn {}` as root, or pass fewer --connections / --idle)",
                    needed, limit, needed));
  }
}

IdleFigures measure_big_peer_idle(const Options& o, const std::string& document) {
  TempDir scratch("smallpeer-anchor-idle");
  BigPeerProcessOptions bp;
  bp.data_dir = scratch.path() / "big-peer";
  bp.binary = o.smallpeer;
  bp.extra_args = o.big_peer_args;
  BigPeerProcess big_peer(bp);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  IdleFigures f;
  f.connections = o.idle;
  f.rss_before = rss_bytes(big_peer.pid());
  const double cpu_before = cpu_seconds(big_peer.pid());
  const auto started = Clock::now();
  SyncLoadOptions lo;
  lo.port = big_peer.port();
  lo.connections = o.idle;
  lo.document = document;
  SyncLoad load(lo);
  load.wait_established(std::chrono::seconds(300));
  const auto connected = Clock::now();
  f.handshake_cpu_us = (cpu_seconds(big_peer.pid()) - cpu_before) * 1e6 / static_cast<double>(o.idle);
  f.connect_seconds = std::chrono::duration<double>(connected - started).count();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // let the registry writes of the new keys settle
  f.rss_connected = rss_bytes(big_peer.pid());
  std::this_thread::sleep_until(connected +
                                std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.idle_settle)));
  f.rss_after = rss_bytes(big_peer.pid());
  return f;
}

// ---- the table -------------------------------------------------------------------------------

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

int run(const Options& o) {
  const std::string document = sample_spi_document(kSampleMetadata);
  say(
      fmt::format("anchor: a real SPI document of {} bytes (one small peer's own), {} connections, window {}, {} round(s) of "
                  "{:.0f} s after a warm-up of {:.0f} s and {} reports per connection, generator on {} thread(s), {} cores",
                  document.size(), o.connections, o.window, o.rounds, o.seconds, o.warmup, o.warmup_reports, o.threads,
                  std::thread::hardware_concurrency()));
  ensure_files(std::max(o.connections, o.idle) + 256);

  std::vector<BigPeerFigures> bp_rounds;
#ifdef SMALLPEER_BENCH_MQTT
  std::vector<MqttFigures> mq_rounds;
#endif
  const auto big_peer_round = [&](size_t r) {
    say(fmt::format("-- round {}/{}: Big Peer (SQLite) under the sync load generator", r + 1, o.rounds));
    const auto b = measure_big_peer(o, document);
    say(fmt::format(
        "   {:.0f} reports/s committed, Big Peer {:.1f} us CPU/report, generator {:.1f} us CPU/report, "
        "avg group {:.0f}, peak RSS {:.0f} MB, {} ACKs ({} refused)\n"
        "   (warm-up, {:.1f} s while every device's report history ring filled: {:.0f} reports/s, "
        "Big Peer {:.1f} us CPU/report)",
        b.reports_per_second, b.big_peer_cpu_us, b.generator_cpu_us, b.avg_group, static_cast<double>(b.peak_rss) / 1e6, b.acked,
        b.refused, b.warmup_seconds, b.warmup_reports_per_second, b.warmup_big_peer_cpu_us));
    bp_rounds.push_back(b);
  };
#ifdef SMALLPEER_BENCH_MQTT
  const auto mosquitto_round = [&](size_t r) {
    say(fmt::format("-- round {}/{}: Mosquitto under the MQTT load generator", r + 1, o.rounds));
    MqttLoadOptions mo;
    mo.clients = o.connections;
    mo.window = o.window;
    mo.payload = document;
    mo.warmup_seconds = o.warmup;
    mo.seconds = o.seconds;
    const auto m = measure_mqtt_throughput(mo);
    say(
        fmt::format("   {:.0f} publishes/s acknowledged, broker {:.1f} us CPU/publish, generator {:.1f} us CPU/publish, "
                    "peak RSS {:.0f} MB",
                    m.publishes_per_second, m.broker_cpu_us_per_publish, m.generator_cpu_us_per_publish,
                    static_cast<double>(m.broker_peak_rss) / 1e6));
    mq_rounds.push_back(m);
  };
#endif
  // Each round measures both servers back to back, and the order alternates (Big Peer first, then
  // Mosquitto first, ...): a machine speeding up or slowing down through the run favours neither.
  for (size_t r = 0; r < o.rounds; ++r) {
#ifdef SMALLPEER_BENCH_MQTT
    if (o.mqtt && r % 2 == 1) {
      mosquitto_round(r);
      big_peer_round(r);
      continue;
    }
    big_peer_round(r);
    if (o.mqtt) mosquitto_round(r);
#else
    big_peer_round(r);
#endif
  }

  // The store ceiling: the ingest's writes per report (the report, its history row), at the
  // ingest's average group and at the largest group this load can form; and, for comparison with
  // the figures before 2026-12-06, the reports alone.
  std::vector<smallpeer::Document> reports;
  {
    const std::string key = spi_document_key(document);
    for (size_t i = 0; i < o.connections; ++i) {
      std::array<unsigned char, 32> pk{};
      for (size_t b = 0; b < pk.size(); ++b) pk[b] = static_cast<unsigned char>((i >> (8 * (b % 4))) + b);
      smallpeer::Document d;
      d.collection = std::string(smallpeer::kSmallPeerInfoCollection);
      d.id = smallpeer::PeerIdentity::peer_key_for(pk);
      d.json = document;
      d.json.replace(d.json.find(key), key.size(), d.id);
      d.version = {{1}, d.id};
      d.stored_at = {1};
      reports.push_back(std::move(d));
    }
  }
  std::vector<double> groups;
  groups.reserve(bp_rounds.size());
  for (const auto& b : bp_rounds) groups.push_back(b.avg_group);
  const size_t avg_group = std::max<size_t>(1, static_cast<size_t>(std::lround(median(groups))));
  const size_t history = history_reports(o);
  if (history > o.warmup_reports) {
    say(
        fmt::format("note: the warm-up ({} reports per connection) ends before the rings of {} fill, so the window measured "
                    "rows inserted while the ceiling replaces them",
                    o.warmup_reports, history));
  }
  const size_t largest = largest_group(o.connections, history);
  CeilingResult ceiling;
  CeilingResult reports_alone;
  {
    TempDir scratch("smallpeer-anchor-ceiling");
    for (const size_t size : std::set<size_t>{avg_group, largest}) {
      const auto c = measure_ceiling(reports, size, o.ceiling_seconds, scratch.path(), history);
      const std::string rows = history > 0 ? fmt::format("each with its history row (ring {})", history) : "no history rows";
      say(fmt::format("-- store ceiling: {:5} reports per transaction, {}: {:7.0f} reports/s, {:.1f} us CPU/report", size, rows,
                      c.rate(), c.cpu_us()));
      if (c.rate() > ceiling.rate()) ceiling = c;
    }
    if (history > 0) {
      const size_t size = largest_group(o.connections, 0);
      reports_alone = measure_ceiling(reports, size, o.ceiling_seconds, scratch.path(), 0);
      say(fmt::format("-- store ceiling: {:5} reports per transaction, no history rows: {:7.0f} reports/s, {:.1f} us CPU/report",
                      size, reports_alone.rate(), reports_alone.cpu_us()));
    }
  }

  std::optional<IdleFigures> bp_idle;
#ifdef SMALLPEER_BENCH_MQTT
  std::optional<MqttIdleFigures> mq_idle;
#endif
  if (o.idle > 0) {
    say(fmt::format("-- connection scale: {} idle authenticated sessions to a Big Peer, read {:.0f} s after the last connected",
                    o.idle, o.idle_settle));
    bp_idle = measure_big_peer_idle(o, document);
#ifdef SMALLPEER_BENCH_MQTT
    if (o.mqtt) {
      say(fmt::format("-- connection scale: {} idle MQTT clients to Mosquitto, read {:.0f} s after the last connected", o.idle,
                      o.idle_settle));
      mq_idle = measure_mqtt_idle(o.idle, std::chrono::milliseconds(static_cast<int64_t>(o.idle_settle * 1000)));
    }
#endif
  }

  // ---- the side-by-side table (medians over the rounds) ----
  std::vector<double> v;
  const auto med = [&](auto get, const auto& rounds) {
    v.clear();
    for (const auto& x : rounds) v.push_back(get(x));
    return median(v);
  };
  const double bp_rate = med([](const BigPeerFigures& b) { return b.reports_per_second; }, bp_rounds);
  const double bp_cpu = med([](const BigPeerFigures& b) { return b.big_peer_cpu_us; }, bp_rounds);
  const double gen_cpu = med([](const BigPeerFigures& b) { return b.generator_cpu_us; }, bp_rounds);
  const double bp_rss = med([](const BigPeerFigures& b) { return static_cast<double>(b.peak_rss); }, bp_rounds);
  const double filling_rate = med([](const BigPeerFigures& b) { return b.warmup_reports_per_second; }, bp_rounds);
  const double filling_cpu = med([](const BigPeerFigures& b) { return b.warmup_big_peer_cpu_us; }, bp_rounds);
  say("");
  say(fmt::format(
      "==== the Big Peer against Mosquitto: {} connections, {}-byte documents, window {}, medians of {} round(s) ====",
      o.connections, document.size(), o.window, o.rounds));
  say(fmt::format("{:<34} {:>14} {:>14}", "", "Big Peer", "Mosquitto"));
#ifdef SMALLPEER_BENCH_MQTT
  const bool have_mqtt = !mq_rounds.empty();
  const double mq_rate = have_mqtt ? med([](const MqttFigures& m) { return m.publishes_per_second; }, mq_rounds) : 0;
  const double mq_cpu = have_mqtt ? med([](const MqttFigures& m) { return m.broker_cpu_us_per_publish; }, mq_rounds) : 0;
  const double mq_gen = have_mqtt ? med([](const MqttFigures& m) { return m.generator_cpu_us_per_publish; }, mq_rounds) : 0;
  const double mq_rss =
      have_mqtt ? med([](const MqttFigures& m) { return static_cast<double>(m.broker_peak_rss); }, mq_rounds) : 0;
  // The ratios of each round's two servers, measured back to back: the machine's drift between
  // rounds cancels in each, where a ratio of medians would carry it.
  std::vector<double> rate_ratios, cpu_ratios;
  for (size_t r = 0; r < std::min(bp_rounds.size(), mq_rounds.size()); ++r) {
    if (mq_rounds[r].publishes_per_second <= 0 || mq_rounds[r].broker_cpu_us_per_publish <= 0) continue;
    rate_ratios.push_back(bp_rounds[r].reports_per_second / mq_rounds[r].publishes_per_second);
    cpu_ratios.push_back(bp_rounds[r].big_peer_cpu_us / mq_rounds[r].broker_cpu_us_per_publish);
  }
#else
  const std::vector<double> rate_ratios, cpu_ratios;
  const bool have_mqtt = false;
  const double mq_rate = 0, mq_cpu = 0, mq_gen = 0, mq_rss = 0;
#endif
  const auto cell = [&](double value, const char* format) {
    return have_mqtt ? fmt::format(fmt::runtime(format), value) : std::string("-");
  };
  say(fmt::format("{:<34} {:>14.0f} {:>14}", "messages/s (committed / PUBACKed)", bp_rate, cell(mq_rate, "{:.0f}")));
  say(fmt::format("{:<34} {:>14.1f} {:>14}", "server CPU us per message", bp_cpu, cell(mq_cpu, "{:.1f}")));
  say(fmt::format("{:<34} {:>14.1f} {:>14}", "load generator CPU us per message", gen_cpu, cell(mq_gen, "{:.1f}")));
  say(fmt::format("{:<34} {:>14.0f} {:>14}", "server peak RSS under load (MB)", bp_rss / 1e6, cell(mq_rss / 1e6, "{:.0f}")));
  say(fmt::format("{:<34} {:>14.0f} {:>14}", "warm-up msgs/s (history filling)", filling_rate, "-"));
  say(fmt::format("{:<34} {:>14.1f} {:>14}", "warm-up server CPU us per message", filling_cpu, "-"));
  if (bp_idle) {
#ifdef SMALLPEER_BENCH_MQTT
    const double mq_per = mq_idle ? mq_idle->rss_bytes_per_connection : 0;
    const bool have_idle = mq_idle.has_value();
#else
    const double mq_per = 0;
    const bool have_idle = false;
#endif
    say(fmt::format("{:<34} {:>14.0f} {:>14}", fmt::format("idle RSS bytes/connection ({:.0f} s)", o.idle_settle),
                    bp_idle->per_connection(), have_idle ? fmt::format("{:.0f}", mq_per) : std::string("-")));
    say(fmt::format("{:<34} {:>14.0f} {:>14}", "  (2 s after the last connected)",
                    bp_idle->per_connection(bp_idle->rss_connected), "-"));
    say(fmt::format("{:<34} {:>14.0f} {:>14}", "server CPU us per new session", bp_idle->handshake_cpu_us, "-"));
    say(fmt::format("{:<34} {:>14.1f} {:>14}", "  (all connected in s)", bp_idle->connect_seconds, "-"));
    if (have_idle) {
      say(fmt::format("target: RSS per idle connection <= Mosquitto's: {:.0f} vs {:.0f} bytes   {}", bp_idle->per_connection(),
                      mq_per, verdict(bp_idle->per_connection() <= mq_per)));
    }
  }
  say(fmt::format("{:<34} {:>14.0f}", "store ceiling (reports/s, in-process)", ceiling.rate()));
  if (reports_alone.rate() > 0) {
    say(fmt::format("{:<34} {:>14.0f}", "  the same without history rows", reports_alone.rate()));
  }
  if (have_mqtt && !cpu_ratios.empty()) {
    const auto each = [](const std::vector<double>& ratios) {
      std::string text;
      for (const double x : ratios) text += fmt::format("{}{:.2f}", text.empty() ? "" : " / ", x);
      return text;
    };
    say(fmt::format("ratios per round (the two servers back to back, the order alternating): throughput {}, CPU per message {}",
                    each(rate_ratios), each(cpu_ratios)));
    const double rate_ratio = median(rate_ratios);
    const double cpu_ratio = median(cpu_ratios);
    say(fmt::format(
        "ratio Big Peer / Mosquitto throughput (median of the rounds'): {:.2f}   {} (target >= {:.1f}; first bar >= {:.1f}: {})",
        rate_ratio, verdict(rate_ratio >= kTargetRateRatio), kTargetRateRatio, kFirstBarRateRatio,
        verdict(rate_ratio >= kFirstBarRateRatio)));
    say(
        fmt::format("ratio Big Peer / Mosquitto CPU per message (median of the rounds'): {:.2f}   {} (target <= {:.1f}; first "
                    "bar <= {:.1f}: {})",
                    cpu_ratio, verdict(cpu_ratio <= kTargetCpuRatio), kTargetCpuRatio, kFirstBarCpuRatio,
                    verdict(cpu_ratio <= kFirstBarCpuRatio)));
  } else if (have_mqtt) {
    say("Mosquitto: no round acknowledged a publish or used CPU, so there are no ratios (see the rounds above)");
  } else {
    say("Mosquitto: not measured (--no-mqtt, or built without libmosquitto-dev: scripts/bench.sh installs it)");
  }
  const double of_ceiling = ceiling.rate() > 0 ? bp_rate / ceiling.rate() : 0;
  say(fmt::format("ratio ingest / store ceiling: {:.2f}   {} (target >= {:.1f})", of_ceiling,
                  verdict(of_ceiling >= kTargetOfCeiling), kTargetOfCeiling));
  if (gen_cpu > bp_cpu) {
    say("note: the load generator spent more CPU per report than the Big Peer, so the Big Peer's rate may be held back by it");
  }
  return 0;
}

}  // namespace anchor_bench

int main(int argc, char** argv) {
  try {
    return anchor_bench::run(anchor_bench::parse_options(argc, argv));
  } catch (const std::invalid_argument& e) {
    std::cerr << "smallpeer_anchor_bench: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "smallpeer_anchor_bench: " << e.what() << "\n";
    return 1;
  }
}
