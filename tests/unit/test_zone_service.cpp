// ZoneService (dns/zone_service.hpp): the zones as a deterministic VR service. Execution of
// UpdateRequests, at-most-once per DNS client within the 60 s op-time window, determinism of
// results and snapshots, snapshot/restore.
#define BOOST_TEST_MODULE test_zone_service
#include <boost/test/unit_test.hpp>

#include <random>
#include <string>
#include <vector>

#include "dns/query_parser.hpp"
#include "dns/update.hpp"
#include "dns/update_request.hpp"
#include "dns/zone_service.hpp"
#include "tests/unit/update_messages.hpp"

using namespace vrdns::dns;
using namespace update_test;

namespace {

/// What the front end would submit for this UPDATE from client port `port`, DNS id `id`,
/// received at `time_ms`.
std::string request(const std::vector<Record>& prereqs, const std::vector<Record>& updates,
                    uint16_t id, uint64_t time_ms, uint16_t port = 5300,
                    const std::string& zone = "example.test.") {
  const std::string msg = message(zone, prereqs, updates, id);
  Update u;
  const ZoneSet zones = test_zones();
  BOOST_REQUIRE_EQUAL(int(parse(msg, zones, u)), int(rcode::NOERROR));
  UpdateRequest req;
  req.client.address = std::string("\x7f\x00\x00\x01", 4);
  req.client.port = port;
  req.client.dns_id = id;
  req.client.message_hash =
      request_hash(reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
  req.receive_time_ms = time_ms;
  req.update = encode(u);
  return encode(req);
}

/// A request with the same identity as `op` but another receive time (a retransmission
/// that reached a different front end, or arrived later).
std::string at_time(const std::string& op, uint64_t time_ms) {
  UpdateRequest req;
  BOOST_REQUIRE(decode(op, req));
  req.receive_time_ms = time_ms;
  return encode(req);
}

int rcode_of(const std::string& result) {
  UpdateReply r;
  BOOST_REQUIRE(decode(result, r));
  return r.rcode;
}

const Zone& example(const ZoneService& s) {
  const ZoneSetPtr zs = s.zones();
  const Zone* z = zs->find_zone(name_key(wire("example.test.")));
  BOOST_REQUIRE(z != nullptr);
  return *z;
}

bool has(const ZoneService& s, const std::string& name) {
  return example(s).find(name_key(wire(name))) != nullptr;
}

/// "Create new.example.test only if it does not exist yet": applying it twice gives
/// NOERROR then YXDOMAIN, so a repeated result proves it was not executed again.
std::vector<Record> create_pre() { return {bare("new.example.test.", rrtype::ANY, rrclass::NONE)}; }
std::vector<Record> create_upd() { return {rec("new.example.test. IN A 192.0.2.9")}; }

}  // namespace

BOOST_AUTO_TEST_CASE(request_and_reply_encoding) {
  const std::string op = request(create_pre(), create_upd(), 7, 1234);
  UpdateRequest req;
  BOOST_REQUIRE(decode(op, req));
  BOOST_CHECK_EQUAL(req.client.dns_id, 7u);
  BOOST_CHECK_EQUAL(req.receive_time_ms, 1234u);
  BOOST_CHECK(encode(req) == op);
  for (std::size_t n = 0; n < op.size(); ++n) BOOST_CHECK(!decode(op.substr(0, n), req));
  BOOST_CHECK(!decode(op + 'x', req));

  UpdateReply rep{rcode::NXRRSET}, back;
  BOOST_REQUIRE(decode(encode(rep), back));
  BOOST_CHECK(back == rep);
  BOOST_CHECK(!decode(std::string("\x01", 1), back));
  BOOST_CHECK(!decode(std::string("\x02\x00", 2), back));

  // FNV-1a 64 reference values: the hash must not depend on the machine or the run.
  BOOST_CHECK_EQUAL(request_hash(nullptr, 0), 0xcbf29ce484222325ull);
  BOOST_CHECK_EQUAL(request_hash(reinterpret_cast<const uint8_t*>("a"), 1), 0xaf63dc4c8601ec8cull);
}

BOOST_AUTO_TEST_CASE(execute_applies_and_publishes) {
  ZoneService s(test_zones());
  const ZoneSetPtr before = s.zones();
  const uint32_t serial = example(s).serial();
  BOOST_CHECK_EQUAL(rcode_of(s.execute(request(create_pre(), create_upd(), 1, 1000))), 0);
  BOOST_CHECK(has(s, "new.example.test."));
  BOOST_CHECK_EQUAL(example(s).serial(), serial + 1);
  // The set a reader still holds is the old one.
  BOOST_CHECK(before->find_zone(name_key(wire("example.test.")))
                  ->find(name_key(wire("new.example.test."))) == nullptr);
  // A failed update publishes nothing new.
  const ZoneSetPtr after = s.zones();
  BOOST_CHECK_EQUAL(rcode_of(s.execute(request(create_pre(), create_upd(), 2, 1001))),
                    int(rcode::YXDOMAIN));
  BOOST_CHECK(s.zones() == after);
  // The other zone is reachable too.
  BOOST_CHECK_EQUAL(rcode_of(s.execute(request({}, {rec("x.other.test. IN A 192.0.2.1")}, 3,
                                               1002, 5300, "other.test."))),
                    0);
  BOOST_CHECK(s.zones()->find_zone(name_key(wire("other.test.")))->find(
                  name_key(wire("x.other.test."))) != nullptr);
}

BOOST_AUTO_TEST_CASE(malformed_ops_change_nothing) {
  ZoneService s(test_zones());
  const std::string snap = s.snapshot();
  BOOST_CHECK_EQUAL(rcode_of(s.execute("")), int(rcode::SERVFAIL));
  BOOST_CHECK_EQUAL(rcode_of(s.execute("garbage")), int(rcode::SERVFAIL));
  BOOST_CHECK(s.snapshot() == snap);
  // A well-formed envelope around a bad Update: FORMERR, remembered for the client.
  UpdateRequest req;
  BOOST_REQUIRE(decode(request(create_pre(), create_upd(), 1, 1000), req));
  req.update = "not an update";
  BOOST_CHECK_EQUAL(rcode_of(s.execute(encode(req))), int(rcode::FORMERR));
  BOOST_CHECK(!has(s, "new.example.test."));
  // An update for a zone the service does not hold: NOTAUTH.
  Update u;
  BOOST_REQUIRE(decode(request(create_pre(), create_upd(), 1, 1000), req));
  BOOST_REQUIRE(decode(req.update, u));
  u.zone = wire("nosuch.test.");
  for (auto& p : u.prerequisites) p.rr.owner = wire("new.nosuch.test.");
  for (auto& op : u.updates) op.rr.owner = wire("new.nosuch.test.");
  req.update = encode(u);
  req.client.dns_id = 99;
  BOOST_CHECK_EQUAL(rcode_of(s.execute(encode(req))), int(rcode::NOTAUTH));
}

BOOST_AUTO_TEST_CASE(at_most_once_within_window) {
  ZoneService s(test_zones());
  const std::string op = request(create_pre(), create_upd(), 42, 10'000);
  const std::string first = s.execute(op);
  BOOST_CHECK_EQUAL(rcode_of(first), 0);
  const uint32_t serial = example(s).serial();

  // The same request again (also stamped 30 s later by another front end): the stored
  // result. Running it again would answer YXDOMAIN.
  BOOST_CHECK(s.execute(op) == first);
  BOOST_CHECK(s.execute(at_time(op, 40'000)) == first);
  BOOST_CHECK_EQUAL(example(s).serial(), serial);
  BOOST_CHECK_EQUAL(s.dedupe_table_size(), 1u);

  // Another DNS id = another request: executed, and the prerequisite now fails.
  BOOST_CHECK_EQUAL(rcode_of(s.execute(request(create_pre(), create_upd(), 43, 40'000))),
                    int(rcode::YXDOMAIN));
  // Another port, same id: also another client.
  BOOST_CHECK_EQUAL(rcode_of(s.execute(request(create_pre(), create_upd(), 42, 40'000, 5301))),
                    int(rcode::YXDOMAIN));
  BOOST_CHECK_EQUAL(s.dedupe_table_size(), 3u);

  // Exactly 60 s after the first op it is still remembered...
  BOOST_CHECK(s.execute(at_time(op, 70'000)) == first);
  // ...one ms later it has expired and runs again: the name now exists -> YXDOMAIN.
  BOOST_CHECK_EQUAL(rcode_of(s.execute(at_time(op, 70'001))), int(rcode::YXDOMAIN));
  // Expiry dropped the first entry only (the others are from t = 40 s); the re-executed op
  // is remembered anew.
  BOOST_CHECK_EQUAL(s.dedupe_table_size(), 3u);

  // Op time never goes backwards: an op stamped in the past by a lagging front end does not
  // revive anything, and a much later op expires everything older than 60 s.
  BOOST_CHECK_EQUAL(rcode_of(s.execute(at_time(op, 5'000))), int(rcode::YXDOMAIN));
  s.execute(request({}, {rec("late.example.test. IN A 192.0.2.1")}, 1, 1'000'000));
  BOOST_CHECK_EQUAL(s.dedupe_table_size(), 1u);
}

BOOST_AUTO_TEST_CASE(replicas_are_deterministic) {
  // Two replicas, built from the zones listed in different orders, fed the same ops
  // (successes, failures, duplicates, garbage) give the same results and snapshot bytes.
  ZoneSet reversed = test_zones();
  std::swap(reversed.zones[0], reversed.zones[1]);
  ZoneService a(test_zones()), b(reversed);
  BOOST_CHECK(a.snapshot() == b.snapshot());

  std::mt19937 rng(1982);
  std::vector<std::string> ops;
  for (int i = 0; i < 300; ++i) {
    // Appended piecewise: `"x" + std::to_string(n)` trips GCC 12's -Wrestrict at -O3.
    std::string name = "h";
    name += std::to_string(rng() % 20);
    name += ".example.test.";
    std::string addr = "192.0.2.";
    addr += std::to_string(rng() % 4);
    const uint64_t t = 1000 + uint64_t(i) * 500;
    switch (rng() % 9) {
      case 6: ops.push_back(request({}, {rec(name + " IN CNAME www.example.test.")}, uint16_t(i), t)); break;
      case 7:
        // Apex NS churn: the last apex NS must survive whatever the order.
        ops.push_back(request({}, {as(rec("example.test. IN NS ns" + std::to_string(1 + rng() % 3) +
                                          ".example.test."),
                                      rrclass::NONE)},
                              uint16_t(i), t));
        break;
      case 8:
        ops.push_back(request({}, {rec("example.test. IN NS ns" + std::to_string(1 + rng() % 3) +
                                       ".example.test.")},
                              uint16_t(i), t));
        break;
      case 0: ops.push_back(request({}, {rec(name + " IN A " + addr)}, uint16_t(i), t)); break;
      case 1:
        ops.push_back(request({bare(name, rrtype::ANY, rrclass::NONE)},
                              {rec(name + " IN TXT \"x\"")}, uint16_t(i), t));
        break;
      case 2: ops.push_back(request({}, {bare(name, rrtype::ANY, rrclass::ANY)}, uint16_t(i), t)); break;
      case 3:
        ops.push_back(request({}, {as(rec(name + " IN A " + addr), rrclass::NONE)}, uint16_t(i), t));
        break;
      case 4:
        // A retransmission of an earlier (well-formed) request.
        for (std::size_t tries = 0; tries < 4 && !ops.empty(); ++tries) {
          const std::string& old = ops[rng() % ops.size()];
          if (old == "garbage") continue;
          ops.push_back(at_time(old, t));
          break;
        }
        break;
      default: ops.push_back("garbage"); break;
    }
  }
  int changed_serials = 0;
  uint32_t last = example(a).serial();
  for (const std::string& op : ops) {
    const std::string ra = a.execute(op), rb = b.execute(op);
    BOOST_REQUIRE(ra == rb);
    if (example(a).serial() != last) ++changed_serials;
    last = example(a).serial();
  }
  BOOST_CHECK(changed_serials > 10);   // the workload really changed the zone
  BOOST_CHECK(a.snapshot() == b.snapshot());
  BOOST_CHECK(example(a).records() == example(b).records());
  // Whatever the sequence, the result is still a servable zone (SOA, apex NS, CNAME rules).
  BOOST_CHECK_NO_THROW(validate_zone(example(a), "after random updates"));
}

BOOST_AUTO_TEST_CASE(snapshot_restore_round_trip) {
  ZoneService a(test_zones());
  const std::string op = request(create_pre(), create_upd(), 42, 10'000);
  BOOST_REQUIRE_EQUAL(rcode_of(a.execute(op)), 0);
  a.execute(request({}, {bare("www.example.test.", rrtype::ANY, rrclass::ANY),
                         rec("deep.ent2.example.test. IN TXT \"t\"")},
                    43, 11'000));
  const std::string snap = a.snapshot();

  // Restore into a service that started from something else entirely.
  ZoneSet one;
  one.zones.push_back(load_zone_text(other_zone, "other.test."));
  ZoneService b(one);
  b.restore(snap);
  BOOST_CHECK(b.snapshot() == snap);
  BOOST_CHECK(example(b).records() == example(a).records());
  BOOST_CHECK_EQUAL(example(b).node_count(), example(a).node_count());   // ENTs rebuilt
  BOOST_CHECK_EQUAL(b.dedupe_table_size(), 2u);

  // The dedupe table came along: the retransmission is answered, not executed.
  const std::string r1 = a.execute(at_time(op, 12'000));
  const std::string r2 = b.execute(at_time(op, 12'000));
  BOOST_CHECK(r1 == r2);
  BOOST_CHECK_EQUAL(rcode_of(r2), 0);
  // And both go on identically.
  const std::string next = request({}, {rec("z.example.test. IN A 192.0.2.3")}, 44, 13'000);
  BOOST_CHECK(a.execute(next) == b.execute(next));
  BOOST_CHECK(a.snapshot() == b.snapshot());
}

BOOST_AUTO_TEST_CASE(restore_rejects_bad_snapshots) {
  ZoneService a(test_zones());
  a.execute(request(create_pre(), create_upd(), 42, 10'000));
  const std::string snap = a.snapshot();
  ZoneService b(test_zones());
  const std::string before = b.snapshot();
  // Truncations (a sample of cut points, including every one near both ends).
  for (std::size_t n = 0; n < snap.size(); n += (n < 64 || n + 64 > snap.size()) ? 1 : 37) {
    BOOST_CHECK_THROW(b.restore(snap.substr(0, n)), std::invalid_argument);
  }
  BOOST_CHECK_THROW(b.restore(snap + '\0'), std::invalid_argument);
  // Random corruption: either rejected, or accepted as a state that snapshots back to the
  // same bytes (never a crash).
  std::mt19937 rng(7);
  int rejected = 0;
  for (int i = 0; i < 300; ++i) {
    std::string bad = snap;
    bad[rng() % bad.size()] = char(rng());
    ZoneService c(test_zones());
    try {
      c.restore(bad);
      BOOST_CHECK(c.snapshot().size() == bad.size());
    } catch (const std::invalid_argument&) {
      ++rejected;
    }
  }
  BOOST_CHECK(rejected > 0);
  // A failed restore leaves the state as it was.
  BOOST_CHECK(b.snapshot() == before);
}

BOOST_AUTO_TEST_CASE(dedupe_key_tells_every_field_apart) {
  // The table keeps only a digest of the identity, so each field must change the digest.
  ClientIdentity base;
  base.address = std::string("\x7f\x00\x00\x01", 4);
  base.port = 5300;
  base.dns_id = 42;
  base.key_name = std::string("\x03key\x00", 5);
  base.message_hash = 0x1234;
  std::vector<ClientIdentity> variants(6, base);
  variants[1].address = std::string("\x7f\x00\x00\x02", 4);
  variants[2].port = 5301;
  variants[3].dns_id = 43;
  variants[4].key_name.clear();
  variants[5].message_hash = 0x1235;
  std::vector<ZoneService::DedupeKey> keys;
  for (const auto& v : variants) keys.push_back(ZoneService::dedupe_key(v));
  for (std::size_t i = 0; i < keys.size(); ++i)
    for (std::size_t j = i + 1; j < keys.size(); ++j) BOOST_CHECK(!(keys[i] == keys[j]));
  // Deterministic: the same identity always gives the same key (every replica agrees).
  BOOST_CHECK(ZoneService::dedupe_key(base) == keys[0]);
  // Field boundaries are encoded: bytes moved from the address into the key name differ.
  ClientIdentity shifted = base;
  shifted.address = std::string("\x7f\x00\x00", 3);
  shifted.key_name = std::string("\x01", 1) + base.key_name;
  BOOST_CHECK(!(ZoneService::dedupe_key(shifted) == keys[0]));
}
