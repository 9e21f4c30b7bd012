#include "sync/channel.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "sync/protocol.h"
#include "sync/websocket_reader.h"

namespace smallpeer::sync {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

/// The type-and-payload length a frame's 4-byte big-endian prefix claims.
uint32_t prefix_length(const std::array<unsigned char, 4>& prefix) {
  return (uint32_t{prefix[0]} << 24) | (uint32_t{prefix[1]} << 16) | (uint32_t{prefix[2]} << 8) | uint32_t{prefix[3]};
}

template <typename Socket>
std::string endpoint_text(const Socket& socket) {
  boost::system::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

// A frame waiting to be written: a protocol frame (binary), or a WebSocket control frame the
// server channel answers with (close, ping, pong).
struct Outgoing {
  std::string bytes;
  WebSocketOpcode opcode = WebSocketOpcode::binary;
  // The server channel's WebSocket header of the frame, encoded as its write starts: kept with the
  // frame while it is written rather than in a buffer of every channel.
  uint8_t header_length = 0;
  std::array<unsigned char, 10> header{};
};

// A channel's executor, as the channel keeps it: a strand or any_io_executor as it is; an
// io_context's own as the pointer it wraps (the executor is 16 bytes, an empty allocator beside the
// pointer: 8 bytes of every server channel, which keep it in jemalloc's 256-byte class).
template <typename Executor>
class KeptExecutor {
 public:
  explicit KeptExecutor(Executor executor) : executor_(std::move(executor)) {}
  [[nodiscard]] const Executor& get() const { return executor_; }

 private:
  Executor executor_;
};
template <>
class KeptExecutor<net::io_context::executor_type> {
 public:
  explicit KeptExecutor(const net::io_context::executor_type& executor) : io_(&executor.context()) {}
  [[nodiscard]] net::io_context::executor_type get() const { return io_->get_executor(); }

 private:
  net::io_context* io_;
};

// What every channel kind shares: the executor its handlers run on, the write queue and the one-time
// close. `Executor` is the socket's: a strand (SyncStrand) for a Beast WebSocket, whose own timers
// share it, any_io_executor for LAN TCP, and a one-thread io_context's own for the Big Peer's
// server channel (ServerExecutor).
template <typename Derived, typename Executor>
class ChannelBase : public FrameChannel, public std::enable_shared_from_this<Derived> {
 public:
  // `executor` is the socket's: handlers run on it one at a time.
  explicit ChannelBase(Executor executor) : executor_(std::move(executor)) {}

  void start(std::shared_ptr<Listener> listener) override {
    net::dispatch(executor_.get(), [self = this->shared_from_this(), listener = std::move(listener)]() mutable {
      self->listener_ = std::move(listener);
      self->derived().read_next();
    });
  }

  void send(std::string frame) override {
    pending_ += frame.size();  // counted at once, for pending_bytes() on other threads
    net::dispatch(executor_.get(), [self = this->shared_from_this(), frame = std::move(frame)]() mutable {
      if (self->closed_ || self->closing_) {
        self->pending_ -= frame.size();
        return;
      }
      self->enqueue({std::move(frame), WebSocketOpcode::binary}, true);
    });
  }

  void close(std::string reason) override {
    net::dispatch(executor_.get(), [self = this->shared_from_this(), reason = std::move(reason)]() mutable {
      if (self->closing_) return;  // already closing: the first reason and its deadline stand
      if (self->queue_.empty() && self->writing_.empty()) return self->shut(std::move(reason));
      // Let queued frames (an error frame, say) go out first, but never wait on a stuck peer.
      self->closing_ = std::make_unique<Closing>(self->executor_.get(), std::move(reason));
      self->closing_->linger.async_wait([self](const boost::system::error_code& ec) {
        if (!ec && self->closing_) self->shut(self->closing_->reason);
      });
    });
  }

  [[nodiscard]] size_t pending_bytes() const override { return pending_.load(); }
  [[nodiscard]] std::string remote_address() const override { return remote_; }
  void dispatch(std::function<void()> task) override { net::dispatch(executor_.get(), std::move(task)); }
  [[nodiscard]] net::any_io_executor executor() const override { return executor_.get(); }

 protected:
  Derived& derived() { return static_cast<Derived&>(*this); }

  // On the strand: queues a frame (a WebSocket channel's own control frames come here too), its
  // bytes already in pending_ if `counted`.
  void enqueue(Outgoing out, bool counted = false) {
    if (closed_) {
      if (counted) pending_ -= out.bytes.size();
      return;
    }
    if (!counted) pending_ += out.bytes.size();
    queue_.push_back(std::move(out));
    if (queue_.size() == 1 && writing_.empty()) derived().write_front();
  }

  // On the strand, with no write in flight: moves up to `max_frames` queued frames to writing_,
  // where they stay put until written. (In queue_ they could move: a vector that grows moves its
  // strings, and a short string's bytes move with it, under a write that is still reading them.)
  // Taking them all takes the queue's buffer itself, and the queue starts again with none.
  void take_for_writing(size_t max_frames) {
    if (queue_.size() <= max_frames) {
      writing_.swap(queue_);
      return;
    }
    const auto n = static_cast<std::ptrdiff_t>(max_frames);  // fewer than are queued
    writing_.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + n));
    queue_.erase(queue_.begin(), queue_.begin() + n);
  }

  void deliver(std::string frame) {
    if (!closed_ && listener_) listener_->on_frame(std::move(frame));
  }

  // Completes the write of writing_: the next one starts, or the channel closes on error.
  auto write_handler() {
    return [self = this->shared_from_this()](boost::system::error_code ec, size_t) {
      // A peer that sent its close and went fails our reply: the reason is still its close.
      if (ec) return self->shut(self->closing_ ? self->closing_->reason : "write failed: " + ec.message());
      self->wrote();
    };
  }

