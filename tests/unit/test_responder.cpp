// dns::answer() against configs/example.test.zone: every answering rule, checked by
// parsing the reply with ldns (an independent DNS implementation) and comparing sections
// as sets of presentation-format records.
#define BOOST_TEST_MODULE test_responder
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "dns/query_parser.hpp"
#include "dns/record.hpp"
#include "dns/responder.hpp"
#include "dns/zone.hpp"
#include "example_state.hpp"

// After every C++ header: ldns/common.h #defines `false`, which breaks <optional>'s
// operator<=> when <optional> comes later.
#include <ldns/ldns.h>

using namespace vrdns::dns;
using Set = std::set<std::string>;

namespace {

const ServingState& state() { return vrdns::test::example_state(); }

struct QueryOptions {
  uint16_t qclass = rrclass::IN;
  bool edns = false;
  uint16_t udp_size = 1232;
  uint8_t version = 0;
  bool dnssec_ok = false;
  uint8_t opcode = opcode::QUERY;
  bool rd = true;
  bool cd = false;
  uint16_t id = 0x5A5A;
  bool nsid = false;   ///< an empty NSID option in the OPT (RFC 5001)
};

std::string wire(const std::string& text) {
  auto n = name_from_text(text);
  BOOST_REQUIRE_MESSAGE(n.has_value(), "bad name " << text);
  return *n;
}

void put16(std::vector<uint8_t>& m, uint16_t v) {
  m.push_back(uint8_t(v >> 8));
  m.push_back(uint8_t(v));
}

std::vector<uint8_t> make_query(const std::string& name, uint16_t type, QueryOptions o = {}) {
  std::vector<uint8_t> m;
  put16(m, o.id);
  m.push_back(uint8_t((o.opcode << 3) | (o.rd ? 1 : 0)));
  m.push_back(o.cd ? 0x10 : 0);
  put16(m, 1);
  put16(m, 0);
  put16(m, 0);
  put16(m, o.edns ? 1 : 0);
  const std::string n = wire(name);
  m.insert(m.end(), n.begin(), n.end());
  put16(m, type);
  put16(m, o.qclass);
  if (o.edns) {
    m.push_back(0);
    put16(m, rrtype::OPT);
    put16(m, o.udp_size);
    m.push_back(0);
    m.push_back(o.version);
    put16(m, o.dnssec_ok ? 0x8000 : 0);
    put16(m, o.nsid ? 4 : 0);
    if (o.nsid) {
      put16(m, edns_option_nsid);
      put16(m, 0);
    }
  }
  return m;
}

/// The options of the reply's OPT (at result.opt_at), code -> data, checked for shape.
std::map<uint16_t, std::string> edns_options(const std::vector<uint8_t>& reply,
                                             const AnswerResult& r) {
  std::map<uint16_t, std::string> out;
  const std::size_t at = r.opt_at;
  BOOST_REQUIRE(at != 0 && at + 11 <= reply.size());
  BOOST_REQUIRE(reply[at] == 0 && ((reply[at + 1] << 8) | reply[at + 2]) == rrtype::OPT);
  const std::size_t end = at + 11 + ((reply[at + 9] << 8) | reply[at + 10]);
  BOOST_REQUIRE(end <= reply.size());
  for (std::size_t p = at + 11; p < end;) {
    BOOST_REQUIRE(end - p >= 4);
    const uint16_t code = uint16_t((reply[p] << 8) | reply[p + 1]);
    const std::size_t len = std::size_t((reply[p + 2] << 8) | reply[p + 3]);
    BOOST_REQUIRE(end - p - 4 >= len);
    BOOST_TEST(!out.count(code));
    out[code] = std::string(reinterpret_cast<const char*>(reply.data()) + p + 4, len);
    p += 4 + len;
  }
  return out;
}

/// The raw reply plus its ldns parse.
struct Reply {
  AnswerResult result;
  std::vector<uint8_t> bytes;
  ldns_pkt* pkt = nullptr;

  Reply() = default;
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
  ~Reply() { ldns_pkt_free(pkt); }

  uint8_t rcode() const { return uint8_t(ldns_pkt_get_rcode(pkt)); }
  bool aa() const { return ldns_pkt_aa(pkt); }
  bool tc() const { return ldns_pkt_tc(pkt); }
  std::size_t count(ldns_pkt_section s) const { return ldns_pkt_section_count(pkt, s); }
  Set section(ldns_pkt_section s) const {
    Set out;
    ldns_rr_list* list = ldns_pkt_get_section_clone(pkt, s);
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
      char* text = ldns_rr2str(ldns_rr_list_rr(list, i));
      std::string line(text);
      free(text);
      std::replace(line.begin(), line.end(), '\t', ' ');
      while (!line.empty() && line.back() == '\n') line.pop_back();
      out.insert(line);
    }
    ldns_rr_list_deep_free(list);
    return out;
  }
  Set answer() const { return section(LDNS_SECTION_ANSWER); }
  Set authority() const { return section(LDNS_SECTION_AUTHORITY); }
  Set additional() const { return section(LDNS_SECTION_ADDITIONAL); }
};

void run(Reply& r, const std::vector<uint8_t>& query, Transport t = Transport::udp,
         const ServingState& st = state()) {
  r.bytes.assign(max_message_size, 0);
  r.result = answer(st, query.data(), query.size(), t, r.bytes.data(), r.bytes.size());
  r.bytes.resize(r.result.length);
  if (r.result.what == Disposition::drop) return;
  BOOST_REQUIRE_GE(r.result.length, header_size);
  BOOST_REQUIRE_MESSAGE(ldns_wire2pkt(&r.pkt, r.bytes.data(), r.bytes.size()) == LDNS_STATUS_OK,
                        "ldns cannot parse the reply");
  // Invariants of every reply.
  BOOST_TEST(ldns_pkt_qr(r.pkt));
  BOOST_TEST(ldns_pkt_id(r.pkt) == uint16_t((query[0] << 8) | query[1]));
}

const Set soa_300 = {
    "example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. 2026112601 7200 3600 "
    "1209600 300"};

}  // namespace

BOOST_AUTO_TEST_SUITE(positive)

