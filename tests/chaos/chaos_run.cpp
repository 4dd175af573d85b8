#include "tests/chaos/chaos_run.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "tests/chaos/update_client.hpp"

namespace vrdns::chaos {

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint16_t type_a = 1, type_txt = 16;

/// Shared by the threads of one run: the clock origin and the stop signal.
struct RunState {
  Clock::time_point origin = Clock::now();
  Clock::time_point end;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;   // under mu: the nemesis sleeps on cv and must wake at once

  int64_t now_us() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - origin).count();
  }
  bool over() const { return Clock::now() >= end; }
  /// Sleeps up to `d`; returns true if the run was stopped meanwhile.
  bool sleep_unless_stopped(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, d, [this] { return stop; });
  }
};

/// Node order for one op: a random first node, then the others (each node tried once);
/// only the first for a client that does not retransmit.
std::vector<int> try_order(std::mt19937_64& rng, int n, bool retransmit) {
  const int first = int(rng() % uint64_t(n));
  std::vector<int> order;
  for (int k = 0; k < (retransmit ? n : 1); ++k) order.push_back((first + k) % n);
  return order;
}

/// Sends one signed UPDATE in `order` and fills the record's outcome fields.
void send_and_record(UpdateClient& client, const Bytes& msg, const std::vector<int>& order,
                     const std::vector<uint16_t>& ports, const RunOptions& opt, RunState& run,
                     OpRecord& rec, int& bad_tsig) {
  std::vector<uint16_t> targets;
  for (int i : order) targets.push_back(ports[std::size_t(i)]);
  rec.first_node = order.front();
  rec.start_us = run.now_us();
  const UpdateResult r = client.send(msg, targets, order.size() > 1 ? opt.per_try : opt.single_try);
  rec.end_us = run.now_us();
  rec.outcome = r.outcome;
  rec.rcode = r.rcode;
  rec.sends = r.sends;
  rec.answered_by = r.answered_by >= 0 ? order[std::size_t(r.answered_by)] : -1;
  bad_tsig += r.bad_tsig;
}

struct ThreadResult {
  std::vector<OpRecord> ops;
  int bad_tsig = 0;
  int skipped_reads = 0;
};

/// Adds unique A records: add-c<client>-<n>.example.test. A 10.<client>.<n/256>.<n%256>.
void adder(int id, const std::vector<uint16_t>& ports, const ClientKey& key, const RunOptions& opt,
           RunState& run, ThreadResult& out) {
  std::mt19937_64 rng(opt.seed * 1000 + uint64_t(id));
  UpdateClient client(key);
  uint16_t dns_id = uint16_t(rng());
  for (int n = 0; n < opt.max_ops_per_client && n < 65536 && !run.over(); ++n) {
    OpRecord rec;
    rec.kind = OpKind::add;
    rec.client = id;
    rec.name = "add-c" + std::to_string(id) + "-" + std::to_string(n) + "." + chaos_zone;
    rec.value = "10." + std::to_string(id) + "." + std::to_string(n / 256) + "." + std::to_string(n % 256);
    const Bytes msg =
        client.sign(UpdateBuilder(chaos_zone).add(rec.name, type_a, 300, a_rdata(rec.value)).build(dns_id++));
    send_and_record(client, msg, try_order(rng, int(ports.size()), id != 0), ports, opt, run, rec,
                    out.bad_tsig);
    out.ops.push_back(std::move(rec));
    std::this_thread::sleep_for(opt.think_time);   // pacing, not synchronisation
  }
}

/// Compare-and-set on cas.example.test. TXT: read the value from a random node, then
/// UPDATE with prereq "the TXT RRset is exactly {old}", delete it, add {new}.
void cas_client(int id, const std::vector<uint16_t>& ports, const ClientKey& key,
                const RunOptions& opt, RunState& run, ThreadResult& out) {
  std::mt19937_64 rng(opt.seed * 1000 + 500 + uint64_t(id));
  UpdateClient client(key);
  uint16_t dns_id = uint16_t(rng());
  for (int n = 0; n < opt.max_ops_per_client && !run.over(); ++n) {
    const auto node = std::size_t(rng() % ports.size());
    const QueryAnswer read = query(ports[node], cas_name, type_txt, std::chrono::milliseconds(300));
    std::optional<std::string> old;
    if (read.answered && read.rdatas.size() == 1) old = txt_text(read.rdatas[0]);
    if (!old) {
      ++out.skipped_reads;   // node down or paused: read elsewhere next round
      std::this_thread::sleep_for(opt.think_time);
      continue;
    }
    OpRecord rec;
    rec.kind = OpKind::cas;
    rec.client = id;
    rec.name = cas_name;
    rec.old_value = *old;
    // A stream, not operator+: GCC 12 -O2 gives a false -Wrestrict for string concatenation
    // inlined here (GCC PR 105329).
    std::ostringstream value;
    value << "c" << id << "-" << n;
    rec.value = value.str();
    const Bytes msg = client.sign(UpdateBuilder(chaos_zone)
                                      .require_value(cas_name, type_txt, txt_rdata(rec.old_value))
                                      .delete_rrset(cas_name, type_txt)
                                      .add(cas_name, type_txt, 300, txt_rdata(rec.value))
                                      .build(dns_id++));
    send_and_record(client, msg, try_order(rng, int(ports.size()), id != 0), ports, opt, run, rec,
                    out.bad_tsig);
    out.ops.push_back(std::move(rec));
    std::this_thread::sleep_for(opt.think_time);
  }
}

