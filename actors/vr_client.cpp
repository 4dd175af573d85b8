#include "actors/vr_client.hpp"

#include "actors/fail_stop.hpp"
#include "actors/peer_messages.hpp"
#include "actors/vr_submit_queue.hpp"
#include "protocol/op_batch.hpp"

#include <algorithm>

namespace vrdns::actors {

namespace {

using self_ptr = vr_client_actor*;

void send_current(self_ptr self, bool to_all) {
  auto& st = self->state;
  protocol::Request r{st.current->op, st.opt.client_id, st.current->request_number};
  if (to_all) {
    for (auto& rep : st.replicas)
      self->send(rep, r);
  } else {
    self->send(st.replicas[st.view_number % st.replicas.size()], r);
  }
  st.current->resend_at = self->clock().now() + st.opt.resend;
}

// Takes the next request's calls off the queue: the first, plus (batching) those behind it
// that fit.
vr_client_state::outstanding take_next(vr_client_state& st) {
  vr_client_state::outstanding next;
  next.calls = take_batch(st.queue, st.opt.batch_max, st.opt.batch_max_bytes);
  if (next.calls.size() == 1) {
    next.op = std::move(next.calls.front().op);
  } else {
    std::vector<std::string_view> ops;
    ops.reserve(next.calls.size());
    for (const auto& c : next.calls) ops.push_back(c.op);
    next.op = protocol::encode_op_batch(ops);
    for (auto& c : next.calls) std::string().swap(c.op);   // the batch holds them now
  }
  next.deadline = next.calls.front().deadline;
  for (const auto& c : next.calls) next.deadline = std::min(next.deadline, c.deadline);
  return next;
}

void answer_unknown(vr_submit_queue::call& c) {
  c.done(nullptr);
}

// Moves the next batch of the node's shared calls, if any, into our own (empty) queue. Calls
// whose deadline passed while they waited are answered first, not sent: there is no time left
// to commit them.
void take_shared(vr_client_state& st) {
  if (!st.opt.submissions)
    return;
  for (auto& c : st.opt.submissions->expire(vr_submit_queue::clock::now()))
    answer_unknown(c);
  for (auto& c : st.opt.submissions->take(st.submit_index, st.opt.batch_max, st.opt.batch_max_bytes))
    st.queue.push_back({std::move(c.op), {}, std::move(c.done), c.deadline});
}

void start_next(self_ptr self) {
  auto& st = self->state;
  if (st.current)
    return;
  if (st.queue.empty())
    take_shared(st);   // empty there too: we are noted as idle, and the next call wakes us
  if (st.queue.empty())
    return;
  st.current = take_next(st);
  st.current->request_number = ++st.request_number;
  send_current(self, false);
  // The tick runs only while a request is outstanding: idle timers would cost wake-ups for
  // nothing.
  if (!st.ticking) {
    st.ticking = true;
    self->delayed_send(self, st.opt.tick, vr_ctick_atom::value);
  }
}

void answer(vr_client_state::call& c, const std::string* result) {
  if (c.answered)
    return;   // timed out on its own while its batch was outstanding (expire_outstanding)
  c.answered = true;
  if (c.done) {
    c.done(result);
  } else if (result) {
    c.promise.deliver(*result);
  } else {
    c.promise.deliver(caf::make_error(caf::sec::request_timeout));
  }
}

// Answers the outstanding calls (nullptr = timed out) and starts the next request. A batch's
// result is the batch of its calls' results; anything else (a service that does not take
// batches) leaves their outcome unknown, the same answer as a timeout.
void finish_current(self_ptr self, const std::string* result) {
  auto& st = self->state;
  auto calls = std::move(st.current->calls);
  st.current.reset();
  if (calls.size() == 1) {
    answer(calls.front(), result);
  } else {
    std::vector<std::string_view> parts;
    if (result && protocol::decode_op_batch(*result, parts) && parts.size() == calls.size()) {
      for (std::size_t i = 0; i < calls.size(); ++i) {
        const std::string part(parts[i]);
        answer(calls[i], &part);
      }
    } else {
      for (auto& c : calls) answer(c, nullptr);
    }
  }
  start_next(self);
}

// A batch carries calls of different ages. At a call's deadline only that call is answered
// (outcome unknown); the Request stays outstanding for the others, which may still commit,
// until the latest of their deadlines. One call that had waited long in the queue used to time
// out a batch of fresh ones with it.
void expire_outstanding(self_ptr self, caf::actor_clock::time_point t) {
  auto& current = *self->state.current;
  auto next = caf::actor_clock::time_point::max();
  for (auto& c : current.calls) {
    if (c.answered)
      continue;
    if (c.deadline <= t)
      answer(c, nullptr);
    else
      next = std::min(next, c.deadline);
  }
  if (next == caf::actor_clock::time_point::max())
    finish_current(self, nullptr);   // every call answered: give the Request up, start the next
  else
    current.deadline = next;
}

// Times out queued calls whose deadline passed while they waited for their turn.
void expire_queued(self_ptr self, caf::actor_clock::time_point t) {
  auto& st = self->state;
  while (!st.queue.empty() && st.queue.front().deadline <= t) {   // deadlines are in order
    auto c = std::move(st.queue.front());
    st.queue.pop_front();
    answer(c, nullptr);
  }
  // The shared calls are timed out by whichever client ticks (only busy ones do, and while
  // one is idle the shared queue is empty: a call wakes it). Real time, as in the queue.
  if (st.opt.submissions)
    for (auto& c : st.opt.submissions->expire(vr_submit_queue::clock::now()))
      answer_unknown(c);
}

} // namespace

caf::behavior vr_client(vr_client_actor* self, std::vector<caf::actor> replicas,
                        vr_client_options options) {
  self->state.replicas = std::move(replicas);
  self->state.opt = options;
  self->set_exception_handler(exception_to_error);   // actors/fail_stop.hpp
  if (auto& q = self->state.opt.submissions) {
    const auto index = q->attach(self->address());
    self->state.submit_index = index;
    // The last client to go answers what nobody will send now (the node is stopping).
    self->attach_functor([q, index] {
      for (auto& c : q->detach(index))
        answer_unknown(c);
    });
    start_next(self);   // notes us as idle
  }
  // Silent drop (caf::drop would send an error back to asynchronous senders, see replica.cpp).
  self->set_default_handler(
    [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return caf::message{};
    });
  return {
    [=](vr_call_atom, std::string& op) {
      auto rp = self->make_response_promise();
      self->state.queue.push_back(
        {std::move(op), rp, {}, self->clock().now() + self->state.opt.call_timeout});
      start_next(self);
      return rp;
    },
    [=](vr_submit_atom, std::string& op, vr_completion& done) {
      self->state.queue.push_back(
        {std::move(op), {}, std::move(done), self->clock().now() + self->state.opt.call_timeout});
      start_next(self);
    },
    [=](vr_wake_atom) { start_next(self); },
    [=](vr_peer_set_atom, std::uint32_t i, caf::actor& handle) {
      auto& replicas = self->state.replicas;
      if (i < replicas.size())
        replicas[i] = std::move(handle);
    },
    [=](const protocol::Reply& r) {
      auto& st = self->state;
      st.view_number = std::max(st.view_number, r.view_number); // follow the primary
      if (r.client_id != st.opt.client_id || !st.current
          || r.request_number != st.current->request_number)
        return; // duplicate or late answer to an abandoned request
      finish_current(self, &r.result);
    },
    [=](vr_ctick_atom) {
      auto& st = self->state;
      if (!st.current) {
        st.ticking = false;
        return;
      }
      self->delayed_send(self, st.opt.tick, vr_ctick_atom::value);
      auto t = self->clock().now();
      expire_queued(self, t);
      if (t >= st.current->deadline) {
        expire_outstanding(self, t);
      } else if (t >= st.current->resend_at) {
        send_current(self, true); // the primary may have changed: ask everybody
      }
    },
  };
}

} // namespace vrdns::actors
