// Deterministic VR cluster simulator: n replicas + client proxies + client drivers in one process,
// run by CAF's test coordinator (virtual time, one message at a time).
//
// Each client driver plays one application thread with at most one call outstanding (the
// linearizability checker's model); `drivers_per_client` of them share one vr_client proxy, so
// their calls queue behind its outstanding Request and, with client_batch > 1, leave together
// as one op batch.
//
// Every message between nodes goes through a link actor that only records it as an envelope;
// the simulator gives it a random latency and, once due, decides from a seeded PRNG: deliver,
// drop or duplicate (due envelopes are picked in random order, late ones are overtaken). Partitions (symmetric or one-way), crashes
// (kill the actor: all volatile state lost) and restarts (a fresh actor in recovering status)
// happen at random, with at most f replicas crashed or recovering at once. Invariants are checked
// after every step; see check_safety() and docs/vr.md. Same seed, same binary -> same run.
#pragma once

#include "actors/replica.hpp"
#include "storage/memory_disk.hpp"
#include "tests/sim/kv_machine.hpp"
#include "tests/sim/linearizability.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace vrdns::sim {

struct sim_options {
  std::size_t replicas = 3;
  std::size_t clients = 3;              // client drivers, each with one call outstanding at most
  // Drivers sharing one vr_client proxy (driver k uses proxy k / drivers_per_client; the last
  // proxy may have fewer). 1: every driver has its own proxy and nothing ever queues.
  std::size_t drivers_per_client = 1;
  // The proxies' vr_client_options::batch_max: how many queued calls leave as one op batch.
  // Not `batch_max` below, which is the replica's requests per Prepare.
  std::size_t client_batch = 1;
  std::uint64_t seed = 1;
  std::size_t steps = 2000;
  // Per-step fault probabilities during the random phase.
  double drop = 0.05;
  double duplicate = 0.03;
  double crash = 0.004;
  double restart = 0.02;
  double partition = 0.008;
  double heal = 0.006;
  // Network latency: every envelope is due `latency` after it was sent, uniform in
  // [1, max_latency_ms], except a `delay` fraction that takes [max_latency_ms, max_delay_ms]
  // (late messages overtake nothing on purpose: they are overtaken, i.e. reordered).
  // A step delivers one due envelope (picked at random among the due ones, which reorders too);
  // only when none is due does virtual time advance, by 1..max_advance_ms but never past the
  // next due envelope. So latency does not grow with the number of messages in flight: the old
  // model (one random pending envelope per step, fixed time per step) had a fixed network
  // throughput and congested with 5 replicas, see docs/vr.md "Simulated network".
  int max_latency_ms = 10;
  double delay = 0.05;
  int max_delay_ms = 150;
  int max_advance_ms = 30;
  std::chrono::milliseconds liveness_bound{8000}; // virtual time to converge after faults stop
  std::size_t keys = 3;
  // Invariant 4 (linearizability) is also checked on the history so far every this many steps
  // of the random phase, pending calls counting as "may take effect later"; 0: only at the end.
  std::size_t history_check_every = 500;
  std::size_t pipeline_max = 8;
  std::size_t batch_max = 32;
  // Deliberately broken replicas, to prove the checker catches bugs.
  bool unsafe_commit_without_quorum = false;
  bool unsafe_reply_before_commit = false;
  bool unsafe_paper_state_transfer = false;
  // false: a lone suspicious backup starts a view change (the paper), as scripted traces that
  // need one do; safety must never depend on the pre-vote (actors/replica_timers.cpp).
  bool pre_vote = true;
  // Durable replicas (issue #5): each has an in-memory disk that keeps only what was fsync'd
  // when it crashes (and may tear the last write); a restart resumes from it. Then any number
  // of replicas may be down at once, and `crash_all` is the per-step probability that every
  // replica crashes together (a power cut).
  bool durable = false;
  double crash_all = 0.0;
  // What each replica's service starts from (kv_machine's seed) at every spawn; missing or
  // empty = nothing. Like a DNS node's zone files: a new cluster starts only from equal seeds.
  std::vector<std::map<std::string, std::string>> seeds;
  // Connection-loss hints (actors/peer_connector.hpp): when a replica crashes, every live replica
  // is told (vr_peer_lost_atom) at once, as the kernel closing a dead process's sockets does;
  // and, per step with probability `spurious_peer_lost`, a live replica is told that a live
  // peer was lost (a connection reset with both ends alive). Off by default so that the seeds
  // of the other profiles replay unchanged.
  bool peer_lost_hints = false;
  double spurious_peer_lost = 0.0;
  // Checkpoints every this many executed ops (0: none), keeping log_margin entries before each.
  // Small values make lagging and restarted replicas fetch checkpoints (CheckpointChunk), and
  // view changes and recoveries meet logs that start after their own.
  std::uint64_t checkpoint_interval = 0;
  std::uint64_t log_margin = 0;
  std::size_t checkpoint_chunk = 64;   // bytes: tiny, so a transfer takes many chunks
  // Log entries per NewState (replica_options::transfer_max). Small values make a state
  // transfer after a missed view arrive in parts (replica_state::merge_view_state).
  std::size_t transfer_max = 256;
  // replica_options::backup_saves_inline, as a vrdns node runs: a backup saves at once inside
  // the handler (no completion message in between), a primary still through the log saver.
  bool backup_saves_inline = false;
  // Per-step probability that the whole cluster stalls: virtual time jumps by
  // [min_pause_ms, max_pause_ms] in one step, so every replica's timers fire late together, as
  // on an overloaded host or a VM that was descheduled (replica_options::pause_threshold).
  // `pause_detection` false turns the replicas' pause detection off.
  double pause = 0.0;
  int min_pause_ms = 100;
  int max_pause_ms = 800;
  bool pause_detection = true;
  // Durable mode: how long a backup of the new cluster waits to hear the primary of view 0 for
  // the first time (replica_options::first_contact_timeout; 0 = no grace).
  std::chrono::milliseconds first_contact_timeout{actors::replica_options{}.first_contact_timeout};
  bool trace = false; // print every step to stderr
};

