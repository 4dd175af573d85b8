// NOTIFY (RFC 1996) messages: the request a primary sends its secondaries when a zone changed,
// and the check that a reply answers it. Pure: no I/O, no TSIG (the caller signs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "dns/zone.hpp"

namespace vrdns::dns {

/// opcode NOTIFY, AA, the question <apex> SOA IN and, as RFC 1996 §3.7 allows, the zone's
/// current SOA in the answer section (a hint: secondaries still ask for the SOA themselves).
std::vector<uint8_t> make_notify(uint16_t id, const Zone& zone);

/// True if `reply` is a response to the NOTIFY `request`: same ID, QR set, opcode NOTIFY.
/// `rcode` gets its rcode. Never reads outside either message.
bool answers_notify(const uint8_t* reply, std::size_t reply_length,
                    const std::vector<uint8_t>& request, uint8_t& rcode);

}  // namespace vrdns::dns
