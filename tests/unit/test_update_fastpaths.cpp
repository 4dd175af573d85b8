// The shortcuts taken on the per-UPDATE path (issue #4) must not change any outcome:
//   - classify_*'s fixed-length check for A/AAAA RDATA agrees with ldns' wire parser;
//   - ZoneEditor::replace_rrset gives exactly what remove_rrset + add gives (records, owner
//     spelling, counts), and leaves older snapshots untouched;
//   - apply_update's in-place serial bump changes only the new version.
#define BOOST_TEST_MODULE test_update_fastpaths
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "dns/query_parser.hpp"
#include "dns/record.hpp"
#include "dns/update.hpp"
#include "dns/update_apply.hpp"
#include "dns/zone.hpp"

// After every C++ header: ldns/common.h #defines `bool`/`false` (docs/pitfalls.md).
#include <stdbool.h>
#include <ldns/ldns.h>

using namespace vrdns::dns;

namespace {

std::string wire(const std::string& text) {
  auto n = name_from_text(text);
  BOOST_REQUIRE_MESSAGE(n.has_value(), "cannot parse name " << text);
  return *n;
}

/// The ldns-based rule classify_* used for every type before the fast path: empty RDATA by
/// the type's descriptor minimum (ldns' wire parser itself takes an empty RDATA for any
/// type), anything else by ldns_wire2rr consuming exactly the RDATA.
bool ldns_accepts(const Record& r) {
  if (r.rdata.empty()) {
    const ldns_rr_descriptor* d = ldns_rr_descript(r.type);
    return d == nullptr || ldns_rr_descriptor_minimum(d) == 0;
  }
  Record probe = r;
  probe.rclass = rrclass::IN;
  ldns_rr* rr = record_to_ldns(probe);
  if (rr == nullptr) return false;
  ldns_rr_free(rr);
  return true;
}

std::string soa_rdata(uint32_t serial) {
  std::string rd = wire("ns1.example.test.") + wire("admin.example.test.");
  for (uint32_t v : {serial, 3600u, 600u, 86400u, 300u})
    for (int s = 24; s >= 0; s -= 8) rd += char(v >> s);
  return rd;
}

ZonePtr base_zone() {
  const std::string apex = wire("example.test.");
  ZoneEditor ed(apex);
  ed.add(Record{apex, rrtype::SOA, rrclass::IN, 3600, soa_rdata(7)});
  ed.add(Record{apex, rrtype::NS, rrclass::IN, 3600, wire("ns1.example.test.")});
  return ed.finish();
}

}  // namespace

BOOST_AUTO_TEST_CASE(address_rdata_length_check_agrees_with_ldns) {
  const std::string zone = wire("example.test.");
  const std::string owner = wire("www.example.test.");
  int accepted = 0, rejected = 0;
  for (uint16_t type : {rrtype::A, rrtype::AAAA})
    for (std::size_t len = 0; len <= 40; ++len) {
      const std::string rdata(len, '\x01');
      const bool want = ldns_accepts(Record{owner, type, rrclass::IN, 300, rdata});
      (want ? accepted : rejected)++;
      UpdateKind kind{};
      BOOST_CHECK_EQUAL(classify_update(Record{owner, type, rrclass::IN, 300, rdata}, zone, kind),
                        want ? rcode::NOERROR : rcode::FORMERR);
      BOOST_CHECK_EQUAL(classify_update(Record{owner, type, rrclass::NONE, 0, rdata}, zone, kind),
                        want ? rcode::NOERROR : rcode::FORMERR);
      PrereqKind pk{};
      BOOST_CHECK_EQUAL(classify_prerequisite(Record{owner, type, rrclass::IN, 0, rdata}, zone, pk),
                        want ? rcode::NOERROR : rcode::FORMERR);
    }
  // ldns takes exactly one length per type: 4 for A, 16 for AAAA.
  BOOST_CHECK_EQUAL(accepted, 2);
  BOOST_CHECK_EQUAL(rejected, 2 * 41 - 2);
}