  void wrote() {
    // A write that completed while shut() ran (its handler was already queued) finds writing_
    // emptied and its bytes already uncounted.
    if (closed_) return;
    for (const auto& f : writing_) pending_ -= f.bytes.size();
    // Freed, not kept: an idle channel holds no write buffer (~0.18 KB of each idle Big Peer
    // session), and a busy one allocates one per write, beside the write's own operation.
    std::vector<Outgoing>().swap(writing_);
    if (!queue_.empty()) {
      derived().write_front();
    } else if (closing_) {
      shut(closing_->reason);
    }
  }

  // On the strand: closes once and tells the handler why.
  void shut(std::string reason) {
    if (closed_) return;
    closed_ = true;
    if (closing_) closing_->linger.cancel();
    derived().close_transport();
    for (const auto& f : queue_) pending_ -= f.bytes.size();
    for (const auto& f : writing_) pending_ -= f.bytes.size();
    queue_.clear();
    writing_.clear();  // the transport is closed: the write in flight ends aborted, reading nothing
    if (auto listener = std::move(listener_)) listener->on_closed(std::move(reason));
  }

  KeptExecutor<Executor> executor_;
  std::shared_ptr<Listener> listener_;
  // Frames waiting to be written (those being written are in writing_). A short vector: a session
  // has a few batches and ACKs in flight; an idle session's holds no buffer (take_for_writing takes
  // the queue's, and wrote() frees it).
  std::vector<Outgoing> queue_;
  std::vector<Outgoing> writing_;  // the frames of the write in flight, if any
  std::atomic<size_t> pending_{0};
  // While queued frames drain before closing: why, and the deadline that closes anyway. Made then,
  // not held by every channel (a Big Peer holds one per connected device; see closed_).
  struct Closing {
    Closing(const Executor& executor, std::string why) : reason(std::move(why)), linger(executor, std::chrono::seconds(2)) {}
    const std::string reason;
    net::steady_timer linger;
  };
  std::unique_ptr<Closing> closing_;
  std::string remote_;
  // Last, so that a derived channel's small fields fill the padding after it (the Itanium C++ ABI
  // places them there): with the above, that keeps a server channel in jemalloc's 256-byte class.
  bool closed_ = false;
};

// Plain (ws://) or TLS (wss://): Stream is SyncTcpStream or beast::ssl_stream<SyncTcpStream>.
template <typename Stream>
class WebSocketChannel final : public ChannelBase<WebSocketChannel<Stream>, SyncStrand> {
  using Base = ChannelBase<WebSocketChannel<Stream>, SyncStrand>;

 public:
  WebSocketChannel(websocket::stream<Stream> ws, std::shared_ptr<void> keep_alive)
      : Base(ws.get_executor()), ws_(std::move(ws)), keep_alive_(std::move(keep_alive)) {
    this->remote_ = endpoint_text(beast::get_lowest_layer(ws_).socket());
    // Each frame goes out at once. With Nagle's algorithm a large frame's last segment waited for
    // the receiver's delayed ACK (40 ms on Linux): a device's log upload stalled that long on
    // every chunk. The Big Peer sets it on the sockets it accepts; this covers a device's dial too.
    boost::system::error_code ec;
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ec);
    ws_.binary(true);
    set_max_frame_bytes(kMaxHandshakeFrameBytes);
    // Pings keep a quiet connection alive and find a dead one within the idle timeout.
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(10);
    t.idle_timeout = std::chrono::seconds(30);
    t.keep_alive_pings = true;
    ws_.set_option(t);
    beast::get_lowest_layer(ws_).expires_never();
  }

  // A message is read in two steps. First the frame's 4-byte length prefix, into the channel
  // itself, so a waiting read holds no buffer (reading the whole message at once, Beast prepared a
  // 1,536-byte string before the socket had data: every idle session held one). Then the rest,
  // straight into a string reserved to the frame's size (the prefix's claim, at most the frame
  // limit and 64 KiB), which is handed on whole: one allocation for a report, no copy out of a
  // read buffer.
  void read_next() {
    prefix_bytes_ = 0;
    read_prefix();
  }

  // Reads the rest of the prefix (a message may bring it in pieces), then the rest of the message.
  void read_prefix() {
    ws_.async_read_some(net::buffer(prefix_.data() + prefix_bytes_, prefix_.size() - prefix_bytes_),
                        ([self = this->shared_from_this()](beast::error_code ec, size_t n) {
                          if (self->read_failed(ec)) return;
                          self->prefix_bytes_ += n;
                          const bool done = self->ws_.is_message_done();
                          if (self->prefix_bytes_ < self->prefix_.size() && !done) return self->read_prefix();
                          // A message of fewer than 4 bytes goes on as it is: the decoder refuses it.
                          self->frame_.reserve(done ? self->prefix_bytes_ : self->claimed_frame_bytes());
                          self->frame_.assign(self->prefix_.begin(),
                                              self->prefix_.begin() + static_cast<std::ptrdiff_t>(self->prefix_bytes_));
                          if (done) return self->delivered();
                          self->reading_.emplace(self->frame_);  // Beast's read_message_max bounds the message
                          self->ws_.async_read(*self->reading_, [self](beast::error_code e, size_t) {
                            if (!self->read_failed(e)) self->delivered();
                          });
                        }));
  }

  // The frame size the prefix claims, at most the message limit and kReserveStep: a claim alone
  // reserves no more than that (a larger frame's string grows as its bytes arrive).
  [[nodiscard]] size_t claimed_frame_bytes() const {
    constexpr uint64_t kReserveStep = uint64_t{64} * 1024;
    return static_cast<size_t>(std::min({uint64_t{prefix_length(prefix_)} + 4, max_message_bytes_, kReserveStep}));
  }

  // True (and the channel shut) when a read failed.
  bool read_failed(const beast::error_code& ec) {
    if (!ec) return false;
    this->shut(ec == websocket::error::closed ? "closed by peer" : ec.message());
    return true;
  }

  // The whole message is in frame_: hands it on and reads the next.
  void delivered() {
    reading_.reset();
    this->deliver(std::exchange(frame_, std::string()));
    if (!this->closed_) read_next();
  }

  void write_front() {
    this->take_for_writing(1);
    ws_.async_write(net::buffer(this->writing_.front().bytes), this->write_handler());
  }

  // A message is one frame: its 4-byte length prefix and at most `bytes` of type and payload.
  void set_max_frame_bytes(uint32_t bytes) override {
    max_message_bytes_ = uint64_t{bytes} + 4;
    ws_.read_message_max(max_message_bytes_);
  }

  void close_transport() {
    boost::system::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).close();
  }

 private:
  websocket::stream<Stream> ws_;
  std::array<unsigned char, 4> prefix_{};  // the message's first bytes: its frame's length prefix
  size_t prefix_bytes_ = 0;                // of prefix_, read so far
  uint64_t max_message_bytes_ = 0;         // set_max_frame_bytes's limit, prefix included
  std::string frame_;                      // the message being read
  std::optional<net::dynamic_string_buffer<char, std::char_traits<char>, std::allocator<char>>> reading_;  // over frame_
  std::shared_ptr<void> keep_alive_;  // the TLS context, for a wss:// channel
};

