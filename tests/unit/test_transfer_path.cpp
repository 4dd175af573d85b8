// app/transfer_path: who may transfer a zone and what they get, called as the TCP front end
// calls it (net/transfer_hook.hpp), with requests built and replies checked by ldns: access by
// key and by address, the TSIG errors, NOTAUTH for a name that is not a zone, SERVFAIL before
// the replica has state, IXFR with a current serial -> the SOA alone, and every message of a
// signed transfer verifying in order.
#define BOOST_TEST_MODULE test_transfer_path
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "app/transfer_path.hpp"
#include "config/config.hpp"
#include "dns/name.hpp"
#include "dns/responder.hpp"
#include "dns/tsig.hpp"
#include "dns/zone.hpp"

#include "ldns_wire.hpp"

using namespace vrdns;
using Bytes = std::vector<uint8_t>;

namespace {

const char* const secret = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

config::NodeConfig node_config(uint32_t max_transfers = 10) {
  config::NodeConfig cfg;
  cfg.transfer.max_transfers = max_transfers;
  cfg.keys = {{"xfr-key.", "hmac-sha256", secret}, {"other-key.", "hmac-sha256", secret}};
  cfg.transfer.allow = {"xfr-key."};
  cfg.transfer.allow_addresses = {*net::AddressPrefix::parse("192.0.2.0/24")};
  return cfg;
}

std::shared_ptr<app::CurrentAccessPolicy> policy_of(const config::NodeConfig& cfg) {
  return std::make_shared<app::CurrentAccessPolicy>(app::access_policy_of(cfg));
}

net::TransferHandler handler_of(const config::NodeConfig& cfg) {
  return app::make_transfer_handler(policy_of(cfg), "");
}

dns::ServingStatePtr serving(int hosts, bool has_state = true) {
  std::string text = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 hostmaster 42 1 2 3 4\n"
                     "@ NS ns1\nns1 A 192.0.2.1\n";
  for (int i = 0; i < hosts; ++i) {   // appended piece by piece: GCC 12 -O3 warns on "h" + ...
    text += 'h';
    text += std::to_string(i);
    text += " TXT \"";
    text.append(200, 'x');
    text += "\"\n";
  }
  auto zones = std::make_shared<dns::ZoneSet>();
  zones->zones.push_back(dns::load_zone_text(text, "example.test."));
  auto s = std::make_shared<dns::ServingState>();
  s->zones = zones;
  s->has_state = has_state;
  return s;
}

Bytes query(const char* name, ldns_rr_type type, const char* ixfr_soa = nullptr) {
  ldns_pkt* p = ldns_pkt_query_new(ldns_dname_new_frm_str(name), type, LDNS_RR_CLASS_IN, 0);
  ldns_pkt_set_id(p, 321);
  if (ixfr_soa) {
    ldns_rr* soa = nullptr;
    BOOST_REQUIRE(ldns_rr_new_frm_str(&soa, ixfr_soa, 0, nullptr, nullptr) == LDNS_STATUS_OK);
    ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, soa);
  }
  return wire_of(p);
}

Bytes signed_with(Bytes m, const char* key) {
  dns::Keyring k;
  BOOST_REQUIRE(k.add(key, "hmac-sha256", secret));
  BOOST_REQUIRE(dns::sign_request(m, dns::name_key(*dns::name_from_text(key)), k,
                                  int64_t(std::time(nullptr))));
  return m;
}

sockaddr_storage from(const char* v4) {
  sockaddr_storage s{};
  auto& a = reinterpret_cast<sockaddr_in&>(s);
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, v4, &a.sin_addr);
  return s;
}

// What the TCP worker hands the transfer path; `request` and `state` must outlive it.
net::TransferRequest request_of(const Bytes& request, const char* peer,
                                const dns::ServingStatePtr& state) {
  net::TransferRequest r;
  r.message = request.data();
  r.length = request.size();
  r.peer = from(peer);
  r.peer_length = sizeof(sockaddr_in);
  r.state = state.get();
  return r;
}

