// The failure detector: its timeout logic as a value type (actors/failure_detector.hpp), the actor
// around it (actors/failure_detector_actor.hpp) under CAF's test coordinator (virtual time), and
// its wiring into the replica (actors/replica_timers.cpp).
#define BOOST_TEST_MODULE test_failure_detector
#include <boost/test/unit_test.hpp>

#include "actors/failure_detector.hpp"
#include "actors/failure_detector_actor.hpp"
#include "actors/notice_budget.hpp"
#include "actors/replica.hpp"
#include "actors/peer_messages.hpp"
#include "actors/vr_types.hpp"
#include "storage/memory_disk.hpp"
#include "storage/replica_store.hpp"
#include "tests/sim/kv_machine.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace vrdns;
using actors::failure_detector;
using namespace std::chrono_literals;

// ------------------------------------------------------------------ value type

BOOST_AUTO_TEST_CASE(expires_only_after_timeout_plus_jitter) {
  failure_detector fd(200ms, 100ms, 1);
  failure_detector::time_point t0{};
  fd.heard(t0);
  BOOST_TEST(!fd.expired(t0 + 199ms));
  BOOST_TEST(fd.expired(t0 + 300ms));
  BOOST_TEST((fd.deadline() >= t0 + 200ms && fd.deadline() < t0 + 300ms));
}

BOOST_AUTO_TEST_CASE(hearing_from_the_primary_pushes_the_deadline) {
  failure_detector fd(200ms, 0ms, 1);
  failure_detector::time_point t0{};
  fd.heard(t0);
  fd.heard(t0 + 150ms);
  BOOST_TEST(!fd.expired(t0 + 300ms));
  BOOST_TEST(fd.expired(t0 + 350ms));
}

BOOST_AUTO_TEST_CASE(jitter_differs_between_replicas) {
  // Different seeds must spread the deadlines, else backups start duelling view changes.
  std::set<failure_detector::duration::rep> deadlines;
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    failure_detector fd(200ms, 100ms, seed);
    fd.heard(failure_detector::time_point{});
    deadlines.insert(fd.deadline().time_since_epoch().count());
  }
  BOOST_TEST(deadlines.size() >= 8u);
}

BOOST_AUTO_TEST_CASE(notice_budget_lets_through_per_window_and_counts_the_rest) {
  actors::notice_budget b{2, std::chrono::seconds(10)};
  actors::notice_budget::clock::time_point t0{};
  BOOST_TEST(b.admit(t0 + 5s));   // the window starts with the first line, not at t0
  BOOST_TEST(b.admit(t0 + 6s));
  BOOST_TEST(!b.admit(t0 + 14s));
  BOOST_TEST(!b.admit(t0 + 14s));
  BOOST_TEST(b.left_out == 2u);
  BOOST_TEST(b.admit(t0 + 15s));  // 10 s after the window's first line
  BOOST_TEST(b.left_out == 2u);   // for the caller to report, then clear
}

// ------------------------------------------------------------------ the actor

namespace {

using suspects = std::shared_ptr<std::vector<std::uint64_t>>;

// Stands in for the replica: records the view of every fd_suspect it gets.
caf::behavior recorder(caf::event_based_actor* self, suspects out) {
  self->set_default_handler(
    [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return caf::message{};
    });
  return {[=](actors::fd_suspect_atom, std::uint64_t view) { out->push_back(view); }};
}

// Swallows everything (peers of a replica under test).
caf::behavior sink(caf::event_based_actor* self) {
  self->set_default_handler(
    [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return caf::message{};
    });
  return {[] {}};
}

// Sets a flag when the monitored actor terminates.
caf::behavior watcher(caf::event_based_actor* self, caf::actor target,
                      std::shared_ptr<bool> down) {
  self->monitor(target);
  self->set_down_handler([=](caf::down_msg&) { *down = true; });
  return {[] {}};
}

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  suspects got = std::make_shared<std::vector<std::uint64_t>>();
  std::vector<caf::actor> actors; // killed at the end (the detector re-arms its timer)

