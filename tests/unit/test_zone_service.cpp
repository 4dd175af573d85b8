// ZoneService (dns/zone_service.hpp): the zones as a deterministic VR service. Execution of
// UpdateRequests, at-most-once per DNS client within the 60 s op-time window, determinism of
// results and checkpoint parts, freeze/restore (dns/zone_checkpoint.hpp).
#define BOOST_TEST_MODULE test_zone_service
#include <boost/test/unit_test.hpp>

#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dns/query_parser.hpp"
#include "dns/update.hpp"
#include "dns/update_request.hpp"
#include "dns/master_file.hpp"
#include "dns/zone_add.hpp"
#include "dns/zone_checkpoint.hpp"
#include "dns/zone_control.hpp"
#include "dns/zone_service.hpp"
#include "protocol/checkpoint.hpp"
#include "protocol/op_batch.hpp"
#include "tests/unit/update_messages.hpp"

using namespace vrdns::dns;
using namespace update_test;
using vrdns::protocol::snapshot_part;

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

/// "<prefix><i>.example.test." (appended piecewise: `"x" + std::to_string(n)` trips GCC 12's
/// -Wrestrict at -O3).
std::string host(const char* prefix, unsigned i) {
  std::string name = prefix;
  name += std::to_string(i);
  name += ".example.test.";
  return name;
}

/// The service's state as checkpoint parts (taken and written at once).
std::vector<snapshot_part> parts_of(const ZoneService& s) { return s.freeze()->parts(); }

