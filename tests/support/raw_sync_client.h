// A hand-driven sync client for adversarial tests: it speaks the protocol frame by frame, so a
// test can forge a key, spoof a document, replay an AUTH or send garbage, and see how a Big Peer
// (WebSocket /sync) or a small peer's LAN listener (length-prefixed TCP) answers. It keeps every
// byte it received, so a test can scan them for a secret.
#pragma once

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "identity/identity.h"
#include "sync/protocol.h"

namespace smallpeer::test_support {

/// Which listener a RawSyncClient talks to.
enum class RawTransport { websocket, lan };

/// One blocking connection to a Big Peer's /sync or a small peer's LAN port, with a receive timeout.
class RawSyncClient {
 public:
  /// Connects to 127.0.0.1:`port` (ws://.../sync for `websocket`); reads time out after `timeout`.
  explicit RawSyncClient(uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(5),
                         RawTransport transport = RawTransport::websocket)
      : ws_(io_), transport_(transport) {
    boost::asio::ip::tcp::resolver resolver(io_);
    boost::asio::connect(ws_.next_layer(), resolver.resolve("127.0.0.1", std::to_string(port)));
    set_timeout(timeout);
    if (transport_ == RawTransport::lan) return;
    ws_.handshake("127.0.0.1:" + std::to_string(port), "/sync");
    ws_.binary(true);
  }