std::vector<Bytes> transfer(const Bytes& request, const char* peer,
                            const dns::ServingStatePtr& state, bool* failed = nullptr,
                            net::TransferHandler handler = {}) {
  if (!handler) handler = handler_of(node_config());
  auto t = handler(request_of(request, peer, state));
  std::vector<Bytes> out;
  if (!t) return out;   // not even a header: the front end sends its fallback
  Bytes m;
  while (out.size() < 10000 && t->next(m)) out.push_back(m);
  if (failed) *failed = t->failed();
  return out;
}

int rcode_of(const Bytes& m) { return m.size() >= 4 ? m[3] & 0x0F : -1; }

std::size_t answers(const std::vector<Bytes>& ms) {
  std::size_t n = 0;
  for (const auto& m : ms) n += (m[6] << 8) | m[7];
  return n;
}

// ldns checks the TSIG chain of a signed transfer (RFC 8945 §5.3.1), message by message.
bool chain_verifies(const Bytes& request, const std::vector<Bytes>& ms) {
  ldns_pkt* req = nullptr;
  if (ldns_wire2pkt(&req, request.data(), request.size()) != LDNS_STATUS_OK) return false;
  ldns_rdf* mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(req), 3));
  ldns_pkt_free(req);
  bool ok = true;
  for (std::size_t i = 0; ok && i < ms.size(); ++i) {
    ldns_pkt* p = nullptr;
    ok = ldns_wire2pkt(&p, ms[i].data(), ms[i].size()) == LDNS_STATUS_OK && ldns_pkt_tsig(p) &&
         ldns_pkt_tsig_verify_next(p, ms[i].data(), ms[i].size(), "xfr-key.", secret, mac,
                                   i == 0 ? 0 : 1);
    if (ok) {
      ldns_rdf_deep_free(mac);
      mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(p), 3));
    }
    ldns_pkt_free(p);
  }
  ldns_rdf_deep_free(mac);
  return ok;
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_allowed_key_gets_the_zone_with_every_message_signed_in_a_chain) {
  const auto state = serving(2000);   // ~450 KB: several messages
  const Bytes req = signed_with(query("example.test.", LDNS_RR_TYPE_AXFR), "xfr-key.");
  const auto ms = transfer(req, "127.0.0.1", state);
  BOOST_REQUIRE_GT(ms.size(), 3u);
  for (const auto& m : ms) BOOST_TEST(rcode_of(m) == 0);
  BOOST_TEST(answers(ms) == state->zones->zones[0]->record_count() + 1);   // SOA twice
  BOOST_TEST(chain_verifies(req, ms));
  // A message dropped from the middle breaks the chain.
  auto gap = ms;
  gap.erase(gap.begin() + 1);
  BOOST_TEST(!chain_verifies(req, gap));
}

BOOST_AUTO_TEST_CASE(an_allowed_address_may_transfer_unsigned) {
  const auto state = serving(10);
  const auto ms = transfer(query("example.test.", LDNS_RR_TYPE_AXFR), "192.0.2.77", state);
  BOOST_REQUIRE_EQUAL(ms.size(), 1u);
  BOOST_TEST(answers(ms) == state->zones->zones[0]->record_count() + 1);
  const auto refused = transfer(query("example.test.", LDNS_RR_TYPE_AXFR), "127.0.0.1", state);
  BOOST_REQUIRE_EQUAL(refused.size(), 1u);
  BOOST_TEST(rcode_of(refused[0]) == LDNS_RCODE_REFUSED);
  BOOST_TEST(answers(refused) == 0u);
}

