// Reads a DNS query from untrusted bytes: header, the question, and the OPT record
// (RFC 1035 §4.1, RFC 6891 §6). Every length is checked before use; nothing is allocated.
// The parser only reports what it found; what to answer is the responder's decision.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vrdns::dns {

namespace opcode {
inline constexpr uint8_t QUERY = 0, IQUERY = 1, STATUS = 2, NOTIFY = 4, UPDATE = 5;
}
namespace rcode {
inline constexpr uint8_t NOERROR = 0, FORMERR = 1, SERVFAIL = 2, NXDOMAIN = 3, NOTIMP = 4,
                         REFUSED = 5;
inline constexpr uint16_t BADVERS = 16;   ///< extended: OPT ext-rcode 1, header rcode 0
inline constexpr uint16_t BADCOOKIE = 23;   ///< extended: OPT ext-rcode 1, header rcode 7
}
/// EDNS option codes (the COOKIE option's is in dns/cookie.hpp).
inline constexpr uint16_t edns_option_nsid = 3;   ///< RFC 5001
inline constexpr uint16_t edns_option_ede = 15;   ///< RFC 8914 Extended DNS Errors
/// Extended DNS Error info codes (RFC 8914 §4) this server gives.
namespace ede {
inline constexpr uint16_t NOT_READY = 14;           ///< no committed state to answer from yet
inline constexpr uint16_t NOT_AUTHORITATIVE = 20;   ///< a name outside every zone we serve
}

inline constexpr std::size_t header_size = 12;

struct ParsedQuery {
  // Header (always valid when parse_query returned true).
  uint16_t id = 0;
  uint8_t opcode = 0;
  bool rd = false;
  bool cd = false;   ///< parsed, but not copied into replies (NSD and Knot do not)
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;

  // The first question, if qdcount >= 1 and it is well formed.
  bool question_ok = false;
  const uint8_t* qname = nullptr;   ///< into the query, case as received, uncompressed
  std::size_t qname_len = 0;        ///< including the root byte; <= 255
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  std::size_t question_end = 0;     ///< offset just after the first question

  // Everything after the first question (only examined when qdcount == 1): the answer and
  // authority RRs skip cleanly, at most one OPT, valid OPT options, no trailing bytes.
  bool body_ok = false;

  // IXFR (RFC 1995 §3): the serial of the SOA the client sent in the authority section.
  bool has_ixfr_serial = false;
  uint32_t ixfr_serial = 0;

  // A TSIG RR in the additional section (RFC 8945): the front end verifies it and signs the
  // answer (Disposition::signed); the responder itself never looks at it.
  bool tsig = false;

  // EDNS0 (only when an OPT was present and well formed).
  bool edns = false;
  uint16_t edns_udp_size = 0;
  uint8_t edns_version = 0;
  bool edns_do = false;
  // RFC 7873: the data of the OPT's first COOKIE option (into the query; its length is
  // unchecked: dns/cookie.hpp judges it), and whether another COOKIE option followed.
  const uint8_t* cookie = nullptr;
  uint16_t cookie_length = 0;
  bool cookie_repeated = false;
  bool nsid = false;   ///< RFC 5001: the client asks which server answered
};

/// False when the message must be dropped unanswered: shorter than a header, or QR=1.
/// Otherwise fills `q` (see the *_ok flags for what could be parsed).
bool parse_query(const uint8_t* msg, std::size_t length, ParsedQuery& q);

}  // namespace vrdns::dns
