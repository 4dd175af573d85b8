// DNS cookies (RFC 7873, RFC 9018): SipHash-2-4, the server cookie against the RFC's worked
// examples, how a received cookie is classified (ages, bits, addresses, secrets, lengths), the
// COOKIE option in the responder's replies, and the BADCOOKIE form of a slipped answer.
#define BOOST_TEST_MODULE test_cookie
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "dns/cookie.hpp"
#include "dns/name.hpp"
#include "dns/query_parser.hpp"
#include "dns/record.hpp"
#include "dns/responder.hpp"
#include "dns/rr_writer.hpp"
#include "dns/siphash.hpp"
#include "dns/update_reply.hpp"
#include "dns/zone.hpp"
#include "example_state.hpp"
#include "net/cookie_address.hpp"
#include "net/rate_limiter.hpp"
#include "net/update_hook.hpp"

#include <ldns/ldns.h>

using namespace vrdns;
using namespace vrdns::dns;

namespace {

std::vector<uint8_t> unhex(std::string_view text) {
  BOOST_REQUIRE(text.size() % 2 == 0);
  std::vector<uint8_t> out;
  for (std::size_t i = 0; i < text.size(); i += 2)
    out.push_back(uint8_t(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string hex(const uint8_t* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

CookieSecret secret(std::string_view text) {
  const auto bytes = unhex(text);
  BOOST_REQUIRE(bytes.size() == 16);
  CookieSecret s{};
  std::memcpy(s.data(), bytes.data(), 16);
  return s;
}

sockaddr_storage socket_address(const char* text) {
  sockaddr_storage s{};
  if (std::strchr(text, ':')) {
    auto& a = reinterpret_cast<sockaddr_in6&>(s);
    a.sin6_family = AF_INET6;
    BOOST_REQUIRE(::inet_pton(AF_INET6, text, &a.sin6_addr) == 1);
  } else {
    auto& a = reinterpret_cast<sockaddr_in&>(s);
    a.sin_family = AF_INET;
    BOOST_REQUIRE(::inet_pton(AF_INET, text, &a.sin_addr) == 1);
  }
  return s;
}

ClientAddress address(const char* text) { return net::cookie_address(socket_address(text)); }

const CookieSecrets& rfc_secrets() {
  static const CookieSecrets s{secret("e5e973e5a6b2a43f48e7dc849e37bfcf"), std::nullopt};
  return s;
}

/// check_cookie on the option data given in hex.
CookieCheck check(const CookieSecrets& secrets, std::string_view option, const char* client,
                  uint32_t now, bool repeated = false) {
  CookieContext context{&secrets, address(client), now};
  auto bytes = unhex(option);
  const std::size_t length = bytes.size();
  bytes.push_back(0);   // an empty option is present too: its data pointer is not null
  return check_cookie(context, bytes.data(), length, repeated);
}

std::string reply_of(const CookieCheck& c) { return hex(c.reply, reply_cookie_size); }

constexpr uint32_t a1_issued = 1559731985;   // RFC 9018 A.1: Wed Jun 5 10:53:05 UTC 2019
const char* const a1_client = "198.51.100.100";
const char* const a1_cookie = "2464c4abcf10c957010000005cf79f111f8130c3eee29480";

}  // namespace

BOOST_AUTO_TEST_SUITE(siphash)

// The reference implementation's vectors: key 00..0f, message 00..len-1.
BOOST_AUTO_TEST_CASE(reference_vectors) {
  uint8_t key[16], msg[64];
  for (int i = 0; i < 16; ++i) key[i] = uint8_t(i);
  for (int i = 0; i < 64; ++i) msg[i] = uint8_t(i);
  BOOST_TEST(siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
  BOOST_TEST(siphash24(key, msg, 1) == 0x74f839c593dc67fdULL);
  BOOST_TEST(siphash24(key, msg, 8) == 0x93f5f5799a932462ULL);
  BOOST_TEST(siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL);   // the paper's example
  BOOST_TEST(siphash24(key, msg, 63) == 0x958a324ceb064572ULL);
  uint8_t shifted[65];   // no alignment assumption
  std::memcpy(shifted + 1, msg, 63);
  BOOST_TEST(siphash24(key, shifted + 1, 63) == 0x958a324ceb064572ULL);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rfc9018_appendix_a)

BOOST_AUTO_TEST_CASE(a1_a_new_client_learns_a_server_cookie) {
  const CookieCheck c = check(rfc_secrets(), "2464c4abcf10c957", a1_client, a1_issued);
  BOOST_TEST(int(c.verdict) == int(CookieVerdict::client_only));
  BOOST_TEST(reply_of(c) == a1_cookie);
}

BOOST_AUTO_TEST_CASE(a2_a_cookie_older_than_half_an_hour_is_renewed) {
  const CookieCheck c = check(rfc_secrets(), a1_cookie, a1_client, 1559734385);
  BOOST_TEST(int(c.verdict) == int(CookieVerdict::valid));
  BOOST_TEST(reply_of(c) == "2464c4abcf10c957010000005cf7a871d4a564a1442aca77");
}

// The query's server cookie has its Reserved bytes set and was made 1h52m before: it verified
// when it was made (the hash covers the bytes as received), and is expired now.
BOOST_AUTO_TEST_CASE(a3_an_expired_cookie_with_reserved_bytes_set) {
  const char* query = "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5";
  BOOST_TEST(int(check(rfc_secrets(), query, "203.0.113.203", 1559727985).verdict) ==
             int(CookieVerdict::valid));
  const CookieCheck c = check(rfc_secrets(), query, "203.0.113.203", 1559734700);
  BOOST_TEST(int(c.verdict) == int(CookieVerdict::invalid));
  BOOST_TEST(reply_of(c) == "fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e");
}

BOOST_AUTO_TEST_CASE(a4_ipv6_and_a_rolled_secret) {
  const CookieSecrets rolled{secret("445536bcd2513298075a5d379663c962"),
                             secret("dd3bdf9344b678b185a6f5cb60fca715")};
  const char* query = "22681ab97d52c298010000005cf7c57926556bd0934c72f8";
  const char* client = "2001:db8:220:1:59de:d0f4:8769:82b8";
  const CookieCheck c = check(rolled, query, client, 1559741961);
  BOOST_TEST(int(c.verdict) == int(CookieVerdict::valid));
  BOOST_TEST(reply_of(c) == "22681ab97d52c298010000005cf7c609a6bb79d16625507a");
  // Without the previous secret, the same cookie is not ours.
  const CookieSecrets only_new{rolled.current, std::nullopt};
  BOOST_TEST(int(check(only_new, query, client, 1559741961).verdict) ==
             int(CookieVerdict::invalid));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(classification)

// Valid from an hour in the past to five minutes in the future; echoed while under half an
// hour old, renewed (a new reply, still valid) after.
BOOST_AUTO_TEST_CASE(age) {
  struct Case {
    int64_t age;
    CookieVerdict verdict;
    bool echoed;
  };
  for (const Case k : {Case{0, CookieVerdict::valid, true}, Case{1799, CookieVerdict::valid, true},
                       Case{1800, CookieVerdict::valid, false},
                       Case{3600, CookieVerdict::valid, false},
                       Case{3601, CookieVerdict::invalid, false},
                       Case{-300, CookieVerdict::valid, true},
                       Case{-301, CookieVerdict::invalid, false}}) {
    const uint32_t now = uint32_t(int64_t(a1_issued) + k.age);
    const CookieCheck c = check(rfc_secrets(), a1_cookie, a1_client, now);
    BOOST_TEST_CONTEXT("age " << k.age) {
      BOOST_TEST(int(c.verdict) == int(k.verdict));
      BOOST_TEST((reply_of(c) == a1_cookie) == k.echoed);
      // Whatever was sent back verifies at once.
      const CookieCheck again = check(rfc_secrets(), reply_of(c), a1_client, now);
      BOOST_TEST(int(again.verdict) == int(CookieVerdict::valid));
      BOOST_TEST(reply_of(again) == reply_of(c));
    }
  }
}

BOOST_AUTO_TEST_CASE(every_byte_is_bound) {
  const auto good = unhex(a1_cookie);
  for (std::size_t i = 0; i < good.size(); ++i) {
    auto bad = good;
    bad[i] ^= 0x01;
    const CookieCheck c = check(rfc_secrets(), hex(bad.data(), bad.size()), a1_client, a1_issued);
    BOOST_TEST_CONTEXT("byte " << i) {
      BOOST_TEST(int(c.verdict) == int(CookieVerdict::invalid));
      // The client cookie is answered as sent, with a fresh server cookie for it.
      BOOST_TEST(hex(c.reply, 8) == hex(bad.data(), 8));
      BOOST_TEST(reply_of(c) != hex(bad.data(), bad.size()));
    }
  }
  BOOST_TEST(int(check(rfc_secrets(), a1_cookie, "198.51.100.101", a1_issued).verdict) ==
             int(CookieVerdict::invalid));
  const CookieSecrets other{secret("dd3bdf9344b678b185a6f5cb60fca715"), std::nullopt};
  BOOST_TEST(int(check(other, a1_cookie, a1_client, a1_issued).verdict) ==
             int(CookieVerdict::invalid));
}

// A dual-stack socket sees IPv4 clients as ::ffff:a.b.c.d: the same client, the same cookie.
BOOST_AUTO_TEST_CASE(ipv4_mapped_is_ipv4) {
  const ClientAddress mapped = address("::ffff:198.51.100.100");
  BOOST_TEST(int(mapped.length) == 4);
  const CookieCheck c = check(rfc_secrets(), a1_cookie, "::ffff:198.51.100.100", a1_issued);
  BOOST_TEST(int(c.verdict) == int(CookieVerdict::valid));
  BOOST_TEST(int(address("2001:db8::1").length) == 16);
}

// RFC 7873 §5.2.2: 8 bytes, or 16 to 40; anything else, or a second COOKIE, is FORMERR.
BOOST_AUTO_TEST_CASE(lengths) {
  const std::string full = std::string(a1_cookie) + std::string(32, '0');   // 40 bytes
  for (std::size_t n = 0; n <= 41; ++n) {
    std::string option = full.substr(0, std::min<std::size_t>(2 * n, full.size()));
    if (n == 41) option += "00";
    const CookieCheck c = check(rfc_secrets(), option, a1_client, a1_issued);
    const CookieVerdict want = n == 8                 ? CookieVerdict::client_only
                               : n == 24              ? CookieVerdict::valid
                               : n >= 16 && n <= 40   ? CookieVerdict::invalid
                                                      : CookieVerdict::malformed;
    BOOST_TEST_CONTEXT("length " << n) { BOOST_TEST(int(c.verdict) == int(want)); }
  }
  BOOST_TEST(int(check(rfc_secrets(), a1_cookie, a1_client, a1_issued, true).verdict) ==
             int(CookieVerdict::malformed));
}

// A cookie made just before the 32-bit timestamp wraps verifies just after it (RFC 1982).
BOOST_AUTO_TEST_CASE(timestamp_wrap) {
  const uint32_t issued = 0xffffff00u;
  const CookieCheck made = check(rfc_secrets(), "2464c4abcf10c957", a1_client, issued);
  const CookieCheck later = check(rfc_secrets(), reply_of(made), a1_client, issued + 512);
  BOOST_TEST(int(later.verdict) == int(CookieVerdict::valid));
  BOOST_TEST(reply_of(later) == reply_of(made));
  BOOST_TEST(int(check(rfc_secrets(), reply_of(made), a1_client, issued + 3601).verdict) ==
             int(CookieVerdict::invalid));
}

BOOST_AUTO_TEST_CASE(off_or_without_an_address_is_none) {
  const auto option = unhex(a1_cookie);
  CookieContext off{nullptr, address(a1_client), a1_issued};
  BOOST_TEST(int(check_cookie(off, option.data(), option.size()).verdict) ==
             int(CookieVerdict::none));
  CookieContext nowhere{&rfc_secrets(), ClientAddress{}, a1_issued};
  BOOST_TEST(int(check_cookie(nowhere, option.data(), option.size()).verdict) ==
             int(CookieVerdict::none));
}

BOOST_AUTO_TEST_CASE(random_secrets_differ) {
  BOOST_TEST(random_cookie_secret() != random_cookie_secret());
}

BOOST_AUTO_TEST_SUITE_END()

// --- The COOKIE option in answers ---------------------------------------------------------

namespace {

const ServingState& serving() { return vrdns::test::example_state(); }

void put16(std::vector<uint8_t>& m, uint16_t v) {
  m.push_back(uint8_t(v >> 8));
  m.push_back(uint8_t(v));
}

/// A query with an OPT (version `version`) carrying one COOKIE option per entry of `cookies`.
std::vector<uint8_t> query(const std::string& name, uint16_t type,
                           const std::vector<std::string>& cookies, uint8_t version = 0,
                           uint16_t udp_size = 1232) {
  std::vector<uint8_t> m;
  put16(m, 0x4242);
  put16(m, 0x0100);
  put16(m, 1);
  put16(m, 0);
  put16(m, 0);
  put16(m, 1);
  const std::string n = *name_from_text(name);
  m.insert(m.end(), n.begin(), n.end());
  put16(m, type);
  put16(m, rrclass::IN);
  m.push_back(0);
  put16(m, rrtype::OPT);
  put16(m, udp_size);
  m.push_back(0);
  m.push_back(version);
  put16(m, 0);
  std::vector<uint8_t> options;
  for (const auto& c : cookies) {
    const auto bytes = unhex(c);
    put16(options, edns_option_cookie);
    put16(options, uint16_t(bytes.size()));
    options.insert(options.end(), bytes.begin(), bytes.end());
  }
  put16(m, uint16_t(options.size()));
  m.insert(m.end(), options.begin(), options.end());
  return m;
}

struct Answered {
  AnswerResult result;
  std::vector<uint8_t> bytes;
};

Answered ask(const std::vector<uint8_t>& q, const CookieContext* context,
             Transport t = Transport::udp) {
  Answered a;
  a.bytes.assign(max_message_size, 0);
  a.result = answer(serving(), q.data(), q.size(), t, a.bytes.data(), a.bytes.size(), 0, context);
  a.bytes.resize(a.result.length);
  return a;
}

uint16_t get16(const std::vector<uint8_t>& b, std::size_t at) {
  return uint16_t(b.at(at) << 8 | b.at(at + 1));
}

/// Checks that the reply parses, has one OPT, and ends with a COOKIE option whose data is at
/// result.cookie_at; returns that data in hex.
std::string reply_cookie(const Answered& a) {
  ldns_pkt* pkt = nullptr;
  BOOST_REQUIRE(ldns_wire2pkt(&pkt, a.bytes.data(), a.bytes.size()) == LDNS_STATUS_OK);
  BOOST_TEST(ldns_pkt_edns(pkt));
  ldns_pkt_free(pkt);
  const std::size_t at = a.result.cookie_at;
  BOOST_REQUIRE(at != 0);
  BOOST_REQUIRE(at + reply_cookie_size == a.bytes.size());
  BOOST_TEST(get16(a.bytes, at - 4) == edns_option_cookie);
  BOOST_TEST(get16(a.bytes, at - 2) == reply_cookie_size);
  BOOST_TEST(get16(a.bytes, at - 6) == 4 + reply_cookie_size);   // the OPT's RDLENGTH
  BOOST_TEST(a.bytes[at - 15] == 0);   // the OPT: root owner, then its type
  BOOST_TEST(get16(a.bytes, at - 14) == rrtype::OPT);
  return hex(a.bytes.data() + at, reply_cookie_size);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(answers)

BOOST_AUTO_TEST_CASE(the_reply_carries_the_server_cookie) {
  CookieContext context{&rfc_secrets(), address(a1_client), a1_issued};
  for (Transport t : {Transport::udp, Transport::tcp}) {
    const Answered a =
        ask(query("www.example.test.", rrtype::A, {"2464c4abcf10c957"}), &context, t);
    BOOST_TEST((a.bytes[3] & 0x0F) == rcode::NOERROR);
    BOOST_TEST(get16(a.bytes, 6) >= 1);   // answered as without a cookie
    BOOST_TEST(int(a.result.cookie) == int(CookieVerdict::client_only));
    BOOST_TEST(reply_cookie(a) == a1_cookie);
    const Answered back = ask(query("www.example.test.", rrtype::A, {a1_cookie}), &context, t);
    BOOST_TEST(int(back.result.cookie) == int(CookieVerdict::valid));
    BOOST_TEST(reply_cookie(back) == a1_cookie);
  }
}

BOOST_AUTO_TEST_CASE(without_cookies_configured_the_option_is_ignored) {
  const auto q = query("www.example.test.", rrtype::A, {"2464c4abcf10c957"});
  const Answered a = ask(q, nullptr);
  BOOST_TEST((a.bytes[3] & 0x0F) == rcode::NOERROR);
  BOOST_TEST(int(a.result.cookie) == int(CookieVerdict::none));
  BOOST_TEST(a.result.cookie_at == 0u);
  BOOST_TEST(get16(a.bytes, a.bytes.size() - 2) == 0u);   // the OPT last, with no option
  // A malformed one too: a server without cookies does not read it (RFC 7873 §5.2.1).
  BOOST_TEST((ask(query("www.example.test.", rrtype::A, {"0102"}), nullptr).bytes[3] & 0x0F) ==
             rcode::NOERROR);
}

BOOST_AUTO_TEST_CASE(a_malformed_cookie_is_formerr_without_a_cookie) {
  CookieContext context{&rfc_secrets(), address(a1_client), a1_issued};
  for (const std::vector<std::string>& options :
       {std::vector<std::string>{"0102030405"}, std::vector<std::string>{"010203040506070809"},
        std::vector<std::string>{std::string(82, 'a')},
        std::vector<std::string>{"2464c4abcf10c957", "2464c4abcf10c957"}}) {
    const Answered a = ask(query("www.example.test.", rrtype::A, options), &context);
    BOOST_TEST((a.bytes[3] & 0x0F) == rcode::FORMERR);
    BOOST_TEST(int(a.result.cookie) == int(CookieVerdict::malformed));
    BOOST_TEST(a.result.cookie_at == 0u);
    BOOST_TEST(get16(a.bytes, 6) == 0u);
  }
}

// RFC 7873 §5.4 wants cookies in every answer, a BADVERS too.
BOOST_AUTO_TEST_CASE(badvers_carries_a_cookie) {
  CookieContext context{&rfc_secrets(), address(a1_client), a1_issued};
  const Answered a = ask(query("www.example.test.", rrtype::A, {"2464c4abcf10c957"}, 1), &context);
  BOOST_TEST(a.result.rcode == rcode::BADVERS);
  BOOST_TEST(reply_cookie(a) == a1_cookie);
}

// The option's 28 bytes are kept free like the OPT itself: a reply cut to the UDP size keeps
// both, and never exceeds the size.
BOOST_AUTO_TEST_CASE(truncated_answers_keep_the_cookie_within_the_size) {
  CookieContext context{&rfc_secrets(), address(a1_client), a1_issued};
  for (uint16_t size : {512, 700, 1232}) {
    const Answered a =
        ask(query("big.example.test.", rrtype::A, {"2464c4abcf10c957"}, 0, size), &context);
    BOOST_TEST_CONTEXT("size " << size) {
      BOOST_TEST(a.bytes.size() <= size);
      BOOST_TEST(reply_cookie(a) == a1_cookie);
    }
  }
}

// RFC 7873 §5.4: no question, a cookie: the way to learn or refresh a server cookie.
BOOST_AUTO_TEST_CASE(a_query_without_a_question_gets_a_cookie) {
  CookieContext context{&rfc_secrets(), address(a1_client), a1_issued};
  auto without_question = [](std::vector<uint8_t> q) {
    // Drop the question: header QDCOUNT 0, and the name, type and class cut out.
    const std::size_t name = name_from_text("www.example.test.")->size();
    q.erase(q.begin() + long(header_size), q.begin() + long(header_size + name + 4));
    q[5] = 0;
    return q;
  };
  const Answered fresh =
      ask(without_question(query("www.example.test.", rrtype::A, {"2464c4abcf10c957"})), &context);
  BOOST_TEST(fresh.result.rcode == rcode::NOERROR);
  BOOST_TEST(get16(fresh.bytes, 4) == 0u);
  BOOST_TEST(reply_cookie(fresh) == a1_cookie);
  const Answered valid = ask(without_question(query("www.example.test.", rrtype::A, {a1_cookie})),
                             &context);
  BOOST_TEST(valid.result.rcode == rcode::NOERROR);
  BOOST_TEST(reply_cookie(valid) == a1_cookie);
  CookieContext later{&rfc_secrets(), address(a1_client), a1_issued + 3601};
  const Answered expired =
      ask(without_question(query("www.example.test.", rrtype::A, {a1_cookie})), &later);
  BOOST_TEST(expired.result.rcode == rcode::BADCOOKIE);
  BOOST_TEST(expired.bytes[3] == (rcode::BADCOOKIE & 0x0F));
  BOOST_TEST(reply_cookie(expired) != a1_cookie);   // a fresh one, to retry with
  // Without a cookie (or with cookies off), no question is still FORMERR.
  const Answered none = ask(without_question(query("www.example.test.", rrtype::A, {})), &context);
  BOOST_TEST(none.result.rcode == rcode::FORMERR);
  const Answered off =
      ask(without_question(query("www.example.test.", rrtype::A, {"2464c4abcf10c957"})), nullptr);
  BOOST_TEST(off.result.rcode == rcode::FORMERR);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(slip)

// A rate-limited client that sent a cookie is told BADCOOKIE with a fresh server cookie.
BOOST_AUTO_TEST_CASE(badcookie_form) {
  CookieContext context{&rfc_secrets(), address(a1_client), a1_issued};
  Answered a = ask(query("www.example.test.", rrtype::A, {"2464c4abcf10c957"}), &context);
  const std::string cookie = reply_cookie(a);
  const std::size_t question_end = header_size + name_from_text("www.example.test.")->size() + 4;
  const std::size_t n = net::badcookie_to_question(a.bytes.data(), a.bytes.size(),
                                                   a.result.opt_at, a.result.cookie_at);
  BOOST_REQUIRE(n == question_end + opt_rr_size + 4 + reply_cookie_size);
  a.bytes.resize(n);
  BOOST_TEST((a.bytes[2] & 0x02) == 0);   // not truncated
  BOOST_TEST((a.bytes[3] & 0x0F) == (rcode::BADCOOKIE & 0x0F));
  BOOST_TEST(get16(a.bytes, 4) == 1u);
  BOOST_TEST(get16(a.bytes, 6) == 0u);
  BOOST_TEST(get16(a.bytes, 8) == 0u);
  BOOST_TEST(get16(a.bytes, 10) == 1u);
  BOOST_TEST(get16(a.bytes, question_end + 1) == rrtype::OPT);
  BOOST_TEST(a.bytes[question_end + 5] == (rcode::BADCOOKIE >> 4));   // extended rcode bits
  a.result.cookie_at = uint16_t(n - reply_cookie_size);
  BOOST_TEST(reply_cookie(a) == cookie);

  // Nothing to rewrite without a cookie at the end of the reply.
  Answered plain = ask(query("www.example.test.", rrtype::A, {}), &context);
  BOOST_TEST(net::badcookie_to_question(plain.bytes.data(), plain.bytes.size(), 0, 0) == 0u);
  BOOST_TEST(net::badcookie_to_question(plain.bytes.data(), plain.bytes.size(),
                                        plain.result.opt_at,
                                        plain.bytes.size() - reply_cookie_size) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(updates)

namespace {
/// `q` (from query()) as an UPDATE of zone example.test.: opcode 5, the question is the zone.
std::vector<uint8_t> as_update(std::vector<uint8_t> q) {
  q[2] = uint8_t(opcode::UPDATE << 3);
  q[3] = 0;
  return q;
}
}  // namespace

// RFC 7873 §5.4 and RFC 6891 §7 hold for UPDATE answers too: the responder's fallback carries
// the OPT with the reply cookie, and the front end hands both it and any EDNS error to the
// update path, whose answer (dns::make_update_reply) then carries that OPT.
BOOST_AUTO_TEST_CASE(the_update_path_gets_the_opt_and_the_edns_errors) {
  CookieContext context{&rfc_secrets(), address(a1_client), a1_issued};
  for (Transport t : {Transport::udp, Transport::tcp}) {
    const auto update = as_update(query("example.test.", rrtype::SOA, {"2464c4abcf10c957"}));
    const Answered a = ask(update, &context, t);
    BOOST_TEST((a.result.what == Disposition::update));
    BOOST_TEST(a.result.rcode == rcode::REFUSED);   // the fallback of a node without the path
    BOOST_TEST(reply_cookie(a) == a1_cookie);
    net::UpdateRequest req;
    net::take_edns_from_fallback(req, a.bytes.data(), a.result);
    BOOST_TEST(req.edns_rcode == 0u);
    BOOST_REQUIRE(req.opt.size() == opt_rr_size + 4 + reply_cookie_size);
    // The answer's size bound: the query's EDNS size over UDP, any size over TCP.
    BOOST_TEST(req.max_reply_size == (t == Transport::udp ? 1232u : max_message_size));

    // The update path's answer, e.g. NOERROR after the commit: the OPT with the same cookie.
    Answered committed;
    committed.bytes = make_update_reply(update.data(), update.size(), rcode::NOERROR,
                                        req.opt.data(), req.opt.size());
    committed.result.cookie_at = uint16_t(committed.bytes.size() - reply_cookie_size);
    BOOST_TEST(reply_cookie(committed) == a1_cookie);
    BOOST_TEST((committed.bytes[3] & 0x0F) == rcode::NOERROR);
    BOOST_TEST(get16(committed.bytes, 10) == 1u);
  }

  // EDNS version 1: BADVERS, and a cookie in it.
  const auto v1 = as_update(query("example.test.", rrtype::SOA, {"2464c4abcf10c957"}, 1));
  const Answered badvers = ask(v1, &context);
  BOOST_TEST((badvers.result.what == Disposition::update));
  BOOST_TEST(badvers.result.rcode == rcode::BADVERS);
  BOOST_TEST(reply_cookie(badvers) == a1_cookie);
  net::UpdateRequest req;
  net::take_edns_from_fallback(req, badvers.bytes.data(), badvers.result);
  BOOST_TEST(req.edns_rcode == rcode::BADVERS);
  const auto reply = make_update_reply(v1.data(), v1.size(), req.edns_rcode, req.opt.data(),
                                       req.opt.size());
  ldns_pkt* pkt = nullptr;
  BOOST_REQUIRE(ldns_wire2pkt(&pkt, reply.data(), reply.size()) == LDNS_STATUS_OK);
  BOOST_TEST(ldns_pkt_edns(pkt));
  BOOST_TEST(ldns_pkt_edns_extended_rcode(pkt) == 1);   // 16 >> 4
  BOOST_TEST(ldns_pkt_get_rcode(pkt) == 0);
  ldns_pkt_free(pkt);

  // A malformed COOKIE is FORMERR (RFC 7873 §5.2.2), and no cookie is made for it.
  const Answered formerr = ask(as_update(query("example.test.", rrtype::SOA, {"0102"})), &context);
  BOOST_TEST((formerr.result.what == Disposition::update));
  BOOST_TEST(formerr.result.rcode == rcode::FORMERR);
  net::UpdateRequest bad;
  net::take_edns_from_fallback(bad, formerr.bytes.data(), formerr.result);
  BOOST_TEST(bad.edns_rcode == rcode::FORMERR);
  BOOST_TEST(bad.opt.size() == opt_rr_size);

  // Without an OPT (query() always writes one, without options last: cut it off): nothing
  // to carry, no error.
  const auto u = as_update(query("example.test.", rrtype::SOA, {}));
  std::vector<uint8_t> u_no_opt(u.begin(), u.end() - std::ptrdiff_t(opt_rr_size));
  u_no_opt[11] = 0;
  const Answered none = ask(u_no_opt, &context);
  BOOST_TEST(none.result.rcode == rcode::REFUSED);
  net::UpdateRequest nothing;
  net::take_edns_from_fallback(nothing, none.bytes.data(), none.result);
  BOOST_TEST(nothing.opt.empty());
  BOOST_TEST(nothing.edns_rcode == 0u);
  BOOST_TEST(nothing.max_reply_size == 512u);   // no EDNS: RFC 1035's 512
  // Asked sizes: below 512 counts as 512, above our cap (1232) as the cap.
  for (auto [asked, bound] : {std::pair<uint16_t, std::size_t>{100, 512},
                              {800, 800}, {4096, 1232}}) {
    net::UpdateRequest sized;
    const Answered a = ask(as_update(query("example.test.", rrtype::SOA, {}, 0, asked)), &context);
    net::take_edns_from_fallback(sized, a.bytes.data(), a.result);
    BOOST_TEST(sized.max_reply_size == bound);
  }
}

BOOST_AUTO_TEST_SUITE_END()