  fixture() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    actors::add_vr_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  ~fixture() {
    for (auto& a : actors)
      caf::anon_send_exit(a, caf::exit_reason::kill);
    sched().run();
  }
  caf::scheduler::test_coordinator& sched() {
    return dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
  }
  // Pending delayed_sends: in the tests without a replica, only the detector's ticks.
  std::size_t timers() { return sched().clock().schedule().size(); }
  caf::actor spawn_detector(std::chrono::milliseconds timeout, std::chrono::milliseconds jitter) {
    auto r = sys->spawn(recorder, got);
    auto fd = sys->spawn(actors::failure_detector_behavior, r,
                         actors::failure_detector_options{timeout, jitter, 7});
    actors.push_back(r);
    actors.push_back(fd);
    sched().run();
    return fd;
  }
  template <class... Ts>
  void note(const caf::actor& fd, Ts... xs) {
    caf::anon_send(fd, xs...);
    sched().run();
  }
  void advance(std::chrono::milliseconds d) {
    sched().advance_time(d);
    sched().run();
  }
};

} // namespace

BOOST_FIXTURE_TEST_CASE(silence_past_the_timeout_gives_exactly_one_suspect, fixture) {
  auto fd = spawn_detector(200ms, 100ms);
  note(fd, actors::fd_watch_atom::value, std::uint64_t{3}, true);
  advance(199ms);
  BOOST_TEST(got->empty()); // the deadline is at least `timeout` away
  advance(101ms);
  BOOST_TEST((*got == std::vector<std::uint64_t>{3})); // and less than timeout + jitter
  advance(2000ms);
  BOOST_TEST(got->size() == 1u); // once per watch, not once per tick
  BOOST_TEST(timers() == 0u);    // and the timer chain ended
}

BOOST_FIXTURE_TEST_CASE(regular_notes_keep_the_primary_trusted, fixture) {
  auto fd = spawn_detector(200ms, 100ms);
  note(fd, actors::fd_watch_atom::value, std::uint64_t{3}, true);
  for (int i = 0; i < 40; ++i) { // 2 s of a primary heard every 50 ms
    advance(50ms);
    note(fd, actors::fd_heard_atom::value, std::uint64_t{3});
  }
  BOOST_TEST(got->empty());
  BOOST_TEST(timers() <= 1u); // one chain, not one timer per note
  advance(300ms);             // the primary goes quiet
  BOOST_TEST((*got == std::vector<std::uint64_t>{3}));
}

BOOST_FIXTURE_TEST_CASE(notes_about_another_view_do_not_count, fixture) {
  auto fd = spawn_detector(200ms, 0ms);
  note(fd, actors::fd_watch_atom::value, std::uint64_t{3}, true);
  for (int i = 0; i < 5; ++i) {
    advance(50ms);
    note(fd, actors::fd_heard_atom::value, std::uint64_t{2}); // the old primary's Commits
  }
  BOOST_TEST((*got == std::vector<std::uint64_t>{3}));
}

BOOST_FIXTURE_TEST_CASE(unwatched_views_are_never_suspected, fixture) {
  auto fd = spawn_detector(200ms, 0ms);
  note(fd, actors::fd_watch_atom::value, std::uint64_t{3}, true);
  advance(100ms);
  note(fd, actors::fd_watch_atom::value, std::uint64_t{4}, false); // became primary / view change
  advance(1000ms);
  BOOST_TEST(got->empty());
  BOOST_TEST(timers() == 0u);
}

