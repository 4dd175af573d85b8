// vrdns-sim: runs the deterministic VR cluster simulator over many seeds.
//
//   vrdns-sim --replicas 3|5 --seeds K --steps M [--first-seed S | --seed S] [--soak SECONDS]
//             [--drop P] [--duplicate P] [--crash P] [--partition P]   (per-step probabilities)
//             [--trace] [--stats] [--unsafe-commit-without-quorum] [--unsafe-paper-state-transfer]
//             [--unsafe-reply-before-commit] [--no-pre-vote]
//             [--durable] [--crash-all P]   (disks that survive crashes; whole-cluster crashes)
//             [--backup-saves-inline]   (backups save inside the handler, as vrdns nodes do)
//             [--checkpoint-interval N] [--log-margin M]   (checkpoints, log cut, transfers)
//             [--clients C] [--drivers-per-client S] [--client-batch B]   (client op batching)
//             [--min-batches N]   (fail unless at least N op batches were committed in all)
//
// Prints one line per failing seed (with the command that replays it) and ends with exactly one
// line "seeds=K failures=F". Exit status 1 if F > 0. With --stats, also one line per passing seed
// (stderr) and, just before the last line, an aggregate summary over all seeds (stdout).
// --min-batches makes a run that never formed a batch fail too ("FAIL batching: ..." before the
// last line, exit status 1), so a test meant to cover batching cannot silently stop doing so.
#include "tests/sim/simulator.hpp"

#include <algorithm>
#include <chrono>
#include <vector>
#include <cstdlib>
#include <iostream>
#include <string>

namespace {

int usage() {
  std::cerr << "usage: vrdns-sim --replicas N --seeds K --steps M [--first-seed S | --seed S]\n"
               "                 [--drop P] [--duplicate P] [--crash P] [--partition P]\n"
               "                 [--soak SECONDS] [--trace] [--stats] [--unsafe-commit-without-quorum]\n"
               "                 [--unsafe-paper-state-transfer] [--unsafe-reply-before-commit]\n"
               "                 [--no-pre-vote] [--durable] [--crash-all P]\n"
               "                 [--checkpoint-interval N] [--log-margin M] [--transfer-max T]\n"
               "                 [--backup-saves-inline]\n"
               "                 [--clients C] [--drivers-per-client S] [--client-batch B]\n"
               "                 [--min-batches N] [--peer-lost-hints] [--spurious-peer-lost P]\n"
               "                 [--pause P] [--no-pause-detection]\n"
               "  --clients C             client drivers, one call outstanding each (default 3)\n"
               "  --drivers-per-client S  drivers sharing one vr_client proxy, so their calls\n"
               "                          queue behind its outstanding request (default 1)\n"
               "  --client-batch B        the proxies' batch_max: up to B queued calls leave as\n"
               "                          one Request carrying an op batch (default 1: none)\n"
               "  --min-batches N         exit 1 unless the seeds committed >= N op batches\n"
               "  --peer-lost-hints       a crash tells every live replica its connection to the\n"
               "                          crashed one closed (vr_peer_lost), as a killed process's\n"
               "                          sockets do\n"
               "  --spurious-peer-lost P  per step, tell a live replica a live peer was lost\n"
               "  --pause P               per step, stall the whole cluster for 100-800 ms of\n"
               "                          virtual time (every timer fires late at once)\n"
               "  --no-pause-detection    replicas hold their own pauses against the primary\n";
  return 2;
}

bool parse_u64(const char* s, std::uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  auto v = std::strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0')
    return false;
  out = v;
  return true;
}

// Sums of the per-seed statistics, printed by --stats.
struct aggregate {
  vrdns::sim::sim_stats sum;
  void add(const vrdns::sim::sim_stats& s) {
    sum.steps += s.steps;
    sum.delivered += s.delivered;
    sum.dropped += s.dropped;
    sum.blocked += s.blocked;
    sum.duplicated += s.duplicated;
    sum.delayed += s.delayed;
    sum.reordered += s.reordered;
    sum.partitions += s.partitions;
    sum.crashes += s.crashes;
    sum.peer_lost_hints += s.peer_lost_hints;
    sum.restarts += s.restarts;
    sum.pauses += s.pauses;
    sum.corruptions += s.corruptions;
    sum.checkpoint_chunks += s.checkpoint_chunks;
    sum.new_state_parts += s.new_state_parts;
    sum.committed_batches += s.committed_batches;
    sum.committed_batched_ops += s.committed_batched_ops;
    sum.max_view = std::max(sum.max_view, s.max_view);
    sum.virtual_ms += s.virtual_ms;
    sum.committed_random_phase += s.committed_random_phase;
    sum.failover_ms.insert(sum.failover_ms.end(), s.failover_ms.begin(), s.failover_ms.end());
    sum.failovers_unfinished += s.failovers_unfinished;
  }
  void print(std::ostream& out) {
    auto& f = sum.failover_ms;
    std::sort(f.begin(), f.end());
    double median = f.empty() ? 0 : f[f.size() / 2];
    double max = f.empty() ? 0 : f.back();
    out << "summary: steps=" << sum.steps << " virtual_s=" << sum.virtual_ms / 1000
        << " faults: dropped=" << sum.dropped << " blocked_by_partition_or_crash=" << sum.blocked
        << " duplicated=" << sum.duplicated << " delayed=" << sum.delayed
        << " reordered=" << sum.reordered << " partitions=" << sum.partitions
        << " crashes=" << sum.crashes << " peer_lost_hints=" << sum.peer_lost_hints
        << " restarts=" << sum.restarts << " pauses=" << sum.pauses
        << " corruptions=" << sum.corruptions << " checkpoint_chunks=" << sum.checkpoint_chunks
        << " new_state_parts=" << sum.new_state_parts
        << " | committed=" << sum.committed_random_phase << " commits_per_virtual_s="
        << (sum.virtual_ms > 0 ? sum.committed_random_phase * 1000.0 / sum.virtual_ms : 0)
        << " max_view=" << sum.max_view << " batches=" << sum.committed_batches
        << " batched_ops=" << sum.committed_batched_ops << " | failovers=" << f.size()
        << " (unfinished " << sum.failovers_unfinished << ") failover_ms median=" << median
        << " max=" << max << "\n";
  }
};

} // namespace