/// Every 1-3 s: SIGKILL a node and restart it 1-3 s later, or SIGSTOP it and SIGCONT it 1-3 s
/// later. One node at a time, and the next action only once all nodes are normal again.
/// The node: the current primary or a random one, half and half. With crash_all, one action in
/// six kills every node at once and restarts them all. Before one action in three, a node gets
/// SIGHUP (a config reload under load must disturb nothing, and must not end the node).
void nemesis(Cluster& cluster, const RunOptions& opt, RunState& run, std::vector<NemesisAction>& log) {
  std::mt19937_64 rng(opt.seed);
  // Reloads draw from their own generator, so that the kills and pauses of a seed are the same
  // as before reloads were added.
  std::mt19937_64 reload_rng(opt.seed ^ 0x9E3779B97F4A7C15ull);
  auto between = [&](int lo_ms, int hi_ms) {
    return std::chrono::milliseconds(lo_ms + int(rng() % uint64_t(hi_ms - lo_ms + 1)));
  };
  auto note = [&](int node, std::string what) { log.push_back({run.now_us(), node, std::move(what)}); };
  for (;;) {
    if (run.sleep_unless_stopped(between(1000, 3000))) return;
    // Half of the actions hit the current primary: that is where a view change starts.
    int node = int(rng() % uint64_t(cluster.size()));
    if (rng() % 2 == 0) {
      const int p = cluster.primary();
      if (p >= 0) node = p;
    }
    const std::string role = node == cluster.primary() ? " primary" : " backup";
    if (reload_rng() % 3 == 0) {
      const bool reloaded = cluster.reload(node);
      note(node, reloaded ? "reload" + role : "reload FAILED: " + cluster.error());
      if (!reloaded) return;
    }
    if (opt.crash_all && rng() % 6 == 0) {
      // A power cut: every node dies at once, then all restart from their data_dirs. Nothing
      // acknowledged may be lost (issue #5): the final checks see every acked add.
      note(-1, "kill all");
      for (int i = 0; i < cluster.size(); ++i) cluster.kill(i);
      run.sleep_unless_stopped(between(500, 1500));
      for (int i = 0; i < cluster.size(); ++i) {
        const bool up = cluster.restart(i);
        note(i, up ? "restart" : "restart FAILED: " + cluster.error());
        if (!up) return;
      }
      if (!cluster.wait_all_normal(std::chrono::seconds(15)))
        note(-1, "warning: not all normal 15 s after the whole-cluster restart: " +
                     cluster.last_statuses());
      if (run.over()) return;
      continue;
    }
    const bool kill = rng() % 2 == 0;
    const auto down_for = between(1000, 3000);
    if (kill) {
      note(node, "kill" + role);
      cluster.kill(node);
    } else {
      note(node, "pause" + role);
      cluster.pause(node);
    }
    run.sleep_unless_stopped(down_for);   // heal at once if the run ends meanwhile
    if (kill) {
      const bool up = cluster.restart(node);
      note(node, up ? "restart" : "restart FAILED: " + cluster.error());
      if (!up) return;
    } else {
      cluster.resume(node);
      note(node, "resume");
    }
    // f = 1: a recovering or lagging node still counts as down until it is normal again.
    if (!cluster.wait_all_normal(std::chrono::seconds(15)))
      note(node, "warning: not all normal 15 s after healing: " + cluster.last_statuses());
    if (run.over()) return;
  }
}

}  // namespace

History run_chaos(Cluster& cluster, const ClientKey& key, const RunOptions& opt) {
  RunState run;
  run.end = run.origin + opt.duration;
  const std::vector<uint16_t> ports = cluster.dns_ports();
  std::vector<ThreadResult> results(std::size_t(opt.adders + opt.cas_clients));
  History h;
  std::vector<std::thread> threads;
  for (int i = 0; i < opt.adders; ++i)
    threads.emplace_back(adder, i, std::cref(ports), std::cref(key), std::cref(opt), std::ref(run),
                         std::ref(results[std::size_t(i)]));
  for (int i = 0; i < opt.cas_clients; ++i)
    threads.emplace_back(cas_client, i, std::cref(ports), std::cref(key), std::cref(opt),
                         std::ref(run), std::ref(results[std::size_t(opt.adders + i)]));
  std::thread nem(nemesis, std::ref(cluster), std::cref(opt), std::ref(run), std::ref(h.nemesis));

  for (auto& t : threads) t.join();   // each client stops by itself at run.end (bounded)
  {
    std::lock_guard<std::mutex> lock(run.mu);
    run.stop = true;
  }
  run.cv.notify_all();
  nem.join();
  // The nemesis heals what it broke before it returns; make sure of it (a failed restart).
  for (int i = 0; i < cluster.size(); ++i) {
    if (cluster.paused(i)) cluster.resume(i);
    if (!cluster.running(i) && !cluster.restart(i))
      h.nemesis.push_back({run.now_us(), i, "final restart FAILED: " + cluster.error()});
  }

  for (auto& r : results) {
    h.ops.insert(h.ops.end(), r.ops.begin(), r.ops.end());
    h.bad_tsig += r.bad_tsig;
    h.skipped_reads += r.skipped_reads;
  }
  return h;
}

std::string to_text(const OpRecord& op) {
  std::ostringstream s;
  s << (op.kind == OpKind::add ? "add" : "cas") << " client=" << op.client << " node=" << op.first_node
    << " answered_by=" << op.answered_by << " start_us=" << op.start_us << " end_us=" << op.end_us
    << " outcome=" << to_string(op.outcome) << " rcode=" << op.rcode << " sends=" << op.sends
    << " name=" << op.name;
  if (op.kind == OpKind::cas) s << " old=" << op.old_value;
  s << " value=" << op.value;
  return s.str();
}

std::string to_text(const NemesisAction& a) {
  return "nemesis at_us=" + std::to_string(a.at_us) + " node=" + std::to_string(a.node) + " " + a.what;
}

}  // namespace vrdns::chaos
