#include "ditto/ditto.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "common/error.h"
#include "common/json.h"
#include "identity/identity.h"
#include "query/query.h"
#include "spi/system_facts.h"
#include "sync/session.h"

namespace smallpeer {

namespace {
constexpr auto kLockFile = "smallpeer.lock";
constexpr auto kIdentityFile = "peer_identity.key";
constexpr auto kStoreFile = "store.sqlite3";
constexpr auto kLogDirectory = "logs";
constexpr auto kLogOutboxDirectory = "log-outbox";
constexpr auto kTransportConfigSetting = "sync.transport_config";
constexpr std::string_view kScopeSettingPrefix = "sync.scope/";
constexpr std::chrono::milliseconds kConnectivityDebounce{1000};

void validate(const DittoConfig& c) {
  if (c.persistence_dir.empty()) throw Error(ErrorCode::invalid_argument, "persistence directory must not be empty");
  if (c.identity.kind == IdentityConfig::Kind::online_playground) {
    if (c.identity.app_id.empty()) throw Error(ErrorCode::invalid_argument, "online playground identity needs an app id");
    if (c.identity.token.empty()) throw Error(ErrorCode::invalid_argument, "online playground identity needs a token");
  }
  static constexpr std::string_view kLanguages[] = {"Swift", "Kotlin", "Java", "JavaScript", "Python", "C", "C++"};
  if (std::find(std::begin(kLanguages), std::end(kLanguages), c.sdk_language) == std::end(kLanguages)) {
    throw Error(
        ErrorCode::invalid_argument,
        fmt::format("unknown SDK language '{}'; expected Swift, Kotlin, Java, JavaScript, Python, C or C++", c.sdk_language));
  }
}

// Takes an exclusive flock on the directory's lock file. flock locks belong to the open file
// description, so a second open in the same process conflicts just like one in another process.
int lock_directory(const std::filesystem::path& dir) {
  const auto path = dir / kLockFile;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw Error(ErrorCode::io, fmt::format("cannot write persistence directory {}: {}", dir.string(), std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      throw Error(ErrorCode::locked,
                  fmt::format("persistence directory {} is in use by another open Ditto instance", dir.string()));
    }
    throw Error(ErrorCode::io, fmt::format("cannot lock persistence directory {}: {}", dir.string(), std::strerror(err)));
  }
  return fd;
}
}  // namespace

template <typename F>
decltype(auto) Ditto::guarded(F&& f) const {
  if (closing_) throw Error(ErrorCode::closed, "the Ditto instance is closed");
  std::shared_lock lock(lifecycle_);
  if (closed_) throw Error(ErrorCode::closed, "the Ditto instance is closed");
  return f();
}

namespace {
// The instances open in this process, for the process-wide log export. Weak: closing or releasing
// an instance needs nothing from here; expired entries are pruned on each open.
std::mutex open_instances_mutex;
std::vector<std::weak_ptr<Ditto>> open_instances;
}  // namespace

std::shared_ptr<Ditto> Ditto::open(DittoConfig config) {
  validate(config);
  auto ditto = std::shared_ptr<Ditto>(new Ditto(std::move(config)));
  std::lock_guard lock(open_instances_mutex);
  std::erase_if(open_instances, [](const auto& weak) { return weak.expired(); });
  open_instances.push_back(ditto);
  return ditto;
}

LogExportResult Ditto::export_open_instances_logs(const std::filesystem::path& out, const LogFilter& filter) {
  std::vector<std::shared_ptr<Ditto>> live;
  {
    std::lock_guard lock(open_instances_mutex);
    for (const auto& weak : open_instances) {
      if (auto d = weak.lock()) live.push_back(std::move(d));
    }
  }
  // Each open instance's lifecycle lock is held (shared) through the export, so none of the logs
  // is closed under it; an instance closing meanwhile is left out.
  std::vector<std::shared_lock<std::shared_mutex>> locks;
  std::vector<EngineLog*> logs;
  for (const auto& d : live) {
    if (d->closing_) continue;
    std::shared_lock lock(d->lifecycle_);
    if (d->closed_) continue;
    logs.push_back(d->log_.get());
    locks.push_back(std::move(lock));
  }
  return EngineLog::export_gzip(logs, out, filter);
}

Ditto::Ditto(DittoConfig config) : config_(std::move(config)) {
  const auto& dir = config_.persistence_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(ErrorCode::io, fmt::format("cannot create persistence directory {}: {}", dir.string(), ec.message()));
  lock_fd_ = lock_directory(dir);
  try {
    identity_ = PeerIdentity::load_or_create(dir / kIdentityFile);
    peer_key_ = identity_.peer_key();
    scheduler_ = config_.scheduler ? config_.scheduler : std::make_shared<AsioScheduler>();
    log_ = std::make_unique<EngineLog>(dir / kLogDirectory, peer_key_, scheduler_->clock(), config_.log_limits);
    log_outbox_ = std::make_unique<sync::LogOutbox>(dir / kLogOutboxDirectory, *log_);
    store_ = Store::open(
        dir / kStoreFile,
        std::make_shared<HybridLogicalClock>(config_.clock ? config_.clock : scheduler_->clock(), config_.max_clock_offset),
        peer_key_, StoreOptions::for_ditto());
    spi_ = std::make_shared<SmallPeerInfoCollector>(SpiSources{
                                                        .store = *store_,
                                                        .log = *log_,
                                                        .presence = presence_,
                                                        .peer_key = peer_key_,
                                                        .persistence_dir = dir,
                                                        .identity_file = dir / kIdentityFile,
                                                        .sdk_language = config_.sdk_language,
                                                        .default_device_name = config_.device_name.value_or(host_name()),
                                                        .logs_config_json =
                                                            [] {
                                                              const auto& out = UserLogOutput::instance();
                                                              JsonWriter w;
                                                              w.begin_object()
                                                                  .key("enabled")
                                                                  .value(out.enabled())
                                                                  .key("minimum_level")
                                                                  .value(to_string(out.minimum_level()))
                                                                  .end_object();
                                                              return w.take();
                                                            },
                                                        .transport_config_json = [this] { return transport_json_unguarded(); },
                                                        .identity = &identity_,
                                                    },
                                                    scheduler_);
    // A device name given at open wins over the persisted one.
    if (config_.device_name) spi_->set_device_name(*config_.device_name);
    load_scopes();
    admin_ = std::make_unique<admin::AdminTrust>(*store_, config_.identity.app_id, peer_key_);
    sync_ = std::make_unique<sync::SyncEngine>(sync::SyncDependencies{
        .store = *store_,
        .log = *log_,
        .presence = presence_,
        .identity = identity_,
        .app_id = config_.identity.app_id,
        .app_token = config_.identity.token,
        .sdk_language = config_.sdk_language,
        .device_name = [this] { return spi_->device_name(); },
        .scope_of = [this](std::string_view collection) { return scope_of(collection); },
        .log_outbox = *log_outbox_,
        .admin = *admin_,
        .share_spi_with_admin = [this] { return spi_->current_share_with_admin_devices(); },
        .clock = scheduler_->clock(),
    });
    if (auto saved = store_->setting(kTransportConfigSetting)) sync_->set_config(sync::TransportConfig::parse(*saved));
    spi_->note_transport_config(transport_json_unguarded());
    // Reaching or losing the Big Peer is news the fleet should see soon, but not once per flap.
    presence_.set_big_peer_listener([weak = std::weak_ptr<SmallPeerInfoCollector>(spi_)] {
      if (auto spi = weak.lock()) spi->request_write(kConnectivityDebounce);
    });
    log_->log(LogLevel::info, "ditto", fmt::format("opened {} as {}", dir.string(), peer_key_));
    spi_->start();
  } catch (...) {
    if (spi_) spi_->shutdown();
    ::close(lock_fd_);
    throw;
  }
}

Ditto::~Ditto() {
  close();
}

void Ditto::close() {
  closing_ = true;
  std::unique_lock lock(lifecycle_);  // waits for calls in progress
  if (closed_) return;
  closed_ = true;
  sync_->stop();
  presence_.set_big_peer_listener(nullptr);
  spi_->shutdown();
  log_->log(LogLevel::info, "ditto", "closed");
  log_->flush();
  store_.reset();
  ::close(lock_fd_);
  lock_fd_ = -1;
}

const std::string& Ditto::peer_key() const {
  return guarded([&]() -> const std::string& { return peer_key_; });
}

bool Ditto::is_closed() const {
  std::shared_lock lock(lifecycle_);
  return closed_;
}

SmallPeerInfoCollector& Ditto::small_peer_info() {
  return guarded([&]() -> SmallPeerInfoCollector& { return *spi_; });
}

namespace {
void refuse_system_write(std::string_view collection) {
  if (Store::is_system_collection(collection)) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("collection '{}' is a system collection (\"__\" prefix); apps cannot write to it", collection));
  }
}
}  // namespace

