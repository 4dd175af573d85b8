// Sends one raw DNS message to several servers on 127.0.0.1 and collects the replies.
// UDP queries go out to all servers at once and are awaited together, so a server that
// (rightly) drops a packet costs one timeout per query, not one per server.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vrdns::difftest {

using Bytes = std::vector<uint8_t>;

/// A reply, or nullopt if none came (dropped packet, closed connection, timeout).
using Reply = std::optional<Bytes>;

/// UDP: one socket per port; each reply must come from that port and carry the query's ID
/// (or, for a query shorter than 2 bytes, any reply).
std::vector<Reply> exchange_udp(const Bytes& query, const std::vector<uint16_t>& ports,
                                std::chrono::milliseconds timeout);

/// TCP (RFC 7766 framing: 2-byte length prefix), one fresh connection per server.
std::vector<Reply> exchange_tcp(const Bytes& query, const std::vector<uint16_t>& ports,
                                std::chrono::milliseconds timeout);

/// A port on 127.0.0.1 that is free for both UDP and TCP right now (the kernel picks it).
uint16_t pick_free_port();

}  // namespace vrdns::difftest
