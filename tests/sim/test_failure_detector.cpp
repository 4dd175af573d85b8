// The failure detector's timeout logic (actors/failure_detector.hpp), without any actor.
#define BOOST_TEST_MODULE test_failure_detector
#include <boost/test/unit_test.hpp>

#include "actors/failure_detector.hpp"

#include <set>

using vrdns::actors::failure_detector;
using namespace std::chrono_literals;

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
