// Replica-level regressions found reviewing actors/replica.cpp against VR Revisited (§4.3).
// Each test spawns single replica actors under CAF's test coordinator and inspects their state.
#define BOOST_TEST_MODULE test_vr_replica
#include <boost/test/unit_test.hpp>

#include "actors/replica.hpp"
#include "actors/vr_types.hpp"
#include "storage/memory_disk.hpp"
#include "storage/replica_store.hpp"
#include "tests/sim/kv_machine.hpp"

#include <caf/all.hpp>

#include <memory>

using namespace vrdns;

namespace {

// A peer that swallows everything (the replicas under test only need someone to send to).
caf::behavior sink(caf::event_based_actor* self) {
  self->set_default_handler(
    [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return caf::message{};
    });
  return {[] {}};
}

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::vector<caf::actor> peers;
  fixture() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    actors::add_vr_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    for (int i = 0; i < 3; ++i)
      peers.push_back(sys->spawn(sink));
  }
  ~fixture() {
    for (auto& p : peers)
      caf::anon_send_exit(p, caf::exit_reason::kill);
    sched().run();
  }
  caf::scheduler::test_coordinator& sched() {
    return dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
  }
  // Spawns replica `id` over a fresh KV machine with `ring` as its peers and lets it start.
  caf::actor spawn_replica(protocol::replica_id id, const std::vector<caf::actor>& ring,
                           const actors::replica_options& ro) {
    auto a = sys->spawn(actors::replica, id, ring,
                        std::shared_ptr<protocol::service>(std::make_shared<sim::kv_machine>()),
                        ro);
    sched().run();
    return a;
  }
  // Safe: actors only run inside sched() calls.
  static actors::replica_actor_state& state_of(const caf::actor& a) {
    return dynamic_cast<actors::replica_actor&>(*caf::actor_cast<caf::abstract_actor*>(a)).state;
  }
  // Spawns replica 1 of 3, returns its nonce, kills it (a crash).
  std::uint64_t incarnation_nonce(const actors::replica_options& ro) {
    auto a = spawn_replica(protocol::replica_id{1}, peers, ro);
    auto& st = state_of(a);
    BOOST_REQUIRE(st.vr.status == protocol::replica_status::recovering);
    auto nonce = st.nonce;
    caf::anon_send_exit(a, caf::exit_reason::kill);
    sched().run();
    return nonce;
  }
};

} // namespace

// A node restarts with the same configuration, hence the same seed. With the nonce derived from
// the seed alone, the second incarnation reused the first one's nonce, so RecoveryResponses still
// in flight for the first (possibly carrying a log from before ops the first incarnation had
// acknowledged after it recovered) would count for the second: exactly what §4.3's nonce is for.
BOOST_FIXTURE_TEST_CASE(restarted_replica_uses_a_fresh_recovery_nonce, fixture) {
  actors::replica_options ro;
  ro.seed = 42; // as a config file would give it, unchanged across restarts
  ro.start_recovering = true;
  auto first = incarnation_nonce(ro);
  auto second = incarnation_nonce(ro);
  BOOST_TEST(first != second);
  // The simulator's replayable mode really is seed-determined (it passes a fresh seed itself).
  ro.deterministic_nonce = true;
  BOOST_TEST(incarnation_nonce(ro) == incarnation_nonce(ro));
}

namespace {

// Options of a durable replica on `disk` (restarting from what the disk holds, if anything),
// saving inline: the test coordinator runs everything on this thread.
actors::replica_options durable_options(storage::memory_disk& disk, std::uint32_t replica,
                                        std::uint64_t seed) {
  std::optional<protocol::restored_state> restored;
  storage::replica_store_report report;
  auto store = storage::replica_store::open(disk, replica, 1, restored, report);
  BOOST_REQUIRE(store.error.ok());
  actors::replica_options ro;
  ro.seed = seed;
  ro.persistence = std::shared_ptr<protocol::persistence>(std::move(store.value));
  ro.log_save_in_background = false;
  ro.restored = std::move(restored);
  return ro;
}

// A peer that counts the Prepares it receives.
caf::behavior prepare_counter(caf::event_based_actor* self, std::shared_ptr<int> count) {
  self->set_default_handler(
    [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return caf::message{};
    });
  return {[=](const protocol::Prepare&) { ++*count; }};
}

} // namespace

