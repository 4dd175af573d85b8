// Micro-benchmark of the per-UPDATE CPU cost in dns/ (issue #4): TSIG verify + sign, zone
// apply (add / delete / CAS) on a large zone, and ZoneService::execute including the op
// decode and dedupe bookkeeping. No network, no CAF.
//
//   dns_update_micro <case> [zone_records] [iterations]
//     case: tsig | add | delete | cas | execute | batch
//
// `batch` runs the same adds as `execute`, but packed 32 to an op batch (protocol/op_batch.hpp)
// as a batching vr_client submits them; it still prints ns per UPDATE, so the two compare.
//
// Build (Release, not part of `all`): cmake --build build --target dns_update_micro
// Prints ns per iteration. For stable numbers on a shared machine, count instructions:
//   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*run_case*'
//            build/bench/dns_update_micro add 100000 2000
// then callgrind_annotate's PROGRAM TOTALS / iterations = instructions per UPDATE. Zone and
// message construction happen outside run_case*, so only the measured loop is counted.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "dns/name.hpp"
#include "dns/query_parser.hpp"
#include "dns/record.hpp"
#include "dns/tsig.hpp"
#include "dns/update.hpp"
#include "dns/update_apply.hpp"
#include "dns/update_request.hpp"
#include "dns/zone.hpp"
#include "dns/zone_service.hpp"
#include "protocol/op_batch.hpp"

namespace {

using namespace vrdns::dns;

std::string wire(const std::string& text) { return *name_from_text(text); }

std::string a_rdata(uint32_t x) {
  return std::string{char(10), char(x >> 16), char(x >> 8), char(x)};
}

/// "<prefix><i>.example.test." in wire form. (Built with += : GCC 12's -Wrestrict misfires on
/// "literal" + std::to_string(i).)
std::string numbered(const char* prefix, uint32_t i) {
  std::string text = prefix;
  text += std::to_string(i);
  text += ".example.test.";
  return wire(text);
}

std::string host(uint32_t i) { return numbered("h", i); }

/// example.test with SOA, NS and `n` A records at h0..h(n-1).
ZonePtr make_zone(uint32_t n) {
  const std::string apex = wire("example.test.");
  ZoneEditor ed(apex);
  std::string soa = wire("ns1.example.test.") + wire("admin.example.test.");
  for (uint32_t v : {1u, 3600u, 600u, 86400u, 300u})
    for (int s = 24; s >= 0; s -= 8) soa += char(v >> s);
  ed.add(Record{apex, rrtype::SOA, rrclass::IN, 3600, soa});
  ed.add(Record{apex, rrtype::NS, rrclass::IN, 3600, wire("ns1.example.test.")});
  for (uint32_t i = 0; i < n; ++i) ed.add(Record{host(i), rrtype::A, rrclass::IN, 300, a_rdata(i)});
  return ed.finish();
}

UpdateOp op(UpdateKind kind, Record rr) { return UpdateOp{kind, std::move(rr)}; }

/// The class-NONE RR (RFC 2136 §2.5.4) that deletes h<i>'s original A record.
Record delete_host(uint32_t i) { return Record{host(i), rrtype::A, rrclass::NONE, 0, a_rdata(i)}; }

Update add_update(uint32_t i) {
  Update u;
  u.zone = wire("example.test.");
  u.updates.push_back(op(UpdateKind::add, Record{numbered("new", i),
                                                  rrtype::A, rrclass::IN, 300, a_rdata(i)}));
  return u;
}

Update delete_update(uint32_t i) {
  Update u;
  u.zone = wire("example.test.");
  u.updates.push_back(op(UpdateKind::delete_record, delete_host(i)));
  return u;
}

/// Compare-and-swap: "h<i> A is exactly old", then replace old by new.
Update cas_update(uint32_t i) {
  Update u;
  u.zone = wire("example.test.");
  u.prerequisites.push_back(Prerequisite{PrereqKind::rrset_exists_value,
                                         Record{host(i), rrtype::A, rrclass::IN, 0, a_rdata(i)}});
  u.updates.push_back(op(UpdateKind::delete_record, delete_host(i)));
  u.updates.push_back(
      op(UpdateKind::add, Record{host(i), rrtype::A, rrclass::IN, 300, a_rdata(i + 1)}));
  return u;
}

volatile uint64_t sink = 0;

// noinline so callgrind's --toggle-collect can isolate the measured loops.
[[gnu::noinline]] void run_case_apply(ZonePtr zone, const std::vector<Update>& updates) {
  for (const Update& u : updates) {
    UpdateResult r = apply_update(zone, u);
    if (!r.changed || r.rcode != 0) std::abort();   // every case is built to change the zone
    zone = std::move(r.zone);   // chained like a replica: the old version is dropped
  }
  sink = sink + zone->record_count();
}

[[gnu::noinline]] void run_case_execute(ZoneService& svc, const std::vector<std::string>& ops) {
  for (const std::string& o : ops) sink = sink + svc.execute(o).size();
}

/// The op `execute` and `batch` submit for the i-th UPDATE: add new<i>, from its own client.
std::string add_request(uint32_t i) {
  UpdateRequest req;
  req.client.address = std::string{char(127), 0, 0, 1};
  req.client.port = uint16_t(10000 + i % 50000);
  req.client.dns_id = uint16_t(i);
  req.client.key_name = wire("key.example.");
  req.client.message_hash = 0x9e3779b97f4a7c15ull * (i + 1);
  req.receive_time_ms = 1'000'000 + i;
  req.update = encode(add_update(i));
  return encode(req);
}

[[gnu::noinline]] void run_case_tsig(const std::vector<std::vector<uint8_t>>& msgs,
                                     const Keyring& keys, int64_t now) {
  for (const auto& m : msgs) {
    const TsigVerdict v = verify_request(m.data(), m.size(), keys, now);
    if (v.status != TsigStatus::ok) std::abort();
    std::vector<uint8_t> reply(m.begin(), m.begin() + 12);
    reply[2] |= 0x80;
    reply[10] = reply[11] = 0;
    reply.resize(12);
    if (!sign_reply(reply, v, keys, now)) std::abort();
    sink = sink + reply.size();
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s tsig|add|delete|cas|execute|batch [zone_records] [iterations]\n",
                 argv[0]);
    return 2;
  }
  const std::string which = argv[1];
  const uint32_t n = argc > 2 ? uint32_t(std::strtoul(argv[2], nullptr, 10)) : 10000;
  const uint32_t iters = argc > 3 ? uint32_t(std::strtoul(argv[3], nullptr, 10)) : 10000;
  if ((which == "delete" || which == "cas") && iters > n) {
    std::fprintf(stderr, "delete/cas need iterations <= zone_records\n");
    return 2;
  }

