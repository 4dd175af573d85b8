#include "tests/sim/simulator.hpp"

#include "storage/replica_store.hpp"

#include "actors/peer_messages.hpp"
#include "actors/vr_client.hpp"
#include "actors/vr_types.hpp"
#include "protocol/op_batch.hpp"

#include <algorithm>
#include <cassert>
#include <iostream>

namespace vrdns::sim {

using namespace std::chrono_literals;
using protocol::replica_status;

using sim_kick_atom = caf::atom_constant<caf::atom("sim_kick")>;
using sim_one_atom = caf::atom_constant<caf::atom("sim_one")>;

namespace {

// Records every message instead of delivering it: the simulator owns the network.
caf::behavior net_link(caf::event_based_actor* self, std::size_t from, std::size_t to,
                       std::shared_ptr<std::deque<envelope>> wire) {
  self->set_default_handler(
    [=](caf::scheduled_actor*, caf::message_view& mv) -> caf::result<caf::message> {
      wire->push_back(envelope{from, to, mv.move_content_to_message(), false});
      return caf::message{};
    });
  // A link must never die: an error sent back to it would otherwise terminate it (CAF 0.17
  // default error handler), silently cutting the connection forever.
  self->set_error_handler([](caf::error&) {});
  return {[] {}}; // non-empty, else the actor terminates at once
}

// An op batch's parts, readable (its length fields are binary).
std::string op_text(const std::string& op) {
  std::vector<std::string_view> parts;
  if (!protocol::decode_op_batch(op, parts))
    return "'" + op + "'";
  std::string out = "batch[";
  for (std::size_t i = 0; i < parts.size(); ++i)
    out += (i ? " | '" : "'") + std::string(parts[i]) + "'";
  return out + "]";
}

std::string entry_text(const protocol::log_entry& e) {
  return "(client " + std::to_string(e.client_id) + " req " + std::to_string(e.request_number)
         + " " + op_text(e.op) + ")";
}

} // namespace

// A client driver: plays one application thread in front of a vr_client proxy that it may share
// with other drivers (sim_options::drivers_per_client).
caf::behavior client_driver(caf::event_based_actor* self, cluster* c, std::size_t k) {
  return {
    [=](sim_kick_atom) { c->issue_random(self, k); },
    [=](sim_one_atom, bool is_put, const std::string& key) { c->issue(self, k, is_put, key, false); },
  };
}

cluster::cluster(sim_options opt)
  : opt_(opt), rng_(opt.seed), wire_(std::make_shared<std::deque<envelope>>()) {
  if (opt_.replicas == 0 || opt_.clients == 0 || opt_.keys == 0 || opt_.drivers_per_client == 0
      || opt_.client_batch == 0)
    throw std::invalid_argument(
      "cluster needs replicas, clients, keys, drivers_per_client and client_batch");
  cfg_.set("scheduler.policy", caf::atom("testing"));
  actors::add_vr_message_types(cfg_);
  sys_ = std::make_unique<caf::actor_system>(cfg_);
  sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
  auto n = opt_.replicas;
  auto total = n + proxy_count();
  links_.resize(total);
  for (std::size_t from = 0; from < total; ++from)
    for (std::size_t to = 0; to < total; ++to)
      links_[from].push_back(sys_->spawn(net_link, from, to, wire_));
  nodes_.resize(total);
  down_.assign(n, true);
  disks_.resize(n);
  connected_.assign(n, std::vector<bool>(n, true));
  machines_.resize(n);
  checked_.resize(n);
  for (std::size_t i = 0; i < n; ++i)
    spawn_replica(i, false);
  // Proxy p (client id p + 1) is spawned just before its first driver: with drivers_per_client
  // = 1 this is the layout and spawn order of old seeds (proxy k = driver k), which therefore
  // replay unchanged.
  for (std::size_t k = 0; k < opt_.clients; ++k) {
    if (k % opt_.drivers_per_client == 0) {
      const auto p = k / opt_.drivers_per_client;
      actors::vr_client_options co;
      co.client_id = p + 1;
      co.batch_max = opt_.client_batch;
      std::vector<caf::actor> to_replicas(links_[n + p].begin(), links_[n + p].begin() + n);
      nodes_[n + p] = sys_->spawn(actors::vr_client, to_replicas, co);
    }
    assert(nodes_[client_node(k)]);
    drivers_.push_back(sys_->spawn(client_driver, this, k));
  }
  driver_idle_.assign(opt_.clients, true);
  settle();
}

cluster::~cluster() {
  auto kill = [](const caf::actor& a) {
    if (a)
      caf::anon_send_exit(a, caf::exit_reason::kill);
  };
  for (auto& a : drivers_) kill(a);
  for (auto& a : nodes_) kill(a);
  for (auto& row : links_)
    for (auto& a : row) kill(a);
  sched_->run();
  sys_.reset(); // must go before cfg_
}

void cluster::spawn_replica(std::size_t i, bool recovering) {
  machines_[i] = i < opt_.seeds.size() ? std::make_shared<kv_machine>(opt_.seeds[i])
                                        : std::make_shared<kv_machine>();
  checked_[i] = checked{}; // a new incarnation: compare its whole log again
  actors::replica_options ro;
  ro.seed = rng_();
  ro.start_recovering = recovering;
  ro.deterministic_nonce = true; // ro.seed is fresh per incarnation, and runs must replay
  ro.pipeline_max = opt_.pipeline_max;
  ro.batch_max = opt_.batch_max;
  ro.unsafe_commit_without_quorum = opt_.unsafe_commit_without_quorum;
  ro.unsafe_reply_before_commit = opt_.unsafe_reply_before_commit;
  ro.unsafe_paper_state_transfer = opt_.unsafe_paper_state_transfer;
  ro.pre_vote = opt_.pre_vote;
  if (!opt_.pause_detection)
    ro.pause_threshold = std::chrono::milliseconds(0);
  ro.first_contact_timeout = opt_.first_contact_timeout;
  ro.checkpoint_interval = opt_.checkpoint_interval;
  ro.log_margin = opt_.log_margin;
  ro.checkpoint_chunk = opt_.checkpoint_chunk;
  ro.transfer_max = opt_.transfer_max;
  ro.checkpoint_in_background = false;   // deterministic: the writer runs inline
  ro.log_save_in_background = false;     // deterministic: saves run inline, complete by message
  ro.log_save_latency = std::chrono::milliseconds(1);   // an fsync takes time
  ro.backup_saves_inline = opt_.backup_saves_inline;
  ro.on_change = [this, i](const protocol::replica_state& vr) { learn_commits(i, vr); };
  ro.on_violation = [this](const std::string& m) { violations_.push_back(m); };
  if (opt_.durable) {
    // A restart resumes from what its disk kept; a replica with nothing saved never sent
    // anything (every message waits for its state to be saved), so it may start afresh.
    if (!disks_[i])
      disks_[i] = std::make_shared<storage::memory_disk>();
    std::optional<protocol::restored_state> restored;
    storage::replica_store_report report;
    auto store = storage::replica_store::open(*disks_[i], std::uint32_t(i), 1, restored, report);
    if (!store.error.ok()) {
      fail("replica " + std::to_string(i) + ": cannot open its disk: " + store.error.message);
      return;
    }
    store.value->keep_alive(disks_[i]);
    ro.persistence = std::move(store.value);
    // What the disk says decides, as in the real node: a saved status of recovering recovers,
    // other saved state resumes, and an empty disk (a replica that never saved anything, also at
    // the very start) is blank and asks the others whether the cluster is new.
    ro.start_recovering = false;
    ro.blank = !restored;
    ro.restored = std::move(restored);
  }
  std::vector<caf::actor> peers(links_[i].begin(), links_[i].begin() + opt_.replicas);
  nodes_[i] = sys_->spawn(actors::replica, static_cast<protocol::replica_id>(i), peers,
                          std::shared_ptr<protocol::service>(machines_[i]), ro);
  down_[i] = false;
}

actors::replica_actor_state* cluster::replica_state_ptr(std::size_t i) const {
  if (down_[i])
    return nullptr;
  // Safe: actors only run inside sched_ calls, and this runs between them.
  return &dynamic_cast<actors::replica_actor&>(*caf::actor_cast<caf::abstract_actor*>(nodes_[i]))
            .state;
}

const protocol::replica_state* cluster::state(std::size_t i) const {
  auto* st = replica_state_ptr(i);
  return st ? &st->vr : nullptr;
}

std::optional<std::size_t> cluster::normal_primary() const {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < opt_.replicas; ++i) {
    auto* vr = state(i);
    if (vr && vr->status == replica_status::normal && !vr->awaiting_state && vr->is_primary()
        && (!best || vr->view_number > state(*best)->view_number))
      best = i;
  }
  return best;
}

