// Scripted VR scenarios on the simulated cluster: each drives the network by hand into one of the
// situations where VR implementations typically break, then lets the cluster heal and checks
// that every invariant held at every step and the client's request completed exactly once.
#define BOOST_TEST_MODULE test_sim_scenarios
#include <boost/test/unit_test.hpp>

#include "protocol/op_batch.hpp"
#include "tests/sim/simulator.hpp"

#include <algorithm>
#include <initializer_list>
#include <optional>

using namespace vrdns::sim;
using namespace vrdns::protocol;
using namespace std::chrono_literals;

namespace {

sim_options options(std::size_t replicas) {
  sim_options opt;
  opt.replicas = replicas;
  opt.clients = 2;
  opt.seed = 7;
  return opt;
}

template <class T>
std::function<bool(const envelope&)> is(std::size_t to) {
  return [to](const envelope& e) { return e.to == to && e.msg.match_elements<T>(); };
}

bool answered(const cluster& c, std::size_t idx) {
  return c.history().at(idx).response != kv_operation::never;
}

// How many committed log slots hold an op whose text contains `needle`.
std::size_t committed_count(const cluster& c, const std::string& needle) {
  return std::count_if(c.committed().begin(), c.committed().end(), [&](const log_entry& e) {
    return e.op.find(needle) != std::string::npos;
  });
}

void require_safe(cluster& c) {
  auto v = c.check_safety();
  BOOST_REQUIRE_MESSAGE(!v, *v << "\n" << c.dump());
}

} // namespace

BOOST_AUTO_TEST_CASE(primary_crash_mid_prepare) {
  cluster c(options(3));
  auto idx = c.submit(0, true, "x");
  BOOST_REQUIRE(c.deliver_matching(is<Request>(0)));
  // Only backup 1 receives the Prepare; the primary never hears a PrepareOk, then crashes.
  BOOST_REQUIRE(c.deliver_matching(is<Prepare>(1)));
  c.drop_matching(is<Prepare>(2));
  c.drop_matching(is<PrepareOk>(0));
  BOOST_TEST(c.state(1)->op_number == 1u);
  c.crash(0);
  require_safe(c);
  BOOST_REQUIRE(c.run_until([&] { return answered(c, idx); }, 5000ms));
  require_safe(c);
  BOOST_TEST(c.history()[idx].result == "ok");
  auto p = c.normal_primary();
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST(c.state(*p)->view_number >= 1u);
  BOOST_TEST(committed_count(c, "put x ") == 1u); // kept across the view change, exactly once
}

BOOST_AUTO_TEST_CASE(backups_learn_a_commit_at_once_when_the_pipeline_drains) {
  // Nothing follows the committed op, so no Prepare would carry the news: the primary sends a
  // Commit right away rather than at the next heartbeat (a backup's read-your-writes wait).
  cluster c(options(3));
  c.submit(0, true, "x");
  BOOST_REQUIRE(c.deliver_matching(is<Request>(0)));
  BOOST_REQUIRE(c.deliver_matching(is<Prepare>(1)));
  BOOST_REQUIRE(c.deliver_matching(is<Prepare>(2)));
  BOOST_REQUIRE(c.deliver_matching(is<PrepareOk>(0)));
  BOOST_REQUIRE(c.state(0)->commit_number == 1u);
  BOOST_TEST(c.state(2)->commit_number == 0u);
  BOOST_REQUIRE(c.deliver_matching(is<Commit>(2)));   // no time has passed
  BOOST_TEST(c.state(2)->commit_number == 1u);
  require_safe(c);
}

BOOST_AUTO_TEST_CASE(view_change_during_view_change) {
  cluster c(options(3));
  c.isolate(0); // the primary of view 0 disappears
  // Every DoViewChange to replica 1 (primary of view 1) is lost: view 1 cannot start.
  c.set_filter(is<DoViewChange>(1));
  BOOST_REQUIRE(c.run_until(
    [&] { return c.state(2)->view_number >= 2 && c.state(1)->view_number >= 2; }, 3000ms));
  c.set_filter(nullptr);
  BOOST_REQUIRE(c.run_until([&] { return c.normal_primary().has_value()
                                         && c.state(*c.normal_primary())->view_number >= 2; },
                            3000ms));
  require_safe(c);
  c.heal();
  auto idx = c.submit(1, true, "y");
  BOOST_REQUIRE(c.run_until([&] { return answered(c, idx); }, 5000ms));
  BOOST_TEST(c.history()[idx].result == "ok");
  BOOST_TEST(committed_count(c, "put y ") == 1u);
  // The isolated old primary catches up once healed.
  BOOST_REQUIRE(c.run_until([&] {
    auto* s0 = c.state(0);
    return s0->status == replica_status::normal && !s0->awaiting_state
           && s0->commit_number >= c.committed().size();
  }, 3000ms));
}