BOOST_AUTO_TEST_CASE(a_key_not_allowed_is_refused_and_an_unknown_key_is_notauth) {
  const auto state = serving(10);
  const auto other = transfer(signed_with(query("example.test.", LDNS_RR_TYPE_AXFR), "other-key."),
                              "127.0.0.1", state);
  BOOST_REQUIRE_EQUAL(other.size(), 1u);
  BOOST_TEST(rcode_of(other[0]) == LDNS_RCODE_REFUSED);
  const auto unknown = transfer(signed_with(query("example.test.", LDNS_RR_TYPE_AXFR), "nokey."),
                                "127.0.0.1", state);
  BOOST_REQUIRE_EQUAL(unknown.size(), 1u);
  BOOST_TEST(rcode_of(unknown[0]) == LDNS_RCODE_NOTAUTH);
  ldns_pkt* p = nullptr;
  BOOST_REQUIRE(ldns_wire2pkt(&p, unknown[0].data(), unknown[0].size()) == LDNS_STATUS_OK);
  BOOST_REQUIRE(ldns_pkt_tsig(p));
  BOOST_TEST(ldns_rdf2native_int16(ldns_rr_rdf(ldns_pkt_tsig(p), 5)) == 17);   // BADKEY
  ldns_pkt_free(p);
}

// [[zone]] transfer_allow: that zone's own keys instead of [transfer] allow; the addresses of
// [transfer] allow_addresses still apply (the zone has no transfer_allow_addresses).
BOOST_AUTO_TEST_CASE(a_zone_with_its_own_keys) {
  const auto state = serving(3);
  auto cfg = node_config();
  config::ZoneConfig z;
  z.name = "example.test.";
  z.transfer_allow = std::vector<std::string>{"other-key."};
  cfg.zones.push_back(z);
  const auto handler = handler_of(cfg);
  const Bytes axfr = query("example.test.", LDNS_RR_TYPE_AXFR);
  const auto by_other = transfer(signed_with(axfr, "other-key."), "127.0.0.1", state, nullptr,
                                 handler);
  BOOST_REQUIRE(!by_other.empty());
  BOOST_TEST(rcode_of(by_other[0]) == LDNS_RCODE_NOERROR);
  BOOST_TEST(answers(by_other) > 3u);
  const auto by_global = transfer(signed_with(axfr, "xfr-key."), "127.0.0.1", state, nullptr,
                                  handler);
  BOOST_REQUIRE_EQUAL(by_global.size(), 1u);
  BOOST_TEST(rcode_of(by_global[0]) == LDNS_RCODE_REFUSED);
  const auto by_address = transfer(axfr, "192.0.2.7", state, nullptr, handler);
  BOOST_REQUIRE(!by_address.empty());
  BOOST_TEST(rcode_of(by_address[0]) == LDNS_RCODE_NOERROR);
}

// [[zone]] transfer_allow_addresses: that zone's own addresses instead of [transfer]
// allow_addresses; keys still work.
BOOST_AUTO_TEST_CASE(a_zone_with_its_own_addresses) {
  const auto state = serving(3);
  auto cfg = node_config();
  config::ZoneConfig z;
  z.name = "example.test.";
  z.transfer_allow_addresses =
      std::vector<net::AddressPrefix>{*net::AddressPrefix::parse("198.51.100.0/24")};
  cfg.zones.push_back(z);
  const auto handler = handler_of(cfg);
  const Bytes axfr = query("example.test.", LDNS_RR_TYPE_AXFR);
  const auto by_own = transfer(axfr, "198.51.100.9", state, nullptr, handler);
  BOOST_REQUIRE(!by_own.empty());
  BOOST_TEST(rcode_of(by_own[0]) == LDNS_RCODE_NOERROR);
  BOOST_TEST(answers(by_own) > 3u);
  const auto by_global = transfer(axfr, "192.0.2.77", state, nullptr, handler);   // global list
  BOOST_REQUIRE_EQUAL(by_global.size(), 1u);
  BOOST_TEST(rcode_of(by_global[0]) == LDNS_RCODE_REFUSED);
  const auto by_key = transfer(signed_with(axfr, "xfr-key."), "127.0.0.1", state, nullptr,
                               handler);
  BOOST_REQUIRE(!by_key.empty());
  BOOST_TEST(rcode_of(by_key[0]) == LDNS_RCODE_NOERROR);
}