void cluster::settle() { sched_->run(); }

caf::actor_clock::time_point cluster::now() const { return sched_->clock().now(); }

void cluster::fail(const std::string& why) {
  if (failure_)
    return;
  failure_ = why;
  if (opt_.trace)
    std::cerr << "FAILURE: " << why << "\n" << dump();
}

std::string cluster::dump() const {
  std::string out = "  wire: " + std::to_string(wire_->size()) + " envelopes\n";
  for (std::size_t i = 0; i < opt_.replicas; ++i) {
    out += "  replica " + std::to_string(i) + ": ";
    auto* vr = state(i);
    if (!vr) {
      out += "down\n";
      continue;
    }
    auto& sa = dynamic_cast<caf::scheduled_actor&>(*caf::actor_cast<caf::abstract_actor*>(nodes_[i]));
    out += sa.alive() ? "" : "TERMINATED ";
    out += std::string(protocol::to_string(vr->status)) + " view=" + std::to_string(vr->view_number)
           + " lnv=" + std::to_string(vr->last_normal_view) + " op=" + std::to_string(vr->op_number)
           + " commit=" + std::to_string(vr->commit_number)
           + (vr->awaiting_state ? " awaiting_state" : "") + " links_out=";
    for (std::size_t j = 0; j < opt_.replicas; ++j)
      out += connected_[i][j] ? '1' : '0';
    out += "\n";
  }
  return out;
}