struct sim_stats {
  std::size_t steps = 0;
  std::size_t delivered = 0;
  std::size_t dropped = 0;     // lost by the random adversary (--drop)
  std::size_t blocked = 0;     // lost because of a partition or a crashed receiver
  std::size_t duplicated = 0;
  std::size_t delayed = 0;     // given a long-tail latency (max_latency_ms..max_delay_ms)
  std::size_t reordered = 0;   // delivered before an older envelope on the same link
  std::size_t partitions = 0;  // partitions started
  std::size_t crashes = 0;
  std::size_t peer_lost_hints = 0;   // vr_peer_lost notes delivered (on crashes and spurious)
  std::size_t restarts = 0;
  std::size_t pauses = 0;        // whole-cluster stalls (--pause)
  std::size_t corruptions = 0;   // durable mode: bits flipped in a crashed replica's log
  std::size_t checkpoint_chunks = 0;   // CheckpointChunk messages delivered
  std::size_t new_state_parts = 0;     // NewStates delivered that end before the primary's log
  // Committed log entries holding an op batch, and the client ops inside them (so a run shows
  // that batches formed; counted once per op number, whatever replica committed it first).
  std::size_t committed_batches = 0;
  std::size_t committed_batched_ops = 0;
  std::size_t max_view = 0;
  std::size_t committed = 0;
  std::size_t completed_ops = 0;
  // Random phase only (faults active): virtual time and ops committed in it.
  double virtual_ms = 0;
  std::size_t committed_random_phase = 0;
  // Virtual ms from a crash or isolation of a normal primary to the first moment a majority is
  // normal in a higher view (one sample per completed failover); `failovers_unfinished` counts
  // those still open when the run ended.
  std::vector<double> failover_ms;
  std::size_t failovers_unfinished = 0;
};

struct sim_result {
  bool ok = true;
  std::string failure; // first violated invariant
  sim_stats stats;
};

// One node's view of the network: an envelope recorded by a link actor.
struct envelope {
  std::size_t from = 0;
  std::size_t to = 0;
  caf::message msg;
  bool observed = false; // already scanned by the per-view primary check
  bool stamped = false;  // `due` assigned (random phase only)
  caf::actor_clock::time_point due{};
};

class cluster {
public:
  explicit cluster(sim_options opt);
  ~cluster();
  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  // --- the random test: random phase, then liveness phase, then final checks ---
  sim_result run();

  // The random phase's steps (faults with opt's probabilities, a network with latency), the
  // invariants checked after each; returns the first violation. run() is random_steps(steps)
  // then the liveness phase; a scenario may mix it with its own faults.
  std::optional<std::string> random_steps(std::size_t count);