BOOST_AUTO_TEST_CASE(exact_match) {
  Reply r;
  run(r, make_query("www.example.test.", rrtype::A));
  BOOST_TEST((r.result.what == Disposition::reply));
  BOOST_TEST(r.rcode() == rcode::NOERROR);
  BOOST_TEST(r.aa());
  BOOST_TEST(!r.tc());
  BOOST_TEST(ldns_pkt_rd(r.pkt));
  BOOST_TEST(r.answer() == Set{"www.example.test. 3600 IN A 192.0.2.10"});
  BOOST_TEST(r.count(LDNS_SECTION_AUTHORITY) == 0u);   // no apex NS in positive answers
  BOOST_TEST(r.count(LDNS_SECTION_ADDITIONAL) == 0u);
  BOOST_TEST(!ldns_pkt_edns(r.pkt));
}

BOOST_AUTO_TEST_CASE(question_case_is_echoed_and_owner_points_to_it) {
  const auto q = make_query("wWw.ExAmPlE.tEsT.", rrtype::AAAA);
  Reply r;
  run(r, q);
  const std::size_t qlen = q.size() - header_size;
  BOOST_REQUIRE_GT(r.bytes.size(), header_size + qlen + 2);
  BOOST_TEST(std::memcmp(r.bytes.data() + header_size, q.data() + header_size, qlen) == 0);
  // The answer's owner is a pointer to the question name at offset 12.
  BOOST_TEST(r.bytes[header_size + qlen] == 0xC0);
  BOOST_TEST(r.bytes[header_size + qlen + 1] == header_size);
  BOOST_TEST(r.count(LDNS_SECTION_ANSWER) == 1u);
}

BOOST_AUTO_TEST_CASE(mixed_case_zone_name) {
  Reply r;
  run(r, make_query("mixed.example.test.", rrtype::A));
  BOOST_TEST(r.answer() == Set{"mixed.example.test. 3600 IN A 192.0.2.77"});
}

BOOST_AUTO_TEST_CASE(flags_and_id) {
  QueryOptions o;
  o.rd = false;
  o.cd = true;
  o.id = 0xBEEF;
  Reply r;
  run(r, make_query("www.example.test.", rrtype::A, o));
  BOOST_TEST(ldns_pkt_id(r.pkt) == 0xBEEF);
  BOOST_TEST(!ldns_pkt_rd(r.pkt));
  BOOST_TEST(!ldns_pkt_cd(r.pkt));   // not copied, like NSD and Knot
  BOOST_TEST(!ldns_pkt_ra(r.pkt));
}

BOOST_AUTO_TEST_CASE(apex_ns_with_glue) {
  Reply r;
  run(r, make_query("example.test.", rrtype::NS));
  BOOST_TEST(r.aa());
  BOOST_TEST(r.answer() == (Set{"example.test. 3600 IN NS ns1.example.test.",
                                "example.test. 3600 IN NS ns2.example.test."}));
  BOOST_TEST(r.additional() == (Set{"ns1.example.test. 3600 IN A 192.0.2.53",
                                    "ns1.example.test. 3600 IN AAAA 2001:db8::53",
                                    "ns2.example.test. 3600 IN A 192.0.2.54",
                                    "ns2.example.test. 3600 IN AAAA 2001:db8::54"}));
}

BOOST_AUTO_TEST_CASE(mx_and_srv_targets_in_additional) {
  Reply mx;
  run(mx, make_query("example.test.", rrtype::MX));
  BOOST_TEST(mx.answer() == Set{"example.test. 3600 IN MX 10 mail.example.test."});
  BOOST_TEST(mx.additional() == (Set{"mail.example.test. 3600 IN A 192.0.2.25",
                                     "mail.example.test. 3600 IN AAAA 2001:db8::25"}));
  Reply srv;
  run(srv, make_query("_sip._udp.example.test.", rrtype::SRV));
  BOOST_TEST(srv.answer() == Set{"_sip._udp.example.test. 3600 IN SRV 0 5 5060 sip.example.test."});
  BOOST_TEST(srv.additional() == Set{"sip.example.test. 3600 IN A 192.0.2.60"});
}

BOOST_AUTO_TEST_CASE(other_types) {
  const std::pair<const char*, uint16_t> cases[] = {
      {"ptr.example.test.", rrtype::PTR},   {"naptr.example.test.", rrtype::NAPTR},
      {"sshfp.example.test.", 44},          {"hinfo.example.test.", 13},
      {"example.test.", 257 /* CAA */},     {"txt.example.test.", rrtype::TXT},
      {"example.test.", rrtype::SOA}};
  for (const auto& [name, type] : cases) {
    Reply r;
    run(r, make_query(name, type));
    BOOST_TEST(r.rcode() == rcode::NOERROR);
    BOOST_TEST(r.aa());
    BOOST_TEST_REQUIRE(r.count(LDNS_SECTION_ANSWER) == 1u, name << " type " << type);
    BOOST_TEST(uint16_t(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0))) == type);
  }
  Reply txt;
  run(txt, make_query("txt.example.test.", rrtype::TXT));
  const std::string line = *txt.answer().begin();
  BOOST_TEST(line.find("\"first string\" \"second string\" \"a long third string") !=
             std::string::npos);
  Reply soa;
  run(soa, make_query("example.test.", rrtype::SOA));
  BOOST_TEST(soa.answer().begin()->find("example.test. 3600 IN SOA") == 0u);   // TTL as stored
}

