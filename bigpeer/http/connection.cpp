#include "bigpeer/http/connection.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <memory>
#include <optional>

#include "bigpeer/audit_log.h"
#include "sync/socket_handover.h"

namespace smallpeer::bigpeer {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

using PlainStream = sync::SyncTcpStream;
using TlsStream = beast::ssl_stream<sync::SyncTcpStream>;

bool is_http_parse_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

// The same connection on `strand`: the socket's descriptor is handed over (nothing is in
// flight on it between a request read and its answer), so HTTP and sync I/O run on separate threads.
// Empty if the socket failed meanwhile (the client left): there is nothing to hand over.
std::optional<PlainStream> moved_to(const sync::SyncStrand& strand, PlainStream stream) {
  beast::error_code ec;
  auto socket = sync::hand_over(stream.socket(), strand, ec);
  if (ec) return std::nullopt;
  return PlainStream(std::move(socket));
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

/// One accepted connection; keeps itself alive while it has work in flight.
template <class Stream>
class HttpConnection : public std::enable_shared_from_this<HttpConnection<Stream>> {
 public:
  HttpConnection(Stream stream, const HttpServices& services) : stream_(std::move(stream)), services_(services) {
    beast::error_code ec;
    const auto remote = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) client_address_ = remote.address().to_string();
  }

  void start() {
    // Start on the connection's strand, so no handler of ours ever runs concurrently with another.
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (std::is_same_v<Stream, TlsStream>) {
        beast::get_lowest_layer(self->stream_).expires_after(kRequestTimeout);
        self->stream_.async_handshake(net::ssl::stream_base::server, [self](beast::error_code ec) {
          if (ec) {
            spdlog::debug("http: TLS handshake failed: {}", ec.message());
            return;
          }
          self->read_request();
        });
      } else {
        self->read_request();
      }
    });
  }

 private:
  void read_request() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(kMaxBodyBytes);
    beast::get_lowest_layer(stream_).expires_after(kRequestTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (ec == http::error::end_of_stream || ec == http::error::partial_message || !is_http_parse_error(ec)) {
        // The client went away or sat idle past the timeout: nothing to answer.
        return;
      }
      // The stream cannot be trusted after a parse error: answer once, then close.
      if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
        respond(error_response(http::status::request_header_fields_too_large, "headers_too_large",
                               fmt::format("request headers exceed {} bytes", kMaxHeaderBytes)),
                11, false);
      } else if (ec == http::error::body_limit) {
        respond(error_response(http::status::payload_too_large, "payload_too_large",
                               fmt::format("request body exceeds {} bytes", kMaxBodyBytes)),
                11, false);
      } else {
        respond(error_response(http::status::bad_request, "bad_request", fmt::format("malformed HTTP request: {}", ec.message())),
                11, false);
      }
      return;
    }
    auto request = std::make_shared<HttpRequest>(parser_->release());
    const auto path = path_of(to_std(request->target()));
    if (path == "/livez" || path == "/readyz") return respond(health_response(path), request->version(), request->keep_alive());
    if (beast::websocket::is_upgrade(*request) && path == "/sync") {
      if (const auto why = not_ready()) {
        // Before any session exists: the small peer tries again later, or another node.
        auto response = error_response(http::status::service_unavailable, "not_ready", *why);
        response.set(http::field::retry_after, std::to_string(kRetryAfterSeconds));
        return respond(std::move(response), request->version(), false);
      }
      if constexpr (std::is_same_v<Stream, PlainStream>) {
        if (services_.sync_strand) {
          auto moved = moved_to(services_.sync_strand(), std::move(stream_));
          if (moved) services_.sync->accept(std::move(*moved), std::move(*request));
          return;  // the sync endpoint owns the connection now, on the sync I/O threads
        }
      }
      services_.sync->accept(std::move(stream_), std::move(*request));
      return;  // the sync endpoint owns the connection now
    }
    // Requests may wait for the store (behind a group commit), so they run on the API threads.
    net::post(*services_.api_threads, [self = this->shared_from_this(), request] {
      HttpResponse response;
      try {
        response = self->services_.api->handle(*request, self->client_address_);
      } catch (const std::exception& e) {
        // handle() answers every failure it knows; this is the API threads' last line.
        BigPeerMetrics::add(self->services_.metrics->unexpected_exceptions);
        spdlog::error("http: unexpected failure answering {}: {}", to_std(request->target()), e.what());
        response = error_response(http::status::internal_server_error, "internal", "internal error");
      }
      net::post(self->stream_.get_executor(), [self, request, response = std::move(response)]() mutable {
        self->respond(std::move(response), request->version(), request->keep_alive());
      });
    });
  }

  [[nodiscard]] std::optional<std::string> not_ready() const {
    return services_.health != nullptr ? services_.health->not_ready_reason() : std::nullopt;
  }

  // /livez: 200 while the process serves. /readyz: 200 while it takes sessions, else 503.
  [[nodiscard]] HttpResponse health_response(std::string_view path) const {
    HttpResponse response;
    const auto why = path == "/readyz" ? not_ready() : std::nullopt;
    response.result(why ? http::status::service_unavailable : http::status::ok);
    response.set(http::field::content_type, "application/json");
    response.set(http::field::cache_control, "no-store");
    if (why) response.set(http::field::retry_after, std::to_string(kRetryAfterSeconds));
    response.body() = why ? R"({"status":"not_ready","reason":")" + *why + R"("})" : std::string(R"({"status":"ok"})");
    return response;
  }

  void respond(HttpResponse response, unsigned version, bool keep_alive) {
    BigPeerMetrics::add(services_.metrics->http_requests);
    response.version(version);
    response.keep_alive(keep_alive);
    response.set(http::field::server, "smallpeer-big-peer");
    response.prepare_payload();
    response_ = std::make_shared<HttpResponse>(std::move(response));
    beast::get_lowest_layer(stream_).expires_after(kRequestTimeout);
    http::async_write(stream_, *response_, [self = this->shared_from_this(), keep_alive](beast::error_code ec, size_t) {
      self->response_.reset();
      if (ec) return;
      if (keep_alive) {
        self->read_request();
      } else {
        self->finish();
      }
    });
  }

  // Ends the connection after the last answer without destroying it on the way out.
  void finish() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    } else {
      // Closing with unread input makes the kernel send a reset, which can destroy the answer we
      // just sent before the client reads it; so say we are done, then read until the client closes.
      beast::error_code ignored;
      stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
      drain(std::make_shared<std::array<char, 4096>>());
    }
  }

  void drain(std::shared_ptr<std::array<char, 4096>> scratch) {
    auto buffer = net::buffer(*scratch);
    stream_.async_read_some(
        buffer, [self = this->shared_from_this(), scratch = std::move(scratch)](beast::error_code ec, size_t) mutable {
          if (!ec) self->drain(std::move(scratch));
        });
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<HttpResponse> response_;  // alive while it is written
  const HttpServices& services_;
  std::string client_address_;  // the peer's IP address, for the login rate limit
};

}  // namespace

void serve_http(sync::SyncSocket socket, const HttpServices& services) {
  if (services.tls) {
    std::make_shared<HttpConnection<TlsStream>>(TlsStream(std::move(socket), *services.tls), services)->start();
  } else {
    std::make_shared<HttpConnection<PlainStream>>(PlainStream(std::move(socket)), services)->start();
  }
}

}  // namespace smallpeer::bigpeer
