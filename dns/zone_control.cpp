#include "dns/zone_control.hpp"

#include "dns/bytes.hpp"
#include "dns/name.hpp"
#include "dns/query_parser.hpp"

namespace vrdns::dns {

namespace {

constexpr std::string_view magic = "VRZC";
constexpr uint8_t version = 1;
constexpr uint16_t class_none = 254;   // RFC 2136 §1.3
constexpr uint16_t class_in = 1;
constexpr uint16_t type_soa = 6;

bool valid_action(uint8_t a) {
  return a == uint8_t(ZoneControlRequest::Action::remove) ||
         a == uint8_t(ZoneControlRequest::Action::readmit);
}

uint16_t u16_at(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }

}  // namespace

std::string encode(const ZoneControlRequest& r) {
  ByteWriter w;
  w.reserve(magic.size() + 2 + 4 + r.apex.size());
  w.str() += magic;
  w.u8(version);
  w.u8(uint8_t(r.action));
  w.bytes(r.apex);
  return std::move(w.str());
}

bool is_zone_control(std::string_view op) { return op.starts_with(magic); }

bool decode(std::string_view in, ZoneControlRequest& out) {
  out = ZoneControlRequest{};
  if (!is_zone_control(in)) return false;
  ByteReader r(in.substr(magic.size()));
  if (r.u8() != version) return false;
  const uint8_t action = r.u8();
  out.apex = r.bytes();
  if (!r.done() || !valid_action(action)) return false;
  out.action = ZoneControlRequest::Action(action);
  const auto* p = reinterpret_cast<const uint8_t*>(out.apex.data());
  return !out.apex.empty() && name_wire_length(p, out.apex.size()) == out.apex.size();
}

std::vector<uint8_t> make_zone_control_message(const ZoneControlRequest& r, uint16_t id) {
  std::vector<uint8_t> m;
  auto u16 = [&](uint16_t v) {
    m.push_back(uint8_t(v >> 8));
    m.push_back(uint8_t(v));
  };
  u16(id);
  u16(uint16_t(opcode::UPDATE) << 11);
  u16(1);   // ZOCOUNT
  u16(0);   // PRCOUNT
  u16(1);   // UPCOUNT
  u16(0);   // ADCOUNT (the caller's TSIG adds one)
  m.insert(m.end(), r.apex.begin(), r.apex.end());
  u16(type_soa);
  u16(class_in);
  m.insert(m.end(), r.apex.begin(), r.apex.end());
  u16(control_rrtype);
  u16(class_none);
  u16(0);   // TTL, 32 bits
  u16(0);
  u16(uint16_t(control_magic.size() + 1));
  m.insert(m.end(), control_magic.begin(), control_magic.end());
  m.push_back(uint8_t(r.action));
  return m;
}

std::optional<ZoneControlRequest> parse_zone_control_message(const uint8_t* m,
                                                             std::size_t length) {
  if (length < header_size) return std::nullopt;
  const bool qr = m[2] & 0x80;
  const uint8_t op = (m[2] >> 3) & 0x0F;
  if (qr || op != opcode::UPDATE || u16_at(m + 4) != 1 || u16_at(m + 6) != 0 ||
      u16_at(m + 8) != 1 || u16_at(m + 10) != 0)
    return std::nullopt;
  std::size_t pos = header_size;
  const std::size_t zone_len = name_wire_length(m + pos, length - pos);
  if (zone_len == 0) return std::nullopt;
  ZoneControlRequest r;
  r.apex.assign(reinterpret_cast<const char*>(m + pos), zone_len);
  pos += zone_len;
  if (length - pos < 4 || u16_at(m + pos) != type_soa || u16_at(m + pos + 2) != class_in)
    return std::nullopt;
  pos += 4;
  // The owner: the apex again, or a pointer to the zone section's name (offset 12).
  if (length - pos >= 2 && m[pos] == 0xC0 && m[pos + 1] == header_size) {
    pos += 2;
  } else {
    const std::size_t owner_len = name_wire_length(m + pos, length - pos);
    if (owner_len == 0 ||
        !name_equal(r.apex, std::string_view(reinterpret_cast<const char*>(m + pos), owner_len)))
      return std::nullopt;
    pos += owner_len;
  }
  const std::size_t rdlength = control_magic.size() + 1;
  if (length - pos != 10 + rdlength) return std::nullopt;   // type class ttl rdlength rdata
  if (u16_at(m + pos) != control_rrtype || u16_at(m + pos + 2) != class_none ||
      u16_at(m + pos + 4) != 0 || u16_at(m + pos + 6) != 0 || u16_at(m + pos + 8) != rdlength)
    return std::nullopt;
  pos += 10;
  if (std::string_view(reinterpret_cast<const char*>(m + pos), control_magic.size()) !=
      control_magic)
    return std::nullopt;
  const uint8_t action = m[pos + control_magic.size()];
  if (!valid_action(action)) return std::nullopt;
  r.action = ZoneControlRequest::Action(action);
  return r;
}

const char* to_string(ZoneControlRequest::Action a) {
  return a == ZoneControlRequest::Action::remove ? "remove" : "readmit";
}

}  // namespace vrdns::dns