BOOST_AUTO_TEST_CASE(recovering_replica_that_would_be_the_next_primary) {
  cluster c(options(5)); // f = 2
  c.crash(1);
  c.restart(1); // recovering; its Recovery messages are lost for now
  c.set_filter([](const envelope& e) { return e.from == 1 && e.msg.match_elements<Recovery>(); });
  c.crash(0); // the primary of view 0: now f replicas are out
  // View 1's primary is the recovering replica 1: it must not take part, so view 1 stalls and
  // the others move on to view 2.
  BOOST_REQUIRE(c.run_until([&] { return c.normal_primary().has_value(); }, 5000ms));
  BOOST_TEST(*c.normal_primary() == 2u);
  BOOST_TEST(c.state(2)->view_number == 2u);
  BOOST_TEST((c.state(1)->status == replica_status::recovering));
  auto idx = c.submit(0, true, "z");
  BOOST_REQUIRE(c.run_until([&] { return answered(c, idx); }, 5000ms));
  c.set_filter(nullptr);
  BOOST_REQUIRE(c.run_until([&] {
    return c.state(1)->status == replica_status::normal
           && c.state(1)->commit_number >= c.committed().size();
  }, 3000ms));
  require_safe(c);
  BOOST_TEST(c.state(1)->view_number == 2u);
  BOOST_TEST(committed_count(c, "put z ") == 1u);
}

BOOST_AUTO_TEST_CASE(partitioned_old_primary_still_believes_it_leads) {
  cluster c(options(3));
  c.isolate(0);
  auto idx = c.submit(0, true, "w"); // first reaches the old primary, which cannot commit it
  BOOST_REQUIRE(c.run_until([&] { return answered(c, idx); }, 5000ms));
  auto* old = c.state(0);
  BOOST_TEST((old->status == replica_status::normal));
  BOOST_TEST(old->view_number == 0u);
  BOOST_TEST(old->is_primary());             // it still thinks it leads...
  BOOST_TEST(old->commit_number == 0u);      // ...but could not commit anything
  BOOST_TEST(old->op_number >= 1u);          // although it accepted the request
  auto p = c.normal_primary();
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST(*p != 0u);
  c.heal();
  BOOST_REQUIRE(c.run_until([&] {
    auto* s0 = c.state(0);
    return s0->view_number == c.state(*p)->view_number
           && s0->status == replica_status::normal && !s0->awaiting_state
           && s0->commit_number >= c.committed().size();
  }, 3000ms));
  require_safe(c);
  BOOST_TEST(committed_count(c, "put w ") == 1u);
}

BOOST_AUTO_TEST_CASE(duplicate_and_reordered_client_requests) {
  cluster c(options(3));
  auto a = c.submit(0, true, "p");
  auto b = c.submit(1, true, "q");
  // Every message is sent three times, and the newest is always delivered first.
  auto triple_new = [&](std::size_t first_new) {
    auto end = c.wire().size();
    for (auto j = first_new; j < end; ++j) {
      c.wire().push_back(c.wire()[j]);
      c.wire().push_back(c.wire()[j]);
    }
  };
  triple_new(0);
  std::size_t delivered = 0;
  for (; delivered < 3000 && !c.wire().empty(); ++delivered) {
    auto before = c.wire().size();
    c.deliver(before - 1); // removes the last one, appends whatever its delivery caused
    triple_new(before - 1);
    require_safe(c);
  }
  BOOST_TEST(delivered > 20u);
  BOOST_REQUIRE(c.run_until([&] { return answered(c, a) && answered(c, b); }, 5000ms));
  BOOST_TEST(committed_count(c, "put p ") == 1u);
  BOOST_TEST(committed_count(c, "put q ") == 1u);
  for (std::size_t i = 0; i < 3; ++i)
    BOOST_TEST(c.machine(i).duplicate().empty());
  BOOST_TEST(c.machine(0).executed_count() == c.committed().size());
  BOOST_TEST(!c.check_history().has_value());
}

namespace {

// Vanlightly's counterexample to the paper's literal §5.2, replayed by hand (n = 3, f = 1):
//   1. view 0: primary 0 commits X with backup 1's PrepareOk; 2 never sees X; 1 does not learn
//      that X committed (its commit_number stays 0).
//   2. 1 is cut off; 2 suspects 0; views 1 (primary 1, unreachable) and then 2 (primary 2) are
//      formed from 0 and 2. 2 starts view 2 with X, but its StartView to 0 is lost: 0 stays in
//      view_change with last_normal_view 0 (nothing from primary 2 reaches 0).
//   3. 1 reconnects to 2 only, learns of view 2 from a Commit and starts state transfer; its
//      NewState is lost and 2 crashes.
//   4. 0 and 1 form view 3 (primary 0) from their DoViewChanges.
// With the paper's rule, 1 truncated X in step 3 and claims last_normal_view 2 with an empty log,
// which beats 0's (0, [X]): X, committed and answered, is gone. The safe variant keeps X.
std::optional<std::string> run_vanlightly_trace(bool paper_state_transfer, bool& x_survived) {
  auto opt = options(3);
  opt.unsafe_paper_state_transfer = paper_state_transfer;
  // Step 2 needs replica 2 to start a view change alone while primary 0 is up, which the
  // pre-vote prevents; the state-transfer rule must be safe without that help.
  opt.pre_vote = false;
  opt.trace = getenv("SIMTRACE") != nullptr;
  cluster c(opt);
  auto idx = c.submit(0, true, "x");
  BOOST_REQUIRE(c.deliver_matching(is<Request>(0)));
  BOOST_REQUIRE(c.deliver_matching(is<Prepare>(1)));
  c.drop_matching(is<Prepare>(2));
  BOOST_REQUIRE(c.deliver_matching(is<PrepareOk>(0)));
  BOOST_REQUIRE(c.state(0)->commit_number == 1u); // X committed...
  BOOST_REQUIRE(c.deliver_matching([](const envelope& e) { return e.msg.match_elements<Reply>(); }));
  BOOST_REQUIRE(answered(c, idx));                // ...and acknowledged to the client
  BOOST_REQUIRE(c.state(1)->op_number == 1u && c.state(1)->commit_number == 0u);

  c.isolate(1);
  c.set_filter([](const envelope& e) {
    bool between_0_and_2 = (e.from == 0 && e.to == 2) || (e.from == 2 && e.to == 0);
    bool primary_traffic = e.msg.match_elements<Commit>() || e.msg.match_elements<Prepare>()
                           || e.msg.match_elements<StartView>();
    return (between_0_and_2 && primary_traffic)
           || (e.to == 1 && e.msg.match_elements<NewState>());
  });
  BOOST_REQUIRE(c.run_until([&] {
    auto* s2 = c.state(2);
    return s2->status == replica_status::normal && s2->view_number == 2;
  }, 3000ms));
  BOOST_REQUIRE((c.state(0)->status == replica_status::view_change));
  BOOST_REQUIRE(c.state(0)->last_normal_view == 0u);

  c.set_link(1, 2, true);
  c.set_link(2, 1, true);
  BOOST_REQUIRE(c.run_until([&] { return c.state(1)->awaiting_state; }, 500ms));
  c.crash(2);
  c.set_filter(nullptr);
  c.heal();
  c.run_until([&] { return c.normal_primary().has_value(); }, 3000ms);
  auto violation = c.check_safety();
  auto p = c.normal_primary();
  x_survived = p && c.state(*p)->op_number >= 1
               && c.state(*p)->entry(1).op.find("put x ") != std::string::npos;
  return violation;
}

} // namespace

