#include "app/serving_publisher.hpp"

#include "actors/fail_stop.hpp"

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
                                dns::ResponderOptions options) {
  self->set_exception_handler(actors::exception_to_error);   // actors/fail_stop.hpp
  self->send(self, expire_atom::value);
  struct Current {
    dns::ResponderOptions options;
    dns::ServingStatePtr served;   // the newest state published, null before the first
  };
  auto current = std::make_shared<Current>(Current{std::move(options), nullptr});
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
        if (!current->served)
          return true;   // the first publication takes them
        auto s = std::make_shared<dns::ServingState>(*current->served);
        s->options = current->options;
        current->served = s;
        publish(std::move(s));
        return true;   // served from now on (a request waits for this)
      },
  };
}

}  // namespace vrdns::app
