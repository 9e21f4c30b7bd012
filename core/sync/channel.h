// A connection that carries whole protocol frames in order: a WebSocket (to the Big Peer) or a
// length-prefixed TCP stream (between small peers). Sessions speak the protocol over it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace smallpeer::sync {

/// The strand every WebSocket connection runs on. A concrete type, not any_io_executor: Beast
/// copies and converts a stream's executor several times per read and write, and through
/// any_io_executor each is a type-erased call and a shared reference count on the hot path
/// (measurements: bigpeer/BENCHMARKS.md, the fleet bench).
using SyncStrand = boost::asio::strand<boost::asio::io_context::executor_type>;
/// A TCP socket on a SyncStrand (what an acceptor given a SyncStrand delivers).
using SyncSocket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, SyncStrand>;
/// beast::tcp_stream on a SyncStrand: the lowest layer of every WebSocket connection.
using SyncTcpStream = boost::beast::basic_stream<boost::asio::ip::tcp, SyncStrand>;

/// One connection's frames. Handlers run one at a time, in order, on the channel's strand (for the
/// Big Peer's server channel, its io_context's own executor: that io_context runs on one thread).
class FrameChannel {
 public:
  /// What hears a channel, on its strand. One pointer in the channel rather than two
  /// std::functions: ~80 bytes less in each of a Big Peer's idle connections.
  class Listener {
   public:
    virtual ~Listener() = default;
    /// One whole frame, length prefix included.
    virtual void on_frame(std::string frame) = 0;
    /// The channel closed; called once, after which nothing else runs.
    virtual void on_closed(std::string reason) = 0;
  };
  virtual ~FrameChannel() = default;
  /// Starts reading into `listener`, kept until the channel closes; until then nothing is delivered.
  virtual void start(std::shared_ptr<Listener> listener) = 0;
  /// Queues a frame for sending; thread-safe; dropped once closed.
  virtual void send(std::string frame) = 0;
  /// Closes the connection (idempotent); on_closed reports `reason`.
  virtual void close(std::string reason) = 0;
  /// Raises (or lowers) the largest frame accepted from now on; call on the channel's strand. A new
  /// channel accepts kMaxHandshakeFrameBytes, enough for the handshake; the session raises it to
  /// kMaxFrameBytes once both sides are authenticated.
  virtual void set_max_frame_bytes(uint32_t bytes) = 0;
  /// Bytes queued and not yet written, for back-pressure.
  [[nodiscard]] virtual size_t pending_bytes() const = 0;
  /// "ip:port" of the other end.
  [[nodiscard]] virtual std::string remote_address() const = 0;
  /// Runs `task` on the channel's strand: at once if called there, otherwise after the handlers
  /// already queued.
  virtual void dispatch(std::function<void()> task) = 0;
  /// The channel's strand, for timers whose handlers must not race the frame handlers.
  [[nodiscard]] virtual boost::asio::any_io_executor executor() const = 0;
};

/// Wraps a WebSocket that has completed its handshake (client or server side). Its socket must
/// have been made on a strand (boost::asio::make_strand), as Beast requires for its own timers.
std::shared_ptr<FrameChannel> make_websocket_channel(boost::beast::websocket::stream<SyncTcpStream> ws);
/// Wraps a wss:// WebSocket; `keep_alive` (the TLS context) lives as long as the channel.
std::shared_ptr<FrameChannel> make_websocket_channel(boost::beast::websocket::stream<boost::beast::ssl_stream<SyncTcpStream>> ws,
                                                     std::shared_ptr<void> keep_alive);
/// Wraps the server side of a plain (ws://) WebSocket whose upgrade is done (the Big Peer's /sync):
/// the descriptor leaves Asio, watched by one epoll instance (Linux) of the io_context's own, and reads go
/// through one buffer per I/O thread, not Beast. The socket's io_context must run on one thread,
/// which runs all of the channel's work without a strand. A quiet connection is pinged after
/// `keep_alive` (at most a day) and closed after twice that without a byte from the other side, each up to
/// keep_alive / 8 (at most 1 s) later: one timer per io_context checks its connections.
std::shared_ptr<FrameChannel> make_server_websocket_channel(SyncSocket socket,
                                                            std::chrono::milliseconds keep_alive = std::chrono::seconds(15));
/// Wraps a connected TCP socket that carries length-prefixed frames (socket made on a strand). Its
/// buffer grows with the bytes received, never to a length the peer merely announced.
std::shared_ptr<FrameChannel> make_tcp_channel(boost::asio::ip::tcp::socket socket);

/// A parsed Big Peer URL: wss://host[:port]/path, or ws://host[:port]/path for loopback hosts only.
struct WebSocketUrl {
  bool tls = false;
  std::string host;
  uint16_t port = 80;
  std::string path = "/";
};

/// How a wss:// connection checks the Big Peer's certificate.
struct TlsClientOptions {
  std::string ca_file;  // PEM file of trusted certificates; empty means the system's trust store
};
/// Parses and checks a Big Peer URL; throws Error(invalid_argument) naming what is wrong.
WebSocketUrl parse_websocket_url(std::string_view url);
/// Parses "host:port"; throws Error(invalid_argument) naming what is wrong.
std::pair<std::string, uint16_t> parse_host_port(std::string_view text);

/// Connects to a Big Peer URL and completes the WebSocket handshake, or reports why it failed.
/// For wss:// the certificate must verify against `tls` and name the URL's host.
void connect_websocket(boost::asio::io_context& io, const WebSocketUrl& url, std::chrono::milliseconds timeout,
                       const TlsClientOptions& tls,
                       std::function<void(std::shared_ptr<FrameChannel> channel, std::string error)> done);
/// Connects to a LAN peer's TCP listener, or reports why it failed.
void connect_tcp(boost::asio::io_context& io, const std::string& host, uint16_t port, std::chrono::milliseconds timeout,
                 std::function<void(std::shared_ptr<FrameChannel> channel, std::string error)> done);

}  // namespace smallpeer::sync
