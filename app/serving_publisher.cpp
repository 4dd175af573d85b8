#include "app/serving_publisher.hpp"

#include "actors/fail_stop.hpp"

#include <cassert>
#include <chrono>
#include <utility>

namespace vrdns::app {

namespace {

using expire_atom = caf::atom_constant<caf::atom("wexpire")>;

// How often waits for the local front end (CommitWaiters) are checked against their deadline:
// the granularity of the read-your-writes bound of a cut-off node.
constexpr std::chrono::milliseconds expire_interval{50};

}  // namespace

caf::behavior serving_publisher(caf::event_based_actor* self, PublishFn publish,
                                std::shared_ptr<CommitWaiters> waiters,
                                dns::ServingStatePtr initial) {
  assert(initial);
  self->set_exception_handler(actors::exception_to_error);   // actors/fail_stop.hpp
  self->send(self, expire_atom::value);
  struct Current {
    dns::ResponderOptions options;
    dns::ServingStatePtr served;   // the newest state the front end was given
  };
  // Seeded with the front end's initial state, so that a reload before the replica's first
  // publication is served at once rather than when that publication comes.
  auto current = std::make_shared<Current>(Current{initial->options, std::move(initial)});
  return {
      [=](expire_atom) {
        waiters->expire(CommitWaiters::clock::now());
        self->delayed_send(self, expire_interval, expire_atom::value);
      },
      [=](publication_atom, Publication& p) {
        p.state->options = current->options;
        current->served = p.state;
        publish(std::move(p.state));
        waiters->served(p.executed);
      },
      [=](responder_options_atom, dns::ResponderOptions& o) {
        current->options = std::move(o);
        auto s = std::make_shared<dns::ServingState>(*current->served);
        s->options = current->options;
        current->served = s;
        publish(std::move(s));
        return true;   // served from now on (a request waits for this)
      },
  };
}

}  // namespace vrdns::app
