// The CAS linearizability checker of the chaos test, on hand-made histories: it accepts valid
// ones (with unknown ops on and off the chain) and rejects each kind of violation it claims to
// find, with a message naming the culprit.
#define BOOST_TEST_MODULE test_cas_checker
#include <boost/test/unit_test.hpp>

#include "tests/chaos/cas_checker.hpp"

using vrdns::chaos::CasOp;
using vrdns::chaos::check_cas_history;
using vrdns::chaos::Outcome;

namespace {

constexpr int nxrrset = 8;

CasOp op(int client, std::string from, std::string to, Outcome o, int64_t start, int64_t end,
         int rcode = -1) {
  CasOp c;
  c.client = client;
  c.old_value = std::move(from);
  c.new_value = std::move(to);
  c.outcome = o;
  c.rcode = rcode >= 0 ? rcode : (o == Outcome::acked ? 0 : o == Outcome::failed ? nxrrset : 2);
  c.start_us = start;
  c.end_us = end;
  return c;
}

bool mentions(const std::string& message, const std::string& what) {
  return message.find(what) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(valid_sequential_chain_is_accepted) {
  const std::vector<CasOp> ops = {
      op(0, "init", "a", Outcome::acked, 0, 10),
      op(1, "a", "b", Outcome::acked, 20, 30),
      op(2, "b", "c", Outcome::acked, 40, 50),
  };
  const auto r = check_cas_history("init", "c", ops);
  BOOST_TEST(r.ok, r.message);
  BOOST_TEST(r.chain == (std::vector<std::size_t>{0, 1, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(valid_history_with_concurrency_unknowns_and_failures_is_accepted) {
  const std::vector<CasOp> ops = {
      op(0, "init", "a", Outcome::acked, 0, 100),
      // Concurrent with the first and lost the race: a correct NXRRSET.
      op(1, "init", "x", Outcome::failed, 5, 90),
      // Unknown, and in the chain: it took effect after the client gave up.
      op(2, "a", "b", Outcome::unknown, 110, 120),
      // Started before the unknown one ended; fine, it follows it.
      op(0, "b", "c", Outcome::acked, 115, 400),
      // Unknown and never took effect.
      op(1, "a", "y", Outcome::unknown, 111, 130),
      // Read a stale value; fails, and the value it expected was long gone.
      op(2, "init", "z", Outcome::failed, 500, 510),
  };
  const auto r = check_cas_history("init", "c", ops);
  BOOST_TEST(r.ok, r.message);
  BOOST_TEST(r.chain == (std::vector<std::size_t>{0, 2, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(unknown_op_may_take_effect_after_later_ops_started) {
  // The unknown op's client gave up at 20, but a retransmission committed it later, after
  // op 1 (which started at 30) -- allowed, since an unknown op has no deadline.
  const std::vector<CasOp> ops = {
      op(0, "init", "a", Outcome::acked, 30, 40),
      op(1, "a", "b", Outcome::unknown, 0, 20),
  };
  const auto r = check_cas_history("init", "b", ops);
  BOOST_TEST(r.ok, r.message);
}

BOOST_AUTO_TEST_CASE(two_acked_ops_with_the_same_old_value_are_rejected) {
  const std::vector<CasOp> ops = {
      op(0, "init", "a", Outcome::acked, 0, 10),
      op(1, "init", "b", Outcome::acked, 0, 10),   // both claim to have replaced "init"
      op(2, "a", "c", Outcome::acked, 20, 30),
  };
  const auto r = check_cas_history("init", "c", ops);
  BOOST_TEST(!r.ok);
  BOOST_TEST(mentions(r.message, "same old value"), r.message);
}

BOOST_AUTO_TEST_CASE(lost_acked_write_is_rejected) {
  const std::vector<CasOp> ops = {
      op(0, "init", "a", Outcome::acked, 0, 10),
      op(1, "a", "b", Outcome::acked, 20, 30),
  };
  // The nodes serve "a": the acknowledged write of "b" is gone.
  const auto r = check_cas_history("init", "a", ops);
  BOOST_TEST(!r.ok);
  BOOST_TEST(mentions(r.message, "lost write"), r.message);
}

BOOST_AUTO_TEST_CASE(chain_against_real_time_order_is_rejected) {
  // "b" follows "a" in the chain, but the op writing "b" completed (at 10) before the op
  // writing "a" started (at 20): the values force an order that real time forbids.
  const std::vector<CasOp> ops = {
      op(0, "b", "a", Outcome::acked, 20, 30),
      op(1, "init", "b", Outcome::acked, 0, 10),
      op(2, "a", "c", Outcome::acked, 5, 8),   // completed before its predecessor started
  };
  const auto r = check_cas_history("init", "c", ops);
  BOOST_TEST(!r.ok);
  BOOST_TEST(mentions(r.message, "real-time order"), r.message);
  BOOST_TEST(mentions(r.message, "op #2"), r.message);
}

BOOST_AUTO_TEST_CASE(failed_op_in_the_chain_is_rejected) {
  const std::vector<CasOp> ops = {
      op(0, "init", "a", Outcome::failed, 0, 10),   // answered NXRRSET, yet "a" is served
  };
  const auto r = check_cas_history("init", "a", ops);
  BOOST_TEST(!r.ok);
  BOOST_TEST(mentions(r.message, "definitely failed"), r.message);
}

BOOST_AUTO_TEST_CASE(final_value_nobody_wrote_is_rejected) {
  const std::vector<CasOp> ops = {op(0, "init", "a", Outcome::acked, 0, 10)};
  const auto r = check_cas_history("init", "zzz", ops);
  BOOST_TEST(!r.ok);
  BOOST_TEST(mentions(r.message, "no op wrote"), r.message);
}

BOOST_AUTO_TEST_CASE(impossible_prerequisite_failure_is_rejected) {
  // "a" was written (acked at 10) before op 1 started and replaced only at 100, after op 1
  // ended: op 1's prerequisite "value is a" held throughout, so NXRRSET is wrong.
  const std::vector<CasOp> ops = {
      op(0, "init", "a", Outcome::acked, 0, 10),
      op(1, "a", "x", Outcome::failed, 20, 30),
      op(2, "a", "b", Outcome::acked, 100, 110),
  };
  const auto r = check_cas_history("init", "b", ops);
  BOOST_TEST(!r.ok);
  BOOST_TEST(mentions(r.message, "prerequisite failure impossible"), r.message);
  // Other failure rcodes (REFUSED, NOTAUTH...) say nothing about the value: not a violation.
  auto refused = ops;
  refused[1].rcode = 5;
  BOOST_TEST(check_cas_history("init", "b", refused).ok);
}

BOOST_AUTO_TEST_CASE(duplicate_written_values_make_the_history_uncheckable) {
  const std::vector<CasOp> ops = {
      op(0, "init", "a", Outcome::acked, 0, 10),
      op(1, "init", "a", Outcome::unknown, 0, 10),
  };
  const auto r = check_cas_history("init", "a", ops);
  BOOST_TEST(!r.ok);
  BOOST_TEST(mentions(r.message, "not checkable"), r.message);
}
