// The chaos test: 3 vrdns nodes, concurrent UPDATE clients, a nemesis that kills and pauses
// nodes (tests/chaos/chaos_run.hpp), then checks on the healed cluster:
//   (a) every acknowledged add is served by every node; no definitely failed add by any;
//   (b) all nodes serve the same SOA serial and the same data for every name in the history,
//       and the serial moved by exactly the number of updates that took effect;
//   (c) the CAS history on cas.example.test. TXT is linearizable (tests/chaos/cas_checker.hpp).
// Usage: vrdns-chaos <vrdns binary> <zone file> [seconds=60] [seed=1] [--inject-lost-ack]
// --inject-lost-ack adds to the history an acknowledged add that was never sent and an
// acknowledged CAS that never happened: the checks must then fail (ctest
// chaos_detects_injected_violation expects both violations in the output), proving they can.
// Exit 0: all checks passed; 1: a violation (printed, work dir with node logs and the history
// kept); 2: the test could not run.
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "tests/chaos/cas_checker.hpp"
#include "tests/chaos/chaos_run.hpp"
#include "tests/chaos/cluster.hpp"
#include "tests/chaos/update_client.hpp"

using namespace vrdns::chaos;
using namespace std::chrono_literals;

namespace {

constexpr uint16_t type_a = 1, type_txt = 16;
const ClientKey key{"update-key.", "uqjV+TYQBrS28PCMsYonX//TMmtt4GFvzp50/uVRovI="};

/// Collects violations; the first few are printed in full.
struct Verdict {
  std::vector<std::string> violations;
  void fail(const std::string& what) { violations.push_back(what); }
  bool ok() const { return violations.empty(); }
};

/// The set of strings node `port` serves for name/type (A as dotted quads, TXT as text);
/// nullopt if the node did not answer.
std::optional<std::set<std::string>> served(uint16_t port, const std::string& name, uint16_t type) {
  for (int attempt = 0; attempt < 3; ++attempt) {   // UDP on loopback: a lost packet is rare
    const QueryAnswer a = query(port, name, type, 1000ms);
    if (!a.answered) continue;
    std::set<std::string> out;
    for (const auto& rd : a.rdatas) out.insert(type == type_a ? a_text(rd) : txt_text(rd).value_or("?"));
    return out;
  }
  return std::nullopt;
}

std::string show(const std::optional<std::set<std::string>>& s) {
  if (!s) return "(no answer)";
  std::string out = "{";
  for (const auto& v : *s) out += (out.size() > 1 ? ", " : "") + v;
  return out + "}";
}

/// Sets the CAS register to its initial value before the load starts.
bool init_cas(Cluster& cluster) {
  UpdateClient client(key);
  const Bytes msg = client.sign(UpdateBuilder(chaos_zone)
                                    .require_absent(cas_name, type_txt)
                                    .add(cas_name, type_txt, 300, txt_rdata(cas_initial))
                                    .build(1));
  const UpdateResult r = client.send(msg, cluster.dns_ports(), 3000ms);
  return r.outcome == Outcome::acked;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: vrdns-chaos <vrdns binary> <zone file> [seconds=60] [seed=1] [--inject-lost-ack]\n";
    return 2;
  }
  RunOptions opt;
  const bool inject = argc > 5 && std::string(argv[5]) == "--inject-lost-ack";
  try {
    if (argc > 3) opt.duration = std::chrono::seconds(std::stoi(argv[3]));
    if (argc > 4) opt.seed = std::stoull(argv[4]);
  } catch (const std::exception&) {
    std::cerr << "vrdns-chaos: seconds and seed must be numbers\n";
    return 2;
  }
  char tmpl[] = "/tmp/vrdns-chaos-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    std::cerr << "vrdns-chaos: mkdtemp failed\n";
    return 2;
  }
  const std::string work = tmpl;
  std::cout << "chaos: seed=" << opt.seed << " seconds=" << opt.duration.count() << " work_dir=" << work
            << std::endl;

  Verdict v;
  History h;
  int term_failures = 0;
  try {
    ClusterOptions co;
    co.vrdns = std::filesystem::absolute(argv[1]).string();
    co.zone_file = std::filesystem::absolute(argv[2]).string();
    co.work_dir = work;
    co.key = key;
    Cluster cluster(co);
    if (!cluster.wait_converged(20s)) {
      std::cerr << "vrdns-chaos: cluster not normal at start:\n" << cluster.last_statuses();
      return 2;
    }
    const auto serial0 = query_serial(cluster.dns_port(0), chaos_zone);
    if (!serial0 || !init_cas(cluster)) {
      std::cerr << "vrdns-chaos: cannot read the serial or set the CAS register\n";
      return 2;
    }

    h = run_chaos(cluster, key, opt);
    if (inject) {
      OpRecord lost;
      lost.kind = OpKind::add;
      lost.outcome = Outcome::acked;
      lost.rcode = 0;
      lost.name = "never-sent." + chaos_zone;
      lost.value = "10.255.255.255";
      h.ops.push_back(lost);
      OpRecord cas = lost;
      cas.kind = OpKind::cas;
      cas.name = cas_name;
      cas.old_value = cas_initial;   // a second "successful" replacement of the initial value
      cas.value = "injected";
      h.ops.push_back(cas);
      std::cout << "injected: an acked add and an acked CAS that never happened" << std::endl;
    }

    // --- heal and converge -------------------------------------------------------------
    if (!cluster.wait_converged(60s))
      v.fail("no convergence within 60 s after healing:\n" + cluster.last_statuses());
    // The front ends publish a commit shortly after the replica executes it: wait (bounded)
    // for the serials to agree before comparing data.
    std::vector<std::optional<uint32_t>> serials;
    for (int attempt = 0; attempt < 50; ++attempt) {
      serials.clear();
      for (int i = 0; i < cluster.size(); ++i) serials.push_back(query_serial(cluster.dns_port(i), chaos_zone));
      if (serials[0] && std::all_of(serials.begin(), serials.end(), [&](auto& s) { return s == serials[0]; }))
        break;
      std::this_thread::sleep_for(100ms);   // polling: no event says "front end published"
    }
    for (int i = 0; i < cluster.size(); ++i)
      if (!serials[std::size_t(i)] || serials[std::size_t(i)] != serials[0])
        v.fail("(b) SOA serials differ: node 0 " + std::to_string(serials[0].value_or(0)) + ", node " +
               std::to_string(i) + " " + std::to_string(serials[std::size_t(i)].value_or(0)));

    // --- (a) + (b): the adds -----------------------------------------------------------
    uint64_t effective = 1;   // init_cas
    for (const OpRecord& op : h.ops) {
      if (op.kind != OpKind::add) continue;
      std::vector<std::optional<std::set<std::string>>> seen;
      for (int i = 0; i < cluster.size(); ++i) seen.push_back(served(cluster.dns_port(i), op.name, type_a));
      const std::set<std::string> want{op.value};
      bool on_all = true, on_none = true;
      for (int i = 0; i < cluster.size(); ++i) {
        on_all = on_all && seen[std::size_t(i)] == want;
        on_none = on_none && seen[std::size_t(i)] == std::set<std::string>{};
        if (seen[std::size_t(i)] != seen[0])
          v.fail("(b) nodes disagree on " + op.name + ": node 0 " + show(seen[0]) + ", node " +
                 std::to_string(i) + " " + show(seen[std::size_t(i)]) + "; op: " + to_text(op));
      }
      if (op.outcome == Outcome::acked && !on_all)
        v.fail("(a) acknowledged add not served everywhere: " + to_text(op) + " served " + show(seen[0]) +
               " " + show(seen[1]) + " " + show(seen[2]));
      if (op.outcome == Outcome::failed && !on_none)
        v.fail("(a) definitely failed add is served: " + to_text(op));
      if (on_all) ++effective;
    }

    // --- (b) + (c): the CAS register ---------------------------------------------------
    std::optional<std::set<std::string>> final_set;
    for (int i = 0; i < cluster.size(); ++i) {
      const auto s = served(cluster.dns_port(i), cas_name, type_txt);
      if (i == 0) final_set = s;
      if (s != final_set)
        v.fail("(b) nodes disagree on " + cas_name + ": node 0 " + show(final_set) + ", node " +
               std::to_string(i) + " " + show(s));
    }
    std::vector<CasOp> cas_ops;
    for (const OpRecord& op : h.ops)
      if (op.kind == OpKind::cas)
        cas_ops.push_back({op.client, op.old_value, op.value, op.outcome, op.rcode, op.start_us, op.end_us});
    if (!final_set || final_set->size() != 1) {
      v.fail("(c) " + cas_name + " TXT must hold exactly one value, node 0 serves " + show(final_set));
    } else {
      const CasCheck c = check_cas_history(cas_initial, *final_set->begin(), cas_ops);
      if (!c.ok) v.fail("(c) CAS history not linearizable: " + c.message);
      effective += c.chain.size();
      std::cout << "cas chain: " << c.chain.size() << " effective ops, final value '"
                << *final_set->begin() << "'" << std::endl;
    }
    if (serials[0] && *serials[0] - *serial0 != effective)
      v.fail("(b) SOA serial moved by " + std::to_string(*serials[0] - *serial0) + " but " +
             std::to_string(effective) + " updates took effect (an update applied twice or a phantom change)");
    if (h.bad_tsig != 0) v.fail(std::to_string(h.bad_tsig) + " replies had a TSIG that did not verify");
    for (const auto& a : h.nemesis)
      if (a.what.find("FAILED") != std::string::npos) v.fail("nemesis: " + to_text(a));

    term_failures = cluster.terminate_all();
    if (term_failures != 0) v.fail("SIGTERM: " + cluster.error());
  } catch (const std::exception& e) {
    std::cerr << "vrdns-chaos: " << e.what() << "\n";
    return 2;
  }

  // --- history file and summary ----------------------------------------------------------
  {
    std::ofstream hist(work + "/history.txt");
    for (const auto& a : h.nemesis) hist << to_text(a) << "\n";
    for (const auto& op : h.ops) hist << to_text(op) << "\n";
  }
  std::map<std::string, int> counts, rcodes;
  int retransmitted = 0;
  for (const auto& op : h.ops) {
    if (op.sends > 1) ++retransmitted;
    ++counts[std::string(op.kind == OpKind::add ? "add " : "cas ") + to_string(op.outcome)];
    ++rcodes["rcode " + std::to_string(op.rcode)];
  }
  std::map<std::string, int> actions;
  for (const auto& a : h.nemesis) ++actions[a.what.substr(0, a.what.find(':'))];
  std::cout << "ops: " << h.ops.size();
  for (const auto& [k, n] : counts) std::cout << ", " << k << "=" << n;
  std::cout << "\nrcodes:";
  for (const auto& [k, n] : rcodes) std::cout << " [" << k << "]=" << n;
  std::cout << "\nnemesis:";
  for (const auto& [k, n] : actions) std::cout << " " << k << "=" << n;
  std::cout << "\nops sent to more than one node: " << retransmitted
            << ", cas reads skipped (no answer): " << h.skipped_reads << "\n";
  for (const auto& a : h.nemesis)
    if (a.what.rfind("warning", 0) == 0) std::cout << to_text(a) << "\n";

  if (!v.ok()) {
    std::cout << v.violations.size() << " VIOLATION(S), seed=" << opt.seed << ":\n";
    for (std::size_t i = 0; i < v.violations.size() && i < 20; ++i) std::cout << "  " << v.violations[i] << "\n";
    if (inject) {   // the expected outcome of a self-check: nothing to keep
      std::error_code ec;
      std::filesystem::remove_all(work, ec);
    } else {
      std::cout << "history and node logs kept in " << work << "\n";
    }
    return 1;
  }
  std::error_code ec;
  std::filesystem::remove_all(work, ec);
  std::cout << "chaos: all checks passed" << std::endl;
  return 0;
}