// Issue #5: the primary never counts itself for an entry it has not saved. Its Prepare may
// leave before its own fsync (the two fsyncs overlap), but with the disk full the op does not
// commit however many backups acknowledge it; once space returns it saves and commits.
BOOST_FIXTURE_TEST_CASE(primary_commits_only_what_it_has_saved, fixture) {
  auto prepares = std::make_shared<int>(0);
  std::vector<caf::actor> counting{peers[0], sys->spawn(prepare_counter, prepares),
                                   sys->spawn(prepare_counter, prepares)};
  auto disk = std::make_shared<storage::memory_disk>();
  auto ro = durable_options(*disk, 0, 3);
  std::vector<std::string> errors;
  ro.on_disk_error = [&](const std::string& e) { errors.push_back(e); };
  auto primary = spawn_replica(protocol::replica_id{0}, counting, ro);
  auto& st = state_of(primary);
  // A cluster without entries takes its first request once f backups said they started.
  caf::anon_send(primary, protocol::Request{"put k v0", 77, 1});
  sched().run();
  BOOST_REQUIRE(*prepares == 0);
  caf::anon_send(primary, protocol::PrepareOk{0, 0, 1});
  sched().run();
  caf::anon_send(primary, protocol::Request{"put k v1", 77, 1});
  sched().run();
  BOOST_REQUIRE(*prepares == 2);
  caf::anon_send(primary, protocol::PrepareOk{0, 1, 1});
  sched().run();
  BOOST_REQUIRE(st.vr.commit_number == 1u);   // healthy disk: one backup + itself

  disk->fail_writes_with_enospc(true);
  caf::anon_send(primary, protocol::Request{"put k v2", 77, 2});
  sched().run();
  BOOST_TEST(st.vr.op_number == 2u);
  caf::anon_send(primary, protocol::PrepareOk{0, 2, 1});
  caf::anon_send(primary, protocol::PrepareOk{0, 2, 2});
  sched().run();
  BOOST_TEST(st.vr.commit_number == 1u);   // both backups hold op 2, the primary does not
  BOOST_REQUIRE(!errors.empty());
  BOOST_TEST(!errors.back().empty());
  auto before = disk->durable_contents(storage::wal::segment_name(1));
  BOOST_TEST((!before || before->find("put k v2") == std::string::npos));

  disk->fail_writes_with_enospc(false);
  for (int i = 0; i < 20 && st.vr.commit_number < 2; ++i) {   // the resend saves, then commits
    sched().advance_time(std::chrono::milliseconds(10));
    sched().run();
    caf::anon_send(primary, protocol::PrepareOk{0, 2, 1});
    sched().run();
  }
  BOOST_TEST(st.vr.commit_number == 2u);
  BOOST_TEST(errors.back().empty());   // "writable again" was reported
  auto after = disk->durable_contents(storage::wal::segment_name(1));
  BOOST_REQUIRE(after.has_value());
  BOOST_TEST(after->find("put k v2") != std::string::npos);
  caf::anon_send_exit(primary, caf::exit_reason::kill);
  for (std::size_t i = 1; i < counting.size(); ++i)
    caf::anon_send_exit(counting[i], caf::exit_reason::kill);
  sched().run();
}

namespace {

// A primary stand-in that records the highest op named by the PrepareOks it receives.
caf::behavior prepare_ok_recorder(caf::event_based_actor* self,
                                  std::shared_ptr<std::uint64_t> highest) {
  self->set_default_handler(
    [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return caf::message{};
    });
  return {[=](const protocol::PrepareOk& m) { *highest = std::max(*highest, m.op_number); }};
}

protocol::Prepare prepare(std::uint64_t op) {
  return protocol::Prepare{0, op, 0, {protocol::log_entry{7, op, "put k v" + std::to_string(op)}}};
}

// Replica 1 of 3 as a backup on a fresh durable disk whose saves take 1 ms (completion by
// message), with a primary stand-in that records the highest PrepareOk; killed at teardown.
struct acking_backup_fixture : fixture {
  std::shared_ptr<std::uint64_t> highest = std::make_shared<std::uint64_t>(0);
  std::vector<caf::actor> ring{sys->spawn(prepare_ok_recorder, highest), peers[1], peers[2]};
  std::shared_ptr<storage::memory_disk> disk = std::make_shared<storage::memory_disk>();
  caf::actor backup;