BOOST_AUTO_TEST_CASE(safe_state_transfer_keeps_committed_op_in_vanlightly_trace) {
  bool x_survived = false;
  auto violation = run_vanlightly_trace(false, x_survived);
  BOOST_TEST(!violation.has_value(), violation.value_or(""));
  BOOST_TEST(x_survived);
}

BOOST_AUTO_TEST_CASE(paper_state_transfer_loses_committed_op_and_checker_sees_it) {
  bool x_survived = true;
  auto violation = run_vanlightly_trace(true, x_survived);
  BOOST_TEST(violation.has_value());
  BOOST_TEST_MESSAGE("caught: " << violation.value_or("nothing"));
  BOOST_TEST(!x_survived);
}

// --- issue #5: blank disks and checkpoints -------------------------------------------------

namespace {

sim_options durable_options(std::size_t replicas) {
  auto opt = options(replicas);
  opt.durable = true;
  return opt;
}

void commit_puts(cluster& c, int count, const std::string& key) {
  for (int i = 0; i < count; ++i) {
    auto idx = c.submit(std::size_t(i) % 2, true, key);
    BOOST_REQUIRE(c.run_until([&] { return answered(c, idx); }, 5000ms));
  }
}

} // namespace

// Every replica of a new cluster starts blank: none starts alone. Replica 2 is unreachable, so
// 0 and 1 cannot tell a new cluster from one whose disks were wiped, and wait.
BOOST_AUTO_TEST_CASE(blank_replicas_start_a_new_cluster_only_when_all_answer) {
  cluster c(durable_options(3));
  c.isolate(2);
  c.run_until([] { return false; }, 1000ms);
  for (std::size_t i = 0; i < 3; ++i)
    BOOST_TEST((c.state(i)->status == replica_status::recovering));
  c.heal();
  BOOST_REQUIRE(c.run_until([&] {
    return c.state(0)->status == replica_status::normal
           && c.state(1)->status == replica_status::normal
           && c.state(2)->status == replica_status::normal;
  }, 2000ms));
  BOOST_TEST(c.state(0)->view_number == 0u);
  commit_puts(c, 3, "a");
  require_safe(c);
}

namespace {

bool normal_in(const cluster& c, std::size_t i) {
  return c.state(i) && c.state(i)->status == replica_status::normal;
}

// Blank replicas settle that the cluster is new at different times, and the primary of view 0
// can be the last: here replica 2's answers to it are lost, while 1 and 2 hear everybody and
// start. Runs until 1 and 2 have followed the primary, which has not started, for `wait`;
// set_filter(nullptr) lets the answers through again.
void start_without_the_primary(cluster& c, std::chrono::milliseconds wait) {
  c.set_filter([](const envelope& e) {
    return e.from == 2 && e.to == 0 && e.msg.match_elements<RecoveryResponse>();
  });
  BOOST_REQUIRE(c.run_until([&] { return normal_in(c, 1) && normal_in(c, 2); }, 1000ms));
  BOOST_REQUIRE((c.state(0)->status == replica_status::recovering));
  c.run_until([] { return false; }, wait);
}

} // namespace

// Its backups give a new cluster's primary first_contact_timeout to be heard the first time:
// one that is 1 s late keeps view 0 (as the integration tests and an operator expect).
BOOST_AUTO_TEST_CASE(a_new_clusters_late_primary_is_given_time_to_start) {
  cluster c(durable_options(3));
  start_without_the_primary(c, 1000ms);
  BOOST_TEST(c.state(1)->view_number == 0u);
  BOOST_TEST(c.state(2)->view_number == 0u);
  c.set_filter(nullptr);
  BOOST_REQUIRE(c.run_until([&] { return normal_in(c, 0); }, 1000ms));
  for (std::size_t i = 0; i < 3; ++i)
    BOOST_TEST(c.state(i)->view_number == 0u);
  commit_puts(c, 3, "a");
  for (std::size_t i = 0; i < 3; ++i)
    BOOST_TEST(c.state(i)->view_number == 0u);
  require_safe(c);
}

