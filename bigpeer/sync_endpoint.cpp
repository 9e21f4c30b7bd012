#include "bigpeer/sync_endpoint.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "bigpeer/database_health.h"
#include "spi/small_peer_info_collector.h"
#include "spi/spi_signature.h"
#include "sync/channel.h"
#include "sync/protocol.h"
#include "sync/session.h"

namespace smallpeer::bigpeer {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {
std::string address_of(const sync::SyncTcpStream& stream) {
  boost::system::error_code ec;
  const auto endpoint = stream.socket().remote_endpoint(ec);
  if (ec) return "unknown";
  return fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
}

// Runs a log request hook; a database that is away closes the session with ERROR "unavailable"
// (the device resumes its upload later, on this node or another) instead of failing the request.
template <class F>
void guarded(sync::Session& session, F&& hook) {
  try {
    hook();
  } catch (const DatabaseUnavailable& e) {
    spdlog::info("sync: closing a session, the database is unavailable: {}", e.what());
    session.close_with_error(std::string(sync::kErrorUnavailable), e.what());
  }
}
}  // namespace

SyncEndpoint::SyncEndpoint(SyncEndpointConfig config)
    : config_(std::move(config)), admission_(config_.handshakes), session_config_(make_session_config()) {
  if (!session_config_->user_changes_from_owner) return;
  // On the writer's thread, after the commit; only user collections, so never on a report's path.
  user_changes_ = config_.store->observe_user_collections([registry = config_.registry](const Change& change) {
    for (const auto& session : registry->established_sessions()) {
      // One session's failure (out of memory copying the change) must not cost the others theirs.
      try {
        session->on_store_change(change);
      } catch (const std::exception& e) {
        spdlog::warn("sync: could not pass a change of {} to a session: {}", change.collection, e.what());
      }
    }
  });
}

SyncEndpoint::~SyncEndpoint() {
  if (user_changes_) config_.store->unobserve(*user_changes_);
}

void SyncEndpoint::accept(sync::SyncTcpStream stream, HttpRequest request) {
  accept_on(std::move(stream), std::move(request));
}

void SyncEndpoint::accept(beast::ssl_stream<sync::SyncTcpStream> stream, HttpRequest request) {
  accept_on(std::move(stream), std::move(request));
}

template <class Stream>
void SyncEndpoint::accept_on(Stream stream, HttpRequest request) {
  std::string remote_address = address_of(beast::get_lowest_layer(stream));
  // Nothing is allocated for a stranger beyond its place here: over the caps, close at once.
  boost::system::error_code ec;
  const auto endpoint = beast::get_lowest_layer(stream).socket().remote_endpoint(ec);
  auto ticket = ec ? nullptr : admission_.admit(endpoint.address().to_string());
  if (!ticket) {
    BigPeerMetrics::add(config_.metrics->handshakes_refused);
    spdlog::debug("sync: closed {} at once: too many handshakes in progress", remote_address);
    beast::get_lowest_layer(stream).socket().close(ec);
    return;
  }
  auto ws = std::make_shared<websocket::stream<Stream>>(std::move(stream));
  // The WebSocket stream has its own timeouts (handshake, idle pings); the HTTP read deadline must go.
  beast::get_lowest_layer(*ws).expires_never();
  ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws->set_option(websocket::stream_base::decorator(
      [](websocket::response_type& response) { response.set(beast::http::field::server, "smallpeer-big-peer"); }));
  ws->read_message_max(sync::kMaxHandshakeFrameBytes + 4);  // the session raises it once authenticated
  ws->binary(true);
  auto upgrade = std::make_shared<HttpRequest>(std::move(request));
  ws->async_accept(*upgrade, [this, ws, upgrade, remote_address = std::move(remote_address),
                              ticket = std::move(ticket)](beast::error_code ec) mutable {
    if (ec) {
      spdlog::debug("sync: WebSocket handshake with {} failed: {}", remote_address, ec.message());
      return;
    }
    if constexpr (std::is_same_v<Stream, sync::SyncTcpStream>) {
      // Beast did the upgrade; our own framing reads the session (sync/channel.h).
      start_session(sync::make_server_websocket_channel(ws->next_layer().release_socket()), remote_address, ticket);
    } else {
      start_session(sync::make_websocket_channel(std::move(*ws), config_.tls), remote_address, ticket);
    }
  });
}

void SyncEndpoint::start_session(std::shared_ptr<sync::FrameChannel> channel, const std::string& remote_address,
                                 const std::shared_ptr<sync::HandshakeAdmission::Ticket>& ticket) {
  const auto id = config_.registry->add(remote_address);
  if (!id) {
    channel->close("the Big Peer is shutting down");
    return;
  }
  // The ticket is the session's owner data (let go once authenticated), the registry's id its owner id.
  auto session = sync::Session::start(session_config_, std::move(channel), ticket, *id);
  config_.registry->attach(*id, std::move(session));
}

std::shared_ptr<const sync::SessionConfig> SyncEndpoint::make_session_config() const {
  auto config = std::make_shared<sync::SessionConfig>();
  sync::SessionConfig& c = *config;
  c.local_role = PeerRole::big_peer;
  c.app_id = config_.app_id;
  c.app_token = config_.app_token;
  c.identity = config_.identity;
  c.device_name = "big-peer";
  c.sdk_language = "C++";
  c.store = config_.store;
  c.cursor_write_interval = config_.cursor_write_interval;
  c.scope_of = &SyncEndpoint::scope_of;
  // The constructor's observer passes them on (an endpoint built without a store serves no session).
  c.user_changes_from_owner = config_.store != nullptr && config_.registry != nullptr;
  c.authorize = [this](sync::Session& session, const sync::Hello& remote) { return authorize(remote, session.remote_address()); };
  BigPeerMetrics* refusals = config_.metrics;
  c.on_handshake_refused = [refusals](const std::string& reason) {
    BigPeerMetrics::add(refusals->auth_refusals);
    spdlog::info("sync: refused a peer at the handshake: {}", reason);
  };
  IngestQueue* ingest = config_.ingest;
  c.apply = [ingest](std::vector<Document> docs, std::vector<std::pair<std::string, std::string>> cursors,
                     std::function<void(std::exception_ptr)> done) {
    ingest->submit(std::move(docs), std::move(cursors), std::move(done));
  };
  ConnectionRegistry* registry = config_.registry;
  BigPeerMetrics* metrics = config_.metrics;
  auto clock = config_.clock;
  LogRequests* logs = config_.log_requests;
  const AdminGrants* grants = config_.admin_grants;
  if (grants != nullptr) {
    c.remote_admin_until = [grants](const sync::PeerInfo& remote) { return grants->active_until(remote.peer_key); };
  }
  c.on_established = [registry, metrics, clock, logs, grants](sync::Session& session, const sync::PeerInfo& remote) {
    // Its place given back, the ticket goes: ~0.1 KB of every session (on the session's strand,
    // as on_closed, which finds it gone).
    if (auto* ticket = session.owner_data<sync::HandshakeAdmission::Ticket>()) ticket->release();
    session.drop_owner_data();
    // Before any document: an admin device takes the fleet's Small Peer Info only once it knows its grant.
    if (grants != nullptr) session.send_frame(grants->state_for(remote.peer_key));
    registry->established(session.owner_id(), session.shared_remote(), clock->now());
    guarded(session, [&] { logs->on_established(session, remote.peer_key); });
    BigPeerMetrics::add(metrics->sessions);
    spdlog::info("sync: {} ({}, {} {}) connected", remote.peer_key, remote.device_name, remote.sdk_language, remote.sdk_version);
  };
  auto executor = config_.executor;
  c.on_closed = [registry, clock, executor](sync::Session& session, const sync::SessionEnd& end) {
    if (auto* ticket = session.owner_data<sync::HandshakeAdmission::Ticket>()) ticket->release();
    auto removed = registry->remove(session.owner_id(), clock->now());
    spdlog::info("sync: session with {} ended: {}", removed.peer_key.empty() ? "a small peer" : removed.peer_key, end.reason);
    // The session is running this callback; let the last reference go after it returns.
    if (removed.session) boost::asio::post(executor, [session = std::move(removed.session)] {});
  };
  // Log frames arrive only after authentication, so remote() is set.
  c.on_log_chunk = [logs](sync::Session& session, const sync::LogChunk& chunk) {
    guarded(session, [&] { logs->on_chunk(session, session.remote()->peer_key, chunk); });
  };
  c.on_log_offer = [logs](sync::Session& session, const sync::LogOffer& offer) {
    guarded(session, [&] { logs->on_offer(session, session.remote()->peer_key, offer); });
  };
  c.on_log_result = [logs](sync::Session& session, const sync::LogResult& result) {
    guarded(session, [&] { logs->on_result(session.remote()->peer_key, result); });
  };
  c.on_refused = [metrics](const Document&, std::string_view code, const std::string& why) {
    BigPeerMetrics::add(code == "bad_signature" ? metrics->refused_bad_signature
                        : code == "replayed"    ? metrics->refused_replayed
                                                : metrics->refused_clock_ahead);
    spdlog::warn("sync: refused a document: {}", why);
  };
  Store* store = config_.store;
  c.check_carried = [store](const Document& doc) { return check_carried(*store, doc); };
  // A small peer whose clock is far behind refuses what looks ahead to it; the operator sees why.
  c.on_refused_by_peer = [](const sync::DocumentRefusal& refusal) {
    spdlog::warn("sync: a small peer refused document {}/{}: {}", refusal.collection, refusal.id, refusal.reason);
  };
  c.on_violation = [metrics](const std::string& why) {
    BigPeerMetrics::add(metrics->rule_violations);
    spdlog::warn("sync: replication rule violation, dropping the connection: {}", why);
  };
  return config;
}

std::optional<std::string> SyncEndpoint::authorize(const sync::Hello& remote, const std::string& remote_address) const {
  // The session already checked the app id, the proof of the app token and the signature.
  if (remote.role != PeerRole::small_peer) return std::string("only small peers connect to the Big Peer's /sync endpoint");
  if (config_.enrollments == nullptr) return std::nullopt;
  // Enrollment: after the proof checked out (a stranger cannot register keys), before anything is
  // done for the peer (no registry entry, no cursors, no log requests, no documents).
  std::optional<std::string> refusal;
  try {
    refusal = config_.enrollments->admit(remote.peer_key, remote.device_name, remote_address);
  } catch (const std::exception& e) {
    BigPeerMetrics::add(config_.metrics->enrollment_refused_other);
    spdlog::warn("sync: cannot check the enrollment of {} now: {}", remote.peer_key, e.what());
    return std::string("the Big Peer cannot check this device's enrollment now (its database is unavailable); try again later");
  }
  if (refusal) {
    auto& counter = refusal->starts_with("device revoked")            ? config_.metrics->enrollment_refused_revoked
                    : refusal->starts_with("device not yet approved") ? config_.metrics->enrollment_refused_pending
                                                                      : config_.metrics->enrollment_refused_other;
    BigPeerMetrics::add(counter);
  }
  return refusal;
}

std::optional<std::pair<std::string, std::string>> SyncEndpoint::check_carried(const Store& store, const Document& doc) {
  if (doc.deleted) return std::pair<std::string, std::string>{"bad_signature", "a carried document cannot be a deletion"};
  if (doc.version.origin != doc.id) {
    return std::pair<std::string, std::string>{
        "bad_signature", fmt::format("{}'s document was written by {}, not by its owner", doc.id, doc.version.origin)};
  }
  switch (verify_spi_document(doc)) {
    case SpiSignature::valid:
      break;
    case SpiSignature::missing:
      return std::pair<std::string, std::string>{"bad_signature", fmt::format("{}'s document carries no signature", doc.id)};
    case SpiSignature::invalid:
      return std::pair<std::string, std::string>{
          "bad_signature", fmt::format("{}'s document does not match its owner's signature (changed on the way?)", doc.id)};
  }
  if (const auto stored = store.get(kSmallPeerInfoCollection, doc.id, true); stored && !(stored->version < doc.version)) {
    return std::pair<std::string, std::string>{
        "replayed", fmt::format("{}'s document (HLC {}) is not newer than the one stored (HLC {})", doc.id, doc.version.hlc.value,
                                stored->version.hlc.value)};
  }
  return std::nullopt;
}

SyncScope SyncEndpoint::scope_of(std::string_view collection) {
  if (collection == kSmallPeerInfoCollection) return SyncScope::big_peer_only;
  if (Store::is_system_collection(collection)) return SyncScope::local_peer_only;
  return SyncScope::all_peers;
}

}  // namespace smallpeer::bigpeer
