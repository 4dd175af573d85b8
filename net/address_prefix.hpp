// An IPv4 or IPv6 address prefix ("192.0.2.0/24", "127.0.0.1", "2001:db8::/32", "::1"), for
// access lists such as [transfer] allow_addresses. A plain address is a /32 or /128 prefix;
// an IPv4-mapped IPv6 peer (::ffff:192.0.2.1) matches IPv4 prefixes, and an IPv4-mapped prefix
// (::ffff:192.0.2.0/120) matches IPv4 peers.
//
// Header-only, like endpoint.hpp: config/ parses access lists without linking net/.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <charconv>
#include <cstring>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vrdns::net {

struct AddressPrefix {
  int family = 0;                     ///< AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};    ///< network order; IPv4 uses the first 4
  unsigned length = 0;                ///< prefix length in bits
  bool operator==(const AddressPrefix&) const = default;

  /// nullopt if `text` is not an address with an optional "/length" in range. Host bits set
  /// beyond the length are accepted and ignored (as BIND does).
  static std::optional<AddressPrefix> parse(std::string_view text);

  bool contains(const sockaddr_storage& peer) const;
  std::string to_string() const;
};

namespace detail {

inline bool prefix_matches(const uint8_t* a, const uint8_t* b, unsigned bits) {
  const unsigned whole = bits / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  const unsigned rest = bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = uint8_t(0xFF << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace detail

inline std::optional<AddressPrefix> AddressPrefix::parse(std::string_view text) {
  AddressPrefix p;
  std::string_view address = text;
  std::optional<unsigned> length;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    address = text.substr(0, slash);
    const std::string_view digits = text.substr(slash + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size()) return {};
    length = value;
  }
  const std::string host(address);
  if (::inet_pton(AF_INET, host.c_str(), p.bytes.data()) == 1) {
    p.family = AF_INET;
    p.length = length.value_or(32);
    if (p.length > 32) return {};
  } else if (::inet_pton(AF_INET6, host.c_str(), p.bytes.data()) == 1) {
    p.family = AF_INET6;
    p.length = length.value_or(128);
    if (p.length > 128) return {};
  } else {
    return {};
  }
  return p;
}

inline bool AddressPrefix::contains(const sockaddr_storage& peer) const {
  static constexpr uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (peer.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const uint8_t*>(
        &reinterpret_cast<const sockaddr_in&>(peer).sin_addr);
    if (family == AF_INET) return detail::prefix_matches(a, bytes.data(), length);
    // An IPv6 prefix that covers v4-mapped addresses (::ffff:192.0.2.0/120) names IPv4 peers
    // too: the peer as ::ffff:a.b.c.d.
    uint8_t mapped[16];
    std::memcpy(mapped, v4_mapped, 12);
    std::memcpy(mapped + 12, a, 4);
    return family == AF_INET6 && detail::prefix_matches(mapped, bytes.data(), length);
  }
  if (peer.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(peer);
    const auto* b = reinterpret_cast<const uint8_t*>(&a.sin6_addr);
    if (family == AF_INET6) return detail::prefix_matches(b, bytes.data(), length);
    return family == AF_INET && std::memcmp(b, v4_mapped, 12) == 0 &&
           detail::prefix_matches(b + 12, bytes.data(), length);
  }
  return false;
}

inline std::string AddressPrefix::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family, bytes.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(length);
}

}  // namespace vrdns::net
