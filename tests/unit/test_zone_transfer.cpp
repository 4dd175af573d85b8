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
#include <random>
#include <set>
#include <tuple>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "dns/query_parser.hpp"
#include "dns/record.hpp"
#include "dns/zone.hpp"
#include "dns/zone_transfer.hpp"
#include "dns/zone_impl.hpp"

// ldns/common.h redefines bool/true/false in C++ unless <stdbool.h> came first.
#include "ldns_wire.hpp"

using namespace vrdns::dns;

namespace {

// prefix + n, appended (GCC 12 -O3 warns, -Wrestrict, on "h" + std::to_string(n)).
std::string numbered(const char* prefix, unsigned long n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

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
    const std::string h = numbered("h", unsigned(i));
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

// ---- the differences between two versions (Zone::for_each_difference, for IXFR) ----------

namespace {

using Change = std::tuple<bool, std::string, uint16_t, uint32_t, std::string>;   // added, key, type, TTL, RDATA

std::set<Change> brute_force_difference(const Zone& older, const Zone& newer) {
  auto as_set = [](const Zone& z) {
    std::set<std::tuple<std::string, uint16_t, uint32_t, std::string>> out;
    for (const Record& r : z.records())
      if (!(r.type == rrtype::SOA && name_key(r.owner) == z.apex_key()))
        out.emplace(name_key(r.owner), r.type, r.ttl, r.rdata);
    return out;
  };
  const auto a = as_set(older), b = as_set(newer);
  std::set<Change> out;
  for (const auto& [k, t, ttl, rd] : a)
    if (!b.count({k, t, ttl, rd})) out.emplace(false, k, t, ttl, rd);
  for (const auto& [k, t, ttl, rd] : b)
    if (!a.count({k, t, ttl, rd})) out.emplace(true, k, t, ttl, rd);
  return out;
}

std::set<Change> reported_difference(const Zone& older, const Zone& newer) {
  std::set<Change> out;
  newer.for_each_difference(older, [&](bool added, const Node& n, const RRset& rs,
                                       std::string_view rdata) {
    const bool fresh = out.emplace(added, name_key(n.owner), rs.type, rs.ttl, std::string(rdata)).second;
    BOOST_CHECK(fresh);   // each change once
  });
  return out;
}

Record a_record(const std::string& name, uint32_t ttl, uint8_t last) {
  Record r;
  r.owner = *name_from_text(name);
  r.type = rrtype::A;
  r.ttl = ttl;
  r.rdata = std::string{char(192), char(0), char(2), char(last)};
  return r;
}

}  // namespace

// Random edits (adds, removals, TTL changes, whole names, names below empty non-terminals) on
// versions of a zone; the differences reported between any two versions equal the set
// difference of their records, computed by brute force.
BOOST_AUTO_TEST_CASE(differences_between_versions_match_a_brute_force_comparison) {
  std::mt19937 rng(20261127);
  std::vector<ZonePtr> versions{load_zone_text(zone_text(3000), "example.test.")};
  for (int v = 0; v < 30; ++v) {
    ZoneEditor e(versions.back());
    const int edits = 1 + int(rng() % 40);
    for (int i = 0; i < edits; ++i) {
      std::string name = numbered("n", rng() % 200);
      name += rng() % 3 == 0 ? ".deep.ent.example.test." : ".example.test.";
      switch (rng() % 4) {
        case 0: case 1: e.add(a_record(name, 300 + 60 * (rng() % 2), uint8_t(rng() % 4))); break;
        case 2: e.remove_record(a_record(name, 300, uint8_t(rng() % 4))); break;
        case 3: e.remove_name(*name_from_text(name)); break;
      }
      if (rng() % 5 == 0) {   // the big RRset (looked up through a hash set) changes too
        Record r = a_record("big.example.test.", 3600, 0);
        r.rdata = std::string{char(198), char(51), char(100), char(rng() % 250)};
        if (rng() % 2) e.remove_record(r); else e.add(r);
      }
      if (rng() % 10 == 0)   // an existing host of the base zone changes too
        e.remove_name(*name_from_text(numbered("h", rng() % 3000) + ".example.test."));
    }
    versions.push_back(e.finish());
  }
  for (std::size_t i = 0; i < versions.size(); i += 3)
    for (std::size_t j = i; j < versions.size(); j += 4) {
      BOOST_TEST_CONTEXT("versions " << i << " -> " << j) {
        const auto want = brute_force_difference(*versions[i], *versions[j]);
        BOOST_TEST((reported_difference(*versions[i], *versions[j]) == want));
        if (i == j) BOOST_TEST(want.empty());
      }
    }
  const auto all = brute_force_difference(*versions.front(), *versions.back());
  BOOST_TEST(std::count_if(all.begin(), all.end(), [](const Change& c) { return std::get<0>(c); }) > 10);
  BOOST_TEST(std::count_if(all.begin(), all.end(), [](const Change& c) { return !std::get<0>(c); }) > 10);
  // Backwards too: from a newer version to an older one.
  BOOST_TEST((reported_difference(*versions[20], *versions[5]) ==
              brute_force_difference(*versions[20], *versions[5])));
}

// The cost is in what changed: a diff after a few edits of a big zone visits a few names.
BOOST_AUTO_TEST_CASE(a_difference_visits_only_the_changed_names) {
  const ZonePtr base = load_zone_text(zone_text(20000), "example.test.");
  ZoneEditor e(base);
  e.add(a_record("new1.example.test.", 300, 1));
  e.add(a_record("new2.example.test.", 300, 2));
  e.remove_name(*name_from_text("h17.example.test."));
  const ZonePtr next = e.finish();
  std::size_t names = 0;
  next->impl()->trie.diff(base->impl()->trie, [&](const Node*, const Node*) { ++names; });
  BOOST_TEST(names <= 5u, names << " names visited");
  BOOST_TEST(reported_difference(*base, *next).size() == 4u);   // 2 A added, h17's A and MX gone
}

// An incremental IXFR (RFC 1995 §4, one condensed sequence): SOA(new), SOA(old), what went,
// SOA(new), what came, SOA(new); applying it to the old version's records gives the new one's.
BOOST_AUTO_TEST_CASE(an_incremental_ixfr_carries_exactly_the_differences) {
  const std::string text = zone_text(500);
  const ZonePtr older = load_zone_text(text, "example.test.");
  ZoneEditor e(older);
  e.add(a_record("added.example.test.", 300, 7));
  e.remove_name(*name_from_text("h3.example.test."));
  e.remove_record(a_record("h4.example.test.", 3600, 0));   // h4's A is 10.0.0.4, not .0: kept
  Record soa;
  soa.owner = *name_from_text("example.test.");
  soa.type = rrtype::SOA;
  soa.ttl = 3600;
  soa.rdata = older->soa().rdatas.substr(2);
  soa.rdata[soa.rdata.size() - 20 + 3] = char(soa.rdata[soa.rdata.size() - 20 + 3] + 1);   // serial + 1
  e.replace_rrset(soa);
  const ZonePtr newer = e.finish();
  BOOST_REQUIRE_EQUAL(newer->serial(), older->serial() + 1);

  TransferQuestion q = axfr_question(31);
  q.qtype = rrtype::IXFR;
  // As the master file spells it: owners compressed against the question keep their case.
  q.qname = *name_from_text("Example.TEST.");
  ZoneTransferWriter w(newer, older, q);
  BOOST_TEST(w.incremental());
  BOOST_TEST(w.removed() == 2u);   // h3: A and MX
  BOOST_TEST(w.added() == 1u);
  const Transfer t = run(w, 150, 31, false, "Example.TEST.");   // tiny messages: several
  BOOST_TEST(t.messages.size() > 1u);
  std::vector<std::string> soas;
  for (const auto& rr : t.answers)
    if (is_soa(rr)) soas.push_back(rr.substr(rr.rfind("SOA")));
  BOOST_REQUIRE_EQUAL(soas.size(), 4u);
  const std::string old_serial = std::to_string(older->serial()), new_serial = std::to_string(newer->serial());
  BOOST_TEST(soas[0].find(new_serial) != std::string::npos);
  BOOST_TEST(soas[1].find(old_serial) != std::string::npos);
  BOOST_TEST(soas[2].find(new_serial) != std::string::npos);
  BOOST_TEST(soas[3].find(new_serial) != std::string::npos);
  // Replay the sequence on the old records: between SOA 2 and 3 deletions, then additions.
  auto records = reference_records(text);
  std::multiset<std::string> state(records.begin(), records.end());
  int soa_seen = 0;
  for (const auto& rr : t.answers) {
    if (is_soa(rr)) { ++soa_seen; continue; }
    if (soa_seen == 2) {
      auto it = state.find(rr);
      BOOST_REQUIRE_MESSAGE(it != state.end(), "deleted but absent: " << rr);
      state.erase(it);
    } else {
      BOOST_REQUIRE_EQUAL(soa_seen, 3);
      state.insert(rr);
    }
  }
  // The old SOA is in `state` (reference_records holds it); the new zone's records, with its
  // SOA, are what a secondary must end with.
  TransferQuestion all_q = axfr_question(1);
  all_q.qname = *name_from_text("Example.TEST.");
  ZoneTransferWriter all(newer, all_q, false);
  const Transfer full = run(all, 65535, 1, false, "Example.TEST.");
  std::multiset<std::string> expected(full.answers.begin(), full.answers.end() - 1);
  state.erase(state.find(t.answers[1]));   // the old SOA out, the new one in
  state.insert(t.answers[0]);
  BOOST_TEST((state == expected));
}
