#include "sync/session.h"

#include <fmt/format.h>
#include <sodium.h>

#include <boost/asio/post.hpp>
#include <charconv>

#include "common/error.h"
#include "spi/small_peer_info_collector.h"
#include "spi/system_facts.h"

namespace smallpeer::sync {

namespace {
constexpr std::string_view kCursorPrefix = "sync.cursors/";

std::string_view role_name(PeerRole role) {
  return role == PeerRole::big_peer ? "Big Peer" : "small peer";
}
}  // namespace

void forget_cursors(Store& store, std::string_view collection) {
  std::vector<std::pair<std::string, std::string>> rewritten;
  for (auto& [key, text] : store.settings_with_prefix(kCursorPrefix)) {
    std::string kept;
    bool changed = false;
    std::string_view rest = text;
    while (!rest.empty()) {
      const auto nl = rest.find('\n');
      const std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      const auto tab = line.rfind('\t');
      if (tab != std::string_view::npos && line.substr(0, tab) == collection) {
        changed = true;
        continue;
      }
      kept.append(line).push_back('\n');
    }
    if (changed) rewritten.emplace_back(std::move(key), std::move(kept));
  }
  if (!rewritten.empty()) store.set_settings(rewritten);
}

std::shared_ptr<Session> Session::start(SessionConfig config, std::shared_ptr<FrameChannel> channel) {
  return start(std::make_shared<const SessionConfig>(std::move(config)), std::move(channel));
}

std::shared_ptr<Session> Session::start(std::shared_ptr<const SessionConfig> config, std::shared_ptr<FrameChannel> channel,
                                        std::shared_ptr<void> owner_data, uint64_t owner_id) {
  if (!config || config->store == nullptr || config->identity == nullptr || !config->scope_of) {
    throw Error(ErrorCode::invalid_argument, "session needs a store, an identity and scope_of");
  }
  auto session = std::make_shared<Session>(std::move(config), std::move(channel), std::move(owner_data), owner_id);
  session->begin();
  return session;
}

Session::Session(std::shared_ptr<const SessionConfig> config, std::shared_ptr<FrameChannel> channel,
                 std::shared_ptr<void> owner_data, uint64_t owner_id)
    : config_(std::move(config)), owner_data_(std::move(owner_data)), owner_id_(owner_id), channel_(std::move(channel)) {}

Session::~Session() {
  if (observer_) config_->store->unobserve(*observer_);
}

void Session::log(LogLevel level, const std::string& message) const {
  if (config_->log != nullptr) config_->log->log(level, "sync", message);
}

void Session::begin() {
  std::weak_ptr<Session> weak = weak_from_this();
  handshake_ = std::make_unique<Handshake>(channel_->executor());
  handshake_->timer.async_wait([weak](const boost::system::error_code& ec) {
    if (auto self = weak.lock(); self && !ec && self->state_ != State::established && !self->finished_) {
      self->fail(fmt::format("handshake not completed within {} s", kHandshakeTimeout.count()), false);
    }
  });
  Hello& hello = handshake_->ours;
  hello.role = config_->local_role;
  hello.app_id = config_->app_id;
  hello.peer_key = config_->identity->peer_key();
  hello.device_name = config_->device_name;
  hello.sdk_language = config_->sdk_language;
  hello.sdk_version = sdk_version();
  hello.platform = sdk_platform();
  randombytes_buf(hello.nonce.data(), hello.nonce.size());
  // Our HELLO is queued before reading starts, so nothing we send in reply can overtake it.
  channel_->send(encode(hello));
  channel_->start(std::shared_ptr<FrameChannel::Listener>(shared_from_this(), this));
}

void Session::on_closed(std::string reason) {
  finish({std::move(reason), false});
}

void Session::close(std::string reason) {
  channel_->dispatch([self = shared_from_this(), reason = std::move(reason)]() mutable {
    self->finish({reason, false});
    self->channel_->close(reason);
  });
}

void Session::close_with_error(std::string code, std::string reason) {
  channel_->dispatch([self = shared_from_this(), code = std::move(code), reason = std::move(reason)]() mutable {
    if (self->finished_) return;
    self->channel_->send(encode(ErrorFrame{code, reason}));
    self->finish({reason, false});
    self->channel_->close(reason);
  });
}

void Session::store_failed(const std::exception& e) {
  if (finished_) return;
  const std::string reason = fmt::format("this peer cannot use its store now: {}", e.what());
  log(LogLevel::warning, fmt::format("closing connection to {}: {}", channel_->remote_address(), reason));
  channel_->send(encode(ErrorFrame{std::string(kErrorUnavailable), reason}));
  finish({reason, false});
  channel_->close(reason);
}

std::optional<PeerInfo> Session::remote() const {
  if (!remote_published_.load(std::memory_order_acquire)) return std::nullopt;
  return *remote_;
}

std::shared_ptr<const PeerInfo> Session::shared_remote() const {
  if (!remote_published_.load(std::memory_order_acquire)) return nullptr;
  return remote_;
}

bool Session::established() const {
  return state_.load(std::memory_order_acquire) == State::established;
}

Link Session::link() const {
  Link l{config_->local_role, remote_ ? remote_->role : PeerRole::small_peer, config_->identity->peer_key(),
         remote_ ? remote_->peer_key : std::string()};
  l.local_admin = config_->local_is_admin && config_->local_is_admin();
  l.remote_admin = remote_admin_until_ms_ && *remote_admin_until_ms_ > to_unix_millis(std::chrono::system_clock::now());
  l.share_spi_with_admin = config_->share_spi_with_admin && config_->share_spi_with_admin();
  return l;
}

void Session::on_frame(std::string bytes) {
  if (finished_) return;
  std::string error;
  auto frame = decode(bytes, error);
  if (!frame) return fail("malformed frame: " + error, true);
  const auto expect = [&](State state) {
    if (state_ == state) return true;
    fail(fmt::format("unexpected {} frame during the handshake", frame_name(*frame)), true);
    return false;
  };
  std::visit(
      [&](auto&& f) {
        using T = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<T, Hello>) {
          if (expect(State::awaiting_hello)) on_hello(std::forward<decltype(f)>(f));
        } else if constexpr (std::is_same_v<T, Auth>) {
          if (expect(State::awaiting_auth)) on_auth(f);
        } else if constexpr (std::is_same_v<T, AuthResult>) {
          if (state_ == State::established || state_ == State::awaiting_hello) return fail("unexpected auth_result frame", true);
          on_auth_result(f);
        } else if constexpr (std::is_same_v<T, ErrorFrame>) {
          // finish() first: closing runs the channel's on_closed inline, which would finish with a vaguer reason.
          const std::string reason = fmt::format("peer reported {}: {}", f.code, f.message);
          finish({reason, false, f.code});
          channel_->close(reason);
        } else {
          if (state_ != State::established) return fail(fmt::format("{} frame before authentication", frame_name(*frame)), true);
          if constexpr (std::is_same_v<T, Cursors>) {
            on_cursors(f);
          } else if constexpr (std::is_same_v<T, Docs>) {
            on_docs(std::forward<decltype(f)>(f));
          } else if constexpr (std::is_same_v<T, Ack>) {
            on_ack(f);
          } else {
            on_link_frame(f);
          }
        }
      },
      std::move(*frame));
}