// The same start without the grace: one primary_timeout later the backups replace the primary
// they never heard (correct VR, only not what anybody wants of a cluster that is starting).
BOOST_AUTO_TEST_CASE(without_the_first_contact_grace_a_late_primary_is_replaced) {
  auto opt = durable_options(3);
  opt.first_contact_timeout = 0ms;
  cluster c(opt);
  start_without_the_primary(c, 1000ms);
  BOOST_TEST(c.state(1)->view_number >= 1u);
  c.set_filter(nullptr);
  commit_puts(c, 2, "a");
  require_safe(c);
}

// A new cluster's primary that never comes is still replaced, once the grace is over.
BOOST_AUTO_TEST_CASE(a_new_clusters_primary_that_never_starts_is_replaced_after_the_grace) {
  cluster c(durable_options(3));
  start_without_the_primary(c, 0ms);
  c.crash(0);
  const auto grace = vrdns::actors::replica_options{}.first_contact_timeout;
  c.run_until([] { return false; }, grace - 200ms);
  BOOST_TEST(c.state(1)->view_number == 0u);
  BOOST_TEST(c.state(2)->view_number == 0u);
  BOOST_REQUIRE(c.run_until([&] {
    auto p = c.normal_primary();
    return p && c.state(*p)->view_number >= 1u;
  }, 1000ms));
  commit_puts(c, 2, "b");
  require_safe(c);
}

// A replaced host (empty disk) of a cluster with history must recover (§4.3), not start a new
// cluster of its own in view 0: it may have acknowledged ops before the wipe.
BOOST_AUTO_TEST_CASE(wiped_disk_recovers_instead_of_starting_fresh) {
  cluster c(durable_options(3));
  commit_puts(c, 5, "b");
  c.crash(2);
  c.wipe_disk(2);
  c.restart(2);
  BOOST_REQUIRE(c.run_until([&] {
    auto* s = c.state(2);
    return s->status == replica_status::normal && s->commit_number >= c.committed().size();
  }, 3000ms));
  BOOST_TEST(c.machine(2).data() == c.machine(0).data());
  require_safe(c);
}

// More than f wiped disks: the blank replicas must never restart the cluster empty (that
// would lose the committed ops only replica 0 still holds); they stay recovering.
BOOST_AUTO_TEST_CASE(more_than_f_wiped_disks_never_restart_empty) {
  cluster c(durable_options(3));
  commit_puts(c, 4, "c");
  const auto committed = c.committed().size();
  c.crash(1);
  c.crash(2);
  c.wipe_disk(1);
  c.wipe_disk(2);
  c.restart(1);
  c.restart(2);
  c.run_until([] { return false; }, 3000ms);
  BOOST_TEST((c.state(1)->status == replica_status::recovering));
  BOOST_TEST((c.state(2)->status == replica_status::recovering));
  BOOST_TEST(c.state(0)->commit_number == committed);
  require_safe(c);
}

// --- the birth state (a node's zone files) -------------------------------------------------

namespace {

const std::map<std::string, std::string> seed_a{{"zone", "a"}};
const std::map<std::string, std::string> seed_b{{"zone", "b"}, {"extra", "x"}};

bool all_normal(const cluster& c) {
  for (std::size_t i = 0; i < c.replica_count(); ++i)
    if (!normal_in(c, i))
      return false;
  return true;
}

// Replica i crashes and comes back with `seed` (a node whose zone files were edited; with
// `wipe`, a new host with an empty disk).
void restart_with_seed(cluster& c, std::size_t i, std::map<std::string, std::string> seed,
                       bool wipe = false) {
  c.crash(i);
  if (wipe)
    c.wipe_disk(i);
  c.set_seed(i, std::move(seed));
  c.restart(i);
}

bool caught_up(const cluster& c, std::size_t i) {
  auto* s = c.state(i);
  return s && s->status == replica_status::normal && s->commit_number >= c.committed().size()
         && s->execute_number == s->commit_number;
}

} // namespace

// Blank replicas whose seeds differ (a node with other zone files) do not start a new cluster:
// the same log executed on different birth states would give different states under the same
// op numbers. Once the odd one restarts with the same seed, they start.
BOOST_AUTO_TEST_CASE(blank_replicas_with_different_seeds_do_not_start_a_new_cluster) {
  auto opt = durable_options(3);
  opt.seeds = {seed_a, seed_a, seed_b};
  cluster c(opt);
  c.run_until([] { return false; }, 2000ms);
  for (std::size_t i = 0; i < 3; ++i)
    BOOST_TEST((c.state(i)->status == replica_status::recovering));
  c.crash(2, false);
  c.set_seed(2, seed_a);
  c.restart(2);
  BOOST_REQUIRE(c.run_until([&] { return all_normal(c); }, 3000ms));
  BOOST_TEST(c.state(0)->view_number == 0u);
  commit_puts(c, 3, "a");
  for (std::size_t i = 0; i < 3; ++i)
    BOOST_TEST(c.machine(i).data().at("zone") == "a");
  require_safe(c);
}

