// app/signed_queries: TSIG on ordinary queries (RFC 8945), as a secondary's signed SOA check
// uses it. Requests are signed and replies verified with ldns: a good signature gets the same
// answer as the unsigned query, signed; a bad key or MAC gets NOTAUTH with the TSIG error (the
// time window is dns/tsig's, tested in test_tsig); over UDP the answer and its TSIG together stay within the client's size (TC otherwise).
#define BOOST_TEST_MODULE test_signed_queries
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "app/signed_queries.hpp"
#include "config/config.hpp"
#include "dns/responder.hpp"
#include "dns/zone.hpp"

#include "ldns_wire.hpp"

using namespace vrdns;
using Bytes = std::vector<uint8_t>;

namespace {

const char* const secret = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
const char* const wrong = "YW5vdGhlci1zZWNyZXQtYW5vdGhlci1zZWNyZXQhISE=";

dns::ServingStatePtr serving() {
  std::string text = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 hostmaster 42 1 2 3 4\n"
                     "@ NS ns1\nns1 A 192.0.2.1\n";
  for (int i = 0; i < 60; ++i) text += "big A 198.51.100." + std::to_string(i) + "\n";
  auto zones = std::make_shared<dns::ZoneSet>();
  zones->zones.push_back(dns::load_zone_text(text, "example.test."));
  auto s = std::make_shared<dns::ServingState>();
  s->zones = zones;
  return s;
}

net::SignedQueryHandler handler() {
  config::NodeConfig cfg;
  cfg.keys = {{"query-key.", "hmac-sha256", secret}};
  return app::make_signed_query_handler(
      std::make_shared<app::CurrentAccessPolicy>(app::access_policy_of(cfg)));
}

// A query signed by ldns with `key_secret`; `request_mac` gets its MAC field (INT16_DATA).
Bytes signed_query(const char* name, ldns_rr_type type, const char* key_name,
                   const char* key_secret, Bytes* request_mac = nullptr, bool edns = false) {
  ldns_pkt* p = ldns_pkt_query_new(ldns_dname_new_frm_str(name), type, LDNS_RR_CLASS_IN, 0);
  ldns_pkt_set_id(p, 777);
  if (edns) ldns_pkt_set_edns_udp_size(p, 1232);
  BOOST_REQUIRE(ldns_pkt_tsig_sign(p, key_name, key_secret, 300, "hmac-sha256.", nullptr) ==
                LDNS_STATUS_OK);
  if (request_mac) {
    const ldns_rdf* mac = ldns_rr_rdf(ldns_pkt_tsig(p), 3);
    request_mac->assign(ldns_rdf_data(mac), ldns_rdf_data(mac) + ldns_rdf_size(mac));
  }
  return wire_of(p);
}

Bytes ask(const Bytes& q, dns::Transport t) {
  Bytes out(65535);
  const std::size_t n =
      handler()(q.data(), q.size(), t, *serving(), out.data(), out.size(), nullptr);
  out.resize(n);
  return out;
}

struct Reply {
  ldns_pkt* pkt = nullptr;
  explicit Reply(const Bytes& w) { BOOST_REQUIRE(ldns_wire2pkt(&pkt, w.data(), w.size()) == LDNS_STATUS_OK); }
  ~Reply() { ldns_pkt_free(pkt); }
  uint16_t tsig_error() const { return ldns_rdf2native_int16(ldns_rr_rdf(ldns_pkt_tsig(pkt), 5)); }
};

bool verifies(const Bytes& reply, const Bytes& request_mac_rdf_data) {
  Reply r(reply);
  if (!ldns_pkt_tsig(r.pkt)) return false;
  ldns_rdf* mac = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, request_mac_rdf_data.size(),
                                        request_mac_rdf_data.data());
  const bool ok = ldns_pkt_tsig_verify(r.pkt, reply.data(), reply.size(), "query-key.", secret, mac);
  ldns_rdf_deep_free(mac);
  return ok;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_responder_hands_signed_queries_to_the_front_end) {
  const Bytes q = signed_query("example.test.", LDNS_RR_TYPE_SOA, "query-key.", secret);
  Bytes out(65535);
  auto r = dns::answer(*serving(), q.data(), q.size(), dns::Transport::udp, out.data(), out.size());
  BOOST_TEST((r.what == dns::Disposition::signed_query));
  const Bytes plain = wire_of(ldns_pkt_query_new(ldns_dname_new_frm_str("example.test."),
                                                 LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0));
  r = dns::answer(*serving(), plain.data(), plain.size(), dns::Transport::udp, out.data(),
                  out.size());
  BOOST_TEST((r.what == dns::Disposition::reply));   // unsigned: the hot path, unchanged
}

