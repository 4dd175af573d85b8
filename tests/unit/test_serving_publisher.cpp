// app/serving_publisher: every state goes out with the publisher's current responder options
// (NSID, cookie secrets), whatever options the replica built it with, and new options (a
// reload) republish the newest state at once; options that arrive before the first state wait
// for it. Driven through a real actor system with a PublishFn that records what it is given.
#define BOOST_TEST_MODULE test_serving_publisher
#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "app/serving_publisher.hpp"

using namespace vrdns;

namespace {

// What the publisher handed to the front end, in order.
struct Recorder {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<dns::ServingStatePtr> published;

  app::PublishFn fn() {
    return [this](dns::ServingStatePtr s) {
      std::lock_guard<std::mutex> lock(mutex);
      published.push_back(std::move(s));
      cv.notify_all();
    };
  }
  // Waits (bounded) until `n` states were published; returns them.
  std::vector<dns::ServingStatePtr> await(std::size_t n) {
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return published.size() >= n; });
    return published;
  }
};

std::shared_ptr<dns::ServingState> state(const std::string& status, const std::string& nsid) {
  auto s = std::make_shared<dns::ServingState>();
  s->status = status;
  s->options.nsid = nsid;   // what the replica's copy of the initial state says
  return s;
}

dns::ResponderOptions options(const std::string& nsid, uint8_t secret_byte) {
  dns::ResponderOptions o;
  o.nsid = nsid;
  auto secrets = std::make_shared<dns::CookieSecrets>();
  secrets->current.fill(secret_byte);
  o.cookies = std::move(secrets);
  return o;
}

// What the front end serves before the replica's first publication.
dns::ServingStatePtr initial_state(const std::string& nsid, uint8_t secret_byte) {
  auto s = state("initial", nsid);
  s->options = options(nsid, secret_byte);
  return s;
}

// Stops the publisher on every way out of a test case (a failed BOOST_REQUIRE too): its timer
// keeps it alive, and ~actor_system would wait for it forever.
struct StopOnExit {
  caf::actor actor;
  ~StopOnExit() { caf::anon_send_exit(actor, caf::exit_reason::user_shutdown); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(states_carry_the_current_options_and_a_reload_republishes) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  Recorder rec;
  auto publisher = sys.spawn(app::serving_publisher, rec.fn(),
                             std::make_shared<app::CommitWaiters>(), initial_state("start", 1));
  StopOnExit stop{publisher};
  caf::scoped_actor self{sys};

  // Built by the replica with stale options: published with the publisher's.
  self->send(publisher, app::publication_atom::value, app::Publication{state("s1", "stale"), {}});
  auto got = rec.await(1);
  BOOST_REQUIRE_EQUAL(got.size(), 1u);
  BOOST_TEST(got[0]->status == "s1");
  BOOST_TEST(got[0]->options.nsid == "start");
  BOOST_REQUIRE(got[0]->options.cookies);
  BOOST_TEST(got[0]->options.cookies->current[0] == 1);

  // A reload: the request is answered once the newest state is served with the new options.
  bool applied = false;
  self->request(publisher, std::chrono::seconds(10), app::responder_options_atom::value,
                options("reloaded", 2))
    .receive([&](bool ok) { applied = ok; },
             [&](const caf::error& e) { BOOST_FAIL("no answer: " << sys.render(e)); });
  BOOST_TEST(applied);
  got = rec.await(2);
  BOOST_REQUIRE_EQUAL(got.size(), 2u);
  BOOST_TEST(got[1]->status == "s1");   // the same state, republished
  BOOST_TEST(got[1]->options.nsid == "reloaded");
  BOOST_TEST(got[1]->options.cookies->current[0] == 2);
  BOOST_TEST(got[0]->options.nsid == "start");   // the one served before is not changed
  BOOST_TEST(got[1]->zones == got[0]->zones);

  // The replica's next state gets the reloaded options too, not the ones it was built with.
  self->send(publisher, app::publication_atom::value, app::Publication{state("s2", "stale"), {}});
  got = rec.await(3);
  BOOST_REQUIRE_EQUAL(got.size(), 3u);
  BOOST_TEST(got[2]->status == "s2");
  BOOST_TEST(got[2]->options.nsid == "reloaded");
  BOOST_TEST(got[2]->options.cookies->current[0] == 2);

  // Cookies turned off: no secrets in what is served.
  self->request(publisher, std::chrono::seconds(10), app::responder_options_atom::value,
                dns::ResponderOptions{})
    .receive([](bool) {}, [&](const caf::error& e) { BOOST_FAIL(sys.render(e)); });
  got = rec.await(4);
  BOOST_REQUIRE_EQUAL(got.size(), 4u);
  BOOST_TEST(got[3]->status == "s2");
  BOOST_TEST(!got[3]->options.cookies);
}

BOOST_AUTO_TEST_CASE(options_before_the_first_state_apply_to_the_initial_one) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  Recorder rec;
  const dns::ServingStatePtr initial = initial_state("start", 1);
  auto publisher = sys.spawn(app::serving_publisher, rec.fn(),
                             std::make_shared<app::CommitWaiters>(), initial);
  StopOnExit stop{publisher};
  caf::scoped_actor self{sys};
  self->request(publisher, std::chrono::seconds(10), app::responder_options_atom::value,
                options("early", 3))
    .receive([](bool) {}, [&](const caf::error& e) { BOOST_FAIL(sys.render(e)); });
  // A reload before the replica's first state (a node still recovering, say) is served at
  // once: the front end's initial state, republished with the new options.
  auto got = rec.await(1);
  BOOST_REQUIRE_EQUAL(got.size(), 1u);
  BOOST_TEST(got[0]->status == "initial");
  BOOST_TEST(got[0]->options.nsid == "early");
  BOOST_TEST(got[0]->options.cookies->current[0] == 3);
  BOOST_TEST(initial->options.nsid == "start");   // the one handed over is not changed
  self->send(publisher, app::publication_atom::value, app::Publication{state("s1", "stale"), {}});
  got = rec.await(2);
  BOOST_REQUIRE_EQUAL(got.size(), 2u);
  BOOST_TEST(got[1]->status == "s1");
  BOOST_TEST(got[1]->options.nsid == "early");
  BOOST_TEST(got[1]->options.cookies->current[0] == 3);
}