Document Ditto::upsert(std::string_view collection, std::string_view json) {
  return guarded([&] {
    refuse_system_write(collection);
    return store_->upsert(collection, json);
  });
}

std::optional<Document> Ditto::get(std::string_view collection, std::string_view id) {
  return guarded([&] {
    Store::validate_collection_name(collection);
    return store_->get(collection, id);
  });
}

Page Ditto::list(std::string_view collection, size_t limit, std::string_view after) {
  return guarded([&] {
    Store::validate_collection_name(collection);
    return store_->list(collection, limit, after);
  });
}

std::string Ditto::execute(std::string_view query, std::string_view args_json) {
  return guarded([&] { return to_json(execute_query(*store_, query, args_json)); });
}

bool Ditto::remove(std::string_view collection, std::string_view id) {
  return guarded([&] {
    refuse_system_write(collection);
    return store_->remove(collection, id);
  });
}

bool Ditto::is_admin_device() {
  return guarded([&] { return admin_->is_admin(scheduler_->clock()->now()); });
}

std::optional<std::string> Ditto::admin_signing_key() {
  return guarded([&]() -> std::optional<std::string> {
    const auto key = admin_->signing_key();
    return key ? std::optional(admin::signing_key_text(*key)) : std::nullopt;
  });
}

void Ditto::set_admin_signing_key(std::optional<std::string_view> key) {
  guarded([&] {
    std::optional<admin::SigningPublicKey> parsed;
    if (key) {
      parsed = admin::parse_signing_key(*key);
      if (!parsed) {
        throw Error(ErrorCode::invalid_argument,
                    "the admin signing key must be \"ask\" followed by 43 base64url characters (GET /api/v1/admin-devices "
                    "shows it as signing_key)");
      }
    }
    const bool changed = admin_->configure_signing_key(parsed, scheduler_->clock()->now());
    log_->log(LogLevel::info, "admin",
              parsed ? fmt::format("the app configured the admin signing key {}{}", *key,
                                   changed ? "; this device's admin standing changed" : "")
                     : std::string("the app cleared the admin signing key; the next Big Peer session teaches it again"));
  });
}

