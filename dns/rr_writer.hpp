// Resource records from the zone store onto the wire: the query path's answers and zone
// transfers write RRsets the same way (owner and RDATA names compressed where RFC 3597 §4
// allows it). No allocation.
#pragma once

#include <cstdint>
#include <string_view>

#include "dns/wire_writer.hpp"
#include "dns/zone.hpp"

namespace vrdns::dns {

/// RDATA, with the embedded names compressed for the types RFC 3597 §4 allows (we take the
/// common subset NS, CNAME, PTR, MX, SOA). Anything unexpected is copied verbatim.
void put_rdata(WireWriter& w, uint16_t type, std::string_view rdata);

/// One record: owner (compressed), type, class, TTL, RDLENGTH and RDATA.
void put_record(WireWriter& w, std::string_view owner, uint16_t type, uint16_t rclass,
                uint32_t ttl, std::string_view rdata);

/// Every record of `rrset` at `owner`, with class `rclass` and TTL `ttl`.
void put_rrset(WireWriter& w, std::string_view owner, const RRset& rrset, uint16_t rclass,
               uint32_t ttl);

}  // namespace vrdns::dns