  // --- primitives for scripted scenarios (each ends with sched.run() + invariant check) ---
  std::size_t replica_count() const { return opt_.replicas; }
  // Node indexes: replicas 0..n-1, then the proxies. Driver k talks through client_node(k).
  std::size_t proxy_count() const {
    return (opt_.clients + opt_.drivers_per_client - 1) / opt_.drivers_per_client;
  }
  std::size_t client_node(std::size_t k) const { return opt_.replicas + k / opt_.drivers_per_client; }
  std::deque<envelope>& wire() { return *wire_; }
  void deliver(std::size_t index);                // deliver wire()[index] (respecting partitions)
  void drop(std::size_t index);
  void duplicate(std::size_t index);              // deliver a copy, keep the original
  bool deliver_matching(const std::function<bool(const envelope&)>& pred); // first match
  void drop_matching(const std::function<bool(const envelope&)>& pred);    // all matches
  void deliver_all(std::size_t max_messages = 100000); // FIFO until the wire is empty
  void advance(std::chrono::milliseconds d);
  // Alternates deliver_all and 10 ms ticks until pred() holds or `bound` virtual time passed.
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds bound);
  // may_corrupt: now and then flip a bit in its log (only when the others can repair it).
  void crash(std::size_t replica, bool may_corrupt = true);
  // Tells replica `to` that its connection to `lost` closed (actors/peer_connector.hpp).
  void hint_peer_lost(std::size_t to, std::size_t lost);
  void restart(std::size_t replica);
  // Durable mode: a crashed replica's disk is replaced by an empty one (a new host).
  void wipe_disk(std::size_t replica);
  // The seed its next spawns (restart) start from: an operator editing a node's zone files.
  void set_seed(std::size_t replica, std::map<std::string, std::string> seed);
  // Scripted adversary: every envelope it returns true for is lost on delivery (nullptr: none).
  void set_filter(std::function<bool(const envelope&)> lose) { filter_ = std::move(lose); }
  void set_link(std::size_t from, std::size_t to, bool up);
  void isolate(std::size_t replica); // cut both directions to every other replica
  void heal();
  // Client k calls op through its proxy; returns the history index of the call.
  std::size_t submit(std::size_t client, bool is_put, const std::string& key);
  void start_random_clients(); // drivers that keep issuing random ops
  // For good: they issue nothing new (calls already made still run to their answer or timeout).
  void stop_random_clients();
  bool driver_idle(std::size_t k) const { return driver_idle_[k]; } // no call outstanding

  bool alive(std::size_t replica) const { return !down_[replica]; }
  const kv_machine& machine(std::size_t replica) const { return *machines_[replica]; }
  const protocol::replica_state* state(std::size_t replica) const; // nullptr if crashed
  std::optional<std::size_t> normal_primary() const; // a replica normal+primary of the max view
  const std::vector<kv_operation>& history() const { return history_; }
  const std::vector<protocol::log_entry>& committed() const { return committed_; }

  // Invariants 1,2,3,5 + replica self-checks; returns the first violation.
  std::optional<std::string> check_safety();
  // Invariant 4.
  std::optional<std::string> check_history() const;

  const sim_stats& stats() const { return stats_; }
  std::string dump() const; // one line per replica: status, view, op/commit numbers, links
  std::mt19937_64& rng() { return rng_; }


private:
  void spawn_replica(std::size_t i, bool recovering);
  actors::replica_actor_state* replica_state_ptr(std::size_t i) const;
  void settle(); // sched.run()
  void random_step();
  void random_partition();
  void observe_wire();
  void stamp_wire(); // assigns a due time to every new envelope
  caf::actor_clock::time_point now() const;
  // Failover measurement (sim_stats::failover_ms).
  void primary_lost(std::size_t replica, std::uint64_t view);
  void track_failover();
  struct failover_probe {
    std::size_t primary = 0;
    std::uint64_t view = 0;
    caf::actor_clock::time_point since{};
  };
  std::optional<failover_probe> failover_;
  void fail(const std::string& why);
  std::string describe(const envelope& e) const;

  sim_options opt_;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  std::mt19937_64 rng_;
  std::shared_ptr<std::deque<envelope>> wire_;
  std::vector<std::vector<caf::actor>> links_; // links_[from][to]
  std::vector<caf::actor> nodes_;              // replicas then client proxies (proxy_count())
  std::vector<caf::actor> drivers_;            // opt_.clients of them
  std::vector<std::shared_ptr<kv_machine>> machines_;
  std::vector<bool> down_;
  std::vector<std::shared_ptr<storage::memory_disk>> disks_;   // durable mode: survive crashes
  std::function<bool(const envelope&)> filter_;
  std::vector<std::vector<bool>> connected_; // connected_[from][to] between replicas
  std::size_t crashed_or_recovering() const;
  std::vector<std::string> violations_;
  std::optional<std::string> failure_;
  sim_stats stats_;
  std::vector<kv_operation> history_;
  std::uint64_t event_seq_ = 0;
  std::uint64_t uid_ = 0;
  bool stop_issuing_ = false;
  std::vector<bool> driver_idle_;
  // Ghost state for the invariants.
  std::vector<protocol::log_entry> committed_; // committed op k at committed_[k-1]
  std::vector<std::uint64_t> committed_view_;   // view of the first replica seen committing it
  // Per replica: how far its log was already compared with committed_ (reset when entries are
  // replaced: new log_epoch or new incarnation).
  void learn_commits(std::size_t i, const protocol::replica_state& vr);
  struct checked {
    std::uint64_t epoch = ~0ull;
    std::uint64_t upto = 0;
    const void* who = nullptr;
    std::uint64_t primary_upto = 0;
  };
  std::vector<checked> checked_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, protocol::log_entry> view_ops_; // (view, op)
  void issue(caf::event_based_actor* driver, std::size_t client, bool is_put,
             const std::string& key, bool loop);
  void issue_random(caf::event_based_actor* driver, std::size_t client);
  friend caf::behavior client_driver(caf::event_based_actor*, cluster*, std::size_t);
};

// Runs one seed; never throws.
sim_result run_seed(const sim_options& opt);

// The command line that replays `opt` with vrdns-sim.
std::string replay_command(const sim_options& opt);

} // namespace vrdns::sim