// The close frame that answers the peer's: its status code echoed (RFC 6455, 5.5.1), or 1002 for a
// payload that cannot be one (a single byte, a code no endpoint may send).
std::string close_reply(const std::string& payload) {
  if (payload.empty()) return {};
  const unsigned code =
      payload.size() < 2 ? 0U : (unsigned{static_cast<unsigned char>(payload[0])} << 8) | static_cast<unsigned char>(payload[1]);
  const bool valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
  return valid ? payload.substr(0, 2) : std::string("\x03\xea", 2);
}

class ServerWebSocketChannel;

// A server channel's executor: its io_context's own. The Big Peer runs each sync io_context on one
// thread, so the channel's handlers run one at a time without a strand.
using ServerExecutor = net::io_context::executor_type;

// The server channels of one io_context (one I/O thread): an epoll instance of their own watches
// their descriptors (level-triggered), and the io_context waits on it as on one descriptor; one
// timer checks their keep-alive. A connection costs one entry in its list and in the epoll
// instance, where through Asio it held a descriptor state (192 bytes) and a pending wait for bytes
// (96) of its own (bigpeer/BENCHMARKS.md, "A reactor of the server channels' own"). A channel is
// listed from its start until it closes, and the list holds it, as its pending wait did. All of it
// runs on the io_context's one thread; when the last channel goes, neither wait is left pending,
// so an io_context with nothing else to do runs out of work.
class ServerReactor : public net::io_context::service {
 public:
  static inline net::io_context::id id;
  explicit ServerReactor(net::io_context& io);
  ServerReactor(const ServerReactor&) = delete;
  ServerReactor& operator=(const ServerReactor&) = delete;
  ~ServerReactor() override = default;

  // Lists `channel` and watches its descriptor for reading; ticks at least every keep_alive / 8
  // (10 ms to 1 s). Returns why it cannot (empty if it could).
  std::string add(const std::shared_ptr<ServerWebSocketChannel>& channel, std::chrono::milliseconds keep_alive);
  // Watches `channel`'s descriptor for `events` (EPOLLIN, EPOLLOUT, both or none) from now on.
  // Returns why it cannot (empty if it could).
  std::string watch(ServerWebSocketChannel& channel, uint32_t events);
  // Unlists `channel` (idempotent), before its descriptor closes. The list's reference to it goes
  // after the handler running now, which may be the channel's own.
  // NOLINTNEXTLINE(bugprone-exception-escape): only a failed allocation throws here; terminating is right
  void remove(ServerWebSocketChannel& channel) noexcept;
  // The io_context is going: its channels are let go, as its pending handlers are destroyed.
  void shutdown() override;

 private:
  static constexpr int kMaxEventsPerWake = 64;
  void wait();  // for the epoll instance to have events
  void ready();
  void arm_timer();
  void tick();

  net::posix::stream_descriptor epoll_;
  std::string epoll_error_;  // why there is no epoll instance, if there is none
  net::steady_timer timer_;
  std::vector<std::shared_ptr<ServerWebSocketChannel>> channels_;
  std::vector<std::shared_ptr<ServerWebSocketChannel>> removed_;  // let go after the running handler
  std::chrono::milliseconds interval_{1000};
  uint32_t generation_ = 0;  // of the waits: a wait set before the list last emptied is stale
  bool waiting_ = false;
  bool ticking_ = false;
  bool release_posted_ = false;
};

// The Big Peer's side of a plain (ws://) WebSocket whose upgrade is done, without Beast or Asio's
// sockets: its io_context's ServerReactor says when the descriptor is readable (or, while a write
// waits for room, writable), and it reads what is there into one buffer per I/O thread and parses
// the frames out of it (WebSocketReader): a waiting connection holds no read buffer, and a report
// costs one read of the socket.
//
// What a peer can make it hold is bounded: at most one pong waits to be sent (a newer ping replaces
// its payload, as RFC 6455 5.5.3 allows), reading stops while more than kMaxWaitingFrames frames
// (ACKs, say) wait to be written to a peer that does not read, and one wake-up reads at most kMaxReadsPerWake
// buffers, so a fast sender does not keep the I/O thread from its timers and other sessions (the
// epoll instance is level-triggered: what is left is reported at the next wake-up).
class ServerWebSocketChannel final : public ChannelBase<ServerWebSocketChannel, ServerExecutor> {
 public:
  // `descriptor`: the connected socket, non-blocking, owned from now on (-1 if there is none).
  // `handover_error`: why the socket could not be taken over (empty if it was): the channel then
  // closes as it starts, with that reason.
  ServerWebSocketChannel(ServerExecutor executor, int descriptor, std::string remote, std::chrono::milliseconds keep_alive,
                         const std::string& handover_error)
      : ChannelBase(std::move(executor)),
        fd_(descriptor),
        keep_alive_ms_(
            static_cast<uint32_t>(std::clamp<std::chrono::milliseconds::rep>(keep_alive.count(), 1, kMaxKeepAlive.count()))) {
    remote_ = std::move(remote);
    set_max_frame_bytes(kMaxHandshakeFrameBytes);
    if (!handover_error.empty()) {
      closing_ = std::make_unique<Closing>(executor_.get(), "cannot take over the connection: " + handover_error);
    }
  }

