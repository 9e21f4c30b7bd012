#include "fleet.h"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <thread>

#include "common/error.h"
#include "common/json.h"
#include "runtime/scheduler.h"
#include "sync/channel.h"

namespace smallpeer::tools {

namespace fs = std::filesystem;

namespace {

// A well-mixed 64-bit value per (index, salt): profile choices look random but never change.
uint64_t mix(uint64_t index, uint64_t salt) {
  uint64_t z = index * 0x9E3779B97F4A7C15ULL + salt * 0xD1B54A32D69CB44FULL + 0x632BE59BD9B4E5DULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

template <typename T, size_t N>
const T& pick(const std::array<T, N>& items, uint64_t value) {
  return items[value % N];
}

// One kind of device per SDK language, as a real fleet runs one app per device type.
struct DeviceKind {
  std::string_view kind;
  std::string_view language;
  std::string_view fleet;
  std::string_view app;
  std::array<std::string_view, 3> zones;  // empty: the name has no zone
  std::array<std::string_view, 2> models;
  int app_major;
};

constexpr std::array<DeviceKind, 6> kKinds{{
    {"tablet", "Swift", "store-ops", "Inventory", {"north", "south", "east"}, {"iPad Air 5", "iPad mini 6"}, 4},
    {"scanner", "Kotlin", "warehouse-picking", "PickPath", {}, {"Zebra TC52", "Honeywell CT40"}, 7},
    {"forklift", "Java", "warehouse-vehicles", "FleetDrive", {}, {"Toyota 8FBE20", "Linde E20"}, 2},
    {"kiosk", "JavaScript", "customer-service", "SelfCheck", {"lobby", "checkout", "entrance"}, {"Elo 22", "Pyramid PT"}, 11},
    {"gateway", "Python", "facility-sensors", "SenseHub", {"yard", "cold-room", "dock"}, {"Raspberry Pi 4", "UNO-220"}, 1},
    {"controller", "C", "conveyor-control", "BeltCtl", {}, {"STM32H7", "Beckhoff CX7000"}, 3},
}};

constexpr std::array<std::string_view, 5> kSites{"rtm-dc1", "mem-hub2", "lej-dc3", "osa-dc1", "yyz-hub1"};
constexpr std::array<std::string_view, 3> kShifts{"day", "swing", "night"};

// One plausible app log line for a device of `kind`: mostly info, some debug, a few warnings.
std::pair<LogLevel, std::string> app_log_line(size_t kind, std::mt19937_64& rng) {
  auto n = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const int roll = n(0, 99);
  const LogLevel level = roll < 10 ? LogLevel::warning : roll < 35 ? LogLevel::debug : LogLevel::info;
  const bool first = n(0, 1) == 0;
  switch (kind) {
    case 0:  // tablet
      if (level == LogLevel::info) {
        return {level, first ? fmt::format("counted {} items in aisle {}", n(1, 240), n(1, 40))
                             : fmt::format("order {} picked", n(100000, 999999))};
      }
      if (level == LogLevel::debug) {
        return {level, first ? fmt::format("InventoryList rendered in {} ms", n(4, 60))
                             : fmt::format("sync cursor advanced to {}", n(1000, 90000))};
      }
      return {level, first ? fmt::format("battery {}%", n(5, 19)) : fmt::format("low storage: {} MB free", n(80, 500))};
    case 1:  // scanner
      if (level == LogLevel::info) {
        return {level, first ? fmt::format("scanned pallet {}", n(1000, 9999))
                             : fmt::format("scanned barcode 40{:011}", n(0, 999999999))};
      }
      if (level == LogLevel::debug) return {level, fmt::format("laser exposure {} us", n(90, 900))};
      return {level, first ? fmt::format("barcode read failed, retrying ({}/3)", n(1, 3)) : fmt::format("battery {}%", n(5, 19))};
    case 2:  // forklift
      if (level == LogLevel::info) {
        return {level, first ? fmt::format("moved pallet {} to bay {}", n(1000, 9999), n(1, 120))
                             : fmt::format("battery {}%", n(20, 100))};
      }
      if (level == LogLevel::debug) return {level, fmt::format("load sensor {} kg", n(0, 1800))};
      return {level, first ? fmt::format("speed limit exceeded in zone {} ({} km/h)", n(1, 9), n(11, 16))
                           : fmt::format("impact sensor triggered ({:.1f} g)", n(15, 60) / 10.0)};
    case 3:  // kiosk
      if (level == LogLevel::info) {
        return {level, first ? std::string("customer session started") : fmt::format("printed receipt {}", n(10000, 99999))};
      }
      if (level == LogLevel::debug) {
        return {level, first ? std::string("idle screen shown") : fmt::format("touch latency {} ms", n(8, 90))};
      }
      return {level, first ? std::string("printer paper low") : fmt::format("card reader timeout after {} s", n(20, 45))};
    case 4:  // gateway
      if (level == LogLevel::info) {
        return {level, first ? fmt::format("temperature {:.1f} C", n(-220, 320) / 10.0)
                             : fmt::format("forwarded {} sensor readings", n(1, 400))};
      }
      if (level == LogLevel::debug) return {level, fmt::format("MQTT keepalive ok ({} ms)", n(2, 80))};
      return {level, first ? fmt::format("sensor {} silent for {} s", n(1, 64), n(60, 900))
                           : fmt::format("humidity {}% above threshold", n(71, 95))};
    default:  // controller
      if (level == LogLevel::info) return {level, fmt::format("conveyor {} running at {:.2f} m/s", n(1, 12), n(40, 250) / 100.0)};
      if (level == LogLevel::debug) return {level, fmt::format("PID loop error {:.3f}", n(-500, 500) / 1000.0)};
      return {level, first ? fmt::format("motor {} current {:.1f} A near limit", n(1, 12), n(140, 190) / 10.0)
                           : fmt::format("jam detected on belt {}", n(1, 12))};
  }
}

// Runs body(i) for every i in [0, n) on up to `threads` threads. Stops handing out work once a
// body throws or `stop` is set; rethrows the first exception after every thread has finished.
void parallel_for(size_t n, size_t threads, const std::atomic<bool>* stop, const std::function<void(size_t)>& body) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (;;) {
      if (failed || (stop && *stop)) return;
      const size_t i = next++;
      if (i >= n) return;
      try {
        body(i);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  threads = std::clamp<size_t>(threads, 1, std::max<size_t>(n, 1));
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

std::string transport_config_json(const std::vector<std::string>& urls) {
  JsonWriter w;
  w.begin_object().key("big_peer").begin_object().key("urls").begin_array();
  for (const auto& url : urls) w.value(url);
  w.end_array().end_object().end_object();
  return w.take();
}

}  // namespace

PeerProfile peer_profile(size_t index) {
  const auto& k = kKinds[index % kKinds.size()];
  // The number counts devices of one kind, so (kind, number) and thus the name is unique.
  const size_t number = index / kKinds.size() + 1;
  PeerProfile p;
  p.kind = k.kind;
  p.sdk_language = k.language;
  p.device_name = k.zones[0].empty() ? fmt::format("{}-{:03}", k.kind, number)
                                     : fmt::format("{}-{}-{:03}", k.kind, pick(k.zones, mix(index, 1)), number);
  JsonWriter w;
  w.begin_object();
  w.key("site").value(pick(kSites, mix(index, 2)));
  w.key("fleet").value(k.fleet);
  w.key("shift").value(pick(kShifts, mix(index, 3)));
  w.key("app").value(k.app);
  w.key("app_version").value(fmt::format("{}.{}.{}", k.app_major, mix(index, 4) % 3 + 4, mix(index, 5) % 12));
  w.key("asset_tag").value(fmt::format("AT-{:06}", index + 1));
  w.key("hardware").begin_object();
  w.key("model").value(pick(k.models, mix(index, 6)));
  w.key("battery_powered").value(k.kind != "controller" && k.kind != "kiosk");
  w.end_object();
  w.end_object();
  p.metadata_json = w.take();
  return p;
}

fs::path peer_directory(const fs::path& data_dir, size_t index) {
  return data_dir / fmt::format("peer-{:05}", index);
}

void validate(const FleetOptions& o) {
  if (o.big_peer_urls.empty()) {
    throw Error(ErrorCode::invalid_argument, "--big-peer: a Big Peer URL is required (ws://host:port/sync)");
  }
  for (const auto& url : o.big_peer_urls) {
    try {
      sync::parse_websocket_url(url);
    } catch (const Error& e) {
      throw Error(ErrorCode::invalid_argument, fmt::format("--big-peer: {}", e.what()));
    }
  }
  if (o.app_id.empty()) throw Error(ErrorCode::invalid_argument, "--app-id must not be empty");
  if (o.app_token.empty()) throw Error(ErrorCode::invalid_argument, "--app-token must not be empty");
  if (o.peers < 1) throw Error(ErrorCode::invalid_argument, "--peers must be at least 1");
  if (o.interval < kMinCollectionInterval) {
    throw Error(ErrorCode::invalid_argument, fmt::format("--interval must be at least {} s (got {} ms)",
                                                         kMinCollectionInterval.count() / 1000, o.interval.count()));
  }
  if (o.duration && o.duration->count() < 1) throw Error(ErrorCode::invalid_argument, "--duration must be at least 1 s");
  if (!(o.log_rate >= 0.0 && o.log_rate <= 1000.0)) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("--log-rate must be between 0 and 1000 lines per second (got {})", o.log_rate));
  }
  if (o.open_threads < 1) throw Error(ErrorCode::invalid_argument, "--open-threads must be at least 1");
}

uint64_t ensure_open_file_limit(size_t peers) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    throw Error(ErrorCode::io, fmt::format("cannot read the open file limit: {}", std::strerror(errno)));
  }
  const uint64_t needed = kFilesForProcess + static_cast<uint64_t>(peers) * kFilesPerPeer;
  if (limit.rlim_cur < needed && limit.rlim_cur != limit.rlim_max) {
    rlimit raised = limit;
    // An unlimited hard limit cannot be the soft one for files; ask for what is needed instead.
    raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? needed : limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur < needed) {
    const uint64_t fit = limit.rlim_cur > kFilesForProcess ? (limit.rlim_cur - kFilesForProcess) / kFilesPerPeer : 0;
    throw Error(
        ErrorCode::io,
        fmt::format("{} peers need about {} open files ({} per peer plus {} for the process) but the open file limit is {} "
                    "(hard limit {}); raise the hard limit (`ulimit -Hn {}` as root, LimitNOFILE= in a systemd unit, "
                    "--ulimit nofile= for docker) or run at most {} peers",
                    peers, needed, kFilesPerPeer, kFilesForProcess, limit.rlim_cur,
                    limit.rlim_max == RLIM_INFINITY ? std::string("unlimited") : std::to_string(limit.rlim_max), needed, fit));
  }
  return limit.rlim_cur;
}