std::string cluster::describe(const envelope& e) const {
  auto s = caf::to_string(e.msg);
  if (s.size() > 160)
    s = s.substr(0, 160) + "...";
  return std::to_string(e.from) + "->" + std::to_string(e.to) + " " + s;
}

// ------------------------------------------------------------------------- network primitives

void cluster::deliver(std::size_t index) {
  // Overtaking an older envelope of the same link is what "reordered" means for a real network.
  for (std::size_t i = 0; i < index; ++i)
    if ((*wire_)[i].from == (*wire_)[index].from && (*wire_)[i].to == (*wire_)[index].to) {
      ++stats_.reordered;
      break;
    }
  auto e = std::move((*wire_)[index]);
  wire_->erase(wire_->begin() + static_cast<std::ptrdiff_t>(index));
  auto n = opt_.replicas;
  bool blocked = (e.to < n && down_[e.to]) || (e.from < n && e.to < n && !connected_[e.from][e.to])
                 || (filter_ && filter_(e));
  if (opt_.trace)
    std::cerr << (blocked ? "  lost     " : "  deliver  ") << describe(e) << "\n";
  if (blocked) {
    ++stats_.blocked;
    return;
  }
  // Sent "from" the reverse link, so an answer to current_sender() crosses the network too.
  if (e.msg.match_elements<protocol::CheckpointChunk>())
    ++stats_.checkpoint_chunks;
  if (e.msg.match_elements<protocol::NewState>()) {
    const auto& ns = e.msg.get_as<protocol::NewState>(0);
    if (ns.after_op + ns.entries.size() < ns.op_number)
      ++stats_.new_state_parts;
  }
  caf::send_as(links_[e.to][e.from], nodes_[e.to], std::move(e.msg));
  ++stats_.delivered;
  settle();
}

void cluster::drop(std::size_t index) {
  if (opt_.trace)
    std::cerr << "  drop     " << describe((*wire_)[index]) << "\n";
  wire_->erase(wire_->begin() + static_cast<std::ptrdiff_t>(index));
  ++stats_.dropped;
}

void cluster::duplicate(std::size_t index) {
  auto copy = (*wire_)[index];
  copy.stamped = false; // the copy travels on its own, with its own latency
  wire_->push_back(copy);
  ++stats_.duplicated;
  deliver(index);
}

bool cluster::deliver_matching(const std::function<bool(const envelope&)>& pred) {
  for (std::size_t i = 0; i < wire_->size(); ++i)
    if (pred((*wire_)[i])) {
      deliver(i);
      return true;
    }
  return false;
}

void cluster::drop_matching(const std::function<bool(const envelope&)>& pred) {
  for (std::size_t i = 0; i < wire_->size();)
    if (pred((*wire_)[i]))
      drop(i);
    else
      ++i;
}

void cluster::deliver_all(std::size_t max_messages) {
  for (std::size_t i = 0; i < max_messages && !wire_->empty(); ++i)
    deliver(0);
}

void cluster::advance(std::chrono::milliseconds d) {
  if (opt_.trace)
    std::cerr << "  advance  " << d.count() << "ms\n";
  sched_->advance_time(d);
  settle();
}

bool cluster::run_until(const std::function<bool()>& pred, std::chrono::milliseconds bound) {
  for (auto t = 0ms; t <= bound; t += 10ms) {
    deliver_all(10000);
    if (auto v = check_safety()) {
      fail(*v);
      return false;
    }
    track_failover();
    if (pred())
      return true;
    advance(10ms);
  }
  return false;
}

void cluster::hint_peer_lost(std::size_t to, std::size_t lost) {
  if (opt_.trace)
    std::cerr << "  PEERLOST replica " << to << " lost its connection to " << lost << "\n";
  caf::anon_send(nodes_[to], actors::vr_peer_lost_atom::value,
                 static_cast<protocol::replica_id>(lost));
  settle();
  ++stats_.peer_lost_hints;
}

