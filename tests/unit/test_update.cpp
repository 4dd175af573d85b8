// RFC 2136 UPDATE: parsing (dns/update.hpp), the log encoding, and apply_update
// (dns/update_apply.hpp): prerequisites, update rules, serial handling, atomicity.
#define BOOST_TEST_MODULE test_update
#include <boost/test/unit_test.hpp>

#include <random>
#include <string>
#include <vector>

#include "dns/query_parser.hpp"
#include "dns/serial.hpp"
#include "dns/update.hpp"
#include "dns/update_apply.hpp"
#include "dns/zone.hpp"
#include "tests/unit/update_messages.hpp"

using namespace vrdns::dns;
using namespace update_test;

namespace {

const std::string zone_name = "example.test.";

struct Fixture {
  ZoneSet zones = test_zones();
  ZonePtr zone = zones.zones[0];

  /// Builds the message, parses it (must succeed), checks the log encoding round trip,
  /// then applies it to `zone`.
  UpdateResult run(const std::vector<Record>& prereqs, const std::vector<Record>& updates) {
    Update u;
    const uint8_t rc = parse(message(zone_name, prereqs, updates), zones, u);
    BOOST_REQUIRE_EQUAL(int(rc), int(rcode::NOERROR));
    Update back;
    BOOST_REQUIRE(decode(encode(u), back));
    BOOST_REQUIRE(back == u);
    return apply_update(zone, u);
  }

  /// Like run, and on success makes the result the current zone.
  UpdateResult commit(const std::vector<Record>& prereqs, const std::vector<Record>& updates) {
    UpdateResult r = run(prereqs, updates);
    BOOST_REQUIRE(r.zone);
    zone = r.zone;
    zones.zones[0] = zone;
    return r;
  }

