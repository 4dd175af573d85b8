// The seam between the query path and TSIG for ordinary queries (RFC 8945): a secondary with a
// key (BIND's `primaries { ... key k; }`) checks the SOA with a signed query and accepts only a
// signed answer. The responder marks such a query Disposition::signed_query and writes the
// unsigned answer as a fallback; a front end with a handler lets it verify the query and write
// the signed answer (or the TSIG error) instead, on the worker thread. Unsigned queries never
// get here: the hot path is unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "dns/responder.hpp"

namespace vrdns::net {

/// Writes the reply to `query` into out[0, capacity) and returns its length; 0: send nothing.
/// `cookies` (null: off) is the query's cookie context, for the answer's COOKIE option. Must
/// not block.
using SignedQueryHandler = std::function<std::size_t(
    const uint8_t* query, std::size_t length, dns::Transport transport,
    const dns::ServingState& state, uint8_t* out, std::size_t capacity,
    const dns::CookieContext* cookies)>;

/// The rcode of the answer a handler wrote to `reply`, given the responder's `rcode` for the
/// unsigned fallback: the handler's where the header says otherwise (NOTAUTH for a bad
/// signature), else the responder's full one (BADVERS is 0 in the header).
inline uint16_t rcode_after_hook(uint16_t rcode, const uint8_t* reply) {
  return (reply[3] & 0x0F) != (rcode & 0x0F) ? uint16_t(reply[3] & 0x0F) : rcode;
}

}  // namespace vrdns::net
