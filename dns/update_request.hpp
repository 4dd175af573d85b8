// The VR operation that carries one UPDATE, and the result that comes back.
//
// The front end wraps a parsed, encoded Update with who sent it (for at-most-once
// execution: a client that retransmits gets the first answer, RFC 2136 §3.8 does not want
// an update applied twice) and when it arrived. Everything a replica executes is inside the
// operation bytes, so execution stays deterministic: the receive time is data, never a clock.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vrdns::dns {

/// Identifies one UPDATE request of one client. Two messages with equal identities are the
/// same request (a retransmission).
struct ClientIdentity {
  std::string address;        ///< peer address, raw bytes (4 for IPv4, 16 for IPv6)
  uint16_t port = 0;          ///< peer port
  uint16_t dns_id = 0;        ///< DNS message ID
  std::string key_name;       ///< TSIG key wire name; empty if unsigned
  uint64_t message_hash = 0;  ///< request_hash() of the raw message bytes
  auto operator<=>(const ClientIdentity&) const = default;
  bool operator==(const ClientIdentity&) const = default;
};

struct UpdateRequest {
  ClientIdentity client;
  uint64_t receive_time_ms = 0;   ///< the front end's clock when the message arrived
  std::string update;             ///< encode(Update)
  bool operator==(const UpdateRequest&) const = default;
};

struct UpdateReply {
  uint8_t rcode = 0;
  bool operator==(const UpdateReply&) const = default;
};

/// 64-bit FNV-1a: the same value on every machine and every run (unlike name_hash), so all
/// replicas agree on identities.
uint64_t request_hash(const uint8_t* msg, std::size_t len);

std::string encode(const UpdateRequest& r);
/// False on malformed, truncated or trailing bytes (the input is untrusted).
bool decode(std::string_view in, UpdateRequest& out);

std::string encode(const UpdateReply& r);
bool decode(std::string_view in, UpdateReply& out);

}  // namespace vrdns::dns