  uint8_t parse_rc(const std::string& msg) {
    Update u;
    return parse(msg, zones, u);
  }
};

const Node* node(const ZonePtr& z, const std::string& name) { return z->find(name_key(wire(name))); }

const RRset* rrset(const ZonePtr& z, const std::string& name, uint16_t type) {
  const Node* n = node(z, name);
  return n ? n->find(type) : nullptr;
}

/// Asserts the update failed/was a no-op: same snapshot, same records, same serial.
void check_unchanged(const UpdateResult& r, const ZonePtr& before) {
  BOOST_CHECK(!r.changed);
  BOOST_CHECK(r.zone == before);
  BOOST_CHECK(r.zone->records() == before->records());
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Parsing

BOOST_FIXTURE_TEST_CASE(parse_classifies_what_nsupdate_sends, Fixture) {
  // prereq nxdomain new / prereq yxdomain www / prereq yxrrset www A / prereq nxrrset www MX /
  // prereq yxrrset www A 192.0.2.10 ; update add / delete name TYPE / delete name /
  // delete name A rdata.
  const std::vector<Record> pre = {
      bare("new.example.test.", rrtype::ANY, rrclass::NONE),
      bare("www.example.test.", rrtype::ANY, rrclass::ANY),
      bare("www.example.test.", rrtype::A, rrclass::ANY),
      bare("www.example.test.", rrtype::MX, rrclass::NONE),
      as(rec("www.example.test. IN A 192.0.2.10"), rrclass::IN, 0)};
  const std::vector<Record> upd = {
      rec("new.example.test. 60 IN A 192.0.2.20"),
      bare("www.example.test.", rrtype::A, rrclass::ANY),
      bare("alias.example.test.", rrtype::ANY, rrclass::ANY),
      as(rec("ns1.example.test. IN A 192.0.2.1"), rrclass::NONE)};
  Update u;
  const std::string key = wire("tsig-key.");
  BOOST_REQUIRE_EQUAL(int(parse(message("Example.TEST.", pre, upd), zones, u, key)),
                      int(rcode::NOERROR));
  BOOST_CHECK(u.zone == wire("example.test."));   // key form
  BOOST_CHECK(u.key_name == key);
  BOOST_REQUIRE_EQUAL(u.prerequisites.size(), 5u);
  BOOST_CHECK((u.prerequisites[0].kind == PrereqKind::name_not_in_use));
  BOOST_CHECK((u.prerequisites[1].kind == PrereqKind::name_in_use));
  BOOST_CHECK((u.prerequisites[2].kind == PrereqKind::rrset_exists));
  BOOST_CHECK((u.prerequisites[3].kind == PrereqKind::rrset_absent));
  BOOST_CHECK((u.prerequisites[4].kind == PrereqKind::rrset_exists_value));
  BOOST_REQUIRE_EQUAL(u.updates.size(), 4u);
  BOOST_CHECK((u.updates[0].kind == UpdateKind::add));
  // Decompressed by ldns. Name compression is case-insensitive, so the owner's suffix takes
  // the case of the zone name it points to (as with any real client): compare names as DNS
  // does.
  BOOST_CHECK(name_equal(u.updates[0].rr.owner, upd[0].owner));
  BOOST_CHECK(u.updates[0].rr.owner.substr(0, 4) == std::string("\3new"));
  BOOST_CHECK(u.updates[0].rr.rdata == upd[0].rdata);
  BOOST_CHECK_EQUAL(u.updates[0].rr.ttl, 60u);
  BOOST_CHECK((u.updates[1].kind == UpdateKind::delete_rrset));
  BOOST_CHECK((u.updates[2].kind == UpdateKind::delete_name));
  BOOST_CHECK((u.updates[3].kind == UpdateKind::delete_record));
  BOOST_CHECK(u.updates[3].rr.rdata == std::string("\xc0\x00\x02\x01", 4));
}

BOOST_FIXTURE_TEST_CASE(real_nsupdate_message, Fixture) {
  // Captured from BIND 9.18 nsupdate (Debian 12) sending to a 127.0.0.1 UDP socket:
  //   zone example.test.
  //   prereq nxdomain new.example.test.
  //   prereq yxrrset www.example.test. A
  //   prereq yxrrset alias.example.test. CNAME www.example.test.
  //   prereq nxrrset www.example.test. MX
  //   prereq yxdomain ns1.example.test.
  //   update add new.example.test. 60 A 192.0.2.20
  //   update delete www.example.test. A 192.0.2.10
  //   update delete alias.example.test. CNAME
  //   update delete leaf.ent.example.test.
  // Note the compression pointers, also inside the CNAME RDATA of the prerequisite.
  const char* const hex =
      "67b928000001000500040000076578616d706c6504746573740000060001036e6577c00c00ff00fe000000"
      "00000003777777c00c000100ff00000000000005616c696173c00c00050001000000000002c02ec02e000f"
      "00fe000000000000036e7331c00c00ff00ff000000000000c01e000100010000003c0004c0000214c02e00"
      "0100fe000000000004c000020ac03e000500ff000000000000046c65616603656e74076578616d706c6504"
      "746573740000ff00ff000000000000";
  std::string msg;
  for (const char* p = hex; p[0] && p[1]; p += 2) msg += char(std::stoi(std::string(p, 2), nullptr, 16));
  Update u;
  BOOST_REQUIRE_EQUAL(int(parse(msg, zones, u)), 0);
  BOOST_REQUIRE_EQUAL(u.prerequisites.size(), 5u);
  BOOST_CHECK((u.prerequisites[0].kind == PrereqKind::name_not_in_use));
  BOOST_CHECK((u.prerequisites[1].kind == PrereqKind::rrset_exists));
  BOOST_CHECK((u.prerequisites[2].kind == PrereqKind::rrset_exists_value));
  BOOST_CHECK(u.prerequisites[2].rr.rdata == wire("www.example.test."));   // decompressed
  BOOST_CHECK((u.prerequisites[3].kind == PrereqKind::rrset_absent));
  BOOST_CHECK((u.prerequisites[4].kind == PrereqKind::name_in_use));
  BOOST_REQUIRE_EQUAL(u.updates.size(), 4u);
  BOOST_CHECK((u.updates[0].kind == UpdateKind::add));
  BOOST_CHECK((u.updates[1].kind == UpdateKind::delete_record));
  BOOST_CHECK((u.updates[2].kind == UpdateKind::delete_rrset));
  BOOST_CHECK((u.updates[3].kind == UpdateKind::delete_name));

  const UpdateResult r = apply_update(zone, u);
  BOOST_CHECK_EQUAL(int(r.rcode), 0);
  BOOST_REQUIRE(r.changed);
  BOOST_CHECK(rrset(r.zone, "new.example.test.", rrtype::A) != nullptr);
  BOOST_CHECK_EQUAL(rrset(r.zone, "www.example.test.", rrtype::A)->count, 1u);
  BOOST_CHECK(node(r.zone, "alias.example.test.") == nullptr);
  BOOST_CHECK(node(r.zone, "leaf.ent.example.test.") == nullptr);
  BOOST_CHECK_EQUAL(r.zone->serial(), 101u);
  // Sent again to the new zone, the nxdomain prerequisite fails.
  BOOST_CHECK_EQUAL(int(apply_update(r.zone, u).rcode), int(rcode::YXDOMAIN));
}

BOOST_FIXTURE_TEST_CASE(parse_notauth_for_zones_not_served, Fixture) {
  const std::vector<Record> upd = {rec("www.nosuch.test. IN A 192.0.2.1")};
  BOOST_CHECK_EQUAL(int(parse_rc(message("nosuch.test.", {}, upd))), int(rcode::NOTAUTH));
  // A name inside a served zone is not a zone apex.
  const std::vector<Record> upd2 = {rec("a.www.example.test. IN A 192.0.2.1")};
  BOOST_CHECK_EQUAL(int(parse_rc(message("www.example.test.", {}, upd2))), int(rcode::NOTAUTH));
  // Right name, wrong class.
  const std::vector<Record> upd3 = {rec("www.example.test. IN A 192.0.2.1")};
  BOOST_CHECK_EQUAL(int(parse_rc(message(zone_name, {}, upd3, 1, rrclass::CH))),
                    int(rcode::NOTAUTH));
  BOOST_CHECK_EQUAL(int(parse_rc(message(zone_name, {}, upd3))), int(rcode::NOERROR));
}

BOOST_FIXTURE_TEST_CASE(parse_notzone_for_names_outside_the_zone, Fixture) {
  // other.test is served too, but not the zone this UPDATE names.
  BOOST_CHECK_EQUAL(int(parse_rc(message(zone_name, {},
                                         {rec("www.other.test. IN A 192.0.2.1")}))),
                    int(rcode::NOTZONE));
  BOOST_CHECK_EQUAL(
      int(parse_rc(message(zone_name, {bare("www.other.test.", rrtype::ANY, rrclass::ANY)}, {}))),
      int(rcode::NOTZONE));
  BOOST_CHECK_EQUAL(int(parse_rc(message(zone_name, {}, {rec("test. IN A 192.0.2.1")}))),
                    int(rcode::NOTZONE));
  // A suffix that is not label-aligned is outside too.
  BOOST_CHECK_EQUAL(int(parse_rc(message(zone_name, {}, {rec("xexample.test. IN A 192.0.2.1")}))),
                    int(rcode::NOTZONE));
}

BOOST_FIXTURE_TEST_CASE(parse_formerr_for_class_ttl_rdata_rules, Fixture) {
  const Record a = rec("www.example.test. IN A 192.0.2.1");
  struct Case {
    const char* what;
    std::vector<Record> pre, upd;
  };
  const std::vector<Case> cases = {
      {"prereq TTL not 0", {as(a, rrclass::ANY, 5)}, {}},
      {"prereq ANY with RDATA", {as(a, rrclass::ANY)}, {}},
      {"prereq NONE with RDATA", {as(a, rrclass::NONE)}, {}},
      {"prereq zone class with TTL", {as(a, rrclass::IN, 300)}, {}},
      {"prereq zone class type ANY", {Record{wire("www.example.test."), rrtype::ANY, rrclass::IN, 0, {}}}, {}},
      {"prereq class CH", {bare("www.example.test.", rrtype::A, rrclass::CH)}, {}},
      {"prereq type AXFR", {bare("www.example.test.", rrtype::AXFR, rrclass::ANY)}, {}},
      {"update ANY with TTL", {}, {as(Record{a.owner, rrtype::A, 0, 0, {}}, rrclass::ANY, 60)}},
      {"update ANY with RDATA", {}, {as(a, rrclass::ANY)}},
      {"update NONE with TTL", {}, {as(a, rrclass::NONE, 60)}},
      {"update NONE type ANY", {}, {bare("www.example.test.", rrtype::ANY, rrclass::NONE)}},
      {"update add type ANY", {}, {Record{a.owner, rrtype::ANY, rrclass::IN, 60, {}}}},
      {"update add type AXFR", {}, {Record{a.owner, rrtype::AXFR, rrclass::IN, 60, {}}}},
      {"update add type TSIG", {}, {Record{a.owner, rrtype::TSIG, rrclass::IN, 60, {}}}},
      {"update ANY type MAILA", {}, {bare("www.example.test.", 254, rrclass::ANY)}},
      {"update add A without RDATA", {}, {Record{a.owner, rrtype::A, rrclass::IN, 60, {}}}},
      {"update class CH", {}, {as(a, rrclass::CH, 60)}},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      BOOST_CHECK_EQUAL(int(parse_rc(message(zone_name, c.pre, c.upd))), int(rcode::FORMERR));
    }
  }
}

BOOST_FIXTURE_TEST_CASE(parse_formerr_for_malformed_messages, Fixture) {
  const std::string good = message(zone_name, {}, {rec("www.example.test. IN A 192.0.2.1")});
  BOOST_REQUIRE_EQUAL(int(parse_rc(good)), int(rcode::NOERROR));
  // Every truncation.
  for (std::size_t n = 0; n < good.size(); ++n)
    BOOST_CHECK_EQUAL(int(parse_rc(good.substr(0, n))), int(rcode::FORMERR));
  // QR set (a response), or opcode QUERY.
  std::string qr = good;
  qr[2] = char(uint8_t(qr[2]) | 0x80);
  BOOST_CHECK_EQUAL(int(parse_rc(qr)), int(rcode::FORMERR));
  std::string query = good;
  query[2] = char(uint8_t(query[2]) & ~0x78);
  BOOST_CHECK_EQUAL(int(parse_rc(query)), int(rcode::FORMERR));

  // Raw bytes: header with ZOCOUNT 0, and with ZOCOUNT 2.
  const std::string apex = wire(zone_name);
  auto header = [](uint16_t zo) {
    std::string h = {'\x12', '\x34', '\x28', '\x00', char(zo >> 8), char(zo & 0xFF),
                     0, 0, 0, 0, 0, 0};
    return h;
  };
  const std::string zrr = apex + std::string("\x00\x06\x00\x01", 4);
  BOOST_CHECK_EQUAL(int(parse_rc(header(0))), int(rcode::FORMERR));
  BOOST_CHECK_EQUAL(int(parse_rc(header(1) + zrr)), int(rcode::NOERROR));   // empty update
  BOOST_CHECK_EQUAL(int(parse_rc(header(2) + zrr + zrr)), int(rcode::FORMERR));
  // Zone type not SOA.
  BOOST_CHECK_EQUAL(int(parse_rc(header(1) + apex + std::string("\x00\x01\x00\x01", 4))),
                    int(rcode::FORMERR));
}

// ---------------------------------------------------------------------------------------
// Log encoding

BOOST_FIXTURE_TEST_CASE(encode_decode_round_trip_and_garbage, Fixture) {
  Update u;
  const std::vector<Record> pre = {bare("www.example.test.", rrtype::ANY, rrclass::ANY),
                                   as(rec("www.example.test. IN A 192.0.2.10"), rrclass::IN)};
  const std::vector<Record> upd = {rec("New.Example.test. 60 IN TXT \"a\" \"b\""),
                                   bare("www.example.test.", rrtype::A, rrclass::ANY),
                                   as(rec("ns1.example.test. IN A 192.0.2.1"), rrclass::NONE)};
  BOOST_REQUIRE_EQUAL(int(parse(message(zone_name, pre, upd), zones, u, wire("k."))), 0);
  const std::string bytes = encode(u);
  Update back;
  BOOST_REQUIRE(decode(bytes, back));
  BOOST_CHECK(back == u);
  BOOST_CHECK(encode(back) == bytes);   // deterministic
  BOOST_CHECK(back.updates[0].rr.owner.substr(0, 4) == std::string("\3New"));   // case kept

  // Every truncation, and trailing garbage, is rejected.
  for (std::size_t n = 0; n < bytes.size(); ++n) BOOST_CHECK(!decode(bytes.substr(0, n), back));
  BOOST_CHECK(!decode(bytes + '\0', back));

  // Random corruption never crashes; whatever decode accepts is canonical (re-encodes to
  // the same bytes) and obeys the classification rules again.
  std::mt19937 rng(2136);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string b = bytes;
    const int flips = 1 + int(rng() % 4);
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] = char(rng());
    if (rng() % 4 == 0) b.resize(rng() % (b.size() + 1));
    Update d;
    if (decode(b, d)) {
      ++accepted;
      BOOST_CHECK(encode(d) == b);
      for (const Prerequisite& p : d.prerequisites) {
        PrereqKind k;
        BOOST_CHECK_EQUAL(int(classify_prerequisite(p.rr, d.zone, k)), 0);
        BOOST_CHECK((k == p.kind));
      }
    }
  }
  BOOST_TEST_MESSAGE("random corruptions accepted: " << accepted);
  // Pure garbage.
  for (int i = 0; i < 20000; ++i) {
    std::string b(rng() % 64, '\0');
    for (char& c : b) c = char(rng());
    Update d;
    if (decode(b, d)) BOOST_CHECK(encode(d) == b);
  }
}