void cluster::crash(std::size_t i, bool may_corrupt) {
  if (opt_.trace)
    std::cerr << "  CRASH    replica " << i << "\n";
  if (auto p = normal_primary(); p && *p == i)
    primary_lost(i, state(i)->view_number);
  caf::anon_send_exit(nodes_[i], caf::exit_reason::kill);
  settle();
  down_[i] = true;
  if (opt_.peer_lost_hints)
    for (std::size_t j = 0; j < opt_.replicas; ++j)
      if (!down_[j])
        hint_peer_lost(j, i);
  if (opt_.durable && disks_[i]) {
    // Power lost: whatever was not fsync'd is gone; sometimes the last write half made it.
    if (rng_() % 4 == 0)
      disks_[i]->tear_last_write(rng_() % 64);
    disks_[i]->crash();
    // Now and then a bit rots in the first quarter of its log, while every other replica is up
    // and normal to supply the lost entries (recovery needs f+1 of them), and no other log is
    // damaged. Only well before the end: a
    // flipped bit in the very last record is indistinguishable from a torn write (storage.md).
    bool others_up = true;
    for (std::size_t j = 0; j < opt_.replicas; ++j) {
      auto* s = j == i ? nullptr : state(j);
      others_up = others_up && (j == i || (s && s->status == replica_status::normal));
    }
    const auto segment = storage::wal::segment_name(1);
    auto bytes = disks_[i]->durable_contents(segment);
    // The log's data ends at its last non-zero byte, not at the file's end: the WAL keeps its
    // active segment extended with zeros (preallocation). Measured by the file size, the "first
    // quarter" reached the last record, whose flipped bit reads as a torn write and silently
    // loses an fsync'd, acknowledged entry (seed 3500075 of the batching search: two ops 18 in
    // view 0), and the zero tail.
    std::size_t data_end = 0;
    if (bytes)
      if (auto last = bytes->find_last_not_of('\0'); last != std::string::npos)
        data_end = last + 1;
    if (may_corrupt && others_up && data_end >= 4096 && rng_() % 8 == 0) {
      disks_[i]->corrupt(segment, rng_() % (data_end / 4), unsigned(rng_() % 8));
      ++stats_.corruptions;
    }
  }
  ++stats_.crashes;
}

void cluster::wipe_disk(std::size_t i) {
  if (!opt_.durable || !down_[i])
    throw std::logic_error("wipe_disk: only the disk of a crashed replica in durable mode");
  disks_[i] = std::make_shared<storage::memory_disk>();
}

void cluster::set_seed(std::size_t i, std::map<std::string, std::string> seed) {
  if (opt_.seeds.size() <= i)
    opt_.seeds.resize(opt_.replicas);
  opt_.seeds[i] = std::move(seed);
}

void cluster::restart(std::size_t i) {
  if (opt_.trace)
    std::cerr << "  RESTART  replica " << i << "\n";
  spawn_replica(i, true);
  settle();
  ++stats_.restarts;
}

void cluster::set_link(std::size_t from, std::size_t to, bool up) { connected_[from][to] = up; }

void cluster::isolate(std::size_t r) {
  for (std::size_t j = 0; j < opt_.replicas; ++j)
    if (j != r)
      connected_[r][j] = connected_[j][r] = false;
}

void cluster::heal() {
  for (auto& row : connected_)
    std::fill(row.begin(), row.end(), true);
}

std::size_t cluster::crashed_or_recovering() const {
  std::size_t count = 0;
  for (std::size_t i = 0; i < opt_.replicas; ++i)
    if (down_[i] || state(i)->status == replica_status::recovering)
      ++count;
  return count;
}

// ------------------------------------------------------------------------- clients

void cluster::issue(caf::event_based_actor* driver, std::size_t k, bool is_put,
                    const std::string& key, bool loop) {
  kv_operation op;
  op.client = k;
  op.is_put = is_put;
  op.key = key;
  std::string text;
  if (is_put) {
    op.value = "v" + std::to_string(++uid_);
    text = "put " + key + " " + op.value;
  } else {
    text = "get " + key + " g" + std::to_string(++uid_);
  }
  op.invoke = ++event_seq_;
  auto idx = history_.size();
  history_.push_back(op);
  driver_idle_[k] = false;
  driver->request(nodes_[client_node(k)], caf::infinite, actors::vr_call_atom::value, text)
    .then(
      [=, this](std::string& result) {
        history_[idx].result = std::move(result);
        history_[idx].response = ++event_seq_;
        ++stats_.completed_ops;
        driver_idle_[k] = true;
        if (loop)
          issue_random(driver, k);
      },
      [=, this](caf::error&) { // timed out: may or may not have taken effect, response stays `never`
        driver_idle_[k] = true;
        if (loop)
          issue_random(driver, k);
      });
}