std::string& part_bytes(std::vector<snapshot_part>& parts, const std::string& name) {
  for (auto& p : parts)
    if (p.name == name) return p.bytes;
  BOOST_FAIL("no part " << name);
  throw;   // not reached
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
  const auto before = parts_of(s);
  BOOST_CHECK_EQUAL(rcode_of(s.execute("")), int(rcode::SERVFAIL));
  BOOST_CHECK_EQUAL(rcode_of(s.execute("garbage")), int(rcode::SERVFAIL));
  BOOST_CHECK(parts_of(s) == before);
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

namespace {

std::string batch_of(const std::vector<std::string>& ops) {
  return vrdns::protocol::encode_op_batch(std::vector<std::string_view>(ops.begin(), ops.end()));
}

std::vector<int> rcodes_of_batch(const std::string& result) {
  std::vector<std::string_view> parts;
  BOOST_REQUIRE(vrdns::protocol::decode_op_batch(result, parts));
  std::vector<int> out;
  for (auto p : parts) out.push_back(rcode_of(std::string(p)));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_op_batch_runs_like_consecutive_ops) {
  // The same ops once as a batch and once one by one: the same replies, the same zones, the
  // same dedupe table (checkpoint parts compare all of it).
  const std::vector<std::string> ops = {
      request(create_pre(), create_upd(), 1, 1000),            // creates new.
      request(create_pre(), create_upd(), 2, 1000),            // sees it: YXDOMAIN
      request({}, {rec("b.example.test. IN A 192.0.2.2")}, 3, 1001),
      request(create_pre(), create_upd(), 1, 1002),            // retransmit of the first
  };
  ZoneService batched(test_zones()), single(test_zones());
  std::vector<ZoneService::DedupeKey> keys;
  const std::vector<int> got = rcodes_of_batch(batched.execute(batch_of(ops), &keys));
  std::vector<int> want;
  for (const auto& op : ops) want.push_back(rcode_of(single.execute(op)));
  BOOST_TEST(got == want);
  BOOST_TEST(want == (std::vector<int>{0, rcode::YXDOMAIN, 0, 0}));
  BOOST_CHECK(parts_of(batched) == parts_of(single));
  BOOST_CHECK_EQUAL(batched.dedupe_table_size(), 3u);

  // Every part's client is reported, in order, the retransmit too (its client waits as well).
  BOOST_REQUIRE_EQUAL(keys.size(), ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    UpdateRequest req;
    BOOST_REQUIRE(decode(ops[i], req));
    BOOST_CHECK(keys[i] == ZoneService::dedupe_key(req.client));
  }
}

BOOST_AUTO_TEST_CASE(a_malformed_op_batch_changes_nothing) {
  ZoneService s(test_zones());
  const auto before = parts_of(s);
  std::string bad = batch_of({request(create_pre(), create_upd(), 1, 1000)});
  bad.pop_back();   // the part's length now runs past the end
  std::vector<ZoneService::DedupeKey> keys;
  BOOST_CHECK_EQUAL(rcode_of(s.execute(bad, &keys)), int(rcode::SERVFAIL));
  BOOST_CHECK(keys.empty());
  BOOST_CHECK(parts_of(s) == before);
  // A well-formed batch with a garbage part: that part fails alone.
  const auto rcodes = rcodes_of_batch(
      s.execute(batch_of({"garbage", request(create_pre(), create_upd(), 1, 1000)})));
  BOOST_TEST(rcodes == (std::vector<int>{rcode::SERVFAIL, 0}));
  BOOST_CHECK(has(s, "new.example.test."));
}

BOOST_AUTO_TEST_CASE(replicas_are_deterministic) {
  // Two replicas, built from the zones listed in different orders, fed the same ops
  // (successes, failures, duplicates, garbage) give the same results and checkpoint bytes.
  ZoneSet reversed = test_zones();
  std::swap(reversed.zones[0], reversed.zones[1]);
  ZoneService a(test_zones()), b(reversed);
  BOOST_CHECK(parts_of(a) == parts_of(b));

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
  BOOST_CHECK(parts_of(a) == parts_of(b));
  // A third replica restored from a's checkpoint writes the same bytes again.
  ZoneService c(test_zones());
  c.restore(parts_of(a));
  BOOST_CHECK(parts_of(c) == parts_of(a));
  BOOST_CHECK(example(a).records() == example(b).records());
  // Whatever the sequence, the result is still a servable zone (SOA, apex NS, CNAME rules).
  BOOST_CHECK_NO_THROW(validate_zone(example(a), "after random updates"));
}

BOOST_AUTO_TEST_CASE(checkpoint_parts_are_master_files_and_metadata) {
  ZoneService a(test_zones());
  const auto parts = parts_of(a);
  // Zones in apex key order (wire form: the shorter first label first), then the metadata.
  BOOST_REQUIRE_EQUAL(parts.size(), 3u);
  BOOST_CHECK_EQUAL(parts[0].name, "other.test.zone");
  BOOST_CHECK_EQUAL(parts[1].name, "example.test.zone");
  BOOST_CHECK_EQUAL(parts[2].name, std::string(service_part_name));
  for (const auto& p : parts) {
    BOOST_CHECK(vrdns::protocol::valid_part_name(p.name));
    BOOST_CHECK(p.name != vrdns::protocol::client_table_part);
  }
  BOOST_CHECK(parts[1].bytes.starts_with("$ORIGIN example.test.\n"
                                         "example.test. 300 IN SOA ns1.example.test. "
                                         "hostmaster.example.test. 100 3600 900 604800 300\n"));
  BOOST_CHECK(parts[0].bytes.ends_with("\n; end of zone, 3 records\n"));
}

BOOST_AUTO_TEST_CASE(zone_part_names_are_valid_and_unique) {
  BOOST_CHECK_EQUAL(zone_part_name(wire(".")), "_root.zone");
  BOOST_CHECK_EQUAL(zone_part_name(wire("My_Zone.TEST.")), "my_5Fzone.test.zone");
  // Zones are unique by apex case-insensitively (ZoneService rejects two apexes equal but
  // for case), and so are their names.
  BOOST_CHECK_EQUAL(zone_part_name(wire("Example.TEST.")), zone_part_name(wire("example.test.")));
  const std::string label63(63, 'a');
  std::string label63b = label63;
  label63b.back() = 'b';
  const std::vector<std::string> apexes = {
      ".", "root.", "_root.", "zone.", "zone.zone.", "a.b.", "a\\.b.", "a_b.", "a_5Fb.",
      "a\\032b.", "\\255.", "\\000.", "_.", "-.", "service.bin.",
      label63 + "." + label63 + "." + label63 + ".", label63 + "." + label63 + "." + label63b + ".",
      label63 + "." + label63 + "." + label63 + "." + std::string(61, 'c') + "."};
  std::set<std::string> names;
  for (const std::string& apex : apexes) {
    const std::string name = zone_part_name(wire(apex));
    BOOST_CHECK_MESSAGE(vrdns::protocol::valid_part_name(name), name);
    BOOST_CHECK(name != service_part_name);
    BOOST_CHECK_MESSAGE(names.insert(name).second, "duplicate name " << name);
  }
}

BOOST_AUTO_TEST_CASE(the_root_zone_and_odd_apexes_round_trip) {
  ZoneSet zs;
  zs.zones.push_back(load_zone_text(
      "@ 60 IN SOA a.root-servers.net. nstld.verisign-grs.com. 1 2 3 4 5\n"
      "@ 60 IN NS a.root-servers.net.\n"
      "test. 60 IN NS ns.test.\n",
      "."));
  zs.zones.push_back(load_zone_text("@ 60 IN SOA ns x 1 2 3 4 5\n@ 60 IN NS ns\nns 60 IN A 192.0.2.1\n",
                                    "My\\032Odd_Zone.TEST."));
  ZoneService a(zs);
  const auto parts = parts_of(a);
  BOOST_REQUIRE_EQUAL(parts.size(), 3u);
  BOOST_CHECK_EQUAL(parts[0].name, "_root.zone");
  BOOST_CHECK_EQUAL(parts[1].name, "my_20odd_5Fzone.test.zone");
  ZoneService b(test_zones());
  b.restore(parts);
  BOOST_CHECK(parts_of(b) == parts);
  BOOST_CHECK_EQUAL(b.zones()->zones[1]->apex(), wire("My\\032Odd_Zone.TEST."));
}

BOOST_AUTO_TEST_CASE(checkpoint_round_trip) {
  ZoneService a(test_zones());
  const std::string op = request(create_pre(), create_upd(), 42, 10'000);
  BOOST_REQUIRE_EQUAL(rcode_of(a.execute(op)), 0);
  a.execute(request({}, {bare("www.example.test.", rrtype::ANY, rrclass::ANY),
                         rec("deep.ent2.example.test. IN TXT \"t\"")},
                    43, 11'000));
  const auto parts = parts_of(a);

  // Restore into a service that started from something else entirely.
  ZoneSet one;
  one.zones.push_back(load_zone_text(other_zone, "other.test."));
  ZoneService b(one);
  b.restore(parts);
  BOOST_CHECK(parts_of(b) == parts);
  BOOST_CHECK(example(b).records() == example(a).records());
  BOOST_CHECK_EQUAL(example(b).node_count(), example(a).node_count());   // ENTs rebuilt
  BOOST_CHECK_EQUAL(b.zones()->zones.size(), 2u);
  BOOST_CHECK_EQUAL(b.dedupe_table_size(), 2u);

  // The dedupe table came along: the retransmission is answered, not executed (executing
  // it again would answer YXDOMAIN).
  const std::string r1 = a.execute(at_time(op, 12'000));
  const std::string r2 = b.execute(at_time(op, 12'000));
  BOOST_CHECK(r1 == r2);
  BOOST_CHECK_EQUAL(rcode_of(r2), 0);
  // And both go on identically, expiry included (the newest op time came along too).
  const std::string next = request({}, {rec("z.example.test. IN A 192.0.2.3")}, 44, 13'000);
  BOOST_CHECK(a.execute(next) == b.execute(next));
  const std::string later = request({}, {rec("y.example.test. IN A 192.0.2.4")}, 45, 71'000);
  BOOST_CHECK(a.execute(later) == b.execute(later));
  // The t = 10 s entry expired; 11 s (exactly 60 s old), 13 s and 71 s remain.
  BOOST_CHECK_EQUAL(b.dedupe_table_size(), 3u);
  BOOST_CHECK(parts_of(a) == parts_of(b));
}

BOOST_AUTO_TEST_CASE(restored_replicas_stay_in_step_at_empty_non_terminals) {
  // The empty non-terminal grp.example.test is created by x.GRP, which then goes: a
  // checkpoint (records only) cannot say how the ENT was spelled. Data added there later
  // must look the same on a replica that lived through it and on one restored from it.
  ZoneService a(test_zones());
  a.execute(request({}, {rec("x.GRP.example.test. IN A 192.0.2.1")}, 1, 1000));
  a.execute(request({}, {rec("y.grp.example.test. IN A 192.0.2.2")}, 2, 1001));
  a.execute(request({}, {bare("x.GRP.example.test.", rrtype::ANY, rrclass::ANY)}, 3, 1002));
  const Node* ent = example(a).find(name_key(wire("grp.example.test.")));
  BOOST_REQUIRE(ent != nullptr && ent->is_empty_nonterminal());
  ZoneService b(test_zones());
  b.restore(parts_of(a));
  const std::string op = request({}, {rec("Grp.example.test. IN A 192.0.2.3")}, 4, 1003);
  BOOST_CHECK_EQUAL(rcode_of(a.execute(op)), 0);
  BOOST_CHECK_EQUAL(rcode_of(b.execute(op)), 0);
  BOOST_CHECK(parts_of(a) == parts_of(b));
  const Node* n = example(a).find(name_key(wire("grp.example.test.")));
  BOOST_REQUIRE(n != nullptr);
  BOOST_CHECK_EQUAL(name_to_text(n->owner), "Grp.example.test.");
}

BOOST_AUTO_TEST_CASE(a_frozen_service_does_not_move) {
  // Two replicas in step; a is frozen, then runs on (changing zones, expiring the whole
  // dedupe table) while another thread writes the frozen parts. They must be b's parts at
  // the freeze point.
  ZoneService a(test_zones()), b(test_zones());
  for (uint16_t i = 0; i < 50; ++i) {
    const std::string op = request({}, {rec(host("h", i) + " IN A 192.0.2.1")}, i, 1000 + i);
    BOOST_REQUIRE(a.execute(op) == b.execute(op));
  }
  const auto frozen = a.freeze();
  std::vector<snapshot_part> written;
  std::thread writer([&] {
    for (int round = 0; round < 20; ++round) written = frozen->parts();
  });
  for (uint16_t i = 0; i < 400; ++i) {
    const uint64_t t = 100'000 + uint64_t(i) * 1000;   // far past the window: all expire
    a.execute(request({bare(host("h", i % 50), rrtype::ANY, rrclass::ANY)},
                      {rec(host("n", i) + " IN A 192.0.2.2")}, i, t));
  }
  writer.join();
  const auto expected = parts_of(b);
  BOOST_CHECK(written == expected);
  BOOST_CHECK(frozen->parts() == expected);
  BOOST_CHECK(parts_of(a) != expected);   // a really moved on
}

BOOST_AUTO_TEST_CASE(restore_is_all_or_nothing) {
  ZoneService a(test_zones());
  a.execute(request(create_pre(), create_upd(), 42, 10'000));
  a.execute(request({}, {rec("t.example.test. IN TXT \"x\"")}, 43, 10'500));
  const auto good = parts_of(a);
  ZoneService b(test_zones());
  const auto before = parts_of(b);

  auto rejected = [&](const std::vector<snapshot_part>& parts) {
    bool threw = false;
    try {
      b.restore(parts);
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    const bool unchanged = parts_of(b) == before;
    if (!threw) b.restore(before);
    return threw && unchanged;
  };

  // Missing, duplicate and unknown parts.
  for (std::size_t i = 0; i < good.size(); ++i) {
    auto fewer = good;
    fewer.erase(fewer.begin() + std::ptrdiff_t(i));
    BOOST_CHECK(rejected(fewer));
    auto twice = good;
    twice.push_back(good[i]);
    BOOST_CHECK(rejected(twice));
  }
  for (const std::string name : {"extra.zone", "notes.txt", "vr-client-table"}) {
    auto more = good;
    more.push_back({name, good[1].bytes});
    BOOST_CHECK(rejected(more));
  }
  // A zone under another zone's name; a zone that is not servable.
  auto swapped = good;
  std::swap(swapped[0].name, swapped[1].name);
  BOOST_CHECK(rejected(swapped));
  auto no_ns = good;
  std::string& other = part_bytes(no_ns, "other.test.zone");
  other.erase(other.find("other.test. 300 IN NS"), other.find("ns1.other.test. 300 IN A") -
                                                        other.find("other.test. 300 IN NS"));
  other[other.find("3 records")] = '2';
  BOOST_CHECK(rejected(no_ns));
  // Inconsistent dedupe tables: a duplicate key (the last entry twice), an entry newer than
  // the newest op time.
  const std::size_t entries = a.dedupe_table_size(), entry_size = 25;
  BOOST_REQUIRE_EQUAL(entries, 2u);
  auto says = [](const char* what) {
    return [what](const std::invalid_argument& e) {
      return std::string(e.what()).find(what) != std::string::npos;
    };
  };
  auto dup = good;
  std::string& meta = part_bytes(dup, std::string(service_part_name));
  meta += meta.substr(meta.size() - entry_size);
  meta[meta.size() - (entries + 1) * entry_size - 1] += 1;   // count + 1 (low byte of its u64)
  BOOST_CHECK_EXCEPTION(b.restore(dup), std::invalid_argument, says("duplicate dedupe entry"));
  auto newer = good;
  std::string& meta2 = part_bytes(newer, std::string(service_part_name));
  meta2[meta2.size() - 2] += 1;   // the last entry's time (low byte) + 1 ms
  BOOST_CHECK_EXCEPTION(b.restore(newer), std::invalid_argument, says("newer than the newest"));
  BOOST_CHECK(parts_of(b) == before);

  // Every truncation of every part: rejected, or (never, in fact) the same state.
  for (std::size_t i = 0; i < good.size(); ++i)
    for (std::size_t n = 0; n < good[i].bytes.size(); ++n) {
      auto cut = good;
      cut[i].bytes.resize(n);
      try {
        b.restore(cut);
        BOOST_CHECK(parts_of(b) == good);
        b.restore(before);
      } catch (const std::invalid_argument&) {
        BOOST_CHECK(parts_of(b) == before);
      }
    }

  // Random damage: never a crash; either rejected (state untouched) or a consistent state
  // that writes itself back as a valid checkpoint.
  std::mt19937 rng(7);
  int threw = 0;
  for (int i = 0; i < 400; ++i) {
    auto bad = good;
    std::string& bytes = bad[rng() % bad.size()].bytes;
    bytes[rng() % bytes.size()] = char(rng());
    ZoneService c(test_zones());
    try {
      c.restore(bad);
      ZoneService d(test_zones());
      BOOST_CHECK_NO_THROW(d.restore(parts_of(c)));
    } catch (const std::invalid_argument&) {
      ++threw;
      BOOST_CHECK(parts_of(c) == before);
    }
  }
  BOOST_CHECK(threw > 100);
  BOOST_CHECK(parts_of(b) == before);
  // The good parts still restore.
  b.restore(good);
  BOOST_CHECK(parts_of(b) == good);
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

// --- adding a zone to a running cluster (dns/zone_add.hpp) ------------------------------

namespace {

const char* const added_zone =
    "$ORIGIN added.test.\n"
    "@ 300 IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
    "@ 300 IN NS ns1\n"
    "ns1 300 IN A 192.0.2.53\n"
    "www 300 IN A 192.0.2.80\n";

/// The op a node proposes for the zone in `text` (what app/zone_adder.cpp builds).
std::string add_op(const std::string& text, const std::string& apex) {
  AddZoneRequest r;
  r.apex = wire(apex);
  r.master_file = write_master_file(*load_zone_text(text, apex));
  return encode(r);
}

const Zone* zone_at(const ZoneService& s, const std::string& apex) {
  return s.zones()->find_zone(name_key(wire(apex)));
}

/// An UPDATE of zone `zone` parsed against `zones` (request() knows only test_zones()).
std::string request_in(const ZoneSet& zones, const std::string& zone,
                       const std::vector<Record>& updates, uint16_t id, uint64_t time_ms) {
  const std::string msg = message(zone, {}, updates, id);
  Update u;
  BOOST_REQUIRE_EQUAL(int(parse(msg, zones, u)), int(rcode::NOERROR));
  UpdateRequest req;
  req.client.address = std::string("\x7f\x00\x00\x01", 4);
  req.client.port = 5300;
  req.client.dns_id = id;
  req.client.message_hash = request_hash(reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
  req.receive_time_ms = time_ms;
  req.update = encode(u);
  return encode(req);
}

}  // namespace

BOOST_AUTO_TEST_CASE(add_zone_request_encoding) {
  const std::string op = add_op(added_zone, "added.test.");
  AddZoneRequest r;
  BOOST_REQUIRE(is_add_zone(op));
  BOOST_REQUIRE(decode(op, r));
  BOOST_CHECK(r.apex == wire("added.test."));
  BOOST_CHECK(encode(r) == op);
  for (std::size_t cut = 0; cut < op.size(); ++cut)
    BOOST_CHECK_MESSAGE(!decode(op.substr(0, cut), r), "decoded a prefix of " << cut);
  BOOST_CHECK(!decode(op + "x", r));
  AddZoneRequest no_apex{"", "x"};
  BOOST_CHECK(!decode(encode(no_apex), r));
  AddZoneRequest bad_apex{"\x05" "ab", "x"};   // a label longer than the bytes there
  BOOST_CHECK(!decode(encode(bad_apex), r));
  // The other ops are not taken for it, nor it for them.
  const std::string update = request(create_pre(), create_upd(), 1, 1000);
  BOOST_CHECK(!is_add_zone(update));
  UpdateRequest as_update;
  BOOST_CHECK(!decode(op, as_update));
}

BOOST_AUTO_TEST_CASE(adding_a_zone) {
  ZoneService s(test_zones());
  BOOST_CHECK(zone_at(s, "www.added.test.") == nullptr);
  BOOST_CHECK_EQUAL(rcode_of(s.execute(add_op(added_zone, "added.test."))), int(rcode::NOERROR));
  const Zone* z = zone_at(s, "www.added.test.");
  BOOST_REQUIRE(z != nullptr);
  BOOST_CHECK(z->apex_key() == name_key(wire("added.test.")));
  BOOST_CHECK(z->find(name_key(wire("www.added.test."))) != nullptr);
  BOOST_CHECK(has(s, "www.example.test."));   // the other zones are untouched
  BOOST_CHECK_EQUAL(s.zones()->zones.size(), 3u);

  // Once there, the zone is the cluster's: another add of that apex changes nothing, whatever
  // its contents.
  const auto after = parts_of(s);
  std::string other = added_zone;
  other += "extra 300 IN A 192.0.2.99\n";
  BOOST_CHECK_EQUAL(rcode_of(s.execute(add_op(other, "added.test."))), int(rcode::YXDOMAIN));
  BOOST_CHECK_EQUAL(rcode_of(s.execute(add_op(example_zone, "example.test."))),
                    int(rcode::YXDOMAIN));
  BOOST_CHECK(parts_of(s) == after);

  // Not a valid zone, or not the apex it claims, or garbage: FORMERR, nothing changes.
  AddZoneRequest no_soa{wire("nosoa.test."), "$ORIGIN nosoa.test.\nwww.nosoa.test. 300 IN A 192.0.2.1\n; end of zone, 1 records\n"};
  BOOST_CHECK_EQUAL(rcode_of(s.execute(encode(no_soa))), int(rcode::FORMERR));
  AddZoneRequest wrong_apex{wire("elsewhere.test."),
                            write_master_file(*load_zone_text(added_zone, "added.test."))};
  BOOST_CHECK_EQUAL(rcode_of(s.execute(encode(wrong_apex))), int(rcode::FORMERR));
  BOOST_CHECK_EQUAL(rcode_of(s.execute("VRZA garbage")), int(rcode::FORMERR));
  BOOST_CHECK(parts_of(s) == after);
}

BOOST_AUTO_TEST_CASE(an_added_zone_takes_updates_and_survives_a_checkpoint) {
  ZoneService s(test_zones());
  BOOST_REQUIRE_EQUAL(rcode_of(s.execute(add_op(added_zone, "added.test."))), 0);
  ZoneSet with_added = test_zones();
  with_added.zones.push_back(load_zone_text(added_zone, "added.test."));
  const std::string upd =
      request_in(with_added, "added.test.", {rec("new.added.test. IN A 192.0.2.7")}, 7, 1000);
  BOOST_CHECK_EQUAL(rcode_of(s.execute(upd)), int(rcode::NOERROR));
  BOOST_CHECK(zone_at(s, "added.test.")->find(name_key(wire("new.added.test."))) != nullptr);

  ZoneService restored(test_zones());
  restored.restore(parts_of(s));
  BOOST_CHECK(parts_of(restored) == parts_of(s));
  BOOST_REQUIRE(zone_at(restored, "added.test.") != nullptr);
  BOOST_CHECK(zone_at(restored, "added.test.")->find(name_key(wire("new.added.test."))) != nullptr);
  // The restored service answers a retransmission of that UPDATE from its dedupe table.
  BOOST_CHECK_EQUAL(rcode_of(restored.execute(upd)), int(rcode::NOERROR));
  BOOST_CHECK(parts_of(restored) == parts_of(s));
}

// With many zones the service's set is searched, not scanned (ZoneSet::mark_sorted): UPDATEs,
// single or in a batch, and zones added among them still find their own zone.
BOOST_AUTO_TEST_CASE(many_zones_are_searched_and_find_their_own) {
  ZoneSet many;
  for (int i = 0; i < 40; ++i) {
    std::string apex = "z";
    apex += std::to_string(i);
    apex += ".test.";
    many.zones.push_back(load_zone_text("@ 300 IN SOA ns1 h 1 7200 3600 1209600 300\n"
                                        "@ 300 IN NS ns1\nns1 300 IN A 192.0.2.53\n",
                                        apex));
  }
  ZoneService s(many);
  BOOST_REQUIRE(s.zones()->sorted_by_apex);
  BOOST_REQUIRE_GE(s.zones()->zones.size(), 24u);   // beyond the scan threshold
  auto update_of = [&](const ZoneSet& zones, int zone, int id) {
    std::string apex = "z";
    apex += std::to_string(zone);
    apex += ".test.";
    std::string record = "n";   // appended piecewise: GCC 12 -O3 -Wrestrict
    record += std::to_string(id);
    record += '.';
    record += apex;
    record += " IN A 192.0.2.7";
    return request_in(zones, apex, {rec(record)}, uint16_t(id), 1000 + uint64_t(id));
  };
  BOOST_CHECK_EQUAL(rcode_of(s.execute(update_of(many, 17, 1))), int(rcode::NOERROR));
  BOOST_CHECK((rcodes_of_batch(s.execute(batch_of({update_of(many, 3, 2), update_of(many, 39, 3),
                                                   add_op(added_zone, "added.test.")}))) ==
               std::vector<int>{0, 0, 0}));
  BOOST_REQUIRE(s.zones()->sorted_by_apex);   // the add built a new, sorted set
  BOOST_CHECK(zone_at(s, "z17.test.")->find(name_key(wire("n1.z17.test."))) != nullptr);
  BOOST_CHECK(zone_at(s, "z3.test.")->find(name_key(wire("n2.z3.test."))) != nullptr);
  BOOST_CHECK(zone_at(s, "z39.test.")->find(name_key(wire("n3.z39.test."))) != nullptr);
  BOOST_CHECK(zone_at(s, "z17.test.")->find(name_key(wire("n2.z3.test."))) == nullptr);
  BOOST_CHECK(zone_at(s, "www.added.test.") != nullptr);
  ZoneSet with_added = many;
  with_added.zones.push_back(load_zone_text(added_zone, "added.test."));
  const std::string upd = request_in(with_added, "added.test.",
                                     {rec("new.added.test. IN A 192.0.2.8")}, 4, 2000);
  BOOST_CHECK_EQUAL(rcode_of(s.execute(upd)), int(rcode::NOERROR));
  BOOST_CHECK(zone_at(s, "added.test.")->find(name_key(wire("new.added.test."))) != nullptr);
}

BOOST_AUTO_TEST_CASE(an_add_in_an_op_batch_runs_like_consecutive_ops) {
  // UPDATEs to a zone before the add and after it, and to the added zone (its index is new):
  // the batch must give what the ops give one at a time.
  ZoneSet with_added = test_zones();
  with_added.zones.push_back(load_zone_text(added_zone, "added.test."));
  const std::vector<std::string> ops = {
      request({}, {rec("b.example.test. IN A 192.0.2.2")}, 1, 1000),
      request_in(with_added, "added.test.", {rec("early.added.test. IN A 192.0.2.3")}, 2, 1000),
      add_op(added_zone, "added.test."),
      request({}, {rec("c.example.test. IN A 192.0.2.4")}, 3, 1001),
      request_in(with_added, "added.test.", {rec("late.added.test. IN A 192.0.2.5")}, 4, 1001),
      request({}, {rec("d.other.test. IN A 192.0.2.6")}, 5, 1001, 5300, "other.test."),
      add_op(added_zone, "added.test."),
  };
  ZoneService batched(test_zones()), single(test_zones());
  const std::vector<int> got = rcodes_of_batch(batched.execute(batch_of(ops)));
  std::vector<int> want;
  for (const auto& op : ops) want.push_back(rcode_of(single.execute(op)));
  BOOST_TEST(got == want);
  BOOST_TEST(want == (std::vector<int>{0, rcode::NOTAUTH, 0, 0, 0, 0, rcode::YXDOMAIN}));
  BOOST_CHECK(parts_of(batched) == parts_of(single));
  BOOST_CHECK(has(batched, "b.example.test.") && has(batched, "c.example.test."));
  BOOST_CHECK(zone_at(batched, "added.test.")->find(name_key(wire("late.added.test."))) != nullptr);
}


// --- removing a zone and readmitting it (dns/zone_control.hpp) ----------------------------

namespace {

std::string control_op(ZoneControlRequest::Action a, const std::string& apex) {
  return encode(ZoneControlRequest{a, wire(apex)});
}
std::string remove_op(const std::string& apex) {
  return control_op(ZoneControlRequest::Action::remove, apex);
}
std::string readmit_op(const std::string& apex) {
  return control_op(ZoneControlRequest::Action::readmit, apex);
}

}  // namespace

BOOST_AUTO_TEST_CASE(zone_control_request_encoding) {
  const std::string op = remove_op("Added.TEST.");
  ZoneControlRequest r;
  BOOST_REQUIRE(is_zone_control(op));
  BOOST_REQUIRE(decode(op, r));
  BOOST_CHECK(r.apex == wire("Added.TEST."));
  BOOST_CHECK(r.action == ZoneControlRequest::Action::remove);
  BOOST_CHECK(encode(r) == op);
  for (std::size_t cut = 0; cut < op.size(); ++cut)
    BOOST_CHECK_MESSAGE(!decode(op.substr(0, cut), r), "decoded a prefix of " << cut);
  BOOST_CHECK(!decode(op + "x", r));
  std::string bad_action = op;
  bad_action[5] = 3;   // magic (4), version, action
  BOOST_CHECK(!decode(bad_action, r));
  BOOST_CHECK(!is_zone_control(add_op(added_zone, "added.test.")));
  BOOST_CHECK(!is_add_zone(op));
}

BOOST_AUTO_TEST_CASE(the_control_message_has_one_exact_form) {
  const ZoneControlRequest want{ZoneControlRequest::Action::readmit, wire("added.test.")};
  const std::vector<uint8_t> m = make_zone_control_message(want, 0x1234);
  const auto got = parse_zone_control_message(m.data(), m.size());
  BOOST_REQUIRE(got.has_value());
  BOOST_CHECK(*got == want);
  // Every truncation, every extra byte, and every single-byte change of the structure is not
  // the control form (it is then an ordinary UPDATE, parsed and judged as one).
  for (std::size_t cut = 0; cut < m.size(); ++cut)
    BOOST_CHECK(!parse_zone_control_message(m.data(), cut).has_value());
  std::vector<uint8_t> longer = m;
  longer.push_back(0);
  BOOST_CHECK(!parse_zone_control_message(longer.data(), longer.size()).has_value());
  // Flipping one bit anywhere else leaves the control form: only the id (bytes 0-1) and two
  // header bits nobody checks (RD in byte 2, the low rcode bit in byte 3) may change.
  std::set<std::size_t> still_control;
  for (std::size_t i = 0; i < m.size(); ++i) {
    std::vector<uint8_t> changed = m;
    changed[i] ^= 0x01;
    if (const auto p = parse_zone_control_message(changed.data(), changed.size())) {
      still_control.insert(i);
      BOOST_CHECK(*p == want);
    }
  }
  BOOST_TEST(still_control == (std::set<std::size_t>{0, 1, 2, 3}));
  // An ordinary UPDATE of that zone is not a control message.
  const std::string upd = message("example.test.", {}, {rec("a.example.test. IN A 192.0.2.1")}, 1);
  BOOST_CHECK(!parse_zone_control_message(reinterpret_cast<const uint8_t*>(upd.data()),
                                          upd.size()).has_value());
}

BOOST_AUTO_TEST_CASE(removing_and_readmitting_a_zone) {
  ZoneService s(test_zones());
  BOOST_REQUIRE_EQUAL(rcode_of(s.execute(add_op(added_zone, "added.test."))), 0);
  const uint64_t version = s.zone_list_version();
  BOOST_CHECK_EQUAL(rcode_of(s.execute(remove_op("ADDED.test."))), int(rcode::NOERROR));
  BOOST_CHECK(zone_at(s, "www.added.test.") == nullptr);
  BOOST_CHECK(has(s, "www.example.test."));   // the others stay
  BOOST_CHECK(s.zone_list_version() != version);
  BOOST_CHECK(s.removed_zones() == std::vector<std::string>{name_key(wire("added.test."))});
  // UPDATEs for it: NOTAUTH, like any zone not ours.
  ZoneSet with_added = test_zones();
  with_added.zones.push_back(load_zone_text(added_zone, "added.test."));
  const std::string upd =
      request_in(with_added, "added.test.", {rec("new.added.test. IN A 192.0.2.7")}, 7, 1000);
  BOOST_CHECK_EQUAL(rcode_of(s.execute(upd)), int(rcode::NOTAUTH));

  // Removing again changes nothing; an apex never seen is NOTAUTH.
  const auto removed = parts_of(s);
  BOOST_CHECK_EQUAL(rcode_of(s.execute(remove_op("added.test."))), int(rcode::NOERROR));
  BOOST_CHECK_EQUAL(rcode_of(s.execute(remove_op("never.test."))), int(rcode::NOTAUTH));
  // The tombstone keeps it out: a node's config proposing it again is REFUSED.
  BOOST_CHECK_EQUAL(rcode_of(s.execute(add_op(added_zone, "added.test."))), int(rcode::REFUSED));
  BOOST_CHECK_EQUAL(rcode_of(s.execute("VRZC garbage")), int(rcode::FORMERR));
  BOOST_CHECK(parts_of(s) == removed);

  // The tombstone is part of the checkpoint.
  ZoneService restored(test_zones());
  restored.restore(parts_of(s));
  BOOST_CHECK(parts_of(restored) == removed);
  BOOST_CHECK(restored.removed_zones() == s.removed_zones());
  BOOST_CHECK_EQUAL(rcode_of(restored.execute(add_op(added_zone, "added.test."))),
                    int(rcode::REFUSED));

  // Readmitted, then removed again before anyone added it: still out.
  BOOST_CHECK_EQUAL(rcode_of(s.execute(readmit_op("added.test."))), int(rcode::NOERROR));
  BOOST_CHECK(s.removed_zones().empty());
  BOOST_CHECK_EQUAL(rcode_of(s.execute(remove_op("added.test."))), int(rcode::NOERROR));
  BOOST_CHECK_EQUAL(rcode_of(s.execute(add_op(added_zone, "added.test."))), int(rcode::REFUSED));
  // Readmitted: the next add is taken, with whatever records it brings, and with a serial
  // above the one the zone had when removed (1 here: the file's), for the secondaries.
  BOOST_CHECK_EQUAL(rcode_of(s.execute(readmit_op("added.test."))), int(rcode::NOERROR));
  BOOST_CHECK_EQUAL(rcode_of(s.execute(readmit_op("added.test."))), int(rcode::NOERROR));
  const auto readmitted = parts_of(s);
  ZoneService restored_readmitted(test_zones());   // the readmission is in the checkpoint too
  restored_readmitted.restore(readmitted);
  BOOST_CHECK(parts_of(restored_readmitted) == readmitted);
  BOOST_CHECK_EQUAL(rcode_of(s.execute(add_op(added_zone, "added.test."))), 0);
  BOOST_REQUIRE(zone_at(s, "www.added.test.") != nullptr);
  BOOST_CHECK_EQUAL(zone_at(s, "added.test.")->serial(), 2u);
  BOOST_CHECK_EQUAL(rcode_of(restored_readmitted.execute(add_op(added_zone, "added.test."))), 0);
  BOOST_CHECK(parts_of(restored_readmitted) == parts_of(s));
  // The tombstone went with the add: removed and readmitted again, a file with a newer serial
  // keeps its own.
  BOOST_CHECK_EQUAL(rcode_of(s.execute(remove_op("added.test."))), 0);
  BOOST_CHECK_EQUAL(rcode_of(s.execute(readmit_op("added.test."))), 0);
  std::string newer = added_zone;
  newer.replace(newer.find("hostmaster 1 "), 13, "hostmaster 9 ");
  BOOST_CHECK_EQUAL(rcode_of(s.execute(add_op(newer, "added.test."))), 0);
  BOOST_CHECK_EQUAL(zone_at(s, "added.test.")->serial(), 9u);
}

BOOST_AUTO_TEST_CASE(checkpoints_without_tombstones_keep_the_first_form) {
  // Until a zone is removed the metadata part is written as version 1, which older builds
  // read; with a tombstone it is version 2.
  ZoneService s(test_zones());
  auto parts = parts_of(s);
  BOOST_CHECK_EQUAL(int(part_bytes(parts, std::string(service_part_name))[4]), 1);
  BOOST_REQUIRE_EQUAL(rcode_of(s.execute(remove_op("other.test."))), 0);
  parts = parts_of(s);
  std::string& service = part_bytes(parts, std::string(service_part_name));
  BOOST_CHECK_EQUAL(int(service[4]), 2);
  // A corrupt tombstone is refused whole.
  ZoneService target(test_zones());
  const auto before = parts_of(target);
  std::string broken = service;
  broken[4] = 3;
  std::swap(service, broken);
  BOOST_CHECK_THROW(target.restore(parts), std::invalid_argument);
  std::swap(service, broken);
  for (std::size_t cut = 5; cut < service.size(); ++cut) {
    auto truncated = parts;
    part_bytes(truncated, std::string(service_part_name)).resize(cut);
    BOOST_CHECK_THROW(target.restore(truncated), std::invalid_argument);
  }
  BOOST_CHECK(parts_of(target) == before);
  target.restore(parts);
  BOOST_CHECK(target.removed_zones() == std::vector<std::string>{name_key(wire("other.test."))});

  // A tombstone for a zone the checkpoint also holds is refused by the parser itself.
  ZoneService both(test_zones());
  auto both_parts = parts_of(both);
  std::string& both_service = part_bytes(both_parts, std::string(service_part_name));
  // example.test.'s tombstone, spliced into service.bin as version 2 after the zone list.
  ZoneServiceState state;
  state.zones = both.zones()->zones;
  state.removed.push_back({wire("example.test."), 5, false});
  const auto forged = checkpoint_parts(state);
  for (const auto& p : forged)
    if (p.name == service_part_name) both_service = p.bytes;
  BOOST_CHECK_THROW(read_checkpoint_parts(both_parts), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_removal_in_an_op_batch_runs_like_consecutive_ops) {
  ZoneSet with_added = test_zones();
  with_added.zones.push_back(load_zone_text(added_zone, "added.test."));
  const std::vector<std::string> ops = {
      add_op(added_zone, "added.test."),
      request_in(with_added, "added.test.", {rec("early.added.test. IN A 192.0.2.3")}, 2, 1000),
      request({}, {rec("b.example.test. IN A 192.0.2.2")}, 1, 1000),
      remove_op("added.test."),
      request({}, {rec("c.example.test. IN A 192.0.2.4")}, 3, 1001),
      request_in(with_added, "added.test.", {rec("late.added.test. IN A 192.0.2.5")}, 4, 1001),
      add_op(added_zone, "added.test."),
      readmit_op("added.test."),
      add_op(added_zone, "added.test."),
      request_in(with_added, "added.test.", {rec("last.added.test. IN A 192.0.2.6")}, 5, 1002),
  };
  ZoneService batched(test_zones()), single(test_zones());
  const std::vector<int> got = rcodes_of_batch(batched.execute(batch_of(ops)));
  std::vector<int> want;
  for (const auto& op : ops) want.push_back(rcode_of(single.execute(op)));
  BOOST_TEST(got == want);
  BOOST_TEST(want == (std::vector<int>{0, 0, 0, 0, 0, rcode::NOTAUTH, rcode::REFUSED, 0, 0, 0}));
  BOOST_CHECK(parts_of(batched) == parts_of(single));
  BOOST_CHECK(has(batched, "b.example.test.") && has(batched, "c.example.test."));
  const Zone* added = zone_at(batched, "added.test.");
  BOOST_REQUIRE(added != nullptr);
  BOOST_CHECK(added->find(name_key(wire("early.added.test."))) == nullptr);   // went with it
  BOOST_CHECK(added->find(name_key(wire("last.added.test."))) != nullptr);
}

// A random mix of UPDATEs, zone adds, removals and readmissions, run three ways: one op at a
// time, as op batches of random sizes, and by a replica restored from the first one's
// checkpoint at random points. Every way must reach the same state, op for op (the zone-list
// ops reshape what a batch edits: a stale index or a value read before the batch's edits were
// sealed shows up here as a difference).
BOOST_AUTO_TEST_CASE(random_zone_list_changes_agree_however_they_run) {
  ZoneSet with_added = test_zones();
  with_added.zones.push_back(load_zone_text(added_zone, "added.test."));
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      std::mt19937 rng(seed);
      std::vector<std::string> ops;
      uint16_t id = 0;
      for (int i = 0; i < 60; ++i) {
        const std::string n = std::to_string(i);
        switch (rng() % 8) {
          case 0:
            ops.push_back(add_op(added_zone, "added.test."));
            break;
          case 1:
            ops.push_back(remove_op(rng() % 3 ? "added.test." : "other.test."));
            break;
          case 2:
            ops.push_back(readmit_op(rng() % 3 ? "added.test." : "other.test."));
            break;
          case 3:
          case 4: {
            std::string name = "a";
            name += n;
            name += ".added.test.";
            ops.push_back(request_in(with_added, "added.test.", {rec(name + " IN A 192.0.2.1")},
                                     ++id, 1000 + uint64_t(i)));
            break;
          }
          case 5: {
            std::string name = "o";
            name += n;
            name += ".other.test.";
            ops.push_back(request_in(with_added, "other.test.", {rec(name + " IN A 192.0.2.2")},
                                     ++id, 1000 + uint64_t(i)));
            break;
          }
          default: {
            std::string name = "e";
            name += n;
            name += ".example.test.";
            ops.push_back(request({}, {rec(name + " IN A 192.0.2.3")}, ++id, 1000 + uint64_t(i)));
          }
        }
      }
      ZoneService single(test_zones()), batched(test_zones()), restored(test_zones());
      std::vector<int> single_rcodes, batched_rcodes;
      for (const auto& op : ops) single_rcodes.push_back(rcode_of(single.execute(op)));
      for (std::size_t at = 0; at < ops.size();) {
        const std::size_t n = std::min<std::size_t>(1 + rng() % 7, ops.size() - at);
        const std::vector<std::string> part(ops.begin() + std::ptrdiff_t(at),
                                            ops.begin() + std::ptrdiff_t(at + n));
        for (int r : rcodes_of_batch(batched.execute(batch_of(part)))) batched_rcodes.push_back(r);
        at += n;
      }
      BOOST_TEST(batched_rcodes == single_rcodes);
      BOOST_CHECK(parts_of(batched) == parts_of(single));
      // Restored from a checkpoint of a replica that ran the first k ops, then the rest.
      ZoneService prefix(test_zones());
      const std::size_t k = rng() % ops.size();
      for (std::size_t i = 0; i < k; ++i) prefix.execute(ops[i]);
      restored.restore(parts_of(prefix));
      for (std::size_t i = k; i < ops.size(); ++i) restored.execute(ops[i]);
      BOOST_CHECK(parts_of(restored) == parts_of(single));
      BOOST_CHECK(restored.removed_zones() == single.removed_zones());
    }
  }
}