uint64_t resident_set_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;  // reported in kB
  }
  return 0;
}

// One open peer and what the fleet remembers about it.
struct Fleet::Peer {
  size_t index = 0;
  PeerProfile profile;
  std::shared_ptr<Ditto> ditto;
  uint64_t base_sequence = 0;  // SPI sequence before this fleet's first write, for spi_writes
  std::mt19937_64 rng;         // only the peer's own log task uses it, and those never overlap
};

// Timers on the shared runtime that make each peer write app log lines at about `rate` per second;
// no thread per peer. Each peer has at most one pending timer, so its lines never overlap.
class Fleet::LogWriters : public std::enable_shared_from_this<LogWriters> {
 public:
  LogWriters(std::shared_ptr<Runtime> runtime, double rate)
      : scheduler_(std::make_shared<AsioScheduler>(std::move(runtime))), rate_(rate) {}

  // Starts `peer`'s writer with a random phase, so peers opened together do not write in bursts.
  void add(const std::shared_ptr<Peer>& peer) {
    if (rate_ <= 0) return;
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    const double period = 1.0 / rate_;
    schedule_locked(peer, std::uniform_real_distribution<double>(0, period)(peer->rng));
  }

  // Cancels every pending line and waits for the ones being written, so none follow.
  void stop() {
    std::unique_lock lock(mutex_);
    stopping_ = true;
    for (const auto& [index, id] : timers_) scheduler_->cancel(id);
    timers_.clear();
    idle_.wait(lock, [&] { return in_flight_ == 0; });
  }