// A restart replays its log onto the birth state it saved, not onto what its seed says now (an
// operator edited the node's zone files after the cluster started).
BOOST_AUTO_TEST_CASE(a_restart_replays_the_log_onto_the_saved_birth_state) {
  auto opt = durable_options(3);
  opt.seeds = {seed_a, seed_a, seed_a};
  cluster c(opt);
  commit_puts(c, 4, "g");
  restart_with_seed(c, 2, seed_b);
  BOOST_REQUIRE(c.run_until([&] { return caught_up(c, 2); }, 3000ms));
  commit_puts(c, 2, "h");
  BOOST_REQUIRE(c.run_until([&] { return caught_up(c, 2); }, 3000ms));
  BOOST_TEST(c.machine(2).data() == c.machine(0).data());
  BOOST_TEST(c.machine(2).data().count("extra") == 0u);
  require_safe(c);
}

// A replica without state of its own (a new host with other zone files, before the cluster's
// first checkpoint) fetches the cluster's birth state instead of replaying the log onto its seed.
BOOST_AUTO_TEST_CASE(a_wiped_replica_fetches_the_birth_state) {
  auto opt = durable_options(3);
  opt.seeds = {seed_a, seed_a, seed_a};
  cluster c(opt);
  commit_puts(c, 4, "i");
  BOOST_TEST(c.state(0)->log_start == 0u);   // no checkpoint but the birth state
  restart_with_seed(c, 2, seed_b, true);
  BOOST_REQUIRE(c.run_until([&] { return caught_up(c, 2); }, 3000ms));
  BOOST_TEST(c.stats().checkpoint_chunks > 0u);
  BOOST_TEST(c.machine(2).data() == c.machine(0).data());
  BOOST_TEST(c.machine(2).data().at("zone") == "a");
  // It saved what it fetched: restarted with yet another seed, it still agrees.
  restart_with_seed(c, 2, {{"zone", "c"}});
  commit_puts(c, 1, "j");
  BOOST_REQUIRE(c.run_until([&] { return caught_up(c, 2); }, 3000ms));
  BOOST_TEST(c.machine(2).data() == c.machine(0).data());
  require_safe(c);
}

// Review finding: a blank replica whose seed differed fetched the others' birth state, then
// found the (still empty) cluster new and started fresh, saving and serving its own cached seed
// as the birth checkpoint. Once primary, it handed that wrong state to a replica without state.
BOOST_AUTO_TEST_CASE(a_replica_that_took_the_clusters_birth_state_serves_that_one) {
  auto opt = durable_options(3);
  opt.seeds = {seed_a, seed_a, seed_a};
  cluster c(opt);
  BOOST_REQUIRE(c.run_until([&] { return all_normal(c); }, 2000ms));
  restart_with_seed(c, 2, seed_b, true);
  BOOST_REQUIRE(c.run_until([&] { return normal_in(c, 2); }, 3000ms));
  BOOST_TEST(c.machine(2).data() == c.machine(0).data());
  // Make replica 2 the primary (views 1 then 2), then give replica 0 a new host.
  const auto primary_is = [&](std::size_t p) {
    auto n = c.normal_primary();
    return n && *n == p && all_normal(c);
  };
  c.crash(0);
  BOOST_REQUIRE(c.run_until([&] { auto n = c.normal_primary(); return n && *n == 1; }, 3000ms));
  c.restart(0);
  BOOST_REQUIRE(c.run_until([&] { return primary_is(1); }, 3000ms));
  c.crash(1);
  BOOST_REQUIRE(c.run_until([&] { auto n = c.normal_primary(); return n && *n == 2; }, 3000ms));
  c.restart(1);
  BOOST_REQUIRE(c.run_until([&] { return primary_is(2); }, 3000ms));
  commit_puts(c, 2, "m");
  restart_with_seed(c, 0, {{"zone", "c"}}, true);
  BOOST_REQUIRE(c.run_until([&] { return caught_up(c, 0); }, 3000ms));
  BOOST_TEST(c.machine(0).data() == c.machine(1).data());
  BOOST_TEST(c.machine(0).data().at("zone") == "a");
  require_safe(c);
}

// The same without disks: a restarted replica recovers (§4.3) with a fresh service holding its
// seed, and must not execute the log on it.
BOOST_AUTO_TEST_CASE(a_recovering_replica_without_a_disk_fetches_the_birth_state) {
  auto opt = options(3);
  opt.seeds = {seed_a, seed_a, seed_a};
  cluster c(opt);
  commit_puts(c, 4, "k");
  restart_with_seed(c, 1, seed_b);
  BOOST_REQUIRE(c.run_until([&] { return caught_up(c, 1); }, 3000ms));
  BOOST_TEST(c.machine(1).data() == c.machine(0).data());
  require_safe(c);
}

// A replica cut off while the others checkpoint and cut their logs past its op_number cannot
// catch up from the log: it fetches a checkpoint (many small chunks) and then the log after it.
BOOST_AUTO_TEST_CASE(lagging_replica_fetches_a_checkpoint) {
  auto opt = options(3);
  opt.checkpoint_interval = 5;
  opt.log_margin = 0;
  cluster c(opt);
  c.isolate(2);
  commit_puts(c, 20, "d");
  BOOST_TEST(c.state(0)->log_start >= 15u);
  BOOST_TEST(c.state(2)->op_number < c.state(0)->log_start);
  c.heal();
  BOOST_REQUIRE(c.run_until([&] {
    auto* s = c.state(2);
    return s->status == replica_status::normal && s->commit_number >= c.committed().size();
  }, 3000ms));
  BOOST_TEST(c.stats().checkpoint_chunks > 1u);
  BOOST_TEST(c.machine(2).data() == c.machine(0).data());
  BOOST_TEST(c.state(2)->log_start > 0u);
  require_safe(c);
}

