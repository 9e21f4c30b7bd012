#include "fleet_command.h"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <iostream>
#include <optional>
#include <thread>

#include "common/error.h"
#include "log/log.h"
#include "sync/channel.h"

namespace smallpeer::tools {

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kMiB = uint64_t{1024} * 1024;

std::string format_elapsed(Clock::duration d) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

std::string format_seconds(Clock::duration d) {
  return fmt::format("{:.1f} s", std::chrono::duration<double>(d).count());
}

std::string progress_line(const FleetStats& s, size_t peers, Clock::duration elapsed) {
  return fmt::format("fleet: {}/{} open | {} connected to Big Peer | {} SPI documents | {} log lines | RSS {} MB | {}", s.opened,
                     peers, s.connected, s.spi_writes, s.log_lines, resident_set_bytes() / kMiB, format_elapsed(elapsed));
}

// The progress line: redrawn in place on a terminal, one line every 5 s into a log file or pipe.
class Progress {
 public:
  Progress() : tty_(::isatty(STDERR_FILENO) == 1) {}
  [[nodiscard]] Clock::duration period() const { return tty_ ? std::chrono::seconds(1) : std::chrono::seconds(5); }
  void show(const std::string& line) {
    if (tty_) {
      std::cerr << '\r' << line << "\x1b[K" << std::flush;
      drawn_ = true;
    } else {
      std::cerr << line << std::endl;
    }
  }
  // Ends the redrawn line so the next message starts on its own line.
  void finish_line() {
    if (drawn_) std::cerr << std::endl;
    drawn_ = false;
  }

 private:
  bool tty_;
  bool drawn_ = false;
};

}  // namespace

CLI::App* add_fleet_command(CLI::App& app, FleetOptions& options) {
  auto* cmd = app.add_subcommand(
      "fleet",
      "Run a simulated fleet: N real small peers in this process, sharing one thread pool, each with Small Peer Info "
      "enabled (BigPeerOnly), syncing with one Big Peer (or one node of a cluster at a time) and writing app log lines; runs "
      "until --duration passes or "
      "SIGINT/SIGTERM, then closes every peer");
  const CLI::Validator big_peer_url(
      [](std::string& url) -> std::string {
        try {
          sync::parse_websocket_url(url);
          return {};
        } catch (const Error& e) {
          return e.what();
        }
      },
      "URL");
  cmd->add_option("--big-peer", options.big_peer_urls,
                  "Big Peer sync URL every peer connects to, e.g. ws://127.0.0.1:8080/sync; repeat it for the nodes of a "
                  "cluster (each peer then holds one session, on one node at a time)")
      ->required()
      ->check(big_peer_url);
  cmd->add_option("--app-id", options.app_id, "App id the peers present (online playground identity)")->required();
  cmd->add_option("--app-token", options.app_token, "App token the peers present to the Big Peer")->required();
  cmd->add_option("--peers", options.peers, "Number of small peers to run")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1'000'000}));
  cmd->add_option_function<double>(
         "--interval", [&options](const double& s) { options.interval = std::chrono::milliseconds(std::llround(s * 1000)); },
         "Small Peer Info collection interval in seconds (at least 1, the engine's minimum)")
      ->default_str(fmt::format("{}", std::chrono::duration<double>(options.interval).count()))
      ->check(CLI::Range(1.0, 86'400.0));
  cmd->add_option_function<int64_t>(
         "--duration", [&options](const int64_t& s) { options.duration = std::chrono::seconds(s); },
         "Seconds to run once every peer is open, then close them all and exit 0 (default: until SIGINT or SIGTERM)")
      ->check(CLI::Range(int64_t{1}, int64_t{365} * 24 * 3600));
  cmd->add_option_function<std::string>(
      "--data", [&options](const std::string& dir) { options.data_dir = dir; },
      "Directory that keeps one persistence directory per peer (peer-00000, ...); reusing it keeps peer keys and SPI "
      "sequences (default: a temporary directory removed at exit)");
  cmd->add_option("--log-rate", options.log_rate,
                  "App log lines per second per peer, written into each peer's engine log (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1000.0));
  cmd->add_option("--open-threads", options.open_threads, "Peers opened (and closed) at the same time")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{256}));
  return cmd;
}

int run_fleet_command(const FleetOptions& options) {
  // A thousand peers on the console would bury the progress line; the engine log files keep it all.
  UserLogOutput::instance().set_console_enabled(false);

  // Blocked before any thread starts (threads inherit the mask), so only sigtimedwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &signals, &previous);
  struct RestoreMask {
    sigset_t mask;
    ~RestoreMask() { pthread_sigmask(SIG_SETMASK, &mask, nullptr); }
  } restore{previous};

  Fleet fleet(options);
  // Checked here as well as in start(), so a limit that is too low is the only thing printed.
  ensure_open_file_limit(options.peers);
  Progress progress;
  const auto began = Clock::now();
  BackgroundStart starting(fleet);

  std::optional<Clock::time_point> running_since;
  auto next_report = began;
  int signal = 0;
  for (;;) {
    const auto now = Clock::now();
    if (now >= next_report) {
      progress.show(progress_line(fleet.stats(), options.peers, now - began));
      next_report = now + progress.period();
    }
    if (starting.done() && !running_since) {
      if (starting.failed()) break;
      running_since = Clock::now();
      progress.finish_line();
      std::cout << fmt::format("fleet: {} peers open in {} (data directory {}, RSS {} MB)", options.peers,
                               format_seconds(*running_since - began), fleet.data_dir().string(), resident_set_bytes() / kMiB)
                << std::endl;
    }
    if (running_since && options.duration && Clock::now() - *running_since >= *options.duration) break;
    // Short waits keep the end of start() and of --duration prompt; a signal ends the wait at once.
    const timespec wait{0, 200'000'000};
    signal = ::sigtimedwait(&signals, nullptr, &wait);
    if (signal == SIGINT || signal == SIGTERM) break;
  }

  progress.finish_line();
  if (signal == SIGINT || signal == SIGTERM) {
    std::cerr << fmt::format("fleet: {} received, closing {} peers (send it again to quit at once)",
                             signal == SIGINT ? "SIGINT" : "SIGTERM", fleet.stats().opened)
              << std::endl;
    // Unblocked here only: a second signal then takes its default action and ends the process.
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }
  const auto stopping = Clock::now();
  fleet.stop();  // also makes a start() still in progress return
  starting.finish();
  const auto s = fleet.stats();
  std::cout << fmt::format("fleet: stopped after {} (closing took {}): {} SPI documents, {} log lines",
                           format_seconds(Clock::now() - began), format_seconds(Clock::now() - stopping), s.spi_writes,
                           s.log_lines)
            << std::endl;
  return 0;
}

}  // namespace smallpeer::tools