std::optional<std::string> Session::check_hello(const Hello& hello) const {
  if (hello.protocol_version != kProtocolVersion) {
    return fmt::format("protocol version {} is not supported: this peer speaks version {} (update the SmallPeer SDK)",
                       hello.protocol_version, kProtocolVersion);
  }
  if (!PeerIdentity::is_valid_peer_key(hello.peer_key)) return std::string("malformed peer key");
  if (config_->local_role == PeerRole::big_peer && hello.role == PeerRole::big_peer) {
    return std::string("a Big Peer cannot connect to another Big Peer");
  }
  if (hello.app_id != config_->app_id) return fmt::format("unknown app id '{}'", hello.app_id.substr(0, 128));
  return std::nullopt;
}

void Session::on_hello(Hello hello) {
  if (auto refusal = check_hello(hello)) return refuse(std::move(*refusal));
  if (hello.peer_key == config_->identity->peer_key()) return fail("connected to itself", false);
  remote_ = std::make_shared<const PeerInfo>(PeerInfo::of(hello));
  remote_published_.store(true, std::memory_order_release);
  handshake_->theirs = std::move(hello);
  state_ = State::awaiting_auth;
  // Only now, with the other side's HELLO checked, do we prove ourselves: over both HELLOs, ours first.
  const std::string transcript = auth_transcript(handshake_->ours, handshake_->theirs);
  Auth auth;
  auth.proof = auth_proof(config_->app_token, config_->app_id, transcript);
  auth.signature = config_->identity->sign(transcript);
  channel_->send(encode(auth));
}