// Every replica restarts from its own checkpoint and the log after it, after a whole-cluster
// crash, and nothing committed is lost.
BOOST_AUTO_TEST_CASE(whole_cluster_restarts_from_checkpoints) {
  auto opt = durable_options(3);
  opt.checkpoint_interval = 4;
  opt.log_margin = 1;
  cluster c(opt);
  commit_puts(c, 15, "e");
  auto data = c.machine(0).data();
  for (std::size_t i = 0; i < 3; ++i)
    c.crash(i);
  for (std::size_t i = 0; i < 3; ++i)
    c.restart(i);
  for (std::size_t i = 0; i < 3; ++i)
    BOOST_TEST(c.state(i)->log_start > 0u);   // restored from a checkpoint, not from op 1
  commit_puts(c, 2, "f");
  BOOST_TEST(c.machine(1).data().at("e") == data.at("e"));
  require_safe(c);
}

// --- found in review: blank disks and stale messages after a checkpoint install -------------

namespace {

bool all_normal(cluster& c) {
  for (std::size_t i = 0; i < c.replica_count(); ++i)
    if (!c.state(i) || c.state(i)->status != replica_status::normal)
      return false;
  return true;
}

void require_history(cluster& c) {
  auto h = c.check_history();
  BOOST_REQUIRE_MESSAGE(!h, *h);
}

} // namespace

// Op 1 committed by 0 and 2 only; 2 is wiped, 0 restarts (its commit_number is back to 0). A
// blank 2 must not take 0's "commit 0" for a new cluster: 0 has an entry 2 may have acked.
BOOST_AUTO_TEST_CASE(blank_replica_does_not_trust_a_restarted_primarys_commit_number) {
  cluster c(durable_options(3));
  BOOST_REQUIRE(c.run_until([&] { return all_normal(c); }, 3000ms));
  c.set_link(0, 1, false);
  c.set_link(1, 0, false);
  commit_puts(c, 1, "x");
  BOOST_REQUIRE(c.state(1)->op_number == 0u);
  c.crash(2);
  c.wipe_disk(2);
  c.crash(0);
  c.restart(0);
  c.set_filter([](const envelope& e) {
    return e.from == 0 && e.to == 2 && !e.msg.match_elements<RecoveryResponse>();
  });
  c.restart(2);
  // 0 and 1 have state, so 2 must not start a new cluster with an empty log: it recovers
  // (§4.3) once a primary can answer. The restarted primary 0 hands its view on (a view
  // change, it may have forgotten entries it prepared), which needs 1, cut off from 0 here.
  bool started_empty = false;
  c.run_until([&] {
    const auto* s = c.state(2);
    started_empty |= s && s->status == replica_status::normal && s->op_number == 0;
    return false;
  }, 2000ms);
  BOOST_TEST(!started_empty);
  c.set_filter(nullptr);
  c.heal();
  BOOST_REQUIRE(c.run_until([&] { return all_normal(c); }, 5000ms));
  BOOST_TEST(c.state(2)->op_number >= 1u);
  c.isolate(0);
  auto idx = c.submit(1, true, "y");
  BOOST_REQUIRE(c.run_until([&] { return answered(c, idx); }, 5000ms));
  require_safe(c);
  require_history(c);
  BOOST_TEST(committed_count(c, "put x ") == 1u);
}

// A blank replica that fetched (and saved) a checkpoint, then crashed before it recovered,
// must recover again after the restart, not resume as a normal replica of view 0: it forgot
// the PrepareOk for op 5 it sent before its disk was wiped.
BOOST_AUTO_TEST_CASE(blank_replica_with_a_fetched_checkpoint_recovers_after_a_crash) {
  auto opt = durable_options(3);
  opt.checkpoint_interval = 2;
  opt.log_margin = 0;
  cluster c(opt);
  BOOST_REQUIRE(c.run_until([&] { return all_normal(c); }, 3000ms));
  commit_puts(c, 4, "a");
  c.run_until([&] { return c.state(1)->commit_number >= 4; }, 2000ms);
  c.set_link(0, 1, false);
  c.set_link(1, 0, false);
  commit_puts(c, 1, "x");   // op 5, committed by 0 and 2 only
  c.crash(2);
  c.wipe_disk(2);
  c.set_filter([&c](const envelope& e) {
    return e.to == 2 && e.msg.match_elements<RecoveryResponse>() && c.state(2)
           && c.state(2)->commit_number > 0;
  });
  c.restart(2);
  BOOST_REQUIRE(c.run_until([&] { return c.state(2) && c.state(2)->commit_number > 0; },
                            3000ms));
  c.crash(2);
  c.set_filter(nullptr);
  c.isolate(0);
  c.restart(2);
  BOOST_TEST((c.state(2)->status == replica_status::recovering));
  c.run_until([] { return false; }, 1000ms);
  c.heal();
  BOOST_REQUIRE(c.run_until([&] { return all_normal(c); }, 5000ms));
  require_safe(c);
  require_history(c);
  BOOST_TEST(committed_count(c, "put x ") == 1u);
}

