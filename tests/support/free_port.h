// A free loopback TCP port, for tests and benches that start a server which must be told its port
// (PostgreSQL, Mosquitto). The kernel picks it (bind to port 0); another process could take it
// before the server binds, so callers retry a failed start on a fresh port.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace smallpeer::test_support {

/// A port nobody listens on now on 127.0.0.1; `who` names the server in the error if there is none.
inline uint16_t free_loopback_port(const std::string& who) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(who + ": cannot open a socket: " + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  if (port == 0) throw std::runtime_error(who + ": no free port on 127.0.0.1");
  return port;
}

}  // namespace smallpeer::test_support