BOOST_FIXTURE_TEST_CASE(ticks_of_an_older_watch_are_ignored, fixture) {
  auto fd = spawn_detector(200ms, 0ms); // no jitter: deadlines at exactly +200 ms
  note(fd, actors::fd_watch_atom::value, std::uint64_t{3}, true); // chain 1, due at 200
  advance(50ms);
  note(fd, actors::fd_watch_atom::value, std::uint64_t{3}, true); // chain 2, due at 250
  BOOST_TEST(timers() == 2u);
  advance(170ms); // t = 220: chain 1 fired; not re-armed although the deadline (250) is ahead
  BOOST_TEST(timers() == 1u);
  BOOST_TEST(got->empty());
  note(fd, actors::fd_tick_atom::value, std::uint64_t{1}); // a stale tick, injected
  BOOST_TEST(timers() == 1u);
  advance(40ms); // t = 260
  BOOST_TEST((*got == std::vector<std::uint64_t>{3}));
  BOOST_TEST(timers() == 0u);
}

// ------------------------------------------------------------------ wired into the replica

namespace {

struct replica_fixture : fixture {
  std::vector<caf::actor> peers;
  replica_fixture() {
    for (int i = 0; i < 3; ++i)
      peers.push_back(sys->spawn(sink));
    actors.insert(actors.end(), peers.begin(), peers.end());
  }
  caf::actor spawn_replica(protocol::replica_id i, actors::replica_options ro = {}) {
    ro.seed = 5;
    auto a = sys->spawn(actors::replica, i, peers,
                        std::shared_ptr<protocol::service>(std::make_shared<sim::kv_machine>()),
                        ro);
    actors.push_back(a);
    sched().run();
    return a;
  }
  // Makes `ro` record the replica's lines for the operator's log.
  static std::shared_ptr<std::vector<std::string>> record_notices(actors::replica_options& ro) {
    auto notices = std::make_shared<std::vector<std::string>>();
    ro.on_notice = [notices](const std::string& m) { notices->push_back(m); };
    return notices;
  }
  static actors::replica_actor_state& state(const caf::actor& a) {
    // Safe: actors only run inside sched() calls.
    return dynamic_cast<actors::replica_actor&>(*caf::actor_cast<caf::abstract_actor*>(a)).state;
  }
};

} // namespace

BOOST_FIXTURE_TEST_CASE(silent_primary_needs_a_second_voice_before_a_view_change, replica_fixture) {
  auto r = spawn_replica(1); // a backup of view 0; its peers (and so the primary) say nothing
  BOOST_REQUIRE(state(r).detector);
  for (int i = 0; i < 15; ++i)
    advance(10ms);   // in tick-sized steps: a replica that runs (one step would be a pause)
  BOOST_TEST(state(r).vr.view_number == 0u);
  BOOST_TEST((state(r).vr.status == protocol::replica_status::normal));
  for (int i = 0; i < 20 && !state(r).suspect_primary; ++i)
    advance(10ms); // default timeout 200 ms + jitter < 100 ms
  // The detector gave up, but with the pre-vote one backup alone does not move the group.
  BOOST_TEST(state(r).suspect_primary);
  BOOST_TEST(state(r).vr.view_number == 0u);
  BOOST_TEST((state(r).vr.status == protocol::replica_status::normal));
  // f = 1 other replica doubts the primary too: now the view change starts.
  note(r, protocol::PrimarySuspected{0, 2});
  BOOST_TEST(state(r).vr.view_number == 1u);
  BOOST_TEST((state(r).vr.status == protocol::replica_status::view_change));
}

BOOST_FIXTURE_TEST_CASE(backup_that_hears_its_primary_ignores_a_suspicion, replica_fixture) {
  auto r = spawn_replica(1);
  note(r, protocol::Commit{0, 0}); // the primary of view 0 is alive
  note(r, protocol::PrimarySuspected{0, 2});
  BOOST_TEST(state(r).vr.view_number == 0u); // sticky: one peer's bad link moves nothing
  // Silent for doubt_after_heartbeats (2 x 50 ms): the next suspicion is shared.
  for (int i = 0; i < 11; ++i)
    advance(10ms);
  BOOST_TEST(state(r).vr.view_number == 0u);
  note(r, protocol::PrimarySuspected{0, 2});
  BOOST_TEST(state(r).vr.view_number == 1u);
}