// A StartView delayed until after the replica installed a newer checkpoint is stale, not a
// broken invariant (it used to stop the replica).
BOOST_AUTO_TEST_CASE(stale_start_view_after_a_checkpoint_install_is_ignored) {
  auto opt = options(3);
  opt.checkpoint_interval = 2;
  opt.log_margin = 0;
  cluster c(opt);
  commit_puts(c, 2, "a");
  c.run_until([&] { return c.state(2)->commit_number >= 2; }, 2000ms);
  c.isolate(2);
  commit_puts(c, 4, "b");
  std::vector<envelope> held;
  bool hold_chunks = true;
  c.set_filter([&](const envelope& e) {
    if (e.to == 2 && e.msg.match_elements<StartView>()) {
      held.push_back(e);
      return true;
    }
    return e.to == 2 && hold_chunks && e.msg.match_elements<CheckpointChunk>();
  });
  c.heal();
  c.isolate(0);
  BOOST_REQUIRE(c.run_until([&] {
    return c.state(1)->view_number == 1 && c.state(1)->status == replica_status::normal
           && !held.empty();
  }, 3000ms));
  c.set_link(0, 1, true);
  c.set_link(1, 0, true);
  BOOST_REQUIRE(c.run_until([&] {
    return c.state(0)->view_number == 1 && c.state(0)->status == replica_status::normal
           && !c.state(0)->awaiting_state;
  }, 3000ms));
  commit_puts(c, 2, "c");
  c.set_filter([&](const envelope& e) {
    return e.to == 2 && (e.msg.match_elements<StartView>() || e.msg.match_elements<NewState>());
  });
  hold_chunks = false;
  auto first = held.front();
  first.stamped = first.observed = false;
  c.wire().push_back(first);
  c.run_until([&] { return c.state(2)->commit_number >= 8; }, 2000ms);
  auto again = held.front();
  again.stamped = again.observed = false;
  c.wire().push_back(again);
  c.run_until([] { return false; }, 200ms);
  require_safe(c);
  BOOST_TEST(c.state(2)->commit_number >= 8u);
}

// --- client op batching: drivers sharing a vr_client proxy ---------------------------------

namespace {

// 6 drivers on 2 proxies (drivers 0-2 share proxy 0, 3-5 proxy 1): a proxy's calls queue behind
// its outstanding Request and the queued ones leave as one op batch.
sim_options batching_options() {
  auto opt = options(3);
  opt.clients = 6;
  opt.drivers_per_client = 3;
  opt.client_batch = 8;
  return opt;
}

bool all_answered(const cluster& c, std::initializer_list<std::size_t> idx) {
  return std::all_of(idx.begin(), idx.end(), [&](std::size_t i) { return answered(c, i); });
}

// Random steps in slices of 100 until `pred` holds; bounded, and stops at a violation.
bool steps_until(cluster& c, const std::function<bool()>& pred) {
  for (int slice = 0; slice < 100; ++slice) {
    if (auto v = c.random_steps(100)) {
      BOOST_TEST_MESSAGE("violation: " << *v);
      return false;
    }
    if (pred())
      return true;
  }
  BOOST_TEST_MESSAGE("not reached within 10000 steps:\n" << c.dump());
  return false;
}

// After stop_random_clients(): until drivers 0..n-1 have their last calls answered or timed out.
bool all_drivers_idle(cluster& c, std::size_t n) {
  return c.run_until([&] {
    for (std::size_t k = 0; k < n; ++k)
      if (!c.driver_idle(k))
        return false;
    return true;
  }, 5000ms);
}

// How many times `op` was committed: as a log entry of its own or as a part of a batch.
std::size_t committed_exactly(const cluster& c, const std::string& op) {
  std::size_t count = 0;
  for (const auto& e : c.committed()) {
    std::vector<std::string_view> parts;
    if (decode_op_batch(e.op, parts))
      count += std::count(parts.begin(), parts.end(), op);
    else
      count += e.op == op;
  }
  return count;
}

} // namespace

BOOST_AUTO_TEST_CASE(queued_calls_leave_as_one_batch_and_get_their_own_results) {
  cluster c(batching_options());
  BOOST_REQUIRE(c.proxy_count() == 2u);
  BOOST_REQUIRE(c.client_node(0) == c.client_node(2));
  BOOST_REQUIRE(c.client_node(3) != c.client_node(2));
  // Driver 0's put goes out alone; 1 and 2 queue behind it and then leave together, the put
  // before the get: the get must read the put of its own batch.
  auto first = c.submit(0, true, "x");
  auto put = c.submit(1, true, "x");
  auto get = c.submit(2, false, "x");
  BOOST_REQUIRE(c.run_until([&] { return all_answered(c, {first, put, get}); }, 5000ms));
  require_safe(c);
  BOOST_TEST(c.history()[first].result == "ok");
  BOOST_TEST(c.history()[put].result == "ok");
  BOOST_TEST(c.history()[get].result == c.history()[put].value);
  BOOST_TEST(c.stats().committed_batches == 1u);
  BOOST_TEST(c.stats().committed_batched_ops == 2u);
  BOOST_REQUIRE(c.committed().size() == 2u);
  BOOST_TEST(!is_op_batch(c.committed()[0].op));   // a lone call is sent as a plain op
  BOOST_TEST(is_op_batch(c.committed()[1].op));

  // The other order inside the batch: the get reads what was there before the batch.
  auto first2 = c.submit(0, true, "x");
  auto get2 = c.submit(2, false, "x");
  auto put2 = c.submit(1, true, "x");
  BOOST_REQUIRE(c.run_until([&] { return all_answered(c, {first2, get2, put2}); }, 5000ms));
  BOOST_TEST(c.history()[get2].result == c.history()[first2].value);
  BOOST_TEST(c.history()[put2].result == "ok");

  // Another proxy's lone call: plain, and it sees the last put of the batch.
  auto get3 = c.submit(4, false, "x");
  BOOST_REQUIRE(c.run_until([&] { return answered(c, get3); }, 5000ms));
  BOOST_TEST(c.history()[get3].result == c.history()[put2].value);
  BOOST_TEST(c.stats().committed_batches == 2u);
  BOOST_TEST(c.committed().size() == 5u);
  require_safe(c);
  BOOST_TEST(!c.check_history().has_value());
}

