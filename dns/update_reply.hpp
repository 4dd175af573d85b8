// The header-only answer to an UPDATE (RFC 2136 §3.8): same ID and opcode, QR set, the given
// rcode, and the request's zone section echoed when it can be read. Used by the front end for
// answers that never reach VR (REFUSED, NOTAUTH, FORMERR...) and for the committed result;
// TSIG signing (dns/tsig.hpp sign_reply) is done on top of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vrdns::dns {

/// Never reads outside [msg, msg + len). A request shorter than a header gets a reply with
/// ID 0 and no zone section.
std::vector<uint8_t> make_update_reply(const uint8_t* msg, std::size_t len, uint8_t rcode);

}  // namespace vrdns::dns
