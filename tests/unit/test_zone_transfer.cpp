// dns/zone_transfer: the messages of an outgoing AXFR/IXFR, parsed back with ldns (an
// independent implementation): every record of the zone exactly once, the SOA first and last,
// each message within the size it was given, the question and OPT echoed, the SOA alone for an
// up-to-date IXFR client; and the IXFR serial read from a request's authority section.
#define BOOST_TEST_MODULE test_zone_transfer
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "dns/query_parser.hpp"
#include "dns/record.hpp"
#include "dns/zone.hpp"
#include "dns/zone_transfer.hpp"

// ldns/common.h redefines bool/true/false in C++ unless <stdbool.h> came first.
#include "ldns_wire.hpp"

using namespace vrdns::dns;

namespace {

// A zone with the record shapes a transfer must carry: compressible names in RDATA (NS, MX,
// CNAME, SOA), a big RRset, long TXT, an empty non-terminal, a delegation with glue, and
// enough names to need many messages.
std::string zone_text(int hosts) {
  std::string t =
      "$ORIGIN Example.TEST.\n$TTL 3600\n"
      "@ IN SOA ns1 hostmaster 2026112701 7200 3600 1209600 300\n"
      "@ IN NS ns1\n@ IN NS ns2.example.net.\n@ IN MX 10 mail\n"
      "ns1 IN A 192.0.2.53\nmail IN A 192.0.2.25\nwww IN CNAME mail\n"
      "a.b.ent IN A 192.0.2.40\nsub IN NS ns.sub\nns.sub IN A 192.0.2.99\n"
      "txt IN TXT \"" + std::string(250, 'x') + "\" \"second\"\n";
  for (int i = 0; i < 250; ++i) t += "big IN A 198.51.100." + std::to_string(i) + "\n";
  for (int i = 0; i < 44; ++i) t += "big IN AAAA 2001:db8::" + std::to_string(i) + "\n";
  for (int i = 0; i < hosts; ++i) {
    const std::string h = "h" + std::to_string(i);
    t += h + " IN A 10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + "\n";
    t += h + " 60 IN MX 5 " + h + "\n";
  }
  return t;
}

std::string rr_text(const ldns_rr* rr) {
  char* s = ldns_rr2str(rr);
  std::string out(s);
  free(s);
  return out;
}

// The zone's records as ldns reads the same master file: the reference.
std::vector<std::string> reference_records(const std::string& text) {
  FILE* f = fmemopen(const_cast<char*>(text.data()), text.size(), "r");
  BOOST_REQUIRE(f);
  ldns_zone* z = nullptr;
  int line = 0;
  const ldns_status st = ldns_zone_new_frm_fp_l(&z, f, nullptr, 3600, LDNS_RR_CLASS_IN, &line);
  std::fclose(f);
  BOOST_REQUIRE_MESSAGE(st == LDNS_STATUS_OK, "ldns: " << ldns_get_errorstr_by_id(st) << " line " << line);
  std::vector<std::string> out{rr_text(ldns_zone_soa(z))};
  for (size_t i = 0; i < ldns_zone_rr_count(z); ++i)
    out.push_back(rr_text(ldns_rr_list_rr(ldns_zone_rrs(z), i)));
  ldns_zone_deep_free(z);
  std::sort(out.begin(), out.end());
  return out;
}

TransferQuestion axfr_question(uint16_t id, bool edns = false) {
  TransferQuestion q;
  q.id = id;
  q.rd = false;
  q.qname = *name_from_text("example.test.");
  q.qtype = rrtype::AXFR;
  q.qclass = rrclass::IN;
  q.edns = edns;
  return q;
}

struct Transfer {
  std::vector<std::vector<uint8_t>> messages;
  std::vector<std::string> answers;   // every answer RR, in order
};

// Runs a writer to its end with messages of at most `capacity` bytes, parsing each with ldns.
Transfer run(ZoneTransferWriter& w, std::size_t capacity, uint16_t id, bool edns = false,
             const std::string& qname = "example.test.") {
  Transfer t;
  std::vector<uint8_t> buf(65535);
  for (int guard = 0; guard < 100000; ++guard) {
    const std::size_t n = w.next(buf.data(), capacity);
    if (n == 0) break;
    BOOST_REQUIRE_LE(n, capacity);
    t.messages.emplace_back(buf.begin(), buf.begin() + long(n));
    ldns_pkt* p = nullptr;
    BOOST_REQUIRE(ldns_wire2pkt(&p, buf.data(), n) == LDNS_STATUS_OK);
    BOOST_TEST(ldns_pkt_id(p) == id);
    BOOST_TEST(ldns_pkt_qr(p));
    BOOST_TEST(ldns_pkt_aa(p));
    BOOST_TEST(ldns_pkt_get_opcode(p) == LDNS_PACKET_QUERY);
    BOOST_TEST(ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR);
    BOOST_REQUIRE_EQUAL(ldns_pkt_qdcount(p), 1u);
    BOOST_TEST(rr_text(ldns_rr_list_rr(ldns_pkt_question(p), 0)).find(qname + "\t") == 0u);
    BOOST_TEST(ldns_pkt_edns(p) == edns);
    BOOST_TEST(ldns_pkt_ancount(p) >= 1u);   // no empty messages
    for (size_t i = 0; i < ldns_pkt_ancount(p); ++i)
      t.answers.push_back(rr_text(ldns_rr_list_rr(ldns_pkt_answer(p), i)));
    ldns_pkt_free(p);
  }
  BOOST_TEST(w.done());
  return t;
}

bool is_soa(const std::string& rr) { return rr.find("\tSOA\t") != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(axfr_carries_every_record_once_between_two_soas) {
  const std::string text = zone_text(2000);
  const ZonePtr zone = load_zone_text(text, "example.test.");
  for (std::size_t capacity : {std::size_t(1200), std::size_t(16384), std::size_t(65535)}) {
    TransferQuestion q = axfr_question(4711);
    q.qname = *name_from_text("Example.TEST.");   // the question goes back as it came
    ZoneTransferWriter w(zone, q, false);
    const Transfer t = run(w, capacity, 4711, false, "Example.TEST.");
    BOOST_TEST_CONTEXT("capacity " << capacity) {
      BOOST_REQUIRE_GE(t.answers.size(), 3u);
      BOOST_TEST(is_soa(t.answers.front()));
      BOOST_TEST(is_soa(t.answers.back()));
      BOOST_TEST(t.answers.front() == t.answers.back());
      BOOST_TEST(std::count_if(t.answers.begin(), t.answers.end(), is_soa) == 2);
      std::vector<std::string> body(t.answers.begin(), t.answers.end() - 1);   // one SOA
      std::sort(body.begin(), body.end());
      const auto want = reference_records(text);
      BOOST_TEST(body.size() == want.size());
      std::vector<std::string> missing, extra;
      std::set_difference(want.begin(), want.end(), body.begin(), body.end(),
                          std::back_inserter(missing));
      std::set_difference(body.begin(), body.end(), want.begin(), want.end(),
                          std::back_inserter(extra));
      BOOST_TEST(missing.empty(), missing.size() << " missing, first: " << (missing.empty() ? "" : missing[0]));
      BOOST_TEST(extra.empty(), extra.size() << " extra, first: " << (extra.empty() ? "" : extra[0]));
      BOOST_TEST(w.records() == t.answers.size());
      BOOST_TEST(w.messages() == t.messages.size());
      BOOST_TEST(!w.failed());
      if (capacity == 1200) BOOST_TEST(t.messages.size() > 50u);
      if (capacity == 65535) BOOST_TEST(t.messages.size() < 10u);
    }
  }
}

BOOST_AUTO_TEST_CASE(an_up_to_date_ixfr_client_gets_the_soa_alone) {
  const ZonePtr zone = load_zone_text(zone_text(10), "example.test.");
  TransferQuestion q = axfr_question(7);
  q.qtype = rrtype::IXFR;
  ZoneTransferWriter w(zone, q, true);
  const Transfer t = run(w, 65535, 7);
  BOOST_REQUIRE_EQUAL(t.messages.size(), 1u);
  BOOST_REQUIRE_EQUAL(t.answers.size(), 1u);
  BOOST_TEST(is_soa(t.answers[0]));
  BOOST_TEST(t.answers[0].find("2026112701") != std::string::npos);
  BOOST_TEST(w.serial() == 2026112701u);
}

BOOST_AUTO_TEST_CASE(every_message_echoes_an_opt_when_the_request_had_one) {
  const ZonePtr zone = load_zone_text(zone_text(200), "example.test.");
  ZoneTransferWriter w(zone, axfr_question(9, true), false);
  const Transfer t = run(w, 2000, 9, true);
  BOOST_TEST(t.messages.size() > 3u);
}

BOOST_AUTO_TEST_CASE(a_record_that_cannot_fit_a_message_fails_the_transfer) {
  const ZonePtr zone = load_zone_text(zone_text(0), "example.test.");
  ZoneTransferWriter w(zone, axfr_question(1), false);
  std::vector<uint8_t> buf(65535);
  // Header and question fit, the SOA does not.
  BOOST_TEST(w.next(buf.data(), 40) == 0u);
  BOOST_TEST(w.failed());
  BOOST_TEST(w.done());
  BOOST_TEST(w.next(buf.data(), 65535) == 0u);   // ended for good
}

BOOST_AUTO_TEST_CASE(the_ixfr_serial_is_read_from_the_authority_soa) {
  ldns_pkt* p = ldns_pkt_query_new(ldns_dname_new_frm_str("example.test."), LDNS_RR_TYPE_IXFR,
                                   LDNS_RR_CLASS_IN, 0);
  ldns_rr* soa = nullptr;
  BOOST_REQUIRE(ldns_rr_new_frm_str(&soa,
                                    "example.test. 3600 IN SOA ns1.example.test. "
                                    "hostmaster.example.test. 4000000000 1 2 3 4",
                                    0, nullptr, nullptr) == LDNS_STATUS_OK);
  ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, soa);
  const std::vector<uint8_t> m = wire_of(p);   // names compressed
  const uint8_t* wire = m.data();
  const std::size_t len = m.size();
  ParsedQuery q;
  BOOST_REQUIRE(parse_query(wire, len, q));
  BOOST_TEST(q.qtype == rrtype::IXFR);
  BOOST_TEST(q.body_ok);
  BOOST_TEST(q.has_ixfr_serial);
  BOOST_TEST(q.ixfr_serial == 4000000000u);
  // Cut inside the SOA's RDATA: no serial, and no read past the end.
  ParsedQuery cut;
  BOOST_REQUIRE(parse_query(wire, len - 10, cut));
  BOOST_TEST(!cut.has_ixfr_serial);
}
