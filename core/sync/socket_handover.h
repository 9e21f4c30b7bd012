// Moving a connected TCP socket's descriptor from one executor to another (another io_context's
// thread): the one way the Big Peer hands a connection over from the HTTP thread to a sync thread.
// (After the upgrade the server channel takes the descriptor out of Asio altogether:
// make_server_websocket_channel, core/sync/channel.cpp.)
#pragma once

#include <unistd.h>

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace smallpeer::sync {

/// `from`'s descriptor on a socket of `executor`, registered anew with its io_context's reactor;
/// nothing may be pending on `from`. On failure `ec` says why and the returned socket is not open
/// (the descriptor stays with `from` if it could not be released, and is closed if it could not be
/// registered).
template <typename Executor, typename FromExecutor>
boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor> hand_over(
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, FromExecutor>& from, const Executor& executor,
    boost::system::error_code& ec) {
  boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor> to(executor);
  const auto protocol = from.local_endpoint(ec).protocol();
  if (ec) return to;
  const auto descriptor = from.release(ec);
  if (ec) return to;
  to.assign(protocol, descriptor, ec);
  if (ec) ::close(descriptor);
  return to;
}

}  // namespace smallpeer::sync
