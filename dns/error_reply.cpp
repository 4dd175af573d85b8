#include "dns/error_reply.hpp"

#include "dns/name.hpp"
#include "dns/record.hpp"

namespace vrdns::dns {

std::vector<uint8_t> make_error_reply(const ParsedQuery& q, uint8_t rcode, bool aa,
                                      const CookieCheck* cookie) {
  std::vector<uint8_t> m;
  m.reserve(header_size + max_name_length + 4 + 11 + 4 + reply_cookie_size);   // no regrowth
  m.push_back(uint8_t(q.id >> 8));
  m.push_back(uint8_t(q.id));
  m.push_back(uint8_t(0x80 | (q.opcode << 3) | (aa ? 0x04 : 0) | (q.rd ? 0x01 : 0)));
  m.push_back(uint8_t(rcode & 0x0F));
  const bool question = q.question_ok && q.qdcount == 1;
  const uint8_t counts[8] = {0, uint8_t(question ? 1 : 0), 0, 0, 0, 0, 0, uint8_t(q.edns ? 1 : 0)};
  m.insert(m.end(), counts, counts + 8);
  if (question) {
    m.insert(m.end(), q.qname, q.qname + q.qname_len);
    const uint8_t tail[4] = {uint8_t(q.qtype >> 8), uint8_t(q.qtype), uint8_t(q.qclass >> 8),
                             uint8_t(q.qclass)};
    m.insert(m.end(), tail, tail + 4);
  }
  if (q.edns) {
    const bool with_cookie = cookie != nullptr && carries_cookie(cookie->verdict);
    const uint8_t rdlength = with_cookie ? uint8_t(4 + reply_cookie_size) : 0;
    const uint8_t opt[11] = {0, uint8_t(rrtype::OPT >> 8), uint8_t(rrtype::OPT & 0xFF),
                             uint8_t(1232 >> 8), uint8_t(1232 & 0xFF), 0, 0, 0, 0, 0, rdlength};
    m.insert(m.end(), opt, opt + 11);
    if (with_cookie) {
      const uint8_t head[4] = {0, uint8_t(edns_option_cookie), 0, uint8_t(reply_cookie_size)};
      m.insert(m.end(), head, head + 4);
      m.insert(m.end(), cookie->reply, cookie->reply + reply_cookie_size);
    }
  }
  return m;
}

}  // namespace vrdns::dns