BOOST_AUTO_TEST_CASE(replace_rrset_equals_remove_then_add) {
  std::mt19937 rng(4242);
  const std::string apex = wire("example.test.");
  // Few names, mixed case, nested: replaced RRsets are often a name's last one, sit under
  // ENTs, or have children, which exercises both the in-place and the two-step path.
  std::vector<std::string> owners;
  for (const char* text : {"a.example.test.", "A.example.test.", "b.a.example.test.",
                           "B.A.example.test.", "c.b.a.example.test.", "x.y.example.test.",
                           "X.Y.example.test.", "example.test."})
    owners.push_back(wire(text));
  const uint16_t types[] = {rrtype::A, rrtype::TXT, rrtype::CNAME};

  ZonePtr zone = base_zone();
  int in_place = 0, two_step = 0;
  for (int round = 0; round < 400; ++round) {
    const std::vector<Record> before = zone->records();
    ZoneEditor fast(zone), slow(zone);
    for (int i = 0; i < 8; ++i) {
      const std::string& owner = owners[rng() % owners.size()];
      const uint16_t type = types[rng() % 3];
      if (owner == apex && type == rrtype::CNAME) continue;   // not a zone we could load
      std::string rdata = type == rrtype::A     ? std::string("\xc0\0\2", 3) + char(rng() % 3)
                          : type == rrtype::TXT ? std::string("\1") + char('a' + rng() % 3)
                                                : owners[rng() % 3];
      const Record r{owner, type, rrclass::IN, uint32_t(60 + rng() % 2), rdata};
      switch (rng() % 4) {
        case 0:
        case 1: {
          const Node* n = fast.find(name_key(owner));
          const bool alive_after =
              n && n->find(type) && (n->rrsets.size() > 1 || n->children > 0);
          (alive_after ? in_place : two_step)++;
          fast.replace_rrset(r);
          slow.remove_rrset(r.owner, r.type);
          slow.add(r);
          break;
        }
        case 2:
          BOOST_REQUIRE_EQUAL(fast.add(r), slow.add(r));
          break;
        default:
          BOOST_REQUIRE_EQUAL(fast.remove_record(r), slow.remove_record(r));
          break;
      }
    }
    ZonePtr a = fast.finish(), b = slow.finish();
    BOOST_REQUIRE(a->records() == b->records());   // includes each owner's spelling
    BOOST_REQUIRE_EQUAL(a->node_count(), b->node_count());
    BOOST_REQUIRE_EQUAL(a->record_count(), b->record_count());
    BOOST_REQUIRE(zone->records() == before);   // the base snapshot never changes
    zone = (round % 2) ? a : b;
  }
  BOOST_TEST_MESSAGE("replace_rrset: " << in_place << " in place, " << two_step << " two-step");
  BOOST_CHECK_GT(in_place, 50);
  BOOST_CHECK_GT(two_step, 50);
}

BOOST_AUTO_TEST_CASE(serial_bump_changes_only_the_new_version) {
  std::vector<ZonePtr> versions{base_zone()};
  for (uint32_t i = 0; i < 50; ++i) {
    std::string owner_text = "h";   // += rather than "h" + ...: GCC 12 -Wrestrict misfires
    owner_text += std::to_string(i);
    owner_text += ".example.test.";
    Update u;
    u.zone = wire("example.test.");
    u.updates.push_back(UpdateOp{
        UpdateKind::add, Record{wire(owner_text), rrtype::A,
                                rrclass::IN, 300, std::string{10, 0, 0, char(i)}}});
    const UpdateResult r = apply_update(versions.back(), u);
    BOOST_REQUIRE(r.changed);
    BOOST_REQUIRE_EQUAL(r.rcode, rcode::NOERROR);
    versions.push_back(r.zone);
  }
  // Every version still has its own serial and record count, and only its own names.
  for (std::size_t v = 0; v < versions.size(); ++v) {
    BOOST_CHECK_EQUAL(versions[v]->serial(), 7u + v);
    BOOST_CHECK_EQUAL(versions[v]->record_count(), 2u + v);
    BOOST_CHECK_EQUAL(versions[v]->soa().count, 1u);
    const bool has_last = versions[v]->find(name_key(wire("h49.example.test."))) != nullptr;
    BOOST_CHECK_EQUAL(has_last, v == versions.size() - 1);
  }
}