  ServerWebSocketChannel(const ServerWebSocketChannel&) = delete;
  ServerWebSocketChannel& operator=(const ServerWebSocketChannel&) = delete;
  ~ServerWebSocketChannel() override {
    if (fd_ >= 0) ::close(fd_);  // never started, or its io_context went first
  }

  // Called once, by start(): the descriptor and the keep-alive watched from now on.
  void read_next() {
    if (closed_) return;                          // closed before it started
    if (closing_) return shut(closing_->reason);  // the hand-over failed: nothing was sent or read
    heard();
    auto error = reactor().add(shared_from_this(), keep_alive());
    if (!error.empty()) shut("cannot watch the connection: " + error);
  }

  // From the reactor: what epoll reported for the descriptor.
  void on_events(uint32_t events) {
    if (closed_) return;  // closed by an earlier event of the same wake-up
    if (write_blocked_ && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) write_some();
    if (closed_) return;
    if (!read_paused_ && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) return read_available();
    // Reported whatever is watched: the peer is gone, and a read would not find out while paused.
    if ((events & EPOLLERR) != 0) return lost(socket_error());
    if ((events & EPOLLHUP) != 0 && !write_blocked_) return lost("closed by peer");
  }

  // From the reactor: its wait failed, so nothing more would be heard.
  void fail(const std::string& why) {
    if (!closed_) shut(why);
  }

  // Frames were queued with none being written, or a write completed with more queued: writes them
  // once the handlers already waiting on its thread have run, all in one write. The writer thread
  // commits a session's batches in one group and their ACKs arrive together: one sendmsg for all.
  void write_front() {
    net::post(executor_.get(), [self = shared_from_this()] {
      if (!self->closed_ && self->writing_.empty() && !self->queue_.empty()) self->write_queued();
    });
  }

  // A message is one frame: its 4-byte length prefix and at most `bytes` of type and payload.
  void set_max_frame_bytes(uint32_t bytes) override { reader_.set_max_message_bytes(uint64_t{bytes} + 4); }

  void close_transport() {
    if (listed_at_ != kNotListed) reactor().remove(*this);
    if (fd_ < 0) return;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    fd_ = -1;
  }

 private:
  static constexpr size_t kMaxWaitingFrames = 64;  // a session has a few batches and ACKs waiting
  static constexpr int kMaxReadsPerWake = 4;
  static constexpr size_t kMaxFramesPerWrite = 16;  // 32 buffers, within one sendmsg's gather list
  static_assert(kMaxFramesPerWrite * (uint64_t{kMaxFrameBytes} + 10) < UINT32_MAX, "written_ counts a write's bytes in 32 bits");

  ServerReactor& reactor() { return net::use_service<ServerReactor>(executor_.get().context()); }

  // True if the reactor's tick should have this channel check its keep-alive: quiet for its
  // interval with no ping sent since, or for twice its interval.
  [[nodiscard]] bool keep_alive_due(std::chrono::steady_clock::time_point now) const {
    const auto quiet = quiet_at(now);
    return quiet >= 2 * keep_alive() || (quiet >= keep_alive() && !pinged_);
  }

  // A connection quiet for keep_alive_ is pinged, and closed once quiet for twice that (a pong or
  // any other byte counts): with the default 15 s a dead peer is found within 30 s (and the tick
  // of 1 s). When the reactor's tick found it due.
  void check_keep_alive() {
    if (closed_ || closing_) return;
    const auto quiet = quiet_at(std::chrono::steady_clock::now());
    if (quiet >= 2 * keep_alive()) {
      return shut(fmt::format("nothing heard for {} ms (idle timeout)", 2 * keep_alive().count()));
    }
    if (quiet >= keep_alive() && !pinged_) {
      pinged_ = true;
      enqueue({std::string(), WebSocketOpcode::ping});
    }
  }

  [[nodiscard]] std::chrono::milliseconds keep_alive() const { return std::chrono::milliseconds(keep_alive_ms_); }

