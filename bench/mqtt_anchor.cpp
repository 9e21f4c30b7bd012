// The Mosquitto anchor: the broker as a child process, and a one-thread epoll load generator over
// libmosquitto clients (see mqtt_anchor.h).
#include "mqtt_anchor.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "proc_stats.h"
#include "support/free_port.h"

namespace smallpeer::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kMosquittoBinary = "/usr/sbin/mosquitto";
constexpr auto kBrokerStartTimeout = 10s;
constexpr auto kBrokerStopTimeout = 10s;
// Open connects not yet CONNACKed: well under Mosquitto's listen backlog (100), so no SYN is
// dropped (a dropped SYN costs a 1 s retransmit).
constexpr size_t kConnectBurst = 64;
// Descriptors this process or the broker needs besides one per client.
constexpr uint64_t kSpareFiles = 128;
constexpr int kLoadKeepaliveSeconds = 60;
constexpr int kIdleKeepaliveSeconds = 3600;
constexpr auto kRssSampleInterval = 100ms;
constexpr auto kMiscInterval = 1s;  // mosquitto_loop_misc (keepalive pings) for every client

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// True if something accepts TCP connections on 127.0.0.1:`port`.
bool accepts_connections(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

void init_libmosquitto() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (const int rc = mosquitto_lib_init(); rc != MOSQ_ERR_SUCCESS) {
      throw std::runtime_error(fmt::format("libmosquitto: init failed: {}", mosquitto_strerror(rc)));
    }
  });
}

/// Threads of this process now (from /proc/self/status).
size_t thread_count() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Threads:", 0) == 0) return std::strtoull(line.c_str() + 8, nullptr, 10);
  }
  return 0;
}

/// libmosquitto gives every client a socket pair besides its TCP socket, only to wake the thread of
/// mosquitto_loop_start, and writes a byte into it on every publish: one syscall per publish (a
/// tenth of this generator's CPU) and two descriptors per client that an epoll loop never uses. A
/// client made while no descriptor is free goes without the pair (libmosquitto only logs a warning),
/// so this makes it with the soft open file limit lowered to the lowest free descriptor. Only safe
/// while this process has one thread (another could fail to open a file meanwhile); see
/// can_make_lean_clients.
mosquitto* new_client_without_socketpair(const char* id, void* data) {
  const int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (probe < 0) throw std::runtime_error(fmt::format("cannot open /dev/null: {}", std::strerror(errno)));
  ::close(probe);
  rlimit saved{};
  if (::getrlimit(RLIMIT_NOFILE, &saved) != 0) throw std::runtime_error("cannot read the open file limit");
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(probe);
  ::setrlimit(RLIMIT_NOFILE, &tight);
  mosquitto* mosq = mosquitto_new(id, true, data);
  const int saved_errno = errno;
  ::setrlimit(RLIMIT_NOFILE, &saved);
  errno = saved_errno;
  return mosq;
}

/// Whether clients can be made without their socket pair now (see new_client_without_socketpair).
bool can_make_lean_clients() {
  return thread_count() == 1;
}

/// Throws unless this process (and so the broker it starts next) may open `clients` connections
/// (three descriptors each unless `lean`).
void require_open_files(size_t clients, bool lean) {
  const uint64_t needed = static_cast<uint64_t>(clients) * (lean ? 1 : 3) + kSpareFiles;
  const uint64_t limit = raise_open_file_limit(needed);
  if (limit < needed) {
    throw std::runtime_error(
        fmt::format("{} MQTT clients need about {} open files in this process, but the open file limit is {} and cannot be "
                    "raised further; raise the hard limit (`ulimit -Hn {}` as root, --ulimit nofile= for docker) or use fewer "
                    "clients",
                    clients, needed, limit, needed));
  }
}

// ---- the load generator -----------------------------------------------------------------------