BOOST_FIXTURE_TEST_CASE(replica_in_an_older_view_joins_a_suspicion_of_a_newer_one, replica_fixture) {
  // Left behind in view 0, it cannot vouch for the primary of view 4: it agrees at once.
  auto r = spawn_replica(2);
  note(r, protocol::Commit{0, 0});
  note(r, protocol::PrimarySuspected{4, 0});
  BOOST_TEST(state(r).vr.view_number == 5u);
  // A suspicion about a view it has left is stale and ignored.
  auto s = spawn_replica(1);
  note(s, protocol::PrimarySuspected{4, 0});   // s joins view 5 as above
  BOOST_REQUIRE(state(s).vr.view_number == 5u);
  note(s, protocol::PrimarySuspected{3, 2});
  BOOST_TEST(state(s).vr.view_number == 5u);
}

BOOST_FIXTURE_TEST_CASE(replica_ignores_a_suspect_for_another_view_or_role, replica_fixture) {
  auto backup = spawn_replica(1);
  auto primary = spawn_replica(0);
  note(backup, actors::fd_suspect_atom::value, std::uint64_t{7}); // not its view
  note(primary, actors::fd_suspect_atom::value, std::uint64_t{0}); // it is the primary itself
  note(primary, protocol::PrimarySuspected{0, 1}); // a primary never doubts itself
  BOOST_TEST(!state(backup).suspect_primary);
  BOOST_TEST(state(backup).vr.view_number == 0u);
  BOOST_TEST((state(backup).vr.status == protocol::replica_status::normal));
  BOOST_TEST(state(primary).vr.view_number == 0u);
  note(backup, actors::fd_suspect_atom::value, std::uint64_t{0}); // the real thing
  BOOST_TEST(state(backup).suspect_primary);
  note(backup, protocol::PrimarySuspected{0, 2});
  BOOST_TEST(state(backup).vr.view_number == 1u);
}

BOOST_FIXTURE_TEST_CASE(lost_connection_to_the_primary_is_doubted_at_once, replica_fixture) {
  auto r = spawn_replica(1);
  note(r, protocol::Commit{0, 0}); // the primary of view 0 was heard just now
  // A lost link to the other backup, or a replica id out of range: nothing to doubt.
  note(r, actors::vr_peer_lost_atom::value, protocol::replica_id{2});
  note(r, actors::vr_peer_lost_atom::value, protocol::replica_id{9});
  BOOST_TEST(!state(r).suspect_primary);
  // The primary's: doubted with no time passing, as if the detector had given up...
  note(r, actors::vr_peer_lost_atom::value, protocol::replica_id{0});
  BOOST_TEST(state(r).suspect_primary);
  BOOST_TEST(state(r).vr.view_number == 0u); // ...but alone it moves nothing (pre-vote)
  // The other backup lost its connection too: the view change starts at once.
  note(r, protocol::PrimarySuspected{0, 2});
  BOOST_TEST(state(r).vr.view_number == 1u);
  BOOST_TEST((state(r).vr.status == protocol::replica_status::view_change));
  // During the view change a lost link (to the old primary, or to view 1's) changes nothing.
  note(r, actors::vr_peer_lost_atom::value, protocol::replica_id{0});
  note(r, actors::vr_peer_lost_atom::value, protocol::replica_id{1});
  BOOST_TEST(state(r).vr.view_number == 1u);
  BOOST_TEST((state(r).vr.status == protocol::replica_status::view_change));
}