void cluster::issue_random(caf::event_based_actor* driver, std::size_t k) {
  if (stop_issuing_)
    return;
  bool is_put = rng_() % 2 == 0;
  std::string key = "k";   // appended, not `"k" + ...`: GCC 12 -Wrestrict false positive at -O3
  key += std::to_string(rng_() % opt_.keys);
  issue(driver, k, is_put, key, true);
}

std::size_t cluster::submit(std::size_t client, bool is_put, const std::string& key) {
  auto idx = history_.size();
  caf::anon_send(drivers_[client], sim_one_atom::value, is_put, key);
  settle();
  return idx;
}

void cluster::start_random_clients() {
  for (auto& d : drivers_)
    caf::anon_send(d, sim_kick_atom::value);
  settle();
}

void cluster::stop_random_clients() { stop_issuing_ = true; }

// ------------------------------------------------------------------------- invariants

// Invariant 3 (at most one primary acts per view): every message that states "op k of view v is
// X" (Prepare, StartView, NewState, RecoveryResponse of a primary) must agree with every other
// such message of view v, and only the view's primary may send Prepare/Commit/StartView.
void cluster::observe_wire() {
  using namespace protocol;
  auto n = opt_.replicas;
  auto claim = [&](std::uint64_t view, std::uint64_t op, const log_entry& e, const envelope& env) {
    auto [it, inserted] = view_ops_.emplace(std::make_pair(view, op), e);
    if (!inserted && !(it->second == e))
      fail("inv3 two logs in view " + std::to_string(view) + " at op " + std::to_string(op) + ": "
           + entry_text(it->second) + " vs " + entry_text(e) + " in " + describe(env));
  };
  auto must_be_primary = [&](std::uint64_t view, const envelope& env) {
    if (env.from != view % n)
      fail("inv3 non-primary acted in view " + std::to_string(view) + ": " + describe(env));
  };
  for (auto& env : *wire_) {
    if (env.observed)
      continue;
    env.observed = true;
    const auto& m = env.msg;
    if (m.match_elements<Prepare>()) {
      const auto& p = m.get_as<Prepare>(0);
      must_be_primary(p.view_number, env);
      for (std::size_t i = 0; i < p.entries.size() && p.entries.size() <= p.op_number; ++i)
        claim(p.view_number, p.op_number - p.entries.size() + 1 + i, p.entries[i], env);
    } else if (m.match_elements<StartView>()) {
      const auto& sv = m.get_as<StartView>(0);
      must_be_primary(sv.view_number, env);
      for (std::size_t i = 0; i < sv.log.size(); ++i)
        claim(sv.view_number, sv.log_start + i + 1, sv.log[i], env);
    } else if (m.match_elements<Commit>()) {
      must_be_primary(m.get_as<Commit>(0).view_number, env);
    } else if (m.match_elements<NewState>()) {
      const auto& ns = m.get_as<NewState>(0);
      for (std::size_t i = 0; i < ns.entries.size(); ++i)
        claim(ns.view_number, ns.after_op + 1 + i, ns.entries[i], env);
    } else if (m.match_elements<RecoveryResponse>()) {
      const auto& r = m.get_as<RecoveryResponse>(0);
      if (r.from_primary)
        for (std::size_t i = 0; i < r.log.size(); ++i)
          claim(r.view_number, r.log_start + i + 1, r.log[i], env);
    }
  }
}

std::optional<std::string> cluster::check_safety() {
  observe_wire();
  if (!violations_.empty())
    fail("replica self-check: " + violations_.front());
  for (std::size_t i = 0; i < opt_.replicas && !failure_; ++i) {
    auto* st = replica_state_ptr(i);
    if (!st)
      continue;
    const auto& vr = st->vr;
    auto who = "replica " + std::to_string(i) + " (view " + std::to_string(vr.view_number) + ", "
               + protocol::to_string(vr.status) + ")";
    try {
      vr.check_invariants();
    } catch (const std::logic_error& e) {
      fail(who + ": " + e.what());
      break;
    }
    stats_.max_view = std::max<std::size_t>(stats_.max_view, vr.view_number);
    // Invariant 5: at-most-once (every generated op string is unique).
    if (!machines_[i]->duplicate().empty()) {
      fail("inv5 " + who + " executed twice: '" + machines_[i]->duplicate() + "'");
      break;
    }
    learn_commits(i, vr);
  }
  stats_.committed = committed_.size();
  return failure_;
}