/// N libmosquitto clients on one epoll loop. Each client publishes `payload` QoS 1 retained to its
/// own topic, at most `window` unacknowledged; PUBACKs (on_publish) are counted and the window is
/// refilled right after mosquitto_loop_read returns, outside libmosquitto's callbacks: a publish
/// made inside a callback is only queued (it would cost an extra EPOLLOUT round per message),
/// one made outside is written at once.
class LoadGenerator {
 public:
  LoadGenerator(uint16_t port, size_t clients, int keepalive, size_t window, const std::string& payload, bool lean)
      : port_(port), keepalive_(keepalive), window_(window), payload_(payload), clients_(clients), lean_(lean) {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) throw std::runtime_error(fmt::format("epoll_create1: {}", std::strerror(errno)));
    events_.resize(1024);
  }

  ~LoadGenerator() {
    stopping_ = true;
    for (auto& c : clients_) {
      if (c.mosq != nullptr) mosquitto_destroy(c.mosq);
    }
    ::close(epoll_);
  }

  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  /// Connects every client, at most kConnectBurst awaiting their CONNACK at a time; throws if the
  /// broker refuses one or not all are CONNACKed within `timeout`.
  void connect_all(std::chrono::duration<double> timeout, const MosquittoBroker& broker) {
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
    size_t next = 0;
    while (connected_ < clients_.size()) {
      while (next < clients_.size() && next - connected_ < kConnectBurst) start(next++);
      poll(10ms);
      if (Clock::now() > deadline) {
        throw std::runtime_error(fmt::format("only {} of {} MQTT clients were CONNACKed within {:.0f} s; broker log:\n{}",
                                             connected_, clients_.size(), timeout.count(), broker.log()));
      }
    }
  }

  /// Fills every client's window; from now on each PUBACK is followed by a new publish.
  void start_publishing() {
    publishing_ = true;
    for (auto& c : clients_) {
      refill(c);
      watch(c);
    }
    check();
  }

  /// Runs the loop until `end`, calling `tick` about every `tick_interval`.
  template <typename Tick>
  void run_until(Clock::time_point end, Clock::duration tick_interval, Tick&& tick) {
    auto next_tick = Clock::now() + tick_interval;
    for (auto now = Clock::now(); now < end; now = Clock::now()) {
      poll(std::min(end, next_tick) - now);
      if (Clock::now() >= next_tick) {
        tick();
        next_tick += tick_interval;
      }
    }
  }

  /// PUBACKs received so far.
  [[nodiscard]] uint64_t acknowledged() const { return acknowledged_; }

 private:
  struct Client {
    LoadGenerator* owner = nullptr;
    size_t index = 0;
    mosquitto* mosq = nullptr;
    std::string topic;
    size_t inflight = 0;
    uint32_t events = 0;  // what epoll watches now
    bool connected = false;
  };

  void start(size_t index) {
    auto& c = clients_[index];
    c.owner = this;
    c.index = index;
    c.topic = fmt::format("smallpeer/{}/spi", index);
    const std::string id = fmt::format("smallpeer-bench-{}", index);
    c.mosq = lean_ ? new_client_without_socketpair(id.c_str(), &c) : mosquitto_new(id.c_str(), true, &c);
    if (c.mosq == nullptr) throw std::runtime_error(fmt::format("mosquitto_new: {}", std::strerror(errno)));
    mosquitto_connect_callback_set(c.mosq, &LoadGenerator::on_connect);
    mosquitto_publish_callback_set(c.mosq, &LoadGenerator::on_publish);
    mosquitto_disconnect_callback_set(c.mosq, &LoadGenerator::on_disconnect);
    // libmosquitto's own outgoing limit (default 20) equal to ours, so it never holds one back.
    mosquitto_max_inflight_messages_set(c.mosq, static_cast<unsigned>(std::max<size_t>(window_, 1)));
    // Blocking TCP connect (loopback, and the burst stays under the backlog), then non-blocking;
    // the CONNECT packet is written at once.
    const int rc = mosquitto_connect(c.mosq, "127.0.0.1", port_, keepalive_);
    if (rc != MOSQ_ERR_SUCCESS) {
      throw std::runtime_error(fmt::format("MQTT client {} cannot connect to 127.0.0.1:{}: {}", index, port_,
                                           rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc)));
    }
    watch(c);
  }

  /// Keeps epoll's interest in `c` in step with libmosquitto: always readable, writable only
  /// while it has bytes queued.
  void watch(Client& c) {
    const uint32_t want = EPOLLIN | (mosquitto_want_write(c.mosq) ? EPOLLOUT : 0U);
    if (want == c.events) return;
    epoll_event event{};
    event.events = want;
    event.data.u64 = c.index;
    const int op = c.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (::epoll_ctl(epoll_, op, mosquitto_socket(c.mosq), &event) != 0) {
      throw std::runtime_error(fmt::format("epoll_ctl for MQTT client {}: {}", c.index, std::strerror(errno)));
    }
    c.events = want;
  }

  void refill(Client& c) {
    while (c.inflight < window_) {
      const int rc =
          mosquitto_publish(c.mosq, nullptr, c.topic.c_str(), static_cast<int>(payload_.size()), payload_.data(), 1, true);
      if (rc != MOSQ_ERR_SUCCESS) {
        fail(fmt::format("MQTT client {}: publish failed: {}", c.index, mosquitto_strerror(rc)));
        return;
      }
      ++c.inflight;
    }
  }

  void poll(Clock::duration timeout) {
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(std::max(timeout, Clock::duration::zero())).count();
    const int n = ::epoll_wait(epoll_, events_.data(), static_cast<int>(events_.size()), static_cast<int>(ms));
    if (n < 0) {
      if (errno == EINTR) return;
      throw std::runtime_error(fmt::format("epoll_wait: {}", std::strerror(errno)));
    }
    for (int i = 0; i < n; ++i) {
      auto& c = clients_[events_[i].data.u64];
      const uint32_t ready = events_[i].events;
      if (ready & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        const int rc = mosquitto_loop_read(c.mosq, 1);
        if (rc != MOSQ_ERR_SUCCESS) lost(c, rc);
      }
      if (failure_.empty() && (ready & EPOLLOUT)) {
        const int rc = mosquitto_loop_write(c.mosq, 1);
        if (rc != MOSQ_ERR_SUCCESS) lost(c, rc);
      }
      if (!failure_.empty()) break;
      if (publishing_) refill(c);
      watch(c);
    }
    check();
    if (const auto now = Clock::now(); now >= next_misc_) {
      for (auto& c : clients_) {
        if (c.mosq != nullptr) mosquitto_loop_misc(c.mosq);
      }
      next_misc_ = now + kMiscInterval;
      check();
    }
  }

  void lost(const Client& c, int rc) {
    fail(fmt::format("MQTT client {} lost its connection: {}", c.index,
                     rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc)));
  }

  void fail(std::string message) {
    if (failure_.empty()) failure_ = std::move(message);
  }

  void check() const {
    if (!failure_.empty()) throw std::runtime_error(failure_);
  }

  // libmosquitto callbacks: C code calls them, so they record failures instead of throwing.
  static void on_connect(mosquitto* /*mosq*/, void* data, int rc) {
    auto& c = *static_cast<Client*>(data);
    if (rc != 0) {
      c.owner->fail(fmt::format("the broker refused MQTT client {}: {}", c.index, mosquitto_connack_string(rc)));
      return;
    }
    if (!c.connected) {
      c.connected = true;
      ++c.owner->connected_;
    }
  }

  static void on_publish(mosquitto* /*mosq*/, void* data, int /*mid*/) {
    auto& c = *static_cast<Client*>(data);
    --c.inflight;
    ++c.owner->acknowledged_;
  }

  static void on_disconnect(mosquitto* /*mosq*/, void* data, int rc) {
    auto& c = *static_cast<Client*>(data);
    if (c.owner->stopping_) return;
    c.owner->fail(fmt::format("the broker closed MQTT client {}'s connection: {}", c.index,
                              rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc)));
  }

  uint16_t port_;
  int keepalive_;
  size_t window_;
  const std::string& payload_;
  std::vector<Client> clients_;  // never resized after construction: callbacks hold pointers
  bool lean_;                    // clients without libmosquitto's socket pair
  int epoll_ = -1;
  std::vector<epoll_event> events_;
  size_t connected_ = 0;
  uint64_t acknowledged_ = 0;
  bool publishing_ = false;
  bool stopping_ = false;
  std::string failure_;
  Clock::time_point next_misc_ = Clock::now() + kMiscInterval;
};

}  // namespace