  // `at` in milliseconds of steady_clock, in 32 bits: it wraps every 49 days, and a difference
  // taken in 32 bits stays right across a wrap while it is shorter than that (a channel quiet for
  // twice its keep-alive, at most two days, is closed).
  static uint32_t millis32(std::chrono::steady_clock::time_point at) {
    return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count());
  }

  // How long nothing has come from the other side at `now`.
  [[nodiscard]] std::chrono::milliseconds quiet_at(std::chrono::steady_clock::time_point now) const {
    return std::chrono::milliseconds(static_cast<uint32_t>(millis32(now) - last_heard_ms_));
  }

  // A byte came from the other side.
  void heard() {
    last_heard_ms_ = millis32(std::chrono::steady_clock::now());
    pinged_ = false;
  }

  // What the reactor watches the descriptor for: bytes, unless reading is paused; room to write,
  // while a write waits for it.
  void watch() {
    auto error = reactor().watch(*this, (read_paused_ ? 0U : uint32_t{EPOLLIN}) | (write_blocked_ ? uint32_t{EPOLLOUT} : 0U));
    if (!error.empty()) shut("cannot watch the connection: " + error);
  }

  // The error pending on the socket, as text.
  [[nodiscard]] std::string socket_error() const {
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    return error == 0 ? "closed by peer" : std::system_category().message(error);
  }

  void write_queued() {
    take_for_writing(kMaxFramesPerWrite);
    for (Outgoing& frame : writing_) {
      frame.header_length = static_cast<uint8_t>(encode_websocket_header(frame.header, frame.opcode, frame.bytes.size()));
    }
    written_ = 0;
    write_some();
  }

  // Writes what is left of writing_ (each frame's header beside it; writing_ stays put until the
  // write completes) in one sendmsg. What the socket does not take waits until the reactor reports
  // room for it.
  void write_some() {
    std::array<iovec, 2 * kMaxFramesPerWrite> parts{};
    size_t count = 0;
    size_t skip = written_;
    size_t left = 0;
    const auto add = [&](const void* data, size_t size) {
      if (skip >= size) {
        skip -= size;
        return;
      }
      // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): iovec is for writing from, too
      parts.at(count++) = {const_cast<char*>(static_cast<const char*>(data)) + skip, size - skip};
      left += size - skip;
      skip = 0;
    };
    for (const Outgoing& frame : writing_) {
      add(frame.header.data(), frame.header_length);
      add(frame.bytes.data(), frame.bytes.size());
    }
    msghdr message{};
    message.msg_iov = parts.data();
    message.msg_iovlen = count;
    ssize_t n = 0;
    do {
      n = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      // A peer that sent its close and went fails our reply: the reason is still its close.
      return lost("write failed: " + std::system_category().message(errno));
    }
    if (n > 0) written_ += static_cast<uint32_t>(n);
    if (n < 0 || static_cast<size_t>(n) < left) {
      if (!write_blocked_) {
        write_blocked_ = true;
        watch();
      }
      return;
    }
    // Done: no longer watched for room (a level-triggered watch would report it again and again),
    // and a paused read goes on once the frames waiting fell back under the limit.
    bool rewatch = std::exchange(write_blocked_, false);
    wrote();
    if (read_paused_ && queue_.size() <= kMaxWaitingFrames && !closing_) {
      read_paused_ = false;
      rewatch = true;
    }
    if (rewatch && !closed_) watch();
  }

  // The I/O thread's read buffer (made on its first read), or, should a read ever run inside
  // another's delivery on the same thread, a buffer of this read's own.
  class ReadBuffer {
   public:
    ReadBuffer() {
      if (busy_) {
        own_ = std::make_unique<Bytes>();
      } else {
        busy_ = true;
        if (!thread_buffer_) thread_buffer_ = std::make_unique<Bytes>();
      }
    }
    ~ReadBuffer() {
      if (!own_) busy_ = false;
    }
    ReadBuffer(const ReadBuffer&) = delete;
    ReadBuffer& operator=(const ReadBuffer&) = delete;
    [[nodiscard]] net::mutable_buffer buffer() { return net::buffer(own_ ? *own_ : *thread_buffer_); }

   private:
    using Bytes = std::array<char, size_t{64} * 1024>;
    static thread_local std::unique_ptr<Bytes> thread_buffer_;
    static thread_local bool busy_;
    std::unique_ptr<Bytes> own_;
  };

  // Reads what the socket holds, delivering each message as it completes. A read that fills less
  // than the buffer emptied the socket, so a report costs one read.
  void read_available() {
    ReadBuffer read_buffer;
    const net::mutable_buffer buffer = read_buffer.buffer();
    for (int reads = 0; reads < kMaxReadsPerWake; ++reads) {
      const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0) return lost(std::system_category().message(errno));
      if (n == 0) return lost("closed by peer");
      heard();
      std::string_view rest(static_cast<const char*>(buffer.data()), static_cast<size_t>(n));
      while (!rest.empty() && !closed_ && !closing_) {
        auto step = reader_.read(rest);
        rest.remove_prefix(step.consumed);
        if (step.message) on_message(std::move(*step.message));
        if (step.refusal) return refuse(std::move(*step.refusal));
      }
      if (closed_ || closing_) return stop_reading();  // a closing channel only drains its writes
      if (static_cast<size_t>(n) < buffer.size()) break;
    }
    // A peer that does not read what it is sent is not read either, until the writes drain.
    if (queue_.size() > kMaxWaitingFrames) stop_reading();
  }

  // Reading pauses: until the frames waiting to be written fall back under kMaxWaitingFrames, or,
  // for a closing channel, for good.
  void stop_reading() {
    if (closed_ || read_paused_) return;
    read_paused_ = true;
    watch();
  }

  // The connection failed or the peer left: the channel closes, saying why, unless it was closing
  // already (a peer that sent its close and went fails our reply: the reason is still its close).
  void lost(std::string why) {
    if (closing_) why = closing_->reason;
    shut(std::move(why));
  }

  void on_message(WebSocketReader::Message message) {
    switch (message.opcode) {
      case WebSocketOpcode::close:
        // Answered, then the connection closes (RFC 6455, 5.5.1).
        enqueue({close_reply(message.payload), WebSocketOpcode::close});
        return close("closed by peer");
      case WebSocketOpcode::ping:
        // One pong waits at most: a newer ping's payload replaces the waiting one's.
        for (Outgoing& waiting : queue_) {
          if (waiting.opcode == WebSocketOpcode::pong) {
            pending_ -= waiting.bytes.size();
            pending_ += message.payload.size();
            waiting.bytes = std::move(message.payload);
            return;
          }
        }
        return enqueue({std::move(message.payload), WebSocketOpcode::pong});
      case WebSocketOpcode::pong:
        return;
      default:
        return deliver(std::move(message.payload));
    }
  }

  // The peer broke the framing rules or the size limit: a close frame with the code, then close.
  void refuse(WebSocketReader::Refusal refusal) {
    std::string code{static_cast<char>(refusal.code >> 8), static_cast<char>(refusal.code & 0xff)};
    enqueue({std::move(code), WebSocketOpcode::close});
    close(std::move(refusal.reason));
  }

  // First, into the padding after ChannelBase's last field (closed_): whether a ping went out since
  // a byte last came, whether reading is paused because too much waits to be written, whether a
  // write waits for room, and this channel's place in its reactor's list. That and the below keep
  // it, with shared_ptr's count, in jemalloc's 256-byte class. Everything is touched on the
  // channel's one thread only.
  bool pinged_ = false;
  bool read_paused_ = false;
  bool write_blocked_ = false;
  static constexpr uint32_t kNotListed = UINT32_MAX;
  uint32_t listed_at_ = kNotListed;
  int fd_;                // the socket; -1 once closed
  uint32_t written_ = 0;  // bytes of writing_ written so far
  WebSocketReader reader_;
  // The keep-alive interval, and when a byte last came (millis32): 32 bits each.
  static constexpr std::chrono::milliseconds kMaxKeepAlive = std::chrono::hours(24);
  uint32_t keep_alive_ms_;
  uint32_t last_heard_ms_ = 0;
  friend class ServerReactor;
};

