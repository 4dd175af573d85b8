// The hand-off from a node's UPDATE path to its vr_clients: one queue that every client takes its
// next Request's calls from, instead of an actor message per UPDATE to a client picked in turn.
//
// Why: a vr_client waiting for its Reply is an idle actor, and a message to an idle actor from
// a thread outside CAF schedules it and wakes a worker thread: one wake-up (and one context
// switch) per UPDATE, only to append to a queue. Worse, an UPDATE sent to a busy client waited
// for that client's whole round even while the other client was free. Here a client that
// finishes a Request takes everything queued (up to one batch) itself; only a push that finds a
// client idle sends that client one wake-up message.
//
// No lost wake-up: take() notes a client as idle in the same critical section in which it found
// the queue empty, and push() looks for an idle client in the critical section that adds the call.
//
// Thread-safe. Deadlines are std::chrono::steady_clock times (CAF's real-time actor clock is the
// same clock; under the test coordinator, pass deadlines explicitly).
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "actors/vr_client.hpp"

namespace vrdns::actors {

// To a vr_client from vr_submit_queue::push: calls are waiting in the queue.
using vr_wake_atom = caf::atom_constant<caf::atom("vr_wake")>;

class vr_submit_queue {
public:
  using clock = std::chrono::steady_clock;
  struct call {
    std::string op;
    vr_completion done;
    clock::time_point deadline;
  };

  // Registers a client (a weak address: the queue never keeps a client alive); returns the
  // index it passes to take().
  std::size_t attach(const caf::actor_addr& client);
  // A client that terminates leaves (a vr_client does so itself): push() then never picks it
  // to wake, which would leave the call waiting for a client that will never take it. When the
  // last client leaves, the calls still queued are returned for the caller to answer (nobody
  // will send them), which also drops what they hold (their callers' state).
  std::vector<call> detach(std::size_t index);

  // Queues a call and, if a client is idle, wakes one. Callable from any thread. Once the last
  // client has left (the node is stopping), answers it at once with an unknown outcome instead:
  // nobody would ever take it.
  void push(std::string op, vr_completion done, clock::time_point deadline);

  // The calls for one Request, oldest first: the first queued call, plus those behind it while
  // there are at most `max_calls` and their ops add up to at most `max_bytes`. When nothing is
  // queued, notes client `index` as idle (the next push wakes it) and returns nothing.
  std::vector<call> take(std::size_t index, std::size_t max_calls, std::size_t max_bytes);

  // Removes the calls whose deadline is at or before `now` (the caller answers them).
  std::vector<call> expire(clock::time_point now);

  std::size_t size() const;

private:
  // Takes an idle client off idle_ to wake it, skipping any that is gone. Needs mutex_.
  caf::actor pop_idle_client();

  mutable std::mutex mutex_;
  std::deque<call> calls_;            // in push order, so (nearly) in deadline order
  bool closed_ = false;               // every client that attached has left
  std::vector<caf::actor_addr> clients_;   // a detached client's entry is empty
  std::vector<std::size_t> idle_;     // indices into clients_, each at most once
};

} // namespace vrdns::actors