// ---- the broker -------------------------------------------------------------------------------

MosquittoBroker::MosquittoBroker() {
  if (::access(kMosquittoBinary, X_OK) != 0) {
    throw std::runtime_error(
        fmt::format("Mosquitto is not installed: {} is missing (apt-get install mosquitto, "
                    "or run scripts/bench.sh)",
                    kMosquittoBinary));
  }
  raise_open_file_limit();  // before the fork: the broker inherits it (measure_* may have raised it further)
  static std::atomic<int> counter{0};
  dir_ = fs::temp_directory_path() / fmt::format("smallpeer-mosquitto-{}-{}", ::getpid(), counter++);
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  try {
    // The port is free when chosen; another process may take it first, so a few tries.
    std::string failure;
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (launch(test_support::free_loopback_port("Mosquitto"), &failure)) return;
    }
    throw std::runtime_error(failure);
  } catch (...) {
    stop();
    throw;
  }
}

MosquittoBroker::~MosquittoBroker() {
  stop();
}

std::string MosquittoBroker::log() const {
  return read_text(dir_ / "mosquitto.log");
}

bool MosquittoBroker::launch(uint16_t port, std::string* failure) {
  port_ = port;
  const auto config = dir_ / "mosquitto.conf";
  {
    std::ofstream out(config, std::ios::trunc);
    out << "# Written by smallpeer's bench (bench/mqtt_anchor.cpp): a broker of its own on a free port.\n"
        << "persistence true\n"
        << "persistence_location " << dir_.string() << "/\n"
        << "autosave_interval 1\n"
        // Both only govern messages the broker sends (to subscribers; there are none here) and,
        // for MQTT v5 clients, the Receive Maximum it announces; the generator speaks MQTT 3.1.1,
        // whose incoming QoS 1 publishes the broker never limits. 0: no cap of the broker's, so
        // the generator's window of unacknowledged publishes is what governs.
        << "max_inflight_messages 0\n"
        << "max_queued_messages 0\n"
        << "allow_anonymous true\n"
        << "log_dest stderr\n"
        << "log_type error\nlog_type warning\nlog_type notice\n"
        << "connection_messages false\n";
    // As root Mosquitto switches to the user `mosquitto`, who could not write our directory.
    if (::geteuid() == 0) out << "user root\n";
    out << "listener " << port << " 127.0.0.1\n"
        << "max_connections -1\n";
    if (!out) throw std::runtime_error(fmt::format("Mosquitto: cannot write {}", config.string()));
  }
  const auto log_path = dir_ / "mosquitto.log";
  const std::string binary = kMosquittoBinary;
  const std::string config_text = config.string();
  std::array<char*, 4> argv{const_cast<char*>(binary.c_str()), const_cast<char*>("-c"), const_cast<char*>(config_text.c_str()),
                            nullptr};
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(fmt::format("Mosquitto: fork failed: {}", std::strerror(errno)));
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec.
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    // The broker dies with the bench, even if the bench is killed.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(125);
    ::closefrom(3);  // none of the bench's sockets live on in the broker
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  const auto deadline = Clock::now() + kBrokerStartTimeout;
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      const std::string how = WIFEXITED(status) ? fmt::format("exited with status {}", WEXITSTATUS(status))
                                                : fmt::format("was killed by signal {}", WTERMSIG(status));
      *failure = fmt::format("Mosquitto ({} -c {}) {} at start; its log:\n{}", binary, config_text, how, log());
      return false;
    }
    if (accepts_connections(port_)) return true;
    std::this_thread::sleep_for(20ms);
  }
  throw std::runtime_error(fmt::format("Mosquitto did not accept connections on 127.0.0.1:{} within {} s; its log:\n{}", port_,
                                       kBrokerStartTimeout.count(), log()));
}