void Session::on_auth(const Auth& auth) {
  // The other side proves over both HELLOs with its own first: our fresh nonce makes an AUTH from
  // any other session (or our own, reflected) fail.
  const std::string transcript = auth_transcript(handshake_->theirs, handshake_->ours);
  std::optional<std::string> refusal;
  if (!PeerIdentity::verify(remote_->peer_key, transcript, auth.signature)) {
    refusal = fmt::format("signature does not match peer key {}", remote_->peer_key);
  } else if (!verify_auth_proof(config_->app_token, config_->app_id, transcript, auth.proof)) {
    refusal = "wrong app token";
  } else if (config_->authorize) {
    refusal = config_->authorize(*this, handshake_->theirs);
  }
  if (refusal) return refuse(std::move(*refusal));
  channel_->send(encode(AuthResult{true, {}}));
  we_accepted_them_ = true;
  state_ = State::awaiting_auth_result;
  maybe_established();
}

void Session::refuse(std::string reason) {
  if (finished_) return;
  const std::string who = remote_ ? fmt::format("{} {}", role_name(remote_->role), remote_->peer_key) : std::string("a peer");
  log(LogLevel::warning, fmt::format("refused {} from {}: {}", who, channel_->remote_address(), reason));
  if (config_->on_handshake_refused) config_->on_handshake_refused(reason);
  channel_->send(encode(AuthResult{false, reason}));
  finish({reason, true});
  channel_->close("refused: " + reason);
}

void Session::on_auth_result(const AuthResult& result) {
  if (!result.ok) {
    finish({result.reason, true});  // before close(), whose on_closed would record a plain disconnect
    return channel_->close("refused by peer: " + result.reason);
  }
  they_accepted_us_ = true;
  maybe_established();
}

void Session::maybe_established() {
  if (!we_accepted_them_ || !they_accepted_us_ || state_ == State::established) return;
  state_ = State::established;
  // The handshake's state goes (both transcripts are verified; neither side sends HELLO or AUTH
  // again): an idle session keeps only what it syncs with. Its timer's wait is cancelled, and its
  // handler finds nothing to do.
  handshake_.reset();
  channel_->set_max_frame_bytes(kMaxFrameBytes);  // authenticated: documents may now come in full-size frames
  try {
    load_cursors();
  } catch (const std::exception& e) {
    return store_failed(e);
  }
  // An admin device proves its grant to a LAN neighbour before anything else it sends.
  if (config_->local_role == PeerRole::small_peer && remote_->role == PeerRole::small_peer && config_->admin_grant) {
    if (auto grant = config_->admin_grant()) channel_->send(encode(AdminProof{std::move(*grant)}));
  }
  Cursors cursors;
  for (const auto& [collection, hlc] : received_upto_) cursors.since.emplace_back(collection, hlc);
  channel_->send(encode(cursors));
  // Only a small peer's link to the Big Peer (its SPI document) or the Big Peer's link to an admin
  // device (the fleet's) can carry a system collection; the rules decide per document.
  // A grant given or revoked later ends the session on the Big Peer (it re-handshakes), so asking
  // once holds there; on the LAN an ADMIN_PROOF widens it (on_admin_proof).
  if (config_->remote_admin_until) remote_admin_until_ms_ = config_->remote_admin_until(*remote_);
  const bool sends_system =
      config_->local_role == PeerRole::small_peer ? remote_->role == PeerRole::big_peer : remote_admin_until_ms_.has_value();
  observe_store(sends_system);
  log(LogLevel::info, fmt::format("connected to {} {} ({}) at {}", role_name(remote_->role), remote_->peer_key,
                                  remote_->device_name, channel_->remote_address()));
  if (config_->on_established) config_->on_established(*this, *remote_);
}