// Invariants 1 and 2 for one replica. Also called from the replica's on_change, i.e. after every
// handler that moved its commit_number, so no committed entry escapes the check by being cut
// from every log (checkpoints) before the next step's check_safety.
void cluster::learn_commits(std::size_t i, const protocol::replica_state& vr) {
  if (failure_ || vr.status != replica_status::normal || vr.awaiting_state)
    return;
  auto who = "replica " + std::to_string(i) + " (view " + std::to_string(vr.view_number) + ")";
  {
    auto& c = checked_[i];
    if (c.epoch != vr.log_epoch || c.who != &vr)
      c = checked{vr.log_epoch, 0, &vr};
    // Invariant 1: what a replica considers committed is what everybody considers committed.
    // Ops up to log_start are in a checkpoint (the kv machine's duplicate check covers them).
    for (auto k = std::max(c.upto, vr.log_start) + 1; k <= vr.commit_number; ++k) {
      if (k <= committed_.size()) {
        if (!(vr.entry(k) == committed_[k - 1])) {
          fail("inv1 " + who + " committed " + entry_text(vr.entry(k)) + " at op "
               + std::to_string(k) + " but " + entry_text(committed_[k - 1])
               + " was committed there");
          break;
        }
      } else if (k == committed_.size() + 1) {
        committed_.push_back(vr.entry(k));
        committed_view_.push_back(vr.view_number);
        std::vector<std::string_view> parts;
        if (protocol::decode_op_batch(committed_.back().op, parts)) {
          ++stats_.committed_batches;
          stats_.committed_batched_ops += parts.size();
        }
      } else {
        fail("checker: op " + std::to_string(k) + " committed by " + who
             + " but ops before it were never seen committed");
        break;
      }
    }
    c.upto = std::max(c.upto, vr.commit_number);
    // Invariant 2: a committed op never disappears: the primary of view v holds every op
    // committed by view v (committed_view_ over-approximates the view an op committed in).
    if (vr.is_primary()) {
      while (!failure_ && c.primary_upto < committed_.size()
             && committed_view_[c.primary_upto] <= vr.view_number) {
        auto k = c.primary_upto + 1;
        if (k > vr.log_start && (k > vr.op_number || !(vr.entry(k) == committed_[k - 1])))
          fail("inv2 committed op " + std::to_string(k) + " " + entry_text(committed_[k - 1])
               + " is missing from the log of " + who);
        ++c.primary_upto;
      }
    }
  }
}

std::optional<std::string> cluster::check_history() const {
  auto r = check_linearizable(history_);
  if (!r.ok)
    return "inv4 history not linearizable: " + r.detail;
  return std::nullopt;
}

// ------------------------------------------------------------------------- the random test

void cluster::random_partition() {
  auto n = opt_.replicas;
  heal();
  switch (rng_() % 3) {
    case 0: { // isolate one replica (symmetric)
      isolate(rng_() % n);
      break;
    }
    case 1: { // random split into two sides (symmetric)
      std::vector<bool> side(n);
      for (std::size_t i = 0; i < n; ++i)
        side[i] = rng_() % 2;
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j)
          if (side[i] != side[j])
            connected_[i][j] = false;
      break;
    }
    default: { // asymmetric: some one-way links fail
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j)
          if (i != j && rng_() % 3 == 0)
            connected_[i][j] = false;
      break;
    }
  }
  ++stats_.partitions;
  if (opt_.trace)
    std::cerr << "  PARTITION\n";
  // Did this cut the primary off from a majority (both directions needed for a round trip)?
  if (auto p = normal_primary()) {
    std::size_t reachable = 1;
    for (std::size_t j = 0; j < n; ++j)
      if (j != *p && !down_[j] && connected_[*p][j] && connected_[j][*p])
        ++reachable;
    if (reachable < (n - 1) / 2 + 1)
      primary_lost(*p, state(*p)->view_number);
  }
}

// ------------------------------------------------------------------------- failover timing

void cluster::primary_lost(std::size_t replica, std::uint64_t view) {
  if (!failover_) // an earlier loss still being measured: the clock keeps running from it
    failover_ = failover_probe{replica, view, now()};
}

// Ends the open failover measurement once a majority is normal in one view above the lost
// primary's; drops it if that primary got its majority back and still leads (nothing to measure).
void cluster::track_failover() {
  if (!failover_)
    return;
  auto n = opt_.replicas;
  std::map<std::uint64_t, std::size_t> normal_in_view;
  for (std::size_t i = 0; i < n; ++i) {
    auto* vr = state(i);
    if (vr && vr->status == replica_status::normal && !vr->awaiting_state
        && vr->view_number > failover_->view)
      if (++normal_in_view[vr->view_number] >= (n - 1) / 2 + 1) {
        stats_.failover_ms.push_back(
          std::chrono::duration<double, std::milli>(now() - failover_->since).count());
        failover_.reset();
        return;
      }
  }
  auto p = failover_->primary;
  auto* vr = state(p);
  if (vr && vr->status == replica_status::normal && vr->view_number == failover_->view
      && vr->is_primary()) {
    std::size_t reachable = 1;
    for (std::size_t j = 0; j < n; ++j)
      if (j != p && !down_[j] && connected_[p][j] && connected_[j][p])
        ++reachable;
    if (reachable >= (n - 1) / 2 + 1)
      failover_.reset();
  }
}