// ---------------------------------------------------------------------------------------
// Prerequisites (RFC 2136 §3.2)

BOOST_FIXTURE_TEST_CASE(prerequisite_name_in_use, Fixture) {
  const auto add = std::vector<Record>{rec("new.example.test. IN A 192.0.2.9")};
  BOOST_CHECK_EQUAL(int(run({bare("www.example.test.", rrtype::ANY, rrclass::ANY)}, add).rcode), 0);
  check_unchanged(run({bare("nosuch.example.test.", rrtype::ANY, rrclass::ANY)}, add), zone);
  BOOST_CHECK_EQUAL(int(run({bare("nosuch.example.test.", rrtype::ANY, rrclass::ANY)}, add).rcode),
                    int(rcode::NXDOMAIN));
  // An empty non-terminal owns no RRs: not "in use".
  BOOST_REQUIRE(node(zone, "ent.example.test.") != nullptr);
  BOOST_CHECK_EQUAL(int(run({bare("ent.example.test.", rrtype::ANY, rrclass::ANY)}, add).rcode),
                    int(rcode::NXDOMAIN));
}

BOOST_FIXTURE_TEST_CASE(prerequisite_name_not_in_use, Fixture) {
  const auto add = std::vector<Record>{rec("new.example.test. IN A 192.0.2.9")};
  BOOST_CHECK_EQUAL(int(run({bare("new.example.test.", rrtype::ANY, rrclass::NONE)}, add).rcode), 0);
  BOOST_CHECK_EQUAL(int(run({bare("ent.example.test.", rrtype::ANY, rrclass::NONE)}, add).rcode), 0);
  const UpdateResult r = run({bare("www.example.test.", rrtype::ANY, rrclass::NONE)}, add);
  BOOST_CHECK_EQUAL(int(r.rcode), int(rcode::YXDOMAIN));
  check_unchanged(r, zone);
}

