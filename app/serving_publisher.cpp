#include "app/serving_publisher.hpp"

#include <chrono>
#include <iterator>
#include <utility>

#include "actors/dns_frontend.hpp"

namespace vrdns::app {

namespace {

using expire_atom = caf::atom_constant<caf::atom("wexpire")>;

// How often waits for the local front end (CommitWaiters) are checked against their deadline:
// the granularity of the read-your-writes bound of a cut-off node.
constexpr std::chrono::milliseconds expire_interval{50};

void publish(publisher_actor* self, caf::actor frontend, std::shared_ptr<CommitWaiters> waiters,
             Publication p) {
  self->state.in_flight = true;
  auto executed = std::make_shared<std::vector<dns::ClientIdentity>>(std::move(p.executed));
  // Requests to one actor are answered in order, so states are swapped in order too.
  self->request(frontend, caf::infinite, actors::publish_atom::value, std::move(p.state))
      .then(
          [=] {
            waiters->served(*executed);
            auto& st = self->state;
            st.in_flight = false;
            if (st.waiting) {
              Publication next = std::move(*st.waiting);
              st.waiting.reset();
              publish(self, frontend, waiters, std::move(next));
            }
          },
          [](caf::error&) {});   // the front end is gone: the node is stopping
}

}  // namespace

caf::behavior serving_publisher(publisher_actor* self, caf::actor frontend,
                                std::shared_ptr<CommitWaiters> waiters) {
  self->send(self, expire_atom::value);
  return {
      [=](expire_atom) {
        waiters->expire(CommitWaiters::clock::now());
        self->delayed_send(self, expire_interval, expire_atom::value);
      },
      [=](publication_atom, Publication& p) {
        auto& st = self->state;
        if (!st.in_flight) {
          publish(self, frontend, waiters, std::move(p));
        } else if (!st.waiting) {
          st.waiting = std::move(p);
        } else {
          st.waiting->state = std::move(p.state);   // states are cumulative: the newest wins
          auto& ids = st.waiting->executed;
          ids.insert(ids.end(), std::make_move_iterator(p.executed.begin()),
                     std::make_move_iterator(p.executed.end()));
        }
      },
  };
}

}  // namespace vrdns::app