// Random load from all 6 drivers over the simulated network (latency, reordering, drops and
// duplicates; no random crashes or partitions) while the primary crashes mid-run, with
// checkpoints cutting the log so the restarted replica takes the batches' parts from a
// checkpoint: every op is answered or legitimately unknown (timed out), every answered put is
// in the committed log exactly once, nothing executed twice, the history linearizable.
BOOST_AUTO_TEST_CASE(batches_survive_a_primary_crash_under_load) {
  auto opt = batching_options();
  opt.crash = opt.restart = opt.partition = opt.heal = 0;   // the crash below is the only one
  opt.checkpoint_interval = 10;
  opt.log_margin = 3;
  // Whole checkpoints per chunk: this one is about batches; slow fetches under load are
  // a_slow_checkpoint_fetch_ends_under_steady_load's.
  opt.checkpoint_chunk = 1 << 16;
  cluster c(opt);
  c.start_random_clients();
  BOOST_REQUIRE(steps_until(c, [&] { return c.stats().committed_batches >= 5; }));
  const auto old_primary = c.normal_primary();
  BOOST_REQUIRE(old_primary.has_value());
  c.crash(*old_primary);
  const auto before = c.stats().committed_batches;
  BOOST_REQUIRE(steps_until(c, [&] {
    auto p = c.normal_primary();
    return p && *p != *old_primary && c.stats().committed_batches >= before + 5;
  }));
  c.restart(*old_primary);
  BOOST_REQUIRE(steps_until(c, [&] {
    auto* s = c.state(*old_primary);
    return s->status == replica_status::normal && !s->awaiting_state
           && c.stats().committed_batches >= before + 10;
  }));
  c.stop_random_clients();
  BOOST_REQUIRE(all_drivers_idle(c, 6));
  require_safe(c);
  auto h = c.check_history();
  BOOST_TEST(!h.has_value(), h.value_or(""));

  std::size_t completed = 0, unknown = 0;
  for (const auto& op : c.history()) {
    if (!op.is_put)
      continue;
    auto text = "put " + op.key + " " + op.value;
    if (op.response != kv_operation::never) {
      ++completed;
      BOOST_TEST(op.result == "ok");
      BOOST_TEST(committed_exactly(c, text) == 1u, text);
    } else {
      ++unknown;   // timed out: may or may not be in the log, but at most once
      BOOST_TEST(committed_exactly(c, text) <= 1u, text);
    }
  }
  BOOST_TEST_MESSAGE("puts completed " << completed << ", unknown " << unknown << ", batches "
                     << c.stats().committed_batches << " holding "
                     << c.stats().committed_batched_ops << " ops, crashes "
                     << c.stats().crashes << ", dropped " << c.stats().dropped);
  BOOST_TEST(completed >= 20u);
  BOOST_TEST(c.stats().committed_batched_ops > c.stats().committed_batches);
  BOOST_TEST(c.stats().checkpoint_chunks > 0u);   // the restarted replica took a checkpoint
  for (std::size_t i = 0; i < 3; ++i)
    BOOST_TEST(c.machine(i).duplicate().empty());
}

// A checkpoint fetch slower than two checkpoint intervals, under a steady load: tiny chunks and
// a checkpoint every 10 client ops. The serving replica keeps a checkpoint that is being
// fetched, and the log after it, so the restarted old primary gets there; without that it
// restarted its fetch with the newest checkpoint forever and stayed recovering (found with the
// batched crash scenario above; this test fails with checkpoint_transfer_pause = 0).
BOOST_AUTO_TEST_CASE(a_slow_checkpoint_fetch_ends_under_steady_load) {
  auto opt = batching_options();
  opt.crash = opt.restart = opt.partition = opt.heal = 0;   // the crash below is the only one
  opt.checkpoint_interval = 10;
  opt.log_margin = 3;
  opt.checkpoint_chunk = 64;      // a checkpoint takes many round trips
  cluster c(opt);
  c.start_random_clients();
  BOOST_REQUIRE(steps_until(c, [&] { return c.stats().committed_batches >= 5; }));
  const auto primary = c.normal_primary();
  BOOST_REQUIRE(primary.has_value());
  const std::size_t backup = *primary;   // the old primary, back as a backup
  c.crash(backup);
  const auto before = c.stats().committed_batches;
  BOOST_REQUIRE(steps_until(c, [&] { return c.stats().committed_batches >= before + 10; }));
  const auto chunks_before = c.stats().checkpoint_chunks;
  c.restart(backup);
  BOOST_REQUIRE(steps_until(c, [&] {
    auto* s = c.state(backup);
    return s->status == replica_status::normal && !s->awaiting_state;
  }));
  // It did take a checkpoint, in many chunks, while commits went on.
  BOOST_TEST(c.stats().checkpoint_chunks - chunks_before > 5u);
  c.stop_random_clients();
  BOOST_REQUIRE(all_drivers_idle(c, 6));
  require_safe(c);
  auto h = c.check_history();
  BOOST_TEST(!h.has_value(), h.value_or(""));
}