BOOST_FIXTURE_TEST_CASE(prerequisite_rrset_exists, Fixture) {
  const auto add = std::vector<Record>{rec("new.example.test. IN A 192.0.2.9")};
  BOOST_CHECK_EQUAL(int(run({bare("www.example.test.", rrtype::A, rrclass::ANY)}, add).rcode), 0);
  const UpdateResult r = run({bare("www.example.test.", rrtype::MX, rrclass::ANY)}, add);
  BOOST_CHECK_EQUAL(int(r.rcode), int(rcode::NXRRSET));
  check_unchanged(r, zone);
  BOOST_CHECK_EQUAL(int(run({bare("nosuch.example.test.", rrtype::A, rrclass::ANY)}, add).rcode),
                    int(rcode::NXRRSET));
}

BOOST_FIXTURE_TEST_CASE(prerequisite_rrset_absent, Fixture) {
  const auto add = std::vector<Record>{rec("new.example.test. IN A 192.0.2.9")};
  BOOST_CHECK_EQUAL(int(run({bare("www.example.test.", rrtype::MX, rrclass::NONE)}, add).rcode), 0);
  BOOST_CHECK_EQUAL(int(run({bare("nosuch.example.test.", rrtype::A, rrclass::NONE)}, add).rcode), 0);
  const UpdateResult r = run({bare("www.example.test.", rrtype::A, rrclass::NONE)}, add);
  BOOST_CHECK_EQUAL(int(r.rcode), int(rcode::YXRRSET));
  check_unchanged(r, zone);
}

