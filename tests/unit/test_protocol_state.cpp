// Structural invariants of protocol::replica_state (Figure 2 of VR Revisited).
#define BOOST_TEST_MODULE test_protocol_state
#include <boost/test/unit_test.hpp>

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
  s.replace_log({{5, 5, "x"}});
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
  BOOST_CHECK_THROW(s.replace_log({{1, 1, "a"}}), std::logic_error);
  BOOST_TEST(s.op_number == 2u); // nothing was dropped
  BOOST_CHECK_THROW(s.entry(0), std::logic_error);
  BOOST_CHECK_THROW(s.entry(3), std::logic_error);
  BOOST_TEST(s.entry(2).op == "b");
  s.truncate_after(2); // at commit_number: allowed, a no-op
  s.check_invariants();
}