  actors::replica_actor_state& start(bool backup_saves_inline) {
    auto ro = durable_options(*disk, 1, 5);
    ro.log_save_latency = std::chrono::milliseconds(1);
    ro.backup_saves_inline = backup_saves_inline;
    backup = spawn_replica(protocol::replica_id{1}, ring, ro);
    auto& st = state_of(backup);
    BOOST_REQUIRE(st.vr.status == protocol::replica_status::normal);
    return st;
  }
  ~acking_backup_fixture() {
    for (auto* a : {&backup, &ring[0]})
      if (*a)
        caf::anon_send_exit(*a, caf::exit_reason::kill);
    sched().run();
  }
};

} // namespace

// Saves run in the background (actors/log_saver.hpp): a backup appends Prepares while a save
// is running and must acknowledge only what is saved. Here op 3 arrives while op 2 is being
// saved: the PrepareOk at that save's completion names 2, not 3, and a crash before op 3's
// save completes restarts the backup with ops 1-2 only (it never promised op 3).
BOOST_FIXTURE_TEST_CASE(backup_acknowledges_only_saved_entries, acking_backup_fixture) {
  auto& st = start(false);

  caf::anon_send(backup, prepare(1));   // the first entries are saved at once
  sched().run();
  BOOST_TEST(*highest == 1u);
  caf::anon_send(backup, prepare(2));   // saved in the background: not acknowledged yet
  sched().run();
  BOOST_TEST(*highest == 1u);
  caf::anon_send(backup, prepare(3));   // arrives while op 2 is being saved
  sched().run();
  BOOST_TEST(st.vr.op_number == 3u);
  BOOST_TEST(*highest == 1u);
  sched().advance_time(std::chrono::milliseconds(1));   // op 2's save completes
  sched().run();
  BOOST_TEST(*highest == 2u);   // not 3: its save has only just started

  caf::anon_send_exit(backup, caf::exit_reason::kill);   // a crash before op 3 is saved
  sched().run();
  auto again = durable_options(*disk, 1, 5);
  BOOST_REQUIRE(again.restored.has_value());
  BOOST_TEST(again.restored->log.size() == 2u);   // ops 1-2: everything it acknowledged
}

// backup_saves_inline (how vrdns nodes run): a backup saves inside the handler that appended
// and acknowledges in the same step, with no save in flight between, so it never has a
// completion to wait for: with the same 1 ms save latency as above, every Prepare is
// acknowledged without time passing, and a crash right after finds everything acknowledged on
// the disk.
BOOST_FIXTURE_TEST_CASE(backup_saving_inline_acknowledges_in_the_same_step, acking_backup_fixture) {
  auto& st = start(true);
  for (std::uint64_t op = 1; op <= 3; ++op) {
    caf::anon_send(backup, prepare(op));
    sched().run();
    BOOST_TEST(*highest == op);
    BOOST_TEST(st.vr.saved_op() == op);
    BOOST_TEST(!(st.saver && st.saver->busy()));
  }
  caf::anon_send_exit(backup, caf::exit_reason::kill);   // a crash right after the last ack
  sched().run();
  disk->crash();
  auto again = durable_options(*disk, 1, 5);
  BOOST_REQUIRE(again.restored.has_value());
  BOOST_TEST(again.restored->log.size() == 3u);
}

