// Resource records from the zone store onto the wire: the query path's answers and zone
// transfers write RRsets the same way (owner and RDATA names compressed where RFC 3597 §4
// allows it). No allocation. Inline: the responder's hot loop calls these per record, and the
// build has no link-time optimisation to inline across files.
#pragma once

#include <cstdint>
#include <string_view>

#include "dns/name.hpp"
#include "dns/record.hpp"
#include "dns/wire_writer.hpp"
#include "dns/zone.hpp"

namespace vrdns::dns {

/// RDATA, with the embedded names compressed for the types RFC 3597 §4 allows (we take the
/// common subset NS, CNAME, PTR, MX, SOA). Anything unexpected is copied verbatim.
inline void put_rdata(WireWriter& w, uint16_t type, std::string_view rdata) {
  const auto* p = reinterpret_cast<const uint8_t*>(rdata.data());
  const std::size_t size = rdata.size();
  switch (type) {
    case rrtype::NS:
    case rrtype::CNAME:
    case rrtype::PTR:
      if (name_wire_length(p, size) == size) return w.put_name(p, size, true);
      break;
    case rrtype::MX:
      if (size > 2 && name_wire_length(p + 2, size - 2) == size - 2) {
        w.put_bytes(p, 2);
        return w.put_name(p + 2, size - 2, true);
      }
      break;
    case rrtype::SOA: {
      const std::size_t mname = name_wire_length(p, size);
      const std::size_t rname = mname ? name_wire_length(p + mname, size - mname) : 0;
      if (rname && size - mname - rname == 20) {
        w.put_name(p, mname, true);
        w.put_name(p + mname, rname, true);
        return w.put_bytes(p + mname + rname, 20);
      }
      break;
    }
    default:
      break;
  }
  w.put_bytes(p, size);
}

/// One record: owner (compressed), type, class, TTL, RDLENGTH and RDATA.
inline void put_record(WireWriter& w, std::string_view owner, uint16_t type, uint16_t rclass,
                uint32_t ttl, std::string_view rdata) {
  w.put_name(owner, true);
  w.put_u16(type);
  w.put_u16(rclass);
  w.put_u32(ttl);
  const std::size_t rdlength_at = w.size();
  w.put_u16(0);
  put_rdata(w, type, rdata);
  if (w.ok()) w.patch_u16(rdlength_at, uint16_t(w.size() - rdlength_at - 2));
}

/// Every record of `rrset` at `owner`, with class `rclass` and TTL `ttl`.
inline void put_rrset(WireWriter& w, std::string_view owner, const RRset& rrset, uint16_t rclass,
               uint32_t ttl) {
  rrset.for_each_rdata(
      [&](std::string_view rdata) { put_record(w, owner, rrset.type, rclass, ttl, rdata); });
}

/// Starts an OPT RR (RFC 6891 §6.1.2): root owner, the UDP size we accept, the upper 8 bits of
/// the extended rcode, version 0, the DO bit. Options follow (put_edns_option); end_opt() sets
/// the RDLENGTH at the offset this returns.
inline std::size_t begin_opt(WireWriter& w, uint16_t udp_size, uint16_t rcode, bool dnssec_ok) {
  w.put_u8(0);
  w.put_u16(rrtype::OPT);
  w.put_u16(udp_size);
  w.put_u32((uint32_t(rcode >> 4) << 24) | (dnssec_ok ? 0x8000u : 0u));
  const std::size_t rdlength_at = w.size();
  w.put_u16(0);
  return rdlength_at;
}

inline void put_edns_option(WireWriter& w, uint16_t code, const uint8_t* data, uint16_t length) {
  w.put_u16(code);
  w.put_u16(length);
  w.put_bytes(data, length);
}

inline void end_opt(WireWriter& w, std::size_t rdlength_at) {
  if (w.ok()) w.patch_u16(rdlength_at, uint16_t(w.size() - rdlength_at - 2));
}

/// An OPT RR without options.
inline void put_opt(WireWriter& w, uint16_t udp_size, uint16_t rcode, bool dnssec_ok) {
  begin_opt(w, udp_size, rcode, dnssec_ok);
}

/// The size of an OPT RR without options, and of one option's code and length.
inline constexpr std::size_t opt_rr_size = 11;
inline constexpr std::size_t edns_option_head = 4;

}  // namespace vrdns::dns
