// The bridge between sockets and DNS cookies (dns/cookie.hpp): a peer's address as the cookie
// hash takes it, and the clock cookies are stamped with.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <ctime>

#include "dns/cookie.hpp"

namespace vrdns::net {

/// 4 bytes for IPv4 and IPv4-mapped IPv6 (so a client gets the same cookie from a dual-stack
/// socket and an IPv4 one), 16 for other IPv6; length 0 for anything else.
inline dns::ClientAddress cookie_address(const sockaddr_storage& peer) {
  dns::ClientAddress a;
  if (peer.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(peer);
    std::memcpy(a.bytes, &in.sin_addr, 4);
    a.length = 4;
  } else if (peer.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(peer);
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
      std::memcpy(a.bytes, in6.sin6_addr.s6_addr + 12, 4);
      a.length = 4;
    } else {
      std::memcpy(a.bytes, in6.sin6_addr.s6_addr, 16);
      a.length = 16;
    }
  }
  return a;
}

/// Seconds since the epoch, modulo 2^32 as the cookie's timestamp field holds them. Wall-clock
/// time, not steady: nodes sharing a secret must agree on what a timestamp means.
inline uint32_t cookie_now() { return uint32_t(std::time(nullptr)); }

}  // namespace vrdns::net
