#include "net/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace vrdns::net {

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

socklen_t to_sockaddr(const Endpoint& ep, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  if (ep.family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&out);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(ep.port);
    if (inet_pton(AF_INET6, ep.host.c_str(), &a->sin6_addr) != 1)
      throw std::runtime_error("bad IPv6 address " + ep.host);
    return sizeof(sockaddr_in6);
  }
  auto* a = reinterpret_cast<sockaddr_in*>(&out);
  a->sin_family = AF_INET;
  a->sin_port = htons(ep.port);
  if (inet_pton(AF_INET, ep.host.c_str(), &a->sin_addr) != 1)
    throw std::runtime_error("bad IPv4 address " + ep.host);
  return sizeof(sockaddr_in);
}

uint16_t bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

namespace {

[[noreturn]] void fail(const char* what, const Endpoint& ep) {
  int err = errno;
  throw std::runtime_error(std::string("cannot ") + what + " " + ep.to_string() + ": " +
                           std::strerror(err));
}

Fd open_socket(const Endpoint& ep, int type, const char* proto) {
  Fd fd(::socket(ep.family, type | SOCK_CLOEXEC, 0));
  if (!fd) fail((std::string("create ") + proto + " socket for").c_str(), ep);
  int one = 1;
  // SO_REUSEPORT: one socket per worker, the kernel spreads flows across them. It only
  // shares a port among sockets that all set it (and have the same uid), so a port taken by
  // an unrelated server still fails the bind below.
  if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    fail("set SO_REUSEPORT on", ep);
  if (ep.family == AF_INET6)   // "[::]:53" must not also claim IPv4
    setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  sockaddr_storage ss;
  socklen_t len = to_sockaddr(ep, ss);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
    fail((std::string("bind ") + proto).c_str(), ep);
  return fd;
}

}  // namespace

Fd open_udp_socket(const Endpoint& ep, int recv_timeout_ms) {
  Fd fd = open_socket(ep, SOCK_DGRAM, "udp");
  // The default receive buffer (rmem_default, ~208 KiB) holds only a few hundred small queries
  // (each costs its skb truesize, not its payload). A burst while the worker is scheduled out
  // overflows it, and a dropped query costs a client a full retry timeout. Ask for more; the
  // kernel silently caps the request at net.core.rmem_max, so failure is not an error.
  int rcvbuf = udp_receive_buffer_bytes;
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  timeval tv{};
  tv.tv_sec = recv_timeout_ms / 1000;
  tv.tv_usec = (recv_timeout_ms % 1000) * 1000;
  if (setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
    fail("set SO_RCVTIMEO on", ep);
  return fd;
}

Fd open_tcp_listener(const Endpoint& ep) {
  Fd fd = open_socket(ep, SOCK_STREAM | SOCK_NONBLOCK, "tcp");
  if (::listen(fd.get(), 1024) != 0) fail("listen on tcp", ep);
  return fd;
}

}  // namespace vrdns::net