  [[nodiscard]] uint64_t lines() const { return lines_; }

 private:
  void schedule_locked(const std::shared_ptr<Peer>& peer, double delay_seconds) {
    const auto when = scheduler_->clock()->now() +
                      std::chrono::duration_cast<TimePoint::duration>(std::chrono::duration<double>(delay_seconds));
    timers_[peer->index] = scheduler_->call_at(when, [weak = weak_from_this(), peer] {
      if (auto self = weak.lock()) self->write(peer);
    });
  }

  void write(const std::shared_ptr<Peer>& peer) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      timers_.erase(peer->index);
      ++in_flight_;
    }
    const auto [level, message] = app_log_line(peer->index % kKinds.size(), peer->rng);
    try {
      peer->ditto->log(level, "app", message);
      ++lines_;
    } catch (const Error&) {
      // Closed under us: stop() is on its way and will not reschedule.
    }
    // Uniform jitter of +-50% keeps the mean rate while stopping peers from marching in step.
    const double delay = std::uniform_real_distribution<double>(0.5, 1.5)(peer->rng) / rate_;
    std::lock_guard lock(mutex_);
    --in_flight_;
    if (!stopping_) schedule_locked(peer, delay);
    idle_.notify_all();
  }

  std::shared_ptr<Scheduler> scheduler_;
  const double rate_;
  std::atomic<uint64_t> lines_{0};
  std::mutex mutex_;
  std::condition_variable idle_;
  bool stopping_ = false;
  size_t in_flight_ = 0;
  std::map<size_t, Scheduler::TimerId> timers_;  // peer index -> its pending line
};