BOOST_AUTO_TEST_CASE(class_any_is_answered_from_in) {
  QueryOptions o;
  o.qclass = rrclass::ANY;
  Reply r;
  run(r, make_query("www.example.test.", rrtype::A, o));
  BOOST_TEST(r.answer() == Set{"www.example.test. 3600 IN A 192.0.2.10"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(negative)

BOOST_AUTO_TEST_CASE(nodata_uses_soa_minimum) {
  Reply r;
  run(r, make_query("www.example.test.", rrtype::TXT));
  BOOST_TEST(r.rcode() == rcode::NOERROR);
  BOOST_TEST(r.aa());
  BOOST_TEST(r.count(LDNS_SECTION_ANSWER) == 0u);
  BOOST_TEST(r.authority() == soa_300);
}

BOOST_AUTO_TEST_CASE(nxdomain) {
  for (const char* name : {"nothere.example.test.", "deep.below.nothere.example.test.",
                           "x.www.example.test."}) {
    Reply r;
    run(r, make_query(name, rrtype::A));
    BOOST_TEST(r.rcode() == rcode::NXDOMAIN, name);
    BOOST_TEST(r.aa());
    BOOST_TEST(r.count(LDNS_SECTION_ANSWER) == 0u);
    BOOST_TEST(r.authority() == soa_300);
  }
}

BOOST_AUTO_TEST_CASE(not_our_zone_is_refused) {
  for (const char* name : {"www.example.net.", "test.", "."}) {
    Reply r;
    run(r, make_query(name, rrtype::A));
    BOOST_TEST(r.rcode() == rcode::REFUSED, name);
    BOOST_TEST(!r.aa());
    BOOST_TEST(r.count(LDNS_SECTION_ANSWER) + r.count(LDNS_SECTION_AUTHORITY) == 0u);
    BOOST_TEST(ldns_rr_list_rr_count(ldns_pkt_question(r.pkt)) == 1u);
  }
  ServingState empty;   // no zones at all
  Reply r;
  run(r, make_query("www.example.test.", rrtype::A), Transport::udp, empty);
  BOOST_TEST(r.rcode() == rcode::REFUSED);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cname)

BOOST_AUTO_TEST_CASE(chain_is_followed) {
  Reply r;
  run(r, make_query("cname-a.example.test.", rrtype::A));
  BOOST_TEST(r.rcode() == rcode::NOERROR);
  BOOST_TEST(r.aa());
  BOOST_TEST(r.answer() == (Set{"cname-a.example.test. 3600 IN CNAME cname-b.example.test.",
                                "cname-b.example.test. 3600 IN CNAME cname-c.example.test.",
                                "cname-c.example.test. 3600 IN A 192.0.2.30"}));
  BOOST_TEST(r.count(LDNS_SECTION_ADDITIONAL) == 0u);   // CNAME targets add nothing
}

BOOST_AUTO_TEST_CASE(chain_ending_in_nodata) {
  Reply r;
  run(r, make_query("cname-a.example.test.", rrtype::MX));
  BOOST_TEST(r.rcode() == rcode::NOERROR);
  BOOST_TEST(r.count(LDNS_SECTION_ANSWER) == 2u);
  BOOST_TEST(r.authority() == soa_300);
}

BOOST_AUTO_TEST_CASE(qtype_cname_is_not_followed) {
  Reply r;
  run(r, make_query("cname-a.example.test.", rrtype::CNAME));
  BOOST_TEST(r.answer() == Set{"cname-a.example.test. 3600 IN CNAME cname-b.example.test."});
}

BOOST_AUTO_TEST_CASE(target_outside_zone) {
  Reply r;
  run(r, make_query("outside.example.test.", rrtype::A));
  BOOST_TEST(r.rcode() == rcode::NOERROR);
  BOOST_TEST(r.aa());
  BOOST_TEST(r.answer() == Set{"outside.example.test. 3600 IN CNAME www.example.net."});
  BOOST_TEST(r.count(LDNS_SECTION_AUTHORITY) == 0u);
}

BOOST_AUTO_TEST_CASE(loop_stops_without_duplicates) {
  Reply r;
  run(r, make_query("loop1.example.test.", rrtype::A));
  BOOST_TEST(r.rcode() == rcode::NOERROR);
  BOOST_TEST(r.count(LDNS_SECTION_ANSWER) == 2u);
  BOOST_TEST(r.answer() == (Set{"loop1.example.test. 3600 IN CNAME loop2.example.test.",
                                "loop2.example.test. 3600 IN CNAME loop1.example.test."}));
}

BOOST_AUTO_TEST_CASE(dangling_target_is_nxdomain) {
  // RFC 6604: the rcode is that of the last name in the chain.
  Reply r;
  run(r, make_query("dangling.example.test.", rrtype::A));
  BOOST_TEST(r.rcode() == rcode::NXDOMAIN);
  BOOST_TEST(r.aa());
  BOOST_TEST(r.answer() == Set{"dangling.example.test. 3600 IN CNAME nothere.example.test."});
  BOOST_TEST(r.authority() == soa_300);
}

BOOST_AUTO_TEST_CASE(target_synthesized_from_wildcard) {
  Reply r;
  run(r, make_query("to-wild.example.test.", rrtype::A));
  BOOST_TEST(r.answer() == (Set{"to-wild.example.test. 3600 IN CNAME host.wild.example.test.",
                                "host.wild.example.test. 3600 IN A 192.0.2.99"}));
}

BOOST_AUTO_TEST_CASE(wildcard_cname) {
  Reply r;
  run(r, make_query("anything.wcname.example.test.", rrtype::A));
  BOOST_TEST(r.answer() == (Set{"anything.wcname.example.test. 3600 IN CNAME www.example.test.",
                                "www.example.test. 3600 IN A 192.0.2.10"}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(wildcard)

BOOST_AUTO_TEST_CASE(synthesis_uses_qname_as_owner) {
  for (const char* name : {"foo.wild.example.test.", "a.b.c.wild.example.test."}) {
    Reply r;
    run(r, make_query(name, rrtype::A));
    BOOST_TEST(r.aa());
    BOOST_TEST(r.answer() == Set{std::string(name) + " 3600 IN A 192.0.2.99"});
  }
  Reply txt;
  run(txt, make_query("foo.wild.example.test.", rrtype::TXT));
  BOOST_TEST(txt.answer() == Set{"foo.wild.example.test. 3600 IN TXT \"synthesized\""});
}

BOOST_AUTO_TEST_CASE(nodata_at_synthesized_name) {
  Reply r;
  run(r, make_query("foo.wild.example.test.", rrtype::MX));
  BOOST_TEST(r.rcode() == rcode::NOERROR);
  BOOST_TEST(r.count(LDNS_SECTION_ANSWER) == 0u);
  BOOST_TEST(r.authority() == soa_300);
}

BOOST_AUTO_TEST_CASE(the_wildcard_owner_itself) {
  Reply r;
  run(r, make_query("*.wild.example.test.", rrtype::A));
  BOOST_TEST(r.answer() == Set{"*.wild.example.test. 3600 IN A 192.0.2.99"});
}

BOOST_AUTO_TEST_CASE(empty_non_terminals_block_wildcards) {
  for (const char* name : {"b.ent.example.test.", "ent.example.test."}) {
    Reply r;
    run(r, make_query(name, rrtype::TXT));
    BOOST_TEST(r.rcode() == rcode::NOERROR, name);
    BOOST_TEST(r.count(LDNS_SECTION_ANSWER) == 0u);
    BOOST_TEST(r.authority() == soa_300);
  }
  Reply wild;
  run(wild, make_query("other.ent.example.test.", rrtype::TXT));
  BOOST_TEST(wild.answer() == Set{"other.ent.example.test. 3600 IN TXT \"wild under ent\""});
  // Below the ENT b.ent, the closest encloser is b.ent and *.b.ent does not exist.
  Reply nx;
  run(nx, make_query("x.b.ent.example.test.", rrtype::TXT));
  BOOST_TEST(nx.rcode() == rcode::NXDOMAIN);
  Reply real;
  run(real, make_query("a.b.ent.example.test.", rrtype::A));
  BOOST_TEST(real.answer() == Set{"a.b.ent.example.test. 3600 IN A 192.0.2.40"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(delegation)

const Set sub_ns = {"sub.example.test. 3600 IN NS ns.sub.example.test.",
                    "sub.example.test. 3600 IN NS ns.example.net."};
const Set sub_glue = {"ns.sub.example.test. 3600 IN A 192.0.2.200",
                      "ns.sub.example.test. 3600 IN AAAA 2001:db8::200"};

BOOST_AUTO_TEST_CASE(referral_below_and_at_cut) {
  const std::pair<const char*, uint16_t> cases[] = {{"www.sub.example.test.", rrtype::A},
                                                    {"a.b.sub.example.test.", rrtype::MX},
                                                    {"sub.example.test.", rrtype::NS},
                                                    {"sub.example.test.", rrtype::A},
                                                    {"www.sub.example.test.", rrtype::DS},
                                                    {"ns.sub.example.test.", rrtype::A}};
  for (const auto& [name, type] : cases) {
    Reply r;
    run(r, make_query(name, type));
    BOOST_TEST(r.rcode() == rcode::NOERROR, name << " " << type);
    BOOST_TEST(!r.aa());
    BOOST_TEST(r.count(LDNS_SECTION_ANSWER) == 0u);
    BOOST_TEST(r.authority() == sub_ns);
    BOOST_TEST(r.additional() == sub_glue);
  }
}

BOOST_AUTO_TEST_CASE(ds_at_cut_is_answered_by_parent) {
  Reply r;
  run(r, make_query("sub.example.test.", rrtype::DS));
  BOOST_TEST(r.aa());
  BOOST_TEST(r.count(LDNS_SECTION_ANSWER) == 1u);
  BOOST_TEST(r.answer().begin()->find("sub.example.test. 3600 IN DS 12345 13 2") == 0u);
  Reply nodata;
  run(nodata, make_query("sub2.example.test.", rrtype::DS));
  BOOST_TEST(nodata.rcode() == rcode::NOERROR);
  BOOST_TEST(nodata.aa());
  BOOST_TEST(nodata.count(LDNS_SECTION_ANSWER) == 0u);
  BOOST_TEST(nodata.authority() == soa_300);
}

BOOST_AUTO_TEST_CASE(referral_without_in_zone_glue) {
  Reply r;
  run(r, make_query("x.sub2.example.test.", rrtype::A));
  BOOST_TEST(!r.aa());
  BOOST_TEST(r.authority() == Set{"sub2.example.test. 3600 IN NS ns.example.net."});
  BOOST_TEST(r.count(LDNS_SECTION_ADDITIONAL) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(any)

BOOST_AUTO_TEST_CASE(one_rrset_only) {
  for (const char* name : {"www.example.test.", "example.test.", "foo.wild.example.test."}) {
    Reply r;
    run(r, make_query(name, rrtype::ANY));
    BOOST_TEST(r.rcode() == rcode::NOERROR);
    BOOST_TEST(r.aa());
    BOOST_TEST_REQUIRE(r.count(LDNS_SECTION_ANSWER) >= 1u, name);
    ldns_rr_list* an = ldns_pkt_answer(r.pkt);
    const auto type = ldns_rr_get_type(ldns_rr_list_rr(an, 0));
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(an); ++i)
      BOOST_TEST(ldns_rr_get_type(ldns_rr_list_rr(an, i)) == type);
  }
}

BOOST_AUTO_TEST_CASE(no_data_or_no_name) {
  Reply ent;
  run(ent, make_query("b.ent.example.test.", rrtype::ANY));
  BOOST_TEST(ent.rcode() == rcode::NOERROR);
  BOOST_TEST(ent.authority() == soa_300);
  Reply nx;
  run(nx, make_query("nothere.example.test.", rrtype::ANY));
  BOOST_TEST(nx.rcode() == rcode::NXDOMAIN);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(size)

BOOST_AUTO_TEST_CASE(udp_512_truncates_and_edns_fits) {
  Reply plain;
  run(plain, make_query("big.example.test.", rrtype::A));
  BOOST_TEST(plain.tc());
  BOOST_TEST(plain.aa());   // truncation does not change authority
  BOOST_TEST(plain.count(LDNS_SECTION_ANSWER) + plain.count(LDNS_SECTION_AUTHORITY) +
                 plain.count(LDNS_SECTION_ADDITIONAL) == 0u);
  BOOST_TEST(ldns_rr_list_rr_count(ldns_pkt_question(plain.pkt)) == 1u);
  BOOST_TEST(plain.bytes.size() <= 512u);

  QueryOptions o;
  o.edns = true;
  Reply edns;
  run(edns, make_query("big.example.test.", rrtype::A, o));
  BOOST_TEST(!edns.tc());
  BOOST_TEST(edns.count(LDNS_SECTION_ANSWER) == 40u);
  BOOST_TEST(edns.bytes.size() > 512u);
  BOOST_TEST(edns.bytes.size() <= 1232u);

  Reply tcp;
  run(tcp, make_query("big.example.test.", rrtype::A), Transport::tcp);
  BOOST_TEST(!tcp.tc());
  BOOST_TEST(tcp.count(LDNS_SECTION_ANSWER) == 40u);
}

BOOST_AUTO_TEST_CASE(too_big_even_for_edns) {
  QueryOptions o;
  o.edns = true;
  o.udp_size = 4096;   // capped by options.edns_udp_max = 1232
  Reply r;
  run(r, make_query("bigtxt.example.test.", rrtype::TXT, o));
  BOOST_TEST(r.tc());
  BOOST_TEST(r.count(LDNS_SECTION_ANSWER) == 0u);
  BOOST_TEST(ldns_pkt_edns(r.pkt));   // the OPT survives truncation
  BOOST_TEST(r.bytes.size() <= 1232u);

  Reply tcp;
  run(tcp, make_query("bigtxt.example.test.", rrtype::TXT, o), Transport::tcp);
  BOOST_TEST(!tcp.tc());
  BOOST_TEST(tcp.count(LDNS_SECTION_ANSWER) == 5u);
  BOOST_TEST(tcp.bytes.size() > 1232u);

  ServingState wide = state();
  wide.options.edns_udp_max = 4096;
  Reply fits;
  run(fits, make_query("bigtxt.example.test.", rrtype::TXT, o), Transport::udp, wide);
  BOOST_TEST(!fits.tc());
  BOOST_TEST(fits.count(LDNS_SECTION_ANSWER) == 5u);
}

BOOST_AUTO_TEST_CASE(small_edns_size_counts_as_512) {
  QueryOptions o;
  o.edns = true;
  o.udp_size = 100;
  Reply small;
  run(small, make_query("www.example.test.", rrtype::A, o));
  BOOST_TEST(!small.tc());
  BOOST_TEST(small.count(LDNS_SECTION_ANSWER) == 1u);
  Reply big;
  run(big, make_query("big.example.test.", rrtype::A, o));
  BOOST_TEST(big.tc());
}

BOOST_AUTO_TEST_CASE(compression_is_used) {
  Reply r;
  run(r, make_query("example.test.", rrtype::NS));
  std::size_t uncompressed = header_size + wire("example.test.").size() + 4;
  for (auto s : {LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY, LDNS_SECTION_ADDITIONAL}) {
    ldns_rr_list* list = ldns_pkt_get_section_clone(r.pkt, s);
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(list); ++i)
      uncompressed += ldns_rr_uncompressed_size(ldns_rr_list_rr(list, i));
    ldns_rr_list_deep_free(list);
  }
  BOOST_TEST(r.count(LDNS_SECTION_ADDITIONAL) == 4u);
  // Every name after the question is a pointer, or one new label plus a pointer:
  // header 12 + question 18 + 2 NS x (owner 2 + 10 + "ns1" 4 + pointer 2)
  // + 2 x (A: 2 + 10 + 4, AAAA: 2 + 10 + 16) = 154 bytes, against 266 uncompressed.
  BOOST_TEST(r.bytes.size() == 154u);
  BOOST_TEST(uncompressed == 266u);
  // The SOA's two RDATA names compress too.
  Reply soa;
  run(soa, make_query("example.test.", rrtype::SOA));
  BOOST_TEST(soa.bytes.size() < header_size + 18 + 12 + 18 + 28 + 20);
}

BOOST_AUTO_TEST_CASE(srv_target_is_not_compressed) {
  Reply r;
  run(r, make_query("_sip._udp.example.test.", rrtype::SRV));
  const std::string target = wire("sip.example.test.");
  const auto at = std::search(r.bytes.begin(), r.bytes.end(), target.begin(), target.end());
  BOOST_TEST((at != r.bytes.end()));   // written out in full inside the SRV RDATA
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(edns)

BOOST_AUTO_TEST_CASE(opt_only_when_asked) {
  QueryOptions o;
  o.edns = true;
  o.udp_size = 4096;
  o.dnssec_ok = true;
  Reply r;
  run(r, make_query("www.example.test.", rrtype::A, o));
  BOOST_TEST(ldns_pkt_edns(r.pkt));
  BOOST_TEST(ldns_pkt_edns_udp_size(r.pkt) == 1232);   // ours, not the requestor's
  BOOST_TEST(ldns_pkt_edns_version(r.pkt) == 0);
  BOOST_TEST(ldns_pkt_edns_do(r.pkt));                 // RFC 3225: DO copied
  BOOST_TEST(ldns_pkt_arcount(r.pkt) == 0u);           // ldns does not count the OPT here
  BOOST_TEST(r.answer() == Set{"www.example.test. 3600 IN A 192.0.2.10"});
}

BOOST_AUTO_TEST_CASE(unknown_version_is_badvers) {
  QueryOptions o;
  o.edns = true;
  o.version = 1;
  Reply r;
  run(r, make_query("www.example.test.", rrtype::A, o));
  BOOST_TEST(r.rcode() == 0);
  BOOST_TEST(ldns_pkt_edns_extended_rcode(r.pkt) == 1);   // 16 = BADVERS
  BOOST_TEST(ldns_pkt_edns_version(r.pkt) == 0);
  BOOST_TEST(r.count(LDNS_SECTION_ANSWER) == 0u);
  BOOST_TEST(!r.aa());
}

// RFC 5001: the identifier goes only to a client that asks, and only if one is configured.
BOOST_AUTO_TEST_CASE(nsid_when_asked_and_configured) {
  ServingState st = state();
  st.options.nsid = "ns1-fra";
  QueryOptions o;
  o.edns = true;
  o.nsid = true;
  Reply asked;
  run(asked, make_query("www.example.test.", rrtype::A, o), Transport::udp, st);
  BOOST_TEST(asked.rcode() == rcode::NOERROR);
  BOOST_TEST(asked.answer() == Set{"www.example.test. 3600 IN A 192.0.2.10"});
  BOOST_TEST(edns_options(asked.bytes, asked.result) ==
             (std::map<uint16_t, std::string>{{edns_option_nsid, "ns1-fra"}}));
  Reply unset;   // asked, but none configured
  run(unset, make_query("www.example.test.", rrtype::A, o));
  BOOST_TEST(edns_options(unset.bytes, unset.result).empty());
  o.nsid = false;
  Reply not_asked;
  run(not_asked, make_query("www.example.test.", rrtype::A, o), Transport::udp, st);
  BOOST_TEST(edns_options(not_asked.bytes, not_asked.result).empty());
  // Its room is kept like the OPT's: a reply cut to the UDP size keeps it and fits.
  st.options.nsid = std::string(max_nsid_length, 'n');
  o.nsid = true;
  o.udp_size = 512;
  Reply big;
  run(big, make_query("big.example.test.", rrtype::A, o), Transport::udp, st);
  BOOST_TEST(big.tc());
  BOOST_TEST(big.bytes.size() <= 512u);
  BOOST_TEST(edns_options(big.bytes, big.result).at(edns_option_nsid) == st.options.nsid);
}

// A size too small for the question after the OPT, an NSID and the caller's TSIG room (a long
// name, EDNS 512, a large key): never a reply whose header counts a question it lacks. NSID
// then gives way; with no room for the question at all, a header with TC sends it to TCP.
BOOST_AUTO_TEST_CASE(no_room_for_the_question) {
  ServingState st = state();
  st.options.nsid = std::string(max_nsid_length, 'n');
  std::string long_name;   // 240 characters: a 242-byte name, nearly the longest there is
  for (int i = 0; i < 3; ++i) long_name += std::string(61, char('a' + i)) + ".";
  long_name += std::string(40, 'd') + ".example.test.";
  QueryOptions o;
  o.edns = true;
  o.nsid = true;
  o.udp_size = 512;
  const auto q = make_query(long_name, rrtype::A, o);
  for (std::size_t tail : {0u, 100u, 150u, 200u, 250u, 300u, 400u, 460u}) {
    BOOST_TEST_CONTEXT("TSIG room " << tail) {
      std::vector<uint8_t> out(max_message_size);
      const AnswerResult r =
          answer(st, q.data(), q.size(), Transport::udp, out.data(), out.size(), tail);
      if (r.what == Disposition::drop) {
        BOOST_TEST(tail + header_size + 11 > 512u);   // not even a header and an OPT
        continue;
      }
      BOOST_TEST(r.length + tail <= 512u);
      out.resize(r.length);
      ldns_pkt* pkt = nullptr;
      BOOST_REQUIRE_MESSAGE(ldns_wire2pkt(&pkt, out.data(), out.size()) == LDNS_STATUS_OK,
                            "unparsable reply of " << r.length << " bytes");
      const bool has_question = ldns_pkt_qdcount(pkt) == 1;
      BOOST_TEST((has_question || ldns_pkt_tc(pkt)));
      BOOST_TEST(ldns_pkt_edns(pkt));
      ldns_pkt_free(pkt);
    }
  }
}

// RFC 8914: why an error, for the errors whose reason a client cannot guess.
BOOST_AUTO_TEST_CASE(extended_errors) {
  QueryOptions o;
  o.edns = true;
  auto ede_of = [](const Reply& r) {
    const auto options = edns_options(r.bytes, r.result);
    const auto it = options.find(edns_option_ede);
    if (it == options.end()) return -1;
    BOOST_REQUIRE(it->second.size() == 2u);   // the info code; no extra text
    return (uint8_t(it->second[0]) << 8) | uint8_t(it->second[1]);
  };
  Reply foreign;
  run(foreign, make_query("www.example.org.", rrtype::A, o));
  BOOST_TEST(foreign.rcode() == rcode::REFUSED);
  BOOST_TEST(ede_of(foreign) == int(ede::NOT_AUTHORITATIVE));
  ServingState st = state();
  st.has_state = false;
  Reply not_ready;
  run(not_ready, make_query("www.example.test.", rrtype::A, o), Transport::udp, st);
  BOOST_TEST(not_ready.rcode() == rcode::SERVFAIL);
  BOOST_TEST(ede_of(not_ready) == int(ede::NOT_READY));
  Reply fine;
  run(fine, make_query("nothere.example.test.", rrtype::A, o));
  BOOST_TEST(fine.rcode() == rcode::NXDOMAIN);
  BOOST_TEST(ede_of(fine) == -1);
  Reply plain;   // without EDNS there is nowhere to put it
  run(plain, make_query("www.example.org.", rrtype::A), Transport::udp, st);
  BOOST_TEST(plain.rcode() == rcode::REFUSED);
  BOOST_TEST(!ldns_pkt_edns(plain.pkt));
}

BOOST_AUTO_TEST_CASE(broken_opt_is_formerr_without_opt) {
  auto q = make_query("www.example.test.", rrtype::A);
  q[11] = 2;   // two OPTs
  const uint8_t opt[] = {0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0};
  q.insert(q.end(), opt, opt + sizeof opt);
  q.insert(q.end(), opt, opt + sizeof opt);
  Reply two;
  run(two, q);
  BOOST_TEST(two.rcode() == rcode::FORMERR);
  BOOST_TEST(!ldns_pkt_edns(two.pkt));
  BOOST_TEST(two.count(LDNS_SECTION_ANSWER) == 0u);

  QueryOptions o;
  o.edns = true;
  auto cut = make_query("www.example.test.", rrtype::A, o);
  cut.resize(cut.size() - 3);   // truncated OPT
  Reply r;
  run(r, cut);
  BOOST_TEST(r.rcode() == rcode::FORMERR);
  BOOST_TEST(ldns_rr_list_rr_count(ldns_pkt_question(r.pkt)) == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(chaos)

BOOST_AUTO_TEST_CASE(server_identification) {
  const std::pair<const char*, const char*> cases[] = {
      {"id.server.", "node-1"},
      {"hostname.bind.", "node-1"},
      {"version.server.", "vrdns test"},
      {"VERSION.bind.", "vrdns test"},
      {"status.vrdns.", "replica=0 view=3 status=normal"}};
  for (const auto& [name, text] : cases) {
    QueryOptions o;
    o.qclass = rrclass::CH;
    Reply r;
    run(r, make_query(name, rrtype::TXT, o));
    BOOST_TEST(r.rcode() == rcode::NOERROR, name);
    BOOST_TEST(!r.aa());
    BOOST_TEST(r.answer() == Set{std::string(name) + " 0 CH TXT \"" + text + "\""});
  }
}

BOOST_AUTO_TEST_CASE(no_state_yet_is_servfail_but_status_answers) {
  // A recovering replica: its zones are SERVFAIL (not the stale zone file), foreign zones are
  // still REFUSED, and status.vrdns. still tells the operator what is going on.
  ServingState st = state();
  st.has_state = false;
  st.status = "replica=0 view=0 status=recovering";
  Reply ours;
  run(ours, make_query("www.example.test.", rrtype::A), Transport::udp, st);
  BOOST_TEST(ours.rcode() == rcode::SERVFAIL);
  BOOST_TEST(ours.answer().empty());
  Reply foreign;
  run(foreign, make_query("www.example.org.", rrtype::A), Transport::udp, st);
  BOOST_TEST(foreign.rcode() == rcode::REFUSED);
  QueryOptions o;
  o.qclass = rrclass::CH;
  Reply status;
  run(status, make_query("status.vrdns.", rrtype::TXT, o), Transport::udp, st);
  BOOST_TEST(status.rcode() == rcode::NOERROR);
  BOOST_TEST(status.answer() ==
             Set{"status.vrdns. 0 CH TXT \"replica=0 view=0 status=recovering\""});
}

BOOST_AUTO_TEST_CASE(other_chaos_is_refused) {
  QueryOptions o;
  o.qclass = rrclass::CH;
  Reply other;
  run(other, make_query("authors.bind.", rrtype::TXT, o));
  BOOST_TEST(other.rcode() == rcode::REFUSED);
  Reply wrong_type;
  run(wrong_type, make_query("id.server.", rrtype::A, o));
  BOOST_TEST(wrong_type.rcode() == rcode::REFUSED);
  Reply any;
  run(any, make_query("id.server.", rrtype::ANY, o));
  BOOST_TEST(any.count(LDNS_SECTION_ANSWER) == 1u);
}

BOOST_AUTO_TEST_CASE(long_identity_is_split_into_strings) {
  ServingState st = state();
  st.identity = std::string(300, 'n');
  QueryOptions o;
  o.qclass = rrclass::CH;
  Reply r;
  run(r, make_query("id.server.", rrtype::TXT, o), Transport::udp, st);
  BOOST_TEST(r.answer() == Set{"id.server. 0 CH TXT \"" + std::string(255, 'n') + "\" \"" +
                               std::string(45, 'n') + "\""});
}

BOOST_AUTO_TEST_CASE(other_classes_are_refused) {
  QueryOptions o;
  o.qclass = 4;   // HS
  Reply r;
  run(r, make_query("www.example.test.", rrtype::A, o));
  BOOST_TEST(r.rcode() == rcode::REFUSED);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(opcodes_and_qtypes)

BOOST_AUTO_TEST_CASE(notify_and_status_are_notimp) {
  for (uint8_t op : {opcode::NOTIFY, opcode::STATUS, opcode::IQUERY, uint8_t(9)}) {
    QueryOptions o;
    o.opcode = op;
    Reply r;
    run(r, make_query("example.test.", rrtype::SOA, o));
    BOOST_TEST((r.result.what == Disposition::reply));
    BOOST_TEST(r.rcode() == rcode::NOTIMP);
    BOOST_TEST(uint8_t(ldns_pkt_get_opcode(r.pkt)) == op);
    BOOST_TEST(r.count(LDNS_SECTION_ANSWER) == 0u);
  }
}

BOOST_AUTO_TEST_CASE(update_is_handed_over_with_refused_fallback) {
  QueryOptions o;
  o.opcode = opcode::UPDATE;
  Reply r;
  run(r, make_query("example.test.", rrtype::SOA, o));
  BOOST_TEST((r.result.what == Disposition::update));
  BOOST_TEST(r.rcode() == rcode::REFUSED);
  BOOST_TEST(uint8_t(ldns_pkt_get_opcode(r.pkt)) == opcode::UPDATE);
}

BOOST_AUTO_TEST_CASE(transfers_refused_meta_types_nodata) {
  for (uint16_t t : {rrtype::AXFR, rrtype::IXFR}) {
    Reply r;
    run(r, make_query("example.test.", t), Transport::tcp);
    BOOST_TEST(r.rcode() == rcode::REFUSED);
    BOOST_TEST(!r.aa());
  }
  // AXFR exists over TCP only (RFC 5936 §4.2): NOTIMP over UDP, as NSD and Knot answer.
  Reply axfr_udp;
  run(axfr_udp, make_query("example.test.", rrtype::AXFR), Transport::udp);
  BOOST_TEST(axfr_udp.rcode() == rcode::NOTIMP);
  Reply ixfr_udp;
  run(ixfr_udp, make_query("example.test.", rrtype::IXFR), Transport::udp);
  BOOST_TEST(ixfr_udp.rcode() == rcode::REFUSED);
  // NSD and Knot answer meta qtypes like any other type without data.
  for (uint16_t t : {rrtype::OPT, rrtype::TSIG, uint16_t(249), uint16_t(253), uint16_t(254)}) {
    Reply r;
    run(r, make_query("example.test.", t));
    BOOST_TEST(r.rcode() == rcode::NOERROR, "qtype " << t);
    BOOST_TEST(r.aa());
    BOOST_TEST(r.count(LDNS_SECTION_ANSWER) == 0u);
    BOOST_TEST(r.authority() == soa_300);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(malformed)

BOOST_AUTO_TEST_CASE(short_and_responses_are_dropped) {
  const auto q = make_query("www.example.test.", rrtype::A);
  for (std::size_t n = 0; n < header_size; ++n) {
    std::vector<uint8_t> cut(q.begin(), q.begin() + long(n));
    Reply r;
    run(r, cut);
    BOOST_TEST((r.result.what == Disposition::drop));
    BOOST_TEST(r.result.length == 0u);
  }
  auto response = q;
  response[2] |= 0x80;
  Reply r;
  run(r, response);
  BOOST_TEST((r.result.what == Disposition::drop));
}

BOOST_AUTO_TEST_CASE(question_count) {
  auto q = make_query("www.example.test.", rrtype::A);
  q[5] = 0;   // QDCOUNT 0
  q.resize(header_size);
  Reply zero;
  run(zero, q);
  BOOST_TEST(zero.rcode() == rcode::FORMERR);
  BOOST_TEST(ldns_rr_list_rr_count(ldns_pkt_question(zero.pkt)) == 0u);
  BOOST_TEST(!ldns_pkt_edns(zero.pkt));

  // QDCOUNT 0 with a valid OPT: the FORMERR still carries an OPT (RFC 6891 §7).
  QueryOptions edns;
  edns.edns = true;
  auto with_opt = make_query("www.example.test.", rrtype::A, edns);
  with_opt[5] = 0;
  const std::size_t question_len = wire("www.example.test.").size() + 4;
  with_opt.erase(with_opt.begin() + long(header_size),
                 with_opt.begin() + long(header_size + question_len));
  Reply zero_opt;
  run(zero_opt, with_opt);
  BOOST_TEST(zero_opt.rcode() == rcode::FORMERR);
  BOOST_TEST(ldns_pkt_edns(zero_opt.pkt));

  auto two = make_query("www.example.test.", rrtype::A);
  const std::vector<uint8_t> question(two.begin() + header_size, two.end());
  two.insert(two.end(), question.begin(), question.end());
  two[5] = 2;
  Reply r;
  run(r, two);
  BOOST_TEST(r.rcode() == rcode::FORMERR);
  BOOST_TEST(ldns_rr_list_rr_count(ldns_pkt_question(r.pkt)) == 0u);
}

BOOST_AUTO_TEST_CASE(bad_question_names) {
  std::vector<std::vector<uint8_t>> bad;
  auto q = make_query("www.example.test.", rrtype::A);
  auto label64 = q;
  label64[header_size] = 64;   // "www" claims 64 bytes
  bad.push_back(label64);
  std::vector<uint8_t> loop(q.begin(), q.begin() + header_size);
  for (uint8_t b : {0xC0, 0x0C, 0, 1, 0, 1}) loop.push_back(b);   // pointer to itself
  bad.push_back(loop);
  bad.push_back(std::vector<uint8_t>(q.begin(), q.end() - 2));    // truncated class
  for (const auto& m : bad) {
    Reply r;
    run(r, m);
    BOOST_TEST(r.rcode() == rcode::FORMERR);
    BOOST_TEST(ldns_rr_list_rr_count(ldns_pkt_question(r.pkt)) == 0u);
  }
}

BOOST_AUTO_TEST_CASE(trailing_garbage_and_records_in_query) {
  auto junk = make_query("www.example.test.", rrtype::A);
  junk.push_back(0x42);
  Reply r;
  run(r, junk);
  BOOST_TEST(r.rcode() == rcode::FORMERR);
  BOOST_TEST(ldns_rr_list_rr_count(ldns_pkt_question(r.pkt)) == 1u);

  // An answer record in a query (like NSD: FORMERR).
  auto with_answer = make_query("www.example.test.", rrtype::A);
  with_answer[7] = 1;
  const uint8_t rr[] = {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1};
  with_answer.insert(with_answer.end(), rr, rr + sizeof rr);
  Reply a;
  run(a, with_answer);
  BOOST_TEST(a.rcode() == rcode::FORMERR);
}

BOOST_AUTO_TEST_CASE(never_writes_past_capacity) {
  // A TCP answer needs more than 1232 bytes; with less room the writer must stop short.
  const auto q = make_query("bigtxt.example.test.", rrtype::TXT);
  std::vector<uint8_t> out(max_message_size + 64, 0xEE);
  const std::size_t capacity = 600;
  const AnswerResult res = answer(state(), q.data(), q.size(), Transport::tcp, out.data(), capacity);
  BOOST_TEST(res.length <= capacity);
  BOOST_TEST(std::all_of(out.begin() + capacity, out.end(), [](uint8_t b) { return b == 0xEE; }));
}

BOOST_AUTO_TEST_CASE(additional_records_that_do_not_fit_are_left_out) {
  // With 100 bytes of room: header+question 30, two NS 36, then ns1 A (16) fits, ns1 AAAA
  // (28) does not, ns2 A (16) fits, ns2 AAAA does not. No TC: additional data is optional.
  const auto q = make_query("example.test.", rrtype::NS);
  std::vector<uint8_t> out(max_message_size);
  const AnswerResult res = answer(state(), q.data(), q.size(), Transport::tcp, out.data(), 100);
  BOOST_REQUIRE((res.what == Disposition::reply));
  BOOST_TEST(res.length == 98u);
  ldns_pkt* p = nullptr;
  BOOST_REQUIRE(ldns_wire2pkt(&p, out.data(), res.length) == LDNS_STATUS_OK);
  BOOST_TEST(!ldns_pkt_tc(p));
  BOOST_TEST(ldns_pkt_ancount(p) == 2u);
  BOOST_TEST(ldns_pkt_arcount(p) == 2u);
  for (std::size_t i = 0; i < ldns_pkt_arcount(p); ++i)
    BOOST_TEST(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_additional(p), i)) == LDNS_RR_TYPE_A);
  ldns_pkt_free(p);
}

BOOST_AUTO_TEST_CASE(fuzz_random_and_mutated_inputs) {
  // 100,000 inputs, bounded in time too: every reply must stay in bounds, carry the query
  // id, and parse with ldns.
  std::mt19937 rng(20261126);
  std::vector<std::vector<uint8_t>> seeds;
  QueryOptions e;
  e.edns = true;
  for (const char* n : {"www.example.test.", "big.example.test.", "foo.wild.example.test.",
                        "cname-a.example.test.", "www.sub.example.test."})
    seeds.push_back(make_query(n, rrtype::A, e));
  std::vector<uint8_t> out(max_message_size);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int replies = 0, parsed = 0;
  for (int i = 0; i < 100000 && std::chrono::steady_clock::now() < deadline; ++i) {
    std::vector<uint8_t> m;
    if (i % 4 == 0) {
      m.resize(rng() % 80);
      for (auto& b : m) b = uint8_t(rng());
      if (m.size() > 2) m[2] &= 0x7F;   // mostly queries, so they get past the QR check
    } else {
      m = seeds[rng() % seeds.size()];
      const int flips = 1 + int(rng() % 4);
      for (int f = 0; f < flips; ++f) m[rng() % m.size()] = uint8_t(rng());
      if (rng() % 3 == 0) m.resize(rng() % (m.size() + 1));
    }
    const Transport t = (i & 1) ? Transport::udp : Transport::tcp;
    const AnswerResult res = answer(state(), m.data(), m.size(), t, out.data(), out.size());
    if (res.what == Disposition::drop) {
      BOOST_REQUIRE_EQUAL(res.length, 0u);
      continue;
    }
    ++replies;
    BOOST_REQUIRE_GE(res.length, header_size);
    BOOST_REQUIRE_LE(res.length, t == Transport::udp ? 1232u : max_message_size);
    BOOST_REQUIRE(out[0] == m[0] && out[1] == m[1]);
    ldns_pkt* p = nullptr;
    if (ldns_wire2pkt(&p, out.data(), res.length) == LDNS_STATUS_OK) ++parsed;
    ldns_pkt_free(p);
  }
  BOOST_TEST_MESSAGE("fuzz: " << replies << " replies, " << parsed << " parsed by ldns");
  BOOST_TEST(replies > 1000);
  BOOST_TEST(parsed == replies);
}

BOOST_AUTO_TEST_SUITE_END()