std::string Ditto::fleet_json() {
  return guarded([&] {
    // From the Big Peer and collected in the field: the newest version of each device's document.
    std::map<std::string, Document> newest;
    if (admin_->is_admin(scheduler_->clock()->now())) {
      for (const auto collection : {admin::kFleetCollection, admin::kCarriedCollection}) {
        Page page;
        do {
          page = store_->list(collection, 1000, page.next_after.value_or(""));
          for (auto& doc : page.documents) {
            auto [it, inserted] = newest.try_emplace(doc.id, doc);
            if (!inserted && it->second.version < doc.version) it->second = std::move(doc);
          }
        } while (page.next_after);
      }
    }
    std::string out = "[";
    for (const auto& [id, doc] : newest) {
      if (out.size() > 1) out += ',';
      out += doc.json;
    }
    return out + "]";
  });
}

std::optional<Document> Ditto::fleet_document(std::string_view id) const {
  std::optional<Document> newest;
  for (const auto collection : {admin::kFleetCollection, admin::kCarriedCollection}) {
    auto doc = store_->get(collection, id, false);
    if (doc && (!newest || newest->version < doc->version)) newest = std::move(doc);
  }
  return newest;
}

Store::ObserverId Ditto::observe_fleet(Store::Observer observer) {
  return guarded([&] {
    // One state per device, told in order: a change to either collection is answered with what the
    // fleet holds for that device now, read and told under one lock, and only when it differs from
    // what this observer was last told (an older carried copy changes nothing). So the last call an
    // observer gets for a device is its current document, however the writes on different threads
    // interleave.
    struct State {
      std::mutex mutex;
      std::map<std::string, Version, std::less<>> told;  // device -> version last told
    };
    auto state = std::make_shared<State>();
    return store_->observe_all([this, state, observer = std::move(observer)](const Change& change) {
      if (change.collection != admin::kFleetCollection && change.collection != admin::kCarriedCollection) return;
      std::lock_guard lock(state->mutex);
      const auto current = fleet_document(change.id);
      const auto told = state->told.find(change.id);
      if (!current) {
        if (told == state->told.end()) return;
        state->told.erase(told);
        observer(Change{.collection = std::string(admin::kFleetCollection),
                        .id = change.id,
                        .kind = ChangeKind::remove,
                        .version = change.version,
                        .stored_at = change.stored_at});
        return;
      }
      if (told != state->told.end() && told->second == current->version) return;
      state->told.insert_or_assign(change.id, current->version);
      observer(Change{.collection = std::string(admin::kFleetCollection),
                      .id = current->id,
                      .kind = ChangeKind::upsert,
                      .json = current->json,
                      .version = current->version,
                      .stored_at = current->stored_at});
    });
  });
}

std::vector<std::string> Ditto::collection_names(bool system) {
  return guarded([&] { return store_->collection_names(system); });
}