namespace {

// A disk that dies in the middle of the next log save that replaces entries: only the entries
// up to and including the first changed one reach it, then the save reports failure and
// nothing more is written (what a power cut between two writes leaves).
class dying_in_next_rewrite : public protocol::persistence {
public:
  explicit dying_in_next_rewrite(std::shared_ptr<protocol::persistence> inner)
    : inner_(std::move(inner)) {}
  bool armed = false;
  bool died = false;
  bool save_log(std::uint64_t log_start, const std::vector<protocol::log_entry>& log,
                std::uint64_t first_changed) override {
    if (died)
      return false;
    if (!armed)
      return inner_->save_log(log_start, log, first_changed);
    died = true;
    const auto keep = std::min<std::size_t>(log.size(), first_changed - log_start);
    inner_->save_log(log_start, {log.begin(), log.begin() + std::ptrdiff_t(keep)}, first_changed);
    return false;
  }
  bool save_view(const protocol::durable_view& v) override {
    return !died && inner_->save_view(v);
  }
  bool save_checkpoint(const protocol::checkpoint& c) override {
    return !died && inner_->save_checkpoint(c);
  }
  bool discard_log_before(std::uint64_t op) override {
    return !died && inner_->discard_log_before(op);
  }
  std::string error() const override { return died ? "power cut" : inner_->error(); }

private:
  std::shared_ptr<protocol::persistence> inner_;
};

// A peer that records the GetState, Recovery and PrepareOk messages it receives.
struct seen_requests {
  std::vector<protocol::GetState> get_state;
  int recovery = 0;
  int prepare_ok = 0;
};
caf::behavior request_recorder(caf::event_based_actor* self, std::shared_ptr<seen_requests> seen) {
  self->set_default_handler(
    [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return caf::message{};
    });
  return {[=](const protocol::GetState& m) { seen->get_state.push_back(m); },
          [=](const protocol::Recovery&) { ++seen->recovery; },
          [=](const protocol::PrepareOk&) { ++seen->prepare_ok; }};
}

// Replica 1 of 3 as a backup on a fresh durable disk whose persistence can be made to die in
// the middle of a save, holding ops 1-3 of view 0 (saved, none committed); replica 2, the
// primary of view 2, records what it is sent. The actors are killed at teardown, before the
// actor system goes: a failing BOOST_REQUIRE then ends the test instead of hanging it.
struct backup_fixture : fixture {
  std::shared_ptr<seen_requests> seen = std::make_shared<seen_requests>();
  std::vector<caf::actor> ring{peers[0], peers[1], sys->spawn(request_recorder, seen)};
  std::shared_ptr<storage::memory_disk> disk = std::make_shared<storage::memory_disk>();
  std::shared_ptr<dying_in_next_rewrite> dying;
  caf::actor backup;
  std::vector<protocol::log_entry> ours;   // its ops 1-3
  caf::actor restarted;                     // a second incarnation, if the test starts one

  backup_fixture() {
    auto ro = durable_options(*disk, 1, 5);
    dying = std::make_shared<dying_in_next_rewrite>(ro.persistence);
    ro.persistence = dying;
    backup = spawn_replica(protocol::replica_id{1}, ring, ro);
    for (std::uint64_t op = 1; op <= 3; ++op) {
      caf::anon_send(backup, prepare(op));
      sched().run();
    }
    ours = state_of(backup).vr.log;
  }
  ~backup_fixture() {
    for (auto* a : {&backup, &restarted, &ring[2]})
      if (*a)
        caf::anon_send_exit(*a, caf::exit_reason::kill);
    sched().run();
  }
  // Sends `m` to the backup with its disk set to die in the middle of the log save that `m`
  // causes, cuts the power (the disk keeps only what was synced), and returns the options a
  // restart on that disk gets.
  template <class Msg>
  actors::replica_options power_cut_while_saving(const Msg& m) {
    dying->armed = true;
    caf::anon_send(backup, m);
    sched().run();
    BOOST_TEST(dying->died);
    caf::anon_send_exit(backup, caf::exit_reason::kill);
    sched().run();
    disk->crash();
    auto again = durable_options(*disk, 1, 5);
    BOOST_REQUIRE(again.restored.has_value());
    return again;
  }
};

// A log of view 2 that was half saved over ops 1-3 of view 0 (ops 1-2 agree, op 3 differs):
// the restart finds "view change in view 2", still labelled with view 0, and a prefix of it.
void check_in_flux_restart(const protocol::restored_state& r,
                           const std::vector<protocol::log_entry>& next) {
  BOOST_TEST(int(r.view.status) == int(protocol::replica_status::view_change));
  BOOST_TEST(r.view.view_number == 2u);
  BOOST_TEST(r.view.last_normal_view == 0u);
  BOOST_REQUIRE(r.log.size() == 3u);   // ops 1-2 kept, op 3 of the new log: a prefix of it
  for (std::size_t i = 0; i < r.log.size(); ++i)
    BOOST_TEST((r.log[i] == next[i]));
}

} // namespace