BOOST_FIXTURE_TEST_CASE(primary_heard_again_after_a_lost_link_keeps_its_view, replica_fixture) {
  auto r = spawn_replica(1);
  auto primary = spawn_replica(0);
  note(primary, actors::vr_peer_lost_atom::value, protocol::replica_id{1}); // a primary doubts nobody
  BOOST_TEST((state(primary).vr.status == protocol::replica_status::normal));
  note(r, actors::vr_peer_lost_atom::value, protocol::replica_id{0});
  BOOST_REQUIRE(state(r).suspect_primary);
  note(r, protocol::Commit{0, 0}); // reconnected: the primary speaks again
  BOOST_TEST(!state(r).suspect_primary);
  note(r, protocol::PrimarySuspected{0, 2}); // one peer's doubt alone moves nothing
  BOOST_TEST(state(r).vr.view_number == 0u);
  BOOST_TEST((state(r).vr.status == protocol::replica_status::normal));
}

BOOST_FIXTURE_TEST_CASE(detector_dies_with_its_replica, replica_fixture) {
  auto r = spawn_replica(1);
  auto down = std::make_shared<bool>(false);
  actors.push_back(sys->spawn(watcher, state(r).detector, down));
  sched().run();
  caf::anon_send_exit(r, caf::exit_reason::kill); // a crash in the simulator
  sched().run();
  BOOST_TEST(*down);
}

// ------------------------------------------------------------------ a new cluster's start
// Blank replicas (empty data_dir) find out that the cluster is new when every other replica has
// answered their Recovery, each at its own moment; the primary of view 0 may be the last.

namespace {

// Replica `i` with an empty disk: blank, it asks the others whether the cluster is new.
actors::replica_options blank_options(const std::shared_ptr<storage::memory_disk>& disk,
                                      protocol::replica_id i) {
  std::optional<protocol::restored_state> restored;
  storage::replica_store_report report;
  auto store = storage::replica_store::open(*disk, i, 1, restored, report);
  BOOST_REQUIRE(store.error.ok());
  BOOST_REQUIRE(!restored);
  store.value->keep_alive(disk);
  actors::replica_options ro;
  ro.persistence = std::move(store.value);
  ro.log_save_in_background = false;
  ro.blank = true;
  return ro;
}

// Every other replica answers blank (or, with `primary_started`, the primary of view 0 answers
// as a normal replica without entries): replica `r` starts the new cluster (normal in view 0).
void answer_blank(replica_fixture& f, const caf::actor& r, protocol::replica_id i,
                  bool primary_started = false) {
  const auto nonce = replica_fixture::state(r).nonce;
  for (protocol::replica_id from = 0; from < 3; ++from)
    if (from != i) {
      protocol::RecoveryResponse resp;
      resp.nonce = nonce;
      resp.replica = from;
      resp.blank = !(primary_started && from == 0);
      resp.from_primary = primary_started && from == 0;
      f.note(r, resp);
    }
  BOOST_REQUIRE((replica_fixture::state(r).vr.status == protocol::replica_status::normal));
}

} // namespace