void MosquittoBroker::stop() noexcept {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);  // it saves its database and exits
    int status = 0;
    const auto deadline = Clock::now() + kBrokerStopTimeout;
    while (::waitpid(pid_, &status, WNOHANG) == 0 && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

// ---- the measurements -------------------------------------------------------------------------

MqttFigures measure_mqtt_throughput(const MqttLoadOptions& options) {
  if (options.clients < 1) throw std::invalid_argument("MQTT load: clients must be at least 1");
  if (options.window < 1) throw std::invalid_argument("MQTT load: window must be at least 1");
  // An empty retained publish deletes the topic's retained message instead of storing one.
  if (options.payload.empty()) throw std::invalid_argument("MQTT load: the payload must not be empty");
  if (options.payload.size() > 256 * 1024 * 1024 - 1024) throw std::invalid_argument("MQTT load: payload too large");
  if (!(options.seconds > 0)) throw std::invalid_argument("MQTT load: seconds must be > 0");
  if (!(options.warmup_seconds >= 0)) throw std::invalid_argument("MQTT load: warmup_seconds must be >= 0");
  init_libmosquitto();
  const bool lean = can_make_lean_clients();
  require_open_files(options.clients, lean);
  MosquittoBroker broker;
  LoadGenerator generator(broker.port(), options.clients, kLoadKeepaliveSeconds, options.window, options.payload, lean);
  generator.connect_all(30s + options.clients * 5ms, broker);
  generator.start_publishing();
  const auto warm =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.warmup_seconds));
  generator.run_until(warm, 1s, [] {});

  const pid_t self = ::getpid();
  const auto t0 = Clock::now();
  const uint64_t acked0 = generator.acknowledged();
  const double broker_cpu0 = cpu_seconds(broker.pid());
  const double self_cpu0 = cpu_seconds(self);
  uint64_t peak_rss = rss_bytes(broker.pid());
  const auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.seconds));
  generator.run_until(end, kRssSampleInterval, [&] { peak_rss = std::max(peak_rss, rss_bytes(broker.pid())); });
  const auto t1 = Clock::now();
  const uint64_t acked1 = generator.acknowledged();
  const double broker_cpu1 = cpu_seconds(broker.pid());
  const double self_cpu1 = cpu_seconds(self);
  peak_rss = std::max(peak_rss, rss_bytes(broker.pid()));

  MqttFigures f;
  f.clients = options.clients;
  f.window = options.window;
  f.payload_bytes = options.payload.size();
  f.publishes = acked1 - acked0;
  f.window_seconds = seconds_between(t0, t1);
  f.publishes_per_second = static_cast<double>(f.publishes) / f.window_seconds;
  if (f.publishes > 0) {
    f.broker_cpu_us_per_publish = (broker_cpu1 - broker_cpu0) * 1e6 / static_cast<double>(f.publishes);
    f.generator_cpu_us_per_publish = (self_cpu1 - self_cpu0) * 1e6 / static_cast<double>(f.publishes);
  }
  f.broker_peak_rss = peak_rss;
  return f;
}

MqttIdleFigures measure_mqtt_idle(size_t clients, std::chrono::milliseconds settle) {
  if (clients < 1) throw std::invalid_argument("MQTT idle: clients must be at least 1");
  init_libmosquitto();
  const std::string no_payload;
  const bool lean = can_make_lean_clients();
  require_open_files(clients, lean);
  MosquittoBroker broker;
  LoadGenerator generator(broker.port(), clients, kIdleKeepaliveSeconds, 0, no_payload, lean);
  std::this_thread::sleep_for(200ms);  // past its start-up allocations
  MqttIdleFigures f;
  f.clients = clients;
  f.broker_rss_before = rss_bytes(broker.pid());
  generator.connect_all(30s + clients * 5ms, broker);
  // Let the broker finish whatever each connection set off before reading its memory.
  generator.run_until(Clock::now() + settle, 1s, [] {});
  f.broker_rss_after = rss_bytes(broker.pid());
  f.rss_bytes_per_connection =
      (static_cast<double>(f.broker_rss_after) - static_cast<double>(f.broker_rss_before)) / static_cast<double>(clients);
  return f;
}

}  // namespace smallpeer::bench