// The statistics endpoint's view (app/node_stats.hpp TransferCounters): each answer counted
// once, by outcome.
BOOST_AUTO_TEST_CASE(every_answer_is_counted_by_outcome) {
  auto counters = std::make_shared<app::TransferCounters>();
  const auto handler = app::make_transfer_handler(policy_of(node_config()), "", counters);
  const auto state = serving(3);
  const Bytes axfr = signed_with(query("example.test.", LDNS_RR_TYPE_AXFR), "xfr-key.");
  BOOST_REQUIRE(!transfer(axfr, "127.0.0.1", state, nullptr, handler).empty());
  // Up to date: the client has serial 42.
  const char* const soa42 = "example.test. 300 IN SOA ns1 hostmaster 42 1 2 3 4";
  const Bytes current =
      signed_with(query("example.test.", LDNS_RR_TYPE_IXFR, soa42), "xfr-key.");
  BOOST_REQUIRE(!transfer(current, "127.0.0.1", state, nullptr, handler).empty());
  transfer(signed_with(query("example.test.", LDNS_RR_TYPE_AXFR), "other-key."), "127.0.0.1",
           state, nullptr, handler);                                            // REFUSED
  transfer(signed_with(query("ns1.example.test.", LDNS_RR_TYPE_AXFR), "xfr-key."), "127.0.0.1",
           state, nullptr, handler);                                            // NOTAUTH
  transfer(axfr, "127.0.0.1", serving(3, false), nullptr, handler);             // SERVFAIL
  BOOST_TEST(counters->full.load() == 1u);
  BOOST_TEST(counters->up_to_date.load() == 1u);
  BOOST_TEST(counters->incremental.load() == 0u);
  BOOST_TEST(counters->refused.load() == 2u);
  BOOST_TEST(counters->busy.load() == 1u);
}

BOOST_AUTO_TEST_CASE(a_name_that_is_not_a_zone_apex_is_notauth) {
  const auto state = serving(10);
  for (const char* name : {"ns1.example.test.", "example.org."}) {
    const auto ms = transfer(signed_with(query(name, LDNS_RR_TYPE_AXFR), "xfr-key."),
                             "127.0.0.1", state);
    BOOST_REQUIRE_EQUAL(ms.size(), 1u);
    BOOST_TEST(rcode_of(ms[0]) == LDNS_RCODE_NOTAUTH, name);
  }
}

BOOST_AUTO_TEST_CASE(a_replica_without_state_answers_servfail) {
  const auto ms = transfer(signed_with(query("example.test.", LDNS_RR_TYPE_AXFR), "xfr-key."),
                           "127.0.0.1", serving(10, false));
  BOOST_REQUIRE_EQUAL(ms.size(), 1u);
  BOOST_TEST(rcode_of(ms[0]) == LDNS_RCODE_SERVFAIL);
}

BOOST_AUTO_TEST_CASE(ixfr_gets_the_soa_alone_when_current_and_the_zone_otherwise) {
  const auto state = serving(10);
  const std::size_t all = state->zones->zones[0]->record_count() + 1;
  auto ixfr = [&](const char* serial) {
    const std::string soa =
        std::string("example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. ") +
        serial + " 1 2 3 4";
    return transfer(signed_with(query("example.test.", LDNS_RR_TYPE_IXFR, soa.c_str()), "xfr-key."),
                    "127.0.0.1", state);
  };
  BOOST_TEST(answers(ixfr("42")) == 1u);    // current
  BOOST_TEST(answers(ixfr("43")) == 1u);    // "newer" than ours: nothing to send either
  BOOST_TEST(answers(ixfr("41")) == all);   // older: the whole zone, AXFR style
  BOOST_TEST(answers(ixfr("4294967295")) == all);   // RFC 1982: older than 42
  BOOST_TEST(answers(ixfr("2147483690")) == all);   // 42 + 2^31: neither older nor newer
}

