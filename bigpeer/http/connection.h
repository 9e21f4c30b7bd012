// One client's HTTP/1.1 connection, plain or TLS: reads requests under size and time limits, hands
// API work to the API threads (it may wait for SQLite; the I/O threads never do), writes the
// answers in order with keep-alive, and hands a WebSocket upgrade of /sync to the sync endpoint.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <functional>

#include "bigpeer/database_health.h"
#include "bigpeer/http/api.h"
#include "bigpeer/metrics.h"
#include "bigpeer/sync_endpoint.h"
#include "sync/channel.h"

namespace smallpeer::bigpeer {

/// Request limits: a bigger header gets 431, a bigger body 413.
inline constexpr uint32_t kMaxHeaderBytes = 16 * 1024;
inline constexpr uint64_t kMaxBodyBytes = uint64_t{64} * 1024;
/// How long a request (or a TLS handshake) may take to arrive, and how long a keep-alive
/// connection may sit idle.
inline constexpr std::chrono::seconds kRequestTimeout{30};

/// What every connection shares; owned by the server, which outlives its connections.
struct HttpServices {
  const HttpApi* api = nullptr;
  boost::asio::thread_pool* api_threads = nullptr;
  SyncEndpoint* sync = nullptr;
  BigPeerMetrics* metrics = nullptr;
  boost::asio::ssl::context* tls = nullptr;       // set when the port serves https and wss only
  const NodeHealth* health = nullptr;             // /readyz, and whether a /sync upgrade is taken
  std::function<sync::SyncStrand()> sync_strand;  // picks where a plain /sync upgrade moves (empty: it stays)
};

/// Serves an accepted socket (made on a strand) until the client leaves or upgrades to /sync.
/// GET /livez (the process answers) and GET /readyz (the node takes sessions: database reachable,
/// not draining) are answered on the I/O thread, without the admin token; a /sync upgrade while
/// the node is not ready gets 503 with Retry-After, before any session is made.
void serve_http(sync::SyncSocket socket, const HttpServices& services);

}  // namespace smallpeer::bigpeer
