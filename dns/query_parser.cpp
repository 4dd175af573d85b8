#include "dns/query_parser.hpp"

#include "dns/cookie.hpp"

#include "dns/name.hpp"
#include "dns/record.hpp"

namespace vrdns::dns {

namespace {

uint16_t get16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }

/// Length of the uncompressed name at msg[pos], or 0 if it is not one. A compression
/// pointer is refused: in the question it can only point back into the header or into the
/// name itself (a loop), so no well-formed query has one there.
std::size_t question_name_length(const uint8_t* msg, std::size_t length, std::size_t pos) {
  std::size_t n = 0;
  for (;;) {
    if (pos + n >= length) return 0;
    const uint8_t len = msg[pos + n];
    if (len > max_label_length) return 0;   // pointer or extended label type (RFC 6891)
    n += std::size_t(len) + 1;
    if (n > max_name_length) return 0;
    if (len == 0) return n;
  }
}

/// Moves `pos` past a possibly compressed name without following pointers (we never need
/// the names of RRs outside the question). False if malformed or out of bounds.
bool skip_name(const uint8_t* msg, std::size_t length, std::size_t& pos) {
  std::size_t total = 0;
  for (;;) {
    if (pos >= length) return false;
    const uint8_t len = msg[pos];
    if ((len & 0xC0) == 0xC0) {
      if (pos + 2 > length) return false;
      pos += 2;
      return true;
    }
    if (len > max_label_length) return false;
    total += std::size_t(len) + 1;
    if (total > max_name_length) return false;
    pos += std::size_t(len) + 1;
    if (len == 0) return true;
  }
}

/// The fixed part of an RR after its owner name.
struct RRHead {
  uint16_t type, rclass;
  uint32_t ttl;
  uint16_t rdlength;
  std::size_t rdata;   ///< offset of the RDATA
};

bool read_rr(const uint8_t* msg, std::size_t length, std::size_t& pos, RRHead& rr,
             std::size_t& owner) {
  owner = pos;
  if (!skip_name(msg, length, pos)) return false;
  if (length - pos < 10) return false;
  const uint8_t* p = msg + pos;
  rr.type = get16(p);
  rr.rclass = get16(p + 2);
  rr.ttl = (uint32_t(p[4]) << 24) | (uint32_t(p[5]) << 16) | (uint32_t(p[6]) << 8) | p[7];
  rr.rdlength = get16(p + 8);
  pos += 10;
  if (length - pos < rr.rdlength) return false;
  rr.rdata = pos;
  pos += rr.rdlength;
  return true;
}

/// RFC 6891 §6.1.2: owner is the root; RDATA is a sequence of {code, length, data}. Notes the
/// COOKIE option (RFC 7873) in `q`.
bool opt_well_formed(const uint8_t* msg, std::size_t owner, const RRHead& rr, ParsedQuery& q) {
  if (msg[owner] != 0) return false;
  std::size_t at = rr.rdata;
  const std::size_t end = rr.rdata + rr.rdlength;
  while (at < end) {
    if (end - at < 4) return false;
    const uint16_t code = get16(msg + at);
    const uint16_t optlen = get16(msg + at + 2);
    at += 4;
    if (end - at < optlen) return false;
    if (code == edns_option_nsid) q.nsid = true;   // its payload is empty; ignored if not
    if (code == edns_option_cookie) {
      if (q.cookie) {
        q.cookie_repeated = true;
      } else {
        q.cookie = msg + at;
        q.cookie_length = optlen;
      }
    }
    at += optlen;
  }
  return true;
}

}  // namespace

bool parse_query(const uint8_t* msg, std::size_t length, ParsedQuery& q) {
  q = ParsedQuery{};
  if (msg == nullptr || length < header_size) return false;
  if (msg[2] & 0x80) return false;   // QR=1: a response; answering could start a loop
  q.id = get16(msg);
  q.opcode = uint8_t((msg[2] >> 3) & 0x0F);
  q.rd = msg[2] & 0x01;
  q.cd = msg[3] & 0x10;
  q.qdcount = get16(msg + 4);
  q.ancount = get16(msg + 6);
  q.nscount = get16(msg + 8);
  q.arcount = get16(msg + 10);

  std::size_t pos = header_size;
  // QDCOUNT 0 is FORMERR, but the OPT is still read so that the FORMERR carries one
  // (RFC 6891 §7), as Knot does.
  if (q.qdcount != 0) {
    const std::size_t nlen = question_name_length(msg, length, pos);
    if (nlen == 0 || length - pos - nlen < 4) return true;
    q.qname = msg + pos;
    q.qname_len = nlen;
    pos += nlen;
    q.qtype = get16(msg + pos);
    q.qclass = get16(msg + pos + 2);
    pos += 4;
    q.question_end = pos;
    q.question_ok = true;
    if (q.qdcount != 1) return true;   // FORMERR anyway; the rest is not worth reading
  }

  RRHead rr{};
  std::size_t owner = 0;
  // Answer and authority RRs are only skipped: whether their presence is an error is the
  // responder's call (it needs the qtype: IXFR carries an SOA in authority).
  for (unsigned i = 0; i < unsigned(q.ancount) + q.nscount; ++i) {
    if (!read_rr(msg, length, pos, rr, owner)) return true;
    if (i >= q.ancount && q.qtype == rrtype::IXFR && rr.type == rrtype::SOA) {
      // SOA RDATA: MNAME, RNAME (either may be compressed), then SERIAL.
      std::size_t at = rr.rdata;
      const std::size_t end = rr.rdata + rr.rdlength;
      if (skip_name(msg, end, at) && skip_name(msg, end, at) && end - at >= 20) {
        q.has_ixfr_serial = true;
        q.ixfr_serial = (uint32_t(msg[at]) << 24) | (uint32_t(msg[at + 1]) << 16) |
                        (uint32_t(msg[at + 2]) << 8) | msg[at + 3];
      }
    }
  }
  bool seen_opt = false;
  for (unsigned i = 0; i < q.arcount; ++i) {
    if (!read_rr(msg, length, pos, rr, owner)) return true;
    if (rr.type == rrtype::TSIG) q.tsig = true;   // verified and signed by the front end
    if (rr.type != rrtype::OPT) continue;
    if (seen_opt || !opt_well_formed(msg, owner, rr, q)) {
      q.edns = false;   // RFC 6891 §6.1.1: more than one OPT is FORMERR; answer without OPT
      q.cookie = nullptr;
      return true;
    }
    seen_opt = true;
    q.edns = true;
    q.edns_udp_size = rr.rclass;
    q.edns_version = uint8_t(rr.ttl >> 16);
    q.edns_do = (rr.ttl & 0x8000) != 0;
  }
  q.body_ok = (pos == length);
  return true;
}

}  // namespace vrdns::dns