// A record that fits no message (RDATA of 65,535 bytes) cannot be transferred: the transfer
// ends as failed after the messages before it, so the worker closes the connection and the
// client sees the cut, instead of waiting for the rest.
BOOST_AUTO_TEST_CASE(a_record_too_big_for_any_message_fails_the_transfer) {
  // Master files cannot hold such a record (ldns caps the line); an UPDATE could add one.
  dns::ZoneEditor e(serving(10)->zones->zones[0]);
  dns::Record huge;
  huge.owner = *dns::name_from_text("huge.example.test.");
  huge.type = 65400;
  huge.ttl = 300;
  huge.rdata.assign(65500, 'h');
  BOOST_REQUIRE(e.add(huge));
  auto zones = std::make_shared<dns::ZoneSet>();
  zones->zones.push_back(e.finish());
  auto state = std::make_shared<dns::ServingState>();
  state->zones = zones;
  bool failed = false;
  const auto ms = transfer(query("example.test.", LDNS_RR_TYPE_AXFR), "192.0.2.1", state, &failed);
  BOOST_TEST(failed);
  BOOST_TEST(ms.size() >= 1u);   // what came before the huge record went out
  bool complete_failed = true;
  const auto small = transfer(query("example.test.", LDNS_RR_TYPE_AXFR), "192.0.2.1", serving(10),
                              &complete_failed);
  BOOST_TEST(!complete_failed);   // a transfer that ends normally is not failed
  BOOST_TEST(small.size() == 1u);
}

// A secondary that got a version from this node asks IXFR from it later: only the differences
// come (RFC 1995 §4), signed in a chain like any transfer; a version this node never sent gets
// the whole zone.
BOOST_AUTO_TEST_CASE(ixfr_from_a_version_this_node_sent_gets_only_the_differences) {
  auto handler = handler_of(node_config());
  const auto v1 = serving(300);
  const auto first = transfer(signed_with(query("example.test.", LDNS_RR_TYPE_AXFR), "xfr-key."),
                              "127.0.0.1", v1, nullptr, handler);
  BOOST_REQUIRE_GT(answers(first), 300u);
  // Version 2: one record more, serial 43.
  dns::ZoneEditor e(v1->zones->zones[0]);
  dns::Record a;
  a.owner = *dns::name_from_text("new.example.test.");
  a.type = 1;
  a.ttl = 300;
  a.rdata = std::string{char(192), char(0), char(2), char(9)};
  BOOST_REQUIRE(e.add(a));
  dns::Record soa;
  soa.owner = *dns::name_from_text("example.test.");
  soa.type = 6;
  soa.ttl = 300;
  soa.rdata = v1->zones->zones[0]->soa().rdatas.substr(2);
  soa.rdata[soa.rdata.size() - 17] = char(43);   // serial 42 -> 43 (its last byte)
  BOOST_REQUIRE(e.replace_rrset(soa));
  auto zones = std::make_shared<dns::ZoneSet>();
  zones->zones.push_back(e.finish());
  BOOST_REQUIRE_EQUAL(zones->zones[0]->serial(), 43u);
  auto v2 = std::make_shared<dns::ServingState>();
  v2->zones = zones;
  auto ixfr = [&](const char* serial) {
    const std::string soa_text =
        std::string("example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. ") +
        serial + " 1 2 3 4";
    const Bytes req = signed_with(query("example.test.", LDNS_RR_TYPE_IXFR, soa_text.c_str()), "xfr-key.");
    auto ms = transfer(req, "127.0.0.1", v2, nullptr, handler);
    BOOST_TEST(chain_verifies(req, ms));
    return ms;
  };
  BOOST_TEST(answers(ixfr("42")) == 5u);   // SOA 43, SOA 42, SOA 43, the new A, SOA 43
  BOOST_TEST(answers(ixfr("41")) == zones->zones[0]->record_count() + 1);   // never sent: all
}