// With shared_ptr's count beside it (make_shared), jemalloc's 256-byte class: an idle Big Peer holds
// one per connected device.
static_assert(sizeof(ServerWebSocketChannel) <= 240 || sizeof(void*) != 8, "a server channel outgrew its size class");

ServerReactor::ServerReactor(net::io_context& io) : net::io_context::service(io), epoll_(io), timer_(io) {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) {
    epoll_error_ = "cannot make an epoll instance: " + std::system_category().message(errno);
    return;
  }
  boost::system::error_code ec;
  epoll_.assign(fd, ec);
  if (ec) {
    ::close(fd);
    epoll_error_ = "cannot watch an epoll instance: " + ec.message();
  }
}

std::string ServerReactor::add(const std::shared_ptr<ServerWebSocketChannel>& channel, std::chrono::milliseconds keep_alive) {
  if (!epoll_.is_open()) return epoll_error_.empty() ? "the I/O thread is shutting down" : epoll_error_;
  if (channel->listed_at_ != ServerWebSocketChannel::kNotListed) return {};
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = channel.get();
  if (::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_ADD, channel->fd_, &event) != 0) return std::system_category().message(errno);
  channel->listed_at_ = static_cast<uint32_t>(channels_.size());  // one per open descriptor: far below 2^32
  channels_.push_back(channel);
  // The interval only shrinks: a thread that once served a short keep-alive keeps ticking at its pace.
  const auto wanted = std::clamp(keep_alive / 8, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
  if (wanted < interval_) {
    interval_ = wanted;
    ticking_ = false;  // the tick pending, if any, is for the longer interval: set it again
  }
  if (!waiting_) wait();
  if (!ticking_) arm_timer();
  return {};
}

std::string ServerReactor::watch(ServerWebSocketChannel& channel, uint32_t events) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = &channel;
  if (::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_MOD, channel.fd_, &event) != 0) return std::system_category().message(errno);
  return {};
}

// NOLINTNEXTLINE(bugprone-exception-escape): see the declaration
void ServerReactor::remove(ServerWebSocketChannel& channel) noexcept {
  const uint32_t at = channel.listed_at_;
  if (at == ServerWebSocketChannel::kNotListed) return;
  ::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_DEL, channel.fd_, nullptr);  // before the descriptor closes
  removed_.push_back(std::move(channels_[at]));
  if (at + 1 < channels_.size()) {
    channels_[at] = std::move(channels_.back());
    channels_[at]->listed_at_ = at;
  }
  channels_.pop_back();
  channel.listed_at_ = ServerWebSocketChannel::kNotListed;
  if (channels_.empty()) {
    // Nothing to watch: an io_context with nothing else to do runs out of work.
    ++generation_;
    waiting_ = false;
    ticking_ = false;
    epoll_.cancel();
    timer_.cancel();
  }
  // The channel may be the one whose handler runs now, and an event of this wake-up may still name
  // it: it goes once the handler is done.
  if (!release_posted_) {
    release_posted_ = true;
    net::post(get_io_context(), [this] {
      release_posted_ = false;
      auto gone = std::exchange(removed_, {});
    });
  }
}

void ServerReactor::shutdown() {
  ++generation_;
  waiting_ = false;
  ticking_ = false;
  auto gone = std::exchange(channels_, {});
  for (const auto& channel : gone) channel->listed_at_ = ServerWebSocketChannel::kNotListed;
  removed_.clear();
  boost::system::error_code ec;
  timer_.cancel();
  epoll_.close(ec);
}

void ServerReactor::wait() {
  waiting_ = true;
  epoll_.async_wait(net::posix::descriptor_base::wait_read,
                    [this, generation = generation_](const boost::system::error_code& ec) {
                      if (generation != generation_) return;  // cancelled when the list emptied, or overtaken since
                      waiting_ = false;
                      if (!ec) return ready();
                      // Nothing would be heard on this thread again: its connections close, and their peers reconnect.
                      const auto listed = channels_;
                      for (const auto& channel : listed) channel->fail("cannot wait for the connections: " + ec.message());
                    });
}

void ServerReactor::ready() {
  std::array<epoll_event, kMaxEventsPerWake> events{};
  const int n = ::epoll_wait(epoll_.native_handle(), events.data(), kMaxEventsPerWake, 0);
  // Each channel named is alive: listed, or removed during this handler and released after it.
  for (int i = 0; i < n; ++i) {
    const epoll_event& event = events.at(static_cast<size_t>(i));
    static_cast<ServerWebSocketChannel*>(event.data.ptr)->on_events(event.events);
  }
  if (!channels_.empty() && !waiting_) wait();
}

void ServerReactor::arm_timer() {
  ticking_ = true;
  timer_.expires_after(interval_);  // cancels a wait pending
  timer_.async_wait([this, generation = generation_](const boost::system::error_code& ec) {
    if (ec || generation != generation_) return;
    ticking_ = false;
    tick();
  });
}

void ServerReactor::tick() {
  const auto now = std::chrono::steady_clock::now();
  // Collected first: a check may close its channel, which leaves the list.
  std::vector<std::shared_ptr<ServerWebSocketChannel>> due;
  for (const auto& channel : channels_) {
    if (channel->keep_alive_due(now)) due.push_back(channel);
  }
  for (const auto& channel : due) channel->check_keep_alive();
  if (!channels_.empty() && !ticking_) arm_timer();
}

thread_local std::unique_ptr<ServerWebSocketChannel::ReadBuffer::Bytes> ServerWebSocketChannel::ReadBuffer::thread_buffer_;
thread_local bool ServerWebSocketChannel::ReadBuffer::busy_ = false;

class TcpChannel final : public ChannelBase<TcpChannel, net::any_io_executor> {
 public:
  explicit TcpChannel(tcp::socket socket) : ChannelBase(socket.get_executor()), socket_(std::move(socket)) {
    remote_ = endpoint_text(socket_);
    boost::system::error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
    socket_.set_option(net::socket_base::keep_alive(true), ec);
  }