BOOST_AUTO_TEST_CASE(a_good_signature_gets_the_answer_signed) {
  for (auto t : {dns::Transport::udp, dns::Transport::tcp}) {
    Bytes mac;
    const Bytes q = signed_query("example.test.", LDNS_RR_TYPE_SOA, "query-key.", secret, &mac);
    const Bytes reply = ask(q, t);
    BOOST_REQUIRE(!reply.empty());
    Reply r(reply);
    BOOST_TEST(ldns_pkt_id(r.pkt) == 777);
    BOOST_TEST(ldns_pkt_get_rcode(r.pkt) == LDNS_RCODE_NOERROR);
    BOOST_TEST(ldns_pkt_aa(r.pkt));
    BOOST_TEST(ldns_pkt_ancount(r.pkt) == 1u);
    BOOST_TEST(verifies(reply, mac));
  }
}

BOOST_AUTO_TEST_CASE(bad_keys_and_signatures_get_notauth_with_the_tsig_error) {
  struct Case { const char* key; const char* secret; uint16_t error; };
  for (const Case& c : {Case{"nokey.", secret, 17}, Case{"query-key.", wrong, 16}}) {   // BADKEY, BADSIG
    const Bytes reply =
        ask(signed_query("example.test.", LDNS_RR_TYPE_SOA, c.key, c.secret), dns::Transport::udp);
    Reply r(reply);
    BOOST_TEST(ldns_pkt_get_rcode(r.pkt) == LDNS_RCODE_NOTAUTH, c.key);
    BOOST_TEST(r.tsig_error() == c.error, c.key);
    BOOST_TEST(ldns_pkt_ancount(r.pkt) == 0u, c.key);
  }
  // RFC 6891 §7: an error to a request with an OPT carries one too.
  const Bytes with_opt = ask(signed_query("example.test.", LDNS_RR_TYPE_SOA, "nokey.", secret,
                                          nullptr, true),
                             dns::Transport::udp);
  Reply e(with_opt);
  BOOST_TEST(ldns_pkt_get_rcode(e.pkt) == LDNS_RCODE_NOTAUTH);
  BOOST_TEST(ldns_pkt_edns(e.pkt));
}

BOOST_AUTO_TEST_CASE(over_udp_the_answer_and_its_tsig_fit_the_clients_size) {
  Bytes mac;
  const Bytes q = signed_query("big.example.test.", LDNS_RR_TYPE_A, "query-key.", secret, &mac);
  const Bytes reply = ask(q, dns::Transport::udp);   // no EDNS: 512 bytes
  BOOST_REQUIRE(!reply.empty());
  BOOST_TEST(reply.size() <= 512u);
  Reply r(reply);
  BOOST_TEST(ldns_pkt_tc(r.pkt));   // 60 A records do not fit: TC, so the client uses TCP
  BOOST_TEST(verifies(reply, mac));
  const Bytes over_tcp = ask(q, dns::Transport::tcp);
  Reply t(over_tcp);
  BOOST_TEST(!ldns_pkt_tc(t.pkt));
  BOOST_TEST(ldns_pkt_ancount(t.pkt) == 60u);
  BOOST_TEST(verifies(over_tcp, mac));
}