void cluster::random_step() {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  auto n = opt_.replicas;
  auto f = (n - 1) / 2;
  double r = u(rng_);
  double acc = opt_.crash;
  if (r < acc) {
    auto i = rng_() % n;
    // Without disks, more than f crashed replicas lose committed ops (the paper's bound).
    if (!down_[i] && (opt_.durable || crashed_or_recovering() < f))
      crash(i);
    return;
  }
  if (r < (acc += opt_.crash_all)) {
    // No bit rot here: it needs f+1 other replicas that come back normal to repair it, and a
    // replica that crashes now may come back recovering (seed 5101707: two of three then
    // recovering, beyond the fault model).
    for (std::size_t i = 0; i < n; ++i)
      if (!down_[i])
        crash(i, false);
    return;
  }
  if (r < (acc += opt_.restart)) {
    // Pick among the crashed replicas (not among all): else a crashed replica stayed down n/2
    // times longer with 5 replicas than with 3.
    std::vector<std::size_t> down;
    for (std::size_t i = 0; i < n; ++i)
      if (down_[i])
        down.push_back(i);
    if (!down.empty())
      restart(down[rng_() % down.size()]);
    return;
  }
  if (r < (acc += opt_.partition)) {
    random_partition();
    return;
  }
  if (r < (acc += opt_.spurious_peer_lost)) {
    auto j = rng_() % n;
    auto lost = rng_() % n;
    if (j != lost && !down_[j])
      hint_peer_lost(j, lost);
    return;
  }
  if (r < (acc += opt_.heal)) {
    heal();
    return;
  }
  if (r < (acc += opt_.pause)) {
    ++stats_.pauses;
    advance(std::chrono::milliseconds(opt_.min_pause_ms
                                      + rng_() % (opt_.max_pause_ms - opt_.min_pause_ms + 1)));
    return;
  }
  // The network: one envelope whose latency has elapsed, picked at random among those (so
  // envelopes due at the same time are reordered); time moves only when nothing is due.
  stamp_wire();
  auto t = now();
  std::vector<std::size_t> due;
  auto next_due = caf::actor_clock::time_point::max();
  for (std::size_t i = 0; i < wire_->size(); ++i) {
    if ((*wire_)[i].due <= t)
      due.push_back(i);
    else
      next_due = std::min(next_due, (*wire_)[i].due);
  }
  if (!due.empty()) {
    auto idx = due[rng_() % due.size()];
    double v = u(rng_);
    if (v < opt_.drop)
      drop(idx);
    else if (v < opt_.drop + opt_.duplicate)
      duplicate(idx);
    else
      deliver(idx);
    return;
  }
  auto step = std::chrono::milliseconds(1 + rng_() % opt_.max_advance_ms);
  if (next_due != caf::actor_clock::time_point::max())
    step = std::max(std::chrono::milliseconds(1),
                    std::min(step, std::chrono::ceil<std::chrono::milliseconds>(next_due - t)));
  advance(step);
}

void cluster::stamp_wire() {
  auto t = now();
  for (auto& e : *wire_) {
    if (e.stamped)
      continue;
    e.stamped = true;
    std::uniform_real_distribution<double> u(0.0, 1.0);
    int lo = 1, hi = opt_.max_latency_ms;
    if (u(rng_) < opt_.delay) {
      lo = opt_.max_latency_ms, hi = opt_.max_delay_ms;
      ++stats_.delayed;
    }
    e.due = t + std::chrono::milliseconds(lo + static_cast<int>(rng_() % (hi - lo + 1)));
  }
}

std::optional<std::string> cluster::random_steps(std::size_t count) {
  for (std::size_t i = 0; i < count && !failure_; ++i) {
    const auto s = stats_.steps;
    if (opt_.trace)
      std::cerr << "step " << s << "\n";
    random_step();
    ++stats_.steps;
    check_safety();
    track_failover();
    // A prefix of a linearizable history is linearizable when every call still running may
    // take effect at any later point (the checker's rule for unanswered calls), so a violation
    // is reported near the step that caused it, not only at the end of the seed.
    if (opt_.history_check_every && (s + 1) % opt_.history_check_every == 0 && !failure_)
      if (auto h = check_history())
        fail(*h + " (checked at step " + std::to_string(s + 1) + ")");
  }
  return failure_;
}