BOOST_FIXTURE_TEST_CASE(a_backup_counts_the_primarys_silence_from_when_it_follows_it,
                        replica_fixture) {
  auto ro = blank_options(std::make_shared<storage::memory_disk>(), 1);
  ro.first_contact_timeout = 0ms;   // no grace: this is about the silence measure alone
  auto r = spawn_replica(1, ro);
  BOOST_REQUIRE((state(r).vr.status == protocol::replica_status::recovering));
  for (int i = 0; i < 100; ++i)
    advance(10ms);   // a second of waiting for the others' answers
  answer_blank(*this, r, 1);
  // It has followed the primary for no time at all: another replica's doubt is not its own.
  note(r, protocol::PrimarySuspected{0, 2});
  BOOST_TEST(state(r).vr.view_number == 0u);
  // After doubt_after_heartbeats of silence it agrees.
  for (int i = 0; i < 11; ++i)
    advance(10ms);
  note(r, protocol::PrimarySuspected{0, 2});
  BOOST_TEST(state(r).vr.view_number == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_new_clusters_backup_gives_the_primary_time_to_start, replica_fixture) {
  auto ro = blank_options(std::make_shared<storage::memory_disk>(), 1);
  auto notices = record_notices(ro);
  const auto grace = ro.first_contact_timeout;
  BOOST_REQUIRE(grace > ro.primary_timeout + ro.timeout_jitter);
  auto r = spawn_replica(1, ro);
  answer_blank(*this, r, 1);
  // Silent primary: its detector fires several times within the grace, and nothing follows.
  const auto steps = int(grace / 10ms) - 10;
  for (int i = 0; i < steps; ++i)
    advance(10ms);
  BOOST_TEST(!state(r).suspect_primary);
  note(r, protocol::PrimarySuspected{0, 2});
  BOOST_TEST(state(r).vr.view_number == 0u);
  BOOST_TEST(std::count_if(notices->begin(), notices->end(), [](const std::string& n) {
               return n.find("has not been heard yet") != std::string::npos;
             }) == 1);   // said once, not at every re-fire
  // Past the grace the primary is doubted like any other silent one: the detector's next verdict
  // makes this replica doubt it, and with replica 2 still doubting (it repeats its
  // PrimarySuspected) the view change starts.
  int more = 0;
  for (; more < 50 && state(r).vr.view_number == 0; ++more) {
    advance(10ms);
    if (more % 10 == 9)
      note(r, protocol::PrimarySuspected{0, 2});
  }
  BOOST_TEST(more >= 10);   // not before the grace is over
  BOOST_TEST(state(r).vr.view_number == 1u);
}

BOOST_FIXTURE_TEST_CASE(the_grace_ends_when_the_primary_is_first_heard, replica_fixture) {
  auto ro = blank_options(std::make_shared<storage::memory_disk>(), 1);
  auto r = spawn_replica(1, ro);
  answer_blank(*this, r, 1);
  advance(10ms);
  note(r, protocol::Commit{0, 0});   // the primary has started
  int steps = 0;
  for (; steps < 40 && !state(r).suspect_primary; ++steps)
    advance(10ms);
  BOOST_TEST(steps < 40);   // the usual timeout (200 ms + jitter), not the grace
}

// A primary that answered as a normal replica has started: it needs no grace.
BOOST_FIXTURE_TEST_CASE(a_backup_whose_primary_has_started_gets_no_grace, replica_fixture) {
  auto ro = blank_options(std::make_shared<storage::memory_disk>(), 1);
  auto r = spawn_replica(1, ro);
  answer_blank(*this, r, 1, true);
  int steps = 0;
  for (; steps < 40 && !state(r).suspect_primary; ++steps)
    advance(10ms);
  BOOST_TEST(steps < 40);
}

BOOST_FIXTURE_TEST_CASE(replicas_that_did_not_start_blank_get_no_grace, replica_fixture) {
  auto r = spawn_replica(1);   // no disk: never blank
  int steps = 0;
  for (; steps < 40 && !state(r).suspect_primary; ++steps)
    advance(10ms);
  BOOST_TEST(steps < 40);
}

// ------------------------------------------------------------------ pause detection
// One large advance_time is a pause of the replica: its 10 ms tick is handled long after it was
// due, as on a starved host, while the primary's messages would have waited in its mailbox.

BOOST_FIXTURE_TEST_CASE(a_paused_backup_does_not_doubt_its_primary_for_the_pause, replica_fixture) {
  actors::replica_options ro;
  auto notices = record_notices(ro);
  auto r = spawn_replica(1, ro);
  note(r, protocol::Commit{0, 0}); // the primary was heard at t = 0
  advance(400ms);                  // then this replica did not run for 400 ms
  // The detector gave up (its deadline is at most 300 ms), but the silence is our own pause.
  BOOST_TEST(!state(r).suspect_primary);
  BOOST_TEST(state(r).pauses_excused == 1u);
  BOOST_REQUIRE(!notices->empty());   // the operator's log says why
  BOOST_TEST(notices->back().find("was not running for 390 ms") != std::string::npos);
  // Nor does it join another replica's doubt: it has barely been listening.
  note(r, protocol::PrimarySuspected{0, 2});
  BOOST_TEST(state(r).vr.view_number == 0u);
  // Running again, with the primary still silent, it doubts within a fresh timeout (and with
  // replica 2's doubt still fresh, that starts the view change at once).
  int steps = 0;
  for (; steps < 31 && state(r).vr.view_number == 0 && !state(r).suspect_primary; ++steps)
    advance(10ms);
  BOOST_TEST(steps < 31);
  note(r, protocol::PrimarySuspected{0, 2});
  BOOST_TEST(state(r).vr.view_number == 1u);
}

BOOST_FIXTURE_TEST_CASE(without_pause_detection_a_pause_looks_like_a_dead_primary,
                        replica_fixture) {
  actors::replica_options ro;
  ro.pause_threshold = 0ms;   // off: the rule the test above relies on
  auto r = spawn_replica(1, ro);
  note(r, protocol::Commit{0, 0});
  advance(400ms);
  BOOST_TEST(state(r).suspect_primary);
  BOOST_TEST(state(r).pauses_excused == 0u);
}

BOOST_FIXTURE_TEST_CASE(pauses_excuse_a_dead_primary_only_up_to_the_allowance, replica_fixture) {
  actors::replica_options ro;
  ro.pause_allowance = 1000ms;
  auto r = spawn_replica(1, ro);
  note(r, protocol::Commit{0, 0});
  // A host that keeps stalling for 400 ms at a time, and a primary that is really gone: each
  // stall is excused until 1 s of pauses is used up, then the silence counts again.
  int stalls = 0;
  while (!state(r).suspect_primary && stalls < 10) {
    advance(400ms);
    ++stalls;
  }
  BOOST_TEST(state(r).suspect_primary);
  BOOST_TEST(stalls == 3);   // t = 1200: 1200 ms of silence - 1000 allowed >= primary_timeout
  BOOST_TEST(state(r).pauses_excused == 2u);
}

BOOST_FIXTURE_TEST_CASE(a_lost_connection_is_doubted_even_after_a_pause, replica_fixture) {
  auto r = spawn_replica(1);
  note(r, protocol::Commit{0, 0});
  note(r, actors::vr_peer_lost_atom::value, protocol::replica_id{2}); // not the primary
  advance(100ms);   // a 90 ms pause, shorter than any detector deadline
  BOOST_REQUIRE(!state(r).suspect_primary);
  BOOST_REQUIRE(state(r).paused_in_silence > 0ms);
  // A closed connection is not a matter of timing: our pause does not explain it.
  note(r, actors::vr_peer_lost_atom::value, protocol::replica_id{0});
  BOOST_TEST(state(r).suspect_primary);
  note(r, protocol::PrimarySuspected{0, 2});
  BOOST_TEST(state(r).vr.view_number == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_connection_closed_after_a_long_silence_is_timing, replica_fixture) {
  auto r = spawn_replica(1);
  note(r, protocol::Commit{0, 0});
  advance(400ms);   // a stall: the detector's verdict is excused
  BOOST_REQUIRE(!state(r).suspect_primary);
  // A link silent past primary_timeout closing now is the middleman's connection-timeout, most
  // likely caused by the same stall: as open to our pauses as the detector's verdict.
  note(r, actors::vr_peer_lost_atom::value, protocol::replica_id{0});
  BOOST_TEST(!state(r).suspect_primary);
  BOOST_TEST(state(r).pauses_excused == 2u);
}

BOOST_FIXTURE_TEST_CASE(a_stall_before_the_primary_was_heard_excuses_nothing, replica_fixture) {
  auto r = spawn_replica(1);
  // The replica stalls for 400 ms with a Commit from the primary waiting in its mailbox ahead
  // of its late tick: it hears the primary first, so the stall was not silence of the primary.
  caf::anon_send(r, protocol::Commit{0, 0});
  advance(400ms);
  BOOST_TEST(state(r).paused_in_silence == 0ms);
  // And the primary's silence from now on counts in full: doubted within timeout + jitter.
  int steps = 0;
  for (; steps < 31 && !state(r).suspect_primary; ++steps)
    advance(10ms);
  BOOST_TEST(state(r).suspect_primary);
  BOOST_TEST(state(r).pauses_excused == 0u);
}

BOOST_FIXTURE_TEST_CASE(hearing_the_primary_forgets_earlier_pauses, replica_fixture) {
  auto r = spawn_replica(1);
  note(r, protocol::Commit{0, 0});
  advance(100ms);
  BOOST_REQUIRE(state(r).paused_in_silence > 0ms);
  note(r, protocol::Commit{0, 0});
  BOOST_TEST(state(r).paused_in_silence == 0ms);
}

BOOST_FIXTURE_TEST_CASE(the_operators_log_says_why_a_view_changed_and_where_it_went,
                        replica_fixture) {
  actors::replica_options ro;
  auto notices = record_notices(ro);
  auto r = spawn_replica(1, ro);
  note(r, actors::vr_peer_lost_atom::value, protocol::replica_id{0});
  note(r, protocol::PrimarySuspected{0, 2});
  BOOST_REQUIRE(state(r).vr.view_number == 1u);
  BOOST_TEST(notices->back()
             == "view change from view 0 to 1: the primary (replica 0) is doubted by this "
                "replica and 1 other(s)");
  // Escalations of a view change that stalls are not logged again (a cut-off replica would
  // log one line every view_change_timeout).
  const auto logged = notices->size();
  for (int i = 0; i < 100; ++i)
    advance(10ms);
  BOOST_TEST(state(r).vr.view_number >= 2u);
  BOOST_TEST(notices->size() == logged);
  // A StartView from replica 2 as the primary of a later view: where the primary went.
  auto w = state(r).vr.view_number + 1;
  while (w % 3 != 2)
    ++w;
  note(r, protocol::StartView{w, 0, {}, 0, 0});
  BOOST_REQUIRE(state(r).vr.view_number == w);
  BOOST_REQUIRE((state(r).vr.status == protocol::replica_status::normal));
  BOOST_TEST(notices->back() == "normal in view " + std::to_string(w) + ", primary 2");
}

BOOST_FIXTURE_TEST_CASE(lines_about_views_are_limited_per_minute, replica_fixture) {
  actors::replica_options ro;
  auto notices = record_notices(ro);
  auto r = spawn_replica(1, ro);
  auto about_views = [&] {
    std::size_t n = 0;
    for (auto& m : *notices)
      n += m.rfind("normal in view", 0) == 0 || m.rfind("view change", 0) == 0;
    return n;
  };
  // A group churning through views: 20 new views within a minute, each announced by its
  // primary's StartView (replica 0 or 2, never this replica).
  std::uint64_t w = 0;
  for (int i = 0; i < 20; ++i) {
    do
      ++w;
    while (w % 3 == 1);
    note(r, protocol::StartView{w, 0, {}, 0, 0});
    BOOST_REQUIRE(state(r).vr.view_number == w);
  }
  BOOST_TEST(about_views() == 10u);   // "normal in view 0" at the start, then 9 of the 20
  // A minute later the next line says how many were left out.
  advance(61s);
  do
    ++w;
  while (w % 3 == 1);
  note(r, protocol::StartView{w, 0, {}, 0, 0});
  bool summarized = false;
  for (auto& m : *notices)
    summarized |= m.find("earlier lines about views left out") != std::string::npos;
  BOOST_TEST(summarized);
}