  if (which == "tsig") {
    Keyring keys;
    keys.add("key.example.", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=");
    const int64_t now = 1'700'000'000;
    std::vector<std::vector<uint8_t>> msgs;
    for (uint32_t i = 0; i < iters; ++i) {
      // An UPDATE-sized message: header + zone + one add (contents do not matter to TSIG).
      std::vector<uint8_t> m{uint8_t(i >> 8), uint8_t(i), 0x28, 0, 0, 1, 0, 0, 0, 1, 0, 0};
      const std::string z = wire("example.test.");
      m.insert(m.end(), z.begin(), z.end());
      m.insert(m.end(), {0, 6, 0, 1});
      const std::string o = numbered("new", i);
      m.insert(m.end(), o.begin(), o.end());
      m.insert(m.end(), {0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 10, 0, 0, 1});
      if (!sign_request(m, wire("key.example."), keys, now)) std::abort();
      msgs.push_back(std::move(m));
    }
    const auto t0 = std::chrono::steady_clock::now();
    run_case_tsig(msgs, keys, now);
    const auto t1 = std::chrono::steady_clock::now();
    std::printf("tsig: %.0f ns/iter (verify + sign reply, hmac-sha256)\n",
                double(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()) /
                    iters);
  } else if (which == "execute" || which == "batch") {
    ZoneSet set;
    set.zones.push_back(make_zone(n));
    ZoneService svc(set);
    // OpenSSL loads its provider on the first fetch (millions of instructions, once per
    // process): do it here so the loop measures the steady state.
    (void)ZoneService::dedupe_key(ClientIdentity{});
    std::vector<std::string> singles;
    for (uint32_t i = 0; i < iters; ++i) singles.push_back(add_request(i));
    std::vector<std::string> ops;
    if (which == "execute") {
      ops = std::move(singles);
    } else {
      constexpr std::size_t per_batch = 32;
      for (std::size_t i = 0; i < singles.size(); i += per_batch) {
        const std::size_t end = std::min(singles.size(), i + per_batch);
        ops.push_back(vrdns::protocol::encode_op_batch(
            std::vector<std::string_view>(singles.begin() + std::ptrdiff_t(i),
                                          singles.begin() + std::ptrdiff_t(end))));
      }
    }
    const auto t0 = std::chrono::steady_clock::now();
    run_case_execute(svc, ops);
    const auto t1 = std::chrono::steady_clock::now();
    if (svc.zones()->zones[0]->record_count() != std::size_t(n) + 2 + iters) std::abort();
    std::printf("%s: %.0f ns/UPDATE (decode + dedupe + add on %u records%s)\n", which.c_str(),
                double(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()) /
                    iters,
                n, which == "batch" ? ", 32 per op batch" : "");
  } else {
    ZonePtr zone = make_zone(n);
    std::vector<Update> updates;
    for (uint32_t i = 0; i < iters; ++i)
      updates.push_back(which == "add" ? add_update(i)
                        : which == "delete" ? delete_update(i)
                                            : cas_update(i));
    if (which != "add" && which != "delete" && which != "cas") {
      std::fprintf(stderr, "unknown case %s\n", which.c_str());
      return 2;
    }
    const auto t0 = std::chrono::steady_clock::now();
    run_case_apply(zone, updates);
    const auto t1 = std::chrono::steady_clock::now();
    std::printf("%s: %.0f ns/iter (apply_update on %u records)\n", which.c_str(),
                double(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()) /
                    iters,
                n);
  }
  return 0;
}