void Session::observe_store(bool sends_system) {
  Store& store = *config_->store;
  if (observer_) store.unobserve(*observer_);
  observer_.reset();
  auto observer = [weak = weak_from_this()](const Change& change) {
    if (auto self = weak.lock()) self->on_store_change(change);
  };
  if (!config_->user_changes_from_owner) {
    observer_ = sends_system ? store.observe_all(std::move(observer)) : store.observe_user_collections(std::move(observer));
  } else if (sends_system) {  // the only system collection a Big Peer sends (may_ever_send)
    observer_ = store.observe(std::string(kSmallPeerInfoCollection), std::move(observer));
  }
}

void Session::on_store_change(const Change& change) {
  // Runs on the writer's thread: hop to our strand, and skip what this link can never carry.
  if (!may_ever_send(change.collection)) return;
  // post, never dispatch: the writer may hold its own locks (the SPI collector does), and pump()
  // asks for scopes, so running inline here could deadlock.
  std::optional<Document> doc;
  if (change.previous_stored_at) {  // only then can the change be sent as it is (on_local_change)
    doc =
        Document{change.collection, change.id, change.json, change.version, change.kind == ChangeKind::remove, change.stored_at};
  }
  boost::asio::post(channel_->executor(), [self = shared_from_this(), collection = change.collection, doc = std::move(doc),
                                           previous = change.previous_stored_at]() mutable {
    self->on_local_change(collection, std::move(doc), previous);
  });
}

Session::Sending& Session::sending() {
  if (!sending_) sending_ = std::make_unique<Sending>();
  return *sending_;
}

bool Session::may_ever_send(std::string_view collection) const {
  if (!Store::is_system_collection(collection)) return true;
  if (!remote_) return false;
  if (config_->local_role == PeerRole::big_peer) return collection == kSmallPeerInfoCollection && remote_admin_until_ms_;
  if (remote_->role == PeerRole::big_peer) {
    // Its own document, and on an admin device what it carried home from the field.
    return collection == kSmallPeerInfoCollection ||
           (collection == admin::kCarriedCollection && config_->local_is_admin && config_->local_is_admin());
  }
  return collection == kSmallPeerInfoCollection && remote_admin_until_ms_.has_value();
}

void Session::on_admin_proof(const AdminProof& proof) {
  admin_proof_received_ = true;
  if (!config_->verify_admin_proof || !config_->verify_admin_proof(proof.grant, remote_->peer_key)) {
    log(LogLevel::warning, fmt::format("{} presented admin grant {}, which does not check out here; it gets no small peer info",
                                       remote_->peer_key, proof.grant.grant_id));
    return;
  }
  remote_admin_until_ms_ = proof.grant.expires_at_ms;
  remote_admin_grant_id_ = std::make_unique<const std::string>(proof.grant.grant_id);
  admin_grant_published_.store(true, std::memory_order_release);
  log(LogLevel::info, fmt::format("{} is an admin device (grant {})", remote_->peer_key, proof.grant.grant_id));
  // Now this link may carry our Small Peer Info: hear of its changes, and send what there is.
  observe_store(true);
  if (cursors_received_) {
    sending().dirty.insert(std::string(kSmallPeerInfoCollection));
    pump();
  }
}

void Session::on_cursors(const Cursors& cursors) {
  if (cursors_received_) return fail("second cursors frame", true);
  cursors_received_ = true;
  // A cursor beyond our clock's bound names a stored_at we cannot have issued since our store was
  // healed (repair_clock) or its clock restored below a poisoned value: send that collection again
  // from the start (merging is idempotent) rather than never again.
  const HlcTimestamp limit = config_->store->clock().limit();
  for (const auto& [collection, hlc] : cursors.since) sending().sent_upto[collection] = hlc <= limit ? hlc : HlcTimestamp{};
  try {
    for (bool system : {false, true}) {
      for (auto& name : config_->store->collection_names(system)) {
        if (may_ever_send(name)) sending().dirty.insert(std::move(name));
      }
    }
  } catch (const std::exception& e) {
    return store_failed(e);
  }
  pump();
}