BOOST_FIXTURE_TEST_CASE(prerequisite_rrset_value_compares_sets, Fixture) {
  const auto add = std::vector<Record>{rec("new.example.test. IN A 192.0.2.9")};
  const Record a10 = as(rec("www.example.test. IN A 192.0.2.10"), rrclass::IN);
  const Record a11 = as(rec("www.example.test. IN A 192.0.2.11"), rrclass::IN);
  const Record a12 = as(rec("www.example.test. IN A 192.0.2.12"), rrclass::IN);
  // Order and duplicates do not matter.
  BOOST_CHECK_EQUAL(int(run({a11, a10}, add).rcode), 0);
  BOOST_CHECK_EQUAL(int(run({a10, a11, a10}, add).rcode), 0);
  // A subset or a superset is not equal.
  BOOST_CHECK_EQUAL(int(run({a10}, add).rcode), int(rcode::NXRRSET));
  BOOST_CHECK_EQUAL(int(run({a10, a11, a12}, add).rcode), int(rcode::NXRRSET));
  check_unchanged(run({a10}, add), zone);
  // Missing RRset.
  BOOST_CHECK_EQUAL(int(run({as(rec("www.example.test. IN MX 1 mail.example.test."), rrclass::IN)},
                            add).rcode),
                    int(rcode::NXRRSET));
  // Names inside RDATA compare case-insensitively.
  BOOST_CHECK_EQUAL(int(run({as(rec("alias.example.test. IN CNAME WWW.Example.TEST."), rrclass::IN)},
                            add).rcode),
                    0);
}

BOOST_FIXTURE_TEST_CASE(prerequisites_first_failure_decides, Fixture) {
  const auto add = std::vector<Record>{rec("new.example.test. IN A 192.0.2.9")};
  // Value-independent ones in message order...
  BOOST_CHECK_EQUAL(int(run({bare("www.example.test.", rrtype::ANY, rrclass::NONE),
                             bare("nosuch.example.test.", rrtype::A, rrclass::ANY)},
                            add).rcode),
                    int(rcode::YXDOMAIN));
  BOOST_CHECK_EQUAL(int(run({bare("nosuch.example.test.", rrtype::A, rrclass::ANY),
                             bare("www.example.test.", rrtype::ANY, rrclass::NONE)},
                            add).rcode),
                    int(rcode::NXRRSET));
  // ...and value-dependent ones after all of them (§3.2.3).
  BOOST_CHECK_EQUAL(int(run({as(rec("www.example.test. IN A 192.0.2.99"), rrclass::IN),
                             bare("www.example.test.", rrtype::A, rrclass::NONE)},
                            add).rcode),
                    int(rcode::YXRRSET));
}

// ---------------------------------------------------------------------------------------
// Updates (RFC 2136 §3.4.2)

BOOST_FIXTURE_TEST_CASE(add_creates_extends_and_is_idempotent, Fixture) {
  const ZonePtr before = zone;
  UpdateResult r = commit({}, {rec("new.deep.example.test. 60 IN A 192.0.2.20")});
  BOOST_CHECK_EQUAL(int(r.rcode), 0);
  BOOST_CHECK(r.changed);
  BOOST_REQUIRE(rrset(zone, "new.deep.example.test.", rrtype::A));
  BOOST_CHECK(node(zone, "deep.example.test.")->is_empty_nonterminal());
  BOOST_CHECK_EQUAL(zone->serial(), 101u);
  BOOST_CHECK_EQUAL(zone->record_count(), before->record_count() + 1);

  r = commit({}, {rec("www.example.test. 300 IN A 192.0.2.12")});
  BOOST_CHECK_EQUAL(rrset(zone, "www.example.test.", rrtype::A)->count, 3u);
  BOOST_CHECK_EQUAL(zone->serial(), 102u);

  // The same record again: nothing changes, the serial stays.
  const ZonePtr z2 = zone;
  r = run({}, {rec("www.example.test. 300 IN A 192.0.2.12")});
  BOOST_CHECK_EQUAL(int(r.rcode), 0);
  check_unchanged(r, z2);
  BOOST_CHECK_EQUAL(r.zone->serial(), 102u);

  // Same record, new TTL: the RRset's TTL changes (RFC 2136 §3.4.2.2 replaces duplicates).
  r = commit({}, {rec("www.example.test. 60 IN A 192.0.2.12")});
  BOOST_CHECK(r.changed);
  BOOST_CHECK_EQUAL(rrset(zone, "www.example.test.", rrtype::A)->ttl, 60u);
}

BOOST_FIXTURE_TEST_CASE(delete_rrset_name_and_record, Fixture) {
  UpdateResult r = commit({}, {bare("www.example.test.", rrtype::A, rrclass::ANY)});
  BOOST_CHECK(r.changed);
  BOOST_CHECK(node(zone, "www.example.test.") == nullptr);
  BOOST_CHECK_EQUAL(zone->serial(), 101u);

  r = commit({}, {as(rec("ns2.example.test. IN A 192.0.2.2"), rrclass::NONE)});
  BOOST_CHECK(r.changed);
  BOOST_CHECK(node(zone, "ns2.example.test.") == nullptr);

  r = commit({}, {bare("leaf.ent.example.test.", rrtype::ANY, rrclass::ANY)});
  BOOST_CHECK(r.changed);
  BOOST_CHECK(node(zone, "leaf.ent.example.test.") == nullptr);
  BOOST_CHECK(node(zone, "ent.example.test.") == nullptr);   // the ENT went with it

  // Deleting what is not there: no change, serial kept.
  const ZonePtr z = zone;
  r = run({}, {bare("www.example.test.", rrtype::A, rrclass::ANY),
               bare("nosuch.example.test.", rrtype::ANY, rrclass::ANY),
               as(rec("ns1.example.test. IN A 192.0.2.77"), rrclass::NONE)});
  BOOST_CHECK_EQUAL(int(r.rcode), 0);
  check_unchanged(r, z);

  // A delegation's NS can be deleted entirely (only the apex NS is protected).
  r = commit({}, {as(rec("sub.example.test. IN NS ns.sub.example.test."), rrclass::NONE)});
  BOOST_CHECK(r.changed);
  BOOST_CHECK(rrset(zone, "sub.example.test.", rrtype::NS) == nullptr);
}

