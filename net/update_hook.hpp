// The seam between the query path and the (later) replicated UPDATE path.
//
// The responder marks an opcode-UPDATE message Disposition::update and writes a fallback
// reply. Without a handler the front end sends that fallback. With one, the worker copies
// the message out of its hot buffers and hands it over; whoever handles it answers later,
// from any thread, through `reply` (e.g. after the VR commit).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "dns/responder.hpp"

namespace vrdns::net {

struct UpdateRequest {
  std::vector<uint8_t> message;     ///< the UPDATE as received (TSIG needs the raw bytes)
  dns::Transport transport = dns::Transport::udp;
  sockaddr_storage peer{};          ///< the client
  socklen_t peer_length = 0;
  /// Sends one DNS message back to the client. Thread-safe; call at most once. Safe to call
  /// after the server stopped (the reply is then dropped).
  std::function<void(const uint8_t* data, std::size_t length)> reply;
};

/// Must be cheap and must not block: it runs on a front-end worker thread.
using UpdateHandler = std::function<void(UpdateRequest)>;

}  // namespace vrdns::net