// A backup whose disk dies while it writes the log of a StartView (the view record and the log
// are two files) must restart able to take part, not recovering: recovery needs f+1 normal
// replicas, and after a power cut of the whole cluster two replicas restarted recovering could
// never recover (seed 5101707 of a crash-all simulator run). It restarts in a view change of the
// new view with its old last_normal_view and the part of the new log that reached the disk,
// and a Commit of the new view makes it fetch that view's state from the primary.
BOOST_FIXTURE_TEST_CASE(power_cut_while_saving_a_start_view_restarts_in_the_view_change,
                        backup_fixture) {
  BOOST_REQUIRE(state_of(backup).vr.saved_op() == 3u);
  // View 2 (primary: replica 2) keeps ops 1-2, replaces op 3 and adds op 4.
  std::vector<protocol::log_entry> next{ours[0], ours[1], {9, 1, "put k x3"}, {9, 2, "put k x4"}};
  auto again = power_cut_while_saving(protocol::StartView{2, 0, next, 4, 2});
  check_in_flux_restart(*again.restored, next);

  restarted = spawn_replica(protocol::replica_id{1}, ring, again);
  auto& st2 = state_of(restarted);
  BOOST_TEST(int(st2.vr.status) == int(protocol::replica_status::view_change));
  BOOST_TEST(st2.vr.view_number == 2u);
  caf::anon_send(restarted, protocol::Commit{2, 4});
  sched().run();
  BOOST_TEST(seen->recovery == 0);
  BOOST_REQUIRE(!seen->get_state.empty());
  BOOST_TEST(seen->get_state.back().view_number == 2u);
}

// The same rule for a NewState of a view the backup missed: it is merged by comparison
// (replica_state::merge_view_state), so what it drops (op 3 here) differs from the view's log
// and never committed before that view. A crash while the merged log is saved restarts it in
// the view change with its old last_normal_view and ops 1-2, which it acknowledged, still there.
BOOST_FIXTURE_TEST_CASE(power_cut_while_saving_a_new_state_keeps_the_old_label, backup_fixture) {
  caf::anon_send(backup, protocol::Commit{2, 4});   // view 2 exists: fetch its state
  sched().run();
  BOOST_TEST(!seen->get_state.empty());
  std::vector<protocol::log_entry> next{ours[0], ours[1], {9, 1, "put k x3"}, {9, 2, "put k x4"}};
  check_in_flux_restart(*power_cut_while_saving(protocol::NewState{2, 0, next, 4, 4}).restored,
                        next);
}

// A power cut while a part that is not the last is saved (op 2 replaced, op 3 dropped): the view
// record is untouched (normal in view 2, last_normal_view 0), so the replica restarts awaiting
// the state of view 2 again, with a prefix of the merged log under the old label.
BOOST_FIXTURE_TEST_CASE(power_cut_while_saving_a_state_part_restarts_awaiting_the_state,
                        backup_fixture) {
  caf::anon_send(backup, protocol::Commit{2, 4});   // view 2 exists: fetch its state
  sched().run();
  const protocol::log_entry x2{9, 1, "put k x2"};
  auto again = power_cut_while_saving(protocol::NewState{2, 0, {ours[0], x2}, 5, 4});   // 1 of 3
  const auto& r = *again.restored;
  BOOST_TEST(int(r.view.status) == int(protocol::replica_status::normal));
  BOOST_TEST(r.view.view_number == 2u);
  BOOST_TEST(r.view.last_normal_view == 0u);
  BOOST_REQUIRE(r.log.size() == 2u);   // op 1 kept, op 2 of the view's log
  BOOST_TEST((r.log[0] == ours[0]));
  BOOST_TEST((r.log[1] == x2));

  restarted = spawn_replica(protocol::replica_id{1}, ring, again);
  BOOST_TEST(state_of(restarted).vr.awaiting_state);
  BOOST_TEST(state_of(restarted).vr.state_request_point() == 0u);
}