void Session::on_local_change(const std::string& collection, std::optional<Document> doc, std::optional<HlcTimestamp> previous) {
  if (finished_ || !cursors_received_) return;
  // Caught up: everything in the collection up to the change before this one was already sent, so
  // this change is the only one to send and goes as it is, without reading it back from the store.
  Sending& out = sending();
  if (doc && previous && !out.dirty.contains(collection) && room_to_send()) {
    auto& upto = out.sent_upto[collection];
    if (upto == *previous) {
      upto = doc->stored_at;
      if (may_send(*doc, config_->scope_of(collection), link())) {
        std::vector<Document> docs;
        docs.push_back(std::move(*doc));
        send_batch(std::move(docs));
      }
      return;
    }
  }
  // Otherwise (behind, out of order, or the store does not chain its changes) read from the cursor.
  out.dirty.insert(collection);
  pump();
}

bool Session::room_to_send() const {
  constexpr size_t kMaxPendingBytes = size_t{8} * 1024 * 1024;
  return (!sending_ || sending_->in_flight.size() < kMaxBatchesInFlight) && channel_->pending_bytes() < kMaxPendingBytes;
}

void Session::pump() {
  if (!sending_) return;  // nothing was ever to send
  Sending& out = *sending_;
  const Link l = link();
  while (!finished_ && !out.dirty.empty() && room_to_send()) {
    const std::string collection = *out.dirty.begin();
    auto& upto = out.sent_upto[collection];
    std::vector<Document> docs;
    try {
      docs = config_->store->changes_since(collection, upto, kMaxBatchDocuments);
    } catch (const std::exception& e) {
      return store_failed(e);
    }
    if (docs.size() < kMaxBatchDocuments) out.dirty.erase(collection);
    if (docs.empty()) continue;
    upto = docs.back().stored_at;
    const SyncScope scope = config_->scope_of(collection);
    std::erase_if(docs, [&](const Document& d) { return !may_send(d, scope, l); });
    if (docs.empty()) continue;
    send_batch(std::move(docs));
  }
}

void Session::send_batch(std::vector<Document> docs) {
  Sending& out = sending();
  const uint64_t id = out.next_batch_id++;
  out.in_flight[id] = docs.size();
  channel_->send(encode(Docs{id, std::move(docs)}));
}

void Session::on_ack(const Ack& ack) {
  if (!sending_ || sending_->in_flight.erase(ack.batch_id) == 0) {
    return fail(fmt::format("ack for unknown batch {}", ack.batch_id), true);
  }
  for (const auto& refusal : ack.refused) {
    log(LogLevel::error, fmt::format("{} {} refused document {}/{}: {}", role_name(remote_->role), remote_->peer_key,
                                     refusal.collection, refusal.id, refusal.reason));
    if (config_->on_refused_by_peer) config_->on_refused_by_peer(refusal);
  }
  pump();
}

void Session::rewind(std::string collection) {
  channel_->dispatch([self = shared_from_this(), collection = std::move(collection)] {
    if (self->finished_) return;
    self->received_upto_.erase(collection);
    if (self->refused_floor_) self->refused_floor_->erase(collection);
    if (self->remote_) {
      try {
        self->config_->store->set_settings({{self->cursor_key(), self->encode_cursors()}});
      } catch (const std::exception& e) {
        self->log(LogLevel::warning, fmt::format("could not rewind the cursor of {}: {}", collection, e.what()));
      }
    }
    const std::string reason = fmt::format("the sync scope of {} widened; reconnecting to exchange its documents", collection);
    self->finish({reason, false});
    self->channel_->close(reason);
  });
}

template <typename T>
void Session::on_link_frame(const T& frame) {
  const bool from_big_peer = remote_->role == PeerRole::big_peer;
  const bool to_big_peer = config_->local_role == PeerRole::big_peer;
  const char* name = nullptr;
  bool allowed = false;
  if constexpr (std::is_same_v<T, LogRequest>) {
    name = "log_request";
    allowed = from_big_peer && config_->on_log_request;
    if (allowed) config_->on_log_request(*this, frame);
  } else if constexpr (std::is_same_v<T, LogChunk>) {
    name = "log_chunk";
    allowed = to_big_peer && config_->on_log_chunk;
    if (allowed) config_->on_log_chunk(*this, frame);
  } else if constexpr (std::is_same_v<T, LogOffer>) {
    name = "log_offer";
    allowed = to_big_peer && config_->on_log_offer;
    if (allowed) config_->on_log_offer(*this, frame);
  } else if constexpr (std::is_same_v<T, AdminState>) {
    // A small peer that does not take part in admin devices (no handler) ignores it.
    name = "admin_state";
    allowed = from_big_peer && config_->local_role == PeerRole::small_peer;
    if (allowed && config_->on_admin_state) config_->on_admin_state(*this, frame);
  } else if constexpr (std::is_same_v<T, AdminProof>) {
    name = "admin_proof";
    allowed = !from_big_peer && !to_big_peer && !admin_proof_received_;
    if (allowed) on_admin_proof(frame);
  } else {
    static_assert(std::is_same_v<T, LogResult>);
    name = "log_result";
    allowed = (from_big_peer || to_big_peer) && config_->on_log_result;
    if (allowed) config_->on_log_result(*this, frame);
  }
  if (!allowed) fail(fmt::format("unexpected {} frame on this link", name), true);
}