// A serial can come back (RFC 1982 reset: two UPDATEs that each raise it). An IXFR from it
// must be answered from the newest version that carried it, not from an older one with the
// same serial and other contents.
BOOST_AUTO_TEST_CASE(a_serial_that_came_back_is_answered_from_its_newest_version) {
  auto handler = handler_of(node_config());
  auto state_with = [](const std::string& extra, int serial) {
    std::string text = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 hostmaster " +
                       std::to_string(serial) + " 1 2 3 4\n@ NS ns1\nns1 A 192.0.2.1\n" + extra;
    auto zones = std::make_shared<dns::ZoneSet>();
    zones->zones.push_back(dns::load_zone_text(text, "example.test."));
    auto s = std::make_shared<dns::ServingState>();
    s->zones = zones;
    return s;
  };
  const Bytes axfr = signed_with(query("example.test.", LDNS_RR_TYPE_AXFR), "xfr-key.");
  transfer(axfr, "127.0.0.1", state_with("", 42), nullptr, handler);                 // 42: old
  transfer(axfr, "127.0.0.1", state_with("r A 192.0.2.7\n", 42), nullptr, handler);  // 42 again
  // Now 43 = the second 42 plus one record. From the second 42 that is one addition; from the
  // first 42 it would be two.
  const auto v43 = state_with("r A 192.0.2.7\nq A 192.0.2.8\n", 43);
  const Bytes ixfr = signed_with(
      query("example.test.", LDNS_RR_TYPE_IXFR,
            "example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. 42 1 2 3 4"),
      "xfr-key.");
  const auto ms = transfer(ixfr, "127.0.0.1", v43, nullptr, handler);
  BOOST_TEST(answers(ms) == 5u);   // SOA 43, SOA 42, SOA 43, q A, SOA 43
}

// Untrusted input: requests with random bytes changed, cut short or extended never crash the
// transfer path, and whatever it sends is at least a header that answers the request's ID
// (QR set). Reproducible: a fixed seed.
BOOST_AUTO_TEST_CASE(mutated_requests_get_a_well_formed_answer_or_none) {
  auto handler = handler_of(node_config());
  const auto state = serving(50);
  const std::vector<Bytes> seeds = {
      signed_with(query("example.test.", LDNS_RR_TYPE_AXFR), "xfr-key."),
      signed_with(query("example.test.", LDNS_RR_TYPE_IXFR,
                        "example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. 41 1 2 3 4"),
                  "xfr-key."),
      query("example.test.", LDNS_RR_TYPE_AXFR)};
  std::mt19937 rng(1127);
  std::size_t answered = 0;
  for (int round = 0; round < 3000; ++round) {
    Bytes m = seeds[rng() % seeds.size()];
    switch (rng() % 3) {
      case 0:   // flip a few bytes
        for (int k = 0, n = 1 + int(rng() % 4); k < n; ++k) m[rng() % m.size()] = uint8_t(rng());
        break;
      case 1:   // cut short
        m.resize(rng() % m.size());
        break;
      case 2:   // trailing garbage
        for (int k = 0, n = 1 + int(rng() % 20); k < n; ++k) m.push_back(uint8_t(rng()));
        break;
    }
    const char* peer = rng() % 2 ? "127.0.0.1" : "192.0.2.9";
    std::vector<Bytes> ms = transfer(m, peer, state, nullptr, handler);
    for (const Bytes& reply : ms) {
      BOOST_REQUIRE_GE(reply.size(), 12u);
      BOOST_REQUIRE_LE(reply.size(), 65535u);
      BOOST_REQUIRE(m.size() >= 12u);                          // shorter ones get nothing
      BOOST_REQUIRE(reply[0] == m[0] && reply[1] == m[1]);   // the request's ID
      BOOST_REQUIRE(reply[2] & 0x80);                         // QR
    }
    answered += !ms.empty();
  }
  BOOST_TEST(answered > 1000u);   // most mutations still get an answer (an error, mostly)
}

