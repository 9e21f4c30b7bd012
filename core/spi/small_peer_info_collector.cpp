#include "spi/small_peer_info_collector.h"

#include <fmt/format.h>
#include <simdjson.h>

#include "common/error.h"
#include "common/json.h"
#include "log/log.h"
#include "presence/presence.h"
#include "spi/metadata.h"
#include "spi/spi_signature.h"
#include "store/store.h"

namespace smallpeer {

namespace {
constexpr size_t kMaxDeviceNameBytes = 256;
constexpr std::chrono::milliseconds kScopeChangeDebounce{100};

// The sequence and time of the document a previous session wrote, so numbering continues.
void read_previous(const Store& store, const std::string& peer_key, uint64_t& sequence, std::optional<TimePoint>& written) {
  const auto doc = store.get(kSmallPeerInfoCollection, peer_key);
  if (!doc) return;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(doc->json).get(root)) return;
  uint64_t seq = 0;
  if (!root["sequence"].get(seq)) sequence = seq;
  std::string_view ts;
  if (!root["last_updated_at"].get(ts)) written = parse_rfc3339(ts);
}
}  // namespace

SmallPeerInfoCollector::SmallPeerInfoCollector(SpiSources sources, std::shared_ptr<Scheduler> scheduler)
    : src_(std::move(sources)), scheduler_(std::move(scheduler)), os_(read_os_facts()) {
  settings_ = load_spi_settings(src_.store, src_.default_device_name);
  scope_for_rules_ = settings_.sync_scope;
  share_for_rules_ = settings_.share_with_admin_devices;
  read_previous(src_.store, src_.peer_key, sequence_, last_write_);
  counts_observer_ = src_.store.observe_user_collections([stale = counts_stale_](const Change&) { *stale = true; });
}

SmallPeerInfoCollector::~SmallPeerInfoCollector() {
  shutdown();
}

void SmallPeerInfoCollector::start() {
  std::lock_guard write(write_mutex_);
  std::lock_guard state(state_mutex_);
  if (closed_ || !settings_.enabled) return;
  write_locked();
  schedule_locked(*last_write_ + settings_.interval);
}

void SmallPeerInfoCollector::shutdown() {
  {
    std::lock_guard state(state_mutex_);
    if (closed_) return;
    closed_ = true;
    cancel_timers_locked();
    if (counts_observer_) src_.store.unobserve(*counts_observer_);
    counts_observer_.reset();
  }
  // Wait for a collection that a timer started before we closed.
  std::lock_guard write(write_mutex_);
}

void SmallPeerInfoCollector::ensure_open() const {
  if (closed_) throw Error(ErrorCode::closed, "the Ditto instance is closed");
}

bool SmallPeerInfoCollector::enabled() const {
  std::lock_guard state(state_mutex_);
  ensure_open();
  return settings_.enabled;
}

void SmallPeerInfoCollector::set_enabled(bool enabled) {
  std::lock_guard write(write_mutex_);
  std::lock_guard state(state_mutex_);
  ensure_open();
  if (settings_.enabled == enabled) return;
  update_settings_locked([&](SpiSettings& s) { s.enabled = enabled; });
  if (enabled) {
    write_locked();
    schedule_locked(*last_write_ + settings_.interval);
    src_.log.log(LogLevel::info, "spi", "small peer info enabled");
  } else {
    cancel_timers_locked();
    src_.log.log(LogLevel::info, "spi", "small peer info disabled");
  }
}

SyncScope SmallPeerInfoCollector::sync_scope() const {
  std::lock_guard state(state_mutex_);
  ensure_open();
  return settings_.sync_scope;
}

SyncScope SmallPeerInfoCollector::current_sync_scope() const {
  // Lock-free: the sync engine asks from inside store callbacks that may run under state_mutex_.
  return scope_for_rules_.load();
}

bool SmallPeerInfoCollector::share_with_admin_devices() const {
  std::lock_guard state(state_mutex_);
  ensure_open();
  return settings_.share_with_admin_devices;
}

