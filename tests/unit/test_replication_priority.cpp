// app/replication_priority.hpp: every thread the actor system starts, and the threads those
// start, run `nice` steps nicer than the thread that built the system; that thread keeps its
// niceness (the DNS threads are started from it).
#define BOOST_TEST_MODULE replication_priority
#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <thread>

#include "app/replication_priority.hpp"
#include "app/system_config.hpp"

using vrdns::app::current_thread_nice;
using vrdns::app::NodeSystemConfig;
using vrdns::app::ReplicationPriority;

namespace {

// Answers with the niceness of the thread running it, and of a thread it starts (as a replica
// starts its log saver).
caf::behavior nice_reporter() {
  return {
      [](int) { return current_thread_nice(); },
      [](bool) {
        int seen = -100;
        std::thread([&] { seen = current_thread_nice(); }).join();
        return seen;
      },
  };
}

int ask(caf::actor_system& sys, const caf::actor& a, caf::message m) {
  caf::scoped_actor self{sys};
  int result = -100;
  self->request(a, std::chrono::seconds(10), std::move(m))
      .receive([&](int n) { result = n; },
               [&](const caf::error& e) { BOOST_FAIL("no answer: " << sys.render(e)); });
  return result;
}

// A test run at niceness 19 cannot see threads go nicer: skipped (reported), not failed.
struct below_lowest_priority {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    return current_thread_nice() < 19;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(caf_threads_and_their_children_run_nicer_the_creator_does_not,
                     *boost::unit_test::precondition(below_lowest_priority{})) {
  const int base = current_thread_nice();
  const int expected = std::min(19, base + 5);
  caf::actor_system_config cfg;
  cfg.add_thread_hook<ReplicationPriority>(5);
  caf::actor_system sys{cfg};
  auto scheduled = sys.spawn(nice_reporter);
  auto detached = sys.spawn<caf::detached>(nice_reporter);
  BOOST_TEST(ask(sys, scheduled, caf::make_message(0)) == expected);
  BOOST_TEST(ask(sys, detached, caf::make_message(0)) == expected);
  BOOST_TEST(ask(sys, scheduled, caf::make_message(true)) == expected);
  BOOST_TEST(current_thread_nice() == base);
  int from_main = -100;
  std::thread([&] { from_main = current_thread_nice(); }).join();
  BOOST_TEST(from_main == base);
  caf::anon_send_exit(scheduled, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(detached, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(node_config_zero_leaves_caf_threads_alone_and_nonzero_lowers_them,
                     *boost::unit_test::precondition(below_lowest_priority{})) {
  const int base = current_thread_nice();
  {
    NodeSystemConfig cfg{0};
    caf::actor_system sys{cfg};
    auto a = sys.spawn(nice_reporter);
    BOOST_TEST(ask(sys, a, caf::make_message(0)) == base);
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  {
    NodeSystemConfig cfg{3};
    caf::actor_system sys{cfg};
    auto a = sys.spawn(nice_reporter);
    BOOST_TEST(ask(sys, a, caf::make_message(0)) == std::min(19, base + 3));
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  BOOST_TEST(current_thread_nice() == base);
}
