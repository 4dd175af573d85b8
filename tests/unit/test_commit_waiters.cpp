#define BOOST_TEST_MODULE commit_waiters
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <vector>

#include "app/commit_waiters.hpp"

using vrdns::app::CommitWaiters;
using namespace std::chrono_literals;

namespace {

CommitWaiters::Key key(std::uint64_t n) { return CommitWaiters::Key{n * 7919, n}; }

const CommitWaiters::clock::time_point t0{};

}  // namespace

BOOST_AUTO_TEST_CASE(a_wait_is_released_once_when_its_key_is_served) {
  CommitWaiters w;
  int calls = 0;
  w.wait(key(1), [&] { ++calls; }, t0 + 1s);
  w.served({key(2)});
  BOOST_TEST(calls == 0);
  w.served({key(1)});
  BOOST_TEST(calls == 1);
  w.served({key(1)});        // served again (a retransmit): nothing left to release
  w.expire(t0 + 2s);         // and its deadline does not release it a second time
  BOOST_TEST(calls == 1);
  BOOST_TEST(w.waiting() == 0u);
}

BOOST_AUTO_TEST_CASE(a_key_served_before_the_wait_releases_it_at_once) {
  CommitWaiters w;
  w.served({key(5), key(6)});
  int calls = 0;
  w.wait(key(6), [&] { ++calls; }, t0 + 1s);
  BOOST_TEST(calls == 1);
  BOOST_TEST(w.waiting() == 0u);
}

BOOST_AUTO_TEST_CASE(two_waits_for_one_key_are_both_released) {
  CommitWaiters w;
  int a = 0, b = 0;
  w.wait(key(3), [&] { ++a; }, t0 + 1s);
  w.wait(key(3), [&] { ++b; }, t0 + 1s);
  BOOST_TEST(w.waiting() == 2u);
  w.served({key(3)});
  BOOST_TEST(a == 1);
  BOOST_TEST(b == 1);
}

BOOST_AUTO_TEST_CASE(the_deadline_releases_only_the_waits_that_are_due) {
  CommitWaiters w;
  int early = 0, late = 0, served = 0;
  w.wait(key(1), [&] { ++early; }, t0 + 100ms);
  w.wait(key(2), [&] { ++served; }, t0 + 150ms);
  w.wait(key(3), [&] { ++late; }, t0 + 200ms);
  w.served({key(2)});
  BOOST_TEST(served == 1);
  w.expire(t0 + 99ms);
  BOOST_TEST(early == 0);
  w.expire(t0 + 100ms);      // a deadline at `now` is due
  BOOST_TEST(early == 1);
  BOOST_TEST(late == 0);
  w.expire(t0 + 170ms);      // passes the served wait's deadline entry: no second call
  BOOST_TEST(served == 1);
  BOOST_TEST(late == 0);
  w.expire(t0 + 200ms);
  BOOST_TEST(late == 1);
  BOOST_TEST(early == 1);
  BOOST_TEST(w.waiting() == 0u);
}

BOOST_AUTO_TEST_CASE(an_expired_wait_is_not_released_again_when_served_later) {
  CommitWaiters w;
  int calls = 0;
  w.wait(key(4), [&] { ++calls; }, t0 + 10ms);
  w.expire(t0 + 10ms);
  w.served({key(4)});
  BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(only_the_last_history_keys_are_remembered) {
  CommitWaiters w;
  std::vector<CommitWaiters::Key> keys;
  for (std::uint64_t i = 0; i <= CommitWaiters::history; ++i) keys.push_back(key(i + 100));
  w.served(keys);   // one more than history: the oldest is forgotten
  int oldest = 0, newest = 0;
  w.wait(keys.front(), [&] { ++oldest; }, t0 + 1s);
  w.wait(keys.back(), [&] { ++newest; }, t0 + 1s);
  BOOST_TEST(oldest == 0);
  BOOST_TEST(newest == 1);
  w.expire(t0 + 1s);
  BOOST_TEST(oldest == 1);
}

BOOST_AUTO_TEST_CASE(a_callback_may_wait_again) {
  CommitWaiters w;
  int second = 0;
  w.wait(key(8), [&] { w.wait(key(9), [&] { ++second; }, t0 + 1s); }, t0 + 1s);
  w.served({key(8), key(9)});   // key 9 is recent by the time the callback runs
  BOOST_TEST(second == 1);
}