void SmallPeerInfoCollector::set_share_with_admin_devices(bool share) {
  {
    std::lock_guard state(state_mutex_);
    ensure_open();
    if (settings_.share_with_admin_devices == share) return;
    update_settings_locked([&](SpiSettings& s) { s.share_with_admin_devices = share; });
    share_for_rules_ = share;
  }
  src_.log.log(LogLevel::info, "spi", fmt::format("small peer info sharing with admin devices {}", share ? "on" : "off"));
  // An admin device already connected gets the document soon, not one interval later.
  if (share) request_write(kScopeChangeDebounce);
}

void SmallPeerInfoCollector::set_sync_scope(SyncScope scope) {
  require_spi_scope(scope);
  {
    std::lock_guard state(state_mutex_);
    ensure_open();
    if (settings_.sync_scope == scope) return;
    update_settings_locked([&](SpiSettings& s) { s.sync_scope = scope; });
    scope_for_rules_ = scope;
  }
  src_.log.log(LogLevel::info, "spi", fmt::format("small peer info sync scope set to {}", to_string(scope)));
  // The document reports its scope, and a switch to BigPeerOnly should reach the Big Peer now,
  // not one interval later.
  request_write(kScopeChangeDebounce);
}

std::string SmallPeerInfoCollector::metadata_json() const {
  std::lock_guard state(state_mutex_);
  ensure_open();
  return settings_.metadata_json;
}

void SmallPeerInfoCollector::set_metadata_json(std::string_view json) {
  std::string minified = validate_metadata(json);  // throws before anything changes
  std::lock_guard state(state_mutex_);
  ensure_open();
  update_settings_locked([&](SpiSettings& s) { s.metadata_json = std::move(minified); });
}

std::string SmallPeerInfoCollector::device_name() const {
  std::lock_guard state(state_mutex_);
  ensure_open();
  return settings_.device_name;
}

void SmallPeerInfoCollector::set_device_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxDeviceNameBytes || name.find('\0') != std::string_view::npos) {
    throw Error(
        ErrorCode::invalid_argument,
        fmt::format("device name must be 1 to {} bytes without NUL characters (got {} bytes)", kMaxDeviceNameBytes, name.size()));
  }
  std::lock_guard state(state_mutex_);
  ensure_open();
  update_settings_locked([&](SpiSettings& s) { s.device_name = std::string(name); });
}

std::chrono::milliseconds SmallPeerInfoCollector::interval() const {
  std::lock_guard state(state_mutex_);
  ensure_open();
  return settings_.interval;
}

void SmallPeerInfoCollector::set_interval(std::chrono::milliseconds interval) {
  if (interval < kMinCollectionInterval) {
    throw Error(ErrorCode::invalid_argument, fmt::format("collection interval must be at least {} ms (got {} ms)",
                                                         kMinCollectionInterval.count(), interval.count()));
  }
  std::lock_guard state(state_mutex_);
  ensure_open();
  update_settings_locked([&](SpiSettings& s) { s.interval = interval; });
  if (timer_) {
    scheduler_->cancel(*timer_);
    timer_.reset();
    schedule_locked(*last_write_ + interval);
  }
}

std::string SmallPeerInfoCollector::collect_now() {
  std::lock_guard write(write_mutex_);
  std::lock_guard state(state_mutex_);
  ensure_open();
  return write_locked();
}

std::string SmallPeerInfoCollector::build_document() const {
  std::lock_guard state(state_mutex_);
  ensure_open();
  return build_document_locked(sequence_ + 1);
}

std::optional<std::string> SmallPeerInfoCollector::current_document() const {
  // Under the lock, so shutdown() (which the store's owner calls first) cannot race the read.
  std::lock_guard state(state_mutex_);
  ensure_open();
  if (auto doc = src_.store.get(kSmallPeerInfoCollection, src_.peer_key)) return doc->json;
  return std::nullopt;
}

uint64_t SmallPeerInfoCollector::sequence() const {
  std::lock_guard state(state_mutex_);
  return sequence_;
}