  void read_next() {
    net::async_read(socket_, net::buffer(header_), ([self = shared_from_this()](boost::system::error_code ec, size_t) {
                      if (ec) {
                        self->shut(ec == net::error::eof ? "closed by peer" : ec.message());
                        return;
                      }
                      const uint32_t len = prefix_length(self->header_);
                      if (len == 0 || len > self->max_frame_bytes_) {
                        self->shut(fmt::format("frame of {} bytes refused (limit {} bytes)", len, self->max_frame_bytes_));
                        return;
                      }
                      self->frame_bytes_ = 4 + size_t{len};
                      self->body_.assign(self->header_.begin(), self->header_.end());
                      self->read_body();
                    }));
  }

  void write_front() {
    take_for_writing(1);
    net::async_write(socket_, net::buffer(writing_.front().bytes), write_handler());
  }

  void close_transport() {
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  void set_max_frame_bytes(uint32_t bytes) override { max_frame_bytes_ = bytes; }

 private:
  // Reads the rest of the frame at most kReadStep bytes at a time, so the buffer grows with what
  // arrives: a peer that announces 4 MiB and sends nothing more costs one small step, not 4 MiB.
  void read_body() {
    constexpr size_t kReadStep = size_t{64} * 1024;
    const size_t have = body_.size();
    const size_t step = std::min(kReadStep, frame_bytes_ - have);
    body_.resize(have + step);
    socket_.async_read_some(net::buffer(body_.data() + have, step),
                            ([self = shared_from_this(), have](boost::system::error_code ec, size_t n) {
                              if (ec) {
                                self->shut(ec == net::error::eof ? "closed by peer" : ec.message());
                                return;
                              }
                              self->body_.resize(have + n);
                              if (self->body_.size() < self->frame_bytes_) return self->read_body();
                              self->deliver(std::move(self->body_));
                              self->body_ = std::string();
                              if (!self->closed_) self->read_next();
                            }));
  }

  tcp::socket socket_;
  std::array<unsigned char, 4> header_{};
  std::string body_;        // the frame read so far, length prefix included
  size_t frame_bytes_ = 0;  // the whole frame's size, once its header is in
  uint32_t max_frame_bytes_ = kMaxHandshakeFrameBytes;
};

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto address = net::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

}  // namespace

std::shared_ptr<FrameChannel> make_websocket_channel(websocket::stream<SyncTcpStream> ws) {
  return std::make_shared<WebSocketChannel<SyncTcpStream>>(std::move(ws), nullptr);
}

std::shared_ptr<FrameChannel> make_websocket_channel(websocket::stream<beast::ssl_stream<SyncTcpStream>> ws,
                                                     std::shared_ptr<void> keep_alive) {
  return std::make_shared<WebSocketChannel<beast::ssl_stream<SyncTcpStream>>>(std::move(ws), std::move(keep_alive));
}

std::shared_ptr<FrameChannel> make_server_websocket_channel(SyncSocket socket, std::chrono::milliseconds keep_alive) {
  // The descriptor leaves Asio (no operation is pending on it after the upgrade): the channel reads
  // and writes it itself, watched by its io_context's ServerReactor. If that fails (the client
  // left), the channel closes as it starts, saying why.
  auto executor = socket.get_executor().get_inner_executor().context().get_executor();
  std::string remote = endpoint_text(socket);
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);  // each frame goes out at once (see WebSocketChannel)
  int descriptor = -1;
  if (socket.is_open()) {
    descriptor = socket.release(ec);
  } else {
    ec = net::error::bad_descriptor;
  }
  if (!ec) {
    const int flags = ::fcntl(descriptor, F_GETFL);
    if (flags < 0 || ::fcntl(descriptor, F_SETFL, flags | O_NONBLOCK) != 0) ec.assign(errno, boost::system::system_category());
  }
  return std::make_shared<ServerWebSocketChannel>(executor, descriptor, std::move(remote), keep_alive,
                                                  ec ? ec.message() : std::string());
}

std::shared_ptr<FrameChannel> make_tcp_channel(tcp::socket socket) {
  return std::make_shared<TcpChannel>(std::move(socket));
}

std::pair<std::string, uint16_t> parse_host_port(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {  // [::1]:4000
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw Error(ErrorCode::invalid_argument, fmt::format("'{}' is not host:port", text));
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      throw Error(ErrorCode::invalid_argument, fmt::format("'{}' is not host:port", text));
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  if (port.empty() || port.size() > 5) throw Error(ErrorCode::invalid_argument, fmt::format("'{}' has no valid port", text));
  for (char c : port) {
    if (c < '0' || c > '9') throw Error(ErrorCode::invalid_argument, fmt::format("'{}' has no valid port", text));
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) throw Error(ErrorCode::invalid_argument, fmt::format("port {} in '{}' is out of range", value, text));
  return {std::string(host), static_cast<uint16_t>(value)};
}

WebSocketUrl parse_websocket_url(std::string_view url) {
  WebSocketUrl parsed;
  std::string_view rest;
  if (url.starts_with("wss://")) {
    parsed.tls = true;
    parsed.port = 443;
    rest = url.substr(6);
  } else if (url.starts_with("ws://")) {
    rest = url.substr(5);
  } else {
    throw Error(ErrorCode::invalid_argument, fmt::format("Big Peer URL '{}' must start with wss:// or ws://", url));
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  parsed.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.empty()) throw Error(ErrorCode::invalid_argument, fmt::format("Big Peer URL '{}' has no host", url));
  if (authority.find(':') == std::string_view::npos || (authority.starts_with('[') && authority.ends_with(']'))) {
    parsed.host = std::string(authority.starts_with('[') ? authority.substr(1, authority.size() - 2) : authority);
  } else {
    try {
      std::tie(parsed.host, parsed.port) = parse_host_port(authority);
    } catch (const Error& e) {
      throw Error(ErrorCode::invalid_argument, fmt::format("Big Peer URL '{}': {}", url, e.what()));
    }
  }
  if (parsed.host.empty()) throw Error(ErrorCode::invalid_argument, fmt::format("Big Peer URL '{}' has no host", url));
  for (char c : parsed.path) {
    if (c == ' ' || static_cast<unsigned char>(c) < 0x20) {
      throw Error(ErrorCode::invalid_argument, fmt::format("Big Peer URL '{}' has an invalid path", url));
    }
  }
  // Credentials cross the connection: plain ws:// only where no network can see it.
  if (!parsed.tls && !is_loopback_host(parsed.host)) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("Big Peer URL '{}': plain ws:// is only allowed to loopback hosts; other hosts need wss://", url));
  }
  return parsed;
}