Fleet::Fleet(FleetOptions options) : options_(std::move(options)) {
  validate(options_);
  runtime_ = Runtime::shared();
  log_writers_ = std::make_shared<LogWriters>(runtime_, options_.log_rate);
  data_dir_ = options_.data_dir;
}

Fleet::~Fleet() {
  try {
    stop();
  } catch (...) {
    // A destructor must not throw; stop() only fails if closing a peer does, which it should not.
  }
}

void Fleet::start() {
  std::lock_guard life(lifecycle_);
  if (stopped_ || stop_requested_) throw Error(ErrorCode::closed, "the fleet was stopped (or failed to start); make a new one");
  if (started_) return;
  started_ = true;
  ensure_open_file_limit(options_.peers);

  fs::path dir = options_.data_dir;
  if (dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "smallpeer-fleet-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw Error(ErrorCode::io, fmt::format("cannot make a temporary fleet directory {}: {}", pattern, std::strerror(errno)));
    }
    dir = pattern;
    temporary_dir_ = true;
  } else {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error(ErrorCode::io, fmt::format("cannot create fleet data directory {}: {}", dir.string(), ec.message()));
  }
  {
    std::lock_guard lock(peers_mutex_);
    data_dir_ = dir;
    peers_.assign(options_.peers, nullptr);
  }

  try {
    parallel_for(options_.peers, options_.open_threads, &stop_requested_, [&](size_t index) {
      auto peer = open_peer(index, dir);
      {
        std::lock_guard lock(peers_mutex_);
        peers_[index] = peer;
      }
      log_writers_->add(peer);
    });
  } catch (...) {
    shut_down_locked();  // a half-open fleet is of no use; the caller makes a new one
    throw;
  }
}