void SmallPeerInfoCollector::request_write(std::chrono::milliseconds debounce) {
  std::lock_guard state(state_mutex_);
  if (closed_ || !settings_.enabled || debounce_timer_) return;
  std::weak_ptr<SmallPeerInfoCollector> weak = weak_from_this();
  debounce_timer_ = scheduler_->call_at(scheduler_->clock()->now() + debounce, [weak] {
    auto self = weak.lock();
    if (!self) return;
    std::lock_guard write(self->write_mutex_);
    std::lock_guard state(self->state_mutex_);
    if (self->closed_ || !self->debounce_timer_) return;
    self->debounce_timer_.reset();
    if (!self->settings_.enabled) return;
    try {
      self->write_locked();
    } catch (const std::exception& e) {
      self->src_.log.log(LogLevel::error, "spi", fmt::format("small peer info write failed: {}", e.what()));
    }
  });
}

void SmallPeerInfoCollector::cancel_timers_locked() {
  if (timer_) scheduler_->cancel(*timer_);
  if (debounce_timer_) scheduler_->cancel(*debounce_timer_);
  timer_.reset();
  debounce_timer_.reset();
}

void SmallPeerInfoCollector::schedule_locked(TimePoint when) {
  std::weak_ptr<SmallPeerInfoCollector> weak = weak_from_this();
  // Timer ids are unique, so a task whose id is no longer timer_ was cancelled or replaced.
  auto id = std::make_shared<Scheduler::TimerId>(0);
  *id = scheduler_->call_at(when, [weak, id] {
    if (auto self = weak.lock()) {
      std::lock_guard write(self->write_mutex_);
      std::lock_guard state(self->state_mutex_);
      if (self->closed_ || self->timer_ != *id) return;
      self->timer_.reset();
      self->on_timer();
    }
  });
  timer_ = *id;
}

void SmallPeerInfoCollector::on_timer() {
  if (!settings_.enabled) return;
  try {
    write_locked();
  } catch (const std::exception& e) {
    // A failed cycle (disk full, say) is logged; the schedule goes on.
    src_.log.log(LogLevel::error, "spi", fmt::format("small peer info write failed: {}", e.what()));
  }
  const TimePoint base = last_write_.value_or(scheduler_->clock()->now());
  schedule_locked(std::max(base + settings_.interval, scheduler_->clock()->now()));
}

std::string SmallPeerInfoCollector::write_locked() {
  const uint64_t next = sequence_ + 1;
  // Signed over its own version, which the store stamps: sealed under the store's lock.
  const PeerIdentity* identity = src_.identity;
  std::string doc = src_.store
                        .upsert_sealed(kSmallPeerInfoCollection, build_document_locked(next),
                                       [identity](const Version& version, std::string_view json) {
                                         return identity ? seal_spi_document(*identity, version.hlc, json) : std::string(json);
                                       })
                        .json;
  sequence_ = next;
  last_write_ = scheduler_->clock()->now();
  src_.log.log(LogLevel::debug, "spi", fmt::format("wrote small peer info document, sequence {}", next));
  return doc;
}

void SmallPeerInfoCollector::note_transport_config(const std::string& config_json) {
  JsonWriter event;
  event.begin_object()
      .key("cfg")
      .raw(config_json)
      .key("timestamp")
      .value(format_rfc3339(scheduler_->clock()->now()))
      .end_object();
  std::lock_guard lock(state_mutex_);
  transport_config_events_.push_back(event.take());
  while (transport_config_events_.size() > kMaxTransportConfigEvents) transport_config_events_.pop_front();
}