// Session 7's review: a NewState carries at most transfer_max entries, and a backup awaiting
// the state of a view it missed took the first part for the whole log: labelled a prefix with
// the new view, which could then win a view change over a log holding ops committed earlier.
// Now each part is merged and the next one asked for at once; only the last relabels the log
// and lets the backup acknowledge.
BOOST_FIXTURE_TEST_CASE(state_transfer_in_parts_relabels_only_with_the_whole_log,
                        backup_fixture) {
  auto& st = state_of(backup);
  caf::anon_send(backup, protocol::Commit{2, 4});   // view 2 exists: fetch its state
  sched().run();
  BOOST_REQUIRE(seen->get_state.size() == 1u);
  BOOST_TEST(seen->get_state.back().op_number == 0u);

  // Part 1 of view 2's log (ops 1-5, op 3 replaced): ops 1-2.
  std::vector<protocol::log_entry> view2{ours[0], ours[1], {9, 1, "put k x3"}, {9, 2, "put k x4"},
                                         {9, 3, "put k x5"}};
  caf::anon_send(backup, protocol::NewState{2, 0, {view2[0], view2[1]}, 5, 4});
  sched().run();
  BOOST_TEST(st.vr.awaiting_state);
  BOOST_TEST(st.vr.last_normal_view == 0u);
  BOOST_REQUIRE(st.vr.op_number == 3u);           // op 3, acknowledged, not dropped yet
  BOOST_TEST((st.vr.entry(3) == ours[2]));
  BOOST_REQUIRE(seen->get_state.size() == 2u);    // the next part, asked for at once
  BOOST_TEST(seen->get_state.back().op_number == 2u);
  BOOST_TEST(seen->prepare_ok == 0);

  // The last part: ops 3-5. Now the log is view 2's, and the backup acknowledges it.
  caf::anon_send(backup, protocol::NewState{2, 2, {view2[2], view2[3], view2[4]}, 5, 4});
  sched().run();
  BOOST_TEST(!st.vr.awaiting_state);
  BOOST_TEST(st.vr.last_normal_view == 2u);
  BOOST_REQUIRE(st.vr.op_number == 5u);
  for (std::uint64_t op = 1; op <= 5; ++op)
    BOOST_TEST((st.vr.entry(op) == view2[op - 1]));
  BOOST_TEST(st.vr.commit_number == 4u);
  BOOST_TEST(seen->prepare_ok == 1);
}

// The client_table bound (protocol/replica_state.hpp) in the actor: a primary that executed
// requests of more clients than client_table_max remembers the latest ones, and no longer keeps
// where to reply to the ones it forgot (each node restart brings new client ids, so that map
// would grow with restarts too).
BOOST_FIXTURE_TEST_CASE(primary_forgets_clients_beyond_client_table_max, fixture) {
  actors::replica_options ro;
  ro.client_table_max = 2;
  auto primary = spawn_replica(protocol::replica_id{0}, peers, ro);
  // Killed at the end, also when a check fails: the actor system waits for it otherwise.
  struct killer {
    fixture& f;
    caf::actor a;
    ~killer() {
      caf::anon_send_exit(a, caf::exit_reason::kill);
      f.sched().run();
    }
  } kill_at_end{*this, primary};
  auto& st = state_of(primary);
  caf::anon_send(primary, protocol::PrepareOk{0, 0, 1});   // a backup has started
  sched().run();
  for (std::uint64_t c = 1; c <= 4; ++c) {
    // Sent as a peer's: the primary keeps the sender as where to reply to that client.
    caf::send_as(peers[0], primary,
                 protocol::Request{"put k" + std::to_string(c) + " v", 100 + c, 1});
    sched().run();
    BOOST_REQUIRE(st.vr.op_number == c);
    caf::anon_send(primary, protocol::PrepareOk{0, c, 1});
    sched().run();
  }
  BOOST_TEST(st.vr.commit_number == 4u);
  BOOST_TEST(st.vr.execute_number == 4u);
  BOOST_TEST(st.vr.client_table.size() == 2u);
  BOOST_TEST(st.vr.client_table.count(103) == 1u);
  BOOST_TEST(st.vr.client_table.count(104) == 1u);
  BOOST_TEST(st.vr.client_table.at(104).op_number == 4u);
  BOOST_TEST(st.reply_to.count(101) == 0u);
  BOOST_TEST(st.reply_to.count(102) == 0u);
  BOOST_TEST(st.reply_to.count(104) == 1u);
}
