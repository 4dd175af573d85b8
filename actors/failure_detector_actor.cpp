#include "actors/failure_detector_actor.hpp"

namespace vrdns::actors {

namespace {

using self_ptr = failure_detector_actor*;

// Sleeps until the current deadline; `generation` identifies the chain.
void sleep_until_deadline(self_ptr self, std::uint64_t generation) {
  auto left = self->state.deadline.deadline() - self->clock().now();
  self->delayed_send(self, left, fd_tick_atom::value, generation);
}

void on_watch(self_ptr self, std::uint64_t view, bool watching) {
  auto& st = self->state;
  st.view = view;
  st.watching = watching;
  ++st.generation; // the previous chain, if any, stops at its next tick
  if (!watching)
    return;
  // A new view (or becoming a backup again) counts as hearing from its primary: the replica
  // sends the watch right after StartView / state transfer / recovery, or on starting up.
  st.deadline.heard(self->clock().now());
  sleep_until_deadline(self, st.generation);
}

void on_heard(self_ptr self, std::uint64_t view) {
  auto& st = self->state;
  if (st.watching && view == st.view)
    st.deadline.heard(self->clock().now()); // the pending tick re-arms for the new deadline
}

void on_tick(self_ptr self, std::uint64_t generation) {
  auto& st = self->state;
  if (generation != st.generation || !st.watching)
    return; // a chain of an older watch
  if (!st.deadline.expired(self->clock().now())) {
    sleep_until_deadline(self, generation); // notes moved the deadline: sleep again
    return;
  }
  st.watching = false; // once per watch: the replica answers with a new watch if it acts
  if (auto replica = caf::actor_cast<caf::actor>(st.replica))
    self->send(replica, fd_suspect_atom::value, st.view);
}

} // namespace

caf::behavior failure_detector_behavior(failure_detector_actor* self, caf::actor replica,
                                        failure_detector_options options) {
  auto& st = self->state;
  st.deadline = failure_detector(options.timeout, options.jitter, options.seed);
  st.replica = replica.address();
  // Not caf::drop: in 0.17 it answers a one-way message with an error sent back to the sender
  // (docs/pitfalls.md). An empty message as result is suppressed for asynchronous messages.
  self->set_default_handler(
    [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return caf::message{};
    });
  return {
    [=](fd_watch_atom, std::uint64_t view, bool watching) { on_watch(self, view, watching); },
    [=](fd_heard_atom, std::uint64_t view) { on_heard(self, view); },
    [=](fd_tick_atom, std::uint64_t generation) { on_tick(self, generation); },
  };
}

} // namespace vrdns::actors