// At most [transfer] max_transfers transfers run at once (each holds a zone version); one more
// gets SERVFAIL, a secondary's "try later", until one ends. SOA-only answers take no slot.
BOOST_AUTO_TEST_CASE(transfers_beyond_max_transfers_get_servfail_until_one_ends) {
  auto handler = handler_of(node_config(3));
  const auto state = serving(10);
  const Bytes axfr = query("example.test.", LDNS_RR_TYPE_AXFR);
  auto start = [&] { return handler(request_of(axfr, "192.0.2.1", state)); };
  std::vector<std::unique_ptr<net::OutgoingTransfer>> running;
  for (int i = 0; i < 3; ++i) running.push_back(start());
  auto first_rcode = [](net::OutgoingTransfer& t) {
    Bytes m;
    BOOST_REQUIRE(t.next(m));
    return rcode_of(m);
  };
  auto refused = start();
  BOOST_TEST(first_rcode(*refused) == LDNS_RCODE_SERVFAIL);
  Bytes m;
  BOOST_TEST(!refused->next(m));   // that was all
  // An up-to-date IXFR is still answered.
  const Bytes current = query("example.test.", LDNS_RR_TYPE_IXFR,
                              "example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. 42 1 2 3 4");
  BOOST_TEST(answers(transfer(current, "192.0.2.1", state, nullptr, handler)) == 1u);
  running.pop_back();   // one transfer ends (its connection closed, or it finished)
  auto next = start();
  BOOST_TEST(first_rcode(*next) == LDNS_RCODE_NOERROR);
  for (auto& t : running) BOOST_TEST(first_rcode(*t) == LDNS_RCODE_NOERROR);
}

// A reload (SIGHUP) replaces the policy: new requests are judged by the new one at once, while
// a transfer under way goes on signing with the keys that verified its request, even when its
// key is gone from the new config (a half-signed transfer would be useless to the secondary).
BOOST_AUTO_TEST_CASE(a_reloaded_policy_applies_to_new_requests_not_to_transfers_under_way) {
  const auto policy = policy_of(node_config());
  auto handler = app::make_transfer_handler(policy, "");
  const auto state = serving(2000);
  const Bytes req = signed_with(query("example.test.", LDNS_RR_TYPE_AXFR), "xfr-key.");
  auto under_way = handler(request_of(req, "127.0.0.1", state));
  BOOST_REQUIRE(under_way);
  std::vector<Bytes> ms(1);
  BOOST_REQUIRE(under_way->next(ms[0]));

  // The new config: xfr-key. is gone, other-key. may transfer, and so may 127.0.0.0/8 unsigned.
  config::NodeConfig rolled = node_config();
  rolled.keys.erase(rolled.keys.begin());
  rolled.transfer.allow = {"other-key."};
  rolled.transfer.allow_addresses = {*net::AddressPrefix::parse("127.0.0.0/8")};
  policy->set(app::access_policy_of(rolled));

  Bytes m;
  while (ms.size() < 10000 && under_way->next(m)) ms.push_back(m);
  BOOST_TEST(!under_way->failed());
  BOOST_REQUIRE_GT(ms.size(), 3u);
  BOOST_TEST(answers(ms) == state->zones->zones[0]->record_count() + 1);
  BOOST_TEST(chain_verifies(req, ms));

  const auto old_key = transfer(req, "127.0.0.1", state, nullptr, handler);
  BOOST_REQUIRE_EQUAL(old_key.size(), 1u);
  BOOST_TEST(rcode_of(old_key[0]) == LDNS_RCODE_NOTAUTH);   // BADKEY: the key is unknown now
  const auto new_key = transfer(signed_with(query("example.test.", LDNS_RR_TYPE_AXFR), "other-key."),
                                "192.0.2.1", serving(10), nullptr, handler);
  BOOST_TEST(answers(new_key) > 1u);
  const auto unsigned_here = transfer(query("example.test.", LDNS_RR_TYPE_AXFR), "127.0.0.1",
                                      serving(10), nullptr, handler);
  BOOST_TEST(answers(unsigned_here) > 1u);
  const auto unsigned_there = transfer(query("example.test.", LDNS_RR_TYPE_AXFR), "192.0.2.1",
                                       serving(10), nullptr, handler);
  BOOST_REQUIRE_EQUAL(unsigned_there.size(), 1u);
  BOOST_TEST(rcode_of(unsigned_there[0]) == LDNS_RCODE_REFUSED);   // 192.0.2.0/24 went
}
