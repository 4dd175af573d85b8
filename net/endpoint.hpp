// A listen/peer address as written in the configuration: "host:port" or "[v6-host]:port".
//
// Header-only on purpose: config/ validates addresses with it without linking net/.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace vrdns::net {

struct Endpoint {
  std::string host;   ///< numeric address, no brackets ("127.0.0.1", "::1")
  uint16_t port = 0;
  int family = AF_INET;

  /// "127.0.0.1:53" or "[::1]:53", i.e. the form parse_endpoint accepts.
  std::string to_string() const {
    return family == AF_INET6 ? "[" + host + "]:" + std::to_string(port)
                              : host + ":" + std::to_string(port);
  }
  bool operator==(const Endpoint&) const = default;
};

/// Parses "host:port" / "[host]:port" with a numeric IPv4/IPv6 host (no DNS names: a name
/// server must not depend on resolving its own listen address). Port 0 is allowed (the
/// kernel picks one; tests use it). nullopt on any syntax error.
inline std::optional<Endpoint> parse_endpoint(std::string_view text) {
  Endpoint ep;
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    ep.family = AF_INET6;
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;   // v6 needs brackets
    ep.family = AF_INET;
  }
  if (host.empty() || port.empty() || port.size() > 5) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value > 65535) return std::nullopt;
  ep.host = std::string(host);
  ep.port = uint16_t(value);
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(ep.family, ep.host.c_str(), buf) != 1) return std::nullopt;
  return ep;
}

}  // namespace vrdns::net