std::shared_ptr<Fleet::Peer> Fleet::open_peer(size_t index, const fs::path& data_dir) {
  auto peer = std::make_shared<Peer>();
  peer->index = index;
  peer->profile = peer_profile(index);
  peer->rng.seed(mix(index, 7));
  DittoConfig config;
  config.persistence_dir = peer_directory(data_dir, index);
  config.identity = {IdentityConfig::Kind::online_playground, options_.app_id, options_.app_token};
  config.device_name = peer->profile.device_name;
  config.sdk_language = peer->profile.sdk_language;
  try {
    peer->ditto = Ditto::open(config);
  } catch (const Error& e) {
    throw Error(e.code(), fmt::format("cannot open fleet peer {}: {}", index, e.what()));
  }
  try {
    auto& spi = peer->ditto->small_peer_info();
    // A peer reopened with SPI already enabled wrote one document while opening: count it too.
    const uint64_t sequence = spi.sequence();
    peer->base_sequence = spi.enabled() && sequence > 0 ? sequence - 1 : sequence;
    spi.set_metadata_json(peer->profile.metadata_json);
    spi.set_sync_scope(SyncScope::big_peer_only);
    spi.set_interval(options_.interval);
    peer->ditto->set_transport_config(transport_config_json(options_.big_peer_urls));
    peer->ditto->start_sync();
    // Enabled last, so the first document already carries the metadata and transport config.
    spi.set_enabled(true);
  } catch (const Error& e) {
    peer->ditto->close();
    throw Error(e.code(),
                fmt::format("cannot configure fleet peer {} ({}): {}", index, config.persistence_dir.string(), e.what()));
  }
  return peer;
}

std::vector<std::shared_ptr<Fleet::Peer>> Fleet::open_peers() const {
  std::lock_guard lock(peers_mutex_);
  std::vector<std::shared_ptr<Peer>> open;
  open.reserve(peers_.size());
  for (const auto& p : peers_) {
    if (p) open.push_back(p);
  }
  return open;
}

FleetStats Fleet::stats() const {
  {
    std::lock_guard lock(peers_mutex_);
    if (final_stats_) return *final_stats_;
  }
  FleetStats s;
  for (const auto& p : open_peers()) {
    ++s.opened;
    if (p->ditto->presence().snapshot().connected_to_big_peer()) ++s.connected;
    try {
      s.spi_writes += p->ditto->small_peer_info().sequence() - p->base_sequence;
    } catch (const Error&) {
      // Closed by a concurrent stop(): its final counters will include this peer.
    }
  }
  s.log_lines = log_writers_->lines();
  return s;
}

uint64_t Fleet::collect_all_once(size_t threads) {
  const auto peers = open_peers();
  std::atomic<uint64_t> written{0};
  parallel_for(peers.size(), threads == 0 ? runtime_->thread_count() : threads, nullptr, [&](size_t i) {
    try {
      peers[i]->ditto->small_peer_info().collect_now();
      ++written;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::closed) throw;  // a peer closed by stop() simply is not counted
    }
  });
  return written;
}

void Fleet::stop() {
  stop_requested_ = true;
  std::lock_guard life(lifecycle_);  // start() sees stop_requested_ between peers and returns
  shut_down_locked();
}

void Fleet::shut_down_locked() {
  if (stopped_) return;
  stopped_ = true;
  log_writers_->stop();
  FleetStats last = stats();  // before closing: a closed peer no longer reports its sequence
  last.connected = 0;
  last.opened = 0;
  std::vector<std::shared_ptr<Peer>> peers = open_peers();
  {
    std::lock_guard lock(peers_mutex_);
    peers_.clear();
    final_stats_ = last;
  }
  // Closing waits for sync sessions and flushes logs; doing a few at once keeps 1,000 peers quick.
  parallel_for(peers.size(), options_.open_threads, nullptr, [&](size_t i) { peers[i]->ditto->close(); });
  if (temporary_dir_) {
    std::error_code ec;
    fs::remove_all(data_dir(), ec);  // best effort: a leftover temporary directory is harmless
  }
}

fs::path Fleet::data_dir() const {
  std::lock_guard lock(peers_mutex_);
  return data_dir_;
}

std::vector<std::shared_ptr<Ditto>> Fleet::peers() const {
  std::vector<std::shared_ptr<Ditto>> out;
  for (const auto& p : open_peers()) out.push_back(p->ditto);
  return out;
}

BackgroundStart::BackgroundStart(Fleet& fleet) : fleet_(fleet) {
  thread_ = std::thread([this] {
    try {
      fleet_.start();
    } catch (...) {
      error_ = std::current_exception();
    }
    done_ = true;
  });
}

BackgroundStart::~BackgroundStart() {
  if (!thread_.joinable()) return;
  fleet_.stop();
  thread_.join();
}

void BackgroundStart::finish() {
  if (thread_.joinable()) thread_.join();
  if (error_) std::rethrow_exception(error_);
}

}  // namespace smallpeer::tools
