// net/state_publisher: workers see each published state at their next refresh, and a replaced
// state is destroyed by publish() (the replica's side), never by a worker dropping it.
#define BOOST_TEST_MODULE test_state_publisher
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dns/responder.hpp"
#include "net/state_publisher.hpp"

using namespace vrdns;

namespace {

dns::ServingStatePtr state(const std::string& status) {
  auto s = std::make_shared<dns::ServingState>();
  s->status = status;
  return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_reader_sees_the_newest_state_at_its_next_refresh) {
  net::StatePublisher pub(state("v1"));
  net::StateReader reader(pub);
  BOOST_TEST(reader.refresh().status == "v1");
  pub.publish(state("v2"));
  pub.publish(state("v3"));
  BOOST_TEST(reader.refresh().status == "v3");
  BOOST_CHECK_THROW(pub.publish(nullptr), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_replaced_state_is_destroyed_by_publish_not_by_the_reader) {
  auto first = state("v1");
  std::weak_ptr<const dns::ServingState> watch_first = first;
  net::StatePublisher pub(std::move(first));
  net::StateReader reader(pub);
  reader.refresh();

  auto second = state("v2");
  std::weak_ptr<const dns::ServingState> watch_second = second;
  pub.publish(std::move(second));
  BOOST_TEST(pub.retired() == 1u);   // the reader still holds v1

  // The reader moves on and drops v1: it was not the last holder, so it freed nothing.
  BOOST_TEST(reader.refresh().status == "v2");
  BOOST_TEST(!watch_first.expired());

  // The next publish finds v1 held by nobody else and destroys it (here, on this thread);
  // v2 is still the reader's.
  pub.publish(state("v3"));
  BOOST_TEST(watch_first.expired());
  BOOST_TEST(!watch_second.expired());
  BOOST_TEST(pub.retired() == 1u);
  reader.refresh();
  pub.publish(state("v4"));
  BOOST_TEST(watch_second.expired());
}

BOOST_AUTO_TEST_CASE(readers_on_threads_never_destroy_a_state) {
  // Each state counts its destruction on a non-publisher thread; readers refresh in a loop
  // while the publisher replaces the state many times.
  struct counted : dns::ServingState {
    std::atomic<int>* off_thread;
    std::thread::id publisher;
    ~counted() {
      if (std::this_thread::get_id() != publisher) off_thread->fetch_add(1);
    }
  };
  std::atomic<int> off_thread{0};
  const auto me = std::this_thread::get_id();
  auto make = [&] {
    auto s = std::make_shared<counted>();
    s->off_thread = &off_thread;
    s->publisher = me;
    return s;
  };
  net::StatePublisher pub(make());
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i)
    readers.emplace_back([&] {
      net::StateReader reader(pub);
      while (!stop.load()) reader.refresh();
    });
  for (int i = 0; i < 20000; ++i) pub.publish(make());
  stop = true;
  for (auto& t : readers) t.join();
  // The readers are gone: what they held is now only the publisher's to destroy.
  pub.publish(make());
  BOOST_TEST(pub.retired() == 0u);
  BOOST_TEST(off_thread.load() == 0);
}

// States the caller keeps (tests republish two fixed ones) always look held: they must not pile
// up in the retired list, which publish() scans under the lock the workers take.
BOOST_AUTO_TEST_CASE(republished_states_are_retired_once) {
  auto a = state("a"), b = state("b");
  net::StatePublisher pub(a);
  net::StateReader reader(pub);
  const uint64_t g = pub.generation();
  pub.publish(a);   // the current one again: nothing changes
  BOOST_TEST(pub.generation() == g);
  BOOST_TEST(pub.retired() == 0u);
  for (int i = 0; i < 1000; ++i) {
    pub.publish(i % 2 ? a : b);
    BOOST_TEST_REQUIRE(pub.retired() <= 1u);   // the other one, held by this test
    BOOST_TEST_REQUIRE(reader.refresh().status == (i % 2 ? "a" : "b"));
  }
  // Once the caller lets go, the next publish frees what no one holds.
  std::weak_ptr<const dns::ServingState> watch_b = b;
  b.reset();
  pub.publish(state("c"));
  reader.refresh();
  pub.publish(state("d"));
  BOOST_TEST(watch_b.expired());
  BOOST_TEST(pub.current()->status == "d");
}