BOOST_FIXTURE_TEST_CASE(updates_apply_in_order, Fixture) {
  // Delete then add: the add survives. Add then delete: gone, and no net change.
  UpdateResult r = commit({}, {bare("www.example.test.", rrtype::A, rrclass::ANY),
                               rec("www.example.test. IN A 192.0.2.50")});
  BOOST_REQUIRE(rrset(zone, "www.example.test.", rrtype::A));
  BOOST_CHECK_EQUAL(rrset(zone, "www.example.test.", rrtype::A)->count, 1u);
  const ZonePtr z = zone;
  r = run({}, {rec("tmp.example.test. IN A 192.0.2.51"),
               as(rec("tmp.example.test. IN A 192.0.2.51"), rrclass::NONE)});
  BOOST_CHECK_EQUAL(int(r.rcode), 0);
  check_unchanged(r, z);
  BOOST_CHECK_EQUAL(r.zone->serial(), z->serial());
}

BOOST_FIXTURE_TEST_CASE(apex_soa_and_ns_are_protected, Fixture) {
  const ZonePtr z = zone;
  // Deleting the SOA (RRset or record) or the apex NS RRset is ignored.
  UpdateResult r = run({}, {bare(zone_name, rrtype::SOA, rrclass::ANY),
                            bare(zone_name, rrtype::NS, rrclass::ANY),
                            as(Record{wire(zone_name), rrtype::SOA, rrclass::IN, 0,
                                      z->records()[0].rdata},
                               rrclass::NONE)});
  BOOST_CHECK_EQUAL(int(r.rcode), 0);
  check_unchanged(r, z);

  // Deleting the apex name removes everything but SOA and NS.
  r = commit({}, {bare(zone_name, rrtype::ANY, rrclass::ANY)});
  BOOST_CHECK(r.changed);
  BOOST_CHECK(rrset(zone, zone_name, rrtype::MX) == nullptr);
  BOOST_CHECK(rrset(zone, zone_name, rrtype::SOA) != nullptr);
  BOOST_REQUIRE(rrset(zone, zone_name, rrtype::NS) != nullptr);
  BOOST_CHECK_EQUAL(rrset(zone, zone_name, rrtype::NS)->count, 2u);

  // Deleting both apex NS records one by one keeps the last one.
  r = commit({}, {as(rec("example.test. IN NS ns1.example.test."), rrclass::NONE),
                  as(rec("example.test. IN NS ns2.example.test."), rrclass::NONE)});
  BOOST_CHECK(r.changed);
  BOOST_REQUIRE(rrset(zone, zone_name, rrtype::NS) != nullptr);
  BOOST_CHECK_EQUAL(rrset(zone, zone_name, rrtype::NS)->count, 1u);
  validate_zone(*zone, "after update");   // still a servable zone
}

BOOST_FIXTURE_TEST_CASE(soa_add_replaces_only_with_newer_serial, Fixture) {
  const ZonePtr z = zone;
  const auto soa = [](uint32_t serial) {
    return rec("example.test. 600 IN SOA ns1.example.test. admin.example.test. " +
               std::to_string(serial) + " 1 2 3 4");
  };
  // Older and equal serials are ignored (RFC 2136 §3.4.2.2).
  check_unchanged(run({}, {soa(99)}), z);
  check_unchanged(run({}, {soa(100)}), z);
  // An SOA elsewhere than the apex is ignored.
  check_unchanged(run({}, {rec("www.example.test. IN SOA a.test. b.test. 500 1 2 3 4")}), z);

  // Newer: replaces, and the serial is the one given (no extra increment).
  UpdateResult r = commit({}, {soa(200), rec("x.example.test. IN A 192.0.2.1")});
  BOOST_CHECK(r.changed);
  BOOST_CHECK_EQUAL(zone->serial(), 200u);
  BOOST_CHECK_EQUAL(zone->soa().ttl, 600u);
  BOOST_CHECK_EQUAL(zone->soa().count, 1u);

  // RFC 1982, not integer order: 200 + 2^31 + 65 is numerically larger but *older*.
  check_unchanged(run({}, {soa(200u + 0x80000041u)}), zone);
  // Exactly 2^31 apart is undefined: not treated as newer.
  check_unchanged(run({}, {soa(200u + 0x80000000u)}), zone);
  // Walk up past the wrap: 200 -> 0x70000000 -> 0xE0000000 -> 5 (numerically smaller,
  // yet newer).
  r = commit({}, {soa(0x70000000u)});
  BOOST_CHECK_EQUAL(zone->serial(), 0x70000000u);
  r = commit({}, {soa(0xE0000000u)});
  BOOST_CHECK_EQUAL(zone->serial(), 0xE0000000u);
  r = commit({}, {soa(5)});
  BOOST_CHECK(r.changed);
  BOOST_CHECK_EQUAL(zone->serial(), 5u);
}