int main(int argc, char** argv) {
  vrdns::sim::sim_options opt;
  std::uint64_t seeds = 1, first_seed = 1, soak_seconds = 0, min_batches = 0;
  bool stats = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto number = [&](std::uint64_t& out) {
      return i + 1 < argc && parse_u64(argv[++i], out);
    };
    std::uint64_t v = 0;
    if (a == "--replicas" && number(v) && v >= 1 && v <= 9)
      opt.replicas = v;
    else if (a == "--seeds" && number(v))
      seeds = v;
    else if (a == "--steps" && number(v))
      opt.steps = v;
    else if ((a == "--first-seed" || a == "--seed") && number(v))
      first_seed = v, seeds = (a == "--seed") ? 1 : seeds;
    else if (a == "--soak" && number(v))
      soak_seconds = v;
    else if ((a == "--drop" || a == "--duplicate" || a == "--crash" || a == "--partition"
              || a == "--crash-all" || a == "--spurious-peer-lost" || a == "--pause")
             && i + 1 < argc) {
      double p = std::strtod(argv[++i], nullptr);
      if (!(p >= 0.0 && p <= 1.0))
        return usage();
      (a == "--drop" ? opt.drop : a == "--duplicate" ? opt.duplicate
                                : a == "--crash"   ? opt.crash
                                : a == "--crash-all" ? opt.crash_all
                                : a == "--spurious-peer-lost" ? opt.spurious_peer_lost
                                : a == "--pause" ? opt.pause
                                                               : opt.partition) = p;
    } else if (a == "--stats")
      stats = true;
    else if (a == "--trace")
      opt.trace = true;
    else if (a == "--unsafe-commit-without-quorum")
      opt.unsafe_commit_without_quorum = true;
    else if (a == "--unsafe-reply-before-commit")
      opt.unsafe_reply_before_commit = true;
    else if (a == "--unsafe-paper-state-transfer")
      opt.unsafe_paper_state_transfer = true;
    else if (a == "--no-pause-detection")
      opt.pause_detection = false;
    else if (a == "--no-pre-vote")
      opt.pre_vote = false;
    else if (a == "--peer-lost-hints")
      opt.peer_lost_hints = true;
    else if (a == "--durable")
      opt.durable = true;
    else if (a == "--backup-saves-inline")
      opt.backup_saves_inline = true;
    else if (a == "--checkpoint-interval" && number(v))
      opt.checkpoint_interval = v;
    else if (a == "--log-margin" && number(v))
      opt.log_margin = v;
    else if (a == "--transfer-max" && number(v) && v >= 1)
      opt.transfer_max = v;
    else if (a == "--clients" && number(v) && v >= 1 && v <= 64)
      opt.clients = v;
    else if (a == "--drivers-per-client" && number(v) && v >= 1 && v <= 64)
      opt.drivers_per_client = v;
    else if (a == "--client-batch" && number(v) && v >= 1 && v <= 1024)
      opt.client_batch = v;
    else if (a == "--min-batches" && number(v))
      min_batches = v;
    else
      return usage();
  }
  auto start = std::chrono::steady_clock::now();
  auto soak_over = [&] {
    return std::chrono::steady_clock::now() - start >= std::chrono::seconds(soak_seconds);
  };
  std::uint64_t ran = 0, failures = 0;
  aggregate all;
  for (std::uint64_t s = first_seed; soak_seconds ? !soak_over() : ran < seeds; ++s) {
    opt.seed = s;
    auto r = vrdns::sim::run_seed(opt);
    ++ran;
    all.add(r.stats);
    if (!r.ok) {
      ++failures;
      std::cout << "FAIL seed=" << s << " after " << r.stats.steps << " steps: " << r.failure
                << "\n  replay: " << vrdns::sim::replay_command(opt) << "\n";
    } else if (opt.trace || stats) {
      std::cerr << "seed " << s << " ok: steps=" << r.stats.steps
                << " delivered=" << r.stats.delivered << " dropped=" << r.stats.dropped
                << " crashes=" << r.stats.crashes << " max_view=" << r.stats.max_view
                << " committed=" << r.stats.committed << " completed=" << r.stats.completed_ops
                << " batches=" << r.stats.committed_batches
                << " batched_ops=" << r.stats.committed_batched_ops
                << " virtual_ms=" << r.stats.virtual_ms << "\n";
    }
  }
  if (stats)
    all.print(std::cout);
  const bool too_few_batches = all.sum.committed_batches < min_batches;
  if (too_few_batches)
    std::cout << "FAIL batching: " << all.sum.committed_batches << " op batches committed, "
              << "expected at least " << min_batches << "\n";
  std::cout << "seeds=" << ran << " failures=" << failures << std::endl;
  return failures > 0 || too_few_batches ? 1 : 0;
}
