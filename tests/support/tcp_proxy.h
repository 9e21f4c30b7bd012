// A tiny TCP proxy on 127.0.0.1 for fault tests: forwards every connection to an upstream port,
// and can be cut (every open connection is closed and new ones are closed at once, as a network
// partition between one Big Peer node and its database would) and restored. Its own thread; the
// destructor stops it.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

namespace smallpeer::test_support {

/// Forwards 127.0.0.1:port() to 127.0.0.1:upstream until cut().
class TcpProxy {
 public:
  /// Listens on a free port and forwards to `upstream`.
  explicit TcpProxy(uint16_t upstream) : upstream_(upstream), acceptor_(io_) {
    using boost::asio::ip::tcp;
    const tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TcpProxy() {
    boost::asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      close_all();
    });
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  /// The port to connect to.
  [[nodiscard]] uint16_t port() const { return port_; }
  /// Closes every forwarded connection and refuses (accepts and closes) new ones until restore().
  void cut() {
    cut_ = true;
    boost::asio::post(io_, [this] { close_all(); });
  }
  /// Forwards new connections again.
  void restore() { cut_ = false; }

 private:
  using Socket = boost::asio::ip::tcp::socket;
  struct Pair {
    explicit Pair(boost::asio::io_context& io) : client(io), server(io) {}
    Socket client, server;
    std::array<char, 16384> up{}, down{};
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, Socket socket) {
      if (ec) return;
      if (!cut_) {
        auto pair = std::make_shared<Pair>(io_);
        pair->client = std::move(socket);
        pairs_.insert(pair);
        pair->server.async_connect({boost::asio::ip::make_address("127.0.0.1"), upstream_},
                                   [this, pair](boost::system::error_code e) {
                                     if (e) return drop(pair);
                                     pump(pair, pair->client, pair->server, pair->up);
                                     pump(pair, pair->server, pair->client, pair->down);
                                   });
      }
      accept();
    });
  }

  void pump(const std::shared_ptr<Pair>& pair, Socket& from, Socket& to, std::array<char, 16384>& buffer) {
    from.async_read_some(boost::asio::buffer(buffer), [this, pair, &from, &to, &buffer](boost::system::error_code ec, size_t n) {
      if (ec) return drop(pair);
      boost::asio::async_write(to, boost::asio::buffer(buffer.data(), n),
                               [this, pair, &from, &to, &buffer](boost::system::error_code e, size_t) {
                                 if (e) return drop(pair);
                                 pump(pair, from, to, buffer);
                               });
    });
  }

  void drop(const std::shared_ptr<Pair>& pair) {
    boost::system::error_code ignored;
    pair->client.close(ignored);
    pair->server.close(ignored);
    pairs_.erase(pair);
  }

  void close_all() {
    auto pairs = pairs_;
    for (const auto& p : pairs) drop(p);
  }

  uint16_t upstream_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> cut_{false};
  std::set<std::shared_ptr<Pair>> pairs_;  // on the proxy's thread only
  std::thread thread_;
};

}  // namespace smallpeer::test_support
