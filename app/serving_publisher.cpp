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
                                std::shared_ptr<CommitWaiters> waiters) {
  self->set_exception_handler(actors::exception_to_error);   // actors/fail_stop.hpp
  self->send(self, expire_atom::value);
  return {
      [=](expire_atom) {
        waiters->expire(CommitWaiters::clock::now());
        self->delayed_send(self, expire_interval, expire_atom::value);
      },
      [=](publication_atom, Publication& p) {
        publish(std::move(p.state));
        waiters->served(p.executed);
      },
  };
}

}  // namespace vrdns::app