BOOST_FIXTURE_TEST_CASE(cname_and_other_data_never_meet, Fixture) {
  const ZonePtr z = zone;
  // CNAME onto a name with other data: ignored. Other data onto a CNAME: ignored.
  check_unchanged(run({}, {rec("www.example.test. IN CNAME ns1.example.test.")}), z);
  check_unchanged(run({}, {rec("alias.example.test. IN A 192.0.2.1")}), z);
  check_unchanged(run({}, {rec("example.test. IN CNAME www.example.test.")}), z);
  // CNAME onto a CNAME replaces it (one CNAME per name).
  UpdateResult r = commit({}, {rec("alias.example.test. IN CNAME ns1.example.test.")});
  BOOST_CHECK(r.changed);
  const RRset* c = rrset(zone, "alias.example.test.", rrtype::CNAME);
  BOOST_REQUIRE(c);
  BOOST_CHECK_EQUAL(c->count, 1u);
  // New CNAME at a fresh name, then nothing else may join it.
  r = commit({}, {rec("fresh.example.test. IN CNAME www.example.test."),
                  rec("fresh.example.test. IN TXT \"no\"")});
  BOOST_REQUIRE(rrset(zone, "fresh.example.test.", rrtype::CNAME));
  BOOST_CHECK(rrset(zone, "fresh.example.test.", rrtype::TXT) == nullptr);
  validate_zone(*zone, "after update");
}

// ---------------------------------------------------------------------------------------
// Serial, atomicity, persistence

// Each SOA add is judged against the SOA the UPDATE has made so far, and RFC 1982 order is not
// transitive: a chain of ever newer SOAs can end behind, or exactly at, the serial the zone
// had. A change must still leave a newer serial (found in review of the UPDATE fuzzer).
BOOST_FIXTURE_TEST_CASE(a_chain_of_soa_adds_never_takes_the_serial_back, Fixture) {
  const auto soa = [](uint32_t serial) {
    return rec("example.test. 600 IN SOA ns1.example.test. admin.example.test. " +
               std::to_string(serial) + " 1 2 3 4");
  };
  BOOST_REQUIRE_EQUAL(zone->serial(), 100u);
  const ZonePtr start = zone;
  // 100 -> 100 + 2^31 - 1 -> 100 + 3 * 2^30: each step newer, the end older than 100.
  UpdateResult r = run({}, {soa(100u + 0x7FFFFFFFu), soa(100u + 0xC0000000u),
                            rec("x.example.test. IN A 192.0.2.1")});
  BOOST_CHECK(r.changed);
  BOOST_CHECK_EQUAL(r.zone->serial(), 101u);
  BOOST_CHECK_EQUAL(r.zone->soa().ttl, 600u);   // the rest of the SOA is the update's
  // 100 -> 100 + 2^31 - 1 -> 98 -> 100: back where it began, with other data changed.
  r = run({},
          {soa(100u + 0x7FFFFFFFu), soa(98u), soa(100u), rec("y.example.test. IN A 192.0.2.2")});
  BOOST_CHECK(r.changed);
  BOOST_CHECK_EQUAL(r.zone->serial(), 101u);
  // The same chains through an op batch's editor give the same serial.
  Update u;
  const std::string chain = message(zone_name, {},
                                    {soa(100u + 0x7FFFFFFFu), soa(98u), soa(100u),
                                     rec("y.example.test. IN A 192.0.2.2")});
  BOOST_REQUIRE_EQUAL(int(parse(chain, zones, u)), int(rcode::NOERROR));
  ZoneEditor ed(start);
  const EditResult e = apply_update(ed, u);
  BOOST_CHECK(e.changed);
  BOOST_CHECK_EQUAL(ed.finish()->serial(), 101u);
  // A chain that ends newer keeps its own serial.
  r = run({},
          {soa(100u + 0x40000000u), soa(100u + 0x70000000u), rec("z.example.test. IN A 192.0.2.3")});
  BOOST_CHECK_EQUAL(r.zone->serial(), 100u + 0x70000000u);
  // One that ends exactly 2^31 ahead (undefined in RFC 1982, so not newer) does not.
  r = run({},
          {soa(100u + 0x7FFFFFFFu), soa(100u + 0x80000000u), rec("z.example.test. IN A 192.0.2.3")});
  BOOST_CHECK_EQUAL(r.zone->serial(), 101u);
}

BOOST_AUTO_TEST_CASE(serial_arithmetic) {
  BOOST_CHECK(serial_less(0xFFFFFFFFu, 0));
  BOOST_CHECK(!serial_less(0, 0xFFFFFFFFu));
  BOOST_CHECK_EQUAL(serial_next(0xFFFFFFFFu), 0u);
  BOOST_CHECK(serial_less(0x7FFFFFFFu, 0x80000000u));
  BOOST_CHECK(!serial_less(0, 0x80000000u) && !serial_less(0x80000000u, 0));
}

