// One DNS request and its answer over TCP (RFC 7766 framing), blocking, with a deadline: what
// a command-line client needs (vrdns zone ...). Not for the server's own paths.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "net/endpoint.hpp"

namespace vrdns::net {

/// Connects to `server`, sends `request` and returns the first message it answers. Throws
/// std::runtime_error naming the server and the reason (refused, timed out, closed early) if
/// no whole answer arrives within `timeout` of the call.
std::vector<uint8_t> exchange_tcp(const Endpoint& server, const std::vector<uint8_t>& request,
                                  std::chrono::milliseconds timeout);

}  // namespace vrdns::net