namespace {
template <typename Stream>
struct WebSocketAttempt {
  tcp::resolver resolver;
  websocket::stream<Stream> ws;
  WebSocketUrl url;
  std::shared_ptr<void> keep_alive;
  std::function<void(std::shared_ptr<FrameChannel>, std::string)> done;
};

template <typename Stream>
void websocket_handshake(const std::shared_ptr<WebSocketAttempt<Stream>>& a, const tcp::endpoint& ep) {
  const std::string host = fmt::format("{}:{}", a->url.host, ep.port());
  a->ws.async_handshake(host, a->url.path, [a](beast::error_code ec) {
    if (ec) return a->done(nullptr, fmt::format("WebSocket handshake with {} failed: {}", a->url.host, ec.message()));
    beast::get_lowest_layer(a->ws).expires_never();
    if constexpr (std::is_same_v<Stream, SyncTcpStream>) {
      a->done(make_websocket_channel(std::move(a->ws)), {});
    } else {
      a->done(make_websocket_channel(std::move(a->ws), a->keep_alive), {});
    }
  });
}

template <typename Stream>
void resolve_and_connect(const std::shared_ptr<WebSocketAttempt<Stream>>& a, std::chrono::milliseconds timeout) {
  a->resolver.async_resolve(
      a->url.host, std::to_string(a->url.port), [a, timeout](beast::error_code ec, const tcp::resolver::results_type& results) {
        if (ec) return a->done(nullptr, fmt::format("cannot resolve {}: {}", a->url.host, ec.message()));
        beast::get_lowest_layer(a->ws).expires_after(timeout);
        beast::get_lowest_layer(a->ws).async_connect(results, [a](beast::error_code ec, const tcp::endpoint& ep) {
          if (ec) return a->done(nullptr, fmt::format("cannot connect to {}:{}: {}", a->url.host, a->url.port, ec.message()));
          if constexpr (std::is_same_v<Stream, SyncTcpStream>) {
            websocket_handshake(a, ep);
          } else {
            // SNI, so a Big Peer behind a name-based load balancer presents the right certificate.
            if (!SSL_set_tlsext_host_name(a->ws.next_layer().native_handle(), a->url.host.c_str())) {
              return a->done(nullptr, fmt::format("cannot set TLS server name {}", a->url.host));
            }
            a->ws.next_layer().async_handshake(net::ssl::stream_base::client, [a, ep](beast::error_code ec) {
              if (ec) return a->done(nullptr, fmt::format("TLS handshake with {} failed: {}", a->url.host, ec.message()));
              websocket_handshake(a, ep);
            });
          }
        });
      });
}
}  // namespace

void connect_websocket(net::io_context& io, const WebSocketUrl& url, std::chrono::milliseconds timeout,
                       const TlsClientOptions& tls, std::function<void(std::shared_ptr<FrameChannel>, std::string)> done) {
  auto strand = net::make_strand(io);
  if (!url.tls) {
    auto a = std::make_shared<WebSocketAttempt<SyncTcpStream>>(WebSocketAttempt<SyncTcpStream>{
        tcp::resolver(strand), websocket::stream<SyncTcpStream>(strand), url, nullptr, std::move(done)});
    return resolve_and_connect(a, timeout);
  }
  auto context = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
  boost::system::error_code ec;
  context->set_verify_mode(net::ssl::verify_peer, ec);
  if (tls.ca_file.empty()) {
    context->set_default_verify_paths(ec);
  } else {
    context->load_verify_file(tls.ca_file, ec);
  }
  if (ec) {
    return done(nullptr, fmt::format("cannot load trusted certificates {}: {}", tls.ca_file.empty() ? "(system)" : tls.ca_file,
                                     ec.message()));
  }
  using Tls = beast::ssl_stream<SyncTcpStream>;
  auto a = std::make_shared<WebSocketAttempt<Tls>>(
      WebSocketAttempt<Tls>{tcp::resolver(strand), websocket::stream<Tls>(strand, *context), url, context, std::move(done)});
  a->ws.next_layer().set_verify_callback(net::ssl::host_name_verification(url.host), ec);
  resolve_and_connect(a, timeout);
}

void connect_tcp(net::io_context& io, const std::string& host, uint16_t port, std::chrono::milliseconds timeout,
                 std::function<void(std::shared_ptr<FrameChannel>, std::string)> done) {
  struct Attempt {
    tcp::resolver resolver;
    beast::tcp_stream stream;
    std::string host;
    uint16_t port;
    std::function<void(std::shared_ptr<FrameChannel>, std::string)> done;
  };
  auto strand = net::make_strand(io);
  auto a = std::make_shared<Attempt>(Attempt{tcp::resolver(strand), beast::tcp_stream(strand), host, port, std::move(done)});
  a->resolver.async_resolve(
      a->host, std::to_string(port), [a, timeout](beast::error_code ec, const tcp::resolver::results_type& results) {
        if (ec) return a->done(nullptr, fmt::format("cannot resolve {}: {}", a->host, ec.message()));
        a->stream.expires_after(timeout);
        a->stream.async_connect(results, [a](beast::error_code ec, const tcp::endpoint&) {
          if (ec) return a->done(nullptr, fmt::format("cannot connect to {}:{}: {}", a->host, a->port, ec.message()));
          a->stream.expires_never();
          a->done(make_tcp_channel(a->stream.release_socket()), {});
        });
      });
}

}  // namespace smallpeer::sync