  /// Changes the receive timeout.
  void set_timeout(std::chrono::milliseconds timeout) {
    const timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    ::setsockopt(ws_.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  /// Sends raw bytes (one WebSocket message, or as they are on LAN TCP); false if the connection is gone.
  bool send_raw(const std::string& bytes) {
    boost::beast::error_code ec;
    if (transport_ == RawTransport::lan) {
      boost::asio::write(ws_.next_layer(), boost::asio::buffer(bytes), ec);
    } else {
      ws_.write(boost::asio::buffer(bytes), ec);
    }
    return !ec;
  }
  /// Sends `bytes` as one WebSocket message in fragments, cut before each offset of `cuts`
  /// (ascending), waiting `pause` after each but the last, so the listener reads them apart.
  bool send_fragmented(const std::string& bytes, const std::vector<size_t>& cuts,
                       std::chrono::milliseconds pause = std::chrono::milliseconds(20)) {
    boost::beast::error_code ec;
    size_t from = 0;
    for (size_t i = 0; i <= cuts.size() && !ec; ++i) {
      if (i > 0) std::this_thread::sleep_for(pause);
      const size_t to = i < cuts.size() ? cuts[i] : bytes.size();
      ws_.write_some(i == cuts.size(), boost::asio::buffer(bytes.data() + from, to - from), ec);
      from = to;
    }
    return !ec;
  }
  /// Sends one frame.
  bool send(const sync::Frame& frame) { return send_raw(sync::encode(frame)); }

  /// The next frame, or nullopt when the connection closed, timed out or sent garbage.
  std::optional<sync::Frame> receive() {
    std::string bytes;
    boost::beast::error_code ec;
    if (transport_ == RawTransport::lan) {
      std::array<unsigned char, 4> header{};
      boost::asio::read(ws_.next_layer(), boost::asio::buffer(header), ec);
      if (ec) return std::nullopt;
      const uint32_t len = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) | (uint32_t{header[2]} << 8) | header[3];
      if (len > sync::kMaxFrameBytes) return std::nullopt;
      bytes.assign(header.begin(), header.end());
      bytes.resize(4 + size_t{len});
      boost::asio::read(ws_.next_layer(), boost::asio::buffer(bytes.data() + 4, len), ec);
      received_ += bytes.substr(0, ec ? 4 : bytes.size());
      if (ec) return std::nullopt;
    } else {
      boost::beast::flat_buffer buffer;
      ws_.read(buffer, ec);
      if (ec) return std::nullopt;
      bytes = boost::beast::buffers_to_string(buffer.data());
      received_ += bytes;
    }
    std::string error;
    return sync::decode(bytes, error);
  }

  /// Closes our sending side (the listener reads end-of-stream and closes), so every later
  /// receive() returns what the listener sent until then, and then nullopt: no timing involved.
  void finish_sending() {
    boost::system::error_code ec;
    ws_.next_layer().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  }

  /// Every byte of every frame received so far (WebSocket payloads, or the whole LAN stream).
  [[nodiscard]] const std::string& received() const { return received_; }

  /// Reads until the server closes the connection (true) or a read times out (false).
  bool closed_by_server() {
    for (int i = 0; i < 100; ++i) {
      boost::beast::error_code ec;
      if (transport_ == RawTransport::lan) {
        std::array<char, 4096> chunk{};
        const size_t n = ws_.next_layer().read_some(boost::asio::buffer(chunk), ec);
        received_.append(chunk.data(), n);
      } else {
        boost::beast::flat_buffer buffer;
        ws_.read(buffer, ec);
        if (!ec) received_ += boost::beast::buffers_to_string(buffer.data());
      }
      if (ec)
        return ec != boost::asio::error::would_block && ec != boost::asio::error::try_again &&
               ec != boost::asio::error::timed_out;
    }
    return false;
  }

  /// A HELLO for `identity` (claiming `claimed_key` if given) with a fresh nonce.
  static sync::Hello make_hello(const PeerIdentity& identity, const std::string& app_id, const std::string& claimed_key = {}) {
    sync::Hello hello;
    hello.app_id = app_id;
    hello.peer_key = claimed_key.empty() ? identity.peer_key() : claimed_key;
    hello.device_name = "raw-test-client";
    hello.sdk_language = "C";
    std::random_device random;
    for (auto& b : hello.nonce) b = static_cast<unsigned char>(random());
    return hello;
  }

  /// Sends `hello` and reads the other side's HELLO; false if none came.
  bool exchange_hellos(const sync::Hello& hello) {
    hello_ = hello;
    if (!send(hello)) return false;
    auto frame = receive();
    if (!frame || !std::holds_alternative<sync::Hello>(*frame)) return false;
    server_hello_ = std::get<sync::Hello>(*frame);
    return true;
  }

  /// The AUTH an honest peer holding `token` sends as `identity`, after exchange_hellos().
  [[nodiscard]] sync::Auth make_auth(const PeerIdentity& identity, const std::string& token) const {
    const std::string transcript = sync::auth_transcript(hello_, *server_hello_);
    return sync::Auth{sync::auth_proof(token, hello_.app_id, transcript), identity.sign(transcript)};
  }

  /// Sends `auth` and returns the other side's AuthResult (nullopt if the connection dropped
  /// first). The other side's own AUTH, which comes first, is kept in server_auth().
  std::optional<sync::AuthResult> send_auth(const sync::Auth& auth) {
    if (!send(auth)) return std::nullopt;
    for (;;) {
      auto frame = receive();
      if (!frame) return std::nullopt;
      if (auto* result = std::get_if<sync::AuthResult>(&*frame)) return *result;
      if (auto* theirs = std::get_if<sync::Auth>(&*frame)) server_auth_ = *theirs;
    }
  }

  /// Runs the handshake as `identity` claiming `claimed_key`, signing with `identity` and proving
  /// `token`; returns the server's AuthResult (nullopt if the connection dropped first).
  std::optional<sync::AuthResult> handshake(const PeerIdentity& identity, const std::string& app_id, const std::string& token,
                                            const std::string& claimed_key = {}) {
    if (!exchange_hellos(make_hello(identity, app_id, claimed_key))) return std::nullopt;
    return send_auth(make_auth(identity, token));
  }

  /// True if the server's AUTH (received during the handshake) proves `token` and is signed by the
  /// key in its HELLO: how a small peer checks the Big Peer.
  [[nodiscard]] bool server_proves(const std::string& token) const {
    if (!server_auth_ || !server_hello_) return false;
    const std::string transcript = sync::auth_transcript(*server_hello_, hello_);
    return sync::verify_auth_proof(token, server_hello_->app_id, transcript, server_auth_->proof) &&
           PeerIdentity::verify(server_hello_->peer_key, transcript, server_auth_->signature);
  }

  /// The other side's HELLO, once exchanged.
  [[nodiscard]] const std::optional<sync::Hello>& server_hello() const { return server_hello_; }

  /// After an accepted handshake: accepts the server in turn and sends empty cursors, so the
  /// session is established and documents may flow.
  bool establish() { return send(sync::AuthResult{true, {}}) && send(sync::Cursors{}); }

 private:
  boost::asio::io_context io_;
  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
  RawTransport transport_;
  std::string received_;
  sync::Hello hello_;
  std::optional<sync::Hello> server_hello_;
  std::optional<sync::Auth> server_auth_;
};

}  // namespace smallpeer::test_support
