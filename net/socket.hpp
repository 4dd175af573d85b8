// Small POSIX socket helpers shared by the UDP and TCP servers.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <utility>

#include "net/endpoint.hpp"

namespace vrdns::net {

/// Owns one file descriptor; closes it on destruction. Movable, not copyable.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset();

 private:
  int fd_ = -1;
};

/// The sockaddr for `ep`; returns its length.
socklen_t to_sockaddr(const Endpoint& ep, sockaddr_storage& out);

/// The port a bound socket ended up on (for port 0).
uint16_t bound_port(int fd);

/// Receive buffer each UDP socket asks for (capped by the kernel at net.core.rmem_max).
inline constexpr int udp_receive_buffer_bytes = 4 * 1024 * 1024;

/// A bound UDP socket with SO_REUSEPORT (several per address: one per worker) and a receive
/// timeout so a blocked worker notices stop within `recv_timeout_ms`, and a receive buffer of
/// up to udp_receive_buffer_bytes. Throws
/// std::runtime_error "cannot bind udp <addr>: <reason>".
Fd open_udp_socket(const Endpoint& ep, int recv_timeout_ms);

/// A non-blocking listening TCP socket with SO_REUSEPORT. Throws like open_udp_socket.
Fd open_tcp_listener(const Endpoint& ep);

}  // namespace vrdns::net
