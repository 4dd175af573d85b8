// Structural invariants of protocol::replica_state (Figure 2 of VR Revisited).
#define BOOST_TEST_MODULE test_protocol_state
#include <boost/test/unit_test.hpp>

#include "protocol/checkpoint.hpp"
#include "protocol/persistence.hpp"
#include "protocol/replica_state.hpp"

#include <stdexcept>

using namespace vrdns::protocol;

BOOST_AUTO_TEST_CASE(quorum_and_primary_follow_the_configuration) {
  replica_state three(3, 1), five(5, 4);
  BOOST_TEST(three.f() == 1u);
  BOOST_TEST(three.quorum() == 2u);
  BOOST_TEST(five.f() == 2u);
  BOOST_TEST(five.quorum() == 3u);
  BOOST_TEST(three.primary_of(0) == 0u);
  BOOST_TEST(three.primary_of(4) == 1u);
  BOOST_TEST(!three.is_primary());
  three.view_number = 1;
  BOOST_TEST(three.is_primary());
  BOOST_CHECK_THROW(replica_state(3, 3), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(append_commit_and_suffix) {
  replica_state s(3, 0);
  s.append({1, 1, "a"});
  s.append({1, 2, "b"});
  s.append({2, 1, "c"});
  BOOST_TEST(s.op_number == 3u);
  BOOST_TEST(s.entry(2).op == "b");
  BOOST_TEST(s.advance_commit(2) == 2u);
  BOOST_TEST(s.advance_commit(1) == 2u);  // never lowered
  BOOST_TEST(s.advance_commit(99) == 3u); // clamped to what we hold
  auto tail = s.suffix(1, 1);
  BOOST_REQUIRE(tail.size() == 1u);
  BOOST_TEST(tail[0].op == "b");
  BOOST_TEST(s.suffix(3, 10).empty());
  s.check_invariants();
}

BOOST_AUTO_TEST_CASE(replacing_entries_bumps_log_epoch) {
  replica_state s(3, 0);
  s.append({1, 1, "a"});
  s.append({1, 2, "b"});
  auto e0 = s.log_epoch;
  s.append({1, 3, "c"});
  BOOST_TEST(s.log_epoch == e0); // appends do not
  s.truncate_after(1);
  BOOST_TEST(s.op_number == 1u);
  BOOST_TEST(s.log_epoch == e0 + 1);
  s.adopt_log(0, {{5, 5, "x"}});
  BOOST_TEST(s.log_epoch == e0 + 2);
  BOOST_TEST(s.op_number == 1u);
  s.check_invariants();
}

BOOST_AUTO_TEST_CASE(broken_invariants_are_detected) {
  replica_state s(3, 0);
  s.append({1, 1, "a"});
  s.commit_number = 2; // beyond op_number
  BOOST_CHECK_THROW(s.check_invariants(), std::logic_error);
  s.commit_number = 1;
  s.execute_number = 1;
  s.check_invariants();
  s.log.push_back({1, 2, "b"}); // log.size() != op_number
  BOOST_CHECK_THROW(s.check_invariants(), std::logic_error);
  s.op_number = 2;
  s.last_normal_view = 1; // > view_number
  BOOST_CHECK_THROW(s.check_invariants(), std::logic_error);
}

// These used to be assert()s, compiled out in Release (NDEBUG): a bug truncating a committed op
// would then have gone unnoticed in exactly the builds that run in production.
BOOST_AUTO_TEST_CASE(committed_entries_cannot_be_dropped_in_any_build) {
  replica_state s(3, 0);
  s.append({1, 1, "a"});
  s.append({1, 2, "b"});
  s.advance_commit(2);
  BOOST_CHECK_THROW(s.truncate_after(1), std::logic_error);
  BOOST_CHECK_THROW(s.adopt_log(0, {{1, 1, "a"}}), std::logic_error);
  BOOST_TEST(s.op_number == 2u); // nothing was dropped
  BOOST_CHECK_THROW(s.entry(0), std::logic_error);
  BOOST_CHECK_THROW(s.entry(3), std::logic_error);
  BOOST_TEST(s.entry(2).op == "b");
  s.truncate_after(2); // at commit_number: allowed, a no-op
  s.check_invariants();
}

// --- checkpoints: the log starts after log_start ---

namespace {
replica_state with_ops(std::uint64_t n, std::uint64_t committed) {
  replica_state s(3, 1);
  for (std::uint64_t i = 1; i <= n; ++i)
    s.append({7, i, "op" + std::to_string(i)});
  s.advance_commit(committed);
  s.execute_number = committed;
  s.mark_saved();
  return s;
}
} // namespace

BOOST_AUTO_TEST_CASE(discard_prefix_keeps_op_numbers_and_entries) {
  auto s = with_ops(10, 8);
  s.discard_prefix(5);
  BOOST_TEST(s.log_start == 5u);
  BOOST_TEST(s.op_number == 10u);
  BOOST_TEST(s.log.size() == 5u);
  BOOST_TEST(s.entry(6).op == "op6");
  BOOST_TEST(s.entry(10).op == "op10");
  BOOST_CHECK_THROW(s.entry(5), std::logic_error);   // cut
  BOOST_TEST(s.suffix(7, 100).size() == 3u);
  BOOST_CHECK_THROW(s.suffix(4, 100), std::logic_error);   // reaches before log_start
  BOOST_TEST(s.log_saved());                               // nothing to rewrite
  BOOST_CHECK_THROW(s.discard_prefix(9), std::logic_error); // op 9 is not executed yet
  s.discard_prefix(3);                                      // behind log_start: no-op
  BOOST_TEST(s.log_start == 5u);
  s.check_invariants();
  s.truncate_after(9);
  BOOST_TEST(s.op_number == 9u);
  BOOST_TEST(s.log.size() == 4u);
  s.check_invariants();
}

BOOST_AUTO_TEST_CASE(adopt_log_keeps_our_committed_prefix_and_takes_the_rest) {
  auto s = with_ops(6, 4);
  s.discard_prefix(2);
  // Another replica's log from op 3 on: ops 3..4 equal (committed), 5.. differ.
  std::vector<log_entry> theirs{{7, 3, "op3"}, {7, 4, "op4"}, {9, 1, "x5"}, {9, 2, "x6"},
                                {9, 3, "x7"}};
  BOOST_TEST(s.can_adopt(2));
  BOOST_TEST(s.can_adopt(4));
  BOOST_TEST(!s.can_adopt(5));   // starts after our commit_number: a checkpoint is needed
  s.adopt_log(2, theirs);
  BOOST_TEST(s.log_start == 2u);
  BOOST_TEST(s.op_number == 7u);
  BOOST_TEST(s.entry(4).op == "op4");
  BOOST_TEST(s.entry(5).op == "x5");
  BOOST_TEST(s.entry(7).op == "x7");
  BOOST_TEST(s.first_unsaved_op == 5u);   // only the replaced suffix is rewritten
  s.check_invariants();
  // A log starting before our log_start: its entries before ours are not taken.
  auto t = with_ops(6, 6);
  t.discard_prefix(4);
  std::vector<log_entry> longer;
  for (std::uint64_t i = 1; i <= 8; ++i)
    longer.push_back({7, i, "op" + std::to_string(i)});
  t.adopt_log(0, longer);
  BOOST_TEST(t.log_start == 4u);
  BOOST_TEST(t.op_number == 8u);
  BOOST_TEST(t.log.size() == 4u);
  BOOST_TEST(t.first_unsaved_op == 7u);   // ops 5 and 6 were the same
  t.check_invariants();
  BOOST_CHECK_THROW(t.adopt_log(7, {}), std::logic_error);   // gap: 7 > commit_number 6
}

BOOST_AUTO_TEST_CASE(install_checkpoint_past_the_log_restarts_it) {
  auto s = with_ops(5, 3);
  s.install_checkpoint(9);
  BOOST_TEST(s.log_start == 9u);
  BOOST_TEST(s.op_number == 9u);
  BOOST_TEST(s.commit_number == 9u);
  BOOST_TEST(s.execute_number == 9u);
  BOOST_TEST(s.log.empty());
  BOOST_TEST(!s.log_saved());   // the durable log must restart after op 9
  s.check_invariants();
  s.append({1, 1, "next"});
  BOOST_TEST(s.entry(10).op == "next");
  BOOST_CHECK_THROW(s.install_checkpoint(8), std::logic_error);   // older than executed
}

BOOST_AUTO_TEST_CASE(install_checkpoint_inside_the_log_keeps_the_entries_after_it) {
  auto s = with_ops(8, 2);
  s.install_checkpoint(5);
  BOOST_TEST(s.log_start == 5u);
  BOOST_TEST(s.op_number == 8u);   // ops 6..8 stay (they belong to last_normal_view)
  BOOST_TEST(s.commit_number == 5u);
  BOOST_TEST(s.entry(6).op == "op6");
  BOOST_TEST(s.log_saved());        // nothing after the checkpoint changed
  s.check_invariants();
}

BOOST_AUTO_TEST_CASE(broken_log_start_invariants_are_detected) {
  auto s = with_ops(4, 4);
  s.discard_prefix(2);
  s.check_invariants();
  s.log_start = 3;   // log.size() no longer matches
  BOOST_CHECK_THROW(s.check_invariants(), std::logic_error);
  s.log_start = 2;
  s.execute_number = 1;   // a checkpoint covers ops never executed
  BOOST_CHECK_THROW(s.check_invariants(), std::logic_error);
}

// The record written before a log that changes with the view (protocol/persistence.hpp): a
// view change of the new view that keeps the last_normal_view already on disk, so a crash
// halfway restarts the replica able to vote, without claiming the new view's log as its own;
// a recovering replica stays recovering.
BOOST_AUTO_TEST_CASE(in_flux_record_keeps_the_old_last_normal_view) {
  const durable_view on_disk{3, 1, replica_status::view_change, 40};
  const durable_view start_view{3, 3, replica_status::normal, 45};
  auto v = in_flux_view(on_disk, start_view, true);
  BOOST_TEST(v.view_number == 3u);
  BOOST_TEST(v.last_normal_view == 1u);
  BOOST_TEST(int(v.status) == int(replica_status::view_change));

  // A new primary taking the best DoViewChange log from a view it was normal in.
  const durable_view behind{5, 2, replica_status::view_change, 40};
  v = in_flux_view(behind, durable_view{5, 5, replica_status::normal, 50}, true);
  BOOST_TEST(v.view_number == 5u);
  BOOST_TEST(v.last_normal_view == 2u);
  BOOST_TEST(int(v.status) == int(replica_status::view_change));

  // Entries dropped without comparing (the paper's literal state transfer truncates to
  // commit_number): the half-written log may lack acknowledged ops: it must not vote with it.
  v = in_flux_view(durable_view{7, 2, replica_status::normal, 40},
                   durable_view{7, 7, replica_status::normal, 50}, false);
  BOOST_TEST(int(v.status) == int(replica_status::recovering));
  BOOST_TEST(v.view_number == 7u);

  // The end of recovery: still recovering until the whole log is on disk.
  const durable_view recovering{0, 0, replica_status::recovering, 0};
  v = in_flux_view(recovering, durable_view{4, 4, replica_status::normal, 30}, true);
  BOOST_TEST(int(v.status) == int(replica_status::recovering));
  BOOST_TEST(v.view_number == 4u);
}

namespace {

// A replica whose log (ops 1..6 of last_normal_view 1, ops 1-2 committed) belongs to a view
// older than the one it learned of (view 4): the start of a state transfer.
replica_state awaiting_replica() {
  replica_state s(3, 1);
  s.view_number = 1;
  s.last_normal_view = 1;
  for (std::uint64_t i = 1; i <= 6; ++i)
    s.append({1, i, "old" + std::to_string(i)});
  s.advance_commit(2);
  s.mark_saved();
  s.view_number = 4;
  s.begin_awaiting_state();
  return s;
}

std::vector<log_entry> view_log() {   // view 4's log: ops 1-4 as ours, then different ones
  std::vector<log_entry> v;
  for (std::uint64_t i = 1; i <= 4; ++i)
    v.push_back({1, i, "old" + std::to_string(i)});
  for (std::uint64_t i = 5; i <= 9; ++i)
    v.push_back({2, i, "new" + std::to_string(i)});
  return v;
}

std::vector<log_entry> part(std::uint64_t after, std::size_t count) {
  auto v = view_log();
  return {v.begin() + static_cast<std::ptrdiff_t>(after),
          v.begin() + static_cast<std::ptrdiff_t>(after + count)};
}

} // namespace

// Session 7's review: a NewState is capped at transfer_max entries, and the replica used to
// take the first part as the whole log of the view: truncated after commit_number, appended the
// part, and labelled the result with the new view. That prefix could lack ops committed before
// the view (ops 3-4 here, acknowledged by this replica) and still win a view change. Now it
// merges part by part and takes the new label only with the whole log.
BOOST_AUTO_TEST_CASE(state_transfer_in_parts_keeps_the_old_label_until_the_whole_log_is_here) {
  using r = replica_state::merge_result;
  auto s = awaiting_replica();
  BOOST_TEST(s.state_request_point() == 2u);

  // Part 1: ops 3-4, equal to ours. Nothing dropped, nothing relabelled, ops 5-6 still ours.
  BOOST_TEST(int(s.merge_view_state(2, part(2, 2), 9)) == int(r::progressed));
  BOOST_TEST(s.awaiting_state);
  BOOST_TEST(s.last_normal_view == 1u);
  BOOST_TEST(s.op_number == 6u);
  BOOST_TEST(s.log_saved());   // nothing changed: nothing to rewrite
  BOOST_TEST(s.state_request_point() == 4u);

  // The same part again (a duplicate): no progress, nothing changes.
  BOOST_TEST(int(s.merge_view_state(2, part(2, 2), 9)) == int(r::no_progress));
  BOOST_TEST(s.op_number == 6u);

  // Part 2: ops 5-6 differ from ours and replace them; op 7 is appended. Still the old label.
  const auto epoch = s.log_epoch;
  BOOST_TEST(int(s.merge_view_state(4, part(4, 3), 9)) == int(r::progressed));
  BOOST_TEST(s.awaiting_state);
  BOOST_TEST(s.last_normal_view == 1u);
  BOOST_TEST(s.op_number == 7u);
  BOOST_TEST(s.entry(5).op == "new5");
  BOOST_TEST(s.entry(3).op == "old3");
  BOOST_TEST(s.log_epoch == epoch + 1);
  BOOST_TEST(s.first_unsaved_op == 5u);   // the save rewrites from the first replaced entry

  // Last part: the whole log is here; it becomes the view's.
  BOOST_TEST(int(s.merge_view_state(7, part(7, 2), 9)) == int(r::complete));
  BOOST_TEST(!s.awaiting_state);
  BOOST_TEST(s.last_normal_view == 4u);
  BOOST_TEST(s.op_number == 9u);
  BOOST_TEST(s.commit_number == 2u);   // commits come from the primary, not from the merge
  for (std::uint64_t op = 1; op <= 9; ++op)
    BOOST_TEST((s.entry(op) == view_log()[op - 1]));
  s.check_invariants();
}

BOOST_AUTO_TEST_CASE(state_transfer_drops_our_entries_past_the_views_log_only_at_the_end) {
  using r = replica_state::merge_result;
  auto s = awaiting_replica();
  // The view's log ends at op 3 (ours reaches op 6): a part ending before it changes nothing.
  auto short_log = part(0, 3);
  BOOST_TEST(int(s.merge_view_state(0, {short_log[0], short_log[1]}, 3))
             == int(r::no_progress));   // ops 1-2 are committed: already verified
  BOOST_TEST(s.op_number == 6u);
  BOOST_TEST(int(s.merge_view_state(2, {short_log[2]}, 3)) == int(r::complete));
  BOOST_TEST(s.op_number == 3u);   // ops 4-6 were not in the view's log: never committed
  BOOST_TEST(s.last_normal_view == 4u);
  s.check_invariants();
}

BOOST_AUTO_TEST_CASE(state_transfer_part_past_what_was_verified_needs_a_checkpoint) {
  using r = replica_state::merge_result;
  auto s = awaiting_replica();
  // The primary's log starts after op 5 (a checkpoint): it cannot be compared with ours.
  BOOST_TEST(int(s.merge_view_state(5, part(5, 4), 9)) == int(r::needs_checkpoint));
  BOOST_TEST(s.op_number == 6u);
  BOOST_TEST(s.awaiting_state);
  BOOST_TEST(s.last_normal_view == 1u);
  // Lengths that do not add up are refused, not trusted.
  BOOST_CHECK_THROW(s.merge_view_state(2, part(2, 4), 5), std::invalid_argument);
  // A new state transfer (another view) starts the comparison again from commit_number.
  s.merge_view_state(2, part(2, 2), 9);
  BOOST_TEST(s.state_request_point() == 4u);
  s.view_number = 5;
  s.begin_awaiting_state();
  BOOST_TEST(s.state_request_point() == 2u);
}

// Review of session 8: under a steady load the primary's log can grow by more than a part per
// round trip, so "the part that reaches the primary's op_number" may never come. The transfer
// ends once the log is verified as far as the first NewState's op_number (the view's log was at
// least that long when it began); later entries are ordinary gap filling.
BOOST_AUTO_TEST_CASE(state_transfer_ends_at_the_first_parts_op_number_while_the_primary_grows) {
  using r = replica_state::merge_result;
  auto s = awaiting_replica();
  auto log = view_log();   // ops 1-9; the primary goes on to op 40
  BOOST_TEST(int(s.merge_view_state(2, part(2, 3), 9)) == int(r::progressed));
  BOOST_TEST(s.state_request_point() == 5u);
  BOOST_TEST(s.last_normal_view == 1u);
  // The primary's log is at op 30 by now; this part still does not reach it, but it verifies
  // ops 6-9: as far as the first part's op_number.
  BOOST_TEST(int(s.merge_view_state(5, part(5, 4), 30)) == int(r::complete));
  BOOST_TEST(!s.awaiting_state);
  BOOST_TEST(s.last_normal_view == 4u);
  BOOST_TEST(s.op_number == 9u);
  for (std::uint64_t op = 1; op <= 9; ++op)
    BOOST_TEST((s.entry(op) == log[op - 1]));
  // A new transfer forgets the old target.
  s.view_number = 5;
  s.begin_awaiting_state();
  BOOST_TEST(!s.state_target.has_value());
}

// The client_table is bounded: beyond client_table_max clients the one heard least recently
// (lowest op) goes, never the client just recorded; and a replica that restored a checkpoint of
// the table midway keeps exactly the table of one that executed every op itself.
BOOST_AUTO_TEST_CASE(client_table_forgets_the_client_heard_least_recently) {
  struct execution {
    std::uint64_t client, request, op;
  };
  const std::vector<execution> ops{
      {10, 1, 1}, {20, 1, 2}, {30, 1, 3},
      {10, 2, 4},   // client 10 heard again: now 20 is the oldest
      {40, 1, 5},   // a fourth client: 20 goes
      {30, 1, 6},   // a retransmit executed again changes its op, not its request
      {50, 1, 7},   // 10 (op 4) is older than 30 (op 6)
      {60, 1, 8}, {30, 2, 9}, {70, 1, 10}};
  auto run = [](replica_state& s, std::vector<std::uint64_t>& gone, const execution& e) {
    std::string result = "r";   // appended, not "r" + ...: GCC 12 -O3 -Wrestrict false positive
    result += std::to_string(e.op);
    for (auto g : s.record_execution(e.client, e.request, result, e.op))
      gone.push_back(g);
    s.check_invariants();
  };
  replica_state a(3, 0);
  a.client_table_max = 3;
  std::vector<std::uint64_t> gone_a;
  for (std::size_t i = 0; i < 7; ++i) run(a, gone_a, ops[i]);
  BOOST_TEST(gone_a == (std::vector<std::uint64_t>{20, 10}));
  BOOST_TEST(a.client_table.size() == 3u);
  BOOST_TEST(a.client_table.count(30) == 1u);
  BOOST_TEST(a.client_table.at(30).request_number == 1u);
  BOOST_TEST(a.client_table.at(30).op_number == 6u);
  BOOST_TEST(a.client_table.count(40) == 1u);
  BOOST_TEST(a.client_table.count(50) == 1u);
  for (std::size_t i = 7; i < ops.size(); ++i) run(a, gone_a, ops[i]);

  // Replica b executes up to op k, and c starts from b's table as a checkpoint carries it.
  for (std::size_t k = 1; k < ops.size(); ++k) {
    replica_state b(3, 1), c(3, 2);
    b.client_table_max = c.client_table_max = 3;
    std::vector<std::uint64_t> gone_b, gone_c;
    for (std::size_t i = 0; i < k; ++i) run(b, gone_b, ops[i]);
    auto restored = decode_client_table(encode_client_table(b.client_table));
    BOOST_REQUIRE(restored);
    c.client_table = std::move(*restored);
    c.trim_client_table();
    for (std::size_t i = k; i < ops.size(); ++i) run(c, gone_c, ops[i]);
    BOOST_TEST(c.client_table == a.client_table, "checkpoint after op " << k);
  }

  // An older request executed late (it was in the log before a newer one was): the newer result
  // and its op stay.
  run(a, gone_a, {70, 0, 11});
  BOOST_TEST(a.client_table.at(70).request_number == 1u);
  BOOST_TEST(a.client_table.at(70).op_number == 10u);

  // A table restored larger than the bound (another replica's checkpoint, an older version)
  // is trimmed the same way: oldest first, ties by lowest id.
  replica_state c(3, 2);
  c.client_table_max = 2;
  c.client_table = {{1, {1, "x", 0}}, {2, {1, "y", 0}}, {3, {1, "z", 9}}, {4, {1, "w", 5}}};
  BOOST_TEST(c.trim_client_table() == (std::vector<std::uint64_t>{1, 2}));
  c.check_invariants();
  c.client_table_max = 1;
  c.client_table[5] = {1, "v", 1};
  BOOST_CHECK_THROW(c.check_invariants(), std::logic_error);
}
