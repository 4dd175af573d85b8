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

#include "dns/query_parser.hpp"
#include "dns/responder.hpp"

namespace vrdns::net {

struct UpdateRequest {
  std::vector<uint8_t> message;     ///< the UPDATE as received (TSIG needs the raw bytes)
  dns::Transport transport = dns::Transport::udp;
  sockaddr_storage peer{};          ///< the client
  socklen_t peer_length = 0;
  /// The OPT RR the answer carries (RFC 6891 §7), as the responder wrote it for its fallback:
  /// our UDP size, DO echoed, the reply COOKIE (RFC 7873), NSID if asked. Empty when the
  /// request had no (well-formed) OPT.
  std::vector<uint8_t> opt;
  /// Nonzero when the request's EDNS is wrong and this is the answer (FORMERR: a malformed
  /// OPT or COOKIE; BADVERS: an EDNS version above 0), whatever the UPDATE says.
  uint16_t edns_rcode = 0;
  /// The largest answer the client takes (dns::AnswerResult::size_limit): a bigger one is
  /// made smaller, never cut by the network.
  std::size_t max_reply_size = dns::max_message_size;
  /// Sends one DNS message back to the client. Thread-safe; call at most once. Safe to call
  /// after the server stopped (the reply is then dropped).
  std::function<void(const uint8_t* data, std::size_t length)> reply;
};

/// Fills `req.opt` and `req.edns_rcode` from the responder's fallback reply `reply` and its
/// result `r` (Disposition::update).
inline void take_edns_from_fallback(UpdateRequest& req, const uint8_t* reply,
                                    const dns::AnswerResult& r) {
  if (r.opt_at != 0 && r.opt_at < r.length) req.opt.assign(reply + r.opt_at, reply + r.length);
  if (r.rcode == dns::rcode::FORMERR || r.rcode == dns::rcode::BADVERS) req.edns_rcode = r.rcode;
  if (r.size_limit != 0) req.max_reply_size = r.size_limit;
}

/// Must be cheap and must not block: it runs on a front-end worker thread.
using UpdateHandler = std::function<void(UpdateRequest)>;

}  // namespace vrdns::net
