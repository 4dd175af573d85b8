// actors/vr_client: the VR client proxy's op batching (protocol/op_batch.hpp), driven on CAF's
// deterministic test coordinator against a stand-in primary that records the Requests it gets
// and answers only when the test says so.
#define BOOST_TEST_MODULE test_vr_client
#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/peer_messages.hpp"
#include "actors/vr_client.hpp"
#include "actors/vr_submit_queue.hpp"
#include "actors/vr_types.hpp"
#include "protocol/messages.hpp"
#include "protocol/op_batch.hpp"

using namespace std::chrono_literals;
using namespace vrdns;

namespace {

// The Requests a replica received, in order.
using inbox = std::shared_ptr<std::vector<protocol::Request>>;

caf::behavior recording_replica(caf::event_based_actor*, inbox got) {
  return {[=](const protocol::Request& r) { got->push_back(r); }};
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  inbox got = std::make_shared<std::vector<protocol::Request>>();
  caf::actor replica;
  caf::actor client;
  // Answers per call, in submission order; nullopt until answered, "<unknown>" for nullptr.
  std::vector<std::optional<std::string>> answers;

  static caf::actor_system_config& prep(caf::actor_system_config& c) {
    c.set("scheduler.policy", caf::atom("testing"));
    actors::add_vr_message_types(c);
    return c;
  }
  fixture()
      : sys(prep(cfg)),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {}
  ~fixture() {
    for (auto& a : {client, replica})
      if (a) caf::anon_send_exit(a, caf::exit_reason::kill);
    sched.run();
  }

  void start(std::size_t batch_max, std::size_t batch_max_bytes = 1 << 20) {
    replica = sys.spawn(recording_replica, got);
    actors::vr_client_options o;
    o.client_id = 7;
    o.batch_max = batch_max;
    o.batch_max_bytes = batch_max_bytes;
    o.call_timeout = 1000ms;
    client = sys.spawn(actors::vr_client, std::vector<caf::actor>{replica}, o);
    sched.run();
  }

  void submit(const std::string& op) {
    const std::size_t i = answers.size();
    answers.emplace_back();
    auto* out = &answers;   // the vector is only read and written from sched.run() and the test
    actors::vr_completion done{[out, i](const std::string* r) {
      (*out)[i] = r ? *r : std::string("<unknown>");
    }};
    caf::anon_send(client, actors::vr_submit_atom::value, op, std::move(done));
  }

  void reply(const protocol::Request& r, const std::string& result) {
    caf::anon_send(client, protocol::Reply{0, r.client_id, r.request_number, result});
    sched.run();
  }

  static std::string batch(const std::vector<std::string>& parts) {
    return protocol::encode_op_batch(std::vector<std::string_view>(parts.begin(), parts.end()));
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(calls_queued_behind_a_request_leave_as_one_batch, fixture) {
  answers.reserve(16);
  start(64);
  submit("a");
  submit("b");
  submit("c");
  sched.run();
  // The first call went alone (nothing was queued yet when it left), as a plain op.
  BOOST_REQUIRE_EQUAL(got->size(), 1u);
  BOOST_TEST(got->at(0).op == "a");
  reply(got->at(0), "ra");
  BOOST_TEST(answers[0].value_or("-") == "ra");
  // b and c had queued: one Request, the next request number, an op batch of both.
  BOOST_REQUIRE_EQUAL(got->size(), 2u);
  BOOST_TEST(got->at(1).request_number == got->at(0).request_number + 1);
  BOOST_TEST(got->at(1).op == batch({"b", "c"}));
  BOOST_TEST(!answers[1].has_value());
  reply(got->at(1), batch({"rb", "rc"}));
  BOOST_TEST(answers[1].value_or("-") == "rb");
  BOOST_TEST(answers[2].value_or("-") == "rc");
}

// A client that terminates (killed here; an exception in a handler ends it the same way) answers
// every call it holds, the one in flight and those queued behind it, with an unknown outcome.
// Dropping them silently left an UPDATE's TCP client waiting for its answer until the
// connection was swept.
BOOST_FIXTURE_TEST_CASE(a_client_that_terminates_answers_the_calls_it_holds_unknown, fixture) {
  answers.reserve(16);
  start(64);
  submit("a");
  sched.run();
  submit("b");
  submit("c");
  sched.run();
  BOOST_REQUIRE_EQUAL(got->size(), 1u);   // "a" in flight, "b" and "c" queued behind it
  caf::anon_send_exit(client, caf::exit_reason::kill);
  sched.run();
  for (std::size_t i = 0; i < 3; ++i)
    BOOST_TEST(answers[i].value_or("-") == "<unknown>", "call " << i);
}

BOOST_FIXTURE_TEST_CASE(a_batch_respects_its_count_and_byte_limits, fixture) {
  answers.reserve(16);
  start(2, 10);
  for (const char* op : {"first", "x1", "x2", "x3", "long-op-1", "long-op-2"}) submit(op);
  sched.run();
  reply(got->at(0), "r");
  BOOST_TEST(got->at(1).op == batch({"x1", "x2"}));      // count limit 2
  reply(got->at(1), batch({"r1", "r2"}));
  BOOST_TEST(got->at(2).op == "x3");                      // x3 + long-op-1 > 10 bytes
  reply(got->at(2), "r3");
  BOOST_TEST(got->at(3).op == "long-op-1");
  reply(got->at(3), "r4");
  BOOST_TEST(got->at(4).op == "long-op-2");
  reply(got->at(4), "r5");
  BOOST_TEST(answers[5].value_or("-") == "r5");
}

BOOST_FIXTURE_TEST_CASE(a_result_that_does_not_split_leaves_every_call_unknown, fixture) {
  answers.reserve(16);
  start(64);
  for (const char* op : {"a", "b", "c", "d", "e"}) submit(op);
  sched.run();
  reply(got->at(0), "ra");
  reply(got->at(1), batch({"only one"}));   // 4 calls, 1 result
  for (std::size_t i = 1; i < 5; ++i) BOOST_TEST(answers[i].value_or("-") == "<unknown>");
}

BOOST_FIXTURE_TEST_CASE(batching_off_sends_every_call_alone, fixture) {
  answers.reserve(16);
  start(1);
  for (const char* op : {"a", "b", "c"}) submit(op);
  sched.run();
  reply(got->at(0), "ra");
  reply(got->at(1), "rb");
  BOOST_REQUIRE_EQUAL(got->size(), 3u);
  BOOST_TEST(got->at(1).op == "b");
  BOOST_TEST(got->at(2).op == "c");
}

namespace {

// Call a leaves alone at t = 0; b (deadline 1600 ms) and c (1900 ms) queue behind it and leave
// as one batch when a's result comes at t = 900 ms.
struct aged_batch_fixture : fixture {
  aged_batch_fixture() {
    answers.reserve(16);
    start(64);
    submit("a");
    sched.run();
    sched.advance_time(600ms);
    submit("b");
    sched.run();
    sched.advance_time(300ms);
    submit("c");
    sched.run();
    reply(got->at(0), "ra");
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(each_call_of_a_batch_times_out_at_its_own_deadline, aged_batch_fixture) {
  // (The ticks resent "a" meanwhile: the batch is the last Request.)
  BOOST_TEST(got->back().request_number == got->at(0).request_number + 1);
  BOOST_TEST(got->back().op == batch({"b", "c"}));
  // Ticks resend meanwhile. Once b's deadline passes b is answered "unknown", so no call waits
  // longer than call_timeout; c, younger, still waits for the batch's result.
  for (int i = 0; i < 80 && !answers[1]; ++i) {
    sched.advance_time(10ms);
    sched.run();
  }
  BOOST_TEST(answers[1].value_or("-") == "<unknown>");
  BOOST_TEST(!answers[2].has_value());
  const auto batch_request = got->back();
  reply(batch_request, batch({"rb", "rc"}));
  BOOST_TEST(answers[1].value_or("-") == "<unknown>");   // answered once, not again
  BOOST_TEST(answers[2].value_or("-") == "rc");
}

BOOST_FIXTURE_TEST_CASE(a_batch_without_a_result_is_given_up_at_its_last_deadline,
                        aged_batch_fixture) {
  int steps = 0;   // from t = 900 ms
  for (; steps < 120 && !answers[2]; ++steps) {
    sched.advance_time(10ms);
    sched.run();
  }
  BOOST_TEST(answers[1].value_or("-") == "<unknown>");
  BOOST_TEST(answers[2].value_or("-") == "<unknown>");
  BOOST_TEST(steps >= 100);   // c at its own deadline (1900 ms), not at b's
  BOOST_TEST(steps <= 102);
  // The Request is given up: the next call leaves as a new one.
  const auto sent = got->size();
  submit("d");
  sched.run();
  BOOST_REQUIRE(got->size() > sent);
  BOOST_TEST(got->back().op == "d");
  BOOST_TEST(got->back().request_number == got->at(sent - 1).request_number + 1);
}

// ---------------------------------------------------------------- the shared vr_submit_queue

namespace {

using shared_call = actors::vr_submit_queue::call;

// Two clients (ids 7 and 8) that take their calls from one shared queue, as a node's do.
struct shared_fixture : fixture {
  std::shared_ptr<actors::vr_submit_queue> queue = std::make_shared<actors::vr_submit_queue>();
  caf::actor second;

  ~shared_fixture() {
    if (second) caf::anon_send_exit(second, caf::exit_reason::kill);
    sched.run();
  }

  caf::actor spawn_client(std::uint64_t id) {
    actors::vr_client_options o;
    o.client_id = id;
    o.batch_max = 64;
    o.call_timeout = 1000ms;
    o.submissions = queue;
    return sys.spawn(actors::vr_client, std::vector<caf::actor>{replica}, o);
  }

  void start_two() {
    replica = sys.spawn(recording_replica, got);
    client = spawn_client(7);
    sched.run();
    second = spawn_client(8);
    sched.run();
  }

  // Starts both clients and gives each a Request in flight: "a" (answers[0]), "b" (answers[1]).
  void start_both_busy() {
    start_two();
    push("a");
    sched.run();
    push("b");
    sched.run();
    BOOST_REQUIRE_EQUAL(got->size(), 2u);
  }

  // The Reply goes to the client that sent the Request, as the replica's would.
  void reply(const protocol::Request& r, const std::string& result) {
    caf::anon_send(r.client_id == 7 ? client : second,
                   protocol::Reply{0, r.client_id, r.request_number, result});
    sched.run();
  }

  void push(const std::string& op,
            actors::vr_submit_queue::clock::time_point deadline =
                actors::vr_submit_queue::clock::now() + 10s) {
    const std::size_t i = answers.size();
    answers.emplace_back();
    auto* out = &answers;
    queue->push(op, actors::vr_completion{[out, i](const std::string* r) {
                  (*out)[i] = r ? *r : std::string("<unknown>");
                }},
                deadline);
  }
};

std::string op_text(const std::vector<shared_call>& calls) {
  std::string s;
  for (const auto& c : calls) s += c.op + ",";
  return s;
}

}  // namespace

// actors/vr_completion: copies share one callback, which runs exactly once: when a copy is
// called, or with nullptr when the last copy goes uncalled.
BOOST_AUTO_TEST_CASE(a_completion_runs_once_and_its_last_uncalled_copy_answers_unknown) {
  std::vector<std::string> runs;
  auto record = [&runs](const std::string* r) { runs.push_back(r ? *r : "<unknown>"); };
  {
    actors::vr_completion first{record};
    {
      actors::vr_completion copy = first;   // as CAF may copy a message that carries it
      BOOST_TEST(bool(copy));
    }
    BOOST_TEST(runs.empty());   // another copy may still answer
    actors::vr_completion moved = std::move(first);
    const std::string result = "r";
    moved(&result);
    BOOST_TEST(!moved);
    moved(nullptr);   // spent: does nothing
  }
  BOOST_TEST(runs == std::vector<std::string>{"r"});   // and going uncalled did not add one

  runs.clear();
  {
    actors::vr_completion a{record};
    actors::vr_completion b = a;
    actors::vr_completion c = b;
  }
  BOOST_TEST(runs == std::vector<std::string>{"<unknown>"});

  actors::vr_completion empty;
  BOOST_TEST(!empty);
  empty(nullptr);   // no callback: nothing to run
  BOOST_TEST(!actors::vr_completion{actors::vr_completion::function{}});
}

BOOST_AUTO_TEST_CASE(submit_queue_takes_a_batch_within_its_limits_and_expires_by_deadline) {
  actors::vr_submit_queue q;
  const auto index = q.attach(caf::actor_addr{});
  const auto now = actors::vr_submit_queue::clock::now();
  for (const char* op : {"a", "bb", "ccc", "dddd"}) q.push(op, {}, now + 1s);
  BOOST_TEST(op_text(q.take(index, 2, 100)) == "a,bb,");    // count limit
  BOOST_TEST(op_text(q.take(index, 10, 4)) == "ccc,");      // ccc + dddd > 4 bytes
  BOOST_TEST(op_text(q.take(index, 10, 1)) == "dddd,");     // the first always goes
  BOOST_TEST(q.take(index, 10, 100).empty());
  q.push("late", {}, now - 1ms);
  q.push("later", {}, now + 1s);
  BOOST_TEST(op_text(q.expire(now)) == "late,");
  BOOST_TEST(q.size() == 1u);
  BOOST_CHECK_THROW(q.take(index + 1, 1, 1), std::logic_error);
}

BOOST_FIXTURE_TEST_CASE(an_idle_client_is_woken_by_a_push, shared_fixture) {
  answers.reserve(16);
  start_two();
  BOOST_TEST(got->empty());
  push("a");
  sched.run();
  BOOST_REQUIRE_EQUAL(got->size(), 1u);
  BOOST_TEST(got->at(0).op == "a");
  reply(got->at(0), "ra");
  BOOST_TEST(answers[0].value_or("-") == "ra");
  BOOST_TEST(queue->size() == 0u);
}

BOOST_FIXTURE_TEST_CASE(pushes_go_to_the_free_client_and_then_leave_as_one_batch, shared_fixture) {
  answers.reserve(16);
  start_two();
  push("a");   // wakes one client
  sched.run();
  push("b");   // wakes the other: a free client does not wait for the busy one's round
  sched.run();
  BOOST_REQUIRE_EQUAL(got->size(), 2u);
  BOOST_TEST(got->at(0).op == "a");
  BOOST_TEST(got->at(1).op == "b");
  BOOST_TEST(got->at(0).client_id != got->at(1).client_id);
  // Both busy: pushes only queue (no Request leaves before a Reply)...
  push("c");
  push("d");
  sched.run();
  BOOST_TEST(got->size() == 2u);
  BOOST_TEST(queue->size() == 2u);
  // ...and the first client to finish takes them all as one batch.
  reply(got->at(1), "rb");
  BOOST_TEST(answers[1].value_or("-") == "rb");
  BOOST_REQUIRE_EQUAL(got->size(), 3u);
  BOOST_TEST(got->at(2).client_id == got->at(1).client_id);
  BOOST_TEST(got->at(2).op == batch({"c", "d"}));
  reply(got->at(2), batch({"rc", "rd"}));
  reply(got->at(0), "ra");
  BOOST_TEST(answers[0].value_or("-") == "ra");
  BOOST_TEST(answers[2].value_or("-") == "rc");
  BOOST_TEST(answers[3].value_or("-") == "rd");
  // Both idle again: the next push wakes one of them.
  push("e");
  sched.run();
  BOOST_REQUIRE_EQUAL(got->size(), 4u);
  BOOST_TEST(got->at(3).op == "e");
}

BOOST_FIXTURE_TEST_CASE(a_busy_client_times_out_shared_calls_past_their_deadline, shared_fixture) {
  answers.reserve(16);
  start_both_busy();
  push("expired", actors::vr_submit_queue::clock::now() - 1ms);
  sched.advance_time(10ms);   // a tick of the busy clients
  sched.run();
  BOOST_TEST(answers[2].value_or("-") == "<unknown>");
  BOOST_TEST(queue->size() == 0u);
  BOOST_TEST(!answers[0].has_value());   // the Requests in flight are untouched
  BOOST_TEST(!answers[1].has_value());
}

BOOST_FIXTURE_TEST_CASE(a_push_wakes_a_live_client_when_an_idle_one_has_terminated, shared_fixture) {
  answers.reserve(16);
  start_two();   // both idle; client 8 registered last, so a push would wake it first
  caf::anon_send_exit(second, caf::exit_reason::kill);
  sched.run();
  push("a");
  sched.run();
  BOOST_REQUIRE_EQUAL(got->size(), 1u);
  BOOST_TEST(got->at(0).client_id == 7u);
  BOOST_TEST(got->at(0).op == "a");
}

BOOST_FIXTURE_TEST_CASE(a_call_that_expired_in_the_queue_is_answered_not_sent, shared_fixture) {
  answers.reserve(16);
  start_both_busy();
  push("stale", actors::vr_submit_queue::clock::now() - 1ms);
  push("fresh");
  reply(got->at(0), "ra");   // that client takes the next batch now, before any tick
  BOOST_REQUIRE_EQUAL(got->size(), 3u);
  BOOST_TEST(got->at(2).op == "fresh");   // alone: "stale" would time out the whole batch
  BOOST_TEST(answers[2].value_or("-") == "<unknown>");
  BOOST_TEST(!answers[3].has_value());
}

BOOST_FIXTURE_TEST_CASE(the_last_client_to_terminate_answers_the_calls_still_queued,
                        shared_fixture) {
  answers.reserve(16);
  start_both_busy();
  push("c");
  caf::anon_send_exit(client, caf::exit_reason::kill);
  sched.run();
  // The killed client's Request ("a" or "b", whichever it took) ends unknown; the other
  // client's is still in flight.
  const std::size_t held = got->at(0).client_id == 7 ? 0 : 1;
  BOOST_TEST(answers[held].value_or("-") == "<unknown>");
  BOOST_TEST(!answers[1 - held].has_value());
  BOOST_TEST(!answers[2].has_value());   // the other client may still take it
  caf::anon_send_exit(second, caf::exit_reason::kill);
  sched.run();
  BOOST_TEST(answers[2].value_or("-") == "<unknown>");
  BOOST_TEST(queue->size() == 0u);
  // A push after that (the front end still runs while the node stops) is answered at once,
  // not left in a queue that nobody takes from.
  push("d");
  BOOST_TEST(answers[3].value_or("-") == "<unknown>");
  BOOST_TEST(queue->size() == 0u);
}

// A node spawns its clients before any replica is reachable: a Request to a null handle is
// lost, and once the peer connector names the replica (vr_peer_set_atom) the resend reaches it.
// A handle for a replica number outside the configuration is ignored.
BOOST_FIXTURE_TEST_CASE(a_replica_named_later_gets_the_resent_request, fixture) {
  answers.reserve(4);
  replica = sys.spawn(recording_replica, got);
  actors::vr_client_options o;
  o.client_id = 7;
  o.call_timeout = 1000ms;
  client = sys.spawn(actors::vr_client, std::vector<caf::actor>(1), o);
  sched.run();
  submit("a");
  sched.run();
  caf::anon_send(client, actors::vr_peer_set_atom::value, std::uint32_t(5), replica);
  sched.run();
  sched.advance_time(o.resend + o.tick);   // resends, still to nobody
  sched.run();
  BOOST_TEST(got->empty());
  caf::anon_send(client, actors::vr_peer_set_atom::value, std::uint32_t(0), replica);
  sched.run();
  for (int i = 0; i < 10 && got->empty(); ++i) {   // the next resend, at most a few ticks away
    sched.advance_time(o.tick);
    sched.run();
  }
  BOOST_REQUIRE_EQUAL(got->size(), 1u);
  BOOST_TEST(got->at(0).op == "a");
  reply(got->at(0), "ra");
  BOOST_TEST(answers[0].value_or("-") == "ra");
}
