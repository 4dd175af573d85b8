// An IPv4 or IPv6 address prefix ("192.0.2.0/24", "127.0.0.1", "2001:db8::/32", "::1"), for
// access lists such as [transfer] allow_addresses. A plain address is a /32 or /128 prefix;
// an IPv4-mapped IPv6 peer (::ffff:192.0.2.1) matches IPv4 prefixes.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vrdns::net {

struct AddressPrefix {
  int family = 0;                     ///< AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};    ///< network order; IPv4 uses the first 4
  unsigned length = 0;                ///< prefix length in bits

  /// nullopt if `text` is not an address with an optional "/length" in range. Host bits set
  /// beyond the length are accepted and ignored (as BIND does).
  static std::optional<AddressPrefix> parse(std::string_view text);

  bool contains(const sockaddr_storage& peer) const;
  std::string to_string() const;
};

}  // namespace vrdns::net
