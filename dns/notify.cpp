#include "dns/notify.hpp"

#include "dns/query_parser.hpp"
#include "dns/record.hpp"
#include "dns/rr_writer.hpp"
#include "dns/wire_writer.hpp"

namespace vrdns::dns {

std::vector<uint8_t> make_notify(uint16_t id, const Zone& zone) {
  std::vector<uint8_t> out(2048);   // header, question and one SOA: at most ~1.3 KB
  WireWriter w(out.data(), out.size());
  w.put_u16(id);
  w.put_u8(uint8_t((opcode::NOTIFY << 3) | 0x04));   // QR clear, opcode NOTIFY, AA
  w.put_u8(0);
  w.put_u16(1);   // QDCOUNT
  w.put_u16(1);   // ANCOUNT
  w.put_u16(0);
  w.put_u16(0);
  w.put_name(zone.apex(), true);
  w.put_u16(rrtype::SOA);
  w.put_u16(rrclass::IN);
  put_rrset(w, zone.apex(), zone.soa(), rrclass::IN, zone.soa().ttl);
  out.resize(w.ok() ? w.size() : 0);
  return out;
}

bool answers_notify(const uint8_t* reply, std::size_t reply_length,
                    const std::vector<uint8_t>& request, uint8_t& rcode) {
  if (reply_length < header_size || request.size() < header_size) return false;
  if (reply[0] != request[0] || reply[1] != request[1]) return false;
  if (!(reply[2] & 0x80)) return false;                        // QR
  if (((reply[2] >> 3) & 0x0F) != opcode::NOTIFY) return false;
  rcode = reply[3] & 0x0F;
  return true;
}

}  // namespace vrdns::dns
