#include "app/signed_queries.hpp"

#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <vector>

#include "dns/error_reply.hpp"
#include "dns/query_parser.hpp"
#include "dns/tsig.hpp"

namespace vrdns::app {

namespace {

std::size_t answer_signed(const dns::Keyring& keys, const uint8_t* query, std::size_t length,
                          dns::Transport transport, const dns::ServingState& state, uint8_t* out,
                          std::size_t capacity, const dns::CookieContext* cookies) {
  const int64_t now = int64_t(std::time(nullptr));
  const dns::TsigVerdict verdict = dns::verify_request(query, length, keys, now);
  std::vector<uint8_t> reply;
  if (verdict.status == dns::TsigStatus::ok) {
    const std::vector<uint8_t> body = dns::strip_tsig(query, length, verdict);
    if (body.empty()) return 0;
    // Answered like the unsigned query, with room left for the TSIG within the UDP size.
    const dns::AnswerResult r = dns::answer(state, body.data(), body.size(), transport, out,
                                            capacity, dns::tsig_reply_size(verdict), cookies);
    if (r.what == dns::Disposition::drop || r.length == 0) return 0;
    reply.assign(out, out + r.length);
  } else {
    dns::ParsedQuery q;
    if (!dns::parse_query(query, length, q)) return 0;   // a response, or no header: drop
    dns::CookieCheck cookie;
    if (cookies && q.edns && q.cookie)
      cookie = dns::check_cookie(*cookies, q.cookie, q.cookie_length, q.cookie_repeated);
    // sign_reply sets FORMERR, or NOTAUTH + TSIG error.
    reply = dns::make_error_reply(q, 0, false, &cookie);
  }
  if (!dns::sign_reply(reply, verdict, keys, now) || reply.size() > capacity) return 0;
  std::memcpy(out, reply.data(), reply.size());
  return reply.size();
}

}  // namespace

net::SignedQueryHandler make_signed_query_handler(
    std::shared_ptr<const CurrentAccessPolicy> policy) {
  if (!policy) throw std::invalid_argument("signed queries: no policy");
  return [policy](const uint8_t* query, std::size_t length, dns::Transport transport,
                  const dns::ServingState& state, uint8_t* out, std::size_t capacity,
                  const dns::CookieContext* cookies) {
    const AccessPolicyPtr current = policy->get();
    return answer_signed(current->keys, query, length, transport, state, out, capacity, cookies);
  };
}

}  // namespace vrdns::app
