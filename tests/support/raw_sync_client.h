// A hand-driven sync client for adversarial tests: it speaks the protocol frame by frame, so a
// test can forge a key, spoof a document or send garbage, and see how the Big Peer answers.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <optional>
#include <string>

#include "identity/identity.h"
#include "sync/protocol.h"

namespace smallpeer::test_support {

/// One blocking WebSocket connection to a Big Peer's /sync, with a receive timeout.
class RawSyncClient {
 public:
  /// Connects to ws://127.0.0.1:`port`/sync; reads time out after `timeout`.
  explicit RawSyncClient(uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(5)) : ws_(io_) {
    boost::asio::ip::tcp::resolver resolver(io_);
    boost::asio::connect(ws_.next_layer(), resolver.resolve("127.0.0.1", std::to_string(port)));
    const timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    ::setsockopt(ws_.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ws_.handshake("127.0.0.1:" + std::to_string(port), "/sync");
    ws_.binary(true);
  }

  /// Sends raw bytes as one WebSocket message; false if the connection is gone.
  bool send_raw(const std::string& bytes) {
    boost::beast::error_code ec;
    ws_.write(boost::asio::buffer(bytes), ec);
    return !ec;
  }
  /// Sends one frame.
  bool send(const sync::Frame& frame) { return send_raw(sync::encode(frame)); }

  /// The next frame, or nullopt when the connection closed, timed out or sent garbage.
  std::optional<sync::Frame> receive() {
    boost::beast::flat_buffer buffer;
    boost::beast::error_code ec;
    ws_.read(buffer, ec);
    if (ec) return std::nullopt;
    std::string error;
    return sync::decode(boost::beast::buffers_to_string(buffer.data()), error);
  }

  /// Reads until the server closes the connection (true) or a read times out (false).
  bool closed_by_server() {
    for (int i = 0; i < 100; ++i) {
      boost::beast::flat_buffer buffer;
      boost::beast::error_code ec;
      ws_.read(buffer, ec);
      if (ec)
        return ec != boost::asio::error::would_block && ec != boost::asio::error::try_again &&
               ec != boost::asio::error::timed_out;
    }
    return false;
  }

  /// Runs the handshake as `identity` claiming `claimed_key`, signing with `identity`; returns the
  /// server's AuthResult (nullopt if the connection dropped first).
  std::optional<sync::AuthResult> handshake(const PeerIdentity& identity, const std::string& app_id, const std::string& token,
                                            const std::string& claimed_key = {}) {
    sync::Hello hello;
    hello.app_id = app_id;
    hello.peer_key = claimed_key.empty() ? identity.peer_key() : claimed_key;
    hello.device_name = "raw-test-client";
    hello.sdk_language = "C";
    if (!send(hello)) return std::nullopt;
    auto server_hello = receive();
    if (!server_hello || !std::holds_alternative<sync::Hello>(*server_hello)) return std::nullopt;
    sync::Auth auth;
    auth.app_token = token;
    auth.signature = identity.sign(sync::auth_message(std::get<sync::Hello>(*server_hello).nonce, hello.peer_key, app_id));
    if (!send(auth)) return std::nullopt;
    for (;;) {
      auto frame = receive();
      if (!frame) return std::nullopt;
      if (auto* result = std::get_if<sync::AuthResult>(&*frame)) return *result;
      // The server's own AUTH comes first; it is not ours to check here.
    }
  }

  /// After an accepted handshake: accepts the server in turn and sends empty cursors, so the
  /// session is established and documents may flow.
  bool establish() { return send(sync::AuthResult{true, {}}) && send(sync::Cursors{}); }

 private:
  boost::asio::io_context io_;
  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
};

}  // namespace smallpeer::test_support
