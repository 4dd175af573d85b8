#include "dns/rr_writer.hpp"

#include "dns/name.hpp"
#include "dns/record.hpp"

namespace vrdns::dns {

void put_rdata(WireWriter& w, uint16_t type, std::string_view rdata) {
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

void put_record(WireWriter& w, std::string_view owner, uint16_t type, uint16_t rclass,
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

void put_rrset(WireWriter& w, std::string_view owner, const RRset& rrset, uint16_t rclass,
               uint32_t ttl) {
  rrset.for_each_rdata(
      [&](std::string_view rdata) { put_record(w, owner, rrset.type, rclass, ttl, rdata); });
}

}  // namespace vrdns::dns