std::string SmallPeerInfoCollector::build_document_locked(uint64_t sequence) const {
  const SpiSettings& s = settings_;
  const auto presence = src_.presence.snapshot();
  JsonWriter w;
  w.begin_object();
  w.key("_id").value(src_.peer_key);
  w.key("schema_version").value(kSpiSchemaVersion);
  w.key("version").value(kSpiSchemaVersion);  // Ditto's name for the same number (README "The document against Ditto's")
  w.key("sequence").value(sequence);
  w.key("last_updated_at").value(format_rfc3339(scheduler_->clock()->now()));
  // How often this device reports, so a reader can tell a late report (the Big Peer's "stale").
  w.key("collection_interval_ms").value(static_cast<int64_t>(s.interval.count()));
  w.key("device_name").value(s.device_name);
  w.key("ditto_sdk_language").value(src_.sdk_language);
  w.key("ditto_sdk_platform").value(sdk_platform());
  w.key("ditto_sdk_version").value(sdk_version());
  w.key("ditto_sdk_commit").value(sdk_commit());
  w.key("os")
      .begin_object()
      .key("name")
      .value(os_.name)
      .key("version")
      .value(os_.version)
      .key("arch")
      .value(os_.arch)
      .end_object();
  w.key("sync_scope").value(to_string(s.sync_scope));
  w.key("is_connected_to_big_peer").value(presence.connected_to_big_peer());

  w.key("connections_by_transport").begin_object();
  for (const auto& [transport, count] : presence.connections_by_transport()) w.key(to_string(transport)).value(uint64_t{count});
  w.end_object();

  w.key("connected_peers");
  write_connected_peers(w, presence.peers, kMaxListedPeers);
  w.key("connected_peers_truncated").value(presence.peers.size() > kMaxListedPeers);
  w.key("big_peer_connection_history");
  write_big_peer_history(w, presence.big_peer_history);

  const auto now = scheduler_->clock()->now();
  if (!disk_usage_at_ || now - *disk_usage_at_ >= kDiskUsageMaxAge || now < *disk_usage_at_) {
    const auto space = file_system_space(src_.persistence_dir);
    uint64_t store_bytes = 0;
    for (const auto& f : src_.store.files()) {
      std::error_code ec;
      const auto size = std::filesystem::file_size(f, ec);
      if (!ec) store_bytes += size;
    }
    JsonWriter usage;
    usage.begin_object()
        .key("device_available")
        .value(space.available)
        .key("device_total")
        .value(space.total)
        .key("ditto_store")
        .value(store_bytes)
        .key("ditto_logs")
        .value(src_.log.total_bytes())
        .key("ditto_auth")
        .value([&] {
          std::error_code ec;
          const auto size = std::filesystem::file_size(src_.identity_file, ec);
          return ec ? uint64_t{0} : static_cast<uint64_t>(size);
        }())
        .key("ditto_attachments")
        .value(uint64_t{0})  // SmallPeer has no attachments
        .key("ditto_total")
        .value(directory_bytes(src_.persistence_dir))
        .end_object();
    disk_usage_json_ = usage.take();
    disk_usage_at_ = now;
  }
  w.key("device_disk_usage").raw(disk_usage_json_);

  if (counts_stale_->exchange(false)) {
    try {
      user_collection_counts_ = src_.store.user_collection_counts(kMaxListedCollections + 1);
    } catch (...) {
      *counts_stale_ = true;  // read again next time
      throw;
    }
  }
  const auto& counts = user_collection_counts_;
  w.key("store").begin_object().key("user_collections").begin_object();
  size_t listed = 0;
  for (const auto& [name, n] : counts) {
    if (listed++ == kMaxListedCollections) break;
    w.key(name).begin_object().key("num_docs").value(n).end_object();
  }
  w.end_object().key("truncated").value(counts.size() > kMaxListedCollections).end_object();

  w.key("logs_config").raw(src_.logs_config_json());
  w.key("metadata").raw(s.metadata_json);
  w.key("transport_config").raw(src_.transport_config_json());
  w.key("transport_config_change_events").begin_array();
  for (const auto& event : transport_config_events_) w.raw(event);
  w.end_array();
  // Ditto's fields with no source in SmallPeer yet: written as null so readers of Ditto's shape find them.
  w.key("peer_metadata").null();
  w.key("identity_service_metadata").null();
  w.end_object();
  return w.take();
}

}  // namespace smallpeer
