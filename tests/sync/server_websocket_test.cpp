// The Big Peer's side of a WebSocket (make_server_websocket_channel, core/sync/channel.h) against a
// real Beast client over loopback: messages both ways, a ping answered with its pong, a close
// answered with a close, a quiet client kept alive by pings, a silent one dropped, and a broken
// rule or an oversized claim answered with the close code before the connection ends; keep-alive
// from one timer per I/O thread.
#include <gtest/gtest.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sync/channel.h"
#include "sync/protocol.h"

namespace smallpeer::sync {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// A channel listener made of two functions, for tests that watch a channel without a session.
class FunctionListener final : public FrameChannel::Listener {
 public:
  FunctionListener(std::function<void(std::string)> on_frame, std::function<void(std::string)> on_closed)
      : on_frame_(std::move(on_frame)), on_closed_(std::move(on_closed)) {}
  void on_frame(std::string frame) override { on_frame_(std::move(frame)); }
  void on_closed(std::string reason) override { on_closed_(std::move(reason)); }

 private:
  std::function<void(std::string)> on_frame_;
  std::function<void(std::string)> on_closed_;
};

// A loopback listener whose one connection is upgraded by Beast and then served by the channel
// under test, on an I/O thread of its own; it records what the channel delivers.
class Server {
 public:
  explicit Server(std::chrono::milliseconds keep_alive = 10s) : keep_alive_(keep_alive) {
    acceptor_.listen();
    acceptor_.async_accept(net::make_strand(io_), [this](boost::system::error_code ec, SyncSocket socket) {
      if (ec) return;
      auto ws = std::make_shared<websocket::stream<SyncTcpStream>>(SyncTcpStream(std::move(socket)));
      ws->async_accept([this, ws](boost::system::error_code ec) {
        if (ec) return;
        channel_ = make_server_websocket_channel(ws->next_layer().release_socket(), keep_alive_);
        channel_->start(std::make_shared<FunctionListener>(
            [this](std::string frame) {
              std::lock_guard lock(mutex_);
              frames_.push_back(std::move(frame));
              if (frames_.back() == "echo") channel_->send("echoed");
              // As a session does once authenticated: the next frame may be larger.
              if (frames_.back() == "raise") channel_->set_max_frame_bytes(1 << 20);
            },
            [this](std::string reason) { closed_.set_value(std::move(reason)); }));
        ready_.set_value();
      });
    });
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Server() {
    net::post(io_, [this] {
      if (channel_) channel_->close("test over");
      channel_.reset();
      acceptor_.close();
    });
    io_.stop();
    thread_.join();
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // A Beast client that completed the upgrade, on `io`.
  std::unique_ptr<websocket::stream<tcp::socket>> connect(net::io_context& io, int receive_buffer = 0) {
    auto ws = std::make_unique<websocket::stream<tcp::socket>>(io);
    ws->next_layer().open(tcp::v4());
    if (receive_buffer > 0) ws->next_layer().set_option(net::socket_base::receive_buffer_size(receive_buffer));
    ws->next_layer().connect(acceptor_.local_endpoint());
    ws->handshake("127.0.0.1", "/sync");
    ws->binary(true);
    ready_.get_future().wait();  // the channel serves the connection
    return ws;
  }
  // Why the server's channel closed, or "" if it did not within `wait` (ask once).
  std::string closed_within(std::chrono::milliseconds wait) {
    return closed_future_.wait_for(wait) == std::future_status::ready ? closed_future_.get() : std::string();
  }
  std::vector<std::string> frames() {
    std::lock_guard lock(mutex_);
    return frames_;
  }
  [[nodiscard]] std::chrono::milliseconds keep_alive() const { return keep_alive_; }
  // Bytes the channel holds to send, read on its I/O thread.
  size_t pending_bytes() {
    std::promise<size_t> bytes;
    net::post(io_, [&] { bytes.set_value(channel_->pending_bytes()); });
    return bytes.get_future().get();
  }
  // Sends `frames` from one handler on the channel's strand, as the ACKs of one group commit come.
  void send_together(std::vector<std::string> frames) {
    net::post(io_, [this, frames = std::move(frames)] {
      channel_->dispatch([this, frames] {
        for (const auto& f : frames) channel_->send(f);
      });
    });
  }

 private:
  std::chrono::milliseconds keep_alive_;
  net::io_context io_;
  tcp::acceptor acceptor_{io_, {net::ip::make_address("127.0.0.1"), 0}};
  std::shared_ptr<FrameChannel> channel_;
  std::mutex mutex_;
  std::vector<std::string> frames_;
  std::promise<std::string> closed_;
  std::promise<void> ready_;
  std::future<std::string> closed_future_ = closed_.get_future();
  std::thread thread_;
};

// Raw bytes from the client's socket until the server closes it.
std::string read_until_closed(tcp::socket& socket) {
  std::string bytes;
  std::array<char, 256> chunk{};
  boost::system::error_code ec;
  while (!ec) bytes.append(chunk.data(), socket.read_some(net::buffer(chunk), ec));
  return bytes;
}

TEST(ServerWebSocketTest, MessagesGoBothWaysAndAPingIsAnsweredWithItsPong) {
  Server server;
  net::io_context io;
  auto ws = server.connect(io);
  std::vector<std::string> pongs;
  ws->control_callback([&](websocket::frame_type kind, beast::string_view payload) {
    if (kind == websocket::frame_type::pong) pongs.emplace_back(payload);
  });
  ws->ping("are you there");
  ws->write(net::buffer(std::string("first")));
  ws->write(net::buffer(std::string(3000, 'b')));  // a 16-bit length
  ws->write(net::buffer(std::string("echo")));
  beast::flat_buffer reply;
  ws->read(reply);  // the pong comes first, through the control callback
  EXPECT_EQ(beast::buffers_to_string(reply.data()), "echoed");
  ASSERT_FALSE(pongs.empty());
  EXPECT_EQ(pongs.front(), "are you there");
  EXPECT_EQ(server.frames(), (std::vector<std::string>{"first", std::string(3000, 'b'), "echo"}));
}

TEST(ServerWebSocketTest, FramesQueuedTogetherGoOutTogetherInOrder) {
  Server server;
  net::io_context io;
  auto ws = server.connect(io);
  // The client waits in a read before the frames are queued, so a frame written alone would wake it alone.
  std::string got;
  std::thread reader([&] {
    std::array<char, 256> chunk{};
    boost::system::error_code ec;
    got.append(chunk.data(), ws->next_layer().read_some(net::buffer(chunk), ec));
  });
  std::this_thread::sleep_for(50ms);
  server.send_together({"one", "two", std::string(200, '3')});
  reader.join();
  const std::string expected = std::string("\x82\x03one\x82\x03two\x82\x7e\x00\xc8", 14) + std::string(200, '3');
  EXPECT_EQ(got, expected) << "the three frames, in order, in one write";
}

// More than the socket takes at once (a client with a small window that is not reading yet): the
// write waits for room, goes on where it stopped, inside a frame or between two, and every frame
// arrives whole and in order once the client reads, the first 16 in one write and the rest in the next.
TEST(ServerWebSocketTest, FramesLargerThanTheSocketTakesGoOutWholeAndInOrderOnceTheClientReads) {
  Server server;
  net::io_context io;
  auto ws = server.connect(io, 4096);
  constexpr size_t kFrames = 20;
  constexpr size_t kFrameBytes = 500'000;  // 10 MB in all: more than the buffers hold (the server's send buffer grows to 4 MB)
  std::vector<std::string> frames;
  for (size_t i = 0; i < kFrames; ++i) frames.emplace_back(kFrameBytes, static_cast<char>('a' + i));
  server.send_together(frames);
  std::this_thread::sleep_for(200ms);
  EXPECT_GT(server.pending_bytes(), 0U) << "the write waits for the client to read";
  for (size_t i = 0; i < kFrames; ++i) {
    beast::flat_buffer message;
    ws->read(message);
    ASSERT_EQ(beast::buffers_to_string(message.data()), frames[i]) << "frame " << i;
  }
  // Counted down once the write returns, which may be just after the client read its bytes.
  for (int i = 0; i < 100 && server.pending_bytes() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server.pending_bytes(), 0U);
  ws->write(net::buffer(std::string("after")));  // the channel still reads
  for (int i = 0; i < 100 && server.frames().empty(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server.frames(), std::vector<std::string>{"after"});
}

TEST(ServerWebSocketTest, ACloseIsAnsweredWithACloseAndEndsTheChannel) {
  Server server;
  net::io_context io;
  auto ws = server.connect(io);
  ws->close(websocket::close_code::normal);  // Beast waits for the server's close frame
  EXPECT_EQ(server.closed_within(5s), "closed by peer");
}

TEST(ServerWebSocketTest, AQuietClientIsKeptAliveByPingsAndASilentOneIsDropped) {
  constexpr auto kInterval = 400ms;
  {
    Server server(kInterval);
    net::io_context io;
    auto ws = server.connect(io);
    int pings = 0;
    ws->control_callback([&](websocket::frame_type kind, beast::string_view) { pings += kind == websocket::frame_type::ping; });
    // Reading answers each ping with a pong, as a small peer's session does while it waits.
    beast::flat_buffer buffer;
    ws->async_read(buffer, [](boost::system::error_code, size_t) {});
    io.run_for(kInterval * 6);
    EXPECT_GE(pings, 2) << "pinged each quiet interval";
    EXPECT_EQ(server.closed_within(0ms), "") << "a client that answers pings stays connected";
  }
  // This client never reads, so it never answers the ping it is sent.
  Server server(kInterval);
  net::io_context io;
  auto silent = server.connect(io);
  const std::string reason = server.closed_within(10s);
  EXPECT_NE(reason.find("idle timeout"), std::string::npos) << reason;
  EXPECT_EQ(read_until_closed(silent->next_layer()), std::string("\x89\x00", 2)) << "a ping, then the close";
}

// The channel takes the socket's descriptor onto its io_context's own executor. A socket that is
// no longer open when it is handed over (the client left during the upgrade) makes a channel that
// closes as it starts, naming why, rather than one that waits forever or throws.
TEST(ServerWebSocketTest, ASocketClosedBeforeTheHandOverClosesTheChannelAtStart) {
  net::io_context io;
  SyncSocket socket(net::make_strand(io));  // never opened
  auto channel = make_server_websocket_channel(std::move(socket));
  std::promise<std::string> closed;
  channel->start(std::make_shared<FunctionListener>([](const std::string& /*frame*/) {},
                                                    [&](std::string reason) { closed.set_value(std::move(reason)); }));
  io.run_for(5s);
  auto reason = closed.get_future();
  ASSERT_EQ(reason.wait_for(0s), std::future_status::ready) << "the channel never closed";
  EXPECT_NE(reason.get().find("cannot take over the connection: "), std::string::npos);
  EXPECT_EQ(channel->remote_address(), "unknown");
}

// Keep-alive runs from one timer per I/O thread (io_context), not one per connection: channels
// with different intervals on one io_context are each checked at their own pace, dropping one
// leaves the other alone, and once the last is gone the timer stops, so the io_context runs out of
// work and its run() returns.
TEST(ServerWebSocketTest, ChannelsOfOneThreadKeepTheirOwnIntervalsAndTheTimerStopsWithTheLast) {
  net::io_context server_io;
  tcp::acceptor acceptor{server_io, {net::ip::make_address("127.0.0.1"), 0}};
  acceptor.listen();
  const std::array<std::chrono::milliseconds, 2> intervals{200ms, 60s};
  std::array<std::promise<std::string>, 2> closed;
  std::vector<std::shared_ptr<FrameChannel>> channels;  // touched only on server_io's thread
  std::function<void(size_t)> accept_next = [&](size_t i) {
    acceptor.async_accept(net::make_strand(server_io), [&, i](boost::system::error_code ec, SyncSocket socket) {
      ASSERT_FALSE(ec) << ec.message();
      auto ws = std::make_shared<websocket::stream<SyncTcpStream>>(SyncTcpStream(std::move(socket)));
      ws->async_accept([&, i, ws](boost::system::error_code ec) {
        ASSERT_FALSE(ec) << ec.message();
        channels.push_back(make_server_websocket_channel(ws->next_layer().release_socket(), intervals.at(i)));
        channels.back()->start(std::make_shared<FunctionListener>(
            [](const std::string& /*frame*/) {}, [&, i](std::string reason) { closed.at(i).set_value(std::move(reason)); }));
        if (i + 1 < intervals.size()) accept_next(i + 1);
      });
    });
  };
  accept_next(0);
  auto ran_out = std::async(std::launch::async, [&] { server_io.run(); });
  // Whatever fails below, the server's thread ends (the future's destructor waits for it).
  const std::unique_ptr<net::io_context, void (*)(net::io_context*)> stop_on_exit(&server_io,
                                                                                  [](net::io_context* io) { io->stop(); });

  // Neither client reads, so neither answers a ping.
  net::io_context io;
  std::vector<std::unique_ptr<websocket::stream<tcp::socket>>> clients;
  for (size_t i = 0; i < intervals.size(); ++i) {
    clients.push_back(std::make_unique<websocket::stream<tcp::socket>>(io));
    clients.back()->next_layer().connect(acceptor.local_endpoint());
    clients.back()->handshake("127.0.0.1", "/sync");
  }
  auto short_closed = closed[0].get_future();
  auto long_closed = closed[1].get_future();
  ASSERT_EQ(short_closed.wait_for(10s), std::future_status::ready) << "the 200 ms channel was dropped";
  EXPECT_NE(short_closed.get().find("idle timeout"), std::string::npos);
  EXPECT_EQ(long_closed.wait_for(300ms), std::future_status::timeout) << "the 60 s channel stays";

  // The last channel goes: nothing is left to watch, so the io_context runs out of work.
  clients[1]->next_layer().close();
  ASSERT_EQ(long_closed.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(long_closed.get(), "closed by peer");
  EXPECT_EQ(ran_out.wait_for(10s), std::future_status::ready) << "the keep-alive timer stopped with the last channel";
}

TEST(ServerWebSocketTest, APingFloodFromAClientThatDoesNotReadHoldsOnePong) {
  Server server;
  net::io_context io;
  auto ws = server.connect(io, 4096);  // a small window: the server's pongs soon stall
  // 1,000,000 masked pings of 4 bytes (10 MB), never reading a pong: far more than the socket
  // buffers take. Were each pong queued, the queue would grow, and reading would stop at 64 frames
  // waiting (this write would then block).
  const std::string ping("\x89\x84\x00\x00\x00\x00ping", 10);
  std::string flood;
  for (int i = 0; i < 1'000'000; ++i) flood += ping;
  auto written = std::async(std::launch::async, [&] { net::write(ws->next_layer(), net::buffer(flood)); });
  if (written.wait_for(30s) != std::future_status::ready) {
    ws->next_layer().shutdown(tcp::socket::shutdown_both);  // unblocks the write, to fail here
    written.wait();
    FAIL() << "the server stopped reading the pings";
  }
  ws->write(net::buffer(std::string("note")));  // delivered after the pings: all of them were read
  for (int i = 0; i < 1000 && server.frames().empty(); ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(server.frames(), std::vector<std::string>{"note"});
  EXPECT_LE(server.pending_bytes(), 4U * 17) << "at most one pong waits, besides a write of 16 in flight";
}

TEST(ServerWebSocketTest, ALimitRaisedByAMessageAppliesToTheNextInTheSameRead) {
  Server server;
  net::io_context io;
  auto ws = server.connect(io);
  const std::string big(20'000, 'b');  // over the 8 KiB allowed before authentication
  // Both frames in one write, so the channel reads them in one read.
  const std::string key(4, '\0');  // the all-zero mask leaves the payload as it is
  std::string bytes = std::string("\x82\x85", 2) + key + "raise";
  bytes += std::string("\x82\xfe\x4e\x20", 4) + key + big;
  net::write(ws->next_layer(), net::buffer(bytes));
  for (int i = 0; i < 500 && server.frames().size() < 2; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server.frames(), (std::vector<std::string>{"raise", big}));
  EXPECT_EQ(server.closed_within(0ms), "");
}

TEST(ServerWebSocketTest, EndOfStreamInsideAMessageDeliversNothingAndSaysClosedByPeer) {
  Server server;
  net::io_context io;
  auto ws = server.connect(io);
  net::write(ws->next_layer(), net::buffer(std::string("\x82\x8a\x00\x00\x00\x00half", 10)));
  ws->next_layer().shutdown(tcp::socket::shutdown_send);
  EXPECT_EQ(server.closed_within(5s), "closed by peer");
  EXPECT_TRUE(server.frames().empty());
}

TEST(ServerWebSocketTest, ABrokenRuleOrAnOversizedClaimGetsItsCloseCodeThenTheConnectionEnds) {
  struct Case {
    std::string name;
    std::string bytes;
    std::string close_frame;  // what the server sends before it closes
  };
  // An unmasked frame (clients must mask), a masked header claiming 4 MiB (over the 8 KiB allowed
  // before authentication), and two closes: one too short to hold a code, one with 1000.
  const std::vector<Case> cases{
      {"unmasked",
       std::string("\x82\x03"
                   "abc",
                   5),
       std::string("\x88\x02\x03\xea", 4)},
      {"oversized",
       std::string("\x82\xff\x00\x00\x00\x00\x00\x40\x00\x00"
                   "\x01\x02\x03\x04",
                   14),
       std::string("\x88\x02\x03\xf1", 4)},
      {"a close of one byte, answered with 1002", std::string("\x88\x81\x00\x00\x00\x00\x07", 7),
       std::string("\x88\x02\x03\xea", 4)},
      {"a close with 1000, echoed", std::string("\x88\x82\x00\x00\x00\x00\x03\xe8", 8), std::string("\x88\x02\x03\xe8", 4)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Server server;
    net::io_context io;
    auto ws = server.connect(io);
    net::write(ws->next_layer(), net::buffer(c.bytes));
    EXPECT_EQ(read_until_closed(ws->next_layer()), c.close_frame);
    EXPECT_FALSE(server.closed_within(5s).empty());
    EXPECT_TRUE(server.frames().empty());
  }
}

}  // namespace
}  // namespace smallpeer::sync