// DNS cookies: a signed answer and a TSIG error carry the reply cookie too (RFC 7873 wants
// one in every answer to a request that had one), within the client's size, TSIG included.
BOOST_AUTO_TEST_CASE(signed_answers_and_tsig_errors_carry_the_cookie) {
  dns::CookieSecrets secrets;
  secrets.current = dns::random_cookie_secret();
  dns::CookieContext context;
  context.secrets = &secrets;
  context.client.length = 4;
  context.client.bytes[0] = 127;
  context.client.bytes[3] = 1;
  context.now = 1800000000u;
  const uint8_t option[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};   // COOKIE, a client cookie
  auto make = [&](const char* name, const char* key, const char* key_secret, Bytes* mac,
                  uint16_t udp_size) {
    ldns_pkt* p = ldns_pkt_query_new(ldns_dname_new_frm_str(name), LDNS_RR_TYPE_A,
                                     LDNS_RR_CLASS_IN, 0);
    ldns_pkt_set_id(p, 778);
    ldns_pkt_set_edns_udp_size(p, udp_size);
    ldns_pkt_set_edns_data(p, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, sizeof option, option));
    BOOST_REQUIRE(ldns_pkt_tsig_sign(p, key, key_secret, 300, "hmac-sha256.", nullptr) ==
                  LDNS_STATUS_OK);
    if (mac) {
      const ldns_rdf* m = ldns_rr_rdf(ldns_pkt_tsig(p), 3);
      mac->assign(ldns_rdf_data(m), ldns_rdf_data(m) + ldns_rdf_size(m));
    }
    return wire_of(p);
  };
  auto ask_with_cookies = [&](const Bytes& q) {
    Bytes out(65535);
    out.resize(handler()(q.data(), q.size(), dns::Transport::udp, *serving(), out.data(),
                         out.size(), &context));
    return out;
  };
  // The reply cookie: our client cookie, then 16 bytes of server cookie, inside the OPT.
  auto has_cookie = [&](const Bytes& reply) {
    const uint8_t head[] = {0, 10, 0, 24, 1, 2, 3, 4, 5, 6, 7, 8};
    return std::search(reply.begin(), reply.end(), head, head + sizeof head) != reply.end();
  };
  Bytes mac;
  const Bytes good = ask_with_cookies(make("example.test.", "query-key.", secret, &mac, 1232));
  BOOST_REQUIRE(!good.empty());
  BOOST_TEST(has_cookie(good));
  BOOST_TEST(verifies(good, mac));
  const Bytes bad = ask_with_cookies(make("example.test.", "query-key.", wrong, nullptr, 1232));
  BOOST_REQUIRE(!bad.empty());
  Reply r(bad);
  BOOST_TEST(ldns_pkt_get_rcode(r.pkt) == LDNS_RCODE_NOTAUTH);
  BOOST_TEST(r.tsig_error() == 16);   // BADSIG
  BOOST_TEST(has_cookie(bad));
  // 60 records at 512 bytes: cut to fit with the OPT, its cookie and the TSIG.
  const Bytes big = ask_with_cookies(make("big.example.test.", "query-key.", secret, &mac, 512));
  BOOST_REQUIRE(!big.empty());
  BOOST_TEST(big.size() <= 512u);
  BOOST_TEST(has_cookie(big));
  BOOST_TEST(verifies(big, mac));
}

// Untrusted input: signed queries with random bytes changed, cut short or extended never crash
// the handler, and whatever it sends is at least a header that answers the query's ID.
BOOST_AUTO_TEST_CASE(mutated_signed_queries_get_a_well_formed_answer_or_none) {
  const auto h = handler();
  const auto state = serving();
  const Bytes seed = signed_query("big.example.test.", LDNS_RR_TYPE_A, "query-key.", secret);
  std::mt19937 rng(2711);
  std::size_t answered = 0;
  Bytes out(65535);
  for (int round = 0; round < 3000; ++round) {
    Bytes m = seed;
    switch (rng() % 3) {
      case 0:
        for (int k = 0, n = 1 + int(rng() % 4); k < n; ++k) m[rng() % m.size()] = uint8_t(rng());
        break;
      case 1:
        m.resize(12 + rng() % (m.size() - 12));
        break;
      case 2:
        for (int k = 0, n = 1 + int(rng() % 20); k < n; ++k) m.push_back(uint8_t(rng()));
        break;
    }
    const auto t = rng() % 2 ? dns::Transport::udp : dns::Transport::tcp;
    const std::size_t n = h(m.data(), m.size(), t, *state, out.data(), out.size(), nullptr);
    if (n == 0) continue;
    ++answered;
    BOOST_REQUIRE_GE(n, 12u);
    BOOST_REQUIRE(out[0] == m[0] && out[1] == m[1]);
    BOOST_REQUIRE(out[2] & 0x80);
    if (t == dns::Transport::udp) BOOST_REQUIRE_LE(n, 512u);   // no EDNS in the seed
  }
  BOOST_TEST(answered > 1000u);
}