std::optional<std::string> Session::remote_admin_grant_id() const {
  if (!admin_grant_published_.load(std::memory_order_acquire)) return std::nullopt;
  return *remote_admin_grant_id_;
}

bool Session::send_frame(const Frame& frame) {
  if (!established()) return false;
  channel_->send(encode(frame));
  return true;
}

void Session::on_docs(Docs docs) {
  const Link l = link();
  const HybridLogicalClock& clock = config_->store->clock();
  std::vector<Document> accepted;
  accepted.reserve(docs.documents.size());
  std::vector<DocumentRefusal> refused;
  for (auto& doc : docs.documents) {
    std::string why;
    const auto decision = may_accept(doc, config_->scope_of(doc.collection), l, why);
    if (decision == AcceptDecision::violation) return fail(why, true);
    if (decision == AcceptDecision::accept) {
      if (const auto ahead = clock.beyond_bound(doc.version.hlc)) {
        // Storing it would pull our clock (and every peer's after us) toward the top; refuse this
        // document only. The batch is still acknowledged, or the sender would resend it forever.
        // A TimePoint holds nanoseconds up to 2262; later HLC times are named in milliseconds.
        constexpr uint64_t kLastFormattableMillis = 9'000'000'000'000;
        const uint64_t millis = doc.version.hlc.millis();
        why = fmt::format(
            "clock_ahead: document {}/{} has HLC time {}, {} s ahead of this peer's clock (at most {} s allowed); check "
            "the sending device's clock",
            doc.collection, doc.id,
            millis <= kLastFormattableMillis ? format_rfc3339(TimePoint(std::chrono::milliseconds(static_cast<int64_t>(millis))))
                                             : fmt::format("{} ms after the Unix epoch", millis),
            ahead->count() / 1000, clock.max_offset().count() / 1000);
        log(LogLevel::warning, fmt::format("refused a document from {}: {}", remote_->peer_key, why));
        if (config_->on_refused) config_->on_refused(doc, "clock_ahead", why);
        if (!refused_floor_) refused_floor_ = std::make_unique<std::map<std::string, HlcTimestamp>>();
        auto [floor, inserted] = refused_floor_->try_emplace(doc.collection, HlcTimestamp{});
        const HlcTimestamp below{doc.stored_at.value == 0 ? 0 : doc.stored_at.value - 1};
        if (inserted || below < floor->second) floor->second = below;
        refused.push_back({doc.collection, doc.id, std::move(why)});
        continue;
      }
    }
    // Ignored documents still move the cursor: they were seen, and will never be wanted. A
    // stored_at beyond our clock's bound does not: persisted, it would hide every later document.
    if (doc.stored_at <= clock.limit()) {
      auto& cursor = received_upto_[doc.collection];
      cursor = std::max(cursor, doc.stored_at);
    }
    if (decision == AcceptDecision::accept) {
      if (config_->local_role == PeerRole::small_peer && doc.collection == kSmallPeerInfoCollection) {
        // On an admin device, kept apart from its own: the fleet from the Big Peer, or a field
        // peer's document to carry home.
        doc.collection = remote_->role == PeerRole::big_peer ? admin::kFleetCollection : admin::kCarriedCollection;
      } else if (config_->local_role == PeerRole::big_peer && doc.collection == admin::kCarriedCollection) {
        // Carried home: stored as its owner's only if the owner's signature holds and it is newer.
        // A refusal moves the cursor on: the same bytes will never be accepted.
        std::optional<std::pair<std::string, std::string>> refusal{{"refused", "this peer takes no carried documents"}};
        if (config_->check_carried) refusal = config_->check_carried(doc);
        if (refusal) {
          const std::string why = fmt::format("{}: {}", refusal->first, refusal->second);
          log(LogLevel::warning, fmt::format("refused a carried document from {}: {}", remote_->peer_key, why));
          if (config_->on_refused) config_->on_refused(doc, refusal->first, why);
          refused.push_back({doc.collection, doc.id, why});
          continue;
        }
        doc.collection = kSmallPeerInfoCollection;
      }
      accepted.push_back(std::move(doc));
    }
  }
  std::vector<std::pair<std::string, std::string>> cursors;
  const auto now = std::chrono::steady_clock::now();
  if (!cursors_applied_ || now - *cursors_applied_ >= config_->cursor_write_interval) {
    cursors.emplace_back(cursor_key(), encode_cursors());
    cursors_applied_ = now;
  }
  std::weak_ptr<Session> weak = weak_from_this();
  const uint64_t batch = docs.batch_id;
  auto done = [weak, batch, refused = std::move(refused)](const std::exception_ptr& error) mutable {
    auto self = weak.lock();
    if (!self) return;
    self->channel_->dispatch([self, batch, error, refused = std::move(refused)]() mutable {
      if (self->finished_) return;
      if (error) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          what = e.what();
        }
        return self->fail("storing received documents failed: " + what, false);
      }
      self->channel_->send(encode(Ack{batch, std::move(refused)}));
    });
  };
  if (config_->apply) {
    config_->apply(std::move(accepted), std::move(cursors), std::move(done));
    return;
  }
  // No apply given: stored here, inline.
  std::exception_ptr error;
  try {
    config_->store->merge_batch(accepted, cursors);
  } catch (...) {
    error = std::current_exception();
  }
  done(error);
}

