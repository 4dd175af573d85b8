#include "dns/update_reply.hpp"

#include "dns/cookie.hpp"
#include "dns/name.hpp"
#include "dns/record.hpp"
#include "dns/rr_writer.hpp"

namespace vrdns::dns {

namespace {
constexpr std::size_t header_size = 12;
constexpr uint8_t opcode_update = 5;

/// Root owner, type OPT, and an RDLENGTH that covers exactly the rest.
bool is_opt_rr(const uint8_t* opt, std::size_t length) {
  if (opt == nullptr || length < opt_rr_size || length > 0xFFFF) return false;
  const unsigned type = unsigned(opt[1]) << 8 | opt[2];
  const std::size_t rdlength = std::size_t(opt[9]) << 8 | opt[10];
  return opt[0] == 0 && type == rrtype::OPT && opt_rr_size + rdlength == length;
}

/// Appends the OPT RR `opt` (is_opt_rr) with its COOKIE option alone.
void append_opt_with_cookie_only(std::vector<uint8_t>& out, const uint8_t* opt,
                                 std::size_t length) {
  const std::size_t at = out.size();
  out.insert(out.end(), opt, opt + opt_rr_size);
  std::size_t i = opt_rr_size;
  while (i + edns_option_head <= length) {
    const unsigned code = unsigned(opt[i]) << 8 | opt[i + 1];
    const std::size_t size = std::size_t(opt[i + 2]) << 8 | opt[i + 3];
    if (i + edns_option_head + size > length) break;   // we wrote it, but never trust a length
    if (code == edns_option_cookie)
      out.insert(out.end(), opt + i, opt + i + edns_option_head + size);
    i += edns_option_head + size;
  }
  const std::size_t rdlength = out.size() - at - opt_rr_size;
  out[at + 9] = uint8_t(rdlength >> 8);
  out[at + 10] = uint8_t(rdlength);
}
}  // namespace

std::vector<uint8_t> make_update_reply(const uint8_t* msg, std::size_t len, uint16_t rcode,
                                       const uint8_t* opt, std::size_t opt_length,
                                       bool minimal) {
  std::vector<uint8_t> out(header_size, 0);
  out[2] = uint8_t(0x80 | (opcode_update << 3));
  out[3] = uint8_t(rcode & 0x0F);
  if (msg != nullptr && len >= header_size) {
    out[0] = msg[0];
    out[1] = msg[1];
    // Echo the zone section (one entry: name, type, class) if ZOCOUNT >= 1 and it is readable.
    // Only an uncompressed name is echoed: a compression pointer would point into the request.
    const unsigned zocount = unsigned(msg[4]) << 8 | msg[5];
    if (zocount >= 1 && !minimal) {
      std::size_t name_len = name_wire_length(msg + header_size, len - header_size);
      if (name_len > 0 && header_size + name_len + 4 <= len) {
        out.insert(out.end(), msg + header_size, msg + header_size + name_len + 4);
        out[5] = 1;
      }
    }
  }
  if (is_opt_rr(opt, opt_length)) {
    const std::size_t at = out.size();
    if (minimal)
      append_opt_with_cookie_only(out, opt, opt_length);
    else
      out.insert(out.end(), opt, opt + opt_length);
    out[at + 5] = uint8_t(rcode >> 4);   // the TTL's first byte: EXTENDED-RCODE (RFC 6891 §6.1.3)
    out[11] = 1;                         // ARCOUNT
  } else if (rcode > 0x0F) {
    // An extended rcode cannot be said without an OPT; its low bits alone could read as
    // NOERROR (BADVERS is 16). The request's EDNS was what went wrong: FORMERR.
    out[3] = 1;
  }
  return out;
}

}  // namespace vrdns::dns
