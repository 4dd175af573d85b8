// An op batch through ZoneService::execute edits one private version of each zone and seals
// it once (dns/zone_service.cpp, BatchEdits), undoing failed and no-op UPDATEs with the
// ZoneEditor's journal (mark/rollback/keep). It must be indistinguishable from running the
// same UPDATEs as ops of their own: this test runs random UPDATE streams both ways and
// compares replies, zones (down to stored record order and owner spelling) and checkpoints.
#define BOOST_TEST_MODULE test_zone_batch_execute
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dns/name.hpp"
#include "dns/query_parser.hpp"
#include "dns/record.hpp"
#include "dns/update.hpp"
#include "dns/update_apply.hpp"
#include "dns/update_request.hpp"
#include "dns/zone.hpp"
#include "dns/zone_impl.hpp"   // only to build a big fixture fast (with_full_rrset)
#include "dns/zone_service.hpp"
#include "protocol/checkpoint.hpp"
#include "protocol/op_batch.hpp"
#include "tests/unit/update_messages.hpp"   // last: it includes ldns (docs/pitfalls.md)

using namespace vrdns::dns;

namespace {

using update_test::wire;

std::string a_rdata(uint32_t v) {
  return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

std::string soa_rdata(const std::string& apex_text, uint32_t serial) {
  std::string rd = wire("ns1." + apex_text) + wire("admin." + apex_text);
  for (uint32_t v : {serial, 3600u, 600u, 86400u, 300u})
    for (int s = 24; s >= 0; s -= 8) rd += char(v >> s);
  return rd;
}

/// Everything a query, a transfer or a checkpoint could tell apart about a zone: every node
/// in key order with its owner spelling, child count and RRsets (records in stored order,
/// which is the order answers list them in), plus the counters and the serial.
std::string dump(const Zone& z) {
  std::vector<std::pair<std::string, std::string>> nodes;
  z.for_each_node([&](const Node& n) {
    std::string d = n.owner;
    d += "|children=" + std::to_string(n.children);
    for (const RRset& rs : n.rrsets) {
      d += "|type=" + std::to_string(rs.type) + ",ttl=" + std::to_string(rs.ttl) +
           ",count=" + std::to_string(rs.count) + ",";
      d += rs.rdatas;
    }
    nodes.emplace_back(name_key(n.owner), std::move(d));
  });
  std::sort(nodes.begin(), nodes.end());
  std::string out = "nodes=" + std::to_string(z.node_count()) +
                    " records=" + std::to_string(z.record_count()) +
                    " serial=" + std::to_string(z.serial()) + "\n";
  for (const auto& [key, d] : nodes) out += d + "\n";
  return out;
}

ZonePtr make_zone(const std::string& apex_text, uint32_t serial,
                  const std::vector<Record>& records) {
  const std::string apex = wire(apex_text);
  ZoneEditor ed(apex);
  ed.add(Record{apex, rrtype::SOA, rrclass::IN, 3600, soa_rdata(apex_text, serial)});
  ed.add(Record{apex, rrtype::NS, rrclass::IN, 3600, wire("ns1." + apex_text)});
  for (const Record& r : records) ed.add(r);
  return ed.finish();
}

Record a_record(const std::string& owner_text, uint32_t v, uint32_t ttl = 300) {
  return Record{wire(owner_text), rrtype::A, rrclass::IN, ttl, a_rdata(v)};
}

// The big zone holds one RRset a record short of the store's limit of 65535, so that a
// couple of adds in one UPDATE make it throw midway (SERVFAIL), after earlier edits of the
// same UPDATE already happened: exactly what must leave no trace.
constexpr uint32_t full_base = 0x0A000000;
constexpr uint32_t full_size = 65534;

/// `z` with full.big.test.'s A RRset grown to full_size records. Written into a copy of the
/// snapshot's trie directly: ZoneEditor::add checks each record against the whole RRset, so
/// adding them one by one costs O(n^2), minutes at -O0.
ZonePtr with_full_rrset(const ZonePtr& z) {
  auto impl = std::make_shared<Zone::Impl>(*z->impl());   // shares the trie's nodes
  const std::string key = name_key(wire("full.big.test."));
  Node* n = impl->trie.edit_present(key, name_hash(key));   // path-copied, z stays as it was
  BOOST_REQUIRE(n->rrsets.size() == 1 && n->rrsets[0].count == 1);
  RRset& rs = n->rrsets[0];
  for (uint32_t i = 1; i < full_size; ++i) {
    rs.rdatas += std::string{char(0), char(4)};
    rs.rdatas += a_rdata(full_base + i);
  }
  rs.count = uint16_t(full_size);
  impl->record_count += full_size - 1;
  impl->apex_node = impl->trie.find(impl->apex_key, name_hash(impl->apex_key));
  impl->soa = impl->apex_node->find(rrtype::SOA);
  auto out = std::make_shared<const Zone>(std::shared_ptr<const Zone::Impl>(std::move(impl)));
  validate_zone(*out, "big.test");
  BOOST_REQUIRE_EQUAL(out->records().size(), out->record_count());
  return out;
}

ZoneSet initial_zones() {
  ZoneSet set;
  set.zones.push_back(make_zone("example.test.", 100,
                                {a_record("n0.example.test.", 1), a_record("n1.example.test.", 2),
                                 a_record("n1.example.test.", 3),
                                 a_record("x.sub0.example.test.", 4),
                                 Record{wire("c0.example.test."), rrtype::CNAME, rrclass::IN, 300,
                                        wire("n0.example.test.")}}));
  set.zones.push_back(make_zone("other.test.", 7, {a_record("n0.other.test.", 9)}));
  set.zones.push_back(with_full_rrset(make_zone("big.test.", 1, {a_record("full.big.test.",
                                                                          full_base)})));
  return set;
}

/// Random UPDATE streams over small pools of names and values, so that UPDATEs collide:
/// adds of present records, deletes of absent ones, CNAME conflicts, prerequisites that
/// hold or fail depending on what came before.
class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool chance(int percent) { return pick(100) < percent; }

  /// One op of a batch, with the identity and time of a fresh client request (or a resent
  /// one, or something malformed).
  std::string next_op() {
    time_ms_ += uint64_t(pick(50));
    if (chance(1)) time_ms_ += ZoneService::dedupe_window_ms + 1000;   // expire the table
    if (chance(3)) return pick(2) ? std::string("\x01garbage", 8) : std::string();
    if (chance(6) && !sent_.empty()) {
      // A retransmission: the same identity, maybe received later (another front end).
      UpdateRequest req;
      BOOST_REQUIRE(decode(sent_[std::size_t(pick(int(sent_.size())))], req));
      if (chance(50)) req.receive_time_ms = time_ms_;
      return encode(req);
    }
    UpdateRequest req;
    req.client.address = std::string("\x0a\x00\x00\x01", 4);
    req.client.port = uint16_t(1024 + pick(4));
    req.client.dns_id = uint16_t(pick(65536));
    req.client.message_hash = ++message_counter_;
    // A lagging front end's clock: the service keeps op time monotonic regardless.
    req.receive_time_ms = chance(3) && time_ms_ > 500 ? time_ms_ - 500 : time_ms_;
    if (chance(2)) {
      req.update = "\x01\x02";   // not an encoded Update: FORMERR
    } else {
      // The big zone's UPDATEs are the slow ones (each edit of the full RRset scans it).
      const int z = pick(40);
      req.update = encode(z < 29 ? small_zone_update("example.test.")
                          : z < 37 ? small_zone_update("other.test.")
                          : z < 38 ? big_zone_update()
                                   : notauth_update());
    }
    std::string op = encode(req);
    if (chance(5)) op.pop_back();   // truncated: undecodable, SERVFAIL
    else sent_.push_back(op);
    if (sent_.size() > 200) sent_.erase(sent_.begin());
    return op;
  }

 private:
  /// A name of the zone from a small pool, sometimes in another case (spelling is data:
  /// the owner of a new name, or of an empty non-terminal that gets records).
  std::string name(const std::string& apex_text) {
    static const char* const labels[] = {"", "n0.", "n1.", "n2.", "n3.", "c0.", "c1.",
                                         "x.sub0.", "x.sub1.", "y.x.sub0.", "sub1."};
    std::string text = labels[pick(11)] + apex_text;
    if (chance(15))
      for (char& c : text)
        if (c >= 'a' && c <= 'z' && chance(50)) c = char(c - 'a' + 'A');
    return wire(text);
  }

  Record data(const std::string& apex_text, const std::string& owner) {
    const int t = pick(100);
    const uint32_t ttl = chance(80) ? 300 : 600;
    if (t < 55) return Record{owner, rrtype::A, rrclass::IN, ttl, a_rdata(1 + uint32_t(pick(5)))};
    if (t < 75) {
      std::string txt(1, char(3));
      txt += "t" + std::to_string(pick(4)) + "x";
      return Record{owner, rrtype::TXT, rrclass::IN, ttl, txt};
    }
    if (t < 87) {
      std::string target = name(apex_text);
      return Record{owner, rrtype::CNAME, rrclass::IN, ttl, target};
    }
    if (t < 93) {
      std::string mx{char(0), char(10 * (1 + pick(2)))};
      mx += name(apex_text);
      return Record{owner, rrtype::MX, rrclass::IN, ttl, mx};
    }
    if (t < 97) return Record{owner, rrtype::NS, rrclass::IN, 3600, wire("ns" +
                                  std::to_string(1 + pick(3)) + "." + apex_text)};
    // An SOA: ignored unless at the apex with a newer serial (then it replaces the serial
    // bump); serials both above and below the current one.
    return Record{owner, rrtype::SOA, rrclass::IN, 3600,
                  soa_rdata(apex_text, 90 + uint32_t(pick(400)))};
  }

  /// classify_update sets the kind from the class, as the front end's parser does.
  void add_op(Update& u, Record rr) {
    UpdateOp op{{}, std::move(rr)};
    BOOST_REQUIRE_EQUAL(int(classify_update(op.rr, u.zone, op.kind)), int(rcode::NOERROR));
    u.updates.push_back(std::move(op));
  }

  /// `rr` turned into an update of the given class (RFC 2136 §2.5: ANY without RDATA
  /// deletes an RRset or, with type ANY, a name; NONE deletes one record).
  void delete_op(Update& u, Record rr, uint16_t rclass, bool whole_name = false) {
    rr.rclass = rclass;
    rr.ttl = 0;
    if (rclass == rrclass::ANY) rr.rdata.clear();
    if (whole_name) rr.type = rrtype::ANY;
    UpdateOp op{{}, std::move(rr)};
    BOOST_REQUIRE_EQUAL(int(classify_update(op.rr, u.zone, op.kind)), int(rcode::NOERROR));
    u.updates.push_back(std::move(op));
  }

  void prereq(Update& u, Record rr, uint16_t rclass, bool any_type) {
    rr.rclass = rclass;
    rr.ttl = 0;
    if (rclass != rrclass::IN) rr.rdata.clear();
    if (any_type) rr.type = rrtype::ANY;
    Prerequisite p{{}, std::move(rr)};
    BOOST_REQUIRE_EQUAL(int(classify_prerequisite(p.rr, u.zone, p.kind)), int(rcode::NOERROR));
    u.prerequisites.push_back(std::move(p));
  }

  Update small_zone_update(const std::string& apex_text) {
    Update u;
    u.zone = name_key(wire(apex_text));
    if (chance(30)) {
      const int n = 1 + pick(2);
      for (int i = 0; i < n; ++i) {
        const Record rr = data(apex_text, name(apex_text));
        switch (pick(5)) {
          case 0: prereq(u, rr, rrclass::ANY, false); break;   // RRset exists
          case 1: prereq(u, rr, rrclass::NONE, false); break;  // RRset absent
          case 2: prereq(u, rr, rrclass::ANY, true); break;    // name in use
          case 3: prereq(u, rr, rrclass::NONE, true); break;   // name not in use
          default: prereq(u, rr, rrclass::IN, false); break;   // RRset has this value
        }
      }
    }
    const int ops = 1 + pick(4);
    for (int i = 0; i < ops; ++i) {
      const Record rr = data(apex_text, name(apex_text));
      const int k = pick(100);
      if (k < 50) {
        add_op(u, rr);
      } else if (k < 70) {
        delete_op(u, rr, rrclass::NONE);
      } else if (k < 82) {
        delete_op(u, rr, rrclass::ANY);
      } else if (k < 90) {
        delete_op(u, rr, rrclass::ANY, true);
      } else {
        // Add and take back in one UPDATE: usually no change at all (no serial bump), though
        // the record may have been there before, or the RRset gets another TTL.
        add_op(u, rr);
        delete_op(u, rr, rrclass::NONE);
      }
    }
    return u;
  }

  /// Edits around the RRset at the store's limit: some succeed, some throw midway.
  Update big_zone_update() {
    Update u;
    u.zone = name_key(wire("big.test."));
    const std::string full = wire("full.big.test.");
    if (chance(60)) add_op(u, a_record("s" + std::to_string(pick(3)) + ".big.test.", 7));
    const int ops = 1 + pick(3);
    for (int i = 0; i < ops; ++i) {
      const uint32_t v = chance(60) ? full_base + full_size + uint32_t(pick(4))   // new ones
                                    : full_base + uint32_t(pick(4));               // original
      Record rr{full, rrtype::A, rrclass::IN, 300, a_rdata(v)};
      if (chance(70)) add_op(u, rr);
      else delete_op(u, rr, rrclass::NONE);
    }
    return u;
  }

  Update notauth_update() {
    Update u;
    u.zone = name_key(wire("nowhere.test."));
    add_op(u, a_record("www.nowhere.test.", 1));
    return u;
  }

  std::mt19937 rng_;
  uint64_t time_ms_ = 1'000'000;
  uint64_t message_counter_ = 0;
  std::vector<std::string> sent_;
};

uint8_t rcode_of(const std::string& reply) {
  UpdateReply r;
  BOOST_REQUIRE(decode(reply, r));
  return r.rcode;
}

void require_same_zones(const ZoneService& batched, const ZoneService& single,
                        std::size_t batch_no) {
  const ZoneSetPtr a = batched.zones(), b = single.zones();
  BOOST_REQUIRE_EQUAL(a->zones.size(), b->zones.size());
  for (std::size_t i = 0; i < a->zones.size(); ++i) {
    if (a->zones[i] == b->zones[i]) continue;   // both still the initial snapshot
    BOOST_REQUIRE_MESSAGE(dump(*a->zones[i]) == dump(*b->zones[i]),
                          "zone " << name_to_text(a->zones[i]->apex()) << " differs after batch "
                                  << batch_no);
  }
  BOOST_REQUIRE_EQUAL(batched.dedupe_table_size(), single.dedupe_table_size());
}

void require_same_checkpoint(const ZoneService& batched, const ZoneService& single) {
  const auto pa = batched.freeze()->parts();
  const auto pb = single.freeze()->parts();
  BOOST_REQUIRE_EQUAL(pa.size(), pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) {
    BOOST_REQUIRE_EQUAL(pa[i].name, pb[i].name);
    BOOST_REQUIRE_MESSAGE(pa[i].bytes == pb[i].bytes, "checkpoint part " << pa[i].name);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_op_batch_is_indistinguishable_from_its_ops_one_by_one) {
  const ZoneSet initial = initial_zones();
  // What the streams exercised, judged on the one-by-one side: each must occur, or the
  // comparison proves little.
  std::map<std::string, int> seen;

  for (const uint32_t seed : {1u, 2u, 3u}) {
    ZoneService batched(initial), single(initial);
    Gen gen(seed);
    for (std::size_t batch_no = 0; batch_no < 150; ++batch_no) {
      const int count = 1 + gen.pick(gen.chance(20) ? 5 : 60);
      std::vector<std::string> ops;
      for (int i = 0; i < count; ++i) ops.push_back(gen.next_op());

      std::vector<std::string> replies;
      std::vector<ZoneService::DedupeKey> clients_single, clients_batched;
      for (const std::string& op : ops) {
        const ZoneSetPtr before = single.zones();
        const std::size_t table_before = single.dedupe_table_size();
        replies.push_back(single.execute(op, &clients_single));
        const uint8_t rc = rcode_of(replies.back());
        const bool changed = single.zones() != before;
        // The table grows by one for every op that ran (it only shrinks by expiry, which
        // the batches trigger rarely enough not to blur these statistics much).
        const bool ran = single.dedupe_table_size() > table_before;
        UpdateRequest req;
        if (!decode(op, req)) ++seen["malformed op"];
        else if (!ran) ++seen["answered from the dedupe table"];
        else if (changed) ++seen["changed the zone"];
        else if (rc == rcode::NOERROR) ++seen["no-op"];
        else if (rc == rcode::SERVFAIL) ++seen["store limit hit midway"];
        else if (rc == rcode::FORMERR) ++seen["undecodable update"];
        else if (rc == rcode::NOTAUTH) ++seen["zone not served"];
        else ++seen["prerequisite failed"];
        BOOST_REQUIRE(!changed || rc == rcode::NOERROR);
      }
      const std::string expected = vrdns::protocol::encode_op_batch(
          std::vector<std::string_view>(replies.begin(), replies.end()));
      const std::string got = batched.execute(
          vrdns::protocol::encode_op_batch(std::vector<std::string_view>(ops.begin(), ops.end())),
          &clients_batched);

      BOOST_REQUIRE_MESSAGE(got == expected, "replies differ in batch " << batch_no
                                                 << " of seed " << seed);
      BOOST_REQUIRE(clients_batched == clients_single);
      require_same_zones(batched, single, batch_no);
      if (batch_no % 50 == 49) require_same_checkpoint(batched, single);
    }
    require_same_checkpoint(batched, single);
  }

  for (const auto& [what, n] : seen) BOOST_TEST_MESSAGE(what << ": " << n);
  for (const char* what : {"malformed op", "answered from the dedupe table", "changed the zone",
                           "no-op", "store limit hit midway", "undecodable update",
                           "zone not served", "prerequisite failed"})
    BOOST_TEST(seen[what] >= 20, what << " happened " << seen[what] << " times");
}

// The journal on its own: rollback() must restore names it removed, names it created
// (with the empty non-terminals above them) and names it respelled, and find_at_mark()
// must show the state at mark() throughout.
BOOST_AUTO_TEST_CASE(rollback_restores_exactly_the_marked_state) {
  const ZonePtr base = make_zone("example.test.", 5,
                                 {a_record("n0.example.test.", 1), a_record("n0.example.test.", 2),
                                  a_record("x.sub0.example.test.", 3)});
  ZoneEditor ed(base);
  const std::string n0 = name_key(wire("n0.example.test."));
  const std::string sub0 = name_key(wire("sub0.example.test."));
  const std::string deep = name_key(wire("a.b.c.example.test."));

  ed.mark();
  ed.remove_record(Record{wire("n0.example.test."), rrtype::A, rrclass::NONE, 0, a_rdata(1)});
  ed.add(a_record("n0.example.test.", 1));   // back, but now after 2 in stored order
  ed.add(a_record("SUB0.example.test.", 9));   // the ENT gets records and a new spelling
  ed.add(a_record("a.b.c.example.test.", 4));  // a new name and two new ENTs
  ed.remove_name(wire("x.sub0.example.test."));
  ed.replace_rrset(Record{wire("example.test."), rrtype::SOA, rrclass::IN, 60,
                          soa_rdata("example.test.", 6)});

  BOOST_TEST(ed.find(deep) != nullptr);
  BOOST_TEST(ed.find_at_mark(deep) == nullptr);
  BOOST_REQUIRE(ed.find_at_mark(sub0) != nullptr);
  BOOST_TEST(ed.find_at_mark(sub0)->owner == wire("sub0.example.test."));
  BOOST_TEST(ed.find_at_mark(sub0)->rrsets.empty());
  BOOST_TEST(ed.find_at_mark(n0)->rrsets.at(0).rdatas ==
             base->find(n0)->rrsets.at(0).rdatas);   // stored order at the mark
  BOOST_TEST(ed.find(n0)->rrsets.at(0).rdatas != base->find(n0)->rrsets.at(0).rdatas);

  ed.rollback();
  BOOST_TEST(dump(*ed.finish()) == dump(*base));
}

BOOST_AUTO_TEST_CASE(kept_steps_equal_the_same_edits_without_marks) {
  const ZonePtr base = make_zone("example.test.", 5, {a_record("x.sub0.example.test.", 3)});
  ZoneEditor marked(base), plain(base);
  // Step 1 kept, step 2 rolled back, step 3 kept: only 1 and 3 may show.
  marked.mark();
  marked.add(a_record("a.b.example.test.", 1));
  plain.add(a_record("a.b.example.test.", 1));
  marked.keep();
  marked.mark();
  marked.remove_name(wire("x.sub0.example.test."));
  marked.add(a_record("a.b.example.test.", 2));
  marked.rollback();
  marked.mark();
  marked.remove_name(wire("a.b.example.test."));
  plain.remove_name(wire("a.b.example.test."));
  marked.add(a_record("Q.example.test.", 5));
  plain.add(a_record("Q.example.test.", 5));
  marked.keep();
  BOOST_TEST(dump(*marked.finish()) == dump(*plain.finish()));
}
