// The seam between the TCP front end and the zone transfer path (app/transfer_path).
//
// The responder marks an AXFR or IXFR over TCP Disposition::transfer with a REFUSED fallback.
// With a handler, the TCP worker asks it, on its own thread, for the transfer's messages: the
// handler decides (access, TSIG) and returns an OutgoingTransfer, whose messages the worker
// takes one at a time, each only once the connection has drained what came before: a big zone
// streams at the client's pace and the worker keeps serving its other connections meanwhile.
// Later queries on the same connection are answered after the transfer (RFC 7766 order).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "dns/responder.hpp"

namespace vrdns::net {

/// A zone transfer in progress on one connection. Used by one thread at a time.
class OutgoingTransfer {
 public:
  virtual ~OutgoingTransfer() = default;
  /// Replaces `message` with the next DNS message (no TCP length prefix, at most 65535
  /// bytes); false once there is none left.
  virtual bool next(std::vector<uint8_t>& message) = 0;
  /// After next() returned false: true if the transfer ended before its last message (the
  /// worker then closes the connection, so that the client sees it cut rather than waits).
  virtual bool failed() const { return false; }
};

struct TransferRequest {
  const uint8_t* message = nullptr;   ///< the request as received (TSIG needs the raw bytes)
  std::size_t length = 0;
  sockaddr_storage peer{};            ///< the client
  socklen_t peer_length = 0;
  const dns::ServingState* state = nullptr;   ///< what the worker answers from right now
};

/// Runs on a TCP worker thread; must not block. Returns the transfer to send: a refusal is a
/// transfer of one message. nullptr: send the responder's fallback.
using TransferHandler = std::function<std::unique_ptr<OutgoingTransfer>(const TransferRequest&)>;

}  // namespace vrdns::net