sim_result cluster::run() {
  start_random_clients();
  auto start = now();
  random_steps(opt_.steps);
  stats_.virtual_ms = std::chrono::duration<double, std::milli>(now() - start).count();
  stats_.committed_random_phase = committed_.size();
  // Liveness (invariant 6): faults stop, every replica comes back, the network is reliable.
  if (!failure_) {
    stop_issuing_ = true;
    heal();
    for (std::size_t i = 0; i < opt_.replicas; ++i)
      if (down_[i])
        restart(i);
    auto idle = [&] {
      return std::all_of(driver_idle_.begin(), driver_idle_.end(), [](bool b) { return b; });
    };
    if (!run_until(idle, 5000ms))
      fail("inv6 client calls still outstanding 5 s after faults stopped");
  }
  if (!failure_) {
    std::vector<std::size_t> probes;
    for (std::size_t k = 0; k < opt_.clients; ++k)
      probes.push_back(submit(k, true, "k0"));
    auto answered = [&] {
      return std::all_of(probes.begin(), probes.end(), [&](std::size_t i) {
        return history_[i].response != kv_operation::never;
      });
    };
    if (!run_until(answered, opt_.liveness_bound) && !failure_)
      fail("inv6 a request issued after faults stopped did not complete within "
           + std::to_string(opt_.liveness_bound.count()) + " ms of virtual time");
  }
  if (!failure_) {
    auto converged = [&] {
      auto* first = state(0);
      for (std::size_t i = 0; i < opt_.replicas; ++i) {
        auto* vr = state(i);
        if (!vr || vr->status != replica_status::normal || vr->awaiting_state
            || vr->view_number != first->view_number || vr->op_number != first->op_number
            || vr->commit_number != vr->op_number || vr->execute_number != vr->commit_number)
          return false;
      }
      return true;
    };
    if (!run_until(converged, 3000ms) && !failure_)
      fail("inv6 replicas did not converge to one view with everything committed");
  }
  if (!failure_) {
    for (std::size_t i = 1; i < opt_.replicas; ++i)
      if (machines_[i]->data() != machines_[0]->data())
        fail("replica " + std::to_string(i) + " service state differs from replica 0");
  }
  if (!failure_)
    if (auto h = check_history())
      fail(*h);
  if (failover_)
    ++stats_.failovers_unfinished;
  sim_result res;
  res.ok = !failure_;
  res.failure = failure_.value_or("");
  res.stats = stats_;
  return res;
}

sim_result run_seed(const sim_options& opt) {
  try {
    cluster c(opt);
    return c.run();
  } catch (const std::exception& e) {
    sim_result r;
    r.ok = false;
    r.failure = std::string("exception: ") + e.what();
    return r;
  }
}

std::string replay_command(const sim_options& opt) {
  std::string cmd = "vrdns-sim --replicas " + std::to_string(opt.replicas) + " --steps "
                    + std::to_string(opt.steps) + " --seed " + std::to_string(opt.seed);
  sim_options defaults;
  auto prob = [&](const char* flag, double v, double d) {
    if (v != d)
      cmd += std::string(" ") + flag + " " + std::to_string(v);
  };
  prob("--drop", opt.drop, defaults.drop);
  prob("--duplicate", opt.duplicate, defaults.duplicate);
  prob("--crash", opt.crash, defaults.crash);
  prob("--partition", opt.partition, defaults.partition);
  prob("--crash-all", opt.crash_all, defaults.crash_all);
  if (opt.peer_lost_hints)
    cmd += " --peer-lost-hints";
  prob("--spurious-peer-lost", opt.spurious_peer_lost, defaults.spurious_peer_lost);
  prob("--pause", opt.pause, defaults.pause);
  if (!opt.pause_detection)
    cmd += " --no-pause-detection";
  if (opt.durable)
    cmd += " --durable";
  if (opt.unsafe_commit_without_quorum)
    cmd += " --unsafe-commit-without-quorum";
  if (opt.unsafe_reply_before_commit)
    cmd += " --unsafe-reply-before-commit";
  if (opt.unsafe_paper_state_transfer)
    cmd += " --unsafe-paper-state-transfer";
  if (!opt.pre_vote)
    cmd += " --no-pre-vote";
  if (opt.checkpoint_interval)
    cmd += " --checkpoint-interval " + std::to_string(opt.checkpoint_interval) + " --log-margin "
           + std::to_string(opt.log_margin);
  if (opt.transfer_max != defaults.transfer_max)
    cmd += " --transfer-max " + std::to_string(opt.transfer_max);
  if (opt.backup_saves_inline)
    cmd += " --backup-saves-inline";
  if (opt.clients != defaults.clients)
    cmd += " --clients " + std::to_string(opt.clients);
  if (opt.drivers_per_client != defaults.drivers_per_client)
    cmd += " --drivers-per-client " + std::to_string(opt.drivers_per_client);
  if (opt.client_batch != defaults.client_batch)
    cmd += " --client-batch " + std::to_string(opt.client_batch);
  return cmd + " --trace";
}

} // namespace vrdns::sim