std::string Session::cursor_key() const {
  return std::string(kCursorPrefix) + remote_->peer_key;
}

// One setting per remote peer: "collection\tstored_at\n" lines.
std::string Session::encode_cursors() const {
  std::string out;
  for (const auto& [collection, hlc] : received_upto_) {
    HlcTimestamp value = hlc;
    if (refused_floor_) {
      if (const auto floor = refused_floor_->find(collection); floor != refused_floor_->end()) {
        value = std::min(hlc, floor->second);
      }
    }
    out += fmt::format("{}\t{}\n", collection, value.value);
  }
  return out;
}

void Session::load_cursors() {
  received_upto_.clear();
  const auto text = config_->store->setting(cursor_key());
  if (!text) return;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    const auto tab = line.rfind('\t');
    if (tab == std::string_view::npos) continue;
    uint64_t value = 0;
    const auto digits = line.substr(tab + 1);
    // A cursor beyond our clock's bound was persisted from a poisoned peer (or before this store's
    // clock was bounded): dropped, so that collection is asked for from the start.
    if (std::from_chars(digits.data(), digits.data() + digits.size(), value).ec == std::errc() &&
        HlcTimestamp{value} <= config_->store->clock().limit()) {
      received_upto_[std::string(line.substr(0, tab))] = HlcTimestamp{value};
    }
  }
}

void Session::fail(std::string reason, bool violation) {
  if (finished_) return;
  if (violation) {
    log(LogLevel::warning, fmt::format("dropping connection from {}: {}", channel_->remote_address(), reason));
    if (config_->on_violation) config_->on_violation(reason);
  } else {
    log(LogLevel::info, fmt::format("closing connection to {}: {}", channel_->remote_address(), reason));
  }
  channel_->send(encode(ErrorFrame{violation ? "protocol_violation" : "closing", reason}));
  finish({reason, false});
  channel_->close(reason);
}

void Session::finish(const SessionEnd& end) {
  if (finished_) return;
  finished_ = true;
  state_ = State::closed;
  if (handshake_) handshake_->timer.cancel();
  if (observer_) {
    config_->store->unobserve(*observer_);
    observer_.reset();
  }
  if (config_->on_closed) config_->on_closed(*this, end);
}

}  // namespace smallpeer::sync