BOOST_AUTO_TEST_CASE(serial_wraps_to_zero) {
  ZoneSet zs;
  zs.zones.push_back(load_zone_text(
      "@ 300 IN SOA ns1 hostmaster 4294967295 1 2 3 4\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.1\n",
      "wrap.test."));
  Update u;
  BOOST_REQUIRE_EQUAL(
      int(parse(message("wrap.test.", {}, {rec("a.wrap.test. IN A 192.0.2.2")}), zs, u)), 0);
  const UpdateResult r = apply_update(zs.zones[0], u);
  BOOST_CHECK(r.changed);
  BOOST_CHECK_EQUAL(r.zone->serial(), 0u);
  // The rest of the SOA is untouched.
  std::string before = zs.zones[0]->records()[0].rdata, after = r.zone->records()[0].rdata;
  BOOST_REQUIRE_EQUAL(before.size(), after.size());
  const std::size_t off = before.size() - 20;
  BOOST_CHECK(before.substr(0, off) == after.substr(0, off));
  BOOST_CHECK(before.substr(off + 4) == after.substr(off + 4));
  BOOST_CHECK(after.substr(off, 4) == std::string(4, '\0'));
}

BOOST_FIXTURE_TEST_CASE(failing_prerequisite_applies_nothing, Fixture) {
  const std::vector<Record> before = zone->records();
  const UpdateResult r = run({bare("www.example.test.", rrtype::A, rrclass::ANY),
                              bare("nosuch.example.test.", rrtype::ANY, rrclass::ANY)},
                             {rec("new.example.test. IN A 192.0.2.9"),
                              bare("www.example.test.", rrtype::ANY, rrclass::ANY)});
  BOOST_CHECK_EQUAL(int(r.rcode), int(rcode::NXDOMAIN));
  BOOST_CHECK(r.zone == zone);
  BOOST_CHECK(zone->records() == before);
}

BOOST_AUTO_TEST_CASE(error_midway_applies_nothing) {
  // A zone whose SOA RDATA is too short for a serial (ZoneEditor is mechanical and allows
  // it): the edits succeed, the serial increment at the end fails -> SERVFAIL, and the
  // edits already made must not leak out.
  ZoneEditor ed(wire("broken.test."));
  ed.add(Record{wire("broken.test."), rrtype::SOA, rrclass::IN, 300, std::string("\0\0\0\0", 4)});
  ed.add(rec("broken.test. 300 IN NS ns1.broken.test."));
  ed.add(rec("www.broken.test. 300 IN A 192.0.2.1"));
  const ZonePtr z = ed.finish();
  const std::vector<Record> before = z->records();
  ZoneSet zs;
  zs.zones.push_back(z);
  Update u;
  BOOST_REQUIRE_EQUAL(int(parse(message("broken.test.", {},
                                        {rec("new.broken.test. IN A 192.0.2.9"),
                                         bare("www.broken.test.", rrtype::ANY, rrclass::ANY)}),
                                zs, u)),
                      0);
  const UpdateResult r = apply_update(z, u);
  BOOST_CHECK_EQUAL(int(r.rcode), int(rcode::SERVFAIL));
  BOOST_CHECK(!r.changed);
  BOOST_CHECK(r.zone == z);
  BOOST_CHECK(z->records() == before);
  BOOST_CHECK(z->find(name_key(wire("new.broken.test."))) == nullptr);
}

BOOST_FIXTURE_TEST_CASE(old_snapshot_unchanged_after_apply, Fixture) {
  const ZonePtr old = zone;
  const std::vector<Record> before = old->records();
  const UpdateResult r = run({}, {rec("new.example.test. IN A 192.0.2.9"),
                                  bare("www.example.test.", rrtype::ANY, rrclass::ANY),
                                  rec("example.test. IN TXT \"apex\"")});
  BOOST_REQUIRE(r.changed);
  BOOST_CHECK(r.zone != old);
  BOOST_CHECK(old->records() == before);
  BOOST_CHECK_EQUAL(old->serial(), 100u);
  BOOST_CHECK(old->find(name_key(wire("new.example.test."))) == nullptr);
  BOOST_CHECK(old->find(name_key(wire("www.example.test."))) != nullptr);
  BOOST_CHECK_EQUAL(r.zone->serial(), 101u);
  BOOST_CHECK(r.zone->find(name_key(wire("www.example.test."))) == nullptr);
  // The new version differs from the old by exactly the change (plus the new SOA).
  BOOST_CHECK_EQUAL(r.zone->record_count(), before.size() + 1 - 2 + 1);
}

BOOST_FIXTURE_TEST_CASE(apply_rejects_update_for_another_zone, Fixture) {
  Update u;
  BOOST_REQUIRE_EQUAL(int(parse(message("other.test.", {}, {rec("x.other.test. IN A 192.0.2.1")}),
                                zones, u)),
                      0);
  const UpdateResult r = apply_update(zone, u);   // example.test, not other.test
  BOOST_CHECK_EQUAL(int(r.rcode), int(rcode::NOTAUTH));
  BOOST_CHECK(r.zone == zone);
}

BOOST_FIXTURE_TEST_CASE(same_update_same_result, Fixture) {
  // Determinism of the pure function: the same (snapshot, update) twice gives the same zone.
  const std::vector<Record> upd = {rec("a.example.test. IN A 192.0.2.1"),
                                   rec("b.example.test. IN MX 5 a.example.test."),
                                   as(rec("www.example.test. IN A 192.0.2.10"), rrclass::NONE)};
  const UpdateResult r1 = run({}, upd), r2 = run({}, upd);
  BOOST_CHECK(r1.zone != r2.zone);
  BOOST_CHECK(r1.zone->records() == r2.zone->records());
  BOOST_CHECK_EQUAL(r1.zone->node_count(), r2.zone->node_count());
}
