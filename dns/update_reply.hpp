// The header-only answer to an UPDATE (RFC 2136 §3.8): same ID and opcode, QR set, the given
// rcode, and the request's zone section echoed when it can be read. Used by the front end for
// answers that never reach VR (REFUSED, NOTAUTH, FORMERR...) and for the committed result;
// TSIG signing (dns/tsig.hpp sign_reply) is done on top of it.
//
// EDNS (RFC 6891 §7): an answer to a request with an OPT carries one. The front end's
// responder wrote that OPT already (our UDP size, DO echoed, the reply COOKIE of RFC 7873, NSID)
// in its fallback reply; the update path passes it here, and only its extended rcode changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vrdns::dns {

/// Never reads outside [msg, msg + len). A request shorter than a header gets a reply with
/// ID 0 and no zone section. `rcode` is the full rcode: its upper 8 bits (BADVERS) go into
/// the OPT, so they need one (without one the answer is FORMERR). `opt` (nullptr: none) is a
/// complete OPT RR of `opt_length` bytes, appended as the additional section; one that is not
/// a well-formed OPT (shorter than an OPT, or its RDLENGTH not its size) is left out rather
/// than sent broken.
///
/// `minimal` leaves out what an answer may do without, for a client whose UDP size the full
/// answer (and its TSIG) would exceed: the zone section (RFC 2136 §3.8 lets a response carry
/// the header alone) and every OPT option but the COOKIE (NSID is a diagnostic).
std::vector<uint8_t> make_update_reply(const uint8_t* msg, std::size_t len, uint16_t rcode,
                                       const uint8_t* opt = nullptr, std::size_t opt_length = 0,
                                       bool minimal = false);

}  // namespace vrdns::dns