Store::ObserverId Ditto::observe(std::string collection, Store::Observer observer) {
  return guarded([&] {
    Store::validate_collection_name(collection);
    return store_->observe(std::move(collection), std::move(observer));
  });
}

void Ditto::unobserve(Store::ObserverId id) {
  std::shared_lock lock(lifecycle_);
  if (!closed_) store_->unobserve(id);
}

void Ditto::log(LogLevel level, std::string_view component, std::string_view message) {
  guarded([&] { log_->log(level, component, message); });
}

std::string Ditto::send_logs(const LogFilter& filter) {
  return guarded([&] {
    const auto entry = log_outbox_->create_device_bundle(filter);
    log_->log(LogLevel::info, "logs", fmt::format("log bundle {} ({} bytes) queued for the Big Peer", entry.id, entry.size));
    sync_->offer_log_bundle(entry);
    return entry.id;
  });
}

LogExportResult Ditto::export_logs(const std::filesystem::path& out, const LogFilter& filter) {
  return guarded([&] { return log_->export_gzip(out, filter); });
}

std::string Ditto::transport_config_json() const {
  return guarded([&] { return transport_json_unguarded(); });
}

std::string Ditto::transport_json_unguarded() const {
  if (!sync_) return sync::TransportConfig{}.to_json();
  return sync_->config_json();
}

void Ditto::set_transport_config(std::string_view json) {
  guarded([&] {
    auto config = sync::TransportConfig::parse(json);  // throws before anything changes
    const std::string normalized = config.to_json();
    store_->set_settings({{kTransportConfigSetting, normalized}});
    sync_->set_config(std::move(config));
    spi_->note_transport_config(transport_json_unguarded());
    log_->log(LogLevel::info, "sync", "transport config set: " + normalized);
  });
}

void Ditto::start_sync() {
  guarded([&] {
    if (config_.identity.kind == IdentityConfig::Kind::offline_playground && !sync_->config().big_peer_urls.empty()) {
      throw Error(ErrorCode::invalid_argument,
                  "an offline playground identity cannot sync with a Big Peer; open with an online playground identity (app id "
                  "and token)");
    }
    sync_->start();
  });
}

void Ditto::stop_sync() {
  guarded([&] { sync_->stop(); });
}

bool Ditto::sync_running() {
  return guarded([&] { return sync_->running(); });
}

uint16_t Ditto::lan_port() {
  return guarded([&] { return sync_->lan_port(); });
}

void Ditto::set_collection_scope(std::string_view collection, SyncScope scope) {
  guarded([&] {
    Store::validate_collection_name(collection);
    if (Store::is_system_collection(collection)) {
      throw Error(
          ErrorCode::invalid_argument,
          fmt::format("collection '{}' is a system collection; its sync scope cannot be set (use the small peer info scope)",
                      collection));
    }
    const SyncScope previous = scope_of(collection);
    store_->set_settings({{std::string(kScopeSettingPrefix) + std::string(collection), std::string(to_string(scope))}});
    {
      std::lock_guard lock(scopes_mutex_);
      scopes_.insert_or_assign(std::string(collection), scope);
    }
    if (!widens(previous, scope)) return;
    // Documents the old scope kept back were passed by every cursor (ours of the other peers'
    // documents, theirs of ours): new stored_ats put ours after every cursor, forgetting our
    // cursors asks the others for theirs again, and live sessions reconnect to do both now.
    const uint64_t restamped = store_->restamp_collection(collection);
    sync::forget_cursors(*store_, collection);
    sync_->rewind(std::string(collection));
    log_->log(LogLevel::info, "sync",
              fmt::format("sync scope of {} widened from {} to {}: {} document(s) eligible again", collection,
                          to_string(previous), to_string(scope), restamped));
  });
}

SyncScope Ditto::collection_scope(std::string_view collection) {
  return guarded([&] {
    Store::validate_collection_name(collection);
    return scope_of(collection);
  });
}

SyncScope Ditto::scope_of(std::string_view collection) const {
  if (collection == kSmallPeerInfoCollection) return spi_->current_sync_scope();
  if (Store::is_system_collection(collection)) return SyncScope::local_peer_only;
  std::lock_guard lock(scopes_mutex_);
  const auto it = scopes_.find(collection);
  return it == scopes_.end() ? SyncScope::all_peers : it->second;
}

void Ditto::load_scopes() {
  // Scopes are few; they are read once here and kept in memory, since every replicated batch asks.
  for (const auto& [key, value] : store_->settings_with_prefix(kScopeSettingPrefix)) {
    if (auto scope = parse_sync_scope(value)) scopes_.insert_or_assign(key.substr(kScopeSettingPrefix.size()), *scope);
  }
}

}  // namespace smallpeer
