// Micro-benchmark of ZoneService checkpoints (issue #5): freeze() on the replica's thread,
// parts() (master files + service.bin) on a writer thread, restore() at start-up or after a
// state transfer. The goal: a node restarting with 1M records answers within 10 s.
//
//   checkpoint_micro [zone_records] [dedupe_entries]      (defaults: 1000000 600000)
//
// Build (Release, not part of `all`): cmake --build build --target checkpoint_micro
// Prints wall-clock milliseconds per step; also times the general ldns loader on the same
// text (what a hand-edited checkpoint costs) for comparison.
#include <time.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dns/master_file.hpp"
#include "dns/name.hpp"
#include "dns/record.hpp"
#include "dns/update_request.hpp"
#include "dns/zone.hpp"
#include "dns/zone_service.hpp"

namespace {

using namespace vrdns::dns;
using clock_type = std::chrono::steady_clock;

std::string wire(const std::string& text) { return *name_from_text(text); }

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

/// CPU time of this thread: on a shared 2-core box, wall time also counts other processes.
double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

/// "<prefix><i>.example.test." in wire form (built with +=: GCC 12's -Wrestrict misfires on
/// "literal" + std::to_string(i)).
std::string numbered(const char* prefix, uint32_t i) {
  std::string text = prefix;
  text += std::to_string(i);
  text += ".example.test.";
  return wire(text);
}

/// example.test with SOA, NS and `n` more records: mostly A, some AAAA, TXT, MX and CNAME,
/// like a large hosting zone.
ZonePtr make_zone(uint32_t n) {
  const std::string apex = wire("example.test.");
  ZoneEditor ed(apex);
  std::string soa = wire("ns1.example.test.") + wire("admin.example.test.");
  for (uint32_t v : {1u, 3600u, 600u, 86400u, 300u})
    for (int s = 24; s >= 0; s -= 8) soa += char(v >> s);
  ed.add(Record{apex, rrtype::SOA, rrclass::IN, 3600, soa});
  ed.add(Record{apex, rrtype::NS, rrclass::IN, 3600, wire("ns1.example.test.")});
  for (uint32_t i = 0; i < n; ++i) {
    Record r{numbered("h", i / 2), rrtype::A, rrclass::IN, 300, {}};
    switch (i % 20) {
      case 0: case 1:
        r.type = rrtype::AAAA;
        r.rdata = std::string("\x20\x01\x0d\xb8", 4) + std::string(8, '\0');
        for (int s = 24; s >= 0; s -= 8) r.rdata += char(i >> s);
        break;
      case 2: case 3:
        r.type = rrtype::TXT;
        r.rdata = "\x15v=spf1 -all id=" + std::to_string(100000 + i % 900000);   // 15 + 6 bytes
        break;
      case 4:
        r.type = rrtype::MX;
        r.rdata = std::string("\x00\x0a", 2) + wire("mail.example.test.");
        break;
      case 5:
        r.owner = numbered("c", i);
        r.type = rrtype::CNAME;
        r.rdata = numbered("h", i / 2);
        break;
      default:
        r.rdata = std::string{char(10), char(i >> 16), char(i >> 8), char(i)};
    }
    ed.add(r);
  }
  ed.add(Record{wire("ns1.example.test."), rrtype::A, rrclass::IN, 3600, std::string("\x0a\x00\x00\x01", 4)});
  return ed.finish();
}

}  // namespace

int main(int argc, char** argv) {
  const uint32_t records = argc > 1 ? uint32_t(std::strtoul(argv[1], nullptr, 10)) : 1'000'000;
  const uint32_t entries = argc > 2 ? uint32_t(std::strtoul(argv[2], nullptr, 10)) : 600'000;

  auto t0 = clock_type::now();
  ZoneSet initial;
  initial.zones.push_back(make_zone(records));
  ZoneService live(initial);
  std::printf("zone: %zu records, %zu names, built in %.0f ms\n",
              initial.zones[0]->record_count(), initial.zones[0]->node_count(), ms_since(t0));

  // Dedupe entries: UPDATEs with an undecodable body (FORMERR, remembered like any other),
  // 10k per second of op time so that all stay within the 60 s window.
  t0 = clock_type::now();
  UpdateRequest req;
  req.client.address = std::string("\x7f\x00\x00\x01", 4);
  req.update = "x";
  for (uint32_t i = 0; i < entries; ++i) {
    req.client.port = uint16_t(i);
    req.client.dns_id = uint16_t(i >> 16);
    req.receive_time_ms = 1'000'000 + i / 10;
    live.execute(encode(req));
  }
  std::printf("dedupe: %zu entries, filled in %.0f ms\n", live.dedupe_table_size(),
              ms_since(t0));

  t0 = clock_type::now();
  double c0 = thread_cpu_ms();
  const auto frozen = live.freeze();
  std::printf("freeze():  %8.1f ms wall %8.1f ms cpu\n", ms_since(t0), thread_cpu_ms() - c0);

  t0 = clock_type::now();
  c0 = thread_cpu_ms();
  const auto parts = frozen->parts();
  const double parts_ms = ms_since(t0), parts_cpu = thread_cpu_ms() - c0;
  std::size_t bytes = 0;
  for (const auto& p : parts) bytes += p.bytes.size();
  std::printf("parts():   %8.1f ms wall %8.1f ms cpu (%zu parts, %.1f MB)\n", parts_ms, parts_cpu,
              parts.size(), double(bytes) / 1e6);

  ZoneService restored(ZoneSet{});
  t0 = clock_type::now();
  c0 = thread_cpu_ms();
  restored.restore(parts);
  std::printf("restore(): %8.1f ms wall %8.1f ms cpu\n", ms_since(t0), thread_cpu_ms() - c0);

  const bool same = restored.freeze()->parts() == parts;
  std::printf("round trip identical: %s\n", same ? "yes" : "NO");

  t0 = clock_type::now();
  const ZonePtr by_ldns = load_zone_text(parts[0].bytes, "example.test.");
  std::printf("ldns loader on the same text: %8.1f ms wall (%zu records)\n", ms_since(t0),
              by_ldns->record_count());
  return same ? 0 : 1;
}
