// A reply that carries no records: the request's header and question with an rcode, and an OPT
// when the request had one (RFC 6891 §7). What the front ends send for refusals and errors
// outside the responder (zone transfers, TSIG errors), before dns/tsig signs it.
#pragma once

#include <cstdint>
#include <vector>

#include "dns/cookie.hpp"
#include "dns/query_parser.hpp"

namespace vrdns::dns {

/// `q` as parse_query filled it (the question is echoed only when it was read). QR set, the
/// request's opcode and RD, AA as given. With `cookie` (check_cookie's verdict on the request's
/// COOKIE option), the OPT carries the reply cookie (RFC 7873: every answer to a request with
/// a cookie has one).
std::vector<uint8_t> make_error_reply(const ParsedQuery& q, uint8_t rcode, bool aa = false,
                                      const CookieCheck* cookie = nullptr);

}  // namespace vrdns::dns
